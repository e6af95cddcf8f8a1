"""Checks for chapter 08, Performance.

Checks read plans (``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` as the learner, with the server's
own planner settings), estimates against counts, and results compared with a reference query on
the chapter's dataset and on a second one (so that typed-in values fail). They never look at
timings: "fast" means a plan shape and a number of pages read, which are the same on every machine.
"""

from __future__ import annotations

import re
from typing import Any

from ..plans import Plan, PlanNode
from . import CheckContext, exercise
from .context import compare_rows

# ---- the queries and set-up cells of the notebook (it shows this text verbatim; a test checks) ----

#: 8.1: a nested loop; how often does its inner side run?
LOOPS_QUERY = ("SELECT o.id, oi.product_id, oi.quantity FROM orders o "
               "JOIN order_items oi ON oi.order_id = o.id WHERE o.user_id = 1234")

#: 8.2 (and section 2): order lines with their product's category, denormalised; under 30,000
#: rows, so that ANALYZE reads every row and the statistics are the same on every machine.
ORDER_LINES_SETUP = """DROP TABLE IF EXISTS order_lines;
CREATE TABLE order_lines AS
SELECT oi.order_id, oi.product_id, p.category_id, oi.quantity, oi.unit_price
FROM order_items oi JOIN products p ON p.id = oi.product_id
WHERE oi.order_id <= 12000 ORDER BY oi.id;
ANALYZE order_lines;"""
MISESTIMATE_QUERY = "SELECT count(*) FROM order_lines WHERE product_id = 1389 AND unit_price = 7.99"
#: an estimate within this factor of the actual count is "fixed"
ESTIMATE_FACTOR = 2.0

#: 8.3: one day of orders, written so that no index on created_at can find it.
CREATED_AT_INDEX = "CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at)"
SARGABLE_QUERY = "SELECT status, count(*) FROM orders WHERE date(created_at) = '2025-11-28' GROUP BY status"
SARGABLE_REFERENCE = ("SELECT status, count(*) FROM orders "
                      "WHERE created_at >= '2025-11-28' AND created_at < '2025-11-29' GROUP BY status")

#: 8.4: predict the join strategy of each query.
JOIN_QUERIES = {
    "a": "SELECT p.name, oi.quantity FROM order_items oi JOIN products p ON p.id = oi.product_id WHERE oi.order_id = 777",
    "b": "SELECT c.name, count(*) FROM products p JOIN categories c ON c.id = p.category_id GROUP BY c.name",
    "c": "SELECT o.id, oi.id FROM orders o JOIN order_items oi ON oi.order_id = o.id ORDER BY o.id LIMIT 50",
}
JOIN_KINDS = ("Nested Loop", "Hash Join", "Merge Join")

#: 8.5: keyset pagination over (created_at, id).
KEYSET_INDEX = "CREATE INDEX IF NOT EXISTS orders_created_at_id_idx ON orders (created_at, id)"
KEYSET_REFERENCE = ("SELECT id, created_at, total_amount FROM orders "
                    "WHERE (created_at, id) > ('2025-06-30 12:00:00+00', 500000) ORDER BY created_at, id LIMIT 20")
#: a keyset page reads a handful of index and table pages; OFFSET this deep reads thousands
KEYSET_MAX_PAGES = 100

#: 8.6: the account page loads every column of a user's orders to count them by status.
STATUS_COUNT_QUERY = "SELECT * FROM orders WHERE user_id = 2963"
STATUS_COUNT_REFERENCE = "SELECT status, count(*) FROM orders WHERE user_id = 2963 GROUP BY status"
STATUS_MAX_PAGES = 50

#: 8.7: one page of users with their orders, in one statement instead of 1 + N.
N_PLUS_ONE_REFERENCE = """SELECT u.id, u.username,
       coalesce(json_agg(json_build_object('id', o.id, 'total_amount', o.total_amount, 'created_at', o.created_at)
                         ORDER BY o.created_at, o.id) FILTER (WHERE o.id IS NOT NULL), '[]') AS orders
FROM (SELECT id, username FROM users ORDER BY id LIMIT 20) u
LEFT JOIN orders o ON o.user_id = u.id
GROUP BY u.id, u.username
ORDER BY u.id"""

#: 8.8: how does each sort run with 4 MB of work_mem (one process, no parallel workers)?
SORT_QUERIES = {
    "a": "SELECT id, total_amount FROM orders ORDER BY total_amount DESC LIMIT 10",
    "b": "SELECT user_id, total_amount FROM orders WHERE id > 700000 ORDER BY user_id, total_amount",
    "c": "SELECT id, total_amount FROM orders WHERE user_id <= 1000 ORDER BY total_amount DESC",
}
SORT_SETTINGS = {"work_mem": "4MB", "max_parallel_workers_per_gather": "0"}
SORT_METHODS = ("quicksort", "top-N heapsort", "external merge")


# ---- helpers ---------------------------------------------------------------------------------
def _require_table(ctx: CheckContext, table: str, setup: str) -> None:
    ctx.expect(ctx.table_exists(table), f"there is no table {table} yet",
               f"run the set-up cell ({setup}) above the exercise first")


def _canonical(text: Any, kinds: tuple[str, ...], aliases: dict[str, str] | None = None) -> str | None:
    """A predicted name in canonical form ("hash" -> "Hash Join", "External Merge" -> "external merge")."""
    if not isinstance(text, str):
        return None
    t = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    for kind in kinds:
        k = kind.lower().replace("-", " ")
        if t == k:
            return kind
    return (aliases or {}).get(t)


def _pages(plan: Plan) -> int:
    """Shared pages (hit + read) of the whole plan: the root node counts its children's."""
    return plan.shared_buffers()


def _leading(index: dict, column: str) -> bool:
    return bool(index["keys"]) and re.search(rf"\b{column}\b", index["keys"][0] or "") is not None


# ---- 8.1 loops ---------------------------------------------------------------------------------
def inner_scan(plan: Plan, table: str = "order_items") -> PlanNode | None:
    """The node that reads ``table`` in a plan (the inner side of 8.1's nested loop)."""
    return next((n for n in plan.nodes() if n.relation == table), None)


@exercise("8.1", "Read the loops of a nested loop")
def read_loops(ctx: CheckContext) -> str:
    """Parts of the task: (1) ``loops``: how many times the scan of order_items runs; (2) ``rows``: how many
    rows it returns in all (PostgreSQL shows rows per loop); both as the plan measures them now."""
    saved = ctx.saved_value()
    ctx.expect(isinstance(saved, dict), 'save a dict: pgcourse.answer("8.1", {"loops": ..., "rows": ...})',
               "two whole numbers: how many times the inner scan runs, and how many rows it returns in all")
    plan = ctx.explain(LOOPS_QUERY, analyze=True)
    node = inner_scan(plan)
    loops = int(node.raw.get("Actual Loops", 0)) if node else 0
    rows = round((node.actual_rows or 0) * loops) if node else 0
    wrong = []
    for key, actual in (("loops", loops), ("rows", rows)):
        value = saved.get(key)
        try:
            guess = int(float(value))
        except (TypeError, ValueError):
            ctx.fail(f"no whole number for {key!r} (you saved {value!r})",
                     'save a dict: pgcourse.answer("8.1", {"loops": 12, "rows": 40})')
        if guess != actual:
            wrong.append(f"{key}: you said {guess}, the plan measured {actual}")
    if wrong:
        per_loop = "; rows=... in a plan is the average per loop: multiply by loops" if any(
            w.startswith("rows") for w in wrong) else ""
        ctx.fail("; ".join(wrong), "the inner side of a nested loop runs once per row of the outer side" + per_loop)
    return f"the scan of order_items runs {loops} times and returns {rows} rows in all"


# ---- 8.2 extended statistics -------------------------------------------------------------------
def estimate_and_actual(ctx: CheckContext, query: str) -> tuple[float, int]:
    """The planner's row estimate for the scan under ``query``'s aggregate, and the true count."""
    plan = ctx.explain(query)
    scan = next(n for n in plan.nodes() if n.relation)
    actual = ctx.value(query)
    return float(scan.raw["Plan Rows"]), int(actual)


@exercise("8.2", "Fix the misestimate with extended statistics")
def fix_misestimate(ctx: CheckContext) -> str:
    """Parts of the task: (1) the planner's estimate for the query is within 2x of the real count;
    (2) by statistics on order_lines (an extended statistics object on product_id and unit_price, analyzed),
    the query and the table's data left as they are."""
    _require_table(ctx, "order_lines", "CREATE TABLE order_lines ...")
    rows = ctx.value("SELECT count(*) FROM order_lines")
    expected_rows = ctx.value("SELECT count(*) FROM order_items WHERE order_id <= 12000")
    ctx.expect(rows == expected_rows, f"order_lines has {rows} rows, not the {expected_rows} the set-up cell makes",
               "run the set-up cell again: fix the estimate, not the data")
    stats = ctx.rows("""SELECT s.stxname, ARRAY(SELECT a.attname FROM unnest(s.stxkeys) k
                                            JOIN pg_attribute a ON a.attrelid = s.stxrelid AND a.attnum = k),
                               EXISTS (SELECT 1 FROM pg_statistic_ext_data d WHERE d.stxoid = s.oid)
                        FROM pg_statistic_ext s WHERE s.stxrelid = to_regclass('public.order_lines')""")
    both = [s for s in stats if {"product_id", "unit_price"} <= set(s[1])]
    estimate, actual = estimate_and_actual(ctx, MISESTIMATE_QUERY)
    fixed = actual / ESTIMATE_FACTOR <= estimate <= actual * ESTIMATE_FACTOR
    if not both:
        ctx.fail(f"the planner estimates {estimate:.0f} rows; the query counts {actual}: it multiplies the "
                 "selectivity of product_id = 1389 by that of unit_price = 7.99 as if they were independent",
                 "tell the planner the two columns go together: CREATE STATISTICS ... ON product_id, unit_price "
                 "FROM order_lines, then ANALYZE order_lines")
    if not any(s[2] for s in both):
        ctx.fail(f"{both[0][0]} exists but holds no data yet: the planner still estimates {estimate:.0f} rows "
                 f"for {actual}", "extended statistics are computed by ANALYZE: run ANALYZE order_lines")
    ctx.expect(fixed, f"with {both[0][0]} the planner estimates {estimate:.0f} rows for {actual}: still more than "
                      f"{ESTIMATE_FACTOR:g}x off",
               "the kind `dependencies` says how far one column determines the other over the whole table; "
               "here a product's price is only partly determined (some lines are discounted): the kind `mcv` "
               "records the most common combinations themselves (then ANALYZE)")
    return f"the planner now estimates {estimate:.0f} rows for {actual} ({both[0][0]})"


# ---- 8.3 sargable predicates ---------------------------------------------------------------------
def _created_at_indexes(ctx: CheckContext) -> dict[str, dict]:
    return {ix["name"]: ix for ix in ctx.indexes("orders") if _leading(ix, "created_at") and ix["predicate"] is None}


def searches_by(plan: Plan, indexes: dict[str, dict], column: str) -> list[PlanNode]:
    """Index scans in ``plan`` that search one of ``indexes`` with a condition on ``column`` (not a full scan)."""
    return [n for n in plan.nodes() if n.index_name in indexes and column in str(n.raw.get("Index Cond", ""))]


#: orders placed on the stroke of midnight at both ends of the day (the dataset may have none)
MIDNIGHT_PROBES = ("2025-11-28 00:00:00+00", "2025-11-29 00:00:00+00")


def _orders_at_midnight(conn) -> None:
    """Orders placed on the stroke of midnight at both ends of 2025-11-28."""
    for i, at in enumerate(MIDNIGHT_PROBES):
        conn.execute("""INSERT INTO orders (user_id, order_number, status, total_amount, created_at, updated_at)
                        SELECT min(id), %s, 'pending', 1, %s, %s FROM users""", [f"CHECK-8.3-{i}", at, at])


def _same_rows_at_midnight(ctx: CheckContext, answer: str) -> None:
    """Compare the answer with the reference after adding orders at midnight at both ends of the day (rolled back):
    ``BETWEEN '2025-11-28' AND '2025-11-29'`` passes on data without such an order, and is still wrong."""
    ctx.same_rows_after(_orders_at_midnight, answer, SARGABLE_REFERENCE,
                        what=f"with an order placed at exactly {MIDNIGHT_PROBES[0][:19]} and one at "
                             f"{MIDNIGHT_PROBES[1][:19]}, your query",
                        hint="a day is [midnight, next midnight): created_at >= '2025-11-28' AND created_at < '2025-11-29' "
                             "(BETWEEN includes the next day's midnight)")


@exercise("8.3", "Rewrite a day's filter so an index can find it")
def sargable(ctx: CheckContext) -> str:
    """Parts of the task: (1) the same rows as the original query (any order), on this dataset and another;
    (2) the index on created_at is searched with a condition on created_at (Index Cond), not scanned whole."""
    answer = ctx.answer().sql
    indexes = _created_at_indexes(ctx)
    ctx.expect(indexes, "no index on orders starts with created_at",
               f"run the section's cell that creates it: {CREATED_AT_INDEX}")
    ctx.same_rows(answer, SARGABLE_REFERENCE)
    ctx.same_rows_on_sample(answer, SARGABLE_REFERENCE)
    _same_rows_at_midnight(ctx, answer)
    plan = ctx.explain(answer, settings={"enable_seqscan": "off"})
    used = searches_by(plan, indexes, "created_at")
    ctx.expect(used, "your query returns the right orders, but no index on created_at can search for them: "
                     "created_at is inside a function or a cast, so every row must be computed first",
               "compare the bare column with a range: created_at >= '2025-11-28' AND created_at < '2025-11-29'")
    return f"the same counts, the day's orders found through {used[0].index_name}"


# ---- 8.4 join strategies ---------------------------------------------------------------------------
def join_kind(plan: Plan) -> str:
    """The first join node of a plan (one of :data:`JOIN_KINDS`), or "other"."""
    for node in plan.nodes():
        if node.node_type in JOIN_KINDS:
            return node.node_type
    return "other"


JOIN_ALIASES = {"nested loop join": "Nested Loop", "nested loops": "Nested Loop", "nestloop": "Nested Loop",
                "nested": "Nested Loop", "hash": "Hash Join", "merge": "Merge Join", "hashjoin": "Hash Join",
                "mergejoin": "Merge Join"}


@exercise("8.4", "Predict the join strategies")
def predict_joins(ctx: CheckContext) -> str:
    """Parts of the task: one prediction per query a-c, each naming the join the planner really chooses now
    (Nested Loop, Hash Join or Merge Join, in any spelling)."""
    return ctx.judge_predictions(
        JOIN_QUERIES, JOIN_KINDS, lambda text: _canonical(text, JOIN_KINDS, JOIN_ALIASES),
        lambda query: join_kind(ctx.explain(query)),
        "few outer rows and an index on the inner side: nested loop; big unsorted inputs: hash join; "
        "both sides already in join-key order (an index) and only the first rows wanted: merge join")


# ---- 8.5 keyset pagination -------------------------------------------------------------------------
KEYSET_CURSOR_AT = "2025-06-30 12:00:00+00"


def _orders_at_the_cursor(conn) -> None:
    """Make the cursor a real row (order 500000 at the cursor's time) and give it a tie with a larger id:
    the page must skip the first (>= does not) and start with the second (created_at > ... skips it)."""
    conn.execute("UPDATE orders SET created_at = %s, updated_at = greatest(updated_at, %s) WHERE id = 500000",
                 [KEYSET_CURSOR_AT, KEYSET_CURSOR_AT])
    conn.execute("""INSERT INTO orders (user_id, order_number, status, total_amount, created_at, updated_at)
                    SELECT min(id), 'CHECK-8.5', 'pending', 1, %s, %s FROM users""", [KEYSET_CURSOR_AT, KEYSET_CURSOR_AT])


@exercise("8.5", "The next page by keyset")
def keyset_page(ctx: CheckContext) -> str:
    """Parts of the task: (1) the 20 orders after the cursor, in (created_at, id) order, columns id, created_at,
    total_amount, on this dataset and another, and after the cursor's row and a tie with it are added (rolled
    back): strictly after (created_at, id), not after created_at alone; (2) read through an index in order (no Sort of the orders, no
    sequential scan) and (3) at most 100 pages read, however deep the cursor."""
    answer = ctx.answer().sql
    ctx.same_rows(answer, KEYSET_REFERENCE, ordered=True)
    ctx.same_rows_on_sample(answer, KEYSET_REFERENCE, ordered=True)
    ctx.same_rows_after(_orders_at_the_cursor, answer, KEYSET_REFERENCE, ordered=True,
                        what="when order 500000 is the one created at 2025-06-30 12:00:00+00 and another order "
                             "has the same created_at and a larger id, your query",
                        hint="the next page starts right after the cursor's row, ties on created_at broken by id: "
                             "WHERE (created_at, id) > ('2025-06-30 12:00:00+00', 500000), strictly greater")
    plan = ctx.explain(answer, analyze=True, buffers=True)
    ctx.expect("orders" not in plan.seq_scanned(), "your query reads all of orders (a sequential scan) to find 20 rows",
               f"keep an index on (created_at, id) ({KEYSET_INDEX}) and compare the row with the cursor: "
               "WHERE (created_at, id) > (..., ...)")
    ctx.expect(not plan.has("Sort"), "your query sorts the orders after the cursor before keeping 20",
               "ORDER BY the index's columns (created_at, id) so that the index hands the rows out in order")
    pages = _pages(plan)
    ctx.expect(pages <= KEYSET_MAX_PAGES, f"your query reads {pages:,} pages to return 20 rows",
               "start the index scan at the cursor: WHERE (created_at, id) > ('2025-06-30 12:00:00+00', 500000) "
               "(a row comparison the index can search; OFFSET or an OR of two conditions reads far more)")
    return f"the next 20 orders in {pages} pages, through {', '.join(sorted(plan.indexes_used()))}"


# ---- 8.6 the columns needed, from the index only ---------------------------------------------------
@exercise("8.6", "Select only what is needed, from the index only")
def status_counts(ctx: CheckContext) -> str:
    """Parts of the task: (1) the answer returns the user's number of orders per status (status, count), on this
    dataset and another; (2) its plan reads orders by an Index Only Scan with 0 heap fetches;
    (3) it reads at most 50 pages."""
    answer = ctx.answer().sql
    ctx.same_rows(answer, STATUS_COUNT_REFERENCE)
    ctx.same_rows_on_sample(answer, STATUS_COUNT_REFERENCE)
    plan = ctx.explain(answer, analyze=True, buffers=True)
    scans = [n for n in plan.nodes() if n.relation == "orders"]
    only = [n for n in scans if n.node_type == "Index Only Scan"]
    if not only:
        kinds = ", ".join(sorted({n.node_type for n in scans})) or "no scan"
        ctx.fail(f"the counts are right, but the query reads orders by {kinds}: each order is fetched from the table",
                 "an index whose leading column is user_id and that also holds status answers this alone: "
                 "CREATE INDEX ... ON orders (user_id, status) (or INCLUDE (status))")
    fetches = plan.heap_fetches()
    ctx.expect(fetches == 0, f"the Index Only Scan still makes {fetches} heap fetches",
               "the visibility map is out of date: VACUUM orders")
    pages = _pages(plan)
    ctx.expect(pages <= STATUS_MAX_PAGES, f"the query reads {pages:,} pages", "search the index by user_id (leading column)")
    return f"the status counts from {only[0].index_name} alone, {pages} pages"


# ---- 8.7 N+1 in one statement -----------------------------------------------------------------------
def _first_order_placed_last(conn) -> None:
    """In the dataset ids follow created_at; move the first order (by id) of a user of the page with several to
    the end of their history, so that ORDER BY id and ORDER BY created_at differ."""
    conn.execute("""UPDATE orders SET created_at = '2025-12-31 23:59:00+00', updated_at = '2025-12-31 23:59:00+00'
                    WHERE id = (SELECT min(o.id) FROM orders o
                                WHERE o.user_id = (SELECT user_id FROM orders
                                                   WHERE user_id IN (SELECT id FROM users ORDER BY id LIMIT 20)
                                                   GROUP BY user_id HAVING count(*) > 1 ORDER BY user_id LIMIT 1))""")


def _a_user_with_id_0(conn) -> None:
    """A user whose id comes before the dataset's first (ids are not always 1, 2, 3...)."""
    conn.execute("""INSERT INTO users (id, email, username, password_hash, full_name, country_code)
                    OVERRIDING SYSTEM VALUE
                    VALUES (0, 'check.zero@example.com', 'check_zero', 'x', 'Check Zero', 'GB')""")


@exercise("8.7", "Replace the N+1 loop with one query")
def one_query(ctx: CheckContext) -> str:
    """Parts of the task: (1) one statement returns the page (the first 20 users by id: id, username, orders);
    (2) ``orders`` is a JSON array of {id, total_amount, created_at} ordered by created_at then id; (3) a user
    without orders gets ``[]``, not ``[{"id": null, ...}]``; (4) rows in user id order; on this dataset and another,
    and again (rolled back) after a user's first order by id is moved last in time (the array's order is by
    created_at, not id) and after a user with id 0 is added (the first 20 by id, not ids 1 to 20)."""
    answer = ctx.answer().sql
    columns, got = ctx.run_answer(answer)
    expected = ctx.admin.execute(N_PLUS_ONE_REFERENCE).fetchall()
    if got and len(got[0]) == 3:
        nulls = [row[0] for row in got if isinstance(row[2], list) and any(
            isinstance(o, dict) and o.get("id") is None for o in row[2])]
        ctx.expect(not nulls, f"user {nulls[0] if nulls else ''} has no orders and gets an order whose id is null",
                   "a LEFT JOIN gives such a user one row of NULLs, and json_agg turns it into an object: "
                   "json_agg(...) FILTER (WHERE o.id IS NOT NULL), and coalesce(..., '[]')")
    compare_rows(got, expected, ordered=True, columns=columns)
    ctx.same_rows_on_sample(answer, N_PLUS_ONE_REFERENCE, ordered=True)
    ctx.same_rows_after(_first_order_placed_last, answer, N_PLUS_ONE_REFERENCE, ordered=True,
                        what="when a user's order with the smallest id is the one placed last, your query",
                        hint="order each user's array by created_at, then id: json_agg(... ORDER BY o.created_at, o.id)")
    ctx.same_rows_after(_a_user_with_id_0, answer, N_PLUS_ONE_REFERENCE, ordered=True,
                        what="with a user of id 0 added, your query",
                        hint="the first 20 users by id: ORDER BY id LIMIT 20 (ids need not start at 1 nor be "
                             "consecutive), not a range of ids")
    orders = sum(len(row[2]) for row in expected)
    return f"20 users and their {orders} orders in one statement (1 round trip instead of 21)"


# ---- 8.8 sorts and work_mem ------------------------------------------------------------------------
def sort_method(plan: Plan) -> str | None:
    """The Sort Method of the first Sort node ("quicksort", "top-N heapsort", "external merge"...)."""
    for node in plan.nodes():
        if node.node_type == "Sort" and node.raw.get("Sort Method"):
            return node.raw["Sort Method"]
    return None


SORT_ALIASES = {"top n": "top-N heapsort", "heapsort": "top-N heapsort", "top n heap sort": "top-N heapsort",
                "quick sort": "quicksort", "memory": "quicksort", "in memory": "quicksort",
                "external sort": "external merge", "disk": "external merge", "external merge sort": "external merge",
                "on disk": "external merge"}


@exercise("8.8", "Predict how each sort runs")
def predict_sorts(ctx: CheckContext) -> str:
    """Parts of the task: one prediction per query a-c, each naming the Sort Method the server really uses with
    work_mem = 4MB and no parallel workers (quicksort, top-N heapsort or external merge)."""
    return ctx.judge_predictions(
        SORT_QUERIES, SORT_METHODS, lambda text: _canonical(text, SORT_METHODS, SORT_ALIASES),
        lambda query: sort_method(ctx.explain(query, analyze=True, settings=SORT_SETTINGS)),
        "a LIMIT keeps only the top rows in memory (top-N heapsort); rows that fit in work_mem are sorted "
        "in memory (quicksort); more spill to temporary files (external merge)", did="the server used")
