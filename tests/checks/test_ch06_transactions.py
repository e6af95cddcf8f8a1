"""Chapter 06 checks, both ways: right answers in several shapes pass; wrong ones fail, each for its reason.

The concurrency checks are proven with answers that are right when run alone and wrong with two
workers (a claim without SKIP LOCKED or without FOR UPDATE, a retry function that does not retry),
and the retry exercise runs the notebook's own harness cell.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from pgcourse.checks import ch06_transactions as c06
from pgcourse.checks import run_check
from pgcourse.magics import save_answer
from tests.checks.helpers import _normal, failed, passed

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "06_transactions.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("06", size="tiny")
    for setup in (c06.ACCOUNTS_SETUP, c06.STOCK_SETUP, c06.DOCTORS_SETUP, c06.JOBS_SETUP, c06.PROFILES_SETUP,
                  c06.RETRY_SETUP):
        chapter.query(setup)
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def check(ch, exercise: str, answer_sql: str | None = None, value=None):
    if answer_sql is not None or value is not None:
        save_answer(ch, exercise, answer_sql=answer_sql, value=None if value is None else value)
    return run_check(exercise, ch)


def _cells() -> list[str]:
    return ["".join(c["source"]) for c in json.loads(SOLUTION.read_text())["cells"] if c["cell_type"] == "code"]


def test_the_notebook_setup_cells_are_the_ones_tested_here():
    cells = [_normal(c) for c in _cells()]
    for setup in (c06.ACCOUNTS_SETUP, c06.STOCK_SETUP, c06.DOCTORS_SETUP, c06.PROFILES_SETUP, c06.JOBS_SETUP,
                  c06.RETRY_SETUP):
        assert any(_normal(setup) in cell for cell in cells), setup.splitlines()[0]


# ---- predictions: 6.1, 6.3, 6.7 ----

@pytest.mark.parametrize("exercise, right, wrong", [("6.1", 0, 2), ("6.3", 9, 8), ("6.7", 0, 1)])
def test_predictions_are_compared_with_the_scenario_measured_again(ch, exercise, right, wrong):
    failed(check(ch, exercise), "no answer saved")
    failed(check(ch, exercise, value=wrong), "you predicted", str(wrong))
    passed(check(ch, exercise, value=right))
    passed(check(ch, exercise, value=f" {right}.0 "))


# ---- 6.2 lastval ----

USER = "INSERT INTO users (email, username, password_hash, full_name, country_code) " \
       "VALUES ('ada@pgcourse.test', 'ada', 'x', 'Ada Lovelace', 'GB')"


@pytest.mark.parametrize("answer", [
    f"WITH new_user AS ({USER} RETURNING id) INSERT INTO user_profiles (user_id, bio) SELECT id, 'Hello' FROM new_user",
    f"BEGIN;\n{USER};\nINSERT INTO user_profiles VALUES (currval(pg_get_serial_sequence('users', 'id')), 'Hello');\nCOMMIT;",
    f"START TRANSACTION;\n{USER};\nINSERT INTO user_profiles (bio, user_id) "
    "SELECT 'Hello', id FROM users WHERE email = 'ada@pgcourse.test';\nCOMMIT;",
    f"DO $$\nDECLARE new_id bigint;\nBEGIN\n  {USER} RETURNING id INTO new_id;\n"
    "  INSERT INTO user_profiles VALUES (new_id, 'Hello');\nEND $$;",
    f"-- Ada and her profile\n{USER.replace('INSERT INTO', 'insert into').replace('VALUES', 'values')} ;\n"
    "insert into user_profiles select u.id, 'Hello' from users u where u.email = 'ada@pgcourse.test' ;",
])
def test_6_2_any_way_to_the_new_id_passes(ch, answer):
    passed(check(ch, "6.2", answer))
    assert ch.query("SELECT count(*) FROM users WHERE email = 'ada@pgcourse.test'") == [(0,)]  # rolled back


def test_6_2_lastval_gives_the_profile_to_another_user(ch):
    failed(check(ch, "6.2", f"BEGIN;\n{USER};\nINSERT INTO user_profiles VALUES (lastval(), 'Hello');\nCOMMIT;"),
           "belongs to", "not to the new user", "lastval")


@pytest.mark.parametrize("answer, words", [
    (f"WITH u AS ({USER} RETURNING id) INSERT INTO user_profiles SELECT id, 'Hi' FROM u", ["bio", "'hi'"]),
    (USER, ["added 0 profiles"]),
    ("SELECT 1", ["added 0 users"]),
])
def test_6_2_wrong_parts_are_named(ch, answer, words):
    failed(check(ch, "6.2", answer), *words)


# ---- 6.4 job queue ----

RIGHT_CLAIMS = [
    "UPDATE jobs SET status = 'running', taken_at = now() WHERE id = ("
    "SELECT id FROM jobs WHERE status = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id",
    "WITH next AS (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)\n"
    "UPDATE jobs j SET status = 'running' FROM next WHERE j.id = next.id RETURNING j.id, j.payload",
    "update jobs set status='running' where id in (select j.id from jobs j where j.status = 'queued' "
    "order by j.id limit 1 for no key update skip locked) returning id;",
    "-- claim the next job\nUPDATE jobs SET status = 'running' FROM (SELECT id FROM jobs WHERE status = 'queued' "
    "ORDER BY id ASC LIMIT 1 FOR UPDATE SKIP LOCKED) AS next_job WHERE jobs.id = next_job.id RETURNING jobs.id AS claimed ;",
]


@pytest.mark.parametrize("answer", RIGHT_CLAIMS)
def test_6_4_claims_that_skip_locked_rows_pass(ch, answer):
    passed(check(ch, "6.4", answer))


@pytest.mark.parametrize("answer, words", [
    # right when run alone: the second worker waits (and would then take the same job)
    ("UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1) "
     "RETURNING id", ["waited", "skip locked"]),
    ("UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id "
     "FOR UPDATE LIMIT 1) RETURNING id", ["waited"]),
    ("UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
     "RETURNING id", ["claimed again", "status = 'queued'"]),
    ("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1", ["not 'running'"]),
    ("UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id DESC "
     "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id", ["smallest id"]),
    ("UPDATE jobs SET status = 'running' WHERE status = 'queued' RETURNING id", ["returned 40 rows"]),
    # no ORDER BY: the first row in storage order, which is not the smallest id once rows were updated
    ("UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs WHERE status = 'queued' "
     "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id", ["smallest id", "order by id"]),
    ("SELECT 1; SELECT 2", ["one statement"]),
])
def test_6_4_claims_wrong_with_two_workers_fail(ch, answer, words):
    failed(check(ch, "6.4", answer), *words)


NAIVE_CLAIM = ("UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id "
               "LIMIT 1) RETURNING id")


def test_6_4_a_claim_correct_when_run_alone_fails_the_concurrent_check(ch):
    alone = [ch.query(NAIVE_CLAIM)[0][0] for _ in range(5)]  # one worker after the other: each job once, in order
    assert alone == sorted(set(alone)) and len(alone) == 5
    ch.query(c06.JOBS_SETUP)
    failed(check(ch, "6.4", NAIVE_CLAIM), "second worker", "waited", "skip locked")


def test_6_4_changes_nothing_in_the_learners_jobs(ch):
    before = ch.query("SELECT id, status FROM jobs ORDER BY id")
    passed(check(ch, "6.4", RIGHT_CLAIMS[0]))
    assert ch.query("SELECT id, status FROM jobs ORDER BY id") == before
    assert ch.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pgcourse_check_%'") == [(0,)]


# ---- 6.5 optimistic locking ----

@pytest.mark.parametrize("answer", [
    "UPDATE stock_items SET stock = stock - 1, version = version + 1 WHERE id = :item_id AND version = :seen_version",
    "update stock_items set version = :seen_version + 1, stock = stock - 1\n"
    "where version = :seen_version and id = :item_id returning *;",
    "UPDATE stock_items SET stock = stock - 1, version = version + 1 WHERE (id, version) = (:item_id, :seen_version) "
    "AND stock::int >= 1 RETURNING version",
    "-- sell one\nUPDATE stock_items s SET version = s.version + 1, stock = s.stock - 1\n"
    "WHERE s.id = :item_id AND s.version = :seen_version AND s.stock > 0 ;",
])
def test_6_5_version_checked_updates_pass(ch, answer):
    passed(check(ch, "6.5", answer))


@pytest.mark.parametrize("answer, words", [
    ("UPDATE stock_items SET stock = stock - 1, version = version + 1 WHERE id = :item_id", ["stale version"]),
    ("UPDATE stock_items SET stock = stock - 1 WHERE id = :item_id AND version = :seen_version", ["did not change the version"]),
    ("UPDATE stock_items SET stock = stock - 2, version = version + 1 WHERE id = :item_id AND version = :seen_version",
     ["stock 4"]),
    ("UPDATE stock_items SET stock = stock - 1, version = version + 1 WHERE version = :seen_version", ["changed 2 rows"]),
    ("UPDATE stock_items SET stock = stock - 1, version = version + 1 WHERE id = :item_id AND version >= :seen_version",
     ["stale version"]),
    ("UPDATE stock_items SET stock = stock - 1, version = version + 1 WHERE id = :item_id AND version = 3",
     ["current version", "not a number"]),
])
def test_6_5_updates_that_lose_a_concurrent_sale_fail(ch, answer, words):
    failed(check(ch, "6.5", answer), *words)


# ---- 6.6 advisory lock ----

@pytest.mark.parametrize("answer", ["SELECT pg_try_advisory_xact_lock(12345)",
                                    "select pg_try_advisory_xact_lock(12345::bigint) as got_it;",
                                    "-- the nightly report\nSELECT pg_try_advisory_xact_lock(12345) AS locked ;",
                                    "BEGIN; SELECT pg_try_advisory_xact_lock(12300 + 45); COMMIT;"])
def test_6_6_transaction_level_try_locks_pass(ch, answer):
    passed(check(ch, "6.6", answer))


@pytest.mark.parametrize("answer, words", [
    ("SELECT pg_try_advisory_lock(12345)", ["outlived", "pg_try_advisory_xact_lock"]),
    ("SELECT true FROM pg_advisory_xact_lock(12345)", ["waited"]),
    ("SELECT pg_try_advisory_xact_lock((random() * 1000000)::int)", ["second session got the lock"]),
    ("SELECT 12345", ["one boolean"]),
    # another key than the task's 12345: runners of the two programs would not exclude each other
    ("SELECT pg_try_advisory_xact_lock(hashtext('nightly report'))", ["another key", "12345"]),
    ("select pg_try_advisory_xact_lock(1, 2345) as got_it;", ["another key"]),
    ("SELECT pg_try_advisory_xact_lock(12346)", ["another key"]),
])
def test_6_6_locks_that_wait_or_stay_held_fail(ch, answer, words):
    failed(check(ch, "6.6", answer), *words)


# ---- 6.8 retry: the notebook's own harness runs the function ----

def _cell(marker: str) -> str:
    return next(c for c in _cells() if marker in c)


def _harness(ch, run_serializable) -> None:
    """Run the notebook's trial cell with this run_serializable."""
    from IPython.display import display

    namespace = {"ch": ch, "run_serializable": run_serializable, "psycopg": psycopg, "display": display}
    exec(_cell("def trial(request, work):"), namespace)


def _solution_function():
    namespace: dict = {}
    exec(_cell("def run_serializable(conn, work, attempts=10):"), namespace)
    return namespace["run_serializable"]


def test_6_8_the_solution_survives_the_forced_failure_and_four_workers(ch):
    failed(check(ch, "6.8"), "has not been run")
    _harness(ch, _solution_function())
    passed(check(ch, "6.8"))


def _no_retry(conn, work, attempts=10):
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        return work(conn)


def _retry_everything(conn, work, attempts=10):
    for attempt in range(attempts):
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                return work(conn)
        except psycopg.Error:
            if attempt == attempts - 1:
                raise


def _retry_without_serializable(conn, work, attempts=10):
    for _ in range(attempts):
        try:
            with conn.transaction():
                return work(conn)
        except psycopg.errors.SerializationFailure:
            pass


def _manual_begin(conn, work, attempts=10):
    """Another right shape: BEGIN/COMMIT sent by hand, the SQLSTATE compared."""
    for attempt in range(attempts):
        conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
            return result
        except psycopg.Error as exc:
            conn.execute("ROLLBACK")
            if exc.sqlstate not in ("40001", "40P01") or attempt == attempts - 1:
                raise


def test_6_8_a_retry_written_with_begin_and_sqlstates_passes(ch):
    _harness(ch, _manual_begin)
    passed(check(ch, "6.8"))


def _retry_only_40001(conn, work, attempts=10):
    for attempt in range(attempts):
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                return work(conn)
        except psycopg.errors.SerializationFailure:
            if attempt == attempts - 1:
                raise


def test_6_8_a_function_without_retries_is_right_alone(ch):
    with ch.connect(autocommit=True) as conn:
        _no_retry(conn, lambda c: c.execute("UPDATE counters SET n = n + 1 WHERE name = 'visits'"))
    assert ch.query("SELECT n FROM counters") == [(1,)]


@pytest.mark.parametrize("function, words", [
    (_no_retry, ["serialization failure ended 'raised 40001' after 1"]),  # right when run alone (test above)
    (_retry_only_40001, ["deadlock", "ended 'raised 40P01' after 1", "retry 40P01"]),
    (_retry_everything, ["not retryable", "after 50 attempts"]),
    (_retry_without_serializable, ["went unnoticed", "serializable"]),
    (lambda conn, work, attempts=10: None, ["ended 'not applied' after 0"]),
])
def test_6_8_functions_that_work_only_alone_fail(ch, function, words):
    _harness(ch, function)
    failed(check(ch, "6.8"), *words)
