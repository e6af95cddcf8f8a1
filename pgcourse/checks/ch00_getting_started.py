"""Chapter 00 checks: a count, a top-N, a view, and a plan prediction.

The parts of each task statement, and how the check tests each one:

0.1 "How many orders have the status cancelled? One row, one column."
    - the count of cancelled orders: compared with a reference query here
    - computed, not typed in: the same query on the second sample dataset
    - one row, one column: compare_rows counts rows and columns
0.2 "The five users with the most orders: user_id and their number of orders, most orders first;
    among equal counts, the smaller user_id first."
    - user_id and count, five rows, most orders first: ordered comparison with a reference
    - ties broken by the smaller user_id: the dataset has no ties in its top five, so the check
      also runs the answer after moving orders (in a transaction that is rolled back) so that
      five users tie for ranks 4 to 8
    - computed, not typed in: the second sample dataset
0.3 "A view big_orders with the columns id, user_id, total_amount (in that order) of the orders
    whose total is above 500."
    - a view (not a table): pg_class.relkind
    - the three columns, in that order: the catalog
    - the orders above 500, and only those (500 itself excluded): compared with a reference
0.4 "Which plan node will PostgreSQL use to read orders for SELECT * FROM orders WHERE id = 42?
    Save it as text."
    - a node name saved as text: the saved value
    - the node PostgreSQL really chooses: EXPLAIN here, compared without case or spacing
"""

from __future__ import annotations

import psycopg

from .context import CheckContext, compare_rows
from . import exercise

CANCELLED = "SELECT count(*) FROM orders WHERE status = 'cancelled'"
TOP_BUYERS = """SELECT user_id, count(*) FROM orders GROUP BY user_id
                ORDER BY count(*) DESC, user_id LIMIT 5"""
BIG_ORDERS = "SELECT id, user_id, total_amount FROM orders WHERE total_amount > 500"
LOOKUP = "SELECT * FROM orders WHERE id = 42"


@exercise("0.1", "Count the cancelled orders")
def count_cancelled(ctx: CheckContext) -> str:
    answer = ctx.answer().sql
    ctx.same_rows(answer, CANCELLED)
    ctx.same_rows_on_sample(answer, CANCELLED)
    return f"{ctx.value(CANCELLED)} cancelled orders, and right on a second dataset too"


def make_ties(conn: psycopg.Connection) -> list[int]:
    """Move orders to the busiest user so that the users ranked 4 to 8 have the same count.

    Runs inside the caller's transaction (which must be rolled back); returns the tied user ids.
    """
    top = conn.execute("SELECT user_id, count(*) FROM orders GROUP BY user_id "
                       "ORDER BY count(*) DESC, user_id LIMIT 8").fetchall()
    if len(top) < 8:
        return []
    busiest, level = top[0][0], top[-1][1]
    for user_id, n in top[3:-1]:
        if n > level:
            conn.execute("UPDATE orders SET user_id = %s WHERE id IN "
                         "(SELECT id FROM orders WHERE user_id = %s ORDER BY id LIMIT %s)", [busiest, user_id, n - level])
    return sorted(user_id for user_id, _ in top[3:])


@exercise("0.2", "The five users with the most orders")
def top_buyers(ctx: CheckContext) -> str:
    answer = ctx.answer().sql
    ctx.same_rows(answer, TOP_BUYERS, ordered=True)
    ctx.same_rows_on_sample(answer, TOP_BUYERS, ordered=True)
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        tied = make_ties(conn)
        cur = conn.execute(answer)
        got = cur.fetchall() if cur.description else []
        expected = conn.execute(TOP_BUYERS).fetchall()
    compare_rows(got, expected, ordered=True, columns=[c.name for c in cur.description or []],
                 what=f"when users {', '.join(map(str, tied))} have the same number of orders, your query",
                 hint="among equal counts the smaller user_id comes first: ORDER BY <the count> DESC, user_id")
    return "the right five users, in the right order, ties included"


@exercise("0.3", "A view of the big orders")
def big_orders_view(ctx: CheckContext) -> str:
    kind = ctx.value("SELECT relkind FROM pg_class WHERE oid = to_regclass('public.big_orders')")
    ctx.expect(kind is not None, "there is no big_orders in schema public", "CREATE VIEW big_orders AS SELECT ...")
    ctx.expect(kind == "v", f"big_orders is a {'table' if kind == 'r' else 'relation of kind ' + repr(kind)}, not a view",
               "DROP it, then CREATE VIEW big_orders AS SELECT ...: a view stays in step with orders")
    columns = list(ctx.columns("big_orders"))
    ctx.expect(columns == ["id", "user_id", "total_amount"], f"big_orders has columns {columns}",
               "select exactly id, user_id, total_amount, in that order")
    ctx.same_rows("SELECT id, user_id, total_amount FROM big_orders", BIG_ORDERS, what="big_orders")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):  # the boundary: 500.00 is not above 500, 500.01 is
        conn.execute("UPDATE orders SET total_amount = CASE WHEN id = (SELECT min(id) FROM orders) THEN 500.00 ELSE 500.01 END "
                     "WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 2)")
        got = conn.execute("SELECT id, user_id, total_amount FROM big_orders").fetchall()
        expected = conn.execute(BIG_ORDERS).fetchall()
    compare_rows(got, expected, what="with one order at exactly 500.00 and one at 500.01, big_orders",
                 hint="above 500 means total_amount > 500 (500.00 itself is not above)")
    return "big_orders is a view with the right rows"


def _scan(node_type: str) -> str:
    return " ".join(node_type.lower().split())


@exercise("0.4", "Predict the plan of a primary-key lookup")
def predict_lookup(ctx: CheckContext) -> str:
    value = ctx.saved_value()
    ctx.expect(isinstance(value, str) and value.strip(), f"your prediction {value!r} is not a node name such as 'Seq Scan'",
               'pgcourse.answer("0.4", "Seq Scan")  # or another node type')
    plan = ctx.explain(LOOKUP)
    actual = next((n.node_type for n in plan.nodes() if n.relation == "orders"), plan.root.node_type)
    ctx.expect(_scan(value) == _scan(actual), f"you predicted {value.strip()!r}; PostgreSQL chose another node",
               "run EXPLAIN on the query and read the node that reads orders")
    return f"PostgreSQL chose {actual}, as you predicted"
