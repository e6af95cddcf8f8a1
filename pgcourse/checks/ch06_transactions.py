"""Checks for chapter 06, Transactions.

A transaction's behaviour only shows with more than one session, so most checks act the task out
as the learner on several connections (``ctx.connect_learner``, ``pgcourse.sessions``), in a
schema of their own holding copies of the learner's tables (``ctx.own_schema``): a claim query is
run by two workers at once and by four workers for many rounds, an optimistic UPDATE meets a stale
version, a lock is tried from a second session, a retry function is judged by the invariant the
notebook's concurrent run left behind. Predictions are compared with the same scenario measured
again here. A check never waits long: a second session has a lock_timeout, and waiting is a finding.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import psycopg

from . import CheckContext, exercise
from .context import transaction_control

# ---- the notebook's set-up (it shows this text verbatim; a test checks) ----

ACCOUNTS_SETUP = """DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (
    id      int PRIMARY KEY,
    owner   text NOT NULL,
    balance numeric(12, 2) NOT NULL CHECK (balance >= 0)
);
INSERT INTO accounts VALUES (1, 'alice', 100), (2, 'bob', 100), (3, 'carol', 100);"""

#: 6.1: three inserts in one transaction, the second breaks the CHECK.
ABORTED_SCRIPT = [
    "START TRANSACTION",
    "INSERT INTO accounts VALUES (4, 'dave', 50)",
    "INSERT INTO accounts VALUES (5, 'erin', -10)",
    "INSERT INTO accounts VALUES (6, 'frank', 70)",
    "COMMIT",
]

#: 6.2: the guide's audit trigger on users, and the profiles the guide's transaction fills.
PROFILES_SETUP = """DROP TABLE IF EXISTS user_profiles, audit_log;
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    row_id     bigint NOT NULL,
    action     text NOT NULL
);
CREATE OR REPLACE FUNCTION audit_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (table_name, row_id, action) VALUES ('users', NEW.id, TG_OP);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER users_audit AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION audit_users();
CREATE TABLE user_profiles (
    user_id bigint PRIMARY KEY REFERENCES users,
    bio     text NOT NULL
);
DELETE FROM users WHERE email LIKE '%@pgcourse.test';"""
NEW_USER_EMAIL = "ada@pgcourse.test"

#: 6.3 and 6.5: stock with a version column (optimistic locking).
STOCK_SETUP = """DROP TABLE IF EXISTS stock_items;
CREATE TABLE stock_items (
    id      bigint PRIMARY KEY,
    name    text NOT NULL,
    stock   int NOT NULL CHECK (stock >= 0),
    version int NOT NULL DEFAULT 1
);
INSERT INTO stock_items VALUES (1, 'espresso cup', 10, 1), (2, 'milk jug', 5, 1);"""

#: 6.3: two clerks sell one cup each; the application computes the new stock from what it read.
LOST_UPDATE_STEPS = [
    ("alice", "BEGIN"),
    ("alice", "SELECT stock FROM stock_items WHERE id = 1"),
    ("bob", "BEGIN"),
    ("bob", "SELECT stock FROM stock_items WHERE id = 1"),
    ("alice", "UPDATE stock_items SET stock = 9 WHERE id = 1"),
    ("bob", "UPDATE stock_items SET stock = 9 WHERE id = 1"),
    ("alice", "COMMIT"),
    ("bob", "COMMIT"),
]

#: 6.4: a job queue.
JOBS_SETUP = """DROP TABLE IF EXISTS jobs;
CREATE TABLE jobs (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload  text NOT NULL,
    status   text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done')),
    taken_at timestamptz
);
INSERT INTO jobs (payload) SELECT 'send invoice ' || g FROM generate_series(1, 20) g;"""

#: 6.6: the nightly report's advisory lock key (the guide's).
ADVISORY_KEY = 12345

#: 6.7: the on-call rule "at least one doctor stays on call", checked by the application.
DOCTORS_SETUP = """DROP TABLE IF EXISTS doctors;
CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL);
INSERT INTO doctors VALUES ('alice', true), ('bob', true), ('carol', false);"""


def write_skew_steps(level: str) -> list[tuple[str, str]]:
    """6.7: alice and bob each check that someone else is on call, then go off call."""
    steps = []
    for name in ("alice", "bob"):
        steps += [(name, f"BEGIN ISOLATION LEVEL {level}"),
                  (name, "SELECT count(*) FROM doctors WHERE on_call")]
    for name in ("alice", "bob"):
        steps.append((name, f"UPDATE doctors SET on_call = false WHERE name = '{name}'"))
    return steps + [("alice", "COMMIT"), ("bob", "COMMIT")]


#: 6.8: the retry exercise's tables, filled by the notebook's concurrent run of the learner's function.
RETRY_SETUP = """DROP TABLE IF EXISTS counters, applied, retry_trial;
CREATE TABLE counters (name text PRIMARY KEY, n bigint NOT NULL);
INSERT INTO counters VALUES ('visits', 0);
CREATE TABLE applied (request text PRIMARY KEY);
CREATE TABLE retry_trial (request text PRIMARY KEY, attempts int NOT NULL, outcome text NOT NULL);"""
#: requests of the concurrent run: WORKERS threads, ROUNDS each
RETRY_WORKERS, RETRY_ROUNDS = 4, 10


# ---- helpers ----

def statements_without_transaction_control(text: str) -> list[str]:
    """The answer's statements minus BEGIN/COMMIT/ROLLBACK: the check runs them in its own transaction."""
    from ..sessions import split_statements

    return [s for s in split_statements(text) if transaction_control(s) is None]


def with_binds(text: str, names: list[str]) -> str:
    """``:name`` (ipython-sql's bind syntax) as psycopg's ``%(name)s``, other ``%`` escaped, casts (``::``) kept."""
    text = text.replace("%", "%%")
    return re.sub(r"(?<![:\w]):(" + "|".join(names) + r")\b", r"%(\1)s", text)


def _one_statement(ctx: CheckContext) -> str:
    statements = statements_without_transaction_control(ctx.answer().sql or "")
    ctx.expect(len(statements) == 1, f"the answer should be one statement; it has {len(statements)}",
               "write a single statement in the %%answer cell")
    return statements[0]


def _first_value(cur: psycopg.Cursor) -> Any:
    rows = cur.fetchall() if cur.description else []
    return rows[0][0] if len(rows) == 1 else rows


def _measure(ctx: CheckContext, schema: str, steps: list[tuple[str, str]]) -> None:
    """Play interleaved steps in live sessions on the check's schema (waits resolved as the notebook shows)."""
    from ..sessions import Lab

    names = list(dict.fromkeys(name for name, _ in steps))
    lab = Lab(lambda **kw: ctx.connect_learner(search_path=schema, **kw), names)
    try:
        for name, sql in steps:
            lab[name](sql)
    finally:
        lab.close(quiet=True)


# ---- exercises ----

@exercise("6.1", "predict: an error inside a transaction")
def aborted_transaction(ctx: CheckContext) -> None:
    """Parts: the prediction is the number of the three new accounts (4, 5, 6) that exist after the
    script (an error aborts the transaction, COMMIT then rolls it back), measured again here."""
    predicted = ctx.predicted_number()
    with ctx.own_schema("accounts") as schema:
        conn = ctx.connect_learner(search_path=schema)
        for sql in ABORTED_SCRIPT:
            try:
                conn.execute(sql)
            except psycopg.Error:
                pass
        measured = conn.execute("SELECT count(*) FROM accounts WHERE id IN (4, 5, 6)").fetchone()[0]
    ctx.expect(predicted == measured, f"you predicted {predicted} of the new accounts; the server keeps {measured}",
               "after an error the transaction is aborted: what does COMMIT answer then?")


@exercise("6.2", "a user and their profile, without lastval()")
def user_with_profile(ctx: CheckContext) -> None:
    """Parts: the answer inserts a user with e-mail ada@pgcourse.test and a profile with bio 'Hello' for
    that same user, while an audit trigger inserts into another table with its own sequence;
    exactly one user and one profile are added; any form (RETURNING in a CTE, currval of the users
    sequence, a lookup by e-mail) passes; run in a transaction that is rolled back."""
    statements = statements_without_transaction_control(ctx.answer().sql or "")
    ctx.expect(statements, "the answer has no statement besides transaction control", "insert the user and the profile")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        conn.execute(PROFILES_SETUP)  # the trigger and tables as the notebook has them, ada removed
        before = conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_profiles)").fetchone()
        old_profiles = [r[0] for r in conn.execute("SELECT user_id FROM user_profiles")]
        for sql in statements:
            try:
                with conn.transaction():
                    conn.execute(sql)
            except psycopg.Error as exc:
                ctx.fail(f"your statement failed: {str(exc).splitlines()[0]}", "run it in the notebook and read the error")
        after = conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_profiles)").fetchone()
        ctx.expect(after[0] - before[0] == 1, f"the answer added {after[0] - before[0]} users; it should add one")
        ctx.expect(after[1] - before[1] == 1, f"the answer added {after[1] - before[1]} profiles; it should add one")
        new_profile = conn.execute("SELECT u.email, p.bio FROM user_profiles p LEFT JOIN users u ON u.id = p.user_id "
                                   "WHERE p.user_id <> ALL(%s)", [old_profiles]).fetchall()
        ctx.expect(len(new_profile) == 1, "no profile row was written by your answer")
        email, bio = new_profile[0]
        ctx.expect(email == NEW_USER_EMAIL, f"the new profile belongs to {email!r}, not to the new user {NEW_USER_EMAIL}",
                   "lastval() returns the last value of ANY sequence: here the audit trigger's; take the id from "
                   "INSERT ... RETURNING id")
        ctx.expect(bio == "Hello", f"the profile's bio is {bio!r}; the task says 'Hello'")


@exercise("6.3", "predict: a lost update")
def lost_update(ctx: CheckContext) -> None:
    """Parts: the prediction is the stock of item 1 (10 before) after the two clerks' transactions,
    measured again here by playing the same steps in two live sessions."""
    predicted = ctx.predicted_number()
    with ctx.own_schema("stock_items") as schema:
        conn = ctx.connect_learner(search_path=schema)
        conn.execute("INSERT INTO stock_items (id, name, stock, version) VALUES (1, 'espresso cup', 10, 1)")
        _measure(ctx, schema, LOST_UPDATE_STEPS)
        measured = conn.execute("SELECT stock FROM stock_items WHERE id = 1").fetchone()[0]
    ctx.expect(predicted == measured, f"you predicted a stock of {predicted}; after the two sales it is {measured}",
               "each clerk writes the number it computed from what it read: what does the second write overwrite?")


@exercise("6.4", "a job queue with FOR UPDATE SKIP LOCKED")
def job_queue(ctx: CheckContext) -> None:
    """Parts: one statement that claims the queued job with the smallest id (tried where storage order is not
    id order, so a claim without ORDER BY id fails), marks it 'running' and returns its id (first column); a second worker running it while the first has not committed
    gets another job at once (no waiting); a job claimed and committed is never claimed again; four
    workers claiming concurrently, many rounds, never take a job twice and leave none queued."""
    claim = _one_statement(ctx)
    with ctx.own_schema("jobs") as schema:
        setup = ctx.connect_learner(search_path=schema)
        setup.execute("INSERT INTO jobs (payload) SELECT 'job ' || g FROM generate_series(1, 40) g")
        first_id = setup.execute("SELECT min(id) FROM jobs").fetchone()[0]
        # the first 20 jobs' rows rewritten: a scan in storage order now meets job 21 first, so only ORDER BY finds the smallest
        setup.execute("UPDATE jobs SET payload = payload WHERE id < %s", [first_id + 20])
        a = ctx.connect_learner(search_path=schema, lock_timeout_ms=1000)
        b = ctx.connect_learner(search_path=schema, lock_timeout_ms=1000)
        a.execute("BEGIN")
        got_a = _claim(ctx, a, claim, "the first worker")
        ctx.expect(got_a == first_id, f"alone, your query claimed job {got_a}, not the queued job with the smallest id",
                   "ORDER BY id, LIMIT 1")
        status = a.execute("SELECT status FROM jobs WHERE id = %s", [got_a]).fetchone()[0]
        ctx.expect(status == "running", f"the claimed job's status is {status!r}, not 'running'",
                   "the statement should also mark the job: UPDATE ... SET status = 'running'")
        b.execute("BEGIN")
        try:
            got_b = _claim(ctx, b, claim, "a second worker")
        except psycopg.errors.LockNotAvailable:
            ctx.fail("a second worker, while the first had not committed, waited for its lock (stopped after 1 s)",
                     "skip the rows other workers have locked: FOR UPDATE SKIP LOCKED")
        ctx.expect(got_b != got_a, f"two workers at the same time both claimed job {got_a}",
                   "lock the row you pick (FOR UPDATE) and skip locked ones (SKIP LOCKED)")
        a.execute("COMMIT")
        b.execute("ROLLBACK")
        got_c = _claim(ctx, b, claim, "a worker after the first committed")
        ctx.expect(got_c != got_a, f"job {got_a} was claimed again after the first worker committed",
                   "only queued jobs may be claimed: WHERE status = 'queued'")
        setup.execute("UPDATE jobs SET status = 'queued', taken_at = NULL")
        taken = _claim_concurrently(ctx, schema, claim)
        doubles = sorted({j for j in taken if taken.count(j) > 1})
        ctx.expect(not doubles, f"four workers claiming at once took jobs {doubles[:5]} more than once",
                   "a plain subquery picks the same row in two sessions: lock it with FOR UPDATE SKIP LOCKED")
        left = setup.execute("SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()[0]
        ctx.expect(left == 0, f"four workers claiming until nothing came back left {left} jobs queued",
                   "a worker must get a job while any is queued and unlocked")


def _claim(ctx: CheckContext, conn: psycopg.Connection, claim: str, who: str) -> Any:
    try:
        cur = conn.execute(claim)
    except psycopg.errors.LockNotAvailable:
        raise
    except psycopg.Error as exc:
        ctx.fail(f"your claim query failed for {who}: {str(exc).splitlines()[0]}")
    rows = cur.fetchall() if cur.description else []
    ctx.expect(len(rows) == 1, f"for {who} your query returned {len(rows)} rows; it should return the claimed job's id",
               "RETURNING id (one row)")
    return rows[0][0]


def _claim_concurrently(ctx: CheckContext, schema: str, claim: str) -> list[Any]:
    """Four workers claim and commit until the query returns nothing; every claimed id, in any order."""
    taken: list[Any] = []
    errors: list[str] = []
    conns = [ctx.connect_learner(search_path=schema, lock_timeout_ms=5000) for _ in range(4)]
    start = threading.Barrier(len(conns))

    def work(conn: psycopg.Connection) -> None:
        start.wait()
        for _ in range(100):
            try:
                with conn.transaction():
                    cur = conn.execute(claim)
                    rows = cur.fetchall() if cur.description else []
            except psycopg.Error as exc:
                errors.append(str(exc).splitlines()[0])
                return
            if not rows:
                return
            taken.append(rows[0][0])

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ctx.expect(not errors, f"with four workers at once your query failed: {errors[0] if errors else ''}")
    return taken


@exercise("6.5", "optimistic locking with a version column")
def optimistic_update(ctx: CheckContext) -> None:
    """Parts: the UPDATE sells one unit of item :item_id (stock - 1) only when its version is still
    :seen_version, and changes the version; with the current version it updates one row; with a
    stale version it updates none; a concurrent writer holding the row makes it wait and then, after
    that writer commits, update nothing."""
    update = with_binds(_one_statement(ctx), ["item_id", "seen_version"])
    with ctx.own_schema("stock_items") as schema:
        a = ctx.connect_learner(search_path=schema)
        a.execute("INSERT INTO stock_items (id, name, stock, version) VALUES (1, 'cup', 5, 3), (2, 'jug', 5, 3)")

        def run(conn: psycopg.Connection, version: int, item: int = 1) -> int:
            try:
                return conn.execute(update, {"item_id": item, "seen_version": version}).rowcount
            except psycopg.Error as exc:
                ctx.fail(f"your UPDATE failed: {str(exc).splitlines()[0]}",
                         "use :item_id and :seen_version for the values the application read")

        changed = run(a, 3)
        ctx.expect(changed == 1, f"with the version the row has, your UPDATE changed {changed} rows; it should change one",
                   "WHERE id = :item_id AND version = :seen_version")
        stock, version = a.execute("SELECT stock, version FROM stock_items WHERE id = 1").fetchone()
        ctx.expect(stock == 4, f"one sale should leave stock 4 of 5; it left {stock}")
        ctx.expect(version != 3, "the UPDATE did not change the version: a second writer holding the old version would still win",
                   "SET version = version + 1")
        ctx.expect(a.execute("SELECT stock FROM stock_items WHERE id = 2").fetchone()[0] == 5,
                   "your UPDATE changed another item too", "WHERE id = :item_id")
        ctx.expect(run(a, 3) == 0, "with a stale version (the one read before the last sale) your UPDATE still changed the row",
                   "compare the version: AND version = :seen_version")
        b = ctx.connect_learner(search_path=schema, lock_timeout_ms=10000)
        current = a.execute("SELECT version FROM stock_items WHERE id = 1").fetchone()[0]
        a.execute("BEGIN")
        ctx.expect(run(a, current) == 1, f"with the current version ({current}) your UPDATE changed no row",
                   "take the version from :seen_version, not a number typed in")
        done = threading.Event()
        outcome: list[int] = []
        waiter = threading.Thread(target=lambda: (outcome.append(run_quiet(b, update, current)), done.set()))
        waiter.start()
        a.execute("COMMIT")
        waiter.join(15)
        ctx.expect(outcome == [0], "a writer with the same version that waited for a concurrent sale still changed "
                   f"the row after it committed (rows: {outcome})", "the version check decides: AND version = :seen_version")
        ctx.expect(a.execute("SELECT stock FROM stock_items WHERE id = 1").fetchone()[0] == 3,
                   "two sales with the same version sold two units")


def run_quiet(conn: psycopg.Connection, update: str, version: int) -> int:
    """The update for item 1 in another thread: its row count, -1 on an error."""
    try:
        return conn.execute(update, {"item_id": 1, "seen_version": version}).rowcount
    except psycopg.Error:
        return -1


@exercise("6.6", "an advisory lock that cannot be left held")
def advisory_lock(ctx: CheckContext) -> None:
    """Parts: one statement returning one boolean: true when this session got the nightly report's
    lock; a second session running it meanwhile gets false at once (no waiting); the lock is the key
    12345 (another runner asking for that key meanwhile is refused); the lock is gone when the first
    transaction ends (no unlock needed), so the second then gets it."""
    take = _one_statement(ctx)
    a = ctx.connect_learner(lock_timeout_ms=1000)
    b = ctx.connect_learner(lock_timeout_ms=1000)

    def got(conn: psycopg.Connection, who: str) -> Any:
        try:
            value = _first_value(conn.execute(take))
        except psycopg.errors.LockNotAvailable:
            ctx.fail(f"{who} waited for the lock instead of answering false (stopped after 1 s)",
                     "the pg_try_ functions answer at once")
        except psycopg.Error as exc:
            ctx.fail(f"your statement failed: {str(exc).splitlines()[0]}")
        ctx.expect(isinstance(value, bool), f"your statement should return one boolean; it returned {value!r}")
        return value

    a.execute("BEGIN")
    ctx.expect(got(a, "the first session") is True, "the first session did not get the lock")
    b.execute("BEGIN")
    ctx.expect(got(b, "a second session") is False, "a second session got the lock while the first held it",
               "both sessions must ask for the same key")
    b.execute("ROLLBACK")
    b.execute("BEGIN")
    other = b.execute(f"SELECT pg_try_advisory_xact_lock({ADVISORY_KEY}::bigint)").fetchone()[0]
    ctx.expect(other is False, f"while your statement held its lock, another runner got the nightly report's key "
               f"{ADVISORY_KEY} (pg_try_advisory_xact_lock({ADVISORY_KEY})): your statement locks another key",
               f"the task's key is the single bigint {ADVISORY_KEY}")
    a.execute("COMMIT")
    b.execute("ROLLBACK")
    b.execute("BEGIN")
    second = got(b, "the second session after the first committed")
    b.execute("ROLLBACK")
    held = a.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").fetchone()[0]
    ctx.expect(second is True and held == 0, "the lock outlived the first session's transaction (still held after COMMIT)",
               "pg_try_advisory_lock holds it until pg_advisory_unlock or the end of the session; "
               "the transaction-level pg_try_advisory_xact_lock ends with the transaction")


@exercise("6.7", "predict: write skew under REPEATABLE READ")
def write_skew(ctx: CheckContext) -> None:
    """Parts: the prediction is how many doctors are on call after alice's and bob's transactions
    under REPEATABLE READ (two on call before), measured again here with two live sessions."""
    predicted = ctx.predicted_number()
    with ctx.own_schema("doctors") as schema:
        conn = ctx.connect_learner(search_path=schema)
        conn.execute("INSERT INTO doctors VALUES ('alice', true), ('bob', true), ('carol', false)")
        _measure(ctx, schema, write_skew_steps("REPEATABLE READ"))
        measured = conn.execute("SELECT count(*) FROM doctors WHERE on_call").fetchone()[0]
    ctx.expect(predicted == measured, f"you predicted {predicted} doctors on call; the server leaves {measured}",
               "each transaction sees its own snapshot, taken before the other's update")


@exercise("6.8", "retry serialization failures")
def retry(ctx: CheckContext) -> None:
    """Parts (read from what the notebook's run of your function left): the forced serialization
    failure (40001) was retried and applied once; a first attempt ended by a deadlock (40P01) was
    retried and applied once; a non-retryable error was raised after one attempt; with
    four workers running concurrently every request was applied exactly once and the counter equals
    the number applied."""
    ctx.expect(ctx.table_exists("retry_trial"), "the retry tables are missing", "run the exercise's set-up cell")
    trials = dict((r, (n, o)) for r, n, o in ctx.rows("SELECT request, attempts, outcome FROM retry_trial"))
    ctx.expect(trials, "the run that tries your function has not been run yet", "run the cell under your function")
    forced = trials.get("forced")
    ctx.expect(forced is not None, "the forced serialization failure was not tried", "run the cell under your function")
    ctx.expect(not (forced[1] == "applied" and forced[0] == 1),
               "the forced conflict went unnoticed: the request was applied at the first attempt although another "
               "session changed the counter after it was read", "run the work in a SERIALIZABLE transaction")
    ctx.expect(forced[1] == "applied" and forced[0] >= 2,
               f"the request that met a serialization failure ended '{forced[1]}' after {forced[0]} attempt(s)",
               "on SQLSTATE 40001 roll back and run the whole transaction again")
    victim = trials.get("deadlock victim")
    ctx.expect(victim is not None and victim[1] == "applied" and victim[0] >= 2,
               f"the request whose first attempt was a deadlock's victim (40P01) ended "
               f"'{victim[1] if victim else 'not tried'}' after {victim[0] if victim else 0} attempt(s)",
               "a deadlock victim's transaction was rolled back whole: retry 40P01 (DeadlockDetected) like 40001")
    fatal = trials.get("not retryable")
    ctx.expect(fatal is not None and fatal[1].startswith("raised") and fatal[0] == 1,
               f"a CHECK violation (not retryable) ended '{fatal[1] if fatal else '-'}' after "
               f"{fatal[0] if fatal else 0} attempts", "retry only 40001 (and 40P01); raise any other error at once")
    expected = RETRY_WORKERS * RETRY_ROUNDS
    concurrent = [k for k in trials if k.startswith("w")]
    applied = ctx.value("SELECT count(*) FROM applied WHERE request LIKE 'w%'")
    failed = [k for k in concurrent if trials[k][1] != "applied"]
    ctx.expect(len(concurrent) == expected and not failed,
               f"with {RETRY_WORKERS} workers at once, {len(failed)} of {len(concurrent)} requests failed"
               + (f" ({trials[failed[0]][1]})" if failed else ""), "retry until the transaction commits (a few attempts)")
    n = ctx.value("SELECT n FROM counters WHERE name = 'visits'")
    total = ctx.value("SELECT count(*) FROM applied")
    ctx.expect(applied == expected and n == total,
               f"{applied} concurrent requests applied and the counter says {n} for {total} applied: an update was lost or doubled")
