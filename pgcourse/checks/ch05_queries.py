"""Checks for chapter 05, Queries.

Result exercises run the learner's saved query read-only, as the learner, and compare its rows
with a reference query's, here and on the second sample dataset (``ctx.same_result``): a query
that types in values seen in one dataset fails on the other. Rows are compared in order only
where the task asks for an order; elsewhere any order passes. Where the data have no ties but the
task says how to break them, the check also runs the answer after making ties (in a transaction
that is always rolled back). The two write exercises (5.11, 5.12) replay the learner's statement
in a transaction that is rolled back and compare the table before and after.

The parts of each task statement, and how the check tests each one:

5.1 id of every published product whose description does not contain 'dishwasher', products
    without a description included; any order.
    - published only, the text filter, the NULL descriptions kept: compared with a reference
      (a message of its own when exactly the NULL descriptions are missing)
5.2 id of every user with no event on 2025-12-01 (UTC); any order.
    - the anti-join, anonymous events (NULL user_id) not hiding every user: compared with a
      reference (a message of its own for the empty result NOT IN gives)
    - the day's bounds, [2025-12-01 00:00, 2025-12-02 00:00): again after events at both midnights
      are added (rolled back), which BETWEEN or > get wrong
5.3 The three largest orders of each user with id up to 100: user_id, order id, total_amount;
    equal totals: smaller order id first; users without orders absent; any order.
    - compared with a reference; the tie-break: again after the orders of those users get equal
      totals (rolled back)
    - "up to 100" includes 100: again after user 100 gets orders (rolled back)
5.4 Per country_code: users, live users (deleted_at IS NULL), live verified users; any order.
    - the three counts per country: compared with a reference
5.5 Revenue of completed orders per year and quarter, with a subtotal per year (quarter NULL)
    and a grand total (both NULL); year and quarter as numbers; any order.
    - the groups, the subtotal rows, the grand total: compared with a reference
5.6 The best-selling products of December 2025 (units of completed orders): product_id, units,
    rank; equal units share a rank and the next rank skips (1, 2, 2, 4); every product ranked 10
    or better; any order.
    - compared with a reference, and again after ties are made at ranks 4 and 10 (rolled back):
      row_number and dense_rank differ from rank only there
5.7 Revenue of completed orders per UTC day of December 2025 and its running total;
    ordered by day.
    - the days (as date or as timestamp at midnight), revenue, running total, the order
5.8 Orders per month of 2025: month (1-12), orders, the previous month's orders (December 2024
    for January) and the change; ordered by month.
    - compared in order; January's previous month needs the window over all months first
5.9 For each category, its most expensive published product: category_id, id, name, price; equal
    prices: smaller id; any order.
    - compared with a reference; the tie-break: again after, in every category, the published
      product with the largest id gets the top price (rolled back)
5.10 For each root category: its name and the number of products in it and in all the
    categories below it, at any depth (all statuses); any order.
    - compared with a reference (a category five levels down counts)
    - a root without products listed with 0: again after one is added (rolled back)
5.11 One statement merges login_batch into user_stats: rows that exist get login_count + logins
    and the later last_login_at; missing rows are inserted; RETURNING user_id, login_count of
    every row written.
    - replayed in a rolled-back transaction: the batch's rows after it, the other rows untouched,
      the rows it returned
5.12 One statement upserts product_feed into products by sku: existing skus get the feed's name
    and price and updated_at = now(); new skus are inserted with name, price and category_id,
    numbered by the identity.
    - replayed in a rolled-back transaction: the feed's products after it, no duplicates, the
      other products untouched
5.13 The ten best matches among published products for the search `lamp OR chair OR desk`:
    id, name; ts_rank of search_vector against websearch_to_tsquery('english', ...) descending,
    equal ranks by id.
    - compared in order with a reference, here and on the sample
5.14 The number of orders placed in January 2025, Tokyo time.
    - compared under the session time zones UTC and America/New_York, and on the sample
5.15 For every day of December 2025 (UTC): the number of orders above 1,000; days without any
    with 0; ordered by day.
    - every day present (31 rows), the counts, the order; the day as date or timestamp
    - "above 1,000" and the day's bounds: again after an order of exactly 1,000.00 and a big one at
      midnight are added (rolled back)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from . import CheckContext, exercise
from .context import CheckFailed, compare_rows

# ---- set-up cells of the notebook (it shows this text verbatim; a test checks) -------------------
LOGIN_BATCH_SETUP = """DROP TABLE IF EXISTS login_batch;
CREATE TABLE login_batch (
    user_id       bigint PRIMARY KEY REFERENCES users (id),
    logins        integer NOT NULL CHECK (logins > 0),
    last_login_at timestamptz NOT NULL
);
-- December's logins, from the clickstream: users with a user_stats row, and users without one
INSERT INTO login_batch (user_id, logins, last_login_at)
SELECT user_id, count(*), max(occurred_at)
FROM events
WHERE event_type = 'login' AND user_id IS NOT NULL
  AND occurred_at >= '2025-12-01' AND occurred_at < '2026-01-01'
GROUP BY user_id;"""

PRODUCT_FEED_SETUP = """DROP TABLE IF EXISTS product_feed;
CREATE TABLE product_feed (
    sku         text PRIMARY KEY,
    name        text NOT NULL,
    price       numeric(12,2) NOT NULL CHECK (price >= 0),
    category_id bigint NOT NULL REFERENCES categories (id)
);
-- a supplier's feed: new names and prices for products we sell, and ten we do not have yet
INSERT INTO product_feed (sku, name, price, category_id)
SELECT sku, name || ' (2026)', round(price * 1.10, 2), category_id FROM products
WHERE id % 97 = 0 AND sku NOT LIKE 'FEED-%'
UNION ALL
SELECT 'FEED-' || lpad(g::text, 4, '0'), 'Feed Lamp ' || g, 19.99 + g, 1 FROM generate_series(1, 10) AS g;"""

#: 5.13: what a customer typed into the shop's search box.
SEARCH_TEXT = "lamp OR chair OR desk"

# ---- reference queries ---------------------------------------------------------------------------
NO_DISHWASHER = """SELECT id FROM products
WHERE status = 'published' AND (description IS NULL OR description NOT LIKE '%dishwasher%')"""

NO_EVENT_USERS = """SELECT u.id FROM users u
WHERE NOT EXISTS (SELECT FROM events e WHERE e.user_id = u.id
                  AND e.occurred_at >= '2025-12-01' AND e.occurred_at < '2025-12-02')"""

TOP3_ORDERS = """SELECT u.id AS user_id, o.id AS order_id, o.total_amount
FROM users u
CROSS JOIN LATERAL (SELECT id, total_amount FROM orders WHERE user_id = u.id
                    ORDER BY total_amount DESC, id LIMIT 3) o
WHERE u.id <= 100"""

COUNTRY_COUNTS = """SELECT country_code, count(*) AS users,
       count(*) FILTER (WHERE deleted_at IS NULL) AS live,
       count(*) FILTER (WHERE deleted_at IS NULL AND is_verified) AS verified_live
FROM users GROUP BY country_code"""

REVENUE_ROLLUP = """SELECT extract(year FROM created_at) AS year, extract(quarter FROM created_at) AS quarter,
       sum(total_amount) AS revenue
FROM orders WHERE status = 'completed'
GROUP BY ROLLUP (1, 2)"""

DECEMBER_UNITS = """SELECT i.product_id, sum(i.quantity) AS units
FROM order_items i JOIN orders o ON o.id = i.order_id
WHERE o.status = 'completed' AND o.created_at >= '2025-12-01' AND o.created_at < '2026-01-01'
GROUP BY i.product_id"""
BEST_SELLERS = f"""SELECT product_id, units, rank FROM (
    SELECT product_id, units, rank() OVER (ORDER BY units DESC) AS rank FROM ({DECEMBER_UNITS}) u) r
WHERE rank <= 10"""

RUNNING_TOTAL = """SELECT day, revenue, sum(revenue) OVER (ORDER BY day) AS running_total
FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, sum(total_amount) AS revenue
      FROM orders
      WHERE status = 'completed' AND created_at >= '2025-12-01' AND created_at < '2026-01-01'
      GROUP BY 1) d
ORDER BY day"""

MONTH_OVER_MONTH = """SELECT month, orders, previous, orders - previous AS change
FROM (SELECT extract(year FROM m) AS year, extract(month FROM m) AS month, n AS orders,
             lag(n) OVER (ORDER BY m) AS previous
      FROM (SELECT date_trunc('month', created_at, 'UTC') AS m, count(*) AS n FROM orders GROUP BY 1) per_month) t
WHERE year = 2025
ORDER BY month"""

PRICIEST_PER_CATEGORY = """SELECT DISTINCT ON (category_id) category_id, id, name, price
FROM products WHERE status = 'published'
ORDER BY category_id, price DESC, id"""

#: 5.9's ties: in each category, the published product with the largest id gets the category's top price.
TIE_PRICES = """UPDATE products p SET price = top.price
FROM (SELECT category_id, max(price) AS price, max(id) AS last_id FROM products
      WHERE status = 'published' GROUP BY category_id) AS top
WHERE p.id = top.last_id"""

PRODUCTS_PER_ROOT = """WITH RECURSIVE tree AS (
    SELECT id AS root_id, id FROM categories WHERE parent_id IS NULL
    UNION ALL
    SELECT t.root_id, c.id FROM categories c JOIN tree t ON c.parent_id = t.id)
SELECT r.name, count(p.id) AS products
FROM tree t JOIN categories r ON r.id = t.root_id LEFT JOIN products p ON p.category_id = t.id
GROUP BY r.id, r.name"""

#: 5.10: a root category without products (added in a transaction the check rolls back).
EMPTY_ROOT = "INSERT INTO categories (name, slug) VALUES ('Gift Cards', 'gift-cards-pgcourse-check')"

SEARCH_RESULTS = f"""SELECT id, name
FROM products, websearch_to_tsquery('english', '{SEARCH_TEXT}') AS q
WHERE status = 'published' AND search_vector @@ q
ORDER BY ts_rank(search_vector, q) DESC, id
LIMIT 10"""

TOKYO_JANUARY = """SELECT count(*) FROM orders
WHERE created_at >= '2025-01-01 00:00 Asia/Tokyo' AND created_at < '2025-02-01 00:00 Asia/Tokyo'"""

BIG_ORDERS_PER_DAY = """WITH big AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM orders
    WHERE total_amount > 1000 AND created_at >= '2025-12-01' AND created_at < '2026-01-01' GROUP BY 1)
SELECT d::date AS day, coalesce(big.n, 0) AS orders
FROM generate_series(date '2025-12-01', date '2025-12-31', interval '1 day') AS d
LEFT JOIN big ON big.day = d::date
ORDER BY day"""


# ---- helpers -------------------------------------------------------------------------------------
def _as_day(value: Any) -> Any:
    """A day given as a date, or as a timestamp(tz) at midnight UTC, as a date; anything else as it is."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        if value.time() == dt.time(0):
            return value.date()
    return value


def _day_first(row: tuple) -> tuple:
    return (_as_day(row[0]), *row[1:]) if row else row


def _expect_columns(ctx: CheckContext, sql: str, n: int, names: str) -> list[tuple]:
    """Run the answer; fail, naming the columns the task asks for, when it returns another number of columns."""
    cols, rows = ctx.run_answer(sql)
    ctx.expect(len(cols) == n, f"your query returns {len(cols)} column{'s' if len(cols) != 1 else ''}; expected {n} ({names})",
               f"SELECT {names} ...")
    return rows


# ---- 5.1 NULL in a filter ---------------------------------------------------------------------------
@exercise("5.1", "Products whose description does not mention the dishwasher")
def no_dishwasher(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    got = _expect_columns(ctx, sql, 1, "id")
    missing = {r[0] for r in ctx.rows(NO_DISHWASHER)} - {r[0] for r in got}
    no_text = {r[0] for r in ctx.rows("SELECT id FROM products WHERE status = 'published' AND description IS NULL")}
    ctx.expect(not missing or not missing <= no_text,
               f"your query misses the {len(missing)} published products that have no description (NULL)",
               "NULL NOT LIKE '%dishwasher%' is NULL, not true, so WHERE drops them: "
               "add OR description IS NULL (or compare coalesce(description, ''))")
    expected = ctx.same_result(sql, NO_DISHWASHER, hint="published products only; NOT LIKE '%dishwasher%', and keep NULLs")
    return f"{len(expected)} published products, the {len(no_text)} without a description included"


# ---- 5.2 anti-join --------------------------------------------------------------------------------
def _events_at_midnight(conn: psycopg.Connection) -> None:
    """Give two users without an event on 2025-12-01 one event each, at the day's two midnights."""
    first, second = [r[0] for r in conn.execute(NO_EVENT_USERS + " ORDER BY u.id LIMIT 2").fetchall()]
    conn.execute("""INSERT INTO events (user_id, event_type, occurred_at)
                    VALUES (%s, 'login', '2025-12-01 00:00:00+00'), (%s, 'login', '2025-12-02 00:00:00+00')""",
                 [first, second])


@exercise("5.2", "Users with no event on 2025-12-01")
def no_event_users(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    hint = "every user, minus those with an event from 2025-12-01 00:00 to 2025-12-02 00:00 (UTC)"
    try:
        expected = ctx.same_result(sql, NO_EVENT_USERS, hint=hint)
    except CheckFailed as failed:
        if failed.reason.startswith("your query returns 0 rows"):
            ctx.fail("your query returns no user at all",
                     "x NOT IN (a list holding a NULL) is never true, and anonymous events have user_id NULL: "
                     "write NOT EXISTS (SELECT FROM events e WHERE e.user_id = u.id AND ...)")
        raise
    ctx.same_rows_after(_events_at_midnight, sql, NO_EVENT_USERS,
                        what="with one user's event at exactly 2025-12-01 00:00 and another's at exactly "
                             "2025-12-02 00:00, your query",
                        hint="the day is [2025-12-01 00:00, 2025-12-02 00:00): occurred_at >= '2025-12-01' AND "
                             "occurred_at < '2025-12-02' (BETWEEN includes the next midnight, > misses the first)")
    return f"{len(expected)} users, anonymous events notwithstanding"


# ---- 5.3 LATERAL top-N per group ---------------------------------------------------------------------
def _orders_of_user_100(conn: psycopg.Connection) -> None:
    """Give user 100 (the last one the task includes) two orders, whether or not the data has any."""
    conn.execute("""INSERT INTO orders (user_id, order_number, status, total_amount, created_at, updated_at)
                    SELECT 100, 'CHECK-5.3-' || g, 'completed', 500 + g, '2025-06-01', '2025-06-01'
                    FROM generate_series(1, 2) AS g WHERE EXISTS (SELECT FROM users WHERE id = 100)""")


@exercise("5.3", "The three largest orders of each user")
def top3_orders(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    hint = ("per user: ORDER BY total_amount DESC, id LIMIT 3 inside a LATERAL subquery (or row_number() <= 3); "
            "users without orders do not appear")
    expected = ctx.same_result(sql, TOP3_ORDERS, hint=hint)
    ctx.same_rows_after(lambda conn: conn.execute("UPDATE orders SET total_amount = 100 WHERE user_id <= 100"),
                sql, TOP3_ORDERS, what="when every order of these users totals 100.00, your query",
                hint="equal totals: the smaller order id first (ORDER BY total_amount DESC, id)")
    ctx.same_rows_after(_orders_of_user_100, sql, TOP3_ORDERS, what="when user 100 has orders, your query",
                        hint="every user with id up to 100, user 100 included: u.id <= 100")
    return f"{len(expected)} orders, ties broken by the smaller id"


# ---- 5.4 FILTER --------------------------------------------------------------------------------------
@exercise("5.4", "Users per country, with FILTER")
def country_counts(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, COUNTRY_COUNTS,
                               hint="count(*) for all users, count(*) FILTER (WHERE deleted_at IS NULL) for the live ones, "
                                    "FILTER (WHERE deleted_at IS NULL AND is_verified) for the verified live ones")
    return f"{len(expected)} countries, three counts each in one pass"


# ---- 5.5 ROLLUP --------------------------------------------------------------------------------------
@exercise("5.5", "Revenue per quarter with subtotals")
def revenue_rollup(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, REVENUE_ROLLUP,
                               hint="completed orders only; GROUP BY ROLLUP (year, quarter) adds the per-year rows "
                                    "(quarter NULL) and the grand total (both NULL); year and quarter as numbers (extract)")
    return f"{len(expected)} rows: quarters, years and the grand total"


# ---- 5.6 rank with ties --------------------------------------------------------------------------------
def _make_ties(conn: psycopg.Connection) -> None:
    """Give the 5th and 11th best sellers of December as many units as the 4th and 10th (one line changed each)."""
    top = conn.execute(f"""SELECT i.product_id, sum(i.quantity) AS units, min(i.id) AS line
                           FROM order_items i JOIN orders o ON o.id = i.order_id
                           WHERE o.status = 'completed' AND o.created_at >= '2025-12-01' AND o.created_at < '2026-01-01'
                           GROUP BY i.product_id ORDER BY units DESC, i.product_id LIMIT 11""").fetchall()
    for above, below in ((3, 4), (9, 10)):
        if len(top) > below and top[above][1] > top[below][1]:
            conn.execute("UPDATE order_items SET quantity = quantity + %s WHERE id = %s",
                         [top[above][1] - top[below][1], top[below][2]])


@exercise("5.6", "Best sellers of December, ranked with ties")
def best_sellers(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    hint = "units = sum(quantity) of completed December orders; rank() OVER (ORDER BY units DESC), then keep rank <= 10"
    expected = ctx.same_result(sql, BEST_SELLERS, hint=hint)
    ctx.same_rows_after(_make_ties, sql, BEST_SELLERS,
                what="when two products tie at rank 4 and two at rank 10, your query",
                hint="equal units share a rank and the next rank is skipped (1, 2, 2, 4): rank(), not row_number() "
                     "or dense_rank(); filter on the rank (in an outer query), not with LIMIT 10")
    return f"{len(expected)} products, ties sharing a rank"


# ---- 5.7 running total ---------------------------------------------------------------------------------
@exercise("5.7", "December's daily revenue and its running total")
def running_total(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, RUNNING_TOTAL, ordered=True, normalize=_day_first,
                               hint="aggregate per day first, then sum(revenue) OVER (ORDER BY day); ORDER BY day")
    return f"{len(expected)} days, {expected[-1][2]} in all" if expected else "no completed orders in December"


# ---- 5.8 LAG ---------------------------------------------------------------------------------------------
@exercise("5.8", "Orders per month of 2025 against the month before")
def month_over_month(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, MONTH_OVER_MONTH, ordered=True,
                               hint="count per month over all months, lag(count) OVER (ORDER BY month) in that query, "
                                    "then keep 2025 in an outer query: a WHERE runs before the window, so filtering "
                                    "first leaves January without December 2024")
    return "12 months, January compared with December 2024" if len(expected) == 12 else f"{len(expected)} months"


# ---- 5.9 DISTINCT ON -----------------------------------------------------------------------------------
@exercise("5.9", "The most expensive published product of each category")
def priciest_per_category(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, PRICIEST_PER_CATEGORY,
                               hint="DISTINCT ON (category_id) ... ORDER BY category_id, price DESC, id; published only")
    ctx.same_rows_after(lambda conn: conn.execute(TIE_PRICES), sql, PRICIEST_PER_CATEGORY,
                what="when two published products share the top price of their category, your query",
                hint="equal prices: the smaller id wins (ORDER BY category_id, price DESC, id)")
    return f"{len(expected)} categories, one product each, ties to the smaller id"


# ---- 5.10 recursive CTE ----------------------------------------------------------------------------------
@exercise("5.10", "Products under each root category, at any depth")
def products_per_root(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, PRODUCTS_PER_ROOT,
                               hint="WITH RECURSIVE: start from the roots (parent_id IS NULL) carrying the root's id, "
                                    "join the children of each level; then count the products of every category reached")
    ctx.same_rows_after(lambda conn: conn.execute(EMPTY_ROOT), sql, PRODUCTS_PER_ROOT,
                what="with a new root category that has no products yet, your query",
                hint="every root category is listed, one without products with 0: LEFT JOIN products, count(p.id)")
    return f"{len(expected)} root categories, {sum(n for _, n in expected)} products in all"


# ---- 5.11 upsert with RETURNING ----------------------------------------------------------------------------
_BATCH_EXPECTED = """SELECT b.user_id, coalesce(s.login_count, 0) + b.logins,
       CASE WHEN s.last_login_at > b.last_login_at THEN s.last_login_at ELSE b.last_login_at END
FROM login_batch b LEFT JOIN user_stats s USING (user_id) ORDER BY 1"""
_BATCH_AFTER = """SELECT b.user_id, s.login_count, s.last_login_at
FROM login_batch b LEFT JOIN user_stats s USING (user_id) ORDER BY 1"""
_OTHER_STATS = """SELECT count(*), md5(coalesce(string_agg(format('%s|%s|%s', user_id, login_count, last_login_at), ','
                                                      ORDER BY user_id), ''))
FROM user_stats WHERE user_id NOT IN (SELECT user_id FROM login_batch)"""


def _require_table(ctx: CheckContext, table: str) -> None:
    ctx.expect(ctx.table_exists(table), f"there is no table {table}", "run the set-up cell above the exercise first")


@exercise("5.11", "Merge a batch of logins into user_stats, with RETURNING")
def login_upsert(ctx: CheckContext) -> str:
    _require_table(ctx, "login_batch")
    sql = ctx.answer().sql
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        expected = conn.execute(_BATCH_EXPECTED).fetchall()
        others = conn.execute(_OTHER_STATS).fetchone()
        cur = conn.execute(sql)
        returned = cur.fetchall() if cur.description else None
        columns = [c.name for c in cur.description or []]
        after = conn.execute(_BATCH_AFTER).fetchall()
        others_after = conn.execute(_OTHER_STATS).fetchone()
    missing = [r[0] for r in after if r[1] is None]
    ctx.expect(not missing, f"{len(missing)} users of the batch still have no user_stats row (e.g. user {missing[0] if missing else ''})",
               "users without a row must get one: INSERT ... ON CONFLICT (user_id) DO UPDATE, or MERGE ... WHEN NOT MATCHED THEN INSERT")
    counts = [(u, got, exp) for (u, got, _), (_, exp, _) in zip(after, expected) if got != exp]
    ctx.expect(not counts, (f"user {counts[0][0]} has login_count {counts[0][1]}; expected {counts[0][2]} "
                            f"({len(counts)} users wrong)") if counts else "",
               "add the batch to the count: login_count = user_stats.login_count + EXCLUDED.logins "
               "(EXCLUDED is the row you tried to insert)")
    times = [(u, got, exp) for (u, _, got), (_, _, exp) in zip(after, expected) if got != exp]
    ctx.expect(not times, (f"user {times[0][0]} has last_login_at {times[0][1]}; expected {times[0][2]}, the later of the two "
                           f"({len(times)} users wrong)") if times else "",
               "keep the later timestamp: greatest(user_stats.last_login_at, EXCLUDED.last_login_at)")
    ctx.expect(others == others_after, "your statement changed user_stats rows of users who are not in the batch",
               "touch only the users of login_batch")
    ctx.expect(returned is not None, "your statement returns nothing",
               "end it with RETURNING user_id, login_count (ON CONFLICT and MERGE both have RETURNING)")
    compare_rows(returned, [(u, n) for u, n, _ in expected], what="what your statement returns", columns=columns,
                 hint="RETURNING user_id, login_count: every row inserted or updated, with its new count")
    return f"all {len(expected)} users of the batch merged and returned, the other rows untouched"


# ---- 5.12 bulk upsert from a staging table -----------------------------------------------------------------
_FEED_AFTER = """SELECT f.sku, count(p.id), min(p.name) = f.name, min(p.price) = f.price, min(p.category_id),
       bool_and(p.updated_at = now())
FROM product_feed f LEFT JOIN products p USING (sku) GROUP BY f.sku, f.name, f.price ORDER BY f.sku"""
_OTHER_PRODUCTS = """SELECT count(*), md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s', id, sku, name, price, category_id,
                                                             updated_at), ',' ORDER BY id), ''))
FROM products WHERE sku NOT IN (SELECT sku FROM product_feed)"""


@exercise("5.12", "Upsert a supplier's feed into products by sku")
def feed_upsert(ctx: CheckContext) -> str:
    _require_table(ctx, "product_feed")
    sql = ctx.answer().sql
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        feed = dict(conn.execute("SELECT f.sku, p.id IS NOT NULL FROM product_feed f LEFT JOIN products p USING (sku)").fetchall())
        categories = dict(conn.execute("SELECT sku, category_id FROM product_feed").fetchall())
        others = conn.execute(_OTHER_PRODUCTS).fetchone()
        conn.execute(sql)
        after = conn.execute(_FEED_AFTER).fetchall()
        others_after = conn.execute(_OTHER_PRODUCTS).fetchone()
    absent = [sku for sku, n, *_ in after if n == 0]
    ctx.expect(not absent, f"{len(absent)} skus of the feed are not in products (e.g. {absent[0] if absent else ''})",
               "new skus must be inserted: INSERT ... SELECT ... FROM product_feed ON CONFLICT (sku) DO UPDATE ..., "
               "or MERGE ... WHEN NOT MATCHED THEN INSERT")
    doubled = [sku for sku, n, *_ in after if n > 1]
    ctx.expect(not doubled, f"{len(doubled)} skus are in products more than once", "upsert by sku: a sku is unique")
    wrong_name = [sku for sku, _, name_ok, *_ in after if not name_ok]
    ctx.expect(not wrong_name, f"{len(wrong_name)} products do not have the feed's name (e.g. {wrong_name[0] if wrong_name else ''})",
               "SET name = EXCLUDED.name (the feed's row), for updated and inserted products alike")
    wrong_price = [sku for sku, _, _, price_ok, *_ in after if not price_ok]
    ctx.expect(not wrong_price, f"{len(wrong_price)} products do not have the feed's price (e.g. {wrong_price[0] if wrong_price else ''})",
               "SET price = EXCLUDED.price")
    new = [sku for sku, existed in feed.items() if not existed]
    wrong_category = [sku for sku, _, _, _, category, *_ in after if sku in new and category != categories[sku]]
    ctx.expect(not wrong_category, f"{len(wrong_category)} new products are not in the feed's category",
               "insert category_id from the feed")
    stale = [sku for sku, *_, touched in after if sku not in new and not touched]
    ctx.expect(not stale, f"{len(stale)} updated products kept their old updated_at (e.g. {stale[0] if stale else ''})",
               "set updated_at = now() in the update branch")
    ctx.expect(others == others_after, "your statement changed products that are not in the feed",
               "join on sku: only the feed's skus change")
    return f"all {len(feed)} skus of the feed upserted, once each, the other products untouched"


# ---- 5.13 full-text search -------------------------------------------------------------------------------
@exercise("5.13", "Search the catalogue as a customer types")
def search(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, SEARCH_RESULTS, ordered=True,
                               hint=f"websearch_to_tsquery('english', '{SEARCH_TEXT}') against search_vector, published "
                                    "products only, ORDER BY ts_rank(search_vector, query) DESC, id LIMIT 10")
    return f"the {len(expected)} best matches, in rank order"


# ---- 5.14 a month in another time zone ----------------------------------------------------------------------
@exercise("5.14", "Orders in January 2025, Tokyo time")
def tokyo_january(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    hint = ("bound the month with instants in Tokyo time, half-open: created_at >= '2025-01-01 00:00 Asia/Tokyo' "
            "AND created_at < '2025-02-01 00:00 Asia/Tokyo' (BETWEEN '...-01-31' stops at midnight on the 31st)")
    for zone in ("UTC", "America/New_York"):
        try:
            ctx.same_result(sql, TOKYO_JANUARY, settings={"TimeZone": zone}, hint=hint)
        except CheckFailed as failed:
            ctx.fail(f"with the session TimeZone set to {zone}: {failed.reason}", failed.hint)
    return f"{ctx.value(TOKYO_JANUARY)} orders, whatever the session's time zone"


# ---- 5.15 gap-free report ----------------------------------------------------------------------------------
def _big_orders_at_the_edges(conn: psycopg.Connection) -> None:
    """An order of exactly 1,000.00 (not above) and a big one at the stroke of a midnight (the later day's)."""
    conn.execute("""INSERT INTO orders (user_id, order_number, status, total_amount, created_at, updated_at)
                    SELECT min(id), v.n, 'completed', v.amount, v.at, v.at FROM users,
                           (VALUES ('CHECK-5.15-1', 1000.00, timestamptz '2025-12-10 12:00:00+00'),
                                   ('CHECK-5.15-2', 1500.00, timestamptz '2025-12-11 00:00:00+00')) AS v (n, amount, at)
                    GROUP BY v.n, v.amount, v.at""")


@exercise("5.15", "Big orders per day of December, every day listed")
def big_orders_per_day(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    expected = ctx.same_result(sql, BIG_ORDERS_PER_DAY, ordered=True, normalize=_day_first,
                               hint="all 31 days, those without a big order too: a series of the days at midnight UTC, "
                                    "LEFT JOIN orders on the range [day, day + 1 day) with total_amount > 1000 in the ON "
                                    "clause (in WHERE it drops the empty days), count(o.id); ORDER BY day")
    ctx.same_rows_after(_big_orders_at_the_edges, sql, BIG_ORDERS_PER_DAY, ordered=True, normalize=_day_first,
                        what="with an order of exactly 1,000.00 on December 10th and one of 1,500.00 placed at "
                             "exactly midnight on December 11th, your query",
                        hint="above 1,000 is total_amount > 1000 (1,000.00 is not above); a day is [midnight, next "
                             "midnight): created_at >= day AND created_at < day + interval '1 day'")
    zero = sum(1 for _, n in expected if n == 0)
    return f"31 days, {zero} of them without a big order"
