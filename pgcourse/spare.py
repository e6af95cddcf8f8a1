"""Instant chapter resets: a spare clone, built ahead in the background, swapped in by rename.

A reset used to drop the chapter database and clone it again (a checkpoint and a full copy of the
template, 1-5 s on ``small``). Now every chapter database is first built under a spare name
(``chNN_slug__spare``), completed (owner, grants, answers table), marked ready, and only then
renamed into place, in one transaction with the old one's rename out of the way. A reset that
finds a ready spare waits only for that rename; the old database is dropped and the next spare
built by a detached process (``python -m pgcourse.spare``) while the learner reads.

Crash safety: ``CREATE DATABASE`` and the two renames are each atomic, and a spare counts only
once its comment says it is ready, so a crash at any step leaves either the old chapter database
or the new one in place; leftovers (``__trash``, unready spares) are dropped by the next run.
Disk: at most one spare per learner (the chapter reset or opened last); ``PGCOURSE_SPARE=0``
turns spares off (a reset then builds in the foreground, as safely).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from . import server as pg
from .chapters import ChapterInfo

SPARE_SUFFIX = "__spare"
TRASH_SUFFIX = "__trash"
#: Set to 0 to build every chapter database in the foreground (no background process).
SPARE_ENV = "PGCOURSE_SPARE"
#: For tests: stop the process (``os._exit``) right after the named step, to prove crash safety.
CRASH_ENV = "PGCOURSE_SPARE_CRASH_AFTER"
READY = "pgcourse spare ready"


def spare_name(dbname: str) -> str:
    return dbname + SPARE_SUFFIX


def trash_name(dbname: str) -> str:
    return dbname + TRASH_SUFFIX


def enabled() -> bool:
    """Spares are on unless ``PGCOURSE_SPARE=0``."""
    return os.environ.get(SPARE_ENV, "1").strip() not in ("0", "false", "no", "off")


def _step(name: str) -> None:
    """A named point of no partial state: tests crash the process here."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(17)


def _lock_key(dbname: str) -> str:
    return f"pgcourse-spare:{dbname}"


class _Lock:
    """A session advisory lock per chapter database: one builder or swapper at a time."""

    def __init__(self, conn: psycopg.Connection, dbname: str) -> None:
        self.conn, self.key = conn, _lock_key(dbname)

    def __enter__(self) -> _Lock:
        self.conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [self.key])
        return self

    def __exit__(self, *exc) -> None:
        if not self.conn.closed:
            self.conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [self.key])


def _template_oid(conn: psycopg.Connection, size: str) -> int | None:
    from .datasets import template_name

    row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", [template_name(size)]).fetchone()
    return int(row[0]) if row else None


def _ready_mark(size: str, template_oid: int | None) -> str:
    return f"{READY}: {size} from template {template_oid}"


def _comment(conn: psycopg.Connection, dbname: str) -> str | None:
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                       [dbname]).fetchone()
    return None if row is None else (row[0] or "")


def _drop(conn: psycopg.Connection, dbname: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def is_ready(conn: psycopg.Connection, dbname: str, size: str) -> bool:
    """True when ``dbname``'s spare is complete and was cloned from the current template of ``size``."""
    return _comment(conn, spare_name(dbname)) == _ready_mark(size, _template_oid(conn, size))


def build(server: pg.Server, info: ChapterInfo, dbname: str, size: str) -> None:
    """Build a ready spare of ``dbname`` (a no-op when one is ready): clone, complete, mark."""
    from .chapter import create_database

    spare = spare_name(dbname)
    with server.connect() as conn, _Lock(conn, dbname):
        if is_ready(conn, dbname, size):
            return
        _drop(conn, spare)  # an unready or stale spare
        _step("drop-stale")
        create_database(server, info, dbname=spare, size=size, scratch=False, comment=None)
        _step("cloned")
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(spare), sql.Literal(_ready_mark(size, _template_oid(conn, size)))))
        _step("marked")


def _terminate(conn: psycopg.Connection, dbname: str, timeout: float = 10.0) -> None:
    """End every session on ``dbname`` and wait until they are gone (a rename needs it unused)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", [dbname]).fetchall()
        if not pids or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def swap(server: pg.Server, info: ChapterInfo, dbname: str, size: str, *, comment: str) -> None:
    """Put a fresh database in place of ``dbname`` (which may not exist): the ready spare, built now if need be."""
    spare, trash = spare_name(dbname), trash_name(dbname)
    while True:
        build(server, info, dbname, size)
        with server.connect() as conn, _Lock(conn, dbname):
            if not is_ready(conn, dbname, size):
                continue  # a concurrent reset took this spare meanwhile: build another
            _drop(conn, trash)
            _step("trash-dropped")
            _rename_into_place(conn, dbname, spare, trash, comment)
            _step("swapped")
            break
    if info.scratch:
        from .chapter import create_scratch, learner_role

        create_scratch(server, dbname, learner_role(info))


def _rename_into_place(conn: psycopg.Connection, dbname: str, spare: str, trash: str, comment: str) -> None:
    """In one transaction: the old database out of the way (to ``trash``), the spare in, its comment set."""
    for attempt in range(20):
        _terminate(conn, dbname)
        try:
            with conn.transaction():
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(dbname), sql.Identifier(trash)))
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(spare), sql.Identifier(dbname)))
                conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(dbname), sql.Literal(comment)))
            return
        except psycopg.errors.ObjectInUse:  # a client reconnected between terminate and rename
            if attempt == 19:
                raise
            time.sleep(0.05)


def tidy(server: pg.Server, dbname: str) -> None:
    """Drop what a swap left behind (the old database) and spares of other chapters (one spare at a time)."""
    from .chapter import learner_name

    prefix = f"{learner_name()}_ch" if learner_name() else "ch"  # this learner's chapters only
    with server.connect() as conn:
        _drop(conn, trash_name(dbname))
        others = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [prefix.replace("_", r"\_") + r"%\_\_spare", spare_name(dbname)]).fetchall()
        for (name,) in others:
            with _Lock(conn, name.removesuffix(SPARE_SUFFIX)):
                _drop(conn, name)


def prepare_in_background(server: pg.Server, info: ChapterInfo, dbname: str, size: str) -> subprocess.Popen | None:
    """Start a detached process that tidies up and builds the next spare; None when spares are off."""
    if not enabled():
        return None
    env = dict(os.environ, PGCOURSE_DATABASE_URL=server.url)
    env.pop(CRASH_ENV, None)
    log = pg.state_dir() / "spare.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "pgcourse.spare", info.number, dbname, size],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, cwd=str(Path.cwd()))


@contextlib.contextmanager
def watched() -> Iterator[list[subprocess.Popen]]:
    """Collect the background processes started meanwhile, so a benchmark or a test can wait for them."""
    global prepare_in_background
    started: list[subprocess.Popen] = []
    real = prepare_in_background

    def keep(*args, **kwargs):
        proc = real(*args, **kwargs)
        if proc is not None:
            started.append(proc)
        return proc

    prepare_in_background = keep
    try:
        yield started
    finally:
        prepare_in_background = real


def main(argv: list[str]) -> int:
    """``python -m pgcourse.spare NN DBNAME SIZE``: tidy up after a swap, then build the next spare."""
    from . import chapters

    from . import disk
    from .datasets import template_name

    number, dbname, size = argv
    server = pg.current()
    tidy(server, dbname)
    for name in disk.make_room(server, template_name(size), keep=dbname):  # the chapter in use gets its spare
        print(f"parked {name} to make room for the spare of {dbname}", flush=True)
    if disk.room_for_one_more(server, template_name(size)):
        build(server, chapters.get(number), dbname, size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
