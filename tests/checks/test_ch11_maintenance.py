"""Chapter 11 checks, both ways, on the tiny dataset: right answers written differently pass, typical
wrong answers fail with the reason the learner needs.

Each test gets a fresh chapter database. Statements run as the learner, each connection sending its
statistics before it is closed (``pg_stat_force_next_flush()``, then one more statement), so a check
never reads counters that are still on their way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.checks import ch11_maintenance as C
from tests.checks.helpers import check_answer, fails, passes

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "11_maintenance.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("11", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def _statements(text: str) -> list[str]:
    return [s for s in text.split(";\n") if s.strip()]


def _sql(ch, *statements: str) -> None:
    """Run statements as the learner (autocommit, as the notebook's cells do); send the statistics."""
    with ch.connect() as conn:
        for statement in statements:
            for part in _statements(statement):
                conn.execute(part)
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT 1")  # the flush happens before the server reads this one


# ---- the notebook shows the same SQL the checks use --------------------------------------------------
def _solution_sources() -> str:
    nb = json.loads(SOLUTION.read_text())
    return "\n".join("".join(cell["source"]) for cell in nb["cells"])


@pytest.mark.parametrize("text", [C.AUDIT_SETUP, C.SHRINK_SETUP, *C.SHRINK_CASES.values(), C.COUNTERS_SETUP,
                                  C.COUNTERS_UPDATE, C.STUCK_SETUP, C.WORKER_SQL, C.STUCK_DELETE])
def test_the_notebook_shows_the_sql_the_checks_use(text):
    assert text in _solution_sources()


# ---- the chapter's built-in roles work (the learner role is NOINHERIT: they are granted WITH INHERIT) ----
def test_the_learner_uses_pg_monitor_and_pg_read_all_stats_without_set_role(ch):
    with ch.connect() as conn:
        assert conn.execute("SELECT pg_has_role(current_user, 'pg_monitor', 'USAGE')").fetchone()[0]
        assert conn.execute("SHOW shared_preload_libraries").fetchone()  # pg_read_all_settings, through pg_monitor
        with ch.server.connect(ch.database) as other:  # another role's session: its query text is visible
            other.execute("SELECT 'pgcourse test' AS marker")
            seen = conn.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [other.info.backend_pid]).fetchone()
        assert seen and "pgcourse test" in seen[0]


# ---- 11.1 dead tuples brought down ----------------------------------------------------------------
def test_11_1_without_the_set_up_says_run_it(ch):
    fails(ch, "11.1", "no table order_audit", "set-up cell")


def test_11_1_set_up_only_fails_on_the_dead_tuples(ch):
    _sql(ch, C.AUDIT_SETUP)
    fails(ch, "11.1", "10,000 dead tuples", "VACUUM order_audit")


def test_11_1_vacuum_without_analyze_fails_on_the_statistics(ch):
    _sql(ch, C.AUDIT_SETUP, "VACUUM order_audit")
    fails(ch, "11.1", "statistics were never gathered", "ANALYZE order_audit")


@pytest.mark.parametrize("statements", [
    ("VACUUM ANALYZE order_audit",),
    ("VACUUM (ANALYZE, VERBOSE) order_audit",),
    ("ANALYZE order_audit", "VACUUM order_audit"),
    ("VACUUM FULL order_audit", "ANALYZE order_audit"),
])
def test_11_1_vacuum_and_analyze_in_any_form_pass(ch, statements):
    _sql(ch, C.AUDIT_SETUP, *statements)
    passes(ch, "11.1")


def test_11_1_deleting_rows_fails(ch):
    _sql(ch, C.AUDIT_SETUP, "DELETE FROM order_audit WHERE id > 5000", "VACUUM ANALYZE order_audit")
    fails(ch, "11.1", "5,000 live rows", "without deleting rows")


def test_11_1_without_pgstattuple_reads_the_statistics(ch, monkeypatch):
    monkeypatch.setattr(C, "has_extension", lambda name, conn=None: False)
    _sql(ch, C.AUDIT_SETUP)
    fails(ch, "11.1", "dead tuples (n_dead_tup)")
    _sql(ch, "VACUUM ANALYZE order_audit")
    result = check_answer(ch, "11.1")
    assert result.passed and "n_dead_tup" in result.message, result.line()


# ---- 11.2 predict: does VACUUM give the space back? ------------------------------------------------
@pytest.mark.parametrize("value", [{"a": "same", "b": "smaller"}, {"a": " Same", "b": "SMALLER "}])
def test_11_2_right_predictions_pass(ch, value):
    passes(ch, "11.2", value=value)


def test_11_2_a_wrong_prediction_fails_naming_it(ch):
    fails(ch, "11.2", "1 of 2 right", "a: you said smaller, the file got same", "end of the file",
           value={"a": "smaller", "b": "smaller"})


def test_11_2_both_wrong_fails(ch):
    fails(ch, "11.2", "0 of 2 right", value={"a": "smaller", "b": "same"})


def test_11_2_an_unknown_word_fails(ch):
    fails(ch, "11.2", "no usable prediction for b", "same, smaller", value={"a": "same", "b": "bigger"})


def test_11_2_not_a_dict_fails(ch):
    fails(ch, "11.2", "as a dict", value="smaller")


def test_11_2_nothing_saved_fails(ch):
    fails(ch, "11.2", "no answer saved")


def test_11_2_measures_on_a_temporary_table_and_leaves_the_learners_alone(ch):
    _sql(ch, C.SHRINK_SETUP)
    passes(ch, "11.2", value={"a": "same", "b": "smaller"})
    with ch.connect() as conn:
        assert conn.execute("SELECT count(*) FROM shrink_demo").fetchone()[0] == 20000


# ---- 11.3 HOT updates -----------------------------------------------------------------------------
def test_11_3_set_up_only_fails_naming_the_index(ch):
    _sql(ch, C.COUNTERS_SETUP)
    fails(ch, "11.3", "product_counters_last_viewed_at_idx", "no indexed column changes")


def test_11_3_dropping_the_index_only_fails_on_room(ch):
    _sql(ch, C.COUNTERS_SETUP, "DROP INDEX product_counters_last_viewed_at_idx")
    fails(ch, "11.3", "no room", "fillfactor 100", "VACUUM FULL")


def test_11_3_fillfactor_without_a_rewrite_fails_on_room(ch):
    _sql(ch, C.COUNTERS_SETUP, "DROP INDEX product_counters_last_viewed_at_idx",
         "ALTER TABLE product_counters SET (fillfactor = 90)")
    fails(ch, "11.3", "no room", "fillfactor 90", "rewrite the table")


def test_11_3_fillfactor_with_the_index_kept_fails_naming_it(ch):
    _sql(ch, C.COUNTERS_SETUP, "ALTER TABLE product_counters SET (fillfactor = 80)", "VACUUM FULL product_counters")
    fails(ch, "11.3", "product_counters_last_viewed_at_idx")


@pytest.mark.parametrize("statements", [
    ("DROP INDEX product_counters_last_viewed_at_idx", "ALTER TABLE product_counters SET (fillfactor = 90)",
     "VACUUM FULL product_counters"),
    # a BRIN index does not prevent HOT (PostgreSQL 16+); CLUSTER rewrites the table too
    ("DROP INDEX product_counters_last_viewed_at_idx",
     "CREATE INDEX product_counters_last_viewed_brin ON product_counters USING brin (last_viewed_at)",
     "ALTER TABLE product_counters SET (fillfactor = 70)", "CLUSTER product_counters USING product_counters_pkey"),
])
def test_11_3_room_and_no_blocking_index_pass(ch, statements):
    _sql(ch, C.COUNTERS_SETUP, *statements)
    passes(ch, "11.3")


def test_11_3_dropping_the_primary_key_fails(ch):
    _sql(ch, C.COUNTERS_SETUP, "DROP INDEX product_counters_last_viewed_at_idx",
         "ALTER TABLE product_counters DROP CONSTRAINT product_counters_pkey",
         "ALTER TABLE product_counters SET (fillfactor = 90)", "VACUUM FULL product_counters")
    fails(ch, "11.3", "no primary key or unique index on product_id")


def test_11_3_deleting_counters_fails(ch):
    _sql(ch, C.COUNTERS_SETUP, "DELETE FROM product_counters WHERE product_id % 2 = 1")
    fails(ch, "11.3", "50,000 rows", "without deleting counters")


def test_11_3_the_check_leaves_the_counters_unchanged(ch):
    _sql(ch, C.COUNTERS_SETUP)
    check_answer(ch, "11.3")
    with ch.connect() as conn:
        assert conn.execute("SELECT sum(views) FROM product_counters").fetchone()[0] == 0


# ---- 11.4 per-table autovacuum --------------------------------------------------------------------
def test_11_4_set_up_only_fails_with_the_server_defaults(ch):
    _sql(ch, C.COUNTERS_SETUP)
    fails(ch, "11.4", "after 20,050 dead rows", "autovacuum_vacuum_scale_factor")


@pytest.mark.parametrize("options", [
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, "
    "autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000",
    # PostgreSQL 18's cap, and an analyze threshold of its own
    "autovacuum_vacuum_max_threshold = 1000, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1500",
    "autovacuum_vacuum_scale_factor = 0.0001, autovacuum_vacuum_threshold = 600, "
    "autovacuum_analyze_scale_factor = 0.0005, autovacuum_analyze_threshold = 500, autovacuum_enabled = on",
])
def test_11_4_triggers_in_range_at_both_sizes_pass(ch, options):
    _sql(ch, C.COUNTERS_SETUP, f"ALTER TABLE product_counters SET ({options})")
    passes(ch, "11.4")


def test_11_4_a_scale_factor_that_grows_with_the_table_fails_at_the_larger_size(ch):
    _sql(ch, C.COUNTERS_SETUP, "ALTER TABLE product_counters SET (autovacuum_vacuum_scale_factor = 0.01, "
         "autovacuum_vacuum_threshold = 500, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000)")
    fails(ch, "11.4", "at 1,000,000 rows", "after 10,500 dead rows")


def test_11_4_vacuum_only_fails_on_analyze(ch):
    _sql(ch, C.COUNTERS_SETUP,
         "ALTER TABLE product_counters SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)")
    fails(ch, "11.4", "analyze product_counters after 10,050 changed rows")


def test_11_4_a_threshold_too_low_fails(ch):
    _sql(ch, C.COUNTERS_SETUP, "ALTER TABLE product_counters SET (autovacuum_vacuum_scale_factor = 0, "
         "autovacuum_vacuum_threshold = 50, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 50)")
    fails(ch, "11.4", "after 50 dead rows")


def test_11_4_autovacuum_switched_off_fails(ch):
    _sql(ch, C.COUNTERS_SETUP, "ALTER TABLE product_counters SET (autovacuum_enabled = false, "
         "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)")
    fails(ch, "11.4", "switched off for product_counters", "RESET (autovacuum_enabled)")


def test_11_4_trigger_formula():
    settings = {"autovacuum_vacuum_threshold": "50", "autovacuum_vacuum_scale_factor": "0.2",
                "autovacuum_vacuum_max_threshold": "100000000", "autovacuum_analyze_threshold": "50",
                "autovacuum_analyze_scale_factor": "0.1"}
    assert C.autovacuum_triggers({}, settings, 100_000) == (20_050, 10_050)
    assert C.autovacuum_triggers({"autovacuum_vacuum_max_threshold": "1000"}, settings, 100_000)[0] == 1000
    assert C.autovacuum_triggers({"autovacuum_vacuum_threshold": "-1"}, settings, 0)[0] == 50


# ---- 11.5 find the sessions idle in a transaction -------------------------------------------------
SOLUTION_11_5 = """SELECT pid, usename, now() - xact_start AS open_for, state, query
FROM pg_stat_activity
WHERE datname = current_database() AND state IN ('idle in transaction', 'idle in transaction (aborted)')
ORDER BY xact_start"""


@pytest.mark.parametrize("answer", [
    SOLUTION_11_5,
    """SELECT query, age(now(), xact_start) AS how_long, pid FROM pg_stat_activity
       WHERE state LIKE 'idle in transaction%' AND datid = (SELECT oid FROM pg_database WHERE datname = current_database())
       ORDER BY 2 DESC""",
    """SELECT a.pid, clock_timestamp() - a.xact_start, a.query
       FROM pg_stat_activity AS a JOIN pg_database AS d ON d.oid = a.datid
       WHERE d.datname = current_database() AND a.state = 'idle in transaction' ORDER BY a.xact_start ASC""",
])
def test_11_5_right_queries_pass(ch, answer):
    passes(ch, "11.5", sql=answer)


def test_11_5_the_guides_activity_query_fails(ch):
    fails(ch, "11.5", "the session running your query", sql="""SELECT pid, usename, application_name, client_addr,
        state, query, query_start, state_change FROM pg_stat_activity WHERE state != 'idle' ORDER BY query_start""")


def test_11_5_every_database_fails(ch):
    fails(ch, "11.5", "a session of another database", "current_database()",
           sql=SOLUTION_11_5.replace("datname = current_database() AND ", ""))


def test_11_5_not_active_lists_idle_sessions_and_fails(ch):
    fails(ch, "11.5", "an idle session", sql=SOLUTION_11_5.replace(
        "state IN ('idle in transaction', 'idle in transaction (aborted)')", "state <> 'active'"))


def test_11_5_newest_first_fails(ch):
    fails(ch, "11.5", "not listed first", "ORDER BY xact_start",
           sql=SOLUTION_11_5.replace("ORDER BY xact_start", "ORDER BY xact_start DESC"))


def test_11_5_without_the_duration_fails(ch):
    fails(ch, "11.5", "how long the transaction has been open", "now() - xact_start",
           sql=SOLUTION_11_5.replace("now() - xact_start AS open_for", "xact_start"))


def test_11_5_without_the_last_query_fails(ch):
    fails(ch, "11.5", "last query", sql=SOLUTION_11_5.replace(", state, query", ", state"))


def test_11_5_without_the_pid_fails(ch):
    fails(ch, "11.5", "does not list the first and second", sql=SOLUTION_11_5.replace("SELECT pid,", "SELECT"))


def test_11_5_nothing_saved_fails(ch):
    fails(ch, "11.5", "no answer saved")


# ---- 11.6 end the forgotten transaction, then clean up ---------------------------------------------
@pytest.fixture
def stuck(ch):
    """The exercise's set-up: the table, a worker left idle in its transaction, the DELETE and a VACUUM."""
    _sql(ch, C.STUCK_SETUP)
    worker = ch.connect(autocommit=False)
    worker.execute(C.WORKER_SQL)
    _sql(ch, C.STUCK_DELETE, "VACUUM stuck_cleanup")
    yield worker
    worker.close()


TERMINATE = ("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
             "WHERE datname = current_database() AND state = 'idle in transaction'")


def test_11_6_without_the_set_up_says_run_it(ch):
    fails(ch, "11.6", "no table stuck_cleanup", "set-up cell")


def test_11_6_set_up_fails_naming_the_open_transaction(ch, stuck):
    fails(ch, "11.6", "still idle in a transaction", "UPDATE job_queue", "pg_terminate_backend")


def test_11_6_cancel_does_not_end_it(ch, stuck):
    _sql(ch, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND state = 'idle in transaction'", "VACUUM stuck_cleanup")
    fails(ch, "11.6", "still idle in a transaction", "pg_cancel_backend stops a running query only")


def test_11_6_ended_but_not_vacuumed_fails(ch, stuck):
    _sql(ch, TERMINATE)
    fails(ch, "11.6", "still has 5,000 dead tuples", "VACUUM stuck_cleanup")


@pytest.mark.parametrize("ending", ["terminate", "the worker rolls back"])
def test_11_6_ended_then_vacuumed_passes(ch, stuck, ending):
    if ending == "terminate":
        _sql(ch, TERMINATE)
    else:
        stuck.rollback()
    _sql(ch, "VACUUM stuck_cleanup")
    passes(ch, "11.6")


def test_11_6_deleting_the_rest_fails(ch, stuck):
    _sql(ch, TERMINATE, "DELETE FROM stuck_cleanup", "VACUUM stuck_cleanup")
    fails(ch, "11.6", "0 live rows")


# ---- 11.7 unused indexes you may drop -------------------------------------------------------------
SOLUTION_11_7 = """SELECT s.relname, s.indexrelname, pg_relation_size(s.indexrelid) AS size_bytes
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisexclusion
ORDER BY pg_relation_size(s.indexrelid) DESC"""


@pytest.fixture
def used_index(ch):
    """A plain index that a query has used (its idx_scan is 1): no right answer lists it."""
    _sql(ch, "CREATE INDEX orders_status_idx ON orders (status)",
         "SET enable_seqscan = off", "SELECT count(*) FROM orders WHERE status = 'pending'")
    with ch.connect() as conn:
        assert conn.execute("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'orders_status_idx'"
                            ).fetchone()[0] > 0


@pytest.mark.parametrize("answer", [
    SOLUTION_11_7,
    """SELECT relname AS tablename, indexrelname AS indexname, pg_relation_size(indexrelid)
       FROM pg_stat_all_indexes
       WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname !~ '^pg_toast' AND idx_scan = 0
         AND indexrelid NOT IN (SELECT indexrelid FROM pg_index WHERE indisunique OR indisexclusion)""",
    """SELECT t.relname, c.relname, pg_relation_size(c.oid)
       FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
       WHERE coalesce(s.idx_scan, 0) = 0 AND NOT (x.indisunique OR x.indisprimary OR x.indisexclusion)""",
])
def test_11_7_right_queries_pass(ch, used_index, answer):
    passes(ch, "11.7", sql=answer)


def test_11_7_the_guides_column_names_fail(ch):
    fails(ch, "11.7", 'column "tablename" does not exist', sql="""SELECT schemaname, tablename, indexname, idx_scan
        FROM pg_stat_user_indexes WHERE idx_scan = 0""")


def test_11_7_unique_indexes_listed_fail(ch):
    fails(ch, "11.7", "pgcourse_probe_pkey, the primary key", "indisunique", sql="""SELECT relname, indexrelname,
        pg_relation_size(indexrelid) FROM pg_stat_user_indexes WHERE idx_scan = 0""")


def test_11_7_leaving_out_constraints_only_misses_unique_indexes(ch):
    fails(ch, "11.7", "pgcourse_probe_code_key, a UNIQUE index", sql="""SELECT s.relname, s.indexrelname,
        pg_relation_size(s.indexrelid) FROM pg_stat_user_indexes s WHERE s.idx_scan = 0
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
        AND s.indexrelname NOT LIKE '%no_overlap'""")


def test_11_7_exclusion_indexes_listed_fail(ch):
    fails(ch, "11.7", "pgcourse_probe_no_overlap, the index of an exclusion constraint", "indisexclusion",
           sql=SOLUTION_11_7.replace(" AND NOT i.indisexclusion", ""))


def test_11_7_used_indexes_listed_fail(ch, used_index):
    fails(ch, "11.7", "orders_status_idx", sql=SOLUTION_11_7.replace("s.idx_scan = 0 AND ", ""))


def test_11_7_pretty_sizes_fail(ch):
    fails(ch, "11.7", "in bytes",
           sql=SOLUTION_11_7.replace("pg_relation_size(s.indexrelid) AS size_bytes",
                                     "pg_size_pretty(pg_relation_size(s.indexrelid))"))


def test_11_7_a_missing_column_fails(ch):
    fails(ch, "11.7", "returns 2 columns; expected 3",
           sql=SOLUTION_11_7.replace(", pg_relation_size(s.indexrelid) AS size_bytes", ""))


# ---- 11.8 cache hit ratio, per table --------------------------------------------------------------
SOLUTION_11_8 = """SELECT relname, heap_blks_hit, heap_blks_read,
       heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0) AS hit_ratio
FROM pg_statio_user_tables
ORDER BY heap_blks_read DESC"""


@pytest.fixture
def read_twice(ch):
    """orders read (a tiny clone is made through shared buffers, so these are hits), other tables never."""
    _sql(ch, "SELECT sum(total_amount) FROM orders", "SELECT sum(total_amount) FROM orders")


@pytest.fixture
def mixed(make_chapter):
    """A chapter on small (cloned file by file, so nothing is in shared buffers yet): users read from
    outside once, then found in shared buffers: a ratio strictly between 0 and 1."""
    chapter = make_chapter("11")
    _sql(chapter, "SELECT sum(id) FROM users", "SELECT sum(id) FROM users")
    with chapter.connect() as conn:
        hit, read = conn.execute("SELECT heap_blks_hit, heap_blks_read FROM pg_statio_user_tables "
                                 "WHERE relname = 'users'").fetchone()
    assert hit > 0 and read > 0
    return chapter


@pytest.mark.parametrize("answer", [
    SOLUTION_11_8,
    """SELECT relname, heap_blks_hit, heap_blks_read,
              round(heap_blks_hit / nullif(heap_blks_hit + heap_blks_read, 0)::numeric, 4) FROM pg_statio_user_tables""",
    """SELECT relname, heap_blks_hit AS hits, heap_blks_read AS reads,
              CASE WHEN heap_blks_hit + heap_blks_read > 0
                   THEN heap_blks_hit::float8 / (heap_blks_hit + heap_blks_read) END FROM pg_statio_user_tables""",
])
def test_11_8_right_queries_pass(ch, read_twice, answer):
    passes(ch, "11.8", sql=answer)


def test_11_8_the_guides_division_fails_on_a_table_never_read(ch, read_twice):
    fails(ch, "11.8", "division by zero", "nullif", sql="""SELECT relname, heap_blks_hit, heap_blks_read,
        heap_blks_hit::numeric / (heap_blks_hit + heap_blks_read) FROM pg_statio_user_tables""")


def test_11_8_integer_division_fails(mixed):
    fails(mixed, "11.8", "for users your ratio is 0.0000", "integer division",
           sql=SOLUTION_11_8.replace("heap_blks_hit::numeric /", "heap_blks_hit /"))


def test_11_8_a_percentage_fails(ch, read_twice):
    fails(ch, "11.8", "not a percentage", sql=SOLUTION_11_8.replace("heap_blks_hit::numeric /", "100 * heap_blks_hit::numeric /"))


def test_11_8_zero_instead_of_null_fails(ch, read_twice):
    fails(ch, "11.8", "expected NULL", sql=SOLUTION_11_8.replace(
        "heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0)",
        "coalesce(heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0), 0)"))


def test_11_8_hits_and_reads_swapped_fail(ch, read_twice):
    _sql(ch, "SELECT sum(total_amount) FROM orders")  # a third read: orders' hits now differ from its reads
    fails(ch, "11.8", "pg_statio_user_tables", sql="""SELECT relname, heap_blks_read, heap_blks_hit,
        heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0) FROM pg_statio_user_tables""")


def test_11_8_three_columns_fail(ch):
    fails(ch, "11.8", "returns 3 columns; expected 4", sql="SELECT relname, heap_blks_hit, heap_blks_read FROM pg_statio_user_tables")


# ---- the audit's answers in other shapes (issue 14) ------------------------------------------------------
@pytest.mark.parametrize("answer", [
    """select PID, clock_timestamp() - XACT_START as open_for, QUERY  -- the forgotten ones
       from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'
       order by open_for desc;""",
    """WITH open_tx AS (SELECT pid, xact_start, query, state FROM pg_stat_activity
                        WHERE datname = current_database())
       SELECT pid, now() - xact_start, query FROM open_tx WHERE state = 'idle in transaction'
       ORDER BY 2 DESC""",
])
def test_11_5_a_cte_lower_case_and_a_trailing_semicolon_pass(ch, answer):
    passes(ch, "11.5", sql=answer)


@pytest.mark.parametrize("duration", ["age(xact_start)", "xact_start - now()"])
def test_11_5_a_duration_counted_from_another_moment_fails(ch, duration):
    fails(ch, "11.5", "opened a moment ago", "now() - xact_start",
          sql=SOLUTION_11_5.replace("now() - xact_start AS open_for", f"{duration} AS open_for"))


@pytest.mark.parametrize("answer", [
    # never scanned as PostgreSQL 16+'s last_idx_scan says it, a CTE, only the public schema
    """with never as (select indexrelid, relname, indexrelname from pg_stat_user_indexes
                     where last_idx_scan is null and schemaname = 'public')
       select n.relname, n.indexrelname, pg_relation_size(n.indexrelid)
       from never n where not exists (select 1 from pg_index i where i.indexrelid = n.indexrelid
                                     and (i.indisunique or i.indisexclusion));""",
    """SELECT s.indrelid::regclass::text AS "table", s.indexrelid::regclass::text AS "index",
              pg_relation_size(s.indexrelid) AS bytes
       FROM pg_index s JOIN pg_stat_user_indexes u USING (indexrelid)
       WHERE u.idx_scan = 0 AND NOT s.indisunique AND NOT s.indisexclusion ORDER BY 1, 2""",
])
def test_11_7_last_idx_scan_a_cte_and_regclass_names_pass(ch, answer):
    passes(ch, "11.7", sql=answer)


def test_11_7_leaving_out_primary_keys_only_lists_the_unique_index_and_fails(ch):
    fails(ch, "11.7", "pgcourse_probe_code_key, a UNIQUE index",
          sql=SOLUTION_11_7.replace("NOT i.indisunique", "NOT i.indisprimary"))


@pytest.mark.parametrize("answer", [
    # a schema-qualified name, and the course's own table of answers left out
    """SELECT schemaname || '.' || relname AS "table", heap_blks_hit, heap_blks_read,
              heap_blks_hit / nullif(heap_blks_hit + heap_blks_read, 0)::numeric AS ratio
       FROM pg_statio_user_tables WHERE schemaname = 'public';""",
    """SELECT relid::regclass AS t, heap_blks_hit, heap_blks_read,
              CAST(heap_blks_hit AS double precision) / NULLIF(heap_blks_hit + heap_blks_read, 0)
       FROM pg_statio_all_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')""",
])
def test_11_8_qualified_names_and_the_public_schema_only_pass(ch, read_twice, answer):
    passes(ch, "11.8", sql=answer)


def test_11_8_every_schema_of_the_server_fails(ch, read_twice):
    fails(ch, "11.8", "not expected", sql=SOLUTION_11_8.replace("pg_statio_user_tables", "pg_statio_all_tables"))
