"""Row counts and content checksums, compared with datasets/manifest.json.

Two checksums per table. ``checksum`` is computed on the server from its rows as text (with fixed
TimeZone and DateStyle), so it proves the database holds the expected data whatever produced it;
summing 64-bit row hashes makes it independent of scan order. ``stream`` is a hash of the binary
COPY bytes the seed sent, taken while sending: the seed compares it (and the server's row count)
without reading a table back. ``pgcourse datasets --verify`` and the tests recompute ``checksum``.
The manifest also records each relation's planner statistics digest and reference plans
(:mod:`.statistics`).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..server import Server
from .schema import datasets_dir

SESSION = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1"


def manifest_path() -> Path:
    return datasets_dir() / "manifest.json"


def stream_hash():
    """A fresh hash for :func:`stream_digest` (sha256: it releases the GIL on large buffers)."""
    return hashlib.sha256()


def stream_digest(h) -> str:
    return h.hexdigest()[:16]


def load() -> dict:
    """The committed manifest: {"sizes": {size: {"tables": {table: {"rows", "checksum", "stream"}},
    "statistics": {relation: digest}, "plans": {name: text}}}}."""
    try:
        return json.loads(manifest_path().read_text())
    except FileNotFoundError:
        return {"sizes": {}}


def expected(size: str) -> dict[str, dict] | None:
    """The committed per-table rows and checksums of ``size``, or None if not recorded yet."""
    entry = load().get("sizes", {}).get(size)
    return entry["tables"] if entry else None


def entry(size: str) -> dict:
    """Everything the manifest records for ``size`` (empty if nothing)."""
    return load().get("sizes", {}).get(size, {})


def write(size: str, tables: dict[str, dict], statistics: dict[str, str] | None = None,
          plans: dict[str, str] | None = None) -> None:
    """Record ``tables`` (and statistics digests, reference plans) as the expected content of ``size``."""
    data = load()
    recorded: dict = {"tables": {t: dict(sorted(tables[t].items())) for t in sorted(tables)}}
    if statistics is not None:
        recorded["statistics"] = statistics
    if plans is not None:
        recorded["plans"] = plans
    data.setdefault("sizes", {})[size] = recorded
    data["sizes"] = {k: data["sizes"][k] for k in sorted(data["sizes"], key=["tiny", "small", "large"].index)}
    manifest_path().write_text(json.dumps(data, indent=2) + "\n")


def _table_checksum(server: Server, db: str, table: str) -> tuple[str, dict]:
    with server.connect(db) as conn:
        conn.execute(SESSION)
        rows, total = conn.execute(
            f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM {table} AS t"
        ).fetchone()
    digest = hashlib.sha256(f"{rows}:{total}".encode()).hexdigest()[:16]
    return table, {"rows": int(rows), "checksum": digest}


def compute(server: Server, db: str, tables: list[str], workers: int = 2) -> dict[str, dict]:
    """Rows and checksum of each table of ``db`` (two connections: the machine has two cores)."""
    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(lambda t: _table_checksum(server, db, t), tables))


def differences(actual: dict[str, dict], wanted: dict[str, dict] | None) -> list[str]:
    """Human lines describing where ``actual`` differs from ``wanted`` (empty: they match)."""
    if wanted is None:
        return ["no entry in datasets/manifest.json for this size"]
    out = []
    for table in sorted(set(actual) | set(wanted)):
        a, w = actual.get(table), wanted.get(table)
        if a is None or w is None:
            out.append(f"{table}: {'missing from the database' if a is None else 'not in the manifest'}")
        elif a["rows"] != w["rows"]:
            out.append(f"{table}: {a['rows']:,} rows, manifest says {w['rows']:,}")
        else:
            shared = [k for k in ("stream", "checksum") if k in a and k in w]
            if not shared:
                out.append(f"{table}: no checksum to compare with the manifest")
            for key in shared:
                if a[key] != w[key]:
                    out.append(f"{table}: same row count but different content ({key} {a[key]} != {w[key]})")
    return out
