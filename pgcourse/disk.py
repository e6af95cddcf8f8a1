"""Disk: what the course's databases take, and fourteen opened chapters kept within a budget.

Each chapter database is a full copy of the dataset on ext4 (about 870 MB on ``small``). Before a
new one is cloned, the chapters opened least recently are *parked* until the clone fits within
``PGCOURSE_DISK_BUDGET`` (default 3 GB for the whole server: templates, chapters, spare, WAL):
their saved answers are written to ``<state>/parked/<database>.json`` first, then the database
is dropped. Opening a parked chapter clones it afresh and puts the answers back; the tables the
learner made there come back by re-running its notebook (the notebook itself is never touched).
Where clones are reflinks (:mod:`.server.reflink`) a clone costs nothing and nothing is parked.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from . import server as pg
from .errors import InputError

BUDGET_ENV = "PGCOURSE_DISK_BUDGET"
DEFAULT_BUDGET = 3 * 1024**3
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def budget() -> int | None:
    """Bytes the server's databases may take (``PGCOURSE_DISK_BUDGET``: ``3GB``, ``800MB``; ``off`` for none)."""
    raw = os.environ.get(BUDGET_ENV, "").strip().upper().replace(" ", "").replace("IB", "B")
    if not raw:
        return DEFAULT_BUDGET
    if raw in ("OFF", "0", "NONE"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?B?)", raw)
    if not match:
        raise InputError(f"{BUDGET_ENV}={os.environ[BUDGET_ENV]!r} is not a size.\n"
                         "  what to do: write it like 3GB or 800MB, or off for no budget.")
    unit = match.group(2) if match.group(2).endswith("B") or not match.group(2) else match.group(2) + "B"
    return int(float(match.group(1)) * _UNITS[unit])


@dataclass(frozen=True)
class Usage:
    """Bytes per database and of the WAL, as the server reports them."""

    databases: dict[str, int]
    wal: int

    @property
    def total(self) -> int:
        return sum(self.databases.values()) + self.wal


def usage(conn: psycopg.Connection) -> Usage:
    """Sizes of every database (``pg_database_size``) and of ``pg_wal`` where the role may list it."""
    rows = conn.execute("SELECT datname, pg_database_size(oid) FROM pg_database WHERE datallowconn OR datistemplate "
                        "ORDER BY datname").fetchall()
    try:
        wal = conn.execute("SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()").fetchone()[0]
    except psycopg.Error:
        wal = 0
    return Usage({name: int(size) for name, size in rows}, int(wal))


def pretty(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "kB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


# -- which chapters were opened when ------------------------------------------------------------

def _opened_file() -> Path:
    return pg.state_dir() / "opened.json"


def _opened() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(_opened_file().read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


_touch_lock = threading.Lock()


def touch(dbname: str) -> None:
    """Remember that ``dbname`` was opened now (the least recently opened are parked first)."""
    with _touch_lock:  # the workshop broker opens chapters from many threads
        opened = _opened()
        opened[dbname] = time.time()
        path = _opened_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(opened, indent=1, sort_keys=True))
        tmp.replace(path)


# -- parking --------------------------------------------------------------------------------------

def parked_file(dbname: str) -> Path:
    return pg.state_dir() / "parked" / f"{dbname}.json"


def park(server: pg.Server, dbname: str) -> int:
    """Save a chapter database's answers beside the server, then drop it; returns how many answers were kept."""
    from .chapter import ANSWERS_SCHEMA, drop_database

    with server.connect(dbname) as conn:
        rows = conn.execute(sql.SQL("SELECT exercise, answer_sql, value, saved_at::text FROM {}.answers").format(
            sql.Identifier(ANSWERS_SCHEMA))).fetchall()
    path = parked_file(dbname)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {r["exercise"]: r for r in (json.loads(path.read_text()) if path.exists() else [])}
    kept.update({e: {"exercise": e, "answer_sql": s, "value": v, "saved_at": t} for e, s, v, t in rows})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(kept.values(), key=lambda r: r["exercise"]), indent=1))
    tmp.replace(path)  # the answers are safe on disk before the database goes
    drop_database(server, dbname)
    return len(kept)


def unpark(server: pg.Server, dbname: str) -> int:
    """Put a parked chapter's answers back into its new database; returns how many (0 if it was not parked)."""
    from .chapter import ANSWERS_SCHEMA

    path = parked_file(dbname)
    if not path.exists():
        return 0
    rows = json.loads(path.read_text())
    with server.connect(dbname) as conn:
        for r in rows:
            conn.execute(sql.SQL("INSERT INTO {}.answers (exercise, answer_sql, value, saved_at) VALUES (%s, %s, %s, %s) "
                                 "ON CONFLICT (exercise) DO NOTHING").format(sql.Identifier(ANSWERS_SCHEMA)),
                         [r["exercise"], r["answer_sql"], json.dumps(r["value"]) if r["value"] is not None else None,
                          r["saved_at"]])
    path.unlink()
    return len(rows)


def _own_name(database: str) -> str:
    """A chapter database's name for this learner (``alice_ch01_x`` in a workshop): only one's own are parked."""
    from .chapter import learner_name

    return f"{learner_name()}_{database}" if learner_name() else database


def room_for_one_more(server: pg.Server, template: str) -> bool:
    """True when one more clone of ``template`` fits the budget as things are (a spare is built only then)."""
    from .server.reflink import file_copy_method

    limit = budget()
    with server.connect() as conn:
        if limit is None or file_copy_method(conn) == "clone":
            return True
        sizes = usage(conn)
    return sizes.total + sizes.databases.get(template, 0) <= limit


def make_room(server: pg.Server, template: str, keep: str) -> list[str]:
    """Park least recently opened chapter databases until one more clone of ``template`` fits the budget.

    Other chapters' spares are dropped first. ``keep`` (the chapter being opened) and databases someone
    is connected to are never parked. Returns the parked names. Nothing is parked where clones are reflinks or without a budget.
    """
    from . import chapters
    from .chapter import drop_database
    from .server.reflink import file_copy_method

    limit = budget()
    if limit is None:
        return []
    parked: list[str] = []
    with server.connect() as conn:
        if file_copy_method(conn) == "clone":
            return []
        sizes = usage(conn)
        need = sizes.databases.get(template, 0)
        busy = {r[0] for r in conn.execute("SELECT DISTINCT datname FROM pg_stat_activity WHERE datname IS NOT NULL")}
    mine = {_own_name(c.database) for c in chapters.CHAPTERS}
    opened = _opened()
    spares = [name + "__spare" for name in sorted(mine) if name != keep and name + "__spare" in sizes.databases]
    candidates = sorted((name for name in sizes.databases if name in mine and name != keep and name not in busy),
                        key=lambda name: opened.get(name, 0.0))
    total = sizes.total
    for name in spares:  # another chapter's spare goes first: it holds nothing of the learner's
        if total + need <= limit:
            break
        drop_database(server, name)
        total -= sizes.databases[name]
    for name in candidates:
        if total + need <= limit:
            break
        park(server, name)
        total -= sizes.databases[name]
        parked.append(name)
    return parked
