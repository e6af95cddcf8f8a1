"""Chapter 05 checks, both ways, on the tiny dataset: correct queries written differently pass, typical
wrong ones fail with the reason the learner needs, and values typed in from one dataset fail on the
second sample dataset.

Each test gets a fresh chapter database; where a test must tell hard-coded values from computed
ones it first changes a row of its own database, so that it no longer equals the sample (both are
cloned from ``tiny``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.checks import ch05_queries as C
from pgcourse.checks import run_check
from pgcourse.magics import save_answer

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "05_queries.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("05", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def _sql(ch, *statements: str) -> None:
    """Run statements as the learner, outside a transaction (as the notebook's cells do)."""
    with ch.connect() as conn:
        for statement in statements:
            conn.execute(statement)


def _rows(ch, query: str) -> list[tuple]:
    with ch.connect() as conn:
        return conn.execute(query).fetchall()


def _check(ch, exercise: str, sql: str | None = None):
    if sql is not None:
        save_answer(ch, exercise, answer_sql=sql)
    return run_check(exercise, ch)


def passes(ch, exercise: str, sql: str) -> str:
    result = _check(ch, exercise, sql)
    assert result.passed, result.line()
    return result.message


def fails(ch, exercise: str, sql: str | None, *words: str):
    result = _check(ch, exercise, sql)
    assert result.status == "failed", result.line()
    assert result.hint, result.line()
    for word in words:
        assert word in result.message + " " + result.hint, result.line()
    return result


def _values(rows: list[tuple]) -> str:
    """Rows as a VALUES list, numbers and strings as SQL literals (to type a result in)."""
    def literal(v):
        return "NULL" if v is None else f"'{v}'" if isinstance(v, str) else str(v)
    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)


# ---- the notebook shows the SQL the checks use ---------------------------------------------------
def _solution_sources() -> str:
    nb = json.loads(SOLUTION.read_text())
    return "\n".join("".join(cell["source"]) for cell in nb["cells"])


@pytest.mark.parametrize("text", [C.LOGIN_BATCH_SETUP, C.PRODUCT_FEED_SETUP, C.SEARCH_TEXT])
def test_the_notebook_shows_the_sql_the_checks_use(text):
    assert text in _solution_sources()


# ---- no answer ----------------------------------------------------------------------------------
@pytest.mark.parametrize("exercise", ["5.1", "5.7", "5.14"])
def test_without_an_answer_the_check_says_how_to_save_one(ch, exercise):
    fails(ch, exercise, None, "no answer saved", f"%%answer {exercise}")


# ---- 5.1 NULL -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    "SELECT id FROM products WHERE status = 'published' AND (description IS NULL OR description NOT LIKE '%dishwasher%')",
    "SELECT id FROM products WHERE status = 'published' AND coalesce(description, '') NOT ILIKE '%dishwasher%' ORDER BY id DESC",
    "SELECT id FROM products WHERE status = 'published' AND position('dishwasher' IN coalesce(description, '')) = 0",
    """SELECT id FROM products WHERE status = 'published'
       EXCEPT SELECT id FROM products WHERE description ~ 'dishwasher'""",
])
def test_5_1_right_answers_pass(ch, sql):
    passes(ch, "5.1", sql)


def test_5_1_dropping_the_null_descriptions_fails_naming_them(ch):
    fails(ch, "5.1", "SELECT id FROM products WHERE status = 'published' AND description NOT LIKE '%dishwasher%'",
          "have no description (NULL)", "IS NULL")


@pytest.mark.parametrize("sql, reason", [
    ("SELECT id FROM products WHERE description IS NULL OR description NOT LIKE '%dishwasher%'", "not expected"),
    ("SELECT id FROM products WHERE status = 'published' AND (description IS NULL OR description LIKE '%dishwasher%')",
     "not expected"),
    ("SELECT id, name FROM products WHERE status = 'published' AND (description IS NULL OR description NOT LIKE '%dishwasher%')",
     "expected 1 (id)"),
])
def test_5_1_wrong_answers_fail_with_the_reason(ch, sql, reason):
    fails(ch, "5.1", sql, reason)


def test_5_1_hard_coded_ids_fail_on_the_second_dataset(ch):
    _sql(ch, "UPDATE products SET description = NULL WHERE id = (SELECT min(id) FROM products WHERE description LIKE '%dishwasher%' AND status = 'published')")
    ids = ", ".join(str(r[0]) for r in _rows(ch, C.NO_DISHWASHER))
    fails(ch, "5.1", f"SELECT id FROM products WHERE id IN ({ids})", "second sample dataset")


# ---- 5.2 anti-join --------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.NO_EVENT_USERS,
    """SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM events WHERE user_id IS NOT NULL
       AND occurred_at >= '2025-12-01' AND occurred_at < '2025-12-02')""",
    """SELECT u.id FROM users u LEFT JOIN events e ON e.user_id = u.id
       AND e.occurred_at >= '2025-12-01 00:00+00' AND e.occurred_at < '2025-12-02 00:00+00' WHERE e.id IS NULL""",
    """SELECT id FROM users EXCEPT SELECT user_id FROM events
       WHERE (occurred_at AT TIME ZONE 'UTC')::date = '2025-12-01'""",
])
def test_5_2_right_answers_pass(ch, sql):
    passes(ch, "5.2", sql)


def test_5_2_not_in_over_anonymous_events_fails_with_the_null_lesson(ch):
    fails(ch, "5.2", """SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM events
                        WHERE occurred_at >= '2025-12-01' AND occurred_at < '2025-12-02')""",
          "no user at all", "NOT EXISTS")


@pytest.mark.parametrize("sql", [
    """SELECT u.id FROM users u WHERE NOT EXISTS (SELECT FROM events e WHERE e.user_id = u.id
       AND e.occurred_at BETWEEN '2025-12-01' AND '2025-12-02')""",
    """SELECT u.id FROM users u WHERE NOT EXISTS (SELECT FROM events e WHERE e.user_id = u.id
       AND e.occurred_at > '2025-12-01' AND e.occurred_at < '2025-12-02')""",
])
def test_5_2_a_day_with_the_wrong_bounds_fails_at_midnight(ch, sql):
    fails(ch, "5.2", sql, "exactly 2025-12-02 00:00", "BETWEEN includes the next midnight")


def test_5_2_not_in_without_the_nulls_passes(ch):
    passes(ch, "5.2", """SELECT id FROM users u WHERE u.id NOT IN (SELECT coalesce(user_id, -1) FROM events
                         WHERE occurred_at >= '2025-12-01' AND occurred_at < '2025-12-02');""")


@pytest.mark.parametrize("sql, reason", [
    ("SELECT u.id FROM users u WHERE NOT EXISTS (SELECT FROM events e WHERE e.user_id = u.id)", "missing"),
    ("""SELECT u.id FROM users u WHERE NOT EXISTS (SELECT FROM events e WHERE e.user_id = u.id
        AND e.occurred_at >= '2025-12-01 00:00 America/New_York' AND e.occurred_at < '2025-12-02 00:00 America/New_York')""",
     "your query returns"),
    ("SELECT DISTINCT user_id FROM events WHERE occurred_at >= '2025-12-01' AND occurred_at < '2025-12-02'", "your query"),
])
def test_5_2_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.2", sql, reason)


# ---- 5.3 LATERAL ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.TOP3_ORDERS,
    """SELECT user_id, id, total_amount FROM (
         SELECT user_id, id, total_amount, row_number() OVER (PARTITION BY user_id ORDER BY total_amount DESC, id) AS n
         FROM orders WHERE user_id <= 100) t WHERE n <= 3 ORDER BY user_id, n""",
    """SELECT o.user_id, o.id, o.total_amount FROM orders o
       WHERE o.user_id <= 100 AND (SELECT count(*) FROM orders b WHERE b.user_id = o.user_id
             AND (b.total_amount > o.total_amount OR (b.total_amount = o.total_amount AND b.id < o.id))) < 3""",
])
def test_5_3_right_answers_pass(ch, sql):
    passes(ch, "5.3", sql)


@pytest.mark.parametrize("sql, reason", [
    ("""SELECT user_id, id, total_amount FROM (SELECT user_id, id, total_amount,
        rank() OVER (PARTITION BY user_id ORDER BY total_amount DESC) AS n FROM orders WHERE user_id <= 100) t
        WHERE n <= 3""", "when every order of these users totals 100.00"),
    ("""SELECT u.id, o.id, o.total_amount FROM users u LEFT JOIN LATERAL (SELECT id, total_amount FROM orders
        WHERE user_id = u.id ORDER BY total_amount DESC, id LIMIT 3) o ON true WHERE u.id <= 100""", "not expected"),
    ("""SELECT u.id, o.id, o.total_amount FROM users u CROSS JOIN LATERAL (SELECT id, total_amount FROM orders
        WHERE user_id = u.id ORDER BY total_amount, id LIMIT 3) o WHERE u.id <= 100""", "your query returns"),
])
def test_5_3_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.3", sql, reason)


def test_5_3_stopping_before_user_100_fails(ch):
    fails(ch, "5.3", C.TOP3_ORDERS.replace("u.id <= 100", "u.id < 100"), "when user 100 has orders", "u.id <= 100")


def test_5_3_the_ties_are_rolled_back(ch):
    before = _rows(ch, "SELECT sum(total_amount) FROM orders WHERE user_id <= 100")
    passes(ch, "5.3", C.TOP3_ORDERS)
    assert _rows(ch, "SELECT sum(total_amount) FROM orders WHERE user_id <= 100") == before


def test_5_3_hard_coded_rows_fail_on_the_second_dataset(ch):
    _sql(ch, "UPDATE orders SET total_amount = total_amount + 1000 WHERE id = (SELECT min(id) FROM orders WHERE user_id <= 100)")
    rows = _rows(ch, C.TOP3_ORDERS)
    fails(ch, "5.3", f"SELECT * FROM (VALUES {_values(rows)}) AS t (user_id, order_id, total_amount)",
          "second sample dataset")


# ---- 5.4 FILTER ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.COUNTRY_COUNTS,
    """SELECT country_code, count(*), sum(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END),
              count(CASE WHEN deleted_at IS NULL AND is_verified THEN 1 END)
       FROM users GROUP BY 1 ORDER BY 2 DESC""",
])
def test_5_4_right_answers_pass(ch, sql):
    passes(ch, "5.4", sql)


@pytest.mark.parametrize("sql, reason", [
    ("""SELECT country_code, count(*), count(*) FILTER (WHERE deleted_at IS NULL),
        count(*) FILTER (WHERE is_verified) FROM users GROUP BY 1""", "column 4"),
    ("""SELECT country_code, count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NULL),
        count(*) FILTER (WHERE deleted_at IS NULL AND is_verified) FROM users GROUP BY 1""", "column 2"),
    ("SELECT country_code, count(*) FROM users GROUP BY 1", "expected 4"),
])
def test_5_4_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.4", sql, reason)


def test_5_4_hard_coded_counts_fail_on_the_second_dataset(ch):
    _sql(ch, "UPDATE users SET deleted_at = created_at + interval '1 day' WHERE id = (SELECT min(id) FROM users WHERE deleted_at IS NULL)")
    rows = _rows(ch, C.COUNTRY_COUNTS)
    fails(ch, "5.4", f"SELECT * FROM (VALUES {_values(rows)}) AS t (c, u, l, v)", "second sample dataset")


# ---- 5.5 ROLLUP ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.REVENUE_ROLLUP + " ORDER BY 1, 2",
    """SELECT date_part('year', created_at)::int, date_part('quarter', created_at)::int, sum(total_amount)
       FROM orders WHERE status = 'completed'
       GROUP BY GROUPING SETS ((date_part('year', created_at), date_part('quarter', created_at)),
                               (date_part('year', created_at)), ())""",
    """WITH q AS (SELECT extract(year FROM created_at) AS y, extract(quarter FROM created_at) AS q, sum(total_amount) AS r
                 FROM orders WHERE status = 'completed' GROUP BY 1, 2)
       SELECT y, q, r FROM q UNION ALL SELECT y, NULL, sum(r) FROM q GROUP BY y UNION ALL SELECT NULL, NULL, sum(r) FROM q""",
])
def test_5_5_right_answers_pass(ch, sql):
    passes(ch, "5.5", sql)


@pytest.mark.parametrize("sql, reason", [
    ("""SELECT extract(year FROM created_at), extract(quarter FROM created_at), sum(total_amount)
        FROM orders WHERE status = 'completed' GROUP BY 1, 2""", "missing"),
    ("""SELECT extract(year FROM created_at), extract(quarter FROM created_at), sum(total_amount)
        FROM orders GROUP BY ROLLUP (1, 2)""", "completed orders only"),
    ("""SELECT extract(year FROM created_at), extract(quarter FROM created_at), sum(total_amount)
        FROM orders WHERE status = 'completed' GROUP BY CUBE (1, 2)""", "not expected"),
])
def test_5_5_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.5", sql, reason)


# ---- 5.6 rank with ties --------------------------------------------------------------------------
RANKED = """SELECT product_id, units, {fn}() OVER (ORDER BY units DESC) AS r
FROM (SELECT i.product_id, sum(i.quantity) AS units FROM order_items i JOIN orders o ON o.id = i.order_id
      WHERE o.status = 'completed' AND o.created_at >= '2025-12-01' AND o.created_at < '2026-01-01'
      GROUP BY i.product_id) u"""


@pytest.mark.parametrize("sql", [
    C.BEST_SELLERS,
    f"SELECT * FROM ({RANKED.format(fn='rank')}) t WHERE r <= 10 ORDER BY r",
    """SELECT product_id, units, rank FROM (
         SELECT i.product_id, sum(quantity) AS units, rank() OVER (ORDER BY sum(quantity) DESC) AS rank
         FROM order_items i WHERE i.order_id IN (SELECT id FROM orders WHERE status = 'completed'
              AND created_at >= '2025-12-01 00:00+00' AND created_at < '2026-01-01 00:00+00')
         GROUP BY 1) t WHERE rank <= 10""",
    """SELECT product_id, units, 1 + (SELECT count(*) FROM ({units}) b WHERE b.units > a.units) AS rank
       FROM ({units}) a WHERE (SELECT count(*) FROM ({units}) b WHERE b.units > a.units) < 10""".format(units=C.DECEMBER_UNITS),
])
def test_5_6_right_answers_pass(ch, sql):
    passes(ch, "5.6", sql)


@pytest.mark.parametrize("sql, reason", [
    (f"SELECT * FROM ({RANKED.format(fn='row_number')}) t WHERE r <= 10", "rank(), not row_number()"),
    (f"SELECT * FROM ({RANKED.format(fn='dense_rank')}) t WHERE r <= 10", "rank(), not row_number() or dense_rank()"),
    (f"SELECT * FROM ({RANKED.format(fn='rank')}) t ORDER BY units DESC LIMIT 10", "not with LIMIT 10"),
    (f"SELECT * FROM ({RANKED.format(fn='rank').replace(chr(39) + 'completed' + chr(39), chr(39) + 'shipped' + chr(39))}) t WHERE r <= 10",
     "completed December orders"),
])
def test_5_6_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.6", sql, reason)


def test_5_6_hard_coded_rows_fail_on_the_second_dataset(ch):
    _sql(ch, """UPDATE order_items SET quantity = quantity + 1000 WHERE id = (
                  SELECT min(i.id) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = 'completed'
                  AND o.created_at >= '2025-12-01' AND o.created_at < '2026-01-01')""")
    rows = _rows(ch, C.BEST_SELLERS)
    fails(ch, "5.6", f"SELECT * FROM (VALUES {_values(rows)}) AS t (product_id, units, rank)", "second sample dataset")


# ---- 5.7 running total ---------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.RUNNING_TOTAL,
    """SELECT date_trunc('day', created_at) AS day, sum(total_amount),
              sum(sum(total_amount)) OVER (ORDER BY date_trunc('day', created_at) ROWS UNBOUNDED PRECEDING)
       FROM orders WHERE status = 'completed' AND created_at >= '2025-12-01' AND created_at < '2026-01-01'
       GROUP BY 1 ORDER BY 1""",
    """SELECT d.day, d.revenue, (SELECT sum(total_amount) FROM orders WHERE status = 'completed'
              AND created_at >= '2025-12-01' AND created_at < d.day + 1) AS running
       FROM (SELECT created_at::date AS day, sum(total_amount) AS revenue FROM orders WHERE status = 'completed'
             AND created_at >= '2025-12-01' AND created_at < '2026-01-01' GROUP BY 1) d ORDER BY d.day""",
])
def test_5_7_right_answers_pass(ch, sql):
    passes(ch, "5.7", sql)


@pytest.mark.parametrize("sql, reason", [
    (C.RUNNING_TOTAL.replace("\nORDER BY day", "\nORDER BY day DESC"), "wrong order"),
    (C.RUNNING_TOTAL.replace("sum(revenue) OVER (ORDER BY day)", "sum(revenue) OVER ()"), "column 3"),
    (C.RUNNING_TOTAL.replace("status = 'completed' AND ", ""), "your query returns"),
])
def test_5_7_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.7", sql, reason)


def test_5_7_rows_in_the_wrong_order_fail_where_order_was_asked(ch):
    result = fails(ch, "5.7", C.RUNNING_TOTAL.replace("\nORDER BY day", "\nORDER BY revenue"), "wrong order")
    assert "ORDER BY" in result.hint


# ---- 5.8 LAG -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.MONTH_OVER_MONTH,
    """WITH m AS (SELECT date_trunc('month', created_at) AS m, count(*) AS n FROM orders GROUP BY 1)
       SELECT extract(month FROM m)::int, n, prev, n - prev FROM (
         SELECT m, n, lag(n) OVER (ORDER BY m) AS prev FROM m) t
       WHERE m >= '2025-01-01' AND m < '2026-01-01' ORDER BY m""",
    """SELECT month, n, prev, n - prev FROM (
         SELECT g AS month,
                (SELECT count(*) FROM orders WHERE created_at >= make_date(2025, g, 1) AND created_at < make_date(2025, g, 1) + interval '1 month') AS n,
                (SELECT count(*) FROM orders WHERE created_at >= make_date(2025, g, 1) - interval '1 month' AND created_at < make_date(2025, g, 1)) AS prev
         FROM generate_series(1, 12) AS g) t ORDER BY month""",
])
def test_5_8_right_answers_pass(ch, sql):
    passes(ch, "5.8", sql)


@pytest.mark.parametrize("sql, reason", [
    ("""SELECT extract(month FROM m), n, lag(n) OVER (ORDER BY m), n - lag(n) OVER (ORDER BY m)
        FROM (SELECT date_trunc('month', created_at) AS m, count(*) AS n FROM orders
              WHERE created_at >= '2025-01-01' AND created_at < '2026-01-01' GROUP BY 1) t ORDER BY 1""",
     "a WHERE runs before the window"),
    (C.MONTH_OVER_MONTH.replace("ORDER BY month", "ORDER BY orders DESC"), "wrong order"),
    (C.MONTH_OVER_MONTH.replace("lag(n)", "lead(n)"), "your query returns"),
])
def test_5_8_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.8", sql, reason)


# ---- 5.9 DISTINCT ON -----------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.PRICIEST_PER_CATEGORY,
    """SELECT category_id, id, name, price FROM (SELECT *, row_number() OVER (PARTITION BY category_id
       ORDER BY price DESC, id) AS n FROM products WHERE status = 'published') t WHERE n = 1""",
    """SELECT p.category_id, p.id, p.name, p.price FROM products p WHERE p.status = 'published'
       AND NOT EXISTS (SELECT FROM products q WHERE q.status = 'published' AND q.category_id = p.category_id
                       AND (q.price > p.price OR (q.price = p.price AND q.id < p.id)))""",
])
def test_5_9_right_answers_pass(ch, sql):
    passes(ch, "5.9", sql)


@pytest.mark.parametrize("sql, reason", [
    (C.PRICIEST_PER_CATEGORY.replace("price DESC, id", "price DESC, id DESC"), "smaller id wins"),
    (C.PRICIEST_PER_CATEGORY.replace("WHERE status = 'published'", ""), "published only"),
    (C.PRICIEST_PER_CATEGORY.replace("price DESC", "price"), "your query returns"),
])
def test_5_9_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.9", sql, reason)


def test_5_9_the_price_ties_are_rolled_back(ch):
    before = _rows(ch, "SELECT sum(price) FROM products")
    passes(ch, "5.9", C.PRICIEST_PER_CATEGORY)
    assert _rows(ch, "SELECT sum(price) FROM products") == before


# ---- 5.10 recursive CTE --------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.PRODUCTS_PER_ROOT,
    """WITH RECURSIVE up AS (SELECT id AS category_id, id, parent_id FROM categories
                             UNION ALL SELECT up.category_id, c.id, c.parent_id FROM up JOIN categories c ON c.id = up.parent_id)
       SELECT r.name, (SELECT count(*) FROM products p JOIN up ON up.category_id = p.category_id WHERE up.id = r.id)
       FROM categories r WHERE r.parent_id IS NULL""",
])
def test_5_10_right_answers_pass(ch, sql):
    passes(ch, "5.10", sql)


@pytest.mark.parametrize("sql, reason", [
    ("""SELECT r.name, count(p.id) FROM categories r LEFT JOIN categories c ON c.parent_id = r.id OR c.id = r.id
        LEFT JOIN products p ON p.category_id = c.id WHERE r.parent_id IS NULL GROUP BY r.id, r.name""", "column 2"),
    (C.PRODUCTS_PER_ROOT.replace("LEFT JOIN products p ON p.category_id = t.id",
                                 "LEFT JOIN products p ON p.category_id = t.id AND p.status = 'published'"), "column 2"),
])
def test_5_10_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.10", sql, reason)


def test_5_10_a_root_without_products_must_be_listed(ch):
    fails(ch, "5.10", C.PRODUCTS_PER_ROOT.replace("LEFT JOIN products", "JOIN products"), "new root category", "LEFT JOIN")
    assert _rows(ch, "SELECT count(*) FROM categories WHERE name = 'Gift Cards'") == [(0,)]


def test_5_10_hard_coded_counts_fail_on_the_second_dataset(ch):
    _sql(ch, "DELETE FROM products WHERE id = (SELECT max(id) FROM products WHERE id NOT IN (SELECT product_id FROM order_items))")
    rows = _rows(ch, C.PRODUCTS_PER_ROOT)
    fails(ch, "5.10", f"SELECT * FROM (VALUES {_values(rows)}) AS t (name, products)", "second sample dataset")


# ---- 5.11 upsert with RETURNING --------------------------------------------------------------------
LOGIN_UPSERT = """INSERT INTO user_stats (user_id, login_count, last_login_at)
SELECT user_id, logins, last_login_at FROM login_batch
ON CONFLICT (user_id) DO UPDATE SET login_count = user_stats.login_count + EXCLUDED.login_count,
    last_login_at = greatest(user_stats.last_login_at, EXCLUDED.last_login_at)
RETURNING user_id, login_count"""

LOGIN_MERGE = """MERGE INTO user_stats AS s USING login_batch AS b ON s.user_id = b.user_id
WHEN MATCHED THEN UPDATE SET login_count = s.login_count + b.logins,
     last_login_at = CASE WHEN s.last_login_at > b.last_login_at THEN s.last_login_at ELSE b.last_login_at END,
     updated_at = now()
WHEN NOT MATCHED THEN INSERT (user_id, login_count, last_login_at) VALUES (b.user_id, b.logins, b.last_login_at)
RETURNING s.user_id, s.login_count"""


def test_5_11_needs_the_set_up(ch):
    fails(ch, "5.11", LOGIN_UPSERT, "no table login_batch", "set-up cell")


@pytest.mark.parametrize("sql", [LOGIN_UPSERT, LOGIN_MERGE, LOGIN_UPSERT + ";"])
def test_5_11_right_statements_pass_and_change_nothing(ch, sql):
    _sql(ch, C.LOGIN_BATCH_SETUP)
    before = _rows(ch, "SELECT sum(login_count), count(*) FROM user_stats")
    passes(ch, "5.11", sql)
    assert _rows(ch, "SELECT sum(login_count), count(*) FROM user_stats") == before


def test_5_11_passes_after_the_notebook_ran_the_statement_already(ch):
    _sql(ch, C.LOGIN_BATCH_SETUP, LOGIN_UPSERT, LOGIN_UPSERT)
    passes(ch, "5.11", LOGIN_UPSERT)


@pytest.mark.parametrize("sql, reason", [
    (LOGIN_UPSERT.replace("user_stats.login_count + EXCLUDED.login_count", "EXCLUDED.login_count"), "add the batch to the count"),
    (LOGIN_UPSERT.replace("greatest(user_stats.last_login_at, EXCLUDED.last_login_at)", "EXCLUDED.last_login_at"),
     "the later of the two"),
    (LOGIN_UPSERT.replace("\nRETURNING user_id, login_count", ""), "returns nothing"),
    (LOGIN_UPSERT.replace("RETURNING user_id, login_count", "RETURNING user_id"), "what your statement returns"),
    ("""UPDATE user_stats s SET login_count = s.login_count + b.logins,
        last_login_at = greatest(s.last_login_at, b.last_login_at) FROM login_batch b WHERE b.user_id = s.user_id
        RETURNING s.user_id, s.login_count""", "still have no user_stats row"),
    (LOGIN_UPSERT.replace("SELECT user_id, logins, last_login_at FROM login_batch",
                          "SELECT user_id, logins, last_login_at FROM login_batch UNION ALL SELECT user_id, 1, last_login_at "
                          "FROM user_stats WHERE user_id NOT IN (SELECT user_id FROM login_batch) AND last_login_at IS NOT NULL"),
     "not in the batch"),
])
def test_5_11_wrong_statements_fail(ch, sql, reason):
    _sql(ch, C.LOGIN_BATCH_SETUP)
    fails(ch, "5.11", sql, reason)


# ---- 5.12 bulk upsert ------------------------------------------------------------------------------
FEED_UPSERT = """INSERT INTO products (sku, name, price, category_id)
SELECT sku, name, price, category_id FROM product_feed
ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price, updated_at = now()"""

FEED_MERGE = """MERGE INTO products p USING product_feed f ON p.sku = f.sku
WHEN MATCHED THEN UPDATE SET name = f.name, price = f.price, updated_at = now()
WHEN NOT MATCHED THEN INSERT (sku, name, price, category_id) VALUES (f.sku, f.name, f.price, f.category_id)"""


def test_5_12_needs_the_set_up(ch):
    fails(ch, "5.12", FEED_UPSERT, "no table product_feed")


@pytest.mark.parametrize("sql", [FEED_UPSERT, FEED_MERGE, FEED_UPSERT + " RETURNING id"])
def test_5_12_right_statements_pass_and_change_nothing(ch, sql):
    _sql(ch, C.PRODUCT_FEED_SETUP)
    before = _rows(ch, "SELECT count(*), sum(price) FROM products")
    passes(ch, "5.12", sql)
    assert _rows(ch, "SELECT count(*), sum(price) FROM products") == before


def test_5_12_passes_after_the_notebook_ran_it(ch):
    _sql(ch, C.PRODUCT_FEED_SETUP, FEED_UPSERT)
    passes(ch, "5.12", FEED_UPSERT)


@pytest.mark.parametrize("sql, reason", [
    ("UPDATE products p SET name = f.name, price = f.price, updated_at = now() FROM product_feed f WHERE f.sku = p.sku",
     "not in products"),
    (FEED_UPSERT.replace("ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price, updated_at = now()",
                         "ON CONFLICT (sku) DO NOTHING"), "the feed's name"),
    (FEED_UPSERT.replace("name = EXCLUDED.name, ", ""), "the feed's name"),
    (FEED_UPSERT.replace(", price = EXCLUDED.price", ""), "the feed's price"),
    (FEED_UPSERT.replace(", updated_at = now()", ""), "kept their old updated_at"),
    (FEED_UPSERT.replace("SELECT sku, name, price, category_id FROM product_feed",
                         "SELECT sku, name, price, 2 FROM product_feed"), "not in the feed's category"),
    (FEED_MERGE + "\nWHEN NOT MATCHED BY SOURCE AND status = 'draft' THEN DELETE", "not in the feed"),
])
def test_5_12_wrong_statements_fail(ch, sql, reason):
    _sql(ch, C.PRODUCT_FEED_SETUP)
    fails(ch, "5.12", sql, reason)


# ---- 5.13 full-text search --------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.SEARCH_RESULTS,
    f"""SELECT id, name FROM products WHERE status = 'published'
        AND search_vector @@ websearch_to_tsquery('english', '{C.SEARCH_TEXT}')
        ORDER BY ts_rank(search_vector, websearch_to_tsquery('english', '{C.SEARCH_TEXT}')) DESC, id FETCH FIRST 10 ROWS ONLY""",
    """SELECT id, name FROM products, to_tsquery('english', 'lamp | chair | desk') q
       WHERE search_vector @@ q AND status = 'published' ORDER BY ts_rank(search_vector, q) DESC, id LIMIT 10""",
])
def test_5_13_right_answers_pass(ch, sql):
    passes(ch, "5.13", sql)


@pytest.mark.parametrize("sql, reason", [
    (C.SEARCH_RESULTS.replace("DESC, id", "DESC, id DESC"), "your query returns"),
    (C.SEARCH_RESULTS.replace("ORDER BY ts_rank(search_vector, q) DESC, id", "ORDER BY id"), "your query returns"),
    (C.SEARCH_RESULTS.replace("status = 'published' AND ", ""), "published"),
    (C.SEARCH_RESULTS.replace("websearch_to_tsquery", "plainto_tsquery"), "your query returns"),
])
def test_5_13_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.13", sql, reason)


def test_5_13_right_rows_in_the_wrong_order_fail(ch):
    rows = _rows(ch, C.SEARCH_RESULTS)
    assert len(rows) > 1
    ids = ", ".join(str(r[0]) for r in rows)
    fails(ch, "5.13", f"SELECT id, name FROM products WHERE id IN ({ids}) ORDER BY name", "wrong order", "ORDER BY")


def test_5_13_hard_coded_rows_fail_on_the_second_dataset(ch):
    _sql(ch, "UPDATE products SET name = 'Desk Lamp Chair' WHERE id = (SELECT max(id) FROM products WHERE status = 'published')")
    rows = _rows(ch, C.SEARCH_RESULTS)
    fails(ch, "5.13", f"SELECT * FROM (VALUES {_values(rows)}) AS t (id, name)", "second sample dataset")


# ---- 5.14 a month in Tokyo --------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.TOKYO_JANUARY,
    "SELECT count(*) FROM orders WHERE (created_at AT TIME ZONE 'Asia/Tokyo') >= '2025-01-01' AND (created_at AT TIME ZONE 'Asia/Tokyo') < '2025-02-01'",
    "SELECT count(*) FROM orders WHERE date_trunc('month', created_at, 'Asia/Tokyo') = '2025-01-01 00:00 Asia/Tokyo'",
    "SELECT count(*) FROM orders WHERE created_at >= '2024-12-31 15:00+00' AND created_at < '2025-01-31 15:00+00'",
])
def test_5_14_right_answers_pass(ch, sql):
    passes(ch, "5.14", sql)


@pytest.mark.parametrize("sql, reason", [
    ("SELECT count(*) FROM orders WHERE created_at BETWEEN '2025-01-01 00:00 Asia/Tokyo' AND '2025-01-31 00:00 Asia/Tokyo'",
     "BETWEEN"),
    ("SELECT count(*) FROM orders WHERE created_at >= '2025-01-01' AND created_at < '2025-02-01'", "TimeZone set to UTC"),
    ("SELECT count(*) FROM orders WHERE date_trunc('month', created_at) = '2025-01-01'", "half-open"),
])
def test_5_14_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.14", sql, reason)


def test_5_14_a_hard_coded_count_fails_on_the_second_dataset(ch):
    (n,), = _rows(ch, C.TOKYO_JANUARY)
    _sql(ch, "DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE created_at >= '2025-01-10')")
    fails(ch, "5.14", f"SELECT {n - 1}", "second sample dataset")


# ---- 5.15 gap-free report ---------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    C.BIG_ORDERS_PER_DAY,
    """SELECT d::date, count(o.id) FROM generate_series(date '2025-12-01', date '2025-12-31', interval '1 day') d
       LEFT JOIN orders o ON o.created_at >= d AND o.created_at < d + interval '1 day' AND o.total_amount > 1000
       GROUP BY d ORDER BY d""",
    """SELECT d, (SELECT count(*) FROM orders WHERE total_amount > 1000 AND created_at >= d AND created_at < d + interval '1 day')
       FROM generate_series(date '2025-12-01', date '2025-12-31', interval '1 day') AS g(d) ORDER BY 1""",
])
def test_5_15_right_answers_pass(ch, sql):
    passes(ch, "5.15", sql)


@pytest.mark.parametrize("sql, reason", [
    ("""SELECT created_at::date, count(*) FROM orders WHERE total_amount > 1000
        AND created_at >= '2025-12-01' AND created_at < '2026-01-01' GROUP BY 1 ORDER BY 1""", "without a big order"),
    ("""SELECT d::date, count(o.id) FROM generate_series(date '2025-12-01', date '2025-12-31', interval '1 day') d
        LEFT JOIN orders o ON o.created_at >= d AND o.created_at < d + interval '1 day'
        WHERE o.total_amount > 1000 GROUP BY d ORDER BY d""", "in WHERE it drops the empty days"),
    ("""SELECT d::date, count(*) FROM generate_series(date '2025-12-01', date '2025-12-31', interval '1 day') d
        LEFT JOIN orders o ON o.created_at >= d AND o.created_at < d + interval '1 day' AND o.total_amount > 1000
        GROUP BY d ORDER BY d""", "count(o.id)"),
    ("""SELECT d::date, count(o.id) FROM generate_series(timestamptz '2025-12-31 14:30+00' - interval '30 days',
        timestamptz '2025-12-31 14:30+00', interval '1 day') d
        LEFT JOIN orders o ON date_trunc('day', o.created_at) = d AND o.total_amount > 1000 GROUP BY d ORDER BY d""",
     "your query returns"),
])
def test_5_15_wrong_answers_fail(ch, sql, reason):
    fails(ch, "5.15", sql, reason)


@pytest.mark.parametrize("sql", [
    C.BIG_ORDERS_PER_DAY.replace("total_amount > 1000", "total_amount >= 1000"),
    """SELECT d::date, count(o.id) FROM generate_series(date '2025-12-01', date '2025-12-31', interval '1 day') d
       LEFT JOIN orders o ON o.created_at BETWEEN d AND d + interval '1 day' AND o.total_amount > 1000
       GROUP BY d ORDER BY d""",
])
def test_5_15_at_least_1000_or_a_day_that_includes_the_next_midnight_fails(ch, sql):
    fails(ch, "5.15", sql, "exactly 1,000.00", "total_amount > 1000")


def test_5_15_right_days_in_the_wrong_order_fail(ch):
    fails(ch, "5.15", C.BIG_ORDERS_PER_DAY.replace("ORDER BY day", "ORDER BY day DESC"), "wrong order", "ORDER BY")


def test_5_15_hard_coded_days_fail_on_the_second_dataset(ch):
    _sql(ch, "UPDATE orders SET total_amount = 5000 WHERE id = (SELECT min(id) FROM orders WHERE created_at >= '2025-12-05')")
    rows = [(f"{d}", n) for d, n in _rows(ch, C.BIG_ORDERS_PER_DAY)]
    fails(ch, "5.15", f"SELECT day::date, n FROM (VALUES {_values(rows)}) AS t (day, n) ORDER BY 1", "second sample dataset")


# ---- issue 11's "Done when", on the notebook's own dataset ------------------------------------------------
@pytest.fixture
def small(make_chapter):
    chapter = make_chapter("05", size="small")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def test_result_checks_fail_values_typed_in_from_small_and_right_rows_in_the_wrong_order(small):
    """The values of `small` typed in fail on the second dataset; right rows in another order fail where the task
    asks for an order (5.15: by day; 5.13: by rank), and pass where it does not (5.4)."""
    days = [(f"{d}", n) for d, n in _rows(small, C.BIG_ORDERS_PER_DAY)]
    fails(small, "5.15", f"SELECT day::date, n FROM (VALUES {_values(days)}) AS t (day, n) ORDER BY 1",
          "second sample dataset")
    countries = _rows(small, C.COUNTRY_COUNTS)
    fails(small, "5.4", f"SELECT * FROM (VALUES {_values(countries)}) AS t (country_code, users, live, verified_live)",
          "second sample dataset")
    fails(small, "5.15", C.BIG_ORDERS_PER_DAY.replace("ORDER BY day", "ORDER BY orders, day"), "wrong order", "ORDER BY")
    ids = ", ".join(str(r[0]) for r in _rows(small, C.SEARCH_RESULTS))
    fails(small, "5.13", f"SELECT id, name FROM products WHERE id IN ({ids}) ORDER BY id", "wrong order", "ORDER BY")
    passes(small, "5.4", C.COUNTRY_COUNTS + " ORDER BY users DESC")
