"""Planner statistics stored with the dataset and restored by the seed instead of computed.

Why: the statistics the chapters' plans rest on are taken from whole tables at the maximum
target (see :func:`pgcourse.datasets.seed._statistics_jobs`); computing them took a third of the
`small` seed, and the randomly sampled ones (``events.payload``, every `large` table) differed
from seed to seed. PostgreSQL 18 can set them directly (``pg_restore_relation_stats``,
``pg_restore_attribute_stats``), so a maintainer computes them once per size
(``python -m pgcourse.datasets.tools manifest SIZE``), they are committed in
``datasets/statistics/<size>.json.gz``, and every seed restores the same numbers: the same plans
on every machine. The manifest records a digest of each relation's statistics, so a seed (and a
test) proves that what the server holds is what was recorded.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import psycopg

from .schema import datasets_dir

#: pg_stats columns restored, with the type pg_restore_attribute_stats expects for each.
ATTRIBUTE_COLUMNS: dict[str, str] = {
    "null_frac": "real", "avg_width": "integer", "n_distinct": "real",
    "most_common_vals": "text", "most_common_freqs": "real[]", "histogram_bounds": "text",
    "correlation": "real", "most_common_elems": "text", "most_common_elem_freqs": "real[]",
    "elem_count_histogram": "real[]", "range_length_histogram": "text", "range_empty_frac": "real",
    "range_bounds_histogram": "text",
}

#: pg_class columns restored (pg_restore_relation_stats), with their types.
RELATION_COLUMNS: dict[str, str] = {"relpages": "integer", "reltuples": "real", "relallvisible": "integer",
                                    "relallfrozen": "integer"}

#: Reference plans recorded in the manifest: a test proves a fresh seed plans them the same way.
PLANS: dict[str, str] = {
    "order_by_id": "SELECT * FROM orders WHERE id = 42",
    "orders_pending": "SELECT * FROM orders WHERE status = 'pending'",
    "orders_per_country": ("SELECT u.country_code, count(*) FROM orders o JOIN users u ON u.id = o.user_id "
                           "WHERE o.created_at >= '2025-06-01' GROUP BY u.country_code"),
    "top_products": ("SELECT product_id, sum(quantity) FROM order_items GROUP BY product_id "
                     "ORDER BY 2 DESC LIMIT 10"),
    "events_of_a_day": ("SELECT event_type, count(*) FROM events WHERE occurred_at >= '2025-03-01' "
                        "AND occurred_at < '2025-03-02' GROUP BY 1"),
    "live_email": "SELECT id FROM users WHERE lower(email) = 'someone@example.com' AND deleted_at IS NULL",
}


def path(size: str) -> Path:
    """``datasets/statistics/<size>.json.gz``: the committed statistics of one size."""
    return datasets_dir() / "statistics" / f"{size}.json.gz"


def export(conn: psycopg.Connection, streams: dict[str, str] | None = None) -> dict:
    """Every statistic of the public schema's tables and indexes, as text that round-trips exactly.

    Index columns are named by position (``attnum``), table columns by name, as pg_dump does:
    an index column's name is not stable. ``streams``: the COPY stream digests of the data they
    describe (the seed restores them only onto the same bytes).
    """
    conn.execute("SET extra_float_digits = 1")  # shortest exact text for real values
    relations = [dict(zip(["relname", *RELATION_COLUMNS], row)) for row in conn.execute(
        "SELECT relname, relpages::text, reltuples::text, relallvisible::text, relallfrozen::text FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i') ORDER BY relname")]
    cols = ", ".join(f"s.{c}::text" for c in ATTRIBUTE_COLUMNS)
    attributes = []
    for row in conn.execute(
            f"SELECT s.tablename, c.relkind, a.attnum, s.attname, s.inherited, {cols} FROM pg_stats s "
            "JOIN pg_class c ON c.relname = s.tablename AND c.relnamespace = 'public'::regnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.attname "
            "WHERE s.schemaname = 'public' ORDER BY s.tablename, a.attnum, s.inherited"):
        relname, relkind, attnum, attname, inherited, *values = row
        entry: dict = {"relname": relname, "inherited": inherited}
        entry.update({"attnum": attnum} if relkind == "i" else {"attname": attname})
        entry.update({k: v for k, v in zip(ATTRIBUTE_COLUMNS, values) if v is not None})
        attributes.append(entry)
    out = {"relations": relations, "attributes": attributes}
    if streams is not None:
        out["streams"] = streams
    return out


def digests(stats: dict) -> dict[str, str]:
    """Per relation, a short hash of all its statistics (what the manifest records)."""
    by_rel: dict[str, list] = {}
    for r in stats["relations"]:
        by_rel.setdefault(r["relname"], []).append(r)
    for a in stats["attributes"]:
        by_rel.setdefault(a["relname"], []).append(a)
    return {rel: hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:16]
            for rel, items in sorted(by_rel.items())}


def write(size: str, stats: dict) -> Path:
    """Store ``stats`` for ``size`` (gzip without a timestamp: the same statistics give the same bytes)."""
    target = path(size)
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(stats, sort_keys=True, separators=(",", ":")).encode()
    target.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return target


def load(size: str) -> dict | None:
    """The committed statistics of ``size``, or None when none were recorded."""
    try:
        return json.loads(gzip.decompress(path(size).read_bytes()))
    except FileNotFoundError:
        return None


def file_hash(size: str) -> str:
    """A hash of the committed file (part of the data version: new statistics rebuild the template)."""
    try:
        return hashlib.sha256(path(size).read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return "none"


def to_json(stats: dict) -> tuple[str, str]:
    """The relations' and the attributes' statistics as the JSON :func:`restore` sends."""
    return json.dumps(stats["relations"]), json.dumps(stats["attributes"])


def restore(conn: psycopg.Connection, stats: dict, as_json: tuple[str, str] | None = None) -> None:
    """Replace the public schema's statistics with ``stats`` (``as_json``: :func:`to_json` of it, if made already).

    First a one-row-target ANALYZE: it costs milliseconds and resets the counters of rows changed
    since the last analyze, so autovacuum never re-analyzes the template at a random sample. Then
    every statistic it left is cleared (a slot the restored row does not have must not survive)
    and the stored ones are set. Raises if the server refused any of them.
    """
    relations, attributes = as_json or to_json(stats)
    conn.execute("SET default_statistics_target = 1; ANALYZE; RESET default_statistics_target")
    # three statements, each looping on the server: round trips cost most on a busy machine
    conn.execute("SELECT count(pg_clear_attribute_stats('public', tablename, attname, inherited)) "
                 "FROM pg_stats WHERE schemaname = 'public'")
    rel_args = ", ".join(f"'{k}', (r->>'{k}')::{t}" for k, t in RELATION_COLUMNS.items())
    att_args = ", ".join(f"'{k}', (a->>'{k}')::{t}" for k, t in ATTRIBUTE_COLUMNS.items())
    refused = [r[0] for r in conn.execute(
        "SELECT r->>'relname' FROM jsonb_array_elements(%s::jsonb) r WHERE NOT pg_restore_relation_stats("
        f"'schemaname', 'public', 'relname', r->>'relname', {rel_args})", [relations])]
    refused += [f"{r[0]}.{r[1]}" for r in conn.execute(
        "SELECT a->>'relname', coalesce(a->>'attname', a->>'attnum') FROM jsonb_array_elements(%s::jsonb) a "
        "WHERE NOT pg_restore_attribute_stats('schemaname', 'public', 'relname', a->>'relname', "
        "'attname', (a->>'attname')::text, 'attnum', (a->>'attnum')::smallint, "
        f"'inherited', (a->>'inherited')::boolean, {att_args})", [attributes])]
    if refused:
        raise RuntimeError(f"the server refused some stored statistics: {', '.join(refused)}")


def plans(conn: psycopg.Connection) -> dict[str, str]:
    """The text of each reference plan (estimates and costs included) in the database of ``conn``."""
    return {name: "\n".join(r[0] for r in conn.execute(f"EXPLAIN {query}")) for name, query in PLANS.items()}
