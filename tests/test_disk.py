"""Disk budget: opening a chapter parks the least recently opened ones, their answers kept and put back."""

from __future__ import annotations

import json
import uuid

import pytest

from pgcourse import chapter as chapter_db
from pgcourse import datasets, disk, spare
from pgcourse.chapters import get
from pgcourse.errors import InputError

SIZE = "tiny"


@pytest.mark.parametrize("raw, expected", [("3GB", 3 * 1024**3), ("800 MB", 800 * 1024**2), ("1.5G", int(1.5 * 1024**3)),
                                           ("2GiB", 2 * 1024**3), ("off", None), ("", disk.DEFAULT_BUDGET)])
def test_budget_reads_sizes_and_off(monkeypatch, raw, expected):
    monkeypatch.setenv(disk.BUDGET_ENV, raw)
    assert disk.budget() == expected


def test_a_budget_that_is_not_a_size_says_how_to_write_one(monkeypatch):
    monkeypatch.setenv(disk.BUDGET_ENV, "lots")
    with pytest.raises(InputError, match="like 3GB"):
        disk.budget()


@pytest.fixture
def learner(pg_server, monkeypatch, tmp_path):
    datasets.ensure(pg_server, SIZE)
    name = f"d{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGCOURSE_LEARNER", name)
    monkeypatch.setenv("PGCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(spare.SPARE_ENV, "0")
    monkeypatch.setenv("PGCOURSE_FILE_COPY_METHOD", "copy")
    monkeypatch.delenv(chapter_db.CHAPTER_DB_ENV, raising=False)
    yield name
    with pg_server.connect() as conn:
        for (db,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "%"]).fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _exists(server, dbname: str) -> bool:
    return chapter_db.database_exists(server, dbname)


def _tight_budget(server, monkeypatch) -> None:
    """A budget with room for what exists now and half a clone more: the next clone must park something."""
    with server.connect() as conn:
        # the WAL counts too, and a checkpoint (CREATE DATABASE forces one) deletes what is past it: flushed
        # first, or the clone below could find more room than measured here and park nothing
        conn.execute("CHECKPOINT")
        used = disk.usage(conn)
    monkeypatch.setenv(disk.BUDGET_ENV, str(used.total + used.databases[datasets.template_name(SIZE)] // 2))


def test_opening_a_chapter_over_budget_parks_the_least_recent_and_reopening_brings_its_answers_back(
        pg_server, learner, monkeypatch, capsys):
    ch00, ch01, ch02 = (get(n) for n in ("00", "01", "02"))
    db00, db01, db02 = (chapter_db.database_for(c) for c in (ch00, ch01, ch02))
    monkeypatch.setenv(disk.BUDGET_ENV, "off")
    chapter_db.put_fresh(pg_server, ch00, db00, SIZE)
    chapter_db.put_fresh(pg_server, ch01, db01, SIZE)
    with pg_server.connect(db00) as conn:
        conn.execute("""INSERT INTO pgcourse.answers (exercise, answer_sql, value) VALUES ('0.1', 'SELECT 1', '{"n": 1}')""")

    _tight_budget(pg_server, monkeypatch)
    chapter_db.put_fresh(pg_server, ch02, db02, SIZE)
    assert not _exists(pg_server, db00), "the least recently opened chapter was not parked"
    assert _exists(pg_server, db01) and _exists(pg_server, db02)
    saved = json.loads(disk.parked_file(db00).read_text())
    assert [(r["exercise"], r["answer_sql"], r["value"]) for r in saved] == [("0.1", "SELECT 1", {"n": 1})]
    assert f"parked {db00}" in capsys.readouterr().out

    monkeypatch.setenv(disk.BUDGET_ENV, "off")
    chapter_db.put_fresh(pg_server, ch00, db00, SIZE)
    with pg_server.connect(db00) as conn:
        assert conn.execute("SELECT exercise, answer_sql, value FROM pgcourse.answers").fetchall() == [
            ("0.1", "SELECT 1", {"n": 1})]
    assert not disk.parked_file(db00).exists()
    assert "1 saved answers restored" in capsys.readouterr().out


def test_a_chapter_someone_is_connected_to_is_never_parked(pg_server, learner, monkeypatch):
    ch00, ch01 = get("00"), get("01")
    db00, db01 = chapter_db.database_for(ch00), chapter_db.database_for(ch01)
    monkeypatch.setenv(disk.BUDGET_ENV, "off")
    chapter_db.put_fresh(pg_server, ch00, db00, SIZE)
    with pg_server.connect(db00):
        _tight_budget(pg_server, monkeypatch)
        chapter_db.put_fresh(pg_server, ch01, db01, SIZE)
        assert _exists(pg_server, db00)
    assert _exists(pg_server, db01)


def test_status_shows_the_disk_used_and_the_budget(pg_server, monkeypatch, capsys):
    from pgcourse.cli.server import cmd_status

    monkeypatch.setenv("PGCOURSE_DATABASE_URL", pg_server.url)
    monkeypatch.setenv(disk.BUDGET_ENV, "3GB")
    assert cmd_status(None) == 0
    out = capsys.readouterr().out
    assert "disk:" in out and "of a 3.0 GB budget" in out and "WAL" in out and "clones:" in out


def test_another_chapters_spare_is_dropped_before_any_chapter_is_parked(pg_server, learner, monkeypatch):
    ch00, ch01 = get("00"), get("01")
    db00, db01 = chapter_db.database_for(ch00), chapter_db.database_for(ch01)
    monkeypatch.setenv(disk.BUDGET_ENV, "off")
    monkeypatch.setenv(spare.SPARE_ENV, "1")
    monkeypatch.setattr(spare, "prepare_in_background", lambda *a, **k: None)
    chapter_db.put_fresh(pg_server, ch00, db00, SIZE)
    spare.build(pg_server, ch00, db00, SIZE)
    assert _exists(pg_server, spare.spare_name(db00))
    _tight_budget(pg_server, monkeypatch)
    chapter_db.put_fresh(pg_server, ch01, db01, SIZE)
    assert _exists(pg_server, db00) and not disk.parked_file(db00).exists(), "a chapter was parked while a spare could go"
    assert not _exists(pg_server, spare.spare_name(db00))
