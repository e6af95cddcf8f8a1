"""Checks for chapter 04, Indexes.

Every check reads the chapter database only: plans (``EXPLAIN (FORMAT JSON)``, as the learner,
so the learner's own indexes count), the catalog (``pg_index``: method, key columns, predicate)
and behaviour tried as the learner inside a transaction that is always rolled back (an INSERT
that a unique index must refuse, a DELETE whose foreign-key check must not scan a table).
Checks look at plan shapes, never at timings: a slow shared machine cannot fail a right answer.

"Can an index serve this query?" is asked with ``enable_seqscan = off`` where any index that
can answer counts (4.5, 4.8, 4.9: the planner then uses one and falls back to a sequential scan
only when none can, so the verdict does not depend on the dataset size; the tests run on
``tiny``). Where a useless index must fail (4.4: a BRIN on lower(email) is "usable" with
sequential scans off) the normal planner decides, and 4.1 and 4.2 disable only the Sort, to ask
whether an index delivers the rows in order.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from ..plans import Plan, PlanNode
from . import CheckContext, exercise
from .context import attempt

# ---- the queries and set-up cells of the notebook (it shows this text verbatim; a test checks) ----

#: 4.1: the support queue of refunded orders (1.5% of the rows).
REFUNDS_QUERY = ("SELECT id, user_id, total_amount, updated_at FROM orders "
                 "WHERE status = 'refunded' ORDER BY updated_at DESC LIMIT 20")

#: 4.2: one user's latest orders, and how many they placed since July (the user places many).
COMPOSITE_USER = 2963
COMPOSITE_LATEST_QUERY = (f"SELECT id, created_at, total_amount FROM orders "
                          f"WHERE user_id = {COMPOSITE_USER} ORDER BY created_at DESC LIMIT 10")
COMPOSITE_COUNT_QUERY = (f"SELECT count(*) FROM orders "
                         f"WHERE user_id = {COMPOSITE_USER} AND created_at >= '2025-07-01'")

#: 4.3: a fresh copy of old orders that nobody has vacuumed yet (autovacuum is off for it).
ARCHIVE_SETUP = """DROP TABLE IF EXISTS order_archive;
CREATE TABLE order_archive WITH (autovacuum_enabled = off) AS
SELECT id, user_id, status, total_amount, created_at FROM orders WHERE id <= 200000 ORDER BY id;
ANALYZE order_archive;"""
ARCHIVE_QUERY = f"SELECT status, total_amount FROM order_archive WHERE user_id = {COMPOSITE_USER}"

#: 4.4: support looks an address up whatever its case, soft-deleted accounts included.
EMAIL_QUERY = "SELECT id, email, deleted_at FROM users WHERE lower(email) = lower('Linda_Allen36054@Gmail.com')"

#: 4.5: two questions about products.metadata that one GIN index should answer.
METADATA_CONTAINS_QUERY = """SELECT id, name FROM products WHERE metadata @> '{"brand": "Acme", "color": "black"}'"""
METADATA_HAS_KEY_QUERY = "SELECT id, name FROM products WHERE metadata ? 'gift_wrap'"

#: 4.6: carts, of which a user may have many checked out but at most one open.
CARTS_SETUP = """DROP TABLE IF EXISTS carts;
CREATE TABLE carts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    checked_out_at timestamptz            -- NULL while the cart is open
);
-- every order was a cart once; a user with a pending order has it open
INSERT INTO carts (user_id, created_at, checked_out_at)
SELECT user_id, created_at - interval '20 minutes', created_at FROM orders WHERE status <> 'pending' AND id <= 100000
UNION ALL
SELECT DISTINCT ON (user_id) user_id, created_at, NULL FROM orders WHERE status = 'pending'
ORDER BY 2;"""

#: 4.7: a colleague dropped this index as "unused" (errata 16: the unused-index query lists it).
FK_SETUP = "DROP INDEX IF EXISTS order_items_order_id_idx;"

#: 4.8: the guide's users table (our live users) with every index the guide creates for it (errata 20).
GUIDE_USERS_SETUP = """DROP TABLE IF EXISTS guide_users;
CREATE TABLE guide_users AS
SELECT id, email, username, is_active, created_at, deleted_at FROM users WHERE deleted_at IS NULL ORDER BY id;
ALTER TABLE guide_users ADD PRIMARY KEY (id),
    ADD CONSTRAINT guide_users_email_key UNIQUE (email),
    ADD CONSTRAINT guide_users_username_key UNIQUE (username);
CREATE INDEX idx_users_email ON guide_users (email) WHERE deleted_at IS NULL;
CREATE INDEX idx_users_username ON guide_users (username) WHERE deleted_at IS NULL;
CREATE INDEX idx_users_created_at ON guide_users (created_at);
CREATE INDEX idx_users_is_active ON guide_users (is_active) WHERE is_active = TRUE;
CREATE INDEX idx_users_email_2 ON guide_users (email);        -- migration 001 of the guide
CREATE INDEX idx_users_username_2 ON guide_users (username);  -- migration 001 of the guide
ANALYZE guide_users;"""
GUIDE_USERS_QUERIES = {
    "login by email": "SELECT id FROM guide_users WHERE email = 'AmberSmith1@outlook.com' AND deleted_at IS NULL",
    "profile by username": "SELECT id FROM guide_users WHERE username = 'amber_smith1'",
    "newest sign-ups": "SELECT id, created_at FROM guide_users ORDER BY created_at DESC LIMIT 20",
}
GUIDE_USERS_MAX_INDEXES = 4

#: 4.9: one day of the clickstream.
EVENTS_DAY_QUERY = ("SELECT count(*) FROM events "
                    "WHERE occurred_at >= '2025-03-01' AND occurred_at < '2025-03-02'")

#: 4.10: predict the scan the planner chooses for each query, then measure.
PREDICT_QUERIES = {
    "a": "SELECT count(*) FROM orders WHERE status = 'completed'",
    "b": "SELECT * FROM orders WHERE id BETWEEN 500000 AND 500100",
    "c": "SELECT user_id FROM orders WHERE user_id BETWEEN 1000 AND 1100",
    "d": "SELECT count(*) FROM orders WHERE created_at >= '2025-01-01' AND created_at < '2025-01-08'",
}
SCAN_KINDS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")

NO_SEQSCAN = {"enable_seqscan": "off"}


# ---- helpers ---------------------------------------------------------------------------------
def _indexes_by_name(ctx: CheckContext, table: str) -> dict[str, dict]:
    return {ix["name"]: ix for ix in ctx.indexes(table)}


def _index_scans(plan: Plan, indexes: dict[str, dict]) -> list[PlanNode]:
    """Nodes that use one of these indexes to answer the query.

    An index scan counts when it searches with a condition, when its index is partial (the
    predicate already selects the rows) or when it has no filter (it delivers rows in order, for
    an ORDER BY). A full scan of an unrelated index that filters every entry does not count.
    """
    out = []
    for n in plan.nodes():
        if n.index_name not in indexes:
            continue
        if ("Index Cond" in n.raw or n.node_type == "Bitmap Index Scan" or indexes[n.index_name]["predicate"]
                or "Filter" not in n.raw):
            out.append(n)
    return out


def _served_by(ctx: CheckContext, table: str, query: str, settings: dict[str, str] | None = NO_SEQSCAN
               ) -> tuple[Plan, list[dict]]:
    """The plan of ``query`` and the indexes of ``table`` it searches (with an index condition)."""
    indexes = _indexes_by_name(ctx, table)
    plan = ctx.explain(query, settings=settings)
    used = []
    for node in _index_scans(plan, indexes):
        if indexes[node.index_name] not in used:
            used.append(indexes[node.index_name])
    return plan, used


def _require_table(ctx: CheckContext, table: str, setup_cell: str) -> None:
    ctx.expect(ctx.table_exists(table), f"there is no table {table} yet",
               f"run the set-up cell ({setup_cell}) above the exercise first")


def _mentions(expression: str, column: str) -> bool:
    return re.search(rf"\b{re.escape(column)}\b", expression or "") is not None


def _size(ctx: CheckContext, index: str) -> str:
    return ctx.value("SELECT pg_size_pretty(pg_relation_size(to_regclass(%s)))", [f"public.{index}"])


# ---- 4.1 partial index -----------------------------------------------------------------------
@exercise("4.1", "A partial index for the rare refunded orders")
def partial_refunds(ctx: CheckContext) -> str:
    """Parts of the task: (1) the refunds query reads an index, not all of orders; (2) that index holds
    refunded orders only (partial: every row its WHERE admits is refunded); (3) it serves the ORDER BY
    (rows come out in updated_at order: no Sort node).

    Planned with ``enable_sort = off``: "can an index deliver the refunded orders in updated_at
    order?" (on a tiny dataset a Sort of a few rows is as cheap as anything).
    """
    plan, used = _served_by(ctx, "orders", REFUNDS_QUERY, settings={"enable_sort": "off"})
    ctx.expect(used, "no index can answer the refunds query: it still reads all of orders",
               "an index can hold some rows only (CREATE INDEX ... WHERE <condition>): which rows does the "
               "query want, and in which order?")
    partial = [ix for ix in used if ix["predicate"]]
    if not partial:
        ctx.fail(f"the query uses {used[0]['name']}, which indexes every order although only 1.5% are refunded",
                 "add a WHERE clause to the index so that it holds the refunded orders only (a partial index)")
    ix = partial[0]
    # the predicate is the learner's expression: evaluate it as the learner, read-only, never as the administrator
    with ctx.learner.transaction(force_rollback=True):
        ctx.learner.execute("SET TRANSACTION READ ONLY")
        (others,) = ctx.learner.execute(
            f"SELECT count(*) FROM orders WHERE ({ix['predicate']}) AND status IS DISTINCT FROM 'refunded'").fetchone()
    ctx.expect(others == 0, f"{ix['name']} also holds {others:,} orders that are not refunded "
                            f"(its WHERE is {ix['predicate']})",
               "index only the rows the query asks for: WHERE status = 'refunded'")
    ctx.expect(not plan.has("Sort") and not plan.has("Incremental Sort"),
               f"the query finds the refunded orders through {ix['name']}, but still sorts them by updated_at "
               f"(the index's keys: {', '.join(ix['keys'])})",
               "make updated_at the index's key, so that it hands out the rows already in order: "
               "CREATE INDEX ... (updated_at) WHERE ...")
    return f"the refunds query reads the partial index {ix['name']} (WHERE {ix['predicate']}) in updated_at order"


# ---- 4.2 composite index, column order -------------------------------------------------------
@exercise("4.2", "One composite index for two queries")
def composite_order(ctx: CheckContext) -> str:
    """Parts of the task: (1) one index serves both queries; (2) it leads with user_id, then created_at;
    (3) the latest-orders query needs no Sort.

    The latest-orders query is planned with ``enable_sort = off``: "can an index deliver the user's
    orders in created_at order?" (on a tiny dataset a Sort of a few rows is as cheap as anything).
    """
    indexes = _indexes_by_name(ctx, "orders")
    latest = ctx.explain(COMPOSITE_LATEST_QUERY, settings={"enable_sort": "off"})
    count = ctx.explain(COMPOSITE_COUNT_QUERY)
    latest_used = {n.index_name for n in _index_scans(latest, indexes)}
    count_used = {n.index_name for n in _index_scans(count, indexes)}
    both = latest_used & count_used
    candidates = [ix for name, ix in indexes.items() if len(ix["keys"]) >= 2 and _mentions(ix["keys"][0], "user_id")
                  and _mentions(ix["keys"][1], "created_at") and ix["predicate"] is None]
    wrong_order = [ix for ix in indexes.values() if len(ix["keys"]) >= 2 and _mentions(ix["keys"][0], "created_at")
                   and _mentions(ix["keys"][1], "user_id")]
    if not candidates:
        if wrong_order:
            ctx.fail(f"{wrong_order[0]['name']} starts with created_at: to find one user's orders it must walk "
                     "through everybody's orders in that time range",
                     "put the column compared with = first (user_id), then the column of the range and the ORDER BY")
        ctx.fail("no index on orders starts with the two columns these queries need, in the order they need them",
                 "a composite index is sorted by its first column, then by the second within each value of the "
                 "first: which column do both queries compare with =, and which one do they range over or sort by?")
    ctx.expect(latest_used and not latest.has("Sort") and not latest.has("Incremental Sort"),
               "the latest-orders query still sorts the user's orders (a Sort node in its plan)",
               "an index on (equality column, ORDER BY column) returns one user's orders already in order")
    ctx.expect(both, f"the two queries use different indexes ({', '.join(sorted(latest_used)) or 'none'} and "
                     f"{', '.join(sorted(count_used)) or 'none'}): one composite index can serve both",
               "keep one index whose first two columns fit both queries, and drop the indexes that compete with it")
    name = sorted(both)[0]
    ctx.expect(name in {ix["name"] for ix in candidates},
               f"both queries use {name}, but it does not start with (user_id, created_at)",
               "equality column first (user_id), then the range/ORDER BY column (created_at)")
    return f"both queries use {name} ({', '.join(indexes[name]['keys'])}); no Sort for the latest orders"


# ---- 4.3 covering index and the visibility map -----------------------------------------------
@exercise("4.3", "An index-only scan with 0 heap fetches")
def index_only(ctx: CheckContext) -> str:
    """Parts of the task: (1) the archive query is an Index Only Scan (also for a user with about 20
    archived orders, so an empty result cannot pass); (2) it makes 0 heap fetches."""
    _require_table(ctx, "order_archive", "CREATE TABLE order_archive ...")
    indexes = _indexes_by_name(ctx, "order_archive")
    covering = [ix for ix in indexes.values() if ix["keys"] and _mentions(ix["keys"][0], "user_id")
                and all(any(_mentions(c, col) for c in ix["keys"] + ix["include"]) for col in ("status", "total_amount"))]
    # the exercise's query, and the same question for a user with about 20 archived orders (so that
    # an empty result cannot pass by fetching nothing)
    probe_user = ctx.value("SELECT user_id FROM order_archive GROUP BY user_id ORDER BY abs(count(*) - 20), user_id LIMIT 1")
    probe = f"SELECT status, total_amount FROM order_archive WHERE user_id = {int(probe_user or 0)}"
    plans = [ctx.explain(ARCHIVE_QUERY, analyze=True), ctx.explain(probe, analyze=True)]
    kinds = sorted({n.node_type for plan in plans for n in plan.nodes()
                    if n.relation == "order_archive" or n.index_name in indexes})
    if not covering:
        if any(ix["keys"] and _mentions(ix["keys"][0], "user_id") for ix in indexes.values()):
            ctx.fail("an index finds the user's rows, but the query also reads status and total_amount, "
                     "which are not in it: every row is fetched from the table",
                     "an index can carry columns it is not sorted by: CREATE INDEX ... (key column) INCLUDE (...)")
        ctx.fail(f"no index on order_archive answers the query (the plan: {', '.join(kinds)})",
                 "an index on the filtered column that also carries (INCLUDE) every column the query reads")
    not_ios = [(what, plan) for what, plan in zip(("the exercise's query", f"the same query for user {probe_user}"), plans)
               if not plan.has("Index Only Scan")]
    if not_ios:
        what, plan = not_ios[0]
        scans = sorted({n.node_type for n in plan.nodes() if n.relation == "order_archive" or n.index_name in indexes})
        ctx.fail(f"the index covers the query, but {what} is planned as {', '.join(scans) or 'another plan'} "
                 "instead of an Index Only Scan",
                 "the planner expects to visit the table for every row because no page is marked all-visible yet: "
                 "VACUUM order_archive")
    fetches = max(plan.heap_fetches() for plan in plans)
    ctx.expect(fetches == 0,
               f"an Index Only Scan, but it still made {fetches} heap fetches: the visibility map does not "
               "say these pages are all-visible",
               "VACUUM order_archive (autovacuum is off for this table, as on a busy table it may lag)")
    return f"Index Only Scan using {sorted(n.index_name for n in plans[0].find('Index Only Scan'))[0]}, 0 heap fetches"


# ---- 4.4 expression index --------------------------------------------------------------------
@exercise("4.4", "A case-insensitive email lookup that uses an index")
def expression_email(ctx: CheckContext) -> str:
    """Parts of the task: (1) the lookup, soft-deleted users included, is answered by an index that the
    normal planner chooses (an index usable only with sequential scans disabled, e.g. a BRIN on
    lower(email), does not count); (2) the index searches lower(email) (an Index Cond on it)."""
    plan, used = _served_by(ctx, "users", EMAIL_QUERY, settings=None)
    used = [ix for ix in used if any("lower(email)" in n.raw.get("Index Cond", "")
                                     for n in plan.nodes() if n.index_name == ix["name"])]
    if not used:
        plain = [ix["name"] for ix in ctx.indexes("users") if ix["keys"] == ["email"]]
        unused = [ix for ix in ctx.indexes("users") if ix["keys"] and "lower(email)" in ix["keys"][0]
                  and ix["name"] != "users_email_live_key"]
        if unused:
            ix = unused[0]
            ctx.fail(f"{ix['name']} ({ix['method']}) indexes lower(email), but the planner does not use it for this "
                     "lookup: it still reads all of users" + (f" (its WHERE {ix['predicate']} leaves users out)"
                                                              if ix["predicate"] else ""),
                     "a B-tree (or hash) index on lower(email) without a WHERE finds one value in a few pages; "
                     "a BRIN index keeps only min/max per block range, useless for unordered values")
        if plain:
            ctx.fail(f"{plain[0]} indexes email as typed; the query compares lower(email), so it cannot use it",
                     "an index on an expression serves a query that compares the same expression")
        ctx.fail("no index can answer lower(email) = ... for all users: users_email_live_key only holds live users "
                 "(WHERE deleted_at IS NULL) and the query does not say deleted_at IS NULL",
                 "an index on the expression the query compares, without a WHERE that leaves users out")
    ix = used[0]
    return f"the lookup uses {ix['name']} ({ix['method']} on {', '.join(ix['keys'])})"


# ---- 4.5 GIN on jsonb ------------------------------------------------------------------------
@exercise("4.5", "One GIN index for containment and key existence")
def gin_metadata(ctx: CheckContext) -> str:
    """Parts of the task: (1) the @> query and (2) the ? query on products.metadata use an index;
    (3) it is one and the same index."""
    _, contains = _served_by(ctx, "products", METADATA_CONTAINS_QUERY)
    _, has_key = _served_by(ctx, "products", METADATA_HAS_KEY_QUERY)
    if contains and not has_key:
        names = ", ".join(ix["name"] for ix in contains)
        path_ops = "jsonb_path_ops" in " ".join(ix["definition"] for ix in contains)
        ctx.fail(f"the @> query uses {names}, but no index answers metadata ? 'gift_wrap'",
                 "jsonb_path_ops indexes paths to values, not keys: it serves @> only. The default "
                 "operator class (jsonb_ops) serves ?, ?|, ?& and @>" if path_ops else
                 "a GIN index with the default operator class (jsonb_ops) serves both ? and @>")
    ctx.expect(contains and has_key, "no index answers these metadata queries: each one reads all products",
               "a GIN index on the jsonb column; mind the operator class: which one serves both @> and ?")
    common = [ix for ix in contains if ix in has_key]
    ctx.expect(common, "the two queries use two different indexes: one GIN index with the default operator class "
                       "serves both", "drop the jsonb_path_ops index: the default one answers @> too")
    return f"both queries use {common[0]['name']} ({common[0]['method']})"


# ---- 4.6 unique partial index ----------------------------------------------------------------
def _try_insert(conn: psycopg.Connection, sql: str, params: list[Any]) -> str | None:
    """Run an INSERT in a savepoint; return the name of the constraint that refused it (None if accepted)."""
    err = attempt(conn, sql, params)
    if err is None:
        return None
    if isinstance(err, psycopg.errors.UniqueViolation):
        return err.diag.constraint_name or "a unique index"
    if isinstance(err, psycopg.errors.IntegrityError):
        return err.diag.constraint_name or type(err).__name__
    raise err  # not a constraint's refusal: the check reports the database's error


@exercise("4.6", "At most one open cart per user")
def one_open_cart(ctx: CheckContext) -> str:
    """Parts of the task: (1) a second open cart of a user is refused; (2) checked-out carts are not
    limited; (3) the rule holds for every user (a user without an open cart may open one, not two)."""
    _require_table(ctx, "carts", "CREATE TABLE carts ...")
    with_open = ctx.value("SELECT min(user_id) FROM carts WHERE checked_out_at IS NULL")
    without_open = ctx.value("""SELECT min(user_id) FROM carts c WHERE checked_out_at IS NOT NULL
                                AND NOT EXISTS (SELECT 1 FROM carts o WHERE o.user_id = c.user_id AND o.checked_out_at IS NULL)""")
    ctx.expect(with_open is not None and without_open is not None, "the carts table is not as the set-up cell left it",
               "run the set-up cell again")
    ins = "INSERT INTO carts (user_id, created_at, checked_out_at) VALUES (%s, '2025-12-31 12:00+00', %s)"
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        refused = _try_insert(conn, ins, [with_open, None])
        ctx.expect(refused, f"user {with_open} already has an open cart, and a second open cart was accepted",
                   "a UNIQUE index can hold some rows only: make user_id unique among the rows "
                   "WHERE checked_out_at IS NULL (a NULL is never equal to another NULL in a plain UNIQUE)")
        too_strict = _try_insert(conn, ins, [with_open, "2025-12-31 12:30+00"])
        ctx.expect(too_strict is None, f"a checked-out cart for user {with_open} was refused ({too_strict}): "
                                       "users may have many checked-out carts",
                   "limit the rule to open carts with a partial index: WHERE checked_out_at IS NULL")
        first_open = _try_insert(conn, ins, [without_open, None])
        ctx.expect(first_open is None, f"the first open cart of user {without_open} was refused ({first_open})",
                   "the rule is one open cart per user, not per table: index (user_id)")
        second_open = _try_insert(conn, ins, [without_open, None])
        ctx.expect(second_open, "a user without an open cart could open two at once",
                   "the index must be UNIQUE to refuse the second one")
    return "a second open cart is refused; checked-out carts are not limited"


# ---- 4.7 foreign-key index -------------------------------------------------------------------
@exercise("4.7", "Index the foreign key so a DELETE does not scan the child table")
def fk_index(ctx: CheckContext) -> str:
    """Parts of the task: (1) deleting an order still deletes its items (the foreign key stays);
    (2) the cascade finds them by index, never by a sequential scan of order_items."""
    order_id = ctx.value("SELECT min(order_id) FROM order_items")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        conn.execute("DELETE FROM orders WHERE id = %s", [order_id])
        seq, idx, deleted = conn.execute(
            "SELECT seq_scan, idx_scan, n_tup_del FROM pg_stat_xact_user_tables WHERE relid = 'order_items'::regclass"
        ).fetchone()
    ctx.expect(deleted and deleted > 0, "deleting an order did not delete its items", "keep the ON DELETE CASCADE foreign key")
    ctx.expect(seq == 0, "deleting one order still reads all of order_items: the foreign key's cascade "
                         "(DELETE FROM order_items WHERE order_id = ...) has no index to use",
               "PostgreSQL does not index the referencing column for you: the cascade looks the items up "
               "by order_items (order_id)")
    names = [ix["name"] for ix in ctx.indexes("order_items") if ix["keys"] and _mentions(ix["keys"][0], "order_id")]
    return f"deleting an order finds its items through {names[0] if names else 'an index'} (0 sequential scans)"


# ---- 4.8 too many indexes --------------------------------------------------------------------
@exercise("4.8", "Drop the redundant indexes of the guide's users table")
def redundant_indexes(ctx: CheckContext) -> str:
    """Parts of the task: (1) each of the three queries still uses an index; (2) the primary key stays;
    (3) email and (4) username stay unique; (5) at most four indexes are left."""
    _require_table(ctx, "guide_users", "CREATE TABLE guide_users ...")
    for what, query in GUIDE_USERS_QUERIES.items():
        _, used = _served_by(ctx, "guide_users", query)
        ctx.expect(used, f"the {what} query has no index any more", "keep one index per question the table is asked")
    ctx.expect(any(ix["primary"] for ix in ctx.indexes("guide_users")), "guide_users has no primary key any more",
               "keep guide_users_pkey: it identifies every row (and other tables may reference it)")
    model = ctx.value("SELECT min(id) FROM guide_users WHERE deleted_at IS NULL")
    duplicates = {
        "email": "SELECT -1, email, username || '-check', true, created_at FROM guide_users WHERE id = %s",
        "username": "SELECT -1, email || '-check', username, true, created_at FROM guide_users WHERE id = %s",
    }
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        for column, select in duplicates.items():
            refused = _try_insert(conn, f"INSERT INTO guide_users (id, email, username, is_active, created_at) {select}",
                                  [model])
            ctx.expect(refused, f"a second live user with the same {column} was accepted: the index that "
                                f"enforced uniqueness is gone", f"keep one UNIQUE index (or constraint) on {column}")
    indexes = ctx.indexes("guide_users")
    if len(indexes) > GUIDE_USERS_MAX_INDEXES:
        names = ", ".join(ix["name"] for ix in indexes)
        active = ctx.value("SELECT round(100.0 * count(*) FILTER (WHERE is_active) / greatest(count(*), 1)) "
                           "FROM guide_users")
        ctx.fail(f"guide_users still has {len(indexes)} indexes ({names}); four are enough",
                 "an index on the same column as a UNIQUE constraint duplicates it; a partial index WHERE "
                 f"is_active = TRUE holds {active}% of the rows with one constant value and serves no query")
    return f"{len(indexes)} indexes left; every query still uses one and email and username stay unique"


# ---- 4.9 BRIN --------------------------------------------------------------------------------
@exercise("4.9", "A BRIN index on the clickstream's time column")
def brin_events(ctx: CheckContext) -> str:
    """Parts of the task: (1) the one-day events query uses an index; (2) it is a BRIN index."""
    _, used = _served_by(ctx, "events", EVENTS_DAY_QUERY)
    ctx.expect(used, "no index answers the one-day query: it reads all of events",
               "events is appended in time order: a BRIN index (CREATE INDEX ... USING brin (...)) on the time column")
    brin = [ix for ix in used if ix["method"] == "brin"]
    if not brin:
        ix = used[0]
        ctx.fail(f"the query uses {ix['name']}, a {ix['method']} index of {_size(ctx, ix['name'])}; the exercise "
                 "asks for BRIN, which does the same job here in a few dozen kB",
                 "occurred_at grows with the row's position in the table, so a BRIN index (the min and max "
                 "per range of pages) finds a day as well, at a fraction of the size")
    return f"the one-day query reads the BRIN index {brin[0]['name']}"


# ---- 4.10 predict, then measure --------------------------------------------------------------
def _normal_kind(text: Any) -> str | None:
    """A predicted or actual scan name in canonical form ("parallel seq scan" -> "Seq Scan")."""
    if not isinstance(text, str):
        return None
    t = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    t = t.removeprefix("parallel ")
    if t in ("bitmap index scan", "bitmap heap scan", "bitmap scan", "bitmap"):
        return "Bitmap Heap Scan"
    for kind in SCAN_KINDS:
        if t == kind.lower() or t == kind.lower().removesuffix(" scan"):
            return kind
    return None


def actual_scan(plan: Plan, table: str = "orders") -> str:
    """The kind of scan that reads ``table`` in a plan (one of :data:`SCAN_KINDS`)."""
    for node in plan.nodes():
        if node.relation == table:
            kind = _normal_kind(node.node_type)
            if kind:
                return kind
    return "other"


@exercise("4.10", "Predict the scan, then measure")
def predict_scans(ctx: CheckContext) -> str:
    """Parts of the task: one prediction per query a-d, each naming the scan the planner really chooses
    on this database now (any spelling of the four scan kinds)."""
    saved = ctx.answer().value
    ctx.expect(isinstance(saved, dict), "save the predictions as a dict: pgcourse.answer(\"4.10\", {\"a\": ..., ...})",
               f"one entry per query ({', '.join(PREDICT_QUERIES)}), each one of: {', '.join(SCAN_KINDS)}")
    missing = [k for k in PREDICT_QUERIES if _normal_kind(saved.get(k)) is None]
    ctx.expect(not missing, f"no usable prediction for {', '.join(missing)}",
               f"each value is one of: {', '.join(SCAN_KINDS)}")
    wrong = []
    for key, query in PREDICT_QUERIES.items():
        actual = actual_scan(ctx.explain(query))
        if _normal_kind(saved[key]) != actual:
            wrong.append(f"{key}: you said {_normal_kind(saved[key])}, the planner chose {actual}")
    if wrong:
        ctx.fail(f"{len(PREDICT_QUERIES) - len(wrong)} of {len(PREDICT_QUERIES)} right; " + "; ".join(wrong),
                 "run EXPLAIN on each query and work out why: how many rows match, which index fits, "
                 "whether the index holds every column the query reads")
    return f"all {len(PREDICT_QUERIES)} predictions match the plans"
