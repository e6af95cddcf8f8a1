"""Chapter 08 checks, both ways: correct answers written differently pass, typical wrong answers fail with
the reason the learner needs.

Most tests run on a fresh ``tiny`` chapter database; the predictions (8.1, 8.4, 8.8) are compared with
the plans of whatever database the check runs on, so the tests compute the right answer there. The
statistics exercise (8.2) and the pages of a keyset page (8.5) depend on the ``small`` data the
notebook uses, so those tests clone ``small``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.checks import ch08_performance as C
from pgcourse.magics import save_answer
from pgcourse.plans import explain
from tests.checks.helpers import fails, passes

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "08_performance.ipynb"


def _close(chapter) -> None:
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("08", size="tiny")
    yield chapter
    _close(chapter)


@pytest.fixture
def small(make_chapter):
    chapter = make_chapter("08", size="small")
    yield chapter
    _close(chapter)


def _sql(ch, *statements: str) -> None:
    """Run statements as the learner, outside a transaction (as the notebook's cells do)."""
    with ch.connect(autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _plan(ch, query: str, **settings):
    with ch.connect() as conn:
        return explain(conn, query, analyze=True, settings=settings)


# ---- the notebook shows the same SQL the checks use -------------------------------------------------
def _solution_sources() -> str:
    nb = json.loads(SOLUTION.read_text())
    return "\n".join("".join(cell["source"]) for cell in nb["cells"])


@pytest.mark.parametrize("text", [
    C.LOOPS_QUERY, C.ORDER_LINES_SETUP, C.MISESTIMATE_QUERY, C.CREATED_AT_INDEX, C.SARGABLE_QUERY,
    C.KEYSET_INDEX, C.STATUS_COUNT_QUERY, *C.JOIN_QUERIES.values(), *C.SORT_QUERIES.values(),
])
def test_the_notebook_shows_the_sql_the_checks_use(text):
    assert text in _solution_sources()


# ---- 8.1 loops ---------------------------------------------------------------------------------------
def _loops_answer(ch) -> dict:
    node = C.inner_scan(_plan(ch, C.LOOPS_QUERY))
    loops = int(node.raw["Actual Loops"])
    return {"loops": loops, "rows": round(node.actual_rows * loops)}


def test_8_1_the_measured_loops_and_rows_pass(ch):
    passes(ch, "8.1", value=_loops_answer(ch))


def test_8_1_numbers_as_text_pass(ch):
    answer = _loops_answer(ch)
    passes(ch, "8.1", value={"loops": str(answer["loops"]), "rows": f"{answer['rows']}.0"})


def test_8_1_rows_per_loop_instead_of_in_all_fails(small):
    ch = small
    answer = _loops_answer(ch)
    assert answer["loops"] > 1
    node = C.inner_scan(_plan(ch, C.LOOPS_QUERY))
    fails(ch, "8.1", "rows: you said", "multiply by loops",
           value={"loops": answer["loops"], "rows": int(node.actual_rows)})


def test_8_1_one_loop_fails(small):
    ch = small
    answer = _loops_answer(ch)
    assert answer["loops"] > 1
    fails(ch, "8.1", "loops: you said 1", "once per row of the outer side", value={**answer, "loops": 1})


def test_8_1_not_a_dict_fails(ch):
    fails(ch, "8.1", "save a dict", value=32)


def test_8_1_nothing_saved_fails(ch):
    fails(ch, "8.1", "no answer saved")


# ---- 8.2 extended statistics ----------------------------------------------------------------------------
def test_8_2_without_the_set_up_says_run_it(ch):
    fails(ch, "8.2", "no table order_lines", "set-up cell")


@pytest.mark.parametrize("ddl", [
    "CREATE STATISTICS order_lines_product_price (mcv) ON product_id, unit_price FROM order_lines",
    "CREATE STATISTICS s ON unit_price, product_id, category_id FROM order_lines",   # every kind, three columns
])
def test_8_2_statistics_that_fix_the_estimate_pass(small, ddl):
    _sql(small, C.ORDER_LINES_SETUP, ddl, "ANALYZE order_lines")
    passes(small, "8.2")


def test_8_2_set_up_only_fails_as_independent(small):
    _sql(small, C.ORDER_LINES_SETUP)
    fails(small, "8.2", "as if they were independent", "CREATE STATISTICS")


def test_8_2_statistics_not_analyzed_fail(small):
    _sql(small, C.ORDER_LINES_SETUP, "CREATE STATISTICS s (mcv) ON product_id, unit_price FROM order_lines")
    fails(small, "8.2", "s exists but holds no data", "ANALYZE order_lines")


def test_8_2_dependencies_alone_are_not_enough_here(small):
    _sql(small, C.ORDER_LINES_SETUP, "CREATE STATISTICS s (dependencies) ON product_id, unit_price FROM order_lines",
         "ANALYZE order_lines")
    fails(small, "8.2", "still more than 2x off", "mcv")


def test_8_2_statistics_on_other_columns_fail(small):
    _sql(small, C.ORDER_LINES_SETUP, "CREATE STATISTICS s ON product_id, category_id FROM order_lines",
         "ANALYZE order_lines")
    fails(small, "8.2", "independent")


def test_8_2_changing_the_data_fails(small):
    _sql(small, C.ORDER_LINES_SETUP, "DELETE FROM order_lines WHERE product_id = 1389 AND unit_price <> 7.99",
         "CREATE STATISTICS s (mcv) ON product_id, unit_price FROM order_lines", "ANALYZE order_lines")
    fails(small, "8.2", "rows, not the", "set-up cell again")


# ---- 8.3 sargable predicates --------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    C.SARGABLE_REFERENCE,
    "SELECT status, count(*) FROM orders WHERE created_at >= date '2025-11-28' AND created_at < date '2025-11-28' + 1 "
    "GROUP BY status",
    "SELECT status, count(id) AS n FROM orders WHERE created_at BETWEEN '2025-11-28 00:00' AND '2025-11-28 23:59:59.999999' "
    "GROUP BY 1 ORDER BY 2 DESC",
    "SELECT status, count(*) FROM orders WHERE created_at >= timestamptz '2025-11-28 00:00+00' "
    "AND created_at < timestamptz '2025-11-28 00:00+00' + interval '1 day' GROUP BY status",
])
def test_8_3_ranges_on_the_bare_column_pass(ch, answer):
    _sql(ch, C.CREATED_AT_INDEX)
    passes(ch, "8.3", sql=answer)


def test_8_3_the_original_query_fails(ch):
    _sql(ch, C.CREATED_AT_INDEX)
    fails(ch, "8.3", "inside a function or a cast", "created_at >=", sql=C.SARGABLE_QUERY)


def test_8_3_a_cast_fails(ch):
    _sql(ch, C.CREATED_AT_INDEX)
    fails(ch, "8.3", "inside a function or a cast",
           sql="SELECT status, count(*) FROM orders WHERE created_at::date = '2025-11-28' GROUP BY status")


def test_8_3_a_day_too_long_fails(ch):
    _sql(ch, C.CREATED_AT_INDEX)
    fails(ch, "8.3", "exactly 2025-11-28 00:00:00", "BETWEEN includes", sql="SELECT status, count(*) FROM orders WHERE created_at "
           "BETWEEN '2025-11-28' AND '2025-11-29' GROUP BY status")


def test_8_3_without_the_index_says_create_it(ch):
    fails(ch, "8.3", "no index on orders starts with created_at", C.CREATED_AT_INDEX, sql=C.SARGABLE_REFERENCE)


def test_8_3_hard_coded_counts_fail_on_the_second_dataset(small):
    ch = small
    _sql(ch, C.CREATED_AT_INDEX)
    with ch.connect() as conn:
        rows = conn.execute(C.SARGABLE_REFERENCE).fetchall()
    values = " UNION ALL ".join(f"(SELECT '{s}'::text, {n}::bigint FROM orders WHERE created_at >= '2025-11-28' "
                                f"AND created_at < '2025-11-29' LIMIT 1)" for s, n in rows)
    fails(ch, "8.3", "second sample dataset", sql=values)


# ---- 8.4 join strategies ---------------------------------------------------------------------------------
def _joins(ch) -> dict:
    return {key: C.join_kind(_plan(ch, query)) for key, query in C.JOIN_QUERIES.items()}


def test_8_4_the_planners_choices_pass(ch):
    passes(ch, "8.4", value=_joins(ch))


def test_8_4_short_spellings_pass(ch):
    short = {"Nested Loop": "nested loop", "Hash Join": "hash", "Merge Join": "MERGE"}
    passes(ch, "8.4", value={k: short[v] for k, v in _joins(ch).items()})


def test_8_4_a_wrong_prediction_fails_and_names_it(ch):
    actual = _joins(ch)
    other = "Hash Join" if actual["a"] != "Hash Join" else "Nested Loop"
    fails(ch, "8.4", "2 of 3 right", f"a: you said {other}", value={**actual, "a": other})


def test_8_4_an_unknown_kind_fails(ch):
    fails(ch, "8.4", "no usable prediction for b", value={"a": "Nested Loop", "b": "fast", "c": "Merge Join"})


# ---- 8.5 keyset pagination --------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    C.KEYSET_REFERENCE,
    "SELECT id, created_at, total_amount FROM orders WHERE ROW(created_at, id) > ROW(timestamptz '2025-06-30 12:00+00', 500000) "
    "ORDER BY created_at ASC, id ASC FETCH FIRST 20 ROWS ONLY",
])
def test_8_5_a_row_comparison_passes(small, answer):
    _sql(small, C.KEYSET_INDEX)
    passes(small, "8.5", sql=answer)


def test_8_5_or_spelled_out_reads_too_many_pages(small):
    _sql(small, C.KEYSET_INDEX)
    fails(small, "8.5", "pages to return 20 rows", "row comparison",
           sql="SELECT id, created_at, total_amount FROM orders WHERE created_at > '2025-06-30 12:00:00+00' "
               "OR (created_at = '2025-06-30 12:00:00+00' AND id > 500000) ORDER BY created_at, id LIMIT 20")


@pytest.mark.parametrize("answer", [
    "SELECT id, created_at, total_amount FROM orders WHERE created_at > '2025-06-30 12:00:00+00' "
    "ORDER BY created_at, id LIMIT 20",
    "SELECT id, created_at, total_amount FROM orders WHERE (created_at, id) >= ('2025-06-30 12:00:00+00', 500000) "
    "ORDER BY created_at, id LIMIT 20",
])
def test_8_5_a_cursor_on_created_at_alone_or_including_the_last_row_fails(small, answer):
    _sql(small, C.KEYSET_INDEX)
    fails(small, "8.5", "another order has the same created_at", "strictly greater", sql=answer)


def test_8_5_a_range_on_created_at_then_the_tie_passes(small):
    _sql(small, C.KEYSET_INDEX)
    passes(small, "8.5", sql="SELECT id, created_at, total_amount FROM orders WHERE created_at >= '2025-06-30 12:00:00+00' "
                             "AND (created_at > '2025-06-30 12:00:00+00' OR id > 500000) ORDER BY created_at, id LIMIT 20")


def test_8_5_without_the_index_fails(ch):
    fails(ch, "8.5", "sequential scan", C.KEYSET_INDEX, sql=C.KEYSET_REFERENCE)


def test_8_5_offset_fails_on_the_second_dataset(small):
    ch = small
    _sql(ch, C.KEYSET_INDEX)
    with ch.connect() as conn:
        (skip,) = conn.execute("SELECT count(*) FROM orders WHERE (created_at, id) <= ('2025-06-30 12:00:00+00', 500000)"
                               ).fetchone()
    fails(ch, "8.5", "second sample dataset", sql=f"SELECT id, created_at, total_amount FROM orders "
                                                   f"ORDER BY created_at, id OFFSET {skip} LIMIT 20")


def test_8_5_the_wrong_order_fails(ch):
    _sql(ch, C.KEYSET_INDEX)
    fails(ch, "8.5", "wrong order", sql=f"SELECT * FROM ({C.KEYSET_REFERENCE}) t ORDER BY id DESC")


# ---- 8.6 index-only -------------------------------------------------------------------------------------
@pytest.mark.parametrize("ddl, answer", [
    ("CREATE INDEX orders_user_id_status_idx ON orders (user_id, status)", C.STATUS_COUNT_REFERENCE),
    ("CREATE INDEX account_page ON orders (user_id) INCLUDE (status)",
     "SELECT status, count(*) AS orders FROM orders WHERE user_id = 2963 GROUP BY status ORDER BY count(*) DESC"),
])
def test_8_6_covering_indexes_pass(ch, ddl, answer):
    _sql(ch, ddl)
    passes(ch, "8.6", sql=answer)


def test_8_6_the_right_counts_without_an_index_fail(ch):
    fails(ch, "8.6", "fetched from the table", "(user_id, status)", sql=C.STATUS_COUNT_REFERENCE)


def test_8_6_select_star_fails(small):
    ch = small
    _sql(ch, "CREATE INDEX ON orders (user_id, status)")
    fails(ch, "8.6", "columns", sql=C.STATUS_COUNT_QUERY)


def test_8_6_counts_of_everybody_fail(ch):
    _sql(ch, "CREATE INDEX ON orders (user_id, status)")
    fails(ch, "8.6", "expected", sql="SELECT status, count(*) FROM orders GROUP BY status")


# ---- 8.7 N+1 in one statement ---------------------------------------------------------------------------
ORDER_KEYS = ("id", "total_amount", "created_at")


def _answer_8_7(ch, function) -> None:
    """What the notebook's harness cell does: run the function in every scenario, save what came back."""
    save_answer(ch, "8.7", value=C.try_pages(function, ch.url))


def n_plus_one(conn, n):
    """The loop of the notebook: the page, then a statement per user."""
    users = conn.execute("SELECT id, username FROM users ORDER BY id LIMIT %s", [n]).fetchall()
    return [(uid, name, [dict(zip(ORDER_KEYS, o)) for o in conn.execute(
        "SELECT id, total_amount, created_at FROM orders WHERE user_id = %s ORDER BY created_at, id", [uid])])
        for uid, name in users]


def json_agg_left_join(conn, n):
    return conn.execute(C.N_PLUS_ONE_REFERENCE, [n]).fetchall()


def subquery_per_user(conn, n):
    """A correlated subquery per user in the SELECT list: still one statement."""
    return conn.execute("""SELECT u.id, u.username,
              coalesce((SELECT jsonb_agg(jsonb_build_object('id', o.id, 'total_amount', o.total_amount,
                                                            'created_at', o.created_at) ORDER BY o.created_at, o.id)
                        FROM orders o WHERE o.user_id = u.id), '[]'::jsonb) AS orders
       FROM users u ORDER BY u.id LIMIT %s""", [n]).fetchall()


def join_grouped_in_python(conn, n, order=lambda oid, total, created: dict(zip(ORDER_KEYS, (oid, total, created)))):
    """The notebook's page_join, orders made dicts: one join grouped in Python (Decimals, datetimes), a dict
    {id: (username, orders)}."""
    page = {}
    for uid, name, oid, total, created in conn.execute(
            "SELECT u.id, u.username, o.id, o.total_amount, o.created_at "
            "FROM (SELECT id, username FROM users ORDER BY id LIMIT %s) u "
            "LEFT JOIN orders o ON o.user_id = u.id ORDER BY u.id, o.created_at, o.id", [n]):
        page.setdefault(uid, (name, []))[1].extend([] if oid is None else [order(oid, total, created)])
    return page


def two_statements(conn, n):
    """The users, then all their orders at once (= ANY): 2 statements whatever n, grouped in Python."""
    users = conn.execute("SELECT id, username FROM users ORDER BY id LIMIT %s", [n]).fetchall()
    orders = conn.execute("SELECT user_id, id, total_amount, created_at FROM orders WHERE user_id = ANY(%s) "
                          "ORDER BY created_at, id", [[u for u, _ in users]]).fetchall()
    return [(uid, name, [dict(zip(ORDER_KEYS, o[1:])) for o in orders if o[0] == uid]) for uid, name in users]


def _rewritten(*changes: tuple[str, str]):
    """A one-statement function running the reference query with each (old, new) text replaced."""
    query = C.N_PLUS_ONE_REFERENCE
    for old, new in changes:
        assert old in query
        query = query.replace(old, new)

    def page(conn, n):
        return conn.execute(query, [n]).fetchall()
    return page


@pytest.mark.parametrize("function", [json_agg_left_join, subquery_per_user, join_grouped_in_python])
def test_8_7_one_statement_in_any_shape_passes(ch, function):
    _answer_8_7(ch, function)
    passes(ch, "8.7")


def test_8_7_the_n_plus_one_loop_fails_naming_the_counts(ch):
    _answer_8_7(ch, n_plus_one)
    fails(ch, "8.7", "21 statements for a page of 20 users and 6 for 5", "N+1", "json_agg")


def test_8_7_two_statements_per_page_fail_with_the_count(ch):
    _answer_8_7(ch, two_statements)
    fails(ch, "8.7", "2 statements for a page of 20 users and 2 for 5")


def test_8_7_several_statements_in_one_text_count_as_several(ch):
    def users_then_orders(conn, n):
        cur = conn.execute("SELECT 1; " + C.N_PLUS_ONE_REFERENCE.replace("%s", str(n)))
        cur.nextset()
        return cur.fetchall()
    _answer_8_7(ch, users_then_orders)
    fails(ch, "8.7", "2 statements")


def test_8_7_queries_on_another_connection_are_not_counted_and_fail(ch):
    _answer_8_7(ch, lambda conn, n: ch.query(C.N_PLUS_ONE_REFERENCE, [n]))
    fails(ch, "8.7", "no statement through the connection", "conn")


def test_8_7_users_in_another_order_fail(ch):
    _answer_8_7(ch, _rewritten(("ORDER BY u.id", "ORDER BY u.username")))
    fails(ch, "8.7", "wrong order", "ORDER BY")


def test_8_7_orders_in_another_order_fail(ch):
    _answer_8_7(ch, _rewritten(("ORDER BY o.created_at, o.id", "ORDER BY o.id DESC")))
    fails(ch, "8.7", "the orders of user", "wrong order", "created_at, then id")


def test_8_7_orders_by_id_fail_although_ids_follow_created_at_in_the_dataset(ch):
    _answer_8_7(ch, _rewritten(("ORDER BY o.created_at, o.id", "ORDER BY o.id")))
    fails(ch, "8.7", "first order is moved last in time", "ORDER BY o.created_at, o.id")


def test_8_7_the_guides_json_agg_fails_on_users_without_orders(ch):
    _answer_8_7(ch, _rewritten(("coalesce(json_agg", "json_agg"), (" FILTER (WHERE o.id IS NOT NULL), '[]')", "")))
    fails(ch, "8.7", "id is null", "FILTER (WHERE o.id IS NOT NULL)")


def test_8_7_null_instead_of_an_empty_array_fails(ch):
    _answer_8_7(ch, _rewritten(("coalesce(json_agg", "json_agg"), (", '[]') AS orders", " AS orders")))
    fails(ch, "8.7", "null", "coalesce")


def test_8_7_orders_as_tuples_without_their_names_fail(ch):
    _answer_8_7(ch, lambda conn, n: join_grouped_in_python(conn, n, order=lambda *values: values))
    fails(ch, "8.7", "each order is an object", "id, total_amount and created_at")


def test_8_7_a_page_size_typed_in_fails_on_the_page_of_5(ch):
    _answer_8_7(ch, lambda conn, n: json_agg_left_join(conn, 20))
    fails(ch, "8.7", "a page of 5", "returns 20 rows; expected 5", "LIMIT %s")


def test_8_7_a_range_of_ids_instead_of_the_first_n_fails(ch):
    _answer_8_7(ch, _rewritten(("(SELECT id, username FROM users ORDER BY id LIMIT %s) u",
                                "(SELECT id, username FROM users WHERE id <= %s) u")))
    fails(ch, "8.7", "a user with id 0", "ORDER BY id LIMIT n")


def test_8_7_an_error_in_the_function_is_reported(ch):
    _answer_8_7(ch, lambda conn, n: conn.execute("SELECT * FROM no_such_table").fetchall())
    fails(ch, "8.7", "raised an error", "UndefinedTable")


def test_8_7_an_unsolved_function_fails(ch):
    _answer_8_7(ch, lambda conn, n: None)
    fails(ch, "8.7", "returned nothing")


def test_8_7_nothing_saved_fails(ch):
    fails(ch, "8.7", "no answer saved for 8.7")


@pytest.mark.parametrize("value", [[1, 2, 3], {"a page of 20": 1}, "done"])
def test_8_7_a_value_that_is_not_the_harness_results_fails(ch, value):
    fails(ch, "8.7", "not the harness's results", "try_pages", value=value)


def test_8_7_the_harness_leaves_the_database_as_it_was(ch):
    state = "SELECT (SELECT count(*) FROM users), (SELECT max(created_at) FROM orders), (SELECT count(*) FROM order_items)"
    before = ch.query(state)
    _answer_8_7(ch, lambda conn, n: conn.execute("DELETE FROM order_items") and None)
    assert ch.query(state) == before
    assert ch.query("SELECT count(*) FROM users WHERE id = 0") == [(0,)]


def test_the_counting_connection_counts_every_statement_it_sends(ch):
    with C.Counting.connect(ch.url) as conn, conn.transaction(force_rollback=True):
        conn.execute("SELECT 1").fetchall()
        assert conn.statements == 1
        conn.execute("SELECT 1; SELECT 2; SELECT 3")
        assert conn.statements == 4
        conn.cursor().executemany("SELECT %s", [(1,), (2,), (3,)])
        assert conn.statements == 7
        list(conn.cursor().stream("SELECT generate_series(1, 3)"))
        assert conn.statements == 8
        with conn.cursor().copy("COPY (SELECT 1) TO STDOUT") as copy:
            list(copy)
        assert conn.statements == 9
        with conn.cursor(name="page") as cur:
            cur.execute("SELECT generate_series(1, 10)")  # DECLARE
            cur.fetchmany(3)  # FETCH
            cur.scroll(2)  # MOVE
            cur.fetchall()  # FETCH
        assert conn.statements == 13


# ---- 8.8 sorts ------------------------------------------------------------------------------------------
def _sorts(ch) -> dict:
    return {key: C.sort_method(_plan(ch, query, **C.SORT_SETTINGS)) for key, query in C.SORT_QUERIES.items()}


def test_8_8_the_servers_methods_pass(ch):
    passes(ch, "8.8", value=_sorts(ch))


def test_8_8_other_spellings_pass(ch):
    spelled = {"quicksort": "Quick sort", "top-N heapsort": "Top-N Heapsort", "external merge": "External Merge"}
    passes(ch, "8.8", value={k: spelled[v] for k, v in _sorts(ch).items()})


def test_8_8_a_wrong_prediction_fails(ch):
    actual = _sorts(ch)
    other = "external merge" if actual["a"] != "external merge" else "quicksort"
    fails(ch, "8.8", "2 of 3 right", f"a: you said {other}", value={**actual, "a": other})


def test_8_8_on_small_the_full_sort_spills(small):
    assert _sorts(small) == {"a": "top-N heapsort", "b": "external merge", "c": "quicksort"}
