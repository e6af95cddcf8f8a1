"""Chapter 09 checks, both ways, on the tiny dataset: correct layouts written differently pass, typical
wrong ones (a gap, a default partition, the guide's half of the hash remainders, a DELETE instead of a
dropped partition...) fail with the reason the learner needs.

Each test gets a fresh chapter database (``make_chapter``). The checks read the partition catalog,
plans (which partitions are scanned, "Subplans Removed") and row counts, none of which depends on the
dataset's size.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.checks import ch09_partitioning as C
from tests.checks.helpers import fails, passes

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "09_partitioning.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("09", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


@pytest.fixture
def ev(ch):
    """A chapter database with the notebook's set-up table ev (six months) and ev_plain."""
    _sql(ch, C.EV_SETUP)
    return ch


def _sql(ch, *scripts: str) -> None:
    """Run SQL as the learner, one statement at a time outside a transaction (as the notebook's cells do)."""
    with ch.connect(autocommit=True) as conn:
        for script in scripts:
            for statement in script.split(";\n"):
                if statement.strip():
                    conn.execute(statement)


def _quarters(table: str = "orders_2025", *, skip: tuple[int, ...] = ()) -> str:
    starts = C.QUARTER_STARTS + ["2026-01-01"]
    parts = [f"CREATE TABLE {table}_q{i + 1} PARTITION OF {table} FOR VALUES FROM ('{starts[i]}') TO ('{starts[i + 1]}')"
             for i in range(4) if i + 1 not in skip]
    return f"CREATE TABLE {table} (LIKE orders) PARTITION BY RANGE (created_at);\n" + ";\n".join(parts)


LOAD_2025 = "INSERT INTO orders_2025 SELECT * FROM orders WHERE created_at >= '2025-01-01' AND created_at < '2026-01-01'"


# ---- the notebook shows the same SQL the checks use --------------------------------------------------
def _solution_sources() -> str:
    nb = json.loads(SOLUTION.read_text())
    return "\n".join("".join(cell["source"]) for cell in nb["cells"])


@pytest.mark.parametrize("text", [C.EV_SETUP, C.DAY_QUERY_SLOW, C.USER_QUERY, *C.PRUNING_QUERIES.values()])
def test_the_notebook_shows_the_sql_the_checks_use(text):
    assert text in _solution_sources()


# ---- 9.1 quarters: the catalog -----------------------------------------------------------------------
def test_9_1_the_four_quarters_pass(ch):
    _sql(ch, _quarters())
    passes(ch, "9.1")


def test_9_1_other_names_spellings_attach_an_extra_year_and_a_default_pass(ch):
    _sql(ch, """CREATE TABLE orders_2025 (LIKE orders INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
CREATE TABLE before_2025 PARTITION OF orders_2025 FOR VALUES FROM (MINVALUE) TO ('2025-01-01 00:00:00+00');
CREATE TABLE "Winter" PARTITION OF orders_2025 FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2025-04-01 00:00:00+00');
CREATE TABLE spring (LIKE orders);
ALTER TABLE orders_2025 ATTACH PARTITION spring FOR VALUES FROM ('2025-04-01') TO ('2025-07-01');
CREATE TABLE summer PARTITION OF orders_2025 FOR VALUES FROM ('2025-07-01 02:00:00+02') TO ('2025-10-01');
CREATE TABLE autumn PARTITION OF orders_2025 FOR VALUES FROM ('2025-10-01') TO (timestamptz '2026-01-01');
CREATE TABLE later PARTITION OF orders_2025 DEFAULT""")
    passes(ch, "9.1")


def test_9_1_a_quarter_sub_partitioned_by_month_passes(ch):
    _sql(ch, """CREATE TABLE orders_2025 (LIKE orders) PARTITION BY RANGE (created_at);
CREATE TABLE q1 PARTITION OF orders_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-04-01') PARTITION BY RANGE (created_at);
CREATE TABLE q1_jan PARTITION OF q1 FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE q1_rest PARTITION OF q1 FOR VALUES FROM ('2025-02-01') TO ('2025-04-01');
CREATE TABLE q2 PARTITION OF orders_2025 FOR VALUES FROM ('2025-04-01') TO ('2025-07-01');
CREATE TABLE q3 PARTITION OF orders_2025 FOR VALUES FROM ('2025-07-01') TO ('2025-10-01');
CREATE TABLE q4 PARTITION OF orders_2025 FOR VALUES FROM ('2025-10-01') TO ('2026-01-01')""")
    passes(ch, "9.1")


def test_9_1_a_year_sub_partitioned_by_quarter_passes(ch):
    _sql(ch, "CREATE TABLE orders_2025 (LIKE orders) PARTITION BY RANGE (created_at)",
         "CREATE TABLE y2025 PARTITION OF orders_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') "
         "PARTITION BY RANGE (created_at)",
         _quarters("y2025").split(";\n", 1)[1])
    passes(ch, "9.1")


def test_9_1_open_ended_first_and_last_quarters_fail(ch):
    _sql(ch, _quarters(skip=(1, 4)),
         "CREATE TABLE q1 PARTITION OF orders_2025 FOR VALUES FROM (MINVALUE) TO ('2025-04-01')",
         "CREATE TABLE q4 PARTITION OF orders_2025 FOR VALUES FROM ('2025-10-01') TO (MAXVALUE)")
    fails(ch, "9.1", "q1 holds MINVALUE to 2025-04-01", "not one quarter")


def test_9_1_nothing_done_fails(ch):
    fails(ch, "9.1", "no table orders_2025", "PARTITION BY RANGE (created_at)")


def test_9_1_a_plain_table_fails(ch):
    _sql(ch, "CREATE TABLE orders_2025 AS SELECT * FROM orders WHERE created_at >= '2025-01-01'")
    fails(ch, "9.1", "plain table", "PARTITION BY RANGE")


def test_9_1_partitioned_by_list_fails(ch):
    _sql(ch, "CREATE TABLE orders_2025 (LIKE orders) PARTITION BY LIST (status)")
    fails(ch, "9.1", "partitioned by LIST, not by RANGE")


def test_9_1_partitioned_on_another_column_fails(ch):
    _sql(ch, "CREATE TABLE orders_2025 (LIKE orders) PARTITION BY RANGE (updated_at)")
    fails(ch, "9.1", "on updated_at, not on created_at")


def test_9_1_a_missing_quarter_is_a_gap(ch):
    _sql(ch, _quarters(skip=(3,)))
    fails(ch, "9.1", "2025-07-01 to 2025-10-01", "gap")


def test_9_1_a_missing_quarter_with_a_default_is_still_not_a_quarter(ch):
    _sql(ch, _quarters(skip=(4,)), "CREATE TABLE orders_2025_rest PARTITION OF orders_2025 DEFAULT")
    fails(ch, "9.1", "2025-10-01 to 2026-01-01")


def test_9_1_half_years_fail(ch):
    _sql(ch, """CREATE TABLE orders_2025 (LIKE orders) PARTITION BY RANGE (created_at);
CREATE TABLE h1 PARTITION OF orders_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
CREATE TABLE h2 PARTITION OF orders_2025 FOR VALUES FROM ('2025-07-01') TO ('2026-01-01')""")
    fails(ch, "9.1", "h1 holds 2025-01-01 to 2025-07-01", "one partition per quarter")


def test_9_1_months_fail(ch):
    months = [f"2025-{m:02d}-01" for m in range(1, 13)] + ["2026-01-01"]
    _sql(ch, "CREATE TABLE orders_2025 (LIKE orders) PARTITION BY RANGE (created_at);\n" + ";\n".join(
        f"CREATE TABLE m{i} PARTITION OF orders_2025 FOR VALUES FROM ('{months[i]}') TO ('{months[i + 1]}')"
        for i in range(12)))
    fails(ch, "9.1", "not one quarter")


def test_9_1_a_quarter_ending_a_day_early_leaves_a_gap(ch):
    _sql(ch, _quarters(skip=(2,)),
         "CREATE TABLE q2 PARTITION OF orders_2025 FOR VALUES FROM ('2025-04-01') TO ('2025-06-30')")
    fails(ch, "9.1", "q2 holds 2025-04-01 to 2025-06-30")


def test_9_1_missing_columns_fail(ch):
    _sql(ch, """CREATE TABLE orders_2025 (id bigint, created_at timestamptz) PARTITION BY RANGE (created_at);
CREATE TABLE q1 PARTITION OF orders_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-04-01');
CREATE TABLE q2 PARTITION OF orders_2025 FOR VALUES FROM ('2025-04-01') TO ('2025-07-01');
CREATE TABLE q3 PARTITION OF orders_2025 FOR VALUES FROM ('2025-07-01') TO ('2025-10-01');
CREATE TABLE q4 PARTITION OF orders_2025 FOR VALUES FROM ('2025-10-01') TO ('2026-01-01')""")
    fails(ch, "9.1", "lacks the columns", "user_id", "LIKE orders")


# ---- 9.2 quarters: the rows --------------------------------------------------------------------------
def test_9_2_every_order_of_2025_passes(ch):
    _sql(ch, _quarters(), LOAD_2025)
    passes(ch, "9.2")


def test_9_2_loaded_in_pieces_into_the_partitions_passes(ch):
    _sql(ch, _quarters(),
         "INSERT INTO orders_2025_q1 SELECT * FROM orders WHERE created_at >= '2025-01-01' AND created_at < '2025-04-01'",
         "INSERT INTO orders_2025 SELECT * FROM orders WHERE created_at BETWEEN '2025-04-01' AND '2025-12-31 23:59:59.999999'")
    passes(ch, "9.2")


def test_9_2_partitions_in_another_schema_pass(ch):
    layout = _quarters()
    for i in range(1, 5):
        layout = layout.replace(f"orders_2025_q{i} ", f'archive."Q{i}" ')
    _sql(ch, "CREATE SCHEMA archive", layout, LOAD_2025)
    passes(ch, "9.2")


def test_9_2_rows_changed_on_the_way_fail(ch):
    _sql(ch, _quarters(), LOAD_2025, "UPDATE orders_2025 SET total_amount = 0")
    fails(ch, "9.2", "with other values than in orders", "unchanged")


def test_9_2_empty_fails(ch):
    _sql(ch, _quarters())
    fails(ch, "9.2", "orders_2025 is empty", "INSERT INTO orders_2025")


def test_9_2_a_missing_day_fails(ch):
    _sql(ch, _quarters(), LOAD_2025.replace("'2026-01-01'", "'2025-12-31'"))
    fails(ch, "9.2", "are not in orders_2025", "'2026-01-01'")


def test_9_2_orders_of_another_year_fail(ch):
    _sql(ch, _quarters(), "CREATE TABLE older PARTITION OF orders_2025 FOR VALUES FROM (MINVALUE) TO ('2025-01-01')",
         "INSERT INTO orders_2025 SELECT * FROM orders WHERE created_at >= '2024-12-01' AND created_at < '2026-01-01'")
    fails(ch, "9.2", "not of 2025")


def test_9_2_loaded_twice_fails(ch):
    _sql(ch, _quarters(), LOAD_2025, LOAD_2025)
    fails(ch, "9.2", "twice", "TRUNCATE")


def test_9_2_needs_the_layout_of_9_1(ch):
    fails(ch, "9.2", "no table orders_2025")


# ---- 9.3 list partitions -----------------------------------------------------------------------------
OPEN = "('pending', 'processing', 'shipped')"
CLOSED = "('completed', 'cancelled', 'refunded')"


def _by_status(*partitions: str) -> str:
    return "CREATE TABLE orders_by_status (LIKE orders) PARTITION BY LIST (status);\n" + ";\n".join(
        f"CREATE TABLE obs_{i} PARTITION OF orders_by_status {p}" for i, p in enumerate(partitions))


def test_9_3_open_and_finished_pass(ch):
    _sql(ch, _by_status(f"FOR VALUES IN {OPEN}", f"FOR VALUES IN {CLOSED}"))
    passes(ch, "9.3")


def test_9_3_values_in_another_order_and_a_sub_partition_pass(ch):
    _sql(ch, _by_status("FOR VALUES IN ('shipped', 'pending', 'processing')",
                        "FOR VALUES IN ('refunded', 'completed', 'cancelled') PARTITION BY RANGE (created_at)"),
         "CREATE TABLE obs_1_all PARTITION OF obs_1 FOR VALUES FROM (MINVALUE) TO (MAXVALUE)")
    passes(ch, "9.3")


def test_9_3_nothing_done_fails(ch):
    fails(ch, "9.3", "no table orders_by_status")


def test_9_3_a_default_partition_fails(ch):
    _sql(ch, _by_status(f"FOR VALUES IN {OPEN}", f"FOR VALUES IN {CLOSED}", "DEFAULT"))
    fails(ch, "9.3", "default partition", "refused")


def test_9_3_a_status_without_a_home_fails(ch):
    _sql(ch, _by_status(f"FOR VALUES IN {OPEN}", "FOR VALUES IN ('completed', 'cancelled')"))
    fails(ch, "9.3", "no partition holds the finished status refunded")


def test_9_3_a_group_split_over_partitions_fails(ch):
    _sql(ch, _by_status("FOR VALUES IN ('pending')", "FOR VALUES IN ('processing', 'shipped')", f"FOR VALUES IN {CLOSED}"))
    fails(ch, "9.3", "not together in one partition", "obs_0", "obs_1")


def test_9_3_an_extra_partition_fails(ch):
    _sql(ch, _by_status(f"FOR VALUES IN {OPEN}", f"FOR VALUES IN {CLOSED}", "FOR VALUES IN ('lost')"))
    fails(ch, "9.3", "holds lost", "two partitions only")


def test_9_3_a_group_with_an_extra_status_fails_naming_it(ch):
    _sql(ch, _by_status("FOR VALUES IN ('pending', 'processing', 'shipped', 'on_hold')", f"FOR VALUES IN {CLOSED}"))
    fails(ch, "9.3", "obs_0 holds the open statuses and also on_hold")


def test_9_3_partitioned_by_hash_fails(ch):
    _sql(ch, "CREATE TABLE orders_by_status (LIKE orders) PARTITION BY HASH (status)")
    fails(ch, "9.3", "by HASH, not by LIST")


# ---- 9.4 hash partitions -----------------------------------------------------------------------------
def _hash(*specs: tuple[int, int], column: str = "id") -> str:
    return f"CREATE TABLE events_by_id (LIKE events) PARTITION BY HASH ({column});\n" + ";\n".join(
        f"CREATE TABLE ebi_{m}_{r} PARTITION OF events_by_id FOR VALUES WITH (MODULUS {m}, REMAINDER {r})"
        for m, r in specs)


LOAD_JANUARY = ("INSERT INTO events_by_id SELECT * FROM events "
                "WHERE occurred_at >= '2025-01-01' AND occurred_at < '2025-02-01'")


def test_9_4_four_remainders_and_january_pass(ch):
    _sql(ch, _hash((4, 0), (4, 1), (4, 2), (4, 3)), LOAD_JANUARY)
    passes(ch, "9.4")


def test_9_4_mixed_moduli_that_cover_everything_pass(ch):
    _sql(ch, _hash((2, 0), (4, 1), (8, 3), (8, 7)), LOAD_JANUARY)
    passes(ch, "9.4")


def test_9_4_the_guides_two_of_four_fails(ch):
    _sql(ch, _hash((4, 0), (4, 1)))
    fails(ch, "9.4", "has 2 partitions", "REMAINDER r")


def test_9_4_four_partitions_that_leave_remainders_homeless_fail(ch):
    _sql(ch, _hash((8, 0), (8, 1), (8, 2), (8, 3)))
    fails(ch, "9.4", "remainder 4, 5, 6, 7", "every remainder")


def test_9_4_not_loaded_fails(ch):
    _sql(ch, _hash((4, 0), (4, 1), (4, 2), (4, 3)))
    fails(ch, "9.4", "are not in events_by_id", "INSERT INTO events_by_id")


def test_9_4_another_month_too_fails(ch):
    _sql(ch, _hash((4, 0), (4, 1), (4, 2), (4, 3)),
         LOAD_JANUARY.replace("'2025-02-01'", "'2025-03-01'"))
    fails(ch, "9.4", "events_by_id holds", "January 2025 only")


def test_9_4_rows_changed_on_the_way_fail(ch):
    _sql(ch, _hash((4, 0), (4, 1), (4, 2), (4, 3)), LOAD_JANUARY, "UPDATE events_by_id SET event_type = 'other'")
    fails(ch, "9.4", "with other values than in events", "unchanged")


def test_9_4_hashed_on_user_id_fails(ch):
    _sql(ch, _hash((4, 0), (4, 1), (4, 2), (4, 3), column="user_id"))
    fails(ch, "9.4", "on user_id, not on id")


# ---- 9.5 a query that prunes -------------------------------------------------------------------------
RIGHT_DAY = ("SELECT event_type, count(*) FROM ev WHERE occurred_at >= '2025-03-14' AND occurred_at < '2025-03-15' "
             "GROUP BY event_type ORDER BY event_type")


@pytest.mark.parametrize("query", [
    RIGHT_DAY,
    # a stable expression: pruned at run time, the plan still reads March only
    "SELECT event_type, count(*) AS n FROM ev WHERE occurred_at >= date '2025-03-14' "
    "AND occurred_at < date '2025-03-14' + 1 GROUP BY 1",
    "SELECT e.event_type, count(e.id) FROM ev e WHERE e.occurred_at BETWEEN timestamptz '2025-03-14 00:00:00+00' "
    "AND '2025-03-14 23:59:59.999999+00' GROUP BY e.event_type",
])
def test_9_5_range_conditions_on_the_key_pass(ev, query):
    passes(ev, "9.5", sql=query)


def test_9_5_the_cast_of_the_key_fails(ev):
    fails(ev, "9.5", "scans 6 partitions", "ev_2025_03", "a function or cast", sql=C.DAY_QUERY_SLOW)


def test_9_5_date_trunc_of_the_key_fails(ev):
    fails(ev, "9.5", "only ev_2025_03", sql=C.DAY_QUERY_SLOW.replace("occurred_at::date", "date_trunc('day', occurred_at)"))


def test_9_5_reading_events_instead_of_ev_fails(ev):
    fails(ev, "9.5", "does not read the partitioned table ev", sql=RIGHT_DAY.replace("FROM ev ", "FROM events "))


def test_9_5_reading_the_partition_by_name_fails(ev):
    fails(ev, "9.5", "reads ev_2025_03 itself, not ev", "FROM ev", sql=RIGHT_DAY.replace("FROM ev ", "FROM ev_2025_03 "))


def test_9_5_the_wrong_day_fails(ev):
    fails(ev, "9.5", "expected", sql=RIGHT_DAY.replace("03-14", "03-13").replace("'2025-03-15'", "'2025-03-14'"))


def test_9_5_without_the_set_up_says_run_it(ch):
    fails(ch, "9.5", "no partitioned table ev", "set-up cell", sql=RIGHT_DAY)


# ---- 9.6 predict when pruning happens ----------------------------------------------------------------
RIGHT = {"a": "plan time", "b": "run time", "c": "never"}


def test_9_6_the_right_predictions_pass(ev):
    passes(ev, "9.6", value=RIGHT)
    passes(ev, "9.6", value={"a": " Plan Time", "b": "RUN TIME", "c": "never "})


def test_9_6_the_stable_expression_taken_for_a_constant_fails(ev):
    fails(ev, "9.6", "b: you said 'plan time', EXPLAIN shows 'run time'", value={**RIGHT, "b": "plan time"})


def test_9_6_a_function_of_the_key_taken_for_prunable_fails(ev):
    fails(ev, "9.6", "c: you said 'run time'", value={**RIGHT, "c": "run time"})


def test_9_6_an_unknown_choice_fails(ev):
    fails(ev, "9.6", "not one of", value={**RIGHT, "a": "always"})


def test_9_6_not_a_dict_fails(ev):
    fails(ev, "9.6", "dict of three predictions", value="plan time")


# ---- 9.7 the primary key ---------------------------------------------------------------------------
@pytest.mark.parametrize("ddl", [
    "ALTER TABLE ev ADD PRIMARY KEY (id, occurred_at)",
    "ALTER TABLE ev ADD CONSTRAINT ev_key PRIMARY KEY (occurred_at, id)",
])
def test_9_7_id_and_the_partition_key_pass(ev, ddl):
    _sql(ev, ddl)
    passes(ev, "9.7")


def test_9_7_no_key_fails(ev):
    fails(ev, "9.7", "ev has no primary key", "must a key of a partitioned table include")


def test_9_7_a_unique_constraint_is_not_a_primary_key(ev):
    _sql(ev, "ALTER TABLE ev ADD UNIQUE (id, occurred_at)")
    fails(ev, "9.7", "no primary key")


def test_9_7_a_wider_key_fails(ev):
    _sql(ev, "ALTER TABLE ev ADD PRIMARY KEY (id, occurred_at, event_type)")
    fails(ev, "9.7", "more columns than (id, occurred_at)")


def test_9_7_a_key_without_the_id_fails(ev):
    _sql(ev, "DELETE FROM ev a USING ev b WHERE a.occurred_at = b.occurred_at AND a.id > b.id",
         "ALTER TABLE ev ADD PRIMARY KEY (occurred_at)")
    fails(ev, "9.7", "does not identify an event by its id")


# ---- 9.8 retention ---------------------------------------------------------------------------------
@pytest.mark.parametrize("steps", [
    ("ALTER TABLE ev DETACH PARTITION ev_2025_02 CONCURRENTLY", "DROP TABLE ev_2025_02"),
    ("DROP TABLE ev_2025_02",),
])
def test_9_8_february_dropped_passes(ev, steps):
    _sql(ev, *steps)
    passes(ev, "9.8")


def test_9_8_nothing_done_fails(ev):
    fails(ev, "9.8", "still holds", "DETACH PARTITION")


def test_9_8_a_delete_fails(ev):
    _sql(ev, "DELETE FROM ev WHERE occurred_at >= '2025-02-01' AND occurred_at < '2025-03-01'")
    fails(ev, "9.8", "ev_2025_02 still covers February", "DELETE leaves the partition")


def test_9_8_detached_but_not_dropped_fails(ev):
    _sql(ev, "ALTER TABLE ev DETACH PARTITION ev_2025_02")
    fails(ev, "9.8", "detached but still there", "DROP TABLE ev_2025_02")


def test_9_8_detached_and_renamed_fails(ev):
    _sql(ev, "ALTER TABLE ev DETACH PARTITION ev_2025_02", "ALTER TABLE ev_2025_02 RENAME TO february_archive")
    fails(ev, "9.8", "february_archive holds", "events of February 2025", "DROP TABLE february_archive")


def test_9_8_march_dropped_too_fails(ev):
    _sql(ev, "DROP TABLE ev_2025_02", "DROP TABLE ev_2025_03")
    fails(ev, "9.8", "ev holds 0 events of 2025-03")


def test_9_8_without_the_set_up_says_run_it(ch):
    fails(ch, "9.8", "no partitioned table ev")


# ---- 9.9 predict the partitions a lookup without the key reads ---------------------------------------
def test_9_9_every_partition_passes(ev):
    passes(ev, "9.9", value=6)
    _sql(ev, "DROP TABLE ev_2025_01", "CREATE INDEX ON ev (user_id)")
    passes(ev, "9.9", value="5")


def test_9_9_one_partition_fails(ev):
    fails(ev, "9.9", "you predicted 1", "scans 6 partitions", value=1)


def test_9_9_not_a_number_fails(ev):
    fails(ev, "9.9", "not a number", value="all")
