"""Instant resets: the ready spare is renamed into place, the next one is built in the background, a crash loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from pgcourse import chapter as chapter_db
from pgcourse import datasets, spare
from pgcourse.chapters import get

SIZE = "tiny"
STEPS = ("drop-stale", "cloned", "marked", "trash-dropped", "swapped")


@pytest.fixture
def learner(pg_server, monkeypatch):
    """A learner of their own (so database names are unique), spares on; everything of theirs dropped after."""
    datasets.ensure(pg_server, SIZE)
    name = f"s{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGCOURSE_LEARNER", name)
    monkeypatch.setenv(spare.SPARE_ENV, "1")
    monkeypatch.delenv(chapter_db.CHAPTER_DB_ENV, raising=False)
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", pg_server.url)
    yield name
    with pg_server.connect() as conn:
        for (db,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "%"]).fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _databases(server, learner: str) -> dict[str, int]:
    with server.connect() as conn:
        return dict(conn.execute("SELECT datname, oid::int FROM pg_database WHERE datname LIKE %s", [learner + "%"]).fetchall())


def _fresh(server, info, dbname: str) -> None:
    """The chapter database is in place, owned by the learner, answers table empty, no leftover table."""
    with server.connect(dbname) as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'orders'").fetchone()
        assert owner == (chapter_db.learner_role(info),)
        assert conn.execute("SELECT count(*) FROM pgcourse.answers").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('public.mine')").fetchone() == (None,)


def _put_fresh(server, info, dbname):
    """put_fresh, then wait for its background process (tests must not race it)."""
    with spare.watched() as started:
        chapter_db.put_fresh(server, info, dbname, SIZE)
    assert started, "no background process was started"
    for proc in started:
        assert proc.wait(timeout=300) == 0


def test_reset_renames_the_ready_spare_into_place_and_builds_the_next(pg_server, learner):
    info = get("00")
    dbname = chapter_db.database_for(info)
    _put_fresh(pg_server, info, dbname)
    with pg_server.connect(dbname) as conn:
        conn.execute("CREATE TABLE mine (x int)")
        conn.execute("INSERT INTO pgcourse.answers (exercise, value) VALUES ('0.1', '1')")
    before = _databases(pg_server, learner)
    assert set(before) == {dbname, spare.spare_name(dbname)}

    _put_fresh(pg_server, info, dbname)

    after = _databases(pg_server, learner)
    assert after[dbname] == before[spare.spare_name(dbname)], "the reset did not use the ready spare"
    assert set(after) == {dbname, spare.spare_name(dbname)}, "the old database or the next spare is missing"
    _fresh(pg_server, info, dbname)
    with pg_server.connect() as conn:
        assert spare.is_ready(conn, dbname, SIZE)


@pytest.mark.parametrize("step", STEPS)
def test_a_reset_killed_after_any_step_leaves_a_working_chapter_database(pg_server, learner, step):
    info = get("00")
    dbname = chapter_db.database_for(info)
    _put_fresh(pg_server, info, dbname)
    with pg_server.connect() as conn:  # no ready spare: the reset builds one in the foreground, every step runs
        conn.execute(f'DROP DATABASE "{spare.spare_name(dbname)}"')
    env = dict(os.environ, **{spare.CRASH_ENV: step, spare.SPARE_ENV: "1"})
    code = "from pgcourse.chapter import reset; reset('00', size='tiny')"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 17, proc.stdout + proc.stderr

    names = _databases(pg_server, learner)
    assert dbname in names, f"killed after {step!r}: no chapter database left"
    with pg_server.connect(dbname) as conn:
        assert conn.execute("SELECT count(*) > 0 FROM orders").fetchone() == (True,)

    _put_fresh(pg_server, info, dbname)  # the next reset repairs whatever is left
    _fresh(pg_server, info, dbname)
    assert set(_databases(pg_server, learner)) == {dbname, spare.spare_name(dbname)}


def test_a_learner_keeps_one_spare_the_chapter_opened_last(pg_server, learner):
    first, second = get("00"), get("01")
    _put_fresh(pg_server, first, chapter_db.database_for(first))
    _put_fresh(pg_server, second, chapter_db.database_for(second))
    spares = {name for name in _databases(pg_server, learner) if name.endswith(spare.SPARE_SUFFIX)}
    assert spares == {spare.spare_name(chapter_db.database_for(second))}


def test_with_spares_off_a_reset_builds_in_the_foreground_and_leaves_no_spare(pg_server, learner, monkeypatch):
    monkeypatch.setenv(spare.SPARE_ENV, "0")
    info = get("00")
    dbname = chapter_db.database_for(info)
    chapter_db.put_fresh(pg_server, info, dbname, SIZE)
    chapter_db.put_fresh(pg_server, info, dbname, SIZE)
    assert set(_databases(pg_server, learner)) == {dbname}
    _fresh(pg_server, info, dbname)


def test_a_stale_spare_from_an_older_template_is_not_used(pg_server, learner):
    info = get("00")
    dbname = chapter_db.database_for(info)
    _put_fresh(pg_server, info, dbname)
    with pg_server.connect() as conn:
        conn.execute(f"COMMENT ON DATABASE \"{spare.spare_name(dbname)}\" IS 'pgcourse spare ready: tiny from template 1'")
        assert not spare.is_ready(conn, dbname, SIZE)
    old_spare = _databases(pg_server, learner)[spare.spare_name(dbname)]
    _put_fresh(pg_server, info, dbname)
    assert _databases(pg_server, learner)[dbname] != old_spare
    _fresh(pg_server, info, dbname)
