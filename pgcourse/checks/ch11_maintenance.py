"""Checks for chapter 11, Maintenance and monitoring.

Every check reads the live server: exact tuple counts (``pgstattuple``, as the learner, who holds
pg_monitor here; ``n_dead_tup`` where the extension is missing), the catalog (``reloptions``,
``pg_index``) and the statistics views. Where a monitoring query is asked for, the check runs it as
the learner, read-only or in a transaction it rolls back, after making the situation it must find:
idle-in-transaction sessions of its own (11.5), a table with a plain, a unique and an exclusion
index nobody has used (11.7), a table never read (11.8). The reference query runs in the same
transaction, so both read the same statistics snapshot (``stats_fetch_consistency = cache``).
No check looks at timings.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import psycopg

from ..extensions import has_extension
from . import CheckContext, exercise
from .context import compare_rows, first_line

# ---- the set-up cells and statements of the notebook (it shows this text verbatim; a test checks) ----

#: 11.1: a copy of 50,000 orders whose every row was updated once; autovacuum is off for it.
AUDIT_SETUP = """DROP TABLE IF EXISTS order_audit;
CREATE TABLE order_audit WITH (autovacuum_enabled = off) AS
SELECT id, user_id, status, total_amount, updated_at FROM orders WHERE id <= 50000 ORDER BY id;
UPDATE order_audit SET updated_at = updated_at + interval '1 second';"""
#: the rows the set-up copies (50,000 on small; fewer on a smaller dataset)
AUDIT_ROWS_SQL = "SELECT count(*) FROM orders WHERE id <= 50000"

#: 11.2: delete half of a 20,000-row table shaped like orders, then VACUUM: (a) the oldest half, (b) the newest half.
SHRINK_CASES = {
    "a": "DELETE FROM shrink_demo WHERE id <= 10000",
    "b": "DELETE FROM shrink_demo WHERE id > 10000",
}
SHRINK_SETUP = """DROP TABLE IF EXISTS shrink_demo;
CREATE TABLE shrink_demo WITH (autovacuum_enabled = off) AS
SELECT g AS id, g % 997 AS user_id, 'completed' AS status, round(g % 500 * 1.37, 2) AS total_amount
FROM generate_series(1, 20000) AS g;
VACUUM shrink_demo;"""
SHRINK_CHOICES = ("same", "smaller")

#: 11.3 and 11.4: a table of counters that a web shop updates all day.
COUNTERS_SETUP = """DROP TABLE IF EXISTS product_counters;
CREATE TABLE product_counters (
    product_id     bigint PRIMARY KEY,
    views          bigint NOT NULL DEFAULT 0,
    last_viewed_at timestamptz
);
INSERT INTO product_counters (product_id) SELECT g FROM generate_series(1, 100000) AS g;
CREATE INDEX product_counters_last_viewed_at_idx ON product_counters (last_viewed_at);"""
COUNTERS_ROWS = 100_000
#: one round of page views: 5% of the counters, spread over every page
COUNTERS_UPDATE = ("UPDATE product_counters SET views = views + 1, last_viewed_at = '2025-06-01 12:00+00' "
                   "WHERE product_id % 20 = 0")
HOT_SHARE = 0.9

#: 11.4: the autovacuum triggers wanted for product_counters, now and grown tenfold
TRIGGER_RANGE = (500, 2000)
TRIGGER_SIZES = (COUNTERS_ROWS, 10 * COUNTERS_ROWS)

#: 11.6: a table with dead rows that a forgotten transaction keeps from being cleaned up.
STUCK_SETUP = """DROP TABLE IF EXISTS stuck_cleanup;
CREATE TABLE stuck_cleanup WITH (autovacuum_enabled = off) AS
SELECT id, user_id, total_amount FROM orders WHERE id <= 20000 ORDER BY id;
DROP TABLE IF EXISTS job_queue;
CREATE TABLE job_queue (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO job_queue VALUES (1, 'queued'), (2, 'queued');"""
#: what the forgotten worker ran (in a transaction it never ends)
WORKER_SQL = "UPDATE job_queue SET status = 'running' WHERE id = 1"
STUCK_DELETE = "DELETE FROM stuck_cleanup WHERE id % 2 = 0"
#: the live rows after the DELETE (10,000 on small)
STUCK_LIVE_SQL = "SELECT count(*) FROM orders WHERE id <= 20000 AND id % 2 = 1"

#: 11.5: the check's transactions were opened a moment before your query runs: a duration beyond this is not theirs
OPEN_FOR_AT_MOST = dt.timedelta(minutes=10)

#: 11.7 and 11.8: what the checks create (in a transaction they roll back) for the learner's query to find
PROBE_TABLE = "pgcourse_probe"
PROBE_SETUP = f"""CREATE TABLE {PROBE_TABLE} (id int PRIMARY KEY, code int, during int4range, note text);
CREATE INDEX {PROBE_TABLE}_note_idx ON {PROBE_TABLE} (note);
CREATE UNIQUE INDEX {PROBE_TABLE}_code_key ON {PROBE_TABLE} (code);
ALTER TABLE {PROBE_TABLE} ADD CONSTRAINT {PROBE_TABLE}_no_overlap EXCLUDE USING gist (during WITH &&);"""

#: 11.7: indexes nobody has used that enforce no rule (the reference)
UNUSED_REFERENCE = """SELECT s.relname, s.indexrelname, pg_relation_size(s.indexrelid)
FROM pg_catalog.pg_stat_user_indexes AS s JOIN pg_catalog.pg_index AS i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisexclusion"""

#: 11.8: the cache hit ratio per table (the reference)
CACHE_REFERENCE = """SELECT schemaname, relname, heap_blks_hit, heap_blks_read,
       heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0)
FROM pg_catalog.pg_statio_user_tables"""
#: the course's own bookkeeping (the saved answers): a ratio query may list its tables or leave them out
COURSE_SCHEMA = "pgcourse"


# ---- helpers ---------------------------------------------------------------------------------
def _require_table(ctx: CheckContext, table: str, setup: str) -> None:
    ctx.expect(ctx.table_exists(table), f"there is no table {table} yet",
               f"run the set-up cell above the exercise first ({setup})")


def dead_tuples(ctx: CheckContext, table: str) -> tuple[int, int, str]:
    """(live, dead, how measured) for a table: exact with pgstattuple, else the statistics' estimate."""
    if has_extension("pgstattuple", conn=ctx.learner):
        live, dead = ctx.learner.execute(
            "SELECT tuple_count, dead_tuple_count FROM pgstattuple(%s::regclass)", [f"public.{table}"]).fetchone()
        return live, dead, "pgstattuple"
    live, dead = ctx.admin.execute(
        "SELECT n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relid = to_regclass(%s)", [f"public.{table}"]
    ).fetchone()
    return live, dead, "n_dead_tup"


def _holders(ctx: CheckContext) -> list[tuple[int, str]]:
    """Sessions of this database, other than the check's, idle in a transaction that holds back cleanup."""
    return ctx.admin.execute(
        """SELECT pid, left(query, 80) FROM pg_stat_activity
           WHERE datname = current_database() AND state LIKE 'idle in transaction%%'
             AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) AND pid <> pg_backend_pid()
           ORDER BY xact_start""").fetchall()


# ---- 11.1 dead tuples brought down --------------------------------------------------------------
@exercise("11.1", "Clean up after a mass update")
def vacuum_audit(ctx: CheckContext) -> str:
    """Parts of the task: (1) order_audit (from the set-up cell) still holds its rows (50,000 on small); (2) no dead
    tuples are left in it (exact, pgstattuple; n_dead_tup without it); (3) its planner statistics were
    refreshed after the update (ANALYZE: last_analyze or last_autoanalyze is set; the set-up never analyzes)."""
    _require_table(ctx, "order_audit", "AUDIT_SETUP: CREATE TABLE order_audit ... UPDATE order_audit ...")
    live, dead, how = dead_tuples(ctx, "order_audit")
    made = ctx.value(AUDIT_ROWS_SQL)
    ctx.expect(live == made, f"order_audit holds {live:,} live rows; the set-up made {made:,}",
               "clean the table up without deleting rows: run the set-up cell again, then only maintenance commands")
    ctx.expect(dead == 0, f"order_audit still has {dead:,} dead tuples ({how})",
               "VACUUM order_audit marks the space of dead tuples free (VACUUM ANALYZE does both parts)")
    analyzed = ctx.value("SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL FROM pg_stat_user_tables "
                         "WHERE relid = 'public.order_audit'::regclass")
    ctx.expect(analyzed, "order_audit has no dead tuples left, but its planner statistics were never gathered",
               "ANALYZE order_audit (or VACUUM ANALYZE order_audit)")
    return f"order_audit: {live:,} live rows, 0 dead ({how}), statistics gathered"


# ---- 11.2 predict: does VACUUM give space back? -------------------------------------------------
def _choice(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    return text if text in SHRINK_CHOICES else None


def measure_shrink(conn: psycopg.Connection) -> dict[str, str]:
    """What VACUUM does to the file size after each delete of :data:`SHRINK_CASES`, measured on a temporary copy."""
    out = {}
    setup = SHRINK_SETUP.replace("DROP TABLE IF EXISTS shrink_demo;", "DROP TABLE IF EXISTS pg_temp.shrink_demo;")
    setup = setup.replace("VACUUM shrink_demo;", "VACUUM pg_temp.shrink_demo;")
    setup = setup.replace("CREATE TABLE shrink_demo", "CREATE TEMPORARY TABLE shrink_demo")
    for key, delete in SHRINK_CASES.items():
        for statement in setup.split(";\n"):
            conn.execute(statement)
        before = conn.execute("SELECT pg_relation_size('pg_temp.shrink_demo')").fetchone()[0]
        conn.execute(delete.replace("shrink_demo", "pg_temp.shrink_demo"))
        conn.execute("VACUUM pg_temp.shrink_demo")
        after = conn.execute("SELECT pg_relation_size('pg_temp.shrink_demo')").fetchone()[0]
        out[key] = "smaller" if after < before else "same"
    conn.execute("DROP TABLE IF EXISTS pg_temp.shrink_demo")
    return out


@exercise("11.2", "Predict: does VACUUM give the space back?")
def predict_shrink(ctx: CheckContext) -> str:
    """Parts of the task: one prediction per case (a: the oldest half deleted, b: the newest half deleted),
    each "same" or "smaller", matching what VACUUM does to the file size on this server (the check measures
    both cases itself, on a temporary copy)."""
    saved = ctx.saved_value()
    ctx.expect(isinstance(saved, dict), 'save both predictions as a dict: pgcourse.answer("11.2", {"a": ..., "b": ...})',
               f"each value one of: {', '.join(SHRINK_CHOICES)}")
    missing = [k for k in SHRINK_CASES if _choice(saved.get(k)) is None]
    ctx.expect(not missing, f"no usable prediction for {', '.join(missing)}",
               f"each value is one of: {', '.join(SHRINK_CHOICES)}")
    with ctx.chapter.connect() as conn:  # its own session: the temporary table goes with it
        conn.execute(f"SET statement_timeout = {ctx.timeout_ms}")
        actual = measure_shrink(conn)
    wrong = [f"{k}: you said {_choice(saved[k])}, the file got {actual[k]}" for k in SHRINK_CASES
             if _choice(saved[k]) != actual[k]]
    if wrong:
        ctx.fail(f"{len(SHRINK_CASES) - len(wrong)} of {len(SHRINK_CASES)} right; " + "; ".join(wrong),
                 "VACUUM frees space inside the pages for new rows; it can only hand whole empty pages "
                 "at the end of the file back to the operating system")
    return "both predictions match what VACUUM did"


# ---- 11.3 HOT updates ---------------------------------------------------------------------------
def hot_share(conn: psycopg.Connection, statement: str, table: str) -> tuple[int, int]:
    """(rows updated, of which HOT) when ``statement`` runs, in a transaction that is rolled back."""
    counts = "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), pg_stat_get_xact_tuples_hot_updated(%s::regclass)"
    with conn.transaction(force_rollback=True):
        upd0, hot0 = conn.execute(counts, [table, table]).fetchone()
        conn.execute(statement)
        upd1, hot1 = conn.execute(counts, [table, table]).fetchone()
    return upd1 - upd0, hot1 - hot0


@exercise("11.3", "Make the counter updates HOT")
def hot_counters(ctx: CheckContext) -> str:
    """Parts of the task: (1) product_counters still holds its 100,000 rows; (2) product_id lookups still
    use an index (a primary key or unique index on product_id); (3) at least 90% of the row updates of
    COUNTERS_UPDATE are HOT (measured as the learner, in a transaction rolled back)."""
    _require_table(ctx, "product_counters", "COUNTERS_SETUP")
    rows = ctx.value("SELECT count(*) FROM product_counters")
    ctx.expect(rows == COUNTERS_ROWS, f"product_counters holds {rows:,} rows; the set-up made {COUNTERS_ROWS:,}",
               "make room for HOT updates without deleting counters: run the set-up cell again")
    indexes = ctx.indexes("product_counters")
    ctx.expect(any(ix["unique"] and ix["keys"] == ["product_id"] and not ix["predicate"] for ix in indexes),
               "product_counters has no primary key or unique index on product_id any more",
               "keep the primary key: every page view finds its counter by product_id")
    updated, hot = hot_share(ctx.learner, COUNTERS_UPDATE, "public.product_counters")
    share = hot / updated if updated else 0.0
    if share >= HOT_SHARE:
        return f"{hot:,} of {updated:,} row updates were HOT ({share:.0%})"
    blocking = [ix["name"] for ix in indexes if ix["method"] != "brin"
                and any(re.search(rf"\b{col}\b", ix["definition"]) for col in ("views", "last_viewed_at"))]
    if blocking:
        ctx.fail(f"only {hot:,} of {updated:,} row updates were HOT: {', '.join(blocking)} indexes a column the "
                 f"update changes, so every update must add an entry to it",
                 "an update is HOT only when no indexed column changes (BRIN indexes excepted): "
                 "is that index used by any query?")
    fillfactor = ctx.value("SELECT coalesce((SELECT option_value::int FROM pg_options_to_table(reloptions) "
                           "WHERE option_name = 'fillfactor'), 100) FROM pg_class WHERE oid = 'public.product_counters'::regclass")
    ctx.fail(f"only {hot:,} of {updated:,} row updates were HOT: no index is in the way, but the pages have no room "
             f"for the new row versions (fillfactor {fillfactor})",
             "leave free space in every page (ALTER TABLE ... SET (fillfactor = 90)); it applies to pages written "
             "from then on, so rewrite the table (VACUUM FULL product_counters)")


# ---- 11.4 per-table autovacuum ------------------------------------------------------------------
def _options(ctx: CheckContext, table: str) -> dict[str, str]:
    rows = ctx.rows("SELECT option_name, option_value FROM pg_class, pg_options_to_table(reloptions) "
                    "WHERE oid = to_regclass(%s)", [f"public.{table}"])
    return dict(rows)


def _setting(ctx: CheckContext, name: str) -> str:
    return ctx.value("SELECT setting FROM pg_settings WHERE name = %s", [name])


def autovacuum_triggers(options: dict[str, str], settings: dict[str, str], rows: int) -> tuple[float, float]:
    """(dead rows that start an autovacuum, changed rows that start an autoanalyze) for a table of ``rows``
    rows, from its reloptions and the server's settings (PostgreSQL 18 caps the first at
    autovacuum_vacuum_max_threshold; -1 in a table option means "the server's setting")."""
    def get(name: str) -> float:
        value = options.get(name)
        return float(settings[name] if value is None or float(value) == -1 else value)

    vacuum = get("autovacuum_vacuum_threshold") + get("autovacuum_vacuum_scale_factor") * rows
    cap = get("autovacuum_vacuum_max_threshold") if "autovacuum_vacuum_max_threshold" in settings else -1
    if cap >= 0:
        vacuum = min(vacuum, cap)
    analyze = get("autovacuum_analyze_threshold") + get("autovacuum_analyze_scale_factor") * rows
    return vacuum, analyze


AUTOVACUUM_SETTINGS = ("autovacuum_vacuum_threshold", "autovacuum_vacuum_scale_factor",
                       "autovacuum_vacuum_max_threshold", "autovacuum_analyze_threshold",
                       "autovacuum_analyze_scale_factor")


@exercise("11.4", "Autovacuum settings for a hot table")
def counters_autovacuum(ctx: CheckContext) -> str:
    """Parts of the task: (1) autovacuum is on for product_counters (not switched off for the table, and on
    for the server); (2) it vacuums the table once between 500 and 2,000 rows are dead, at 100,000 rows and
    at 1,000,000; (3) it analyzes it once between 500 and 2,000 rows changed, at both sizes. Any combination
    of threshold, scale factor and (PostgreSQL 18) max threshold that does this passes."""
    _require_table(ctx, "product_counters", "COUNTERS_SETUP")
    options = _options(ctx, "product_counters")
    ctx.expect(options.get("autovacuum_enabled", "true").lower() not in ("false", "off", "0", "no"),
               "autovacuum is switched off for product_counters (autovacuum_enabled = false)",
               "a hot table needs autovacuum more, not less: ALTER TABLE product_counters RESET (autovacuum_enabled)")
    ctx.expect(_setting(ctx, "autovacuum") == "on", "autovacuum is off for the whole server",
               "ask the administrator: autovacuum = on in postgresql.conf")
    settings = {name: value for name in AUTOVACUUM_SETTINGS if (value := _setting(ctx, name)) is not None}
    low, high = TRIGGER_RANGE
    for rows in TRIGGER_SIZES:
        vacuum, analyze = autovacuum_triggers(options, settings, rows)
        shown = ", ".join(f"{k} = {v}" for k, v in sorted(options.items()) if k.startswith("autovacuum")) or "none"
        ctx.expect(low <= vacuum <= high,
                   f"at {rows:,} rows autovacuum would vacuum product_counters after {vacuum:,.0f} dead rows "
                   f"(table settings: {shown})",
                   "dead rows that start a vacuum = autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × rows "
                   "(at most autovacuum_vacuum_max_threshold): set them per table with ALTER TABLE ... SET (...)")
        ctx.expect(low <= analyze <= high,
                   f"at {rows:,} rows autovacuum would analyze product_counters after {analyze:,.0f} changed rows "
                   f"(table settings: {shown})",
                   "changed rows that start an analyze = autovacuum_analyze_threshold + "
                   "autovacuum_analyze_scale_factor × rows")
    return "product_counters is vacuumed and analyzed after about 1,000 changed rows, at 100,000 rows and at 1,000,000"


# ---- 11.5 find the sessions idle in a transaction ------------------------------------------------
def _open_idle_in_transaction(ctx: CheckContext, label: str) -> psycopg.Connection:
    """A learner session left idle in a transaction that holds an xid (as a forgotten worker does)."""
    conn = ctx.chapter.connect(autocommit=False)
    conn.execute("SELECT txid_current()")
    conn.execute(f"SELECT 1 AS {label}")
    return conn


def _cell_holds(row: tuple, value: Any) -> bool:
    return any(v == value for v in row)


@exercise("11.5", "Find the sessions idle in a transaction")
def find_idle_in_transaction(ctx: CheckContext) -> str:
    """Parts of the task: the query lists (1) every session of this database that is idle in a transaction;
    (2) no other session (an idle one, the query's own, one in another database); with (3) its pid,
    (4) how long its transaction has been open (an interval, not negative, not counted from another moment
    than a moment ago), (5) the last query it ran; (6) the longest-open
    transaction first. The check opens the sessions itself (two forgotten transactions, one idle session;
    one transaction in the sample database), then runs the query as the learner."""
    answer_sql = ctx.answer().sql
    ctx.expect(answer_sql, "save the query with %%answer 11.5", "the answer cell starts with %%answer 11.5")
    first = _open_idle_in_transaction(ctx, "pgcourse_check_first")
    try:
        second = _open_idle_in_transaction(ctx, "pgcourse_check_second")
        try:
            idle = ctx.chapter.connect()
            try:
                other = ctx.sample_admin
                with other.transaction():
                    other.execute("SELECT txid_current()")
                    columns, rows = ctx.run_answer(answer_sql)
                    other_pid = other.info.backend_pid
                pids = {"first": first.info.backend_pid, "second": second.info.backend_pid}
                return _judge_idle(ctx, columns, rows, pids, idle.info.backend_pid, other_pid)
            finally:
                idle.close()
        finally:
            second.close()
    finally:
        first.close()


def _judge_idle(ctx: CheckContext, columns: list[str], rows: list[tuple], pids: dict[str, int],
                idle_pid: int, other_pid: int) -> str:
    own = ctx.learner.info.backend_pid
    where = {name: next((i for i, row in enumerate(rows) if _cell_holds(row, pid)), None) for name, pid in pids.items()}
    missing = [name for name, i in where.items() if i is None]
    ctx.expect(not missing, f"your query does not list the {' and '.join(missing)} of two sessions the check left "
                            f"idle in a transaction (no column holds their pid)",
               "pg_stat_activity: state = 'idle in transaction', and select pid")
    for pid, what in ((idle_pid, "an idle session (no transaction open)"), (own, "the session running your query"),
                      (other_pid, "a session of another database")):
        ctx.expect(not any(_cell_holds(row, pid) for row in rows), f"your query also lists {what} (pid {pid})",
                   "keep only state = 'idle in transaction' sessions of this database (datname = current_database())")
    first_row, second_row = rows[where["first"]], rows[where["second"]]
    durations = [v for v in first_row if isinstance(v, dt.timedelta)]
    ctx.expect(durations, f"no column says how long the transaction has been open (columns: {', '.join(columns)})",
               "now() - xact_start")
    ctx.expect(any(dt.timedelta(0) <= v <= OPEN_FOR_AT_MOST for v in durations),
               f"your query says the check's transaction, opened a moment ago, has been open for {durations[0]}",
               "how long it has been open is now() - xact_start (age(xact_start) counts from midnight)")
    ctx.expect(any(isinstance(v, str) and "pgcourse_check_first" in v for v in first_row),
               f"no column shows the last query the session ran (columns: {', '.join(columns)})",
               "pg_stat_activity.query holds it")
    ctx.expect(where["first"] < where["second"],
               "the session whose transaction has been open longest is not listed first",
               "ORDER BY xact_start (or the duration DESC)")
    return "your query found both forgotten transactions, longest first, and nothing else of the check's"


# ---- 11.6 end the blocking session, then clean up ------------------------------------------------
@exercise("11.6", "End the forgotten transaction and clean up")
def end_blocker(ctx: CheckContext) -> str:
    """Parts of the task: (1) stuck_cleanup (from the set-up cell) still holds its live rows (10,000 on small); (2) no
    session of this database is left idle in a transaction that holds back cleanup; (3) no dead tuples are
    left in stuck_cleanup (VACUUM after the session was ended)."""
    _require_table(ctx, "stuck_cleanup", "STUCK_SETUP, the worker, then the DELETE")
    live, dead, how = dead_tuples(ctx, "stuck_cleanup")
    kept = ctx.value(STUCK_LIVE_SQL)
    ctx.expect(live == kept, f"stuck_cleanup holds {live:,} live rows; after the set-up's DELETE it had {kept:,}",
               "run the set-up cells of the exercise again, then only end the session and VACUUM")
    holders = _holders(ctx)
    ctx.expect(not holders, f"{len(holders)} session(s) of this database are still idle in a transaction "
                            f"(pid {holders[0][0] if holders else ''}, last query: {holders[0][1] if holders else ''!r})",
               "pg_cancel_backend stops a running query only; an idle transaction ends with pg_terminate_backend(pid)")
    ctx.expect(dead == 0, f"the forgotten transaction is gone, but stuck_cleanup still has {dead:,} dead tuples ({how})",
               "VACUUM stuck_cleanup now; a VACUUM that started before the session was really gone still kept "
               "them (pg_terminate_backend(pid, 5000) waits until it is)")
    return f"the forgotten transaction is ended and stuck_cleanup has no dead tuples ({how})"


# ---- 11.7 unused indexes, the ones you may drop --------------------------------------------------
def _with_probe(ctx: CheckContext, answer_sql: str, reference_sql: str) -> tuple[list[str], list[tuple], list[tuple]]:
    """Run the answer and the reference as the learner after creating the probe table, in one transaction
    rolled back (same statistics snapshot). An error of the answer fails with its first line."""
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        for statement in PROBE_SETUP.split(";\n"):
            conn.execute(statement)
        try:
            with conn.transaction():
                cur = conn.execute(answer_sql)
                if cur.description is None:
                    ctx.fail("your answer returns no rows at all (is it a SELECT?)", "the answer should be a query")
                columns, got = [c.name for c in cur.description], cur.fetchall()
        except psycopg.errors.DivisionByZero as exc:
            ctx.fail(f"your query fails on a table nobody has read yet: {first_line(exc)}",
                     "hits + reads is 0 for such a table: divide by nullif(heap_blks_hit + heap_blks_read, 0)")
        except psycopg.Error as exc:
            ctx.fail(f"your query fails: {first_line(exc)}", "run it in the notebook and fix it first")
        expected = conn.execute(reference_sql).fetchall()
    return columns, got, expected


@exercise("11.7", "Unused indexes you may drop")
def unused_indexes(ctx: CheckContext) -> str:
    """Parts of the task: the query lists (1) every index of this database's tables never scanned since the
    statistics were reset, (2) except those that enforce a rule: unique indexes (primary keys included) and
    indexes of exclusion constraints; with (3) the table, the index and its size in bytes, in that order.
    The check adds a table with an unused plain, unique, primary-key and exclusion index (rolled back)."""
    answer_sql = ctx.answer().sql
    columns, got, expected = _with_probe(ctx, answer_sql, UNUSED_REFERENCE)

    def named(name: str) -> bool:
        return any(_cell_holds(row, name) for row in got)

    ctx.expect(named(f"{PROBE_TABLE}_note_idx"),
               f"your query does not list {PROBE_TABLE}_note_idx, a plain index no query has used "
               "(the check made it, in a transaction it rolls back)",
               "pg_stat_user_indexes: idx_scan = 0 (its columns are relname and indexrelname)")
    for name, what, hint in ((f"{PROBE_TABLE}_pkey", "the primary key", "pg_index.indisunique"),
                             (f"{PROBE_TABLE}_code_key", "a UNIQUE index", "pg_index.indisunique"),
                             (f"{PROBE_TABLE}_no_overlap", "the index of an exclusion constraint", "pg_index.indisexclusion")):
        ctx.expect(not named(name), f"your query lists {name}, {what}: dropping it would drop the rule it enforces",
                   f"leave out indexes that enforce a rule ({hint})")
    compare_rows(got, expected, columns=columns, what="your query",
                 hint="three columns: table name, index name, pg_relation_size(indexrelid) in bytes")
    return f"your query lists the {len(expected)} unused indexes that enforce no rule, and none that do"


# ---- 11.8 cache hit ratio, per table -------------------------------------------------------------
def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else None


def _same_tables(got: list[tuple], reference: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """The answer's rows and the reference's, keyed by the bare table name: a schema-qualified name
    (``public.orders``, ``relid::regclass`` of a table off the search path) counts as the table's name,
    and the course's own tables (schema pgcourse) may be listed or left out."""
    qualified = {f"{schema}.{name}": name for schema, name, *_ in reference}
    course = {name for schema, name, *_ in reference if schema == COURSE_SCHEMA}
    expected = [tuple(row[1:]) for row in reference if row[0] != COURSE_SCHEMA]
    named = [(qualified.get(row[0], row[0]), *row[1:]) if row and isinstance(row[0], str) else row for row in got]
    return [row for row in named if not (row and row[0] in course)], expected


@exercise("11.8", "Cache hit ratio per table, without dividing by zero")
def cache_hit_ratio(ctx: CheckContext) -> str:
    """Parts of the task: one row per table of this database with (1) its name, (2) heap blocks found in
    shared buffers, (3) heap blocks read from outside, (4) the hit ratio hits / (hits + reads) as a fraction
    between 0 and 1 (within 0.0005), NULL for a table never read, without an error. The check adds a table
    nobody has read (rolled back). The name may be schema-qualified; the course's own table of saved
    answers (schema pgcourse) may be listed or not."""
    answer_sql = ctx.answer().sql
    columns, got, reference = _with_probe(ctx, answer_sql, CACHE_REFERENCE)
    got, expected = _same_tables(got, reference)
    ctx.expect(got and len(got[0]) == 4, f"your query returns {len(got[0]) if got else 0} columns; expected 4 "
                                          f"(table, hits, reads, ratio)", "SELECT relname, heap_blks_hit, heap_blks_read, ...")
    compare_rows([r[:3] for r in got], [r[:3] for r in expected], columns=columns, what="your query",
                 hint="pg_statio_user_tables: relname, heap_blks_hit, heap_blks_read")
    ratios = {r[0]: r[3] for r in got}
    for name, _, _, want in expected:
        have = ratios.get(name)
        if want is None:
            ctx.expect(have is None, f"for {name}, a table nobody has read, your ratio is {have}; expected NULL",
                       "no reads and no hits: there is no ratio (nullif(..., 0) gives NULL)")
            continue
        number = _number(have)
        ctx.expect(number is not None, f"for {name} your ratio is {have!r}; expected {float(want):.4f}",
                   "hits / (hits + reads)")
        if abs(number - float(want)) > 0.0005:
            hint = ("heap_blks_hit and heap_blks_read are bigint: integer division rounds down to 0 or 1; "
                    "cast one side to numeric" if number in (0, 1) else
                    "a fraction between 0 and 1, not a percentage" if number > 1 else "hits / (hits + reads)")
            ctx.fail(f"for {name} your ratio is {number:.4f}; expected {float(want):.4f}", hint)
    return f"hit ratios right for all {len(expected)} tables, NULL where nothing was read"
