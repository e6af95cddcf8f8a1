"""Live sessions: lock waits shown and resolved, deadlocks and serialization failures as outcomes, nothing left open."""

from __future__ import annotations

import time
import uuid

import pytest

from pgcourse import chapter as chapter_db
from pgcourse import sessions
from pgcourse.chapters import get


@pytest.fixture
def ch(pg_server):
    """Chapter 06 on the tiny dataset in a database of its own, with a two-row accounts table."""
    info = get("06")
    name = f"t_sessions_{uuid.uuid4().hex[:8]}"
    chapter_db.create_database(pg_server, info, dbname=name, size="tiny")
    chapter = chapter_db.Chapter(info=info, server=pg_server, database=name)
    chapter.query("CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO acc VALUES (1, 100), (2, 100)")
    yield chapter
    sessions.close_all(quiet=True)
    chapter_db.drop_database(pg_server, name)


def test_a_blocked_update_is_shown_waiting_then_finishes_when_the_holder_commits(ch):
    with ch.sessions("alice", "bob") as lab:
        lab.alice("BEGIN; UPDATE acc SET balance = balance - 10 WHERE id = 1")
        waiting = lab.bob("UPDATE acc SET balance = balance + 5 WHERE id = 1")
        assert waiting.status == "running"
        assert "bob is waiting for a lock: ShareLock on a transaction (a row it changed), held by alice" in repr(waiting)
        assert lab.status().set_index("session").loc["bob", "state"] == "running"
        commit = lab.alice("COMMIT")
        assert [s.number for s in commit.also] == [waiting.number]
        assert "then bob finished (step 3, which waited for ShareLock" in repr(commit) and "UPDATE 1" in repr(commit)
        assert waiting.finished_at == commit.number
        assert lab.bob("SELECT balance FROM acc WHERE id = 1").rows == [(95,)]


def test_a_deadlock_is_an_outcome_with_its_detail_not_an_exception(ch):
    lab = ch.sessions("alice", "bob")
    lab.alice("BEGIN; UPDATE acc SET balance = 0 WHERE id = 1")
    lab.bob("BEGIN; UPDATE acc SET balance = 0 WHERE id = 2")
    first = lab.alice("UPDATE acc SET balance = 1 WHERE id = 2")
    assert first.status == "running"
    second = lab.bob("UPDATE acc SET balance = 1 WHERE id = 1")  # closes the cycle: the lab waits for the server
    steps = [first, second]
    victim = next(s for s in steps if s.status == "error")
    survivor = next(s for s in steps if s is not victim)
    assert victim.sqlstate == "40P01" and victim.message == "deadlock detected"
    assert survivor.status == "done" and survivor.tag == "UPDATE 1"
    assert "Process alice waits for ShareLock on transaction <xid>; blocked by process bob." in victim.detail
    assert "ERROR 40P01: deadlock detected" in repr(second)
    with pytest.raises(Exception, match="deadlock detected"):
        victim.result()
    notes = lab.close()
    assert sorted(notes) == sorted([f"{victim.session} had a failed transaction open: rolled back",
                                    f"{survivor.session} had an open transaction: rolled back"])


def test_write_skew_fails_with_40001_under_serializable(ch):
    with ch.sessions("alice", "bob") as lab:
        for name in ("alice", "bob"):
            lab[name]("BEGIN ISOLATION LEVEL SERIALIZABLE")
            lab[name]("SELECT sum(balance) FROM acc")
        lab.alice("UPDATE acc SET balance = balance - 150 WHERE id = 1")
        lab.bob("UPDATE acc SET balance = balance - 150 WHERE id = 2")
        assert lab.alice("COMMIT").tag == "COMMIT"
        failed = lab.bob("COMMIT")
        assert failed.status == "error" and failed.sqlstate == "40001"
        assert "could not serialize access" in failed.message


def test_lock_timeout_ends_a_wait_with_55p03_within_the_step(ch):
    with ch.sessions("alice", "bob") as lab:
        lab.alice("BEGIN; LOCK TABLE acc IN ACCESS EXCLUSIVE MODE")
        lab.bob("SET lock_timeout = '200ms'")
        step = lab.bob("SELECT count(*) FROM acc")
        assert step.status == "error" and step.sqlstate == "55P03"
        assert step.waited_for == "AccessShareLock on acc, held by alice"


def test_close_reports_an_idle_in_transaction_session_and_rolls_it_back(ch, capsys):
    lab = ch.sessions("alice", "bob")
    lab.alice("BEGIN; UPDATE acc SET balance = 0 WHERE id = 1")
    lab.bob("SELECT 1")
    assert lab.close() == ["alice had an open transaction: rolled back"]
    assert "alice had an open transaction: rolled back" in capsys.readouterr().out
    assert ch.query("SELECT balance FROM acc WHERE id = 1") == [(100,)]
    assert all(s.conn.closed for s in lab.sessions.values())
    # the server ends a backend shortly after its client disconnects: poll (bounded) until none is left
    query = ("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcourse lab%' "
             "AND datname = current_database()")
    for _ in range(100):
        if ch.query(query) == [(0,)]:
            break
        time.sleep(0.05)
    assert ch.query(query) == [(0,)]


def test_a_busy_session_refuses_the_next_statement_instead_of_freezing(ch):
    with ch.sessions("alice", "bob") as lab:
        lab.alice("BEGIN; LOCK TABLE acc")
        lab.bob("SELECT * FROM acc")
        refused = lab.bob("SELECT 1")
        assert refused.status == "not sent" and "bob is still busy with step" in refused.message


def _interleaving(ch) -> tuple[str, bytes, list]:
    lab = ch.sessions("alice", "bob")
    lab.alice("BEGIN; UPDATE acc SET balance = balance - 10 WHERE id = 1")
    lab.bob("UPDATE acc SET balance = balance + 10 WHERE id = 1")
    lab.alice("COMMIT")
    lab.bob("SELECT balance FROM acc ORDER BY id")
    timeline = lab.timeline()
    out = repr(timeline), timeline.png(), lab.history().values.tolist()
    lab.close(quiet=True)
    return out


def test_the_timeline_is_the_same_on_every_run(ch):
    first, second = _interleaving(ch), _interleaving(ch)
    assert first == second
    assert first[0].splitlines()[1:3] == ["alice ##.#.", "bob   ..w*#"]
    assert first[1].startswith(b"\x89PNG")


def test_the_session_magic_runs_a_cell_in_the_current_lab(ch):
    with ch.sessions("alice", "bob"):
        steps = sessions.session_magic("bob", "BEGIN;\n-- a comment\nSELECT 2 AS two;")
        assert [s.tag for s in steps] == ["BEGIN", "SELECT 1"] and steps[1].rows == [(2,)]
    with pytest.raises(Exception, match="no lab is open"):
        sessions.session_magic("bob", "SELECT 1")


def test_reopening_the_chapter_closes_its_labs(ch, monkeypatch, pg_server):
    lab = ch.sessions("alice")
    lab.alice("BEGIN")
    assert sessions.close_all() == ["alice had an open transaction: rolled back"]
    assert lab.closed


def test_a_reset_from_elsewhere_reports_the_open_transaction_it_ends(ch, pg_server, monkeypatch, capsys):
    lab = ch.sessions("alice", "bob")
    lab.alice("BEGIN; UPDATE acc SET balance = 0 WHERE id = 1")
    monkeypatch.setenv("PGCOURSE_CHAPTER_DB", ch.database)
    sessions._open_labs.discard(lab)  # as if the lab lived in a notebook's kernel, not in this process
    chapter_db.reset("06", server=pg_server, size="tiny")
    assert "reset: pgcourse lab: alice was idle in transaction: rolled back" in capsys.readouterr().out
    ended = lab.alice("SELECT 1")
    assert ended.status == "error"  # the drop ended the session: an outcome, not a crash
    lab.close(quiet=True)


def test_the_grader_ends_a_lab_left_in_a_transaction_before_it_checks(pg_server, tmp_path):
    import nbformat

    from tests.grading.conftest import code, grade_fast, solved_ch00

    nb = solved_ch00()
    nb.cells.insert(2, code("lab = ch.sessions('alice', 'bob')\nlab.alice('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE')\n"
                            "lab.bob('SELECT count(*) FROM users')"))
    path = tmp_path / "00_getting_started.ipynb"
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"t{i}"
    nbformat.write(nb, path)
    grade = grade_fast(path, pg_server)
    assert all(e.status == "passed" for e in grade.exercises), [e.message for e in grade.exercises]
    with pg_server.connect() as conn:
        left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcourse lab%' "
                            "AND usename LIKE 'grade\\_ch00\\_%'").fetchone()
    assert left == (0,)


def test_the_server_log_entry_of_a_deadlock_names_the_sessions_and_hides_ids(ch, tmp_path):
    with ch.sessions("alice", "bob") as lab:
        a, b = lab.alice.pid, lab.bob.pid
        log = tmp_path / "server.log"
        log.write_text(
            f"2026-11-29 22:00:00.000 UTC [{a}] learner@db ERROR:  deadlock detected\n"
            f"2026-11-29 22:00:00.000 UTC [{a}] learner@db DETAIL:  Process {a} waits for ShareLock on transaction 812; "
            f"blocked by process {b}.\n\tProcess {b} waits for ShareLock on transaction 811; blocked by process {a}.\n"
            f"\tProcess {a}: UPDATE acc SET balance = 0 WHERE id = 2\n"
            f"2026-11-29 22:00:00.000 UTC [{a}] learner@db STATEMENT:  UPDATE acc SET balance = 0 WHERE id = 2\n"
            "2026-11-29 22:00:01.000 UTC [99] LOG:  checkpoint starting: time\n")
        assert lab.server_log(log, "deadlock detected") == [
            "[alice] learner@db ERROR:  deadlock detected",
            "[alice] learner@db DETAIL:  Process alice waits for ShareLock on transaction <xid>; blocked by process bob.",
            "    Process bob waits for ShareLock on transaction <xid>; blocked by process alice.",
            "    Process alice: UPDATE acc SET balance = 0 WHERE id = 2",
            "[alice] learner@db STATEMENT:  UPDATE acc SET balance = 0 WHERE id = 2",
        ]
        assert lab.server_log(tmp_path / "absent.log", "deadlock detected") is None
        assert lab.server_log(log, "no such words") == []


def test_opening_sessions_of_the_same_names_again_closes_the_earlier_lab_and_says_what_was_open(ch, capsys):
    first = ch.sessions("alice", "bob")
    first.bob("BEGIN; UPDATE acc SET balance = 0 WHERE id = 1")
    other = ch.sessions("carol")  # other names: left open
    capsys.readouterr()
    second = ch.sessions("alice", "bob")  # the cell run again
    out = capsys.readouterr().out
    assert "an earlier lab with alice, bob was still open: closing it" in out
    assert "bob had an open transaction: rolled back" in out
    assert first.closed and not other.closed
    assert second.alice("UPDATE acc SET balance = 1 WHERE id = 1").outcome == "UPDATE 1"  # bob's lock went with it
    second.close(quiet=True)
    other.close(quiet=True)
