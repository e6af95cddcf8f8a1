"""Checks for chapter 08, Performance.

Checks read plans (``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` as the learner, with the server's
own planner settings), estimates against counts, and results compared with a reference query on
the chapter's dataset and on a second one (so that typed-in values fail). They never look at
timings: "fast" means a plan shape and a number of pages read, which are the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import psycopg

from ..plans import Plan, PlanNode
from . import CheckContext, exercise
from .context import compare_rows, describe_difference

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

#: 8.7: one page of users with their orders, in one statement instead of 1 + N (the page size a parameter).
N_PLUS_ONE_REFERENCE = """SELECT u.id, u.username,
       coalesce(json_agg(json_build_object('id', o.id, 'total_amount', o.total_amount, 'created_at', o.created_at)
                         ORDER BY o.created_at, o.id) FILTER (WHERE o.id IS NOT NULL), '[]') AS orders
FROM (SELECT id, username FROM users ORDER BY id LIMIT %s) u
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
class CountingCursor(psycopg.Cursor):
    """A cursor that adds every statement it sends to its connection's ``statements``: one per ``execute``
    (one per statement of a text holding several), one per row of parameters of ``executemany``, one per
    ``stream`` and per ``copy``."""

    def execute(self, query, params=None, **kwargs):
        self.connection.statements += 1
        super().execute(query, params, **kwargs)
        if self.pgresult is not None:  # "SELECT ...; SELECT ..." runs several statements in one round trip
            self.connection.statements += sum(1 for _ in self.results()) - 1
            self.set_result(0)
        return self

    def executemany(self, query, params_seq, **kwargs):
        params_seq = list(params_seq)
        self.connection.statements += len(params_seq)
        return super().executemany(query, params_seq, **kwargs)

    def stream(self, query, params=None, **kwargs):
        self.connection.statements += 1
        return super().stream(query, params, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        self.connection.statements += 1
        return super().copy(statement, params, **kwargs)


class CountingServerCursor(psycopg.ServerCursor):
    """A server-side (named) cursor that counts its DECLARE and every FETCH or MOVE it sends (not its CLOSE)."""

    def execute(self, query, params=None, **kwargs):
        self.connection.statements += 1
        return super().execute(query, params, **kwargs)

    def _fetch_gen(self, num):
        self.connection.statements += 1
        return super()._fetch_gen(num)

    def _scroll_gen(self, value, mode):
        self.connection.statements += 1
        return super()._scroll_gen(value, mode)


class Counting(psycopg.Connection):
    """A psycopg connection that counts the statements it sends in ``statements`` (each one is a round trip):
    ``conn.execute``, and every cursor it makes, client- or server-side (see the two cursor classes)."""

    statements = 0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cursor_factory = CountingCursor
        self.server_cursor_factory = CountingServerCursor


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


#: 8.7's scenarios: (label, page size, change made first in the same rolled-back transaction, hint when wrong).
PAGE_SCENARIOS: tuple[tuple[str, int, Callable | None, str | None], ...] = (
    ("a page of 20", 20, None, None),
    ("a page of 5", 5, None, "the page size is the function's argument: LIMIT %s with [n], not a number typed in"),
    ("a page of 20 after a user's first order is moved last in time", 20, _first_order_placed_last,
     "order each user's orders by created_at, then id (json_agg(... ORDER BY o.created_at, o.id)): "
     "in the dataset ids follow created_at, but nothing guarantees it"),
    ("a page of 20 after a user with id 0 is added", 20, _a_user_with_id_0,
     "the first n users by id: ORDER BY id LIMIT n (ids need not start at 1 nor be consecutive), not a range of ids"),
)


def _json_safe(value: Any) -> Any:
    """A returned value as JSON keeps it: numbers as text (no float rounding), times in ISO 8601."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return repr(value)


def _page_rows(result: Any) -> Any:
    """The page as a list of rows: a list of rows as it is, a dict ``{id: (username, orders)}`` (the chapter's
    other page functions) as ``[id, username, orders]`` rows, a cursor read; None stays None."""
    if result is None:
        return None
    if isinstance(result, Mapping):
        return [[key, *value] if isinstance(value, (list, tuple)) and len(value) == 2 else [key, value]
                for key, value in result.items()]
    return list(result)


def try_pages(function: Callable, url: str) -> dict[str, Any]:
    """Call ``function(conn, n)`` on a :class:`Counting` connection in each of 8.7's scenarios; for each, the
    statements it sent and the rows it returned, as JSON for the check (``{"error": ...}`` when it raised).

    Each scenario runs in a transaction rolled back afterwards: the changes a scenario makes first (not
    counted) and anything the function does leave the database as it was.
    """
    results: dict[str, Any] = {}
    with Counting.connect(url) as conn:
        for label, n, change, _ in PAGE_SCENARIOS:
            try:
                with conn.transaction(force_rollback=True):
                    if change is not None:
                        change(conn)
                    conn.statements = 0
                    rows = _page_rows(function(conn, n))
                    results[label] = {"statements": conn.statements, "rows": _json_safe(rows)}
            except Exception as exc:  # the learner's function failed: say how, for the check to report
                results[label] = {"error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"}
    return results


def _canonical_total(value: Any) -> Any:
    """An amount compared by value: 36.98, "36.98" and Decimal("36.980") are the same."""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return value


def _canonical_time(value: Any) -> Any:
    """A timestamp compared as an instant in UTC, whatever the offset it was written with."""
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        return moment.astimezone(dt.timezone.utc).isoformat()
    return value


class _PageProblem(Exception):
    """The returned page does not have the task's shape."""


def _canonical_page(rows: Any) -> list[tuple]:
    """Rows as (id, username, ((order id, total, created_at), ...)) to compare; _PageProblem on a wrong shape."""
    if not isinstance(rows, list):
        raise _PageProblem(f"returned {rows!r}, not a list of rows")
    page = []
    for row in rows:
        if isinstance(row, Mapping) and {"id", "username", "orders"} <= set(row):
            row = [row["id"], row["username"], row["orders"]]
        elif isinstance(row, Mapping):
            row = list(row.values())
        if not isinstance(row, list) or len(row) != 3:
            raise _PageProblem(f"returned the row {row!r}: each row is (id, username, orders)")
        uid, name, orders = row
        if isinstance(orders, str):
            try:
                orders = json.loads(orders)
            except ValueError:
                raise _PageProblem(f"gives user {uid} the orders {orders!r}: not a JSON array") from None
        if orders is None:
            raise _PageProblem(f"gives user {uid} no orders as null (None); a user without orders gets []")
        if not isinstance(orders, list):
            raise _PageProblem(f"gives user {uid} the orders {orders!r}: a list (JSON array) of orders is expected")
        canonical = []
        for order in orders:
            if isinstance(order, Mapping):
                if order.get("id") is None:
                    raise _PageProblem(f"gives user {uid} an order whose id is null ({order!r})")
                if not {"id", "total_amount", "created_at"} <= set(order):
                    raise _PageProblem(f"gives user {uid} the order {order!r}: each order has id, total_amount and "
                                       "created_at")
                order = [order["id"], order["total_amount"], order["created_at"]]
            elif isinstance(order, list) and order and order[0] is None:
                raise _PageProblem(f"gives user {uid} an order whose id is null ({order!r})")
            else:
                raise _PageProblem(f"gives user {uid} the order {order!r}: each order is an object (a dict) "
                                   "with id, total_amount and created_at")
            canonical.append((order[0], _canonical_total(order[1]), _canonical_time(order[2])))
        page.append((uid, name, tuple(canonical)))
    return page


def _statement_counts(counts: dict[str, int]) -> str | None:
    """What is wrong with the statements each scenario sent, in words (None when every page took one)."""
    if all(n == 1 for n in counts.values()):
        return None
    if all(n == 0 for n in counts.values()):
        return "your function sent no statement through the connection it was given"
    c20, c5 = counts["a page of 20"], counts["a page of 5"]
    plural = lambda n: f"{n} statement" + ("" if n == 1 else "s")  # noqa: E731
    if c20 != 1 or c5 != 1:
        reason = f"your function sent {plural(c20)} for a page of 20 users and {c5} for 5"
        if (c20, c5) == (21, 6):
            return reason + ": one per user plus one for the page, the N+1 pattern"
        if c20 > c5:
            return reason + ": the count grows with the page, a statement per user (N+1)"
        return reason + "; one statement must bring the users and their orders together"
    label, n = next((label, n) for label, n in counts.items() if n != 1)
    return f"your function sent {plural(n)} for {label} (one for pages of 5 and 20)"


@exercise("8.7", "Rewrite the N+1 loop: one statement per page")
def one_statement(ctx: CheckContext) -> str:
    """Parts of the task: (1) the harness's results are saved (``try_pages(page_one_query, ch.url)``);
    (2) the function sends exactly one statement per page, whatever the page size (pages of 5 and 20), counted
    by the :class:`Counting` connection it is given; (3) it returns the first n users by id as (id, username,
    orders), in user id order; (4) ``orders`` is a list (a JSON array) of the user's orders as {id, total_amount,
    created_at}, ordered by created_at then id; (5) a user without orders gets ``[]``, not ``[{"id": null}]``
    nor null. Each scenario is compared with the server's page in the same state: pages of 20 and 5, and (rolled
    back) after a user's first order by id is moved last in time (the orders' order is by created_at, not id) and
    after a user with id 0 is added (the first n by id, not ids 1 to n; values typed in fail there too).
    The counts are made in the learner's kernel, like 10.1's results: a learner who saves made-up counts is
    not caught; the rows are."""
    saved = ctx.saved_value()
    harness = 'run the cell `pgcourse.answer("8.7", try_pages(page_one_query, ch.url))` under your function'
    ctx.expect(isinstance(saved, dict) and all(isinstance(saved.get(label), dict) for label, *_ in PAGE_SCENARIOS),
               "the saved answer is not the harness's results", harness)
    for label, *_ in PAGE_SCENARIOS:
        entry = saved[label]
        if "error" in entry:
            ctx.fail(f"your function raised an error for {label}: {entry['error']}",
                     "call it in a cell of its own to see the whole error: page_one_query(ch.conn(), 20)")
        ctx.expect(isinstance(entry.get("statements"), int) and "rows" in entry,
                   f"the saved results for {label} are not the harness's", harness)
    if all(saved[label]["rows"] is None for label, *_ in PAGE_SCENARIOS):
        ctx.fail("your function returned nothing (None)", "return the page: a list of (id, username, orders) rows")
    counts = {label: saved[label]["statements"] for label, *_ in PAGE_SCENARIOS}
    wrong = _statement_counts(counts)
    if wrong:
        hint = ("run the query on conn, the function's first argument: the harness counts what goes through it"
                if "no statement" in wrong else
                "one query for the page: a LEFT JOIN with json_agg (FILTER and coalesce for users without orders), "
                "or a subquery per user in the SELECT list, which is still one statement")
        ctx.fail(wrong, hint)
    orders = 0
    for label, n, change, scenario_hint in PAGE_SCENARIOS:
        conn = ctx.learner
        with conn.transaction(force_rollback=True):
            if change is not None:
                change(conn)
            expected = _canonical_page([list(r) for r in conn.execute(N_PLUS_ONE_REFERENCE, [n]).fetchall()])
        if change is None and n == 20:
            orders = sum(len(row[2]) for row in expected)
        what = f"for {label}, your function"
        try:
            got = _canonical_page(saved[label]["rows"])
        except _PageProblem as problem:
            ctx.fail(f"{what} {problem}",
                     "a LEFT JOIN gives a user without orders one row of NULLs, which json_agg turns into an object: "
                     "json_agg(...) FILTER (WHERE o.id IS NOT NULL), and coalesce(..., '[]')" if "id is null" in str(problem)
                     else "an aggregate over no rows is NULL: coalesce(json_agg(...), '[]')" if "null" in str(problem)
                     else "return a list of (id, username, orders) rows, orders a list of {id, total_amount, created_at} "
                          "objects: json_build_object in SQL, or dicts built in Python")
        compare_rows([r[:2] for r in got], [r[:2] for r in expected], ordered=True, what=what,
                     columns=["id", "username"], hint=scenario_hint if change is not None or n != 20 else None)
        for (uid, _, mine), (_, _, theirs) in zip(got, expected):
            difference = describe_difference(list(mine), list(theirs), ordered=True,
                                              columns=["id", "total_amount", "created_at"])
            if difference:
                ctx.fail(f"{what}, for the orders of user {uid}, {difference}",
                         scenario_hint if change is not None else
                         "order each user's orders by created_at, then id" if "wrong order" in difference else
                         "each user's orders: id, total_amount and created_at of every order with that user_id")
    return f"20 users and their {orders} orders in one statement, for pages of 5 and 20 (1 round trip instead of 21)"


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
