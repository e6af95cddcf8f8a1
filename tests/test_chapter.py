"""A chapter's database: cloned from the template, owned by an unprivileged learner, reset in seconds."""

from __future__ import annotations

import psycopg
import pytest

import pgcourse
from pgcourse import chapters
from pgcourse.chapter import create_database, drop_database, learner_url
from pgcourse.checks import exercise, run_check
from pgcourse.errors import ChapterError, ServerUnavailable


@pytest.fixture
def course_env(pg_server, monkeypatch):
    """Point the notebook API at the test server with the tiny dataset."""
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", pg_server.url)
    monkeypatch.setenv("PGCOURSE_DATASET_SIZE", "tiny")
    monkeypatch.delenv("PGCOURSE_CHAPTER_DB", raising=False)
    return pg_server


@pytest.fixture
def ch(course_env):
    chapter = pgcourse.open_chapter("13", reset_db=True, magic=False)
    yield chapter
    drop_database(course_env, chapter.database)


def test_the_learner_owns_the_tables_but_is_no_superuser(ch):
    assert ch.query("SELECT current_user")[0][0] == "learner_ch13"
    assert ch.query("SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")[0][0] is False
    owners = {r[0] for r in ch.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    assert owners == {"learner_ch13"}
    ch.query("CREATE INDEX ON users (created_at)")  # owning the table is what CREATE INDEX needs


def test_the_learner_cannot_drop_the_template_or_another_chapter(ch, course_env):
    other = chapters.get("12")
    create_database(course_env, other, dbname="ch12_for_test")
    try:
        for target in ("pgcourse_tiny", "ch12_for_test"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ch.query(f"DROP DATABASE {target}")
        with pytest.raises(ServerUnavailable, match="permission denied"):
            pgcourse.server.connect(learner_url(course_env, ch.info, "ch12_for_test"))
    finally:
        drop_database(course_env, "ch12_for_test")


def test_learner_sql_runs_under_the_chapter_statement_timeout(ch):
    limit_ms = ch.query("SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'")[0][0]
    assert limit_ms == int(ch.info.statement_timeout.removesuffix("s")) * 1000
    with ch.connect() as conn:
        conn.execute("SET statement_timeout = 200")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(5)")


def test_reset_gives_a_clean_database(ch):
    ch.query("DROP TABLE order_items")
    pgcourse.reset("13")
    with pgcourse.server.connect(ch.url) as conn:
        assert conn.execute("SELECT to_regclass('order_items') IS NOT NULL").fetchone()[0]


def test_a_check_reads_a_saved_answer_and_reports_each_outcome(ch):
    @exercise("13.90", "count the users")
    def count_users(ctx):
        ctx.same_rows(ctx.answer().sql, "SELECT count(*) FROM users")
        return "the right count"

    assert run_check("13.90", ch).message == "no answer saved for 13.90 yet"
    pgcourse.answer("13.90", sql="-- YOUR SQL HERE")
    assert run_check("13.90", ch).message == "the answer for 13.90 is empty"
    pgcourse.answer("13.90", sql="SELECT count(*) FROM users WHERE id > 10")
    wrong = run_check("13.90", ch)
    assert wrong.status == "failed" and wrong.hint
    pgcourse.answer("13.90", sql="SELECT count(id) AS n FROM users")
    right = run_check("13.90", ch)
    assert right.passed and right.points == 1 and right.line() == "✔ 13.90 passed: the right count"
    pgcourse.answer("13.90", sql="SELECT * FROM no_such_table")
    broken = run_check("13.90", ch)
    assert broken.status == "failed" and 'relation "no_such_table" does not exist' in broken.message


def test_a_crashing_check_is_reported_as_an_error_not_raised(ch):
    @exercise("13.91", "a check with a bug")
    def buggy(ctx):
        return 1 / 0

    result = run_check("13.91", ch)
    assert result.status == "error" and "ZeroDivisionError" in result.message


def test_an_unknown_chapter_says_which_exist():
    with pytest.raises(ChapterError, match="04_indexes"):
        chapters.get("99")
    assert chapters.get("4") == chapters.get("04_indexes") == chapters.get("ch04_indexes")


def test_workshop_learners_on_one_server_get_their_own_databases_and_roles(course_env, monkeypatch):
    opened = {}
    for name in ("alice", "bob"):
        monkeypatch.setenv("PGCOURSE_LEARNER", name)
        opened[name] = pgcourse.open_chapter("12", reset_db=True, magic=False)
    try:
        alice, bob = opened["alice"], opened["bob"]
        assert (alice.database, alice.role) == ("alice_ch12_backup", "alice_ch12")
        assert (bob.database, bob.role) == ("bob_ch12_backup", "bob_ch12")
        alice.query("DROP TABLE events")
        assert bob.query("SELECT to_regclass('events') IS NOT NULL")[0][0]
        with pytest.raises(ServerUnavailable, match="permission denied"):
            pgcourse.server.connect(learner_url(course_env, bob.info, alice.database).replace("alice_ch12:", "bob_ch12:"))
    finally:
        for chapter in opened.values():
            drop_database(course_env, chapter.database)


def test_a_learner_name_that_cannot_be_a_database_name_is_refused(course_env, monkeypatch):
    monkeypatch.setenv("PGCOURSE_LEARNER", "Robert'); DROP")
    with pytest.raises(ChapterError, match="lowercase letters"):
        pgcourse.open_chapter("12", magic=False)


def test_after_a_reset_the_learner_connection_reconnects_once_and_says_so(ch, capsys):
    from pgcourse.chapter import reset
    from pgcourse.magics import RECONNECTED

    ch.query("CREATE TABLE lost (id int)")
    reset("13", server=ch.server, size="tiny")
    capsys.readouterr()
    assert ch.query("SELECT to_regclass('lost') IS NULL")[0][0] is True
    assert capsys.readouterr().out.strip() == RECONNECTED
    assert ch.df("SELECT 1 AS one")["one"].tolist() == [1]
    assert capsys.readouterr().out == ""


def test_a_statement_timeout_is_not_mistaken_for_a_lost_connection(ch, capsys):
    with pytest.raises(psycopg.errors.QueryCanceled):
        ch.query("SET statement_timeout = 50; SELECT pg_sleep(1)")
    assert "reconnected" not in capsys.readouterr().out
