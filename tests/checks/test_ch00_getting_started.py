"""Chapter 00 checks, both ways: correct answers written differently pass; typical wrong ones fail with the right reason."""

from __future__ import annotations

import pytest

from pgcourse.checks import run_check
from pgcourse.magics import save_answer


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("00")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def _check(ch, exercise: str, sql: str | None = None, value=None):
    if sql is not None or value is not None:
        save_answer(ch, exercise, answer_sql=sql, value=value)
    return run_check(exercise, ch)


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM orders WHERE status = 'cancelled'",
    "select count(*) filter (where status = 'cancelled') as n\nfrom orders -- counted with FILTER",
    "SELECT sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) FROM orders;",
])
def test_0_1_counts_written_differently_pass(ch, sql):
    result = _check(ch, "0.1", sql)
    assert result.passed, result.line()


def test_0_1_wrong_filter_fails_with_the_difference(ch):
    result = _check(ch, "0.1", "SELECT count(*) FROM orders WHERE status = 'refunded'")
    (refunded,), = ch.query("SELECT count(*) FROM orders WHERE status = 'refunded'")
    (cancelled,), = ch.query("SELECT count(*) FROM orders WHERE status = 'cancelled'")
    assert result.status == "failed" and f"returns {refunded}; expected {cancelled}" in result.message and result.hint


def test_0_1_count_per_status_fails_on_the_columns(ch):
    result = _check(ch, "0.1", "SELECT status, count(*) FROM orders WHERE status = 'cancelled' GROUP BY status")
    assert result.status == "failed" and "returns 2 columns; expected 1" in result.message and "SELECT list" in result.hint


def test_0_1_hard_coded_number_fails_on_the_second_dataset(ch):
    ch.server.connect(ch.database).execute(
        "UPDATE orders SET status = 'completed' WHERE id IN (SELECT id FROM orders WHERE status = 'cancelled' LIMIT 3)")
    (count,), = ch.query("SELECT count(*) FROM orders WHERE status = 'cancelled'")
    result = _check(ch, "0.1", f"SELECT {count}")
    assert result.status == "failed" and "second sample dataset" in result.message


def test_0_1_without_an_answer_says_how_to_save_one(ch):
    result = _check(ch, "0.1")
    assert result.status == "failed" and "no answer saved" in result.message and "%%answer 0.1" in result.hint


def test_0_1_empty_placeholder_answer_fails(ch):
    result = _check(ch, "0.1", "-- YOUR SQL HERE\n")
    assert result.status == "failed" and "empty" in result.message


def test_0_1_syntax_error_reports_the_server_message(ch):
    result = _check(ch, "0.1", "SELEC count(*) FROM orders")
    assert result.status == "failed" and "syntax error" in result.message


@pytest.mark.parametrize("sql", [
    "SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5",
    """SELECT user_id, n FROM (SELECT user_id, count(*) AS n FROM orders GROUP BY 1) t
       ORDER BY n DESC, user_id FETCH FIRST 5 ROWS ONLY""",
    """WITH ranked AS (SELECT user_id, count(id) AS orders,
                              row_number() OVER (ORDER BY count(id) DESC, user_id ASC) AS r
                       FROM orders GROUP BY user_id)
       SELECT user_id, orders FROM ranked WHERE r <= 5 ORDER BY r""",
])
def test_0_2_top_five_written_differently_pass(ch, sql):
    result = _check(ch, "0.2", sql)
    assert result.passed, result.line()


def test_0_2_without_limit_fails_on_row_count(ch):
    result = _check(ch, "0.2", "SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id")
    assert result.status == "failed" and "expected 5" in result.message


def test_0_2_least_frequent_buyers_fail(ch):
    result = _check(ch, "0.2", "SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*), user_id LIMIT 5")
    assert result.status == "failed" and ("row 1 is" in result.message or "missing" in result.message), result.line()


@pytest.mark.parametrize("order_by", ["count(*) DESC", "count(*) DESC, user_id DESC"])
def test_0_2_ties_left_to_chance_or_broken_the_wrong_way_fail(ch, order_by):
    result = _check(ch, "0.2", f"SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY {order_by} LIMIT 5")
    assert result.status == "failed", result.line()
    assert "have the same number of orders" in result.message and "smaller user_id" in result.hint


def test_0_2_the_tie_set_up_is_rolled_back(ch):
    before = ch.query("SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 8")
    _check(ch, "0.2", "SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5")
    assert ch.query("SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 8") == before


def test_0_2_wrong_count_names_the_user_and_the_column(ch):
    result = _check(ch, "0.2", """SELECT user_id, count(*) - 1 AS orders FROM orders GROUP BY user_id
                                  ORDER BY count(*) DESC, user_id LIMIT 5""")
    assert result.status == "failed" and "column 2 (orders) is" in result.message, result.line()


def test_0_2_hard_coded_rows_fail_on_the_second_dataset(ch):
    rows = ch.query("SELECT user_id, count(*) FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5")
    values = ", ".join(f"({u}, {n})" for u, n in rows)
    result = _check(ch, "0.2", f"SELECT * FROM (VALUES {values}) AS t(user_id, orders)")
    assert result.status == "failed" and "second sample dataset" in result.message, result.line()


@pytest.mark.parametrize("body", [
    "SELECT id, user_id, total_amount FROM orders WHERE total_amount > 500",
    "SELECT o.id, o.user_id, o.total_amount FROM orders AS o WHERE NOT (o.total_amount <= 500)",
])
def test_0_3_view_written_differently_passes(ch, body):
    ch.query(f"CREATE VIEW big_orders AS {body}")
    result = _check(ch, "0.3")
    assert result.passed, result.line()


def test_0_3_a_table_instead_of_a_view_fails(ch):
    ch.query("CREATE TABLE big_orders AS SELECT id, user_id, total_amount FROM orders WHERE total_amount > 500")
    result = _check(ch, "0.3")
    assert result.status == "failed" and "is a table, not a view" in result.message


def test_0_3_at_least_500_fails_on_the_boundary(ch):
    ch.query("CREATE VIEW big_orders AS SELECT id, user_id, total_amount FROM orders WHERE total_amount >= 500")
    result = _check(ch, "0.3")
    assert result.status == "failed" and ", 500)" in result.message and "not expected" in result.message, result.line()
    ch.query("UPDATE orders SET total_amount = 499.99 WHERE total_amount = 500")  # no order at the boundary any more
    result = _check(ch, "0.3")
    assert result.status == "failed" and "exactly 500.00" in result.message and "> 500" in result.hint, result.line()


def test_0_3_missing_view_and_wrong_columns_and_wrong_rows_fail(ch):
    assert "no big_orders" in _check(ch, "0.3").message
    ch.query("CREATE VIEW big_orders AS SELECT id, total_amount FROM orders WHERE total_amount > 500")
    assert "columns" in _check(ch, "0.3").message
    ch.query("DROP VIEW big_orders")
    ch.query("CREATE VIEW big_orders AS SELECT id, user_id, total_amount FROM orders WHERE total_amount > 50")
    assert "big_orders returns" in _check(ch, "0.3").message


@pytest.mark.parametrize("value", ["Index Scan", "  index   scan "])
def test_0_4_right_prediction_passes_however_spelled(ch, value):
    result = _check(ch, "0.4", value=value)
    assert result.passed, result.line()


@pytest.mark.parametrize("value, reason", [("Seq Scan", "you predicted 'Seq Scan'"), (3, "node name"),
                                           ("Index Only Scan", "you predicted 'Index Only Scan'"),
                                           ("Bitmap Heap Scan", "PostgreSQL chose another node")])
def test_0_4_wrong_prediction_fails(ch, value, reason):
    result = _check(ch, "0.4", value=value)
    assert result.status == "failed" and reason in result.message


def test_0_4_a_cell_run_without_a_prediction_saves_nothing_and_says_so(ch):
    save_answer(ch, "0.4", value=None)
    result = run_check("0.4", ch)
    assert result.status == "failed" and "no answer saved" in result.message and 'pgcourse.answer("0.4"' in result.hint
