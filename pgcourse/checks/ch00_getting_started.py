"""Chapter 00 checks: a count, a top-N, a view, and a plan prediction."""

from __future__ import annotations

from .context import CheckContext
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


@exercise("0.2", "The five users with the most orders")
def top_buyers(ctx: CheckContext) -> str:
    answer = ctx.answer().sql
    ctx.same_rows(answer, TOP_BUYERS, ordered=True)
    ctx.same_rows_on_sample(answer, TOP_BUYERS, ordered=True)
    return "the right five users, in the right order"


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
    return "big_orders is a view with the right rows"


def _scan(node_type: str) -> str:
    return " ".join(node_type.lower().split())


@exercise("0.4", "Predict the plan of a primary-key lookup")
def predict_lookup(ctx: CheckContext) -> str:
    value = ctx.answer().value
    ctx.expect(isinstance(value, str) and value.strip(), "the answer should be a node name such as 'Seq Scan'",
               'pgcourse.answer("0.4", "Seq Scan")  # or another node type')
    plan = ctx.explain(LOOKUP)
    actual = next((n.node_type for n in plan.nodes() if n.relation == "orders"), plan.root.node_type)
    ctx.expect(_scan(value) == _scan(actual), f"you predicted {value.strip()!r}; PostgreSQL chose something else",
               "run EXPLAIN on the query and read the node that reads orders")
    return f"PostgreSQL chose {actual}, as you predicted"
