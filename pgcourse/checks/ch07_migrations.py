"""Checks for chapter 07, Migrations.

A migration is judged by what it does to a real database, never by its text:

- a migration pair (7.1) is run down, up, down and up again as the learner, inside a transaction
  that is rolled back, and the table's shape (columns, constraints, indexes, triggers, from the
  catalog) and rows are compared at each step; the state after "down" is compared with the
  chapter's own migrations replayed into a temporary table;
- lock behaviour (7.2, 7.3) is produced live with three connections of the learner role (one
  holding a long transaction, one migrating, one reading) and observed with ``pg_blocking_pids``
  (polled, never a fixed sleep);
- rewrites (7.4, 7.5) are read from the catalog: ``pg_relation_filenode`` before and after, and
  ``pg_attribute.atthasmissing`` (the "fast default" PostgreSQL 11 introduced);
- a constraint's procedure (7.6) is replayed statement by statement in a rolled-back transaction,
  recording after each one whether the constraint is validated and which lock modes it took.

Every connection a check opens is closed; every change it makes is rolled back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors

from . import CheckContext, exercise
from .context import attempt, first_line, is_violation, rolled_back, transaction_control

# ---- what the notebook shows verbatim (a test keeps them identical) --------------------------------

#: The chapter's first two migrations (7.1 adds the third). Self-contained: no other table is read.
COUPONS_0001_UP = """CREATE TABLE coupons (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    percent    integer NOT NULL CHECK (percent BETWEEN 1 AND 90),
    expires_at timestamptz NOT NULL
);
INSERT INTO coupons (code, percent, expires_at)
SELECT 'SAVE-' || lpad(g::text, 5, '0'), 5 + g % 30, timestamptz '2026-01-01' + g * interval '1 hour'
FROM generate_series(1, 20000) AS g;"""
COUPONS_0001_DOWN = "DROP TABLE coupons;"
COUPONS_0002_UP = """ALTER TABLE coupons ADD COLUMN max_uses integer NOT NULL DEFAULT 1;
ALTER TABLE coupons ADD CONSTRAINT coupons_max_uses_check CHECK (max_uses > 0);"""
COUPONS_0002_DOWN = """ALTER TABLE coupons DROP CONSTRAINT coupons_max_uses_check;
ALTER TABLE coupons DROP COLUMN max_uses;"""
CHAPTER_MIGRATION_IDS = ("0001_create_coupons", "0002_coupon_max_uses")

#: 7.4: which of these statements rewrite the table? (run on a table of this shape)
REWRITE_TABLE = "CREATE TEMP TABLE rewrite_probe (id integer, amount numeric(10,2), note varchar(50))"
REWRITE_STATEMENTS = {
    "a": "ALTER TABLE rewrite_probe ADD COLUMN currency text NOT NULL DEFAULT 'EUR'",
    "b": "ALTER TABLE rewrite_probe ADD COLUMN added_at timestamptz NOT NULL DEFAULT now()",
    "c": "ALTER TABLE rewrite_probe ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()",
    "d": "ALTER TABLE rewrite_probe ALTER COLUMN amount TYPE numeric(14,2)",
    "e": "ALTER TABLE rewrite_probe ALTER COLUMN id TYPE bigint",
    "f": "ALTER TABLE rewrite_probe ALTER COLUMN note TYPE varchar(200)",
}

#: 7.6: the new rule for orders.
ORDER_CAP = 100000
#: 7.3: the longest a migration step may wait for its lock, in milliseconds.
MAX_LOCK_WAIT_MS = 2000
#: 7.2 and 7.3: the table the live experiments use (every reader of the shop reads it).
BUSY_TABLE = "orders"
#: 7.2: the three sessions' statements.
QUEUE_READER = "SELECT count(*) FROM orders WHERE id <= 10"
QUEUE_MIGRATION = "ALTER TABLE orders ADD COLUMN pgcourse_probe integer"
QUEUE_CHOICES = ("waits", "runs")


# ---- helpers ------------------------------------------------------------------------------------------

def _labels(value: Any) -> set[str]:
    """A prediction of labels as a set: ["c", "e"], "c, e", "C E" all mean {"c", "e"}."""
    parts = re.split(r"[\s,;]+", value) if isinstance(value, str) else [str(v) for v in (value or [])]
    return {p.strip().strip("'\"").lower() for p in parts if p.strip()}


def table_shape(conn: psycopg.Connection, oid: int) -> dict[str, list[tuple]]:
    """A table's shape from the catalog, free of schema names and OIDs: columns, constraints, indexes, triggers."""
    columns = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
                  a.attidentity, a.attgenerated
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname""", [oid]).fetchall()
    constraints = conn.execute(
        """SELECT conname, contype, pg_get_constraintdef(oid), convalidated FROM pg_constraint
           WHERE conrelid = %s ORDER BY conname""", [oid]).fetchall()
    indexes = conn.execute(
        """SELECT i.relname, am.amname, x.indisunique, x.indisvalid, pg_get_expr(x.indpred, x.indrelid),
                  ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true) FROM generate_subscripts(x.indkey, 1) k ORDER BY k)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
           WHERE x.indrelid = %s ORDER BY i.relname""", [oid]).fetchall()
    triggers = conn.execute(
        """SELECT tgname, tgfoid::regproc::text, tgtype, tgenabled FROM pg_trigger
           WHERE tgrelid = %s AND NOT tgisinternal ORDER BY tgname""", [oid]).fetchall()
    return {"column": columns, "constraint": constraints, "index": indexes, "trigger": triggers}


def shape_difference(got: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> str | None:
    """The first difference between two table shapes, in words (None when identical)."""
    for kind in ("column", "constraint", "index", "trigger"):
        have = {row[0]: row for row in got[kind]}
        want = {row[0]: row for row in expected[kind]}
        for name in sorted(set(have) - set(want)):
            return f"{kind} {name} is there but should not be"
        for name in sorted(set(want) - set(have)):
            return f"{kind} {name} is missing"
        for name in sorted(want):
            if have[name] != want[name]:
                return f"{kind} {name} differs ({_describe(kind, have[name])} instead of {_describe(kind, want[name])})"
    return None


def _describe(kind: str, row: tuple) -> str:
    if kind == "column":
        return f"{row[1]}{' NOT NULL' if row[2] else ''}{f' DEFAULT {row[3]}' if row[3] else ''}"
    if kind == "constraint":
        return row[2] + ("" if row[3] else " NOT VALID")
    if kind == "index":
        return f"{row[1]} on ({', '.join(row[5])})" + (f" WHERE {row[4]}" if row[4] else "") + ("" if row[3] else " INVALID")
    return f"{row[1]}"


def rows_digest(conn: psycopg.Connection, table: str, columns: list[str]) -> tuple[int, str]:
    """(row count, md5 of the rows' text) over the given columns: the data a migration must keep."""
    cols = ", ".join(psycopg.sql.Identifier(c).as_string(conn) for c in columns)
    return conn.execute(f"SELECT count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') "
                        f"FROM (SELECT {cols} FROM {table}) r").fetchone()


def _statements(sql: str) -> list[str]:
    """The statements of a script, as PostgreSQL's parser splits them (comments dropped); a script with a syntax
    error is split by the scanner alone, so that running it reports the server's own error."""
    from pglast import split
    from pglast.parser import ParseError

    try:
        return [s for s in split(sql) if s.strip()]
    except ParseError:
        return [s for s in split(sql, with_parser=False) if s.strip()]


def _relation_modes(conn: psycopg.Connection, table: str) -> set[str]:
    """Lock modes this session holds on a table right now."""
    return {m for (m,) in conn.execute("SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' "
                                      "AND relation = to_regclass(%s)", [table]).fetchall()}


def _wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll a condition every 20 ms until it holds (True) or the time is up (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _leads_with(keys: list[str], column: str) -> bool:
    """True when an index's first key is this column (in either direction)."""
    return bool(keys) and keys[0].split()[0] == column


def _blocked(watcher: psycopg.Connection, pid: int) -> bool:
    return bool(watcher.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid]).fetchone()[0])


class Background:
    """One statement running in a thread on its own connection; its outcome kept (rows or the error)."""

    def __init__(self, conn: psycopg.Connection, sql: str):
        self.conn, self.sql = conn, sql
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.conn.execute(self.sql)
        except BaseException as exc:  # the outcome is the lesson: keep it for the check
            self.error = exc
        finally:
            self.done.set()

    def wait(self, seconds: float = 30.0) -> bool:
        return self.done.wait(seconds)


def _open(ctx: CheckContext, n: int) -> list[psycopg.Connection]:
    """``n`` fresh learner connections (autocommit, the check's statement timeout)."""
    conns = []
    for _ in range(n):
        conn = ctx.chapter.connect(autocommit=True)
        conn.execute(f"SET statement_timeout = {ctx.timeout_ms}")
        conns.append(conn)
    return conns


def _close(conns: list[psycopg.Connection]) -> None:
    for conn in conns:
        if not conn.closed:
            try:
                conn.cancel_safe(timeout=2)
            except Exception:  # a closed or broken connection has nothing left to cancel
                pass
            conn.close()


def lock_queue(ctx: CheckContext, migration_settings: str | None = None) -> dict[str, Any]:
    """Three live sessions: a long reader, a migration (``QUEUE_MIGRATION``, after ``migration_settings``),
    then a new reader. Returns whether the migration and the new reader were blocked and, with settings,
    the migration's outcome (its error, e.g. a lock timeout) and whether the new reader finished while
    the long transaction was still open. Everything is rolled back and closed."""
    long_tx, migrator, reader, watcher = conns = _open(ctx, 4)
    out: dict[str, Any] = {}
    try:
        long_tx.execute("BEGIN")
        long_tx.execute(QUEUE_READER)
        migrator.execute("BEGIN")
        for statement in _statements(migration_settings or ""):
            migrator.execute(statement)
        migration = Background(migrator, QUEUE_MIGRATION)
        out["migration_blocked"] = (_wait_until(lambda: migration.done.is_set() or _blocked(watcher, migrator.info.backend_pid))
                                    and not migration.done.is_set())
        reader.execute("SET lock_timeout = '20s'")
        late = Background(reader, QUEUE_READER)
        out["reader_blocked"] = (_wait_until(lambda: late.done.is_set() or _blocked(watcher, reader.info.backend_pid), 3)
                                 and not late.done.is_set())
        if migration_settings is not None:
            migration.wait(MAX_LOCK_WAIT_MS / 1000 + 3)
            out["migration_finished"] = migration.done.is_set()
            out["migration_error"] = migration.error
            late.wait(3)
            out["reader_finished_during_long_tx"] = late.done.is_set() and late.error is None
        long_tx.execute("ROLLBACK")
        migration.wait(10)
        late.wait(10)
        if migrator.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            migrator.execute("ROLLBACK")
    finally:
        _close(conns)
    return out


# ---- 7.1 a migration pair, up -> down -> up ----------------------------------------------------------------

def _coupons_after_0002(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """The shape of coupons after the chapter's migrations 0001 and 0002, replayed into a temporary table
    (in the caller's rolled-back transaction; dropped again so that ``coupons`` means the learner's table)."""
    conn.execute("SET LOCAL search_path = pg_temp")
    conn.execute(COUPONS_0001_UP)
    conn.execute(COUPONS_0002_UP)
    oid = conn.execute("SELECT 'pg_temp.coupons'::regclass::oid").fetchone()[0]
    shape = table_shape(conn, oid)
    conn.execute("DROP TABLE pg_temp.coupons")
    conn.execute("RESET search_path")
    return shape


def _has_minimum(conn: psycopg.Connection, oid: int) -> str | None:
    """What is missing from migration 0003's feature on coupons, or None when it is all there."""
    shape = table_shape(conn, oid)
    col = next((c for c in shape["column"] if c[0] == "min_order_amount"), None)
    if col is None:
        return "coupons has no column min_order_amount"
    if col[1] != "numeric(10,2)":
        return f"min_order_amount is {col[1]}, not numeric(10,2)"
    if not col[2]:
        return "min_order_amount may be NULL (NOT NULL is missing)"
    if not col[3] or not re.fullmatch(r"\(?0(\.0+)?\)?(::numeric)?", col[3].replace("'", "")):
        return f"min_order_amount's default is {col[3] or 'missing'}, not 0"
    if not any(ix[3] and ix[5] and _leads_with(ix[5], "expires_at") for ix in shape["index"]):
        return "no valid index on coupons starts with expires_at"
    err = attempt(conn, "UPDATE coupons SET min_order_amount = -1 WHERE id = (SELECT min(id) FROM coupons)")
    if err is None:
        return "a negative min_order_amount is accepted"
    if not is_violation(err):
        return f"setting a negative min_order_amount failed for another reason: {first_line(err)}"
    return None


_CONCURRENTLY = re.compile(r"\b((?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+|REINDEX\s+(?:\(.*?\)\s*)?)INDEX)\s+CONCURRENTLY\b",
                           re.I | re.S)


def in_transaction(sql: str) -> str:
    """A migration as it can run inside the check's rolled-back transaction: an index built or dropped
    CONCURRENTLY (a non-transactional migration, the right way on a busy table) builds the same index plainly,
    and the migration's own BEGIN/COMMIT are left out (a COMMIT would end the check's transaction)."""
    return ";\n".join(_CONCURRENTLY.sub(r"\1", s) for s in _statements(sql) if transaction_control(s) is None)


def _run_script(conn: psycopg.Connection, sql: str, what: str) -> None:
    try:
        with conn.transaction():
            conn.execute(in_transaction(sql))
    except psycopg.Error as exc:
        CheckContext.fail(f"{what} failed: {first_line(exc)}",
                          "a migration must run on the state the other direction leaves: test it up -> down -> up")


@exercise("7.1", "Migration 0003 and its rollback: up -> down -> up leaves the same schema and every row")
def coupon_minimum(ctx: CheckContext) -> str:
    """Parts of the task: (1) the pair is saved (up and down); (2) it is applied with the migration tool
    (a row in _yoyo_migration besides the chapter's two); (3) after up, coupons has min_order_amount
    numeric(10,2) NOT NULL DEFAULT 0, refusing negatives, and an index leading with expires_at;
    (4) down runs and leaves coupons exactly as migrations 0001 and 0002 made it (columns, constraints,
    indexes, triggers); (5) up runs again and gives the same schema as the first up; (6) down, up,
    down, up keep every row (count and contents of the original columns)."""
    value = ctx.saved_value()
    ctx.expect(isinstance(value, dict) and {"up", "down"} <= set(value),
               "the saved answer is not a migration pair", 'save it with pgcourse.answer("7.1", {"up": up, "down": down})')
    up, down = value["up"] or "", value["down"] or ""
    ctx.expect(_statements(up), "your up migration is empty", "write the SQL of migration 0003 in `up`")
    ctx.expect(_statements(down), "your down migration is empty", "write the SQL that undoes it in `down`")
    ctx.expect(ctx.table_exists("coupons"), "there is no table coupons",
               "run the cells of section 1 (they apply migrations 0001 and 0002)")
    ctx.expect(ctx.table_exists("_yoyo_migration"), "no migration was applied with yoyo in this database",
               "run the cells of section 1, then apply your migration with migrate()")
    applied = {r[0] for r in ctx.rows("SELECT migration_id FROM _yoyo_migration")}
    ctx.expect(applied - set(CHAPTER_MIGRATION_IDS), "your migration is not recorded in _yoyo_migration (not applied "
               "with the migration tool)", "write it with write_migration(...), then run migrate()")
    conn = ctx.learner
    with rolled_back(conn):
        oid = conn.execute("SELECT 'public.coupons'::regclass::oid").fetchone()[0]
        missing = _has_minimum(conn, oid)
        ctx.expect(missing is None, f"after your migration, {missing}",
                   "migration 0003: ADD COLUMN min_order_amount numeric(10,2) NOT NULL DEFAULT 0 CHECK (...), "
                   "CREATE INDEX ... (expires_at)")
        original = _coupons_after_0002(conn)
        columns = [c[0] for c in original["column"]]
        data = rows_digest(conn, "public.coupons", columns)
        up1 = table_shape(conn, oid)
        for turn in (1, 2):
            _run_script(conn, down, "your down migration" if turn == 1 else "down, run a second time after up,")
            down_shape = table_shape(conn, oid)
            diff = shape_difference(down_shape, original)
            ctx.expect(diff is None, f"after down, coupons is not as migrations 0001-0002 left it: {diff}",
                       "down must undo everything up did, and nothing more")
            kept = rows_digest(conn, "public.coupons", columns)
            ctx.expect(kept == data, f"after down, coupons has {kept[0]:,} rows or other values (before: {data[0]:,} rows)",
                       "a migration changes the schema; it must keep every row")
            _run_script(conn, up, "up, run again after down,")
            diff = shape_difference(table_shape(conn, oid), up1)
            ctx.expect(diff is None, f"up after down gives another schema than the first up: {diff}",
                       "run the pair up -> down -> up on a copy before you ship it")
            kept = rows_digest(conn, "public.coupons", columns)
            ctx.expect(kept == data, f"after up again, coupons has {kept[0]:,} rows or other values (before: {data[0]:,})",
                       "a migration changes the schema; it must keep every row")
    return f"down -> up -> down -> up: the same schema each time and all {data[0]:,} coupons kept"


# ---- 7.2 predict: the lock queue -------------------------------------------------------------------------------

@exercise("7.2", "Predict: does a plain SELECT wait behind a waiting ALTER TABLE?")
def predict_lock_queue(ctx: CheckContext) -> str:
    """Part of the task: one of "waits" / "runs" for the third session's SELECT; the check reproduces the three
    sessions live (a long reader, ALTER TABLE orders waiting for it, a new reader) and compares."""
    predicted = str(ctx.saved_value()).strip().strip("'\"").lower()
    ctx.expect(predicted in QUEUE_CHOICES, f"{predicted!r} is not one of {', '.join(QUEUE_CHOICES)}",
               'pgcourse.answer("7.2", "waits") or pgcourse.answer("7.2", "runs")')
    seen = lock_queue(ctx)
    ctx.expect(seen["migration_blocked"], "the check could not make the ALTER TABLE wait (is another session holding locks?)",
               "run it again")
    truth = "waits" if seen["reader_blocked"] else "runs"
    ctx.expect(predicted == truth, f"you predicted {predicted!r}; measured: the new SELECT {truth}",
               "locks are granted in queue order: a request that conflicts with a *waiting* ACCESS EXCLUSIVE "
               "request queues behind it, even though it does not conflict with the lock actually held")
    return f"the new SELECT {truth} behind the waiting ALTER TABLE, although the long transaction only reads"


# ---- 7.3 lock_timeout -------------------------------------------------------------------------------------------

def _setting_ms(conn: psycopg.Connection, name: str) -> int:
    """A time setting of this session in milliseconds (0 means off)."""
    return int(conn.execute("SELECT setting::bigint * CASE unit WHEN 's' THEN 1000 WHEN 'min' THEN 60000 ELSE 1 END "
                            "FROM pg_settings WHERE name = %s", [name]).fetchone()[0])


@exercise("7.3", "A migration step that gives up instead of queueing everyone")
def lock_timeout_step(ctx: CheckContext) -> str:
    """Parts of the task: (1) the saved settings run; (2) they set lock_timeout above 0 and at most 2 s;
    (3) live, behind a long transaction, ALTER TABLE orders after them fails with lock_not_available
    (55P03) instead of waiting; (4) then a new reader of orders is no longer stuck behind it."""
    settings = ctx.answer().sql or ""
    with rolled_back(ctx.learner) as conn:
        for statement in _statements(settings):
            err = attempt(conn, statement)
            ctx.expect(err is None, f"your settings fail: {first_line(err) if err else ''}", "SET lock_timeout = '...'")
        ms = _setting_ms(conn, "lock_timeout")
    ctx.expect(ms > 0, "after your settings lock_timeout is 0: the step would wait for its lock for ever",
               "SET lock_timeout = '2s' (statement_timeout is something else: it also cancels a step that is working)")
    ctx.expect(ms <= MAX_LOCK_WAIT_MS, f"lock_timeout is {ms:,} ms: every reader queued behind the step waits that long",
               f"at most {MAX_LOCK_WAIT_MS // 1000} s; the step is retried later")
    seen = lock_queue(ctx, settings)
    err = seen["migration_error"]
    ctx.expect(seen["migration_finished"], "behind the long transaction the ALTER TABLE was still waiting",
               "SET lock_timeout in the same session, before the ALTER TABLE")
    ctx.expect(isinstance(err, errors.LockNotAvailable),
               f"the ALTER TABLE ended with {type(err).__name__ if err else 'success'}, not a lock timeout",
               "SET lock_timeout = '2s'")
    ctx.expect(seen["reader_finished_during_long_tx"], "after the step gave up, a new reader of orders was still waiting",
               "the step must give up (lock_timeout) so that the queue behind it drains")
    return f"lock_timeout = {ms:,} ms: the step gave up (55P03) and the readers behind it went on"


# ---- 7.4 predict: which statements rewrite the table ---------------------------------------------------------------

def rewrites(conn: psycopg.Connection) -> set[str]:
    """The labels of REWRITE_STATEMENTS that give the table a new file (relfilenode), each on a fresh table,
    in the caller's rolled-back transaction."""
    out = set()
    for label, statement in REWRITE_STATEMENTS.items():
        conn.execute("DROP TABLE IF EXISTS pg_temp.rewrite_probe")
        conn.execute(REWRITE_TABLE)
        conn.execute("INSERT INTO rewrite_probe SELECT g, g / 100.0, 'n' || g FROM generate_series(1, 1000) g")
        before = conn.execute("SELECT pg_relation_filenode('pg_temp.rewrite_probe')").fetchone()[0]
        conn.execute(statement)
        if conn.execute("SELECT pg_relation_filenode('pg_temp.rewrite_probe')").fetchone()[0] != before:
            out.add(label)
    return out


@exercise("7.4", "Predict: which ALTER TABLE statements rewrite the table?")
def predict_rewrites(ctx: CheckContext) -> str:
    """Part of the task: the set of labels (a-f) whose statement rewrites the table (a list or a string, any
    case and order; an empty list if none); the check measures each on a temporary table (relfilenode)."""
    predicted = _labels(ctx.saved_value())
    unknown = predicted - set(REWRITE_STATEMENTS)
    ctx.expect(not unknown, f"unknown labels {sorted(unknown)}", f"use the labels {', '.join(REWRITE_STATEMENTS)}")
    with rolled_back(ctx.learner) as conn:
        truth = rewrites(conn)
    if predicted != truth:
        missed, extra = sorted(truth - predicted), sorted(predicted - truth)
        parts = ([f"{', '.join(missed)} rewrite{'s' if len(missed) == 1 else ''} the table"] if missed else []) + \
                ([f"{', '.join(extra)} do{'es' if len(extra) == 1 else ''} not"] if extra else [])
        ctx.fail("your prediction differs from the server: " + "; ".join(parts),
                 "a rewrite is needed when each row needs its own new value (a volatile default) or its stored "
                 "bytes change (int -> bigint); a constant default, now(), a wider numeric or varchar are catalog-only")
    return f"rewritten: {', '.join(sorted(truth))} (a new relfilenode); the others changed the catalog only"


# ---- 7.5 a column with a default, without a rewrite ------------------------------------------------------------------

@exercise("7.5", "orders.currency, NOT NULL DEFAULT 'EUR', without rewriting a million rows")
def currency_without_rewrite(ctx: CheckContext) -> str:
    """Parts of the task: (1) orders has a column currency; (2) NOT NULL; (3) DEFAULT 'EUR' (a new order gets
    EUR); (4) every existing order reads EUR; (5) no row was rewritten: the value comes from the catalog's
    fast default (pg_attribute.atthasmissing), not from an UPDATE or a table rewrite."""
    cols = ctx.columns("orders")
    ctx.expect("currency" in cols, "orders has no column currency", "ALTER TABLE orders ADD COLUMN currency ...")
    col = cols["currency"]
    ctx.expect(col["not_null"], "orders.currency may be NULL", "NOT NULL in the same ADD COLUMN")
    with rolled_back(ctx.learner) as conn:
        got = conn.execute("INSERT INTO orders (user_id, order_number, total_amount) "
                           "VALUES ((SELECT min(user_id) FROM orders), 'ORD-CHECK-7.5', 1) RETURNING currency::text").fetchone()[0]
        ctx.expect(got == "EUR", f"a new order gets currency {got!r}, not 'EUR'", "DEFAULT 'EUR'")
        others = conn.execute("SELECT count(*) FROM orders WHERE currency::text IS DISTINCT FROM 'EUR'").fetchone()[0]
    ctx.expect(others == 0, f"{others:,} existing orders do not read EUR", "the default gives every existing row EUR")
    missing = ctx.value("SELECT atthasmissing FROM pg_attribute WHERE attrelid = 'public.orders'::regclass "
                        "AND attname = 'currency'")
    ctx.expect(missing, "every order was written again to fill currency (by an UPDATE, or by a statement that "
                        "rewrote the table): the stored rows have the column, the catalog has no fast default",
               "one statement, ADD COLUMN currency text NOT NULL DEFAULT 'EUR', only records the default "
               "(`pgcourse reset 07`, or drop the column, then add it that way)")
    return "currency comes from the catalog (atthasmissing): a million orders read EUR, none was rewritten"


# ---- 7.6 NOT VALID, then VALIDATE -------------------------------------------------------------------------------------

def _cap_constraints(ctx: CheckContext, original: set[str]) -> list[dict]:
    """CHECK constraints on orders that are not the dataset's own (the learner's), by name."""
    return [c for c in ctx.constraints("orders") if c["type"] == "c" and c["name"] not in original]


@exercise("7.6", "A cap on order totals, added NOT VALID and then validated")
def cap_not_valid(ctx: CheckContext) -> str:
    """Parts of the task: (1) orders refuses a total of 100,000 or more, and (2) accepts 99,999.99; (3) the
    constraint is validated in the end; (4) the statement that adds it leaves it NOT VALID (no scan under
    ACCESS EXCLUSIVE); (5) a later statement validates it, taking SHARE UPDATE EXCLUSIVE (writes go on).
    (4) and (5) are measured by replaying the saved statements one by one in a rolled-back transaction;
    (6) the validation is not in the same transaction (BEGIN ... COMMIT) as the ADD CONSTRAINT."""
    script = ctx.answer().sql or ""
    original = {r[0] for r in ctx.sample_admin.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'public.orders'::regclass").fetchall()}
    conn = ctx.learner
    insert = "INSERT INTO orders (user_id, order_number, total_amount) VALUES ((SELECT min(user_id) FROM orders), %s, %s)"
    with rolled_back(conn):
        err = attempt(conn, insert, ["ORD-CHECK-7.6a", ORDER_CAP])
        ctx.expect(err is not None, f"an order of {ORDER_CAP:,} is accepted",
                   f"ALTER TABLE orders ADD CONSTRAINT ... CHECK (total_amount < {ORDER_CAP}) NOT VALID")
        ctx.expect(is_violation(err), f"the order of {ORDER_CAP:,} failed for another reason: {first_line(err)}")
        err = attempt(conn, insert, ["ORD-CHECK-7.6b", ORDER_CAP - 0.01])
        ctx.expect(err is None, f"an order of {ORDER_CAP - 0.01:,.2f} is refused ({first_line(err) if err else ''})",
                   f"the cap is: less than {ORDER_CAP:,}")
    mine = _cap_constraints(ctx, original)
    ctx.expect(mine, "the cap is not a CHECK constraint of its own on orders",
               "a new constraint, added NOT VALID, then validated")
    ctx.expect(all(c["validated"] for c in mine), f"{', '.join(c['name'] for c in mine if not c['validated'])} "
               "is still NOT VALID: old rows are unchecked", "ALTER TABLE orders VALIDATE CONSTRAINT ...")
    names = [c["name"] for c in mine]
    added_not_valid = validated_by = None
    with rolled_back(conn):
        conn.execute("SET LOCAL lock_timeout = '5s'")
        for name in names:
            conn.execute(psycopg.sql.SQL("ALTER TABLE orders DROP CONSTRAINT {}").format(psycopg.sql.Identifier(name)))
        in_block = added_in_block = False  # the answer's own BEGIN ... COMMIT (not run: replayed in the check's transaction)
        for statement in _statements(script):
            control = transaction_control(statement)
            if control is not None:
                in_block, added_in_block = control == "start", False
                continue
            before = _relation_modes(conn, "public.orders")
            err = attempt(conn, statement)
            ctx.expect(err is None, f"replaying your statements, `{statement[:60]}` failed: {first_line(err) if err else ''}",
                       "save the statements you ran, in order, in the %%answer 7.6 cell")
            state = dict(conn.execute("SELECT conname, convalidated FROM pg_constraint "
                                      "WHERE conrelid = 'public.orders'::regclass AND conname = ANY(%s)", [names]).fetchall())
            if state and added_not_valid is None:
                added_not_valid, added_in_block = not any(state.values()), in_block
                ctx.expect(added_not_valid, f"`{statement[:70]}` adds the constraint already validated: the whole table "
                                            "is scanned while ACCESS EXCLUSIVE blocks every reader and writer",
                           "add it with NOT VALID, then VALIDATE CONSTRAINT in a statement of its own")
            elif state and validated_by is None and all(state.values()):
                ctx.expect(not added_in_block, f"`{statement[:70]}` runs in the same transaction as the ADD CONSTRAINT: "
                           "its ACCESS EXCLUSIVE lock is held through the whole validation",
                           "COMMIT after ADD CONSTRAINT ... NOT VALID; VALIDATE CONSTRAINT in a transaction of its own")
                validated_by = (statement, _relation_modes(conn, "public.orders") - before)
    ctx.expect(added_not_valid is not None, "replaying your saved statements does not add the constraint",
               "save the statements you ran, in order, in the %%answer 7.6 cell")
    ctx.expect(validated_by is not None, "replaying your saved statements never validates the constraint",
               "ALTER TABLE orders VALIDATE CONSTRAINT ...")
    statement, modes = validated_by
    ctx.expect("AccessExclusiveLock" not in modes and "ShareUpdateExclusiveLock" in modes,
               f"the validating statement took {', '.join(sorted(modes)) or 'no new lock'}, not SHARE UPDATE EXCLUSIVE",
               "ALTER TABLE ... VALIDATE CONSTRAINT ... scans under SHARE UPDATE EXCLUSIVE: writers go on")
    return f"{', '.join(names)}: added NOT VALID, validated under SHARE UPDATE EXCLUSIVE"


# ---- 7.7 the interrupted CREATE INDEX CONCURRENTLY ---------------------------------------------------------------------

@exercise("7.7", "Finish the interrupted index migration")
def finish_index(ctx: CheckContext) -> str:
    """Parts of the task: (1) no invalid index is left on orders; (2) a valid index leads with updated_at;
    (3) only one index leads with updated_at (no duplicate left behind)."""
    indexes = ctx.indexes("orders")
    invalid = [ix["name"] for ix in indexes if not ix["valid"]]
    ctx.expect(not invalid, f"{', '.join(invalid)} is still INVALID: every write maintains it, no query can use it",
               "DROP INDEX CONCURRENTLY it and build it again, or REINDEX INDEX CONCURRENTLY it")
    leading = [ix["name"] for ix in indexes if _leads_with(ix["keys"], "updated_at")]
    ctx.expect(leading, "no index on orders leads with updated_at: the migration's index is gone",
               "CREATE INDEX CONCURRENTLY ... ON orders (updated_at)")
    ctx.expect(len(leading) == 1, f"{len(leading)} indexes lead with updated_at ({', '.join(leading)}): one is enough",
               "drop the duplicate (DROP INDEX CONCURRENTLY)")
    return f"{leading[0]} is valid, and no invalid index is left on orders"


# ---- 7.8 expand: a column rename while old code still runs ----------------------------------------------------------------

@exercise("7.8", "Expand: display_name beside full_name, kept in sync both ways")
def expand_rename(ctx: CheckContext) -> str:
    """Parts of the task: (1) users keeps full_name (old code still uses it); (2) users has display_name;
    (3) every existing user's display_name equals full_name (backfilled); (4) an INSERT by old code
    (full_name only) fills display_name; (5) an INSERT by new code (display_name only) fills full_name;
    (6) an UPDATE of full_name carries over to display_name; (7) an UPDATE of display_name carries over
    to full_name."""
    cols = ctx.columns("users")
    ctx.expect("full_name" in cols, "users has no full_name any more: the old code, still running, breaks",
               "expand first (add the new column), contract (drop the old one) only when no code uses it")
    ctx.expect("display_name" in cols, "users has no column display_name", "ALTER TABLE users ADD COLUMN display_name text")
    conn = ctx.learner
    with rolled_back(conn):
        behind = conn.execute("SELECT count(*) FROM users WHERE display_name IS DISTINCT FROM full_name").fetchone()[0]
        ctx.expect(behind == 0, f"{behind:,} existing users have a display_name that differs from full_name",
                   "backfill: UPDATE users SET display_name = full_name WHERE display_name IS DISTINCT FROM full_name "
                   "(in batches on a big table)")
        base = "INSERT INTO users (email, username, password_hash, country_code, {col}) VALUES (%s, %s, 'x', 'NL', %s) RETURNING id"
        err = attempt(conn, base.format(col="full_name"), ["old.code@example.com", "old_code_7_8", "Old Code"])
        ctx.expect(err is None, f"an INSERT by the old code (full_name only) fails: {first_line(err) if err else ''}")
        got = conn.execute("SELECT display_name FROM users WHERE username = 'old_code_7_8'").fetchone()[0]
        ctx.expect(got == "Old Code", f"an INSERT by the old code (full_name only) leaves display_name {got!r}",
                   "a BEFORE INSERT OR UPDATE trigger copies whichever column was given into the other")
        err = attempt(conn, base.format(col="display_name"), ["new.code@example.com", "new_code_7_8", "New Code"])
        ctx.expect(err is None, f"an INSERT by the new code (display_name only) fails: {first_line(err) if err else ''}",
                   "full_name is NOT NULL: the trigger must fill it from display_name before the row is checked")
        got = conn.execute("SELECT full_name FROM users WHERE username = 'new_code_7_8'").fetchone()[0]
        ctx.expect(got == "New Code", f"an INSERT by the new code leaves full_name {got!r}",
                   "copy display_name into full_name when only display_name is given")
        conn.execute("UPDATE users SET full_name = 'Renamed Old' WHERE username = 'old_code_7_8'")
        got = conn.execute("SELECT display_name FROM users WHERE username = 'old_code_7_8'").fetchone()[0]
        ctx.expect(got == "Renamed Old", f"after the old code updates full_name, display_name is still {got!r}",
                   "on UPDATE, copy the column that changed (NEW.x IS DISTINCT FROM OLD.x) into the other")
        conn.execute("UPDATE users SET display_name = 'Renamed New' WHERE username = 'new_code_7_8'")
        got = conn.execute("SELECT full_name FROM users WHERE username = 'new_code_7_8'").fetchone()[0]
        ctx.expect(got == "Renamed New", f"after the new code updates display_name, full_name is still {got!r}",
                   "on UPDATE, copy the column that changed (NEW.x IS DISTINCT FROM OLD.x) into the other")
    return "old and new code can both write users; full_name and display_name stay equal"
