"""Checks for chapter 13, Capstone: a shop schema that commits every anti-pattern, fixed.

The notebook builds the broken ``shop`` schema from :data:`BROKEN_SHOP` (the same rows everywhere:
arithmetic on ``generate_series``, no randomness). Each check judges the fixed schema the way a
reviewer would: the rows kept (counts and exact money sums, :data:`EXPECTED`), bad rows refused
(tried in a transaction that is always rolled back), the workload's queries served by the plans they
should have (plan shapes and pages read, never time), the application's role unable to do what it
must not, and the injection gone. Every message ends with a hint naming the chapter that teaches the
fix. Roles carry the chapter database's name as a prefix, as in chapter 10 (:func:`role_name`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from . import CheckContext, CheckFailed, exercise, get_exercise, run_check
from .ch10_security import role_name
from ..plans import Plan
from .context import act_as, attempt, compare_rows, first_line, is_violation, sql_words

# ---- the broken shop ---------------------------------------------------------------------------------

#: Where each chapter of the course is, for the hints ("see chapter 03 Constraints").
CHAPTER_HINTS = {
    "01": "see chapter 01 Schema design", "07": "see chapter 07 Migrations", "02": "see chapter 02 Data types", "03": "see chapter 03 Constraints",
    "04": "see chapter 04 Indexes", "05": "see chapter 05 Queries", "08": "see chapter 08 Performance",
    "09": "see chapter 09 Partitioning", "10": "see chapter 10 Security",
}


def hint(text: str, chapter: str) -> str:
    """A hint that ends by naming the chapter teaching the fix."""
    return f"{text}; {CHAPTER_HINTS[chapter]}"


#: 40 cities, five per country: the city decides the country (two correlated columns).
COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "PL", "SE", "PT")
CITIES = ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Paris", "Lyon", "Marseille", "Toulouse", "Nice",
          "Rome", "Milan", "Naples", "Turin", "Florence", "Madrid", "Barcelona", "Valencia", "Seville", "Bilbao",
          "Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Warsaw", "Krakow", "Gdansk", "Wroclaw",
          "Poznan", "Stockholm", "Gothenburg", "Malmo", "Uppsala", "Lund", "Lisbon", "Porto", "Braga", "Coimbra", "Faro")

#: Every (product, tag) the comma-separated ``products.tags`` lists hold (13.5's reference).
TAG_PAIRS = """SELECT p.id AS product_id, t.tag
FROM generate_series(1, 1000) AS p(id)
JOIN (VALUES (0, 'sale'), (1, 'wholesale'), (2, 'new'), (3, 'eco'), (4, 'red'), (5, 'blue')) AS t(k, tag)
  ON (p.id * (t.k + 2) + t.k) % 7 < 2"""

#: Every product's weight and colour, which the EAV table ``product_attributes`` holds as text (13.6's reference).
ATTRIBUTES = """SELECT i AS product_id, 100 + (i * 53) % 4900 AS weight_g,
       CASE WHEN i % 5 = 0 THEN NULL ELSE (ARRAY['black', 'white', 'red', 'green'])[1 + i % 4] END AS color
FROM generate_series(1, 1000) AS i"""

_ARRAY = "ARRAY[{}]"
_COUNTRY = f"({_ARRAY.format(', '.join(repr(c) for c in COUNTRIES))})[1 + ((i * 13) % 40) / 5]"
_CITY = f"({_ARRAY.format(', '.join(repr(c) for c in CITIES))})[1 + (i * 13) % 40]"

#: The schema as it was delivered: every table, index and function the notebook starts from (grants: SHOP_GRANTS).
SHOP_DDL = """DROP SCHEMA IF EXISTS shop CASCADE;
CREATE SCHEMA shop;

CREATE TABLE shop.customers (
    id         serial PRIMARY KEY,
    email      varchar,
    name       varchar,
    password   varchar,
    created_at timestamp
);
CREATE INDEX customers_email_idx ON shop.customers (email);
CREATE INDEX customers_id_idx ON shop.customers (id);

CREATE TABLE shop.products (
    id    serial PRIMARY KEY,
    name  varchar,
    price float8,
    tags  varchar
);

CREATE TABLE shop.product_attributes (
    product_id integer,
    attribute  varchar,
    value      varchar
);

CREATE TABLE shop.orders (
    id          serial PRIMARY KEY,
    customer_id integer,
    status      varchar,
    total       float8,
    created_at  timestamp,
    country     varchar,
    city        varchar
);
CREATE INDEX orders_created_at_idx ON shop.orders (created_at);
CREATE INDEX orders_id_idx ON shop.orders (id);

CREATE TABLE shop.order_items (
    order_id   integer,
    product_id integer,
    quantity   integer,
    unit_price float8
);

CREATE TABLE shop.events (
    id          bigserial PRIMARY KEY,
    created_at  timestamp,
    kind        varchar,
    customer_id integer,
    payload     varchar
);

CREATE FUNCTION shop.search_customers(prefix text) RETURNS TABLE (id integer, name varchar)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT id, name FROM shop.customers WHERE name LIKE ''' || prefix || '%'' ORDER BY id';
END
$$;"""

#: The one foreign key the shop has (added after the rows: one check of them all, not one per row).
SHOP_KEYS = """ALTER TABLE shop.order_items ADD CONSTRAINT order_items_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES shop.products;"""

#: The rows: 5,000 customers, 1,000 products, 30,000 orders of 3 items, 120,000 events over six months of 2025.
SHOP_DATA = f"""INSERT INTO shop.customers (id, email, name, password, created_at)
SELECT i,
       CASE WHEN i % 10 = 0 THEN 'Customer' || i || '@Example.com' ELSE 'customer' || i || '@example.com' END,
       CASE WHEN i % 500 = 0 THEN 'O''Brien ' || i ELSE 'Customer ' || i END,
       'secret-' || i,
       timestamp '2024-01-01' + i * interval '1 hour'
FROM generate_series(1, 5000) AS i;

INSERT INTO shop.products (id, name, price)
SELECT i, 'Product ' || i, ((i * 37) % 5000 + 99) / 100.0::float8
FROM generate_series(1, 1000) AS i;

UPDATE shop.products AS p SET tags = t.tags
FROM (SELECT product_id, string_agg(tag, CASE WHEN product_id % 2 = 0 THEN ', ' ELSE ',' END ORDER BY tag) AS tags
      FROM ({TAG_PAIRS}) AS pairs GROUP BY product_id) AS t
WHERE t.product_id = p.id;

INSERT INTO shop.product_attributes (product_id, attribute, value)
SELECT product_id, 'weight_g', weight_g::text FROM ({ATTRIBUTES}) AS a
UNION ALL
SELECT product_id, 'color', color FROM ({ATTRIBUTES}) AS a WHERE color IS NOT NULL;

INSERT INTO shop.order_items (order_id, product_id, quantity, unit_price)
SELECT o, p.id, 1 + (o + k) % 3, p.price
FROM generate_series(1, 30000) AS o CROSS JOIN generate_series(0, 2) AS k
JOIN shop.products AS p ON p.id = 1 + (o * 7 + k * 331) % 1000;

INSERT INTO shop.orders (id, customer_id, status, total, created_at, country, city)
SELECT i, 1 + (i * 7919) % 5000,
       CASE WHEN i % 50 = 0 THEN 'cancelled' WHEN i % 10 = 0 THEN 'pending' WHEN i % 3 = 0 THEN 'shipped' ELSE 'paid' END,
       s.total,
       timestamp '2025-01-01' + (i - 1) * interval '480 seconds',
       {_COUNTRY},
       {_CITY}
FROM generate_series(1, 30000) AS i
JOIN (SELECT order_id, sum(quantity * unit_price ORDER BY product_id) AS total
      FROM shop.order_items GROUP BY order_id) AS s ON s.order_id = i
ORDER BY i;

INSERT INTO shop.events (id, created_at, kind, customer_id, payload)
SELECT i, timestamp '2025-01-01' + (i - 1) * interval '130 seconds',
       (ARRAY['view', 'cart', 'checkout', 'login'])[1 + i % 4], 1 + (i * 31) % 5000, 'page=' || i % 97
FROM generate_series(1, 120000) AS i;

{SHOP_KEYS}

SELECT setval('shop.customers_id_seq', 5000), setval('shop.products_id_seq', 1000), setval('shop.orders_id_seq', 30000), setval('shop.events_id_seq', 120000);
ANALYZE shop.customers, shop.products, shop.product_attributes, shop.orders, shop.order_items, shop.events;"""

#: What the delivered application's role was given: everything (run with ``{app}`` as its quoted name).
SHOP_GRANTS = """GRANT ALL ON SCHEMA shop TO {app};
GRANT ALL ON ALL TABLES IN SCHEMA shop TO {app};
GRANT ALL ON ALL SEQUENCES IN SCHEMA shop TO {app};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA shop TO {app}"""

#: The figures every fix must keep: row counts, exact cent sums, and the instants (as UTC) of every timestamp.
EXPECTED: dict[str, Any] = {
    "customers": 5000, "products": 1000, "orders": 30000, "order_items": 90000, "events": 120000,
    "products.price": (Decimal("25175.00"), Decimal("12720890.00")),
    "orders.total": (Decimal("4531500.00"), Decimal("67974776700.00")),
    "order_items.unit_price": (Decimal("2265750.00"), Decimal("33987051300.00")),
    "customers.created_at": Decimal("8565345000000"),
    "orders.created_at": Decimal("52286680800000"),
    "events.created_at": Decimal("209218744200000"),
    # events: count, sum(id), sum(customer_id), sum(length(payload)), checkouts
    "events.figures": (120000, 7200060000, 300060000, 827621, 30000),
}

#: The money columns (13.1): table, column, the column weighting the second checksum.
MONEY = (("products", "price", "id"), ("orders", "total", "id"), ("order_items", "unit_price", "order_id"))
#: The timestamp columns (13.2): table, column.
STAMPS = (("customers", "created_at"), ("orders", "created_at"))


def money_figures(conn: psycopg.Connection) -> dict[str, Decimal]:
    """Per money column: the sum and the sum weighted by an id, as exact numerics (floats rounded to cents)."""
    figures = {}
    for table, column, weight in MONEY:
        total, weighted = conn.execute(
            f"SELECT sum(round({column}::numeric, 2)), sum(round({column}::numeric, 2) * {weight}) FROM shop.{table}"
        ).fetchone()
        figures[f"{table}.{column}"] = (total, weighted)
    return figures


def stamp_figures(conn: psycopg.Connection, stamps=STAMPS + (("events", "created_at"),)) -> dict[str, Decimal]:
    """Per timestamp column: the sum of its instants in epoch seconds (a timestamp read as UTC)."""
    out = {}
    for table, column in stamps:
        out[f"{table}.{column}"] = conn.execute(
            f"SELECT sum(extract(epoch FROM {column})) FROM shop.{table}").fetchone()[0]
    return out


# ---- helpers ---------------------------------------------------------------------------------------

def _columns(ctx: CheckContext, table: str) -> dict[str, dict]:
    """The columns of shop.<table>; fail, saying how to get it back, when the table is gone."""
    ctx.expect(ctx.table_exists(table, "shop"), f"there is no table shop.{table}",
               hint("run the set-up cell at the top of the chapter (it builds the shop), then your fixes again", "07"))
    return ctx.columns(table, "shop")


def _kept(ctx: CheckContext, table: str) -> None:
    """Fail unless shop.<table> still has every row the shop was delivered with."""
    _columns(ctx, table)
    n = ctx.value(f"SELECT count(*) FROM shop.{table}")
    ctx.expect(n == EXPECTED[table], f"shop.{table} has {n:,} rows; the shop was delivered with {EXPECTED[table]:,}: "
               "a migration keeps every row", hint("convert the data in place (ALTER ... USING, INSERT ... SELECT)", "07"))


def _refused(error: psycopg.Error | None) -> bool:
    """A constraint, a domain or an enum said no (not a typo in the statement)."""
    return is_violation(error) or isinstance(error, psycopg.DataError)


def _reads_tables(ctx: CheckContext, answer: str, what: str, tables: tuple[str, ...] = ()) -> Plan:
    """The answer's plan (EXPLAIN ANALYZE, BUFFERS); fail unless it reads a table (each of ``tables``, if given):
    rows typed into the query fit this dataset only."""
    plan = ctx.explain(answer, analyze=True, buffers=True)
    read = {n.relation for n in plan.nodes() if n.relation}
    missing = [t for t in tables if t not in read] if tables else ([] if read else ["a table"])
    ctx.expect(not missing, f"your query does not read {', '.join(missing)}: it returns rows written into it",
               hint(f"compute the result from {what}", "05"))
    return plan


TEXT_TYPES = ("text", "character varying", "character", "citext")


def _base_type(kind: str) -> str:
    return kind.split("(")[0].strip()


def _is_timestamptz(kind: str) -> bool:
    """timestamptz, with or without a precision (timestamp(0) with time zone)."""
    return kind.startswith("timestamp") and kind.endswith("with time zone")


# ---- 13.1 money ------------------------------------------------------------------------------------

@exercise("13.1", "Money in numeric, every cent kept")
def money(ctx: CheckContext) -> str:
    """Parts: (a) products.price, orders.total and order_items.unit_price are numeric (not double precision,
    real or money); (b) products, orders and order_items keep every row (1,000, 30,000, 90,000); (c) each
    column's sum, and its sum weighted by an id, equal the delivered prices to the cent; (d) every value is
    whole cents. A domain over numeric counts as numeric."""
    for table, column, _ in MONEY:
        columns = _columns(ctx, table)
        ctx.expect(column in columns, f"shop.{table} has no column {column} any more",
                   hint("keep the column and change its type: ALTER TABLE ... ALTER COLUMN ... TYPE numeric(12,2)", "02"))
        kind, base = columns[column]["type"], columns[column]["base_type"]
        shown = kind if kind == base else f"{kind} (a domain over {base})"
        why = ("money's text depends on lc_monetary and it rounds to the locale's digits" if base == "money"
               else "a binary float cannot hold 0.10 exactly, and sums drift by fractions of a cent"
               if base in ("double precision", "real") else "the task asks for exact decimal amounts: numeric")
        ctx.expect(base.startswith("numeric"), f"shop.{table}.{column} is {shown}: {why}",
                   hint(f"ALTER TABLE shop.{table} ALTER COLUMN {column} TYPE numeric(12,2)", "02"))
    for table, column, weight in MONEY:
        _kept(ctx, table)
        total, weighted, fractions = ctx.rows(
            f"SELECT sum({column}), sum({column} * {weight}), count(*) FILTER (WHERE {column} <> round({column}, 2)) "
            f"FROM shop.{table}")[0]
        want_total, want_weighted = EXPECTED[f"{table}.{column}"]
        ctx.expect(fractions == 0, f"{fractions:,} values of shop.{table}.{column} are not whole cents",
                   hint("round while converting: USING round(" + column + "::numeric, 2)", "02"))
        ctx.expect(total == want_total and weighted == want_weighted,
                   f"the sum of shop.{table}.{column} is {total} (weighted by {weight}: {weighted}); the delivered "
                   f"prices sum to {want_total} ({want_weighted}): some amounts changed",
                   hint("convert each value to the cent it meant: USING round(" + column + "::numeric, 2)", "02"))
    return "prices and totals are numeric; every row and every cent kept"


# ---- 13.2 timestamps -----------------------------------------------------------------------------------

@exercise("13.2", "Timestamps with time zone, the same instants")
def stamps(ctx: CheckContext) -> str:
    """Parts: (a) customers.created_at and orders.created_at are timestamptz; (b) both tables keep every row;
    (c) every value is the instant the application meant: the delivered values read as UTC (the sum of their
    epoch seconds unchanged). timestamptz(0) and a domain over timestamptz count as timestamptz."""
    for table, column in STAMPS:
        columns = _columns(ctx, table)
        ctx.expect(column in columns, f"shop.{table} has no column {column} any more",
                   hint("change the column's type in place: ALTER TABLE ... ALTER COLUMN ... TYPE timestamptz", "02"))
        kind = columns[column]["type"]
        ctx.expect(_is_timestamptz(columns[column]["base_type"]), f"shop.{table}.{column} is {kind}: a value without its zone "
                   "means another instant on every server and session", hint(
                       f"ALTER TABLE shop.{table} ALTER COLUMN {column} TYPE timestamptz USING {column} AT TIME ZONE 'UTC'",
                       "02"))
    for table, column in STAMPS:
        _kept(ctx, table)
        got = stamp_figures(ctx.admin, ((table, column),))[f"{table}.{column}"]
        want = EXPECTED[f"{table}.{column}"]
        if got != want:
            shift = (Decimal(got) - want) / EXPECTED[table] / 3600
            ctx.fail(f"shop.{table}.{column} holds other instants than the application wrote: "
                     f"{shift:+.2f} hours on average", hint("the application wrote UTC: USING "
                                                            f"{column} AT TIME ZONE 'UTC'", "02"))
    return "created_at is timestamptz in customers and orders; every instant as the application meant it"


# ---- 13.3 NOT NULL, CHECK, UNIQUE -----------------------------------------------------------------

_CUSTOMER = "INSERT INTO shop.customers (email, name, password, created_at) VALUES (%s, %s, 'x', '2025-03-01 12:00:00+00')"
_ORDER = ("INSERT INTO shop.orders (customer_id, status, total, created_at, country, city) "
          "VALUES (%s, %s, %s, %s, 'DE', 'Berlin')")
_ITEM = "INSERT INTO shop.order_items (order_id, product_id, quantity, unit_price) VALUES (%s, %s, %s, %s)"
_AT = "2025-03-01 12:00:00+00"

#: 13.3: rows every reviewer would refuse (what, statement, parameters, the chapter-03 fix).
BAD_ROWS: tuple[tuple[str, str, list, str], ...] = (
    ("a customer without an e-mail", _CUSTOMER, [None, "Check 13.3"], "email NOT NULL"),
    ("a customer without a name", _CUSTOMER, ["check-13.3-nameless@example.com", None], "name NOT NULL"),
    ("a second customer with the e-mail customer1@example.com", _CUSTOMER, ["customer1@example.com", "Check 13.3"],
     "UNIQUE e-mails"),
    ("an order without a customer", _ORDER, [None, "pending", 10, _AT], "customer_id NOT NULL"),
    ("an order without a status", _ORDER, [1, None, 10, _AT], "status NOT NULL"),
    ("an order with the status 'lost'", _ORDER, [1, "lost", 10, _AT],
     "CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled'))"),
    ("an order with the status 'PAID'", _ORDER, [1, "PAID", 10, _AT],
     "CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')) on the words the application writes and looks "
     "for ('paid'), not on lower(status)"),
    ("an order without a total", _ORDER, [1, "pending", None, _AT], "total NOT NULL"),
    ("an order with the total -10", _ORDER, [1, "pending", -10, _AT], "CHECK (total >= 0)"),
    ("an order without a date", _ORDER, [1, "pending", 10, None], "created_at NOT NULL"),
    ("an order line with quantity 0", _ITEM, [1, 3, 0, 5], "CHECK (quantity > 0)"),
    ("an order line without a quantity", _ITEM, [1, 3, None, 5], "quantity NOT NULL"),
    ("an order line with the price -5", _ITEM, [1, 3, 1, -5], "CHECK (unit_price >= 0)"),
    ("an order line without a price", _ITEM, [1, 3, 1, None], "unit_price NOT NULL"),
    ("a second line for product 8 in order 1 (it has one)", _ITEM, [1, 8, 1, 5],
     "a primary key (order_id, product_id)"),
)
#: 13.3: rows that must still go in.
GOOD_ROWS: tuple[tuple[str, str, list], ...] = (
    ("a new customer check-13.3@example.com", _CUSTOMER, ["check-13.3@example.com", "Check 13.3"]),
    ("a pending order of customer 1 for 10.00", _ORDER, [1, "pending", 10, _AT]),
    ("a paid order of customer 1 for 10.00", _ORDER, [1, "paid", 10, _AT]),
    ("a shipped order of customer 1 for 10.00", _ORDER, [1, "shipped", 10, _AT]),
    ("a cancelled order of customer 1 for 0.00 (not negative: 0 is allowed)", _ORDER, [1, "cancelled", 0, _AT]),
    ("a line for product 2 in order 1", _ITEM, [1, 2, 1, 5]),
    ("a line for product 3 in order 1 at the price 0.00 (not negative: 0 is allowed)", _ITEM, [1, 3, 1, 0]),
)


@exercise("13.3", "NOT NULL, CHECK and UNIQUE refuse bad rows")
def refuse_bad_rows(ctx: CheckContext) -> str:
    """Parts (each row tried as you, in a transaction rolled back): (a) customers: an e-mail and a name are
    required, no two customers have the same e-mail; (b) orders: customer, status, total and date are required,
    the status is one of pending, paid, shipped, cancelled, the total is not negative; (c) order lines: quantity
    above 0, a price not negative, both required, a product at most once per order; (d) a good customer, an order
    of each status (one of them for 0.00) and lines (one at 0.00) still go in."""
    for table in ("customers", "orders", "order_items"):
        _columns(ctx, table)
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        for what, statement, params in GOOD_ROWS:
            with conn.transaction(force_rollback=True):  # a good row must not stand in the way of a bad one
                error = attempt(conn, statement, params)
            ctx.expect(error is None, f"{what} was refused: {first_line(error) if error else ''}",
                       hint("a constraint should refuse bad rows only", "03"))
        for what, statement, params, fix in BAD_ROWS:
            error = attempt(conn, statement, params)
            ctx.expect(error is not None, f"{what} was accepted", hint(fix, "03"))
            ctx.expect(_refused(error), f"trying {what} failed, but not because a constraint refused it: "
                       f"{first_line(error)}", hint("keep the delivered column names", "03"))
    return f"{len(BAD_ROWS)} bad rows refused, good rows accepted"


# ---- 13.4 foreign keys and their indexes -------------------------------------------------------------

#: 13.4: (table, column, referenced table).
FOREIGN_KEYS = (("orders", "customer_id", "customers"), ("order_items", "order_id", "orders"),
                ("order_items", "product_id", "products"))


#: Index methods that find the rows of one key value (what a foreign key's checks and joins look up).
LOOKUP_METHODS = ("btree", "hash")


def _key_column(expression: str | None) -> str:
    return (expression or "").strip().strip('"')


def shop_tables(ctx: CheckContext) -> list[str]:
    """The tables of schema shop (partitioned ones as one table, not their partitions)."""
    return [t for (t,) in ctx.rows("""SELECT relname FROM pg_class WHERE relnamespace = 'shop'::regnamespace
                                      AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY relname""")]


def duplicate_indexes(ctx: CheckContext) -> list[tuple[str, str]]:
    """Pairs of indexes of one shop table with the same method, key columns and predicate (one is useless)."""
    pairs = []
    for table in shop_tables(ctx):
        seen: dict[tuple, str] = {}
        for ix in ctx.indexes(table, "shop"):
            key = (ix["method"], tuple(ix["keys"]), ix["predicate"])
            if key in seen:
                pairs.append((seen[key], ix["name"]))
            else:
                seen[key] = ix["name"]
    return pairs


@exercise("13.4", "Foreign keys, each with its index, and no duplicate indexes")
def foreign_keys(ctx: CheckContext) -> str:
    """Parts: (a) foreign keys orders.customer_id -> customers, order_items.order_id -> orders and
    order_items.product_id -> products; (b) an order of a customer that does not exist, and a line of an order or
    product that does not exist, are refused (tried in a rolled-back transaction); (c) each of those columns leads a
    valid index of its table that finds equal keys (B-tree or hash: a BRIN index cannot find one customer's orders),
    without a WHERE; (d) no two indexes of a shop table have the same method, keys and predicate."""
    conn = ctx.learner
    for table, column, target in FOREIGN_KEYS:
        _columns(ctx, table)
        keys = ctx.rows("""SELECT ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k
                                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)
                           FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = to_regclass(%s)
                           AND c.confrelid = to_regclass(%s)""", [f"shop.{table}", f"shop.{target}"])
        ctx.expect([column] in [k for (k,) in keys], f"shop.{table}.{column} does not reference shop.{target}: "
                   f"nothing stops a {table[:-1].replace('_', ' ')} pointing at a {target[:-1]} that does not exist",
                   hint(f"ALTER TABLE shop.{table} ADD FOREIGN KEY ({column}) REFERENCES shop.{target}", "03"))
    with conn.transaction(force_rollback=True):
        for what, statement, params in (("an order of customer 999999", _ORDER, [999999, "pending", 10, _AT]),
                                         ("a line of order 999999", _ITEM, [999999, 2, 1, 5]),
                                         ("a line of product 999999", _ITEM, [1, 999999, 1, 5])):
            error = attempt(conn, statement, params)
            ctx.expect(isinstance(error, psycopg.errors.ForeignKeyViolation),
                       f"{what}, which does not exist, was " + ("accepted" if error is None else
                                                                 f"refused, but not by a foreign key: {first_line(error)}"),
                       hint("a foreign key refuses it (a NOT VALID one too, for new rows)", "03"))
    for table, column, target in FOREIGN_KEYS:
        leading = [ix for ix in ctx.indexes(table, "shop")
                   if ix["valid"] and ix["predicate"] is None and ix["keys"] and _key_column(ix["keys"][0]) == column]
        other = next((ix for ix in leading if ix["method"] not in LOOKUP_METHODS), None)
        ctx.expect(any(ix["method"] in LOOKUP_METHODS for ix in leading),
                   f"the index {other['name']} on shop.{table} ({column}) is a {other['method']} index: it cannot find "
                   f"the few rows of one {column} that a delete in shop.{target} or the join from it looks for"
                   if other else f"no index of shop.{table} starts with {column}: every delete or key change in "
                   f"shop.{target} scans all of {table}, and so does the join from {target}",
                   hint(f"CREATE INDEX ON shop.{table} ({column}) (a B-tree; a primary key or index that starts with "
                        "it counts)", "04"))
    duplicates = duplicate_indexes(ctx)
    ctx.expect(not duplicates, f"{duplicates[0][1]} duplicates {duplicates[0][0]} (same columns): every write pays "
               "for both, no query needs the second" if duplicates else "",
               hint("DROP INDEX the duplicate (a primary key is already an index)", "04"))
    return "three foreign keys, each with an index, and no duplicate index"


# ---- 13.5 tags out of a comma-separated column ----------------------------------------------------------

@exercise("13.5", "One row per product and tag, no comma-separated lists")
def tags(ctx: CheckContext) -> str:
    """Parts: (a) no text column of shop.products holds comma-separated lists any more; (b) the saved query
    returns (product_id, tag), one row per product and tag, every tag the lists held (1,428 pairs), without the
    spaces some lists had after their commas, read from a table; (c) "with its keys": when the pairs are in a table of
    their own (not an array column of products), one table the query reads references shop.products and has a
    primary key (or a unique index)."""
    columns = _columns(ctx, "products")
    for column, spec in columns.items():
        if _base_type(spec["type"]) in TEXT_TYPES:
            example = ctx.value(f'SELECT "{column}" FROM shop.products WHERE "{column}" LIKE %s LIMIT 1', ["%,%"])
            ctx.expect(example is None, f"shop.products.{column} still holds comma-separated lists (e.g. {example!r}): "
                       "no index, no foreign key and no constraint can see the tags inside", hint(
                           "move them to a table of their own, one row per product and tag (or a text[] column), "
                           "then drop the column", "01"))
    answer = ctx.answer().sql
    columns_got, got = ctx.run_answer(answer)
    compare_rows(got, ctx.rows(TAG_PAIRS), columns=columns_got,
                 hint=hint("one row per product and tag, trimmed (string_to_table(tags, ',') and trim() while migrating)",
                           "01"))
    plan = _reads_tables(ctx, answer, "where you now store the tags")
    others = sorted({n.relation for n in plan.nodes() if n.relation} - {"products"})
    if others:
        keyed = ctx.rows("""SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind IN ('r', 'p')
                            AND EXISTS (SELECT FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f'
                                        AND f.confrelid = 'shop.products'::regclass)
                            AND EXISTS (SELECT FROM pg_index x WHERE x.indrelid = c.oid AND x.indisunique
                                        AND x.indpred IS NULL)""", [others])
        ctx.expect(keyed, f"your tags are in {', '.join(others)}, without its keys: no foreign key to shop.products "
                   "(a tag of a product that does not exist goes in) or no primary key (the same pair twice goes in)",
                   hint("product_id integer NOT NULL REFERENCES shop.products, PRIMARY KEY (product_id, tag)", "01"))
    return f"{len(got):,} (product, tag) pairs, stored one per row"


# ---- 13.6 EAV into columns ----------------------------------------------------------------------------

INTEGER_TYPES = ("smallint", "integer", "bigint", "numeric")


@exercise("13.6", "EAV attributes become typed columns")
def eav(ctx: CheckContext) -> str:
    """Parts: (a) shop.products has a column weight_g of an integer type (or numeric) and a column color of a
    text type (a domain over those, or an enum of the colours, counts); (b) every product's weight and colour are the
    ones its attributes held (no colour: NULL); (c) the table shop.product_attributes is gone, and no table of shop
    still holds (attribute, value) rows under another name."""
    columns = _columns(ctx, "products")
    for column, kinds, example in (("weight_g", INTEGER_TYPES, "integer"), ("color", TEXT_TYPES, "text")):
        ctx.expect(column in columns, f"shop.products has no column {column}: its values are still rows of "
                   "product_attributes, as text", hint(f"ALTER TABLE shop.products ADD COLUMN {column} {example}, then "
                                                       "UPDATE it from product_attributes", "01"))
        kind, base = columns[column]["type"], columns[column]["base_type"]
        typed = _base_type(base) in kinds or (column == "color" and columns[column]["enum"])
        ctx.expect(typed, f"shop.products.{column} is {kind}" + ("" if kind == base else f" (a domain over {base})"),
                   hint(f"make it {example}", "02"))
    compare_rows(ctx.rows("SELECT id, weight_g, color FROM shop.products"), ctx.rows(ATTRIBUTES),
                 what="shop.products (id, weight_g, color)", columns=["id", "weight_g", "color"],
                 hint=hint("fill the columns from product_attributes: UPDATE ... FROM (SELECT product_id, "
                           "max(value) FILTER (WHERE attribute = 'weight_g') ...)", "01"))
    ctx.expect(not ctx.table_exists("product_attributes", "shop"),
               "shop.product_attributes still exists: two places now hold the same facts",
               hint("drop it once its values are in columns", "01"))
    kept = ctx.rows("""SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'shop'::regnamespace
                       AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                       AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
                            AND a.attname IN ('attribute', 'value')) = 2""")
    ctx.expect(not kept, f"shop.{kept[0][0]} still holds the attributes as (attribute, value) rows: two places now "
               "hold the same facts" if kept else "", hint("drop it once its values are in columns", "01"))
    return "weight_g and color are typed columns of products; the EAV table is gone"


# ---- 13.7 a function on an indexed column ------------------------------------------------------------------

#: 13.7: the application's login lookup, as it is written (the e-mail typed in any case).
LOGIN_QUERY = "SELECT id, name FROM shop.customers WHERE lower(email) = lower('Customer120@Example.com')"


@exercise("13.7", "The login lookup by lower(email): indexed, and unique whatever the case")
def login_lookup(ctx: CheckContext) -> str:
    """Parts: (a) the application's query, unchanged, still finds customer 120; (b) its plan reads customers
    through an index, not a sequential scan; (c) customer10@example.com is refused while Customer10@Example.com
    exists (e-mails are equal whatever their case; tried in a rolled-back transaction)."""
    _columns(ctx, "customers")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        error = attempt(conn, _CUSTOMER, ["customer10@example.com", "Check 13.7"])
    ctx.expect(error is not None, "customer10@example.com was accepted while Customer10@Example.com exists: the "
               "same mailbox twice", hint("a unique index on lower(email) makes e-mails unique whatever their case, "
                                          "and serves the lookup", "04"))
    ctx.expect(_refused(error), f"trying a second customer10@example.com failed, but not because a constraint "
               f"refused it: {first_line(error)}", hint("keep the delivered column names", "03"))
    rows = ctx.run_answer(LOGIN_QUERY)[1]
    ctx.expect([r[0] for r in rows] == [120], f"the login query finds the customers {[r[0] for r in rows]}; "
               "expected customer 120", hint("keep the e-mails as they were", "07"))
    plan = ctx.explain(LOGIN_QUERY)
    ctx.expect("customers" not in plan.seq_scanned() and plan.uses_index(),
               "the login query reads every customer (a sequential scan): an index on email cannot answer "
               "lower(email) = ...", hint("index the expression the query filters by: "
                                          "CREATE INDEX ON shop.customers (lower(email))", "04"))
    return f"the login lookup uses {', '.join(sorted(plan.indexes_used()))}"


# ---- 13.8 a day's orders -----------------------------------------------------------------------------------

#: 13.8: the orders of 14 March 2025 (UTC), 180 of them, the first placed at midnight.
DAY_REFERENCE = "SELECT id, customer_id, total FROM shop.orders WHERE id BETWEEN 12961 AND 13140"
NEXT_MIDNIGHT_ORDER = 13141


@exercise("13.8", "A day's orders by a range an index can search")
def day_orders(ctx: CheckContext) -> str:
    """Parts: (a) the saved query returns id, customer_id and total (not SELECT *) of every order placed on
    14 March 2025 UTC, the one at midnight included, and not the one at midnight of the 15th; (b) its plan
    searches an index on created_at with a condition on created_at (no sequential scan of orders)."""
    _columns(ctx, "orders")
    answer = ctx.answer().sql
    columns, got = ctx.run_answer(answer)
    if got and len(got[0]) == 3 and NEXT_MIDNIGHT_ORDER in {r[0] for r in got}:
        ctx.fail(f"your query includes order {NEXT_MIDNIGHT_ORDER}, placed at midnight of 15 March",
                 hint("BETWEEN includes its upper end: created_at >= '2025-03-14' AND created_at < '2025-03-15'", "05"))
    compare_rows(got, ctx.rows(DAY_REFERENCE), columns=columns,
                 hint=hint("the columns id, customer_id, total; created_at >= '2025-03-14' AND created_at < "
                           "'2025-03-15' (UTC)", "05"))
    plan = ctx.explain(answer)
    searched = [n for n in plan.nodes() if n.index_name and "created_at" in str(n.raw.get("Index Cond", ""))]
    ctx.expect(searched and "orders" not in plan.seq_scanned(),
               "your query returns the right orders but no index searches created_at: a condition on the bare "
               "column finds them; the column inside a function or a cast, or rows picked by id, does not",
               hint("compare the bare column with a range: created_at >= ... AND created_at < ...", "08"))
    return f"the day's {len(got)} orders through {searched[0].index_name}"


# ---- 13.9 keyset pagination ------------------------------------------------------------------------------

PAGE_REFERENCE = "SELECT id, customer_id, status, total FROM shop.orders WHERE id > 20000 ORDER BY id LIMIT 20"
PAGE_MAX_PAGES = 20


@exercise("13.9", "The next page by keyset, not OFFSET")
def keyset(ctx: CheckContext) -> str:
    """Parts: (a) the saved query returns the 20 orders after order 20000 in id order, columns id, customer_id,
    status, total (not SELECT *); (b) it says ORDER BY (the order is asked for, not left to the plan), a LIMIT
    (or FETCH FIRST) and no OFFSET (keyset: it starts after the last row seen, and a range of ids typed in is short
    a row for every order deleted); (c) its plan reads orders through an index, with no sort and no sequential
    scan; (d) it reads at most 20 pages (EXPLAIN ANALYZE, BUFFERS)."""
    _columns(ctx, "orders")
    answer = ctx.answer().sql
    columns, got = ctx.run_answer(answer)
    compare_rows(got, ctx.rows(PAGE_REFERENCE), ordered=True, columns=columns,
                 hint=hint("the columns id, customer_id, status, total, ORDER BY id, 20 rows after id 20000", "08"))
    words = sql_words(answer)
    ctx.expect(" offset " not in f" {words} ", "your query uses OFFSET: the server still reads every row it skips",
               hint("start at the last row seen: WHERE id > 20000 ORDER BY id LIMIT 20, no OFFSET", "08"))
    ctx.expect("order by" in words, "your query has no ORDER BY: its rows come in id order only because of the plan "
               "the server picked today", hint("ORDER BY id", "05"))
    plan = ctx.explain(answer, analyze=True, buffers=True)
    ctx.expect(plan.has("Limit"), "your query has no LIMIT: a range of ids typed in returns fewer than 20 orders "
               "as soon as one of them is deleted", hint("WHERE id > 20000 ORDER BY id LIMIT 20 (or FETCH FIRST 20 "
                                                        "ROWS ONLY)", "08"))
    ctx.expect("orders" not in plan.seq_scanned() and not plan.has("Sort") and plan.uses_index(),
               "your query reads orders without an index in id order (a sequential scan or a sort)",
               hint("WHERE id > 20000 ORDER BY id LIMIT 20: the primary key hands the rows out in order", "08"))
    pages = plan.shared_buffers()
    ctx.expect(pages <= PAGE_MAX_PAGES, f"your query reads {pages:,} pages to return 20 rows: it walks past rows "
               "before the page", hint("start at the last row seen and follow the primary key: WHERE id > 20000 "
                                       "ORDER BY id LIMIT 20", "08"))
    return f"the next 20 orders in {pages} pages"


# ---- 13.10 the ever-growing log, partitioned --------------------------------------------------------------

MARCH_QUERY = ("SELECT count(*) FROM shop.events "
               "WHERE created_at >= '2025-03-01 00:00:00+00' AND created_at < '2025-04-01 00:00:00+00'")
JULY_EVENT = "INSERT INTO shop.events (created_at, kind, customer_id, payload) VALUES ('2025-07-15 12:00:00+00', 'view', 1, 'check')"


@exercise("13.10", "The event log partitioned by month")
def partitioned_log(ctx: CheckContext) -> str:
    """Parts: (a) shop.events is partitioned by RANGE on created_at, a timestamptz; (b) every event is kept (count,
    ids, customers, payloads, kinds, and the instants read as UTC); (c) a query for March 2025 reads one partition
    only, which holds March's events and no other month's; (d) an event of July 2025 (the month after the data) can still be written (tried, rolled back)."""
    _columns(ctx, "events")
    key = ctx.rows("""SELECT p.partstrat, ARRAY(SELECT a.attname::text FROM unnest(p.partattrs) k
                                            JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k)
                      FROM pg_partitioned_table p WHERE p.partrelid = 'shop.events'::regclass""")
    ctx.expect(key, "shop.events is one plain table: every query of a month reads all of it, and old months can "
               "only be removed by DELETE", hint("CREATE TABLE ... PARTITION BY RANGE (created_at), one partition "
                                                 "per month, then INSERT ... SELECT the rows", "09"))
    strategy, columns = key[0]
    ctx.expect(strategy == "r" and columns == ["created_at"], f"shop.events is partitioned by "
               f"{ {'l': 'LIST', 'h': 'HASH', 'r': 'RANGE'}.get(strategy, strategy)} ({', '.join(columns)}); a log is "
               "read and dropped by time ranges", hint("PARTITION BY RANGE (created_at)", "09"))
    created_at = ctx.columns("events", "shop")["created_at"]
    kind = created_at["type"]
    ctx.expect(_is_timestamptz(created_at["base_type"]), f"shop.events.created_at is {kind}",
               hint("make it timestamptz (the delivered values are UTC: created_at AT TIME ZONE 'UTC')", "02"))
    figures = tuple(ctx.rows("SELECT count(*), sum(id), sum(customer_id), sum(length(payload)), "
                             "count(*) FILTER (WHERE kind = 'checkout') FROM shop.events")[0])
    ctx.expect(figures == EXPECTED["events.figures"], f"shop.events holds {figures[0]:,} events; the log was "
               f"delivered with {EXPECTED['events']:,}, and every event must be kept as it was",
               hint("INSERT INTO the new table SELECT every column FROM the old one", "09"))
    instants = stamp_figures(ctx.admin, (("events", "created_at"),))["events.created_at"]
    ctx.expect(instants == EXPECTED["events.created_at"], "the events' created_at are other instants than the "
               "application wrote", hint("created_at AT TIME ZONE 'UTC' while copying", "02"))
    plan = ctx.explain(MARCH_QUERY)
    read = sorted({n.relation for n in plan.nodes() if n.relation})
    ctx.expect(len(read) == 1, f"a query for March 2025 reads {len(read)} tables ({', '.join(read)}); one "
               "partition holds March", hint("one partition per month, bounds FROM the first of the month TO the "
                                             "first of the next", "09"))
    held, march = ctx.rows("""SELECT count(*), count(*) FILTER (WHERE e.created_at >= '2025-03-01 00:00:00+00'
                                                             AND e.created_at < '2025-04-01 00:00:00+00')
                              FROM shop.events e JOIN pg_class c ON c.oid = e.tableoid WHERE c.relname = %s""", read)[0]
    ctx.expect(held == march, f"the partition {read[0]} read for March also holds {held - march:,} events of other "
               "months: a month's query reads them, and a month cannot be dropped alone",
               hint("one partition per month", "09"))
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        error = attempt(conn, JULY_EVENT)
    ctx.expect(error is None, f"an event of July 2025 cannot be written: {first_line(error) if error else ''}",
               hint("the log keeps growing: create next months' partitions ahead, and a DEFAULT partition", "09"))
    return f"events partitioned by month; March is read from {read[0]} alone"


# ---- 13.11 statistics on correlated columns -----------------------------------------------------------------

#: 13.11: a city decides its country; the planner, multiplying, expects 1/8 of the city's orders.
CITY_QUERIES = ("SELECT * FROM shop.orders WHERE country = 'DE' AND city = 'Berlin'",
                "SELECT * FROM shop.orders WHERE country = 'PT' AND city = 'Faro'")
ESTIMATE_FACTOR = 2


@exercise("13.11", "Extended statistics on country and city")
def city_statistics(ctx: CheckContext) -> str:
    """Parts: (a) an extended statistics object on shop.orders covers country and city, of kind dependencies or
    mcv; (b) it is built (ANALYZE ran after it); (c) the planner's estimate for orders of Berlin in DE, and of
    Faro in PT, is within 2x of the real count."""
    _columns(ctx, "orders")
    stats = ctx.learner.execute(
        """SELECT s.stxname, s.stxkind::text[], EXISTS (SELECT FROM pg_stats_ext e WHERE e.statistics_schemaname =
                  s.stxnamespace::regnamespace::text AND e.statistics_name = s.stxname
                  AND (e.dependencies IS NOT NULL OR e.most_common_vals IS NOT NULL))
           FROM pg_statistic_ext s WHERE s.stxrelid = 'shop.orders'::regclass
           AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                WHERE a.attrelid = s.stxrelid AND a.attnum = ANY(s.stxkeys)) @> ARRAY['city', 'country']""").fetchall()
    useful = [s for s in stats if {"f", "m"} & set(s[1])]  # f: dependencies, m: mcv (d is ndistinct)
    estimates = []
    for query in CITY_QUERIES:
        plan = ctx.explain(query)
        scan = next(n for n in plan.nodes() if n.relation == "orders")
        actual = ctx.value(query.replace("SELECT *", "SELECT count(*)"))
        estimates.append((float(scan.raw["Plan Rows"]), int(actual)))
    estimate, actual = estimates[0]
    ctx.expect(useful, f"the planner expects {estimate:.0f} orders from Berlin in DE; there are {actual}: it "
               "multiplies the two columns' selectivities as if a city said nothing about its country",
               hint("CREATE STATISTICS ON country, city FROM shop.orders (kinds dependencies or mcv), then ANALYZE",
                    "08"))
    ctx.expect(any(s[2] for s in useful), f"{useful[0][0]} holds no data yet", hint("run ANALYZE shop.orders", "08"))
    for (estimate, actual), query in zip(estimates, CITY_QUERIES):
        ctx.expect(actual / ESTIMATE_FACTOR <= estimate <= actual * ESTIMATE_FACTOR,
                   f"the planner estimates {estimate:.0f} rows for {actual} ({query.split('WHERE ')[1]})",
                   hint("ANALYZE shop.orders after creating the statistics", "08"))
    return f"the planner estimates {estimates[0][0]:.0f} orders from Berlin for {estimates[0][1]} ({useful[0][0]})"


# ---- 13.12 the injectable search ------------------------------------------------------------------------------

HONEST_PREFIXES = ("Customer 12", "O'Brien")
CRAFTED_PREFIXES = ("' OR true --", "x' UNION SELECT id, password FROM shop.customers --",
                    "'; UPDATE shop.orders SET total = 0; --")


@exercise("13.12", "The customer search, safe from injection")
def injection(ctx: CheckContext) -> str:
    """Parts (called as you with each input, in a transaction rolled back): (a) shop.search_customers(prefix)
    returns the ids of every customer whose name starts with the prefix, in id order, for 'Customer 12' and for
    "O'Brien" (a quote in the input); (b) each crafted input returns no rows (or is refused by the function itself),
    and changes nothing; (c) its body says ORDER BY (the id order is asked for, not left to the plan: without it
    the rows come in whatever order the table is read)."""
    exists = ctx.value("SELECT to_regprocedure('shop.search_customers(text)') IS NOT NULL")
    ctx.expect(exists, "there is no function shop.search_customers(text)",
               hint("keep its name and argument; fix its body", "10"))
    body = ctx.value("SELECT prosrc FROM pg_proc WHERE oid = 'shop.search_customers(text)'::regprocedure")
    ctx.expect("order by" in " ".join((body or "").lower().split()),
               "shop.search_customers has no ORDER BY: its customers come in id order only as long as the table is "
               "read in that order", hint("keep the query's meaning: ... ORDER BY id", "10"))
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        for prefix in HONEST_PREFIXES:
            expected = [r[0] for r in ctx.rows("SELECT id FROM shop.customers WHERE starts_with(name, %s) ORDER BY id",
                                               [prefix])]
            try:
                with conn.transaction():
                    got = [r[0] for r in conn.execute("SELECT * FROM shop.search_customers(%s)", [prefix])]
            except psycopg.Error as exc:
                ctx.fail(f"search_customers({prefix!r}) failed: {first_line(exc)}: the input was pasted into the SQL",
                         hint("pass the value as a parameter: RETURN QUERY EXECUTE '... LIKE $1' USING prefix || '%', "
                              "or format('%L'), or plain SQL without EXECUTE", "10"))
            ctx.expect(got == expected, f"search_customers({prefix!r}) returns {len(got)} customers; expected the "
                       f"{len(expected)} whose name starts with it, in id order", hint("keep the query's meaning", "10"))
        before = conn.execute("SELECT sum(total) FROM shop.orders").fetchone()[0]
        for prefix in CRAFTED_PREFIXES:
            try:
                with conn.transaction():
                    got = conn.execute("SELECT * FROM shop.search_customers(%s)", [prefix]).fetchall()
            except (psycopg.errors.RaiseException, psycopg.DataError):
                got = []  # the function itself refused the input
            except psycopg.Error as exc:
                ctx.fail(f"the crafted input {prefix!r} made the function fail with {first_line(exc)!r}: it was read "
                         "as SQL", hint("pass the value as a parameter (EXECUTE ... USING, or format('%L'))", "10"))
            ctx.expect(not got, f"the crafted input {prefix!r} returned {len(got)} rows: it ran as SQL, not as a name",
                       hint("pass the value as a parameter: EXECUTE ... USING prefix, or format('%L', prefix), "
                            "or plain SQL without EXECUTE", "10"))
        after = conn.execute("SELECT sum(total) FROM shop.orders").fetchone()[0]
        ctx.expect(after == before, "a crafted input changed the orders' totals", hint("parameters, never pasted text", "10"))
    return "honest prefixes find their customers; every crafted input is read as a name and finds none"


# ---- 13.13 least privilege -------------------------------------------------------------------------------------

#: 13.13: what the application's role must not do (each table's DELETE and TRUNCATE are added, see _denied).
_DENIED_TO_APP: tuple[tuple[str, str], ...] = (
    ("read customers.password", "SELECT password FROM shop.customers LIMIT 1"),
    ("create a table in shop", "CREATE TABLE shop.check_13_13 (id int)"),
    ("add a column to orders", "ALTER TABLE shop.orders ADD COLUMN check_13_13 int"),
    ("drop orders", "DROP TABLE shop.orders"),
)


#: 13.13: writes its job does not need (table, privilege, what), asked of the server for any column.
_NOT_WRITTEN_BY_APP: tuple[tuple[str, str, str], ...] = (
    ("products", "UPDATE", "change products"), ("products", "INSERT", "add products"),
    ("customers", "UPDATE", "change customers (their passwords too)"), ("order_items", "UPDATE", "change order lines"),
    ("events", "UPDATE", "change events (the log is written once)"),
)


def _denied(ctx: CheckContext) -> list[tuple[str, str]]:
    """What the application's role must not do: the fixed list, and DELETE and TRUNCATE of every table of shop
    (partitions too: a grant on one partition is a way around its parent)."""
    tables = [t for (t,) in ctx.rows("""SELECT relname FROM pg_class WHERE relnamespace = 'shop'::regnamespace
                                         AND relkind IN ('r', 'p') ORDER BY relispartition, relname""")]
    return (list(_DENIED_TO_APP) + [(f"delete from {t}", f'DELETE FROM shop."{t}" WHERE false') for t in tables]
            + [(f"truncate {t}", f'TRUNCATE shop."{t}"') for t in tables])


#: 13.13: what the application's job needs it to read (the 13.5 answer's tables, if it runs, are added).
_READ_BY_APP: tuple[tuple[str, str], ...] = (
    ("read products", "SELECT id, name, price FROM shop.products LIMIT 1"),
    ("read customers' id, email, name and created_at", "SELECT id, email, name, created_at FROM shop.customers LIMIT 1"),
    ("read orders", "SELECT id, customer_id, status, total, created_at FROM shop.orders LIMIT 1"),
    ("read order lines", "SELECT order_id, product_id, quantity, unit_price FROM shop.order_items LIMIT 1"),
)


def _tags_query(ctx: CheckContext) -> str | None:
    """13.5's saved query, if there is one that runs as you (the app role must be able to read the tags too)."""
    try:
        query = ctx.answer("13.5").sql
        if query:
            with ctx.learner.transaction(force_rollback=True):
                ctx.learner.execute("SET TRANSACTION READ ONLY")
                ctx.learner.execute(query)
            return query
    except (CheckFailed, psycopg.Error):
        return None
    return None


@exercise("13.13", "The application's role: its job, and nothing more")
def least_privilege(ctx: CheckContext) -> str:
    """Parts, acting as role <db>_app in a rolled-back transaction: (a) it exists, and is no superuser, cannot
    create roles or databases, does not bypass RLS, and cannot become you; (b) it can read products (and the tags:
    13.5's saved query runs as it), customers' id, email, name and created_at, orders and order lines; insert an
    order (the id from its default) and a line for it; update an order's status; write an event; call
    shop.search_customers; (c) it cannot read customers.password, change or add products, change customers, order
    lines or events (its job writes none of them), delete from or truncate any table of shop (partitions too),
    create, alter or drop tables."""
    app = role_name(ctx.chapter.database, "app")
    attributes = ctx.rows("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = %s",
                          [app])
    ctx.expect(attributes, f"there is no role {app}", hint("run the set-up cell at the top (fresh_role('app'))", "10"))
    ctx.expect(not any(attributes[0]), f"{app} is a superuser or may create roles or databases, or bypass RLS",
               hint("ALTER ROLE ... NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS", "10"))
    ctx.expect(not ctx.value("SELECT pg_has_role(%s, %s, 'MEMBER')", [app, ctx.chapter.role]),
               f"{app} can become {ctx.chapter.role}, the owner of every table", hint("REVOKE the membership", "10"))
    conn = ctx.learner
    tags, denied = _tags_query(ctx), _denied(ctx)
    with conn.transaction(force_rollback=True):
        act_as(conn, app)
        allowed = (*((what, statement, None) for what, statement in _READ_BY_APP),
                   *((("read the tags (your 13.5 query)", tags, None),) if tags else ()),
                   ("call shop.search_customers", "SELECT * FROM shop.search_customers('Customer 1')", None),
                   ("update an order's status", "UPDATE shop.orders SET status = 'shipped' WHERE id = 1", None),
                   ("write an event", JULY_EVENT.replace("2025-07-15", "2025-03-15"), None))
        for what, statement, params in allowed:
            error = attempt(conn, statement, params)
            ctx.expect(error is None, f"{app} cannot {what}: {first_line(error) if error else ''}",
                       hint("GRANT what its job needs (and USAGE on schema shop and on the sequences it draws ids "
                            "from)", "10"))
        try:
            with conn.transaction():
                order = conn.execute(_ORDER + " RETURNING id", [1, "pending", 10, _AT]).fetchone()[0]
                conn.execute(_ITEM, [order, 2, 1, 5])
        except psycopg.Error as exc:
            ctx.fail(f"{app} cannot place an order with a line: {first_line(exc)}",
                     hint("GRANT SELECT, INSERT ON orders and order_items, USAGE on their id sequences", "10"))
        for what, statement in denied:
            error = attempt(conn, statement)
            ctx.expect(error is not None, f"{app} can {what}; it must be refused",
                       hint("grant only what the application's job needs: no ALL, no CREATE on the schema, "
                            "no column list that includes password", "10"))
            ctx.expect(isinstance(error, psycopg.errors.InsufficientPrivilege),
                       f"{app} trying to {what} failed, but not for lack of privileges: {first_line(error)}",
                       hint("keep the delivered tables and columns", "10"))
        for table, privilege, what in _NOT_WRITTEN_BY_APP:
            can = conn.execute("SELECT has_any_column_privilege(%s, %s)", [f"shop.{table}", privilege]).fetchone()[0]
            ctx.expect(not can, f"{app} can {what} ({privilege} on shop.{table}, or on some of its columns); it must "
                       "be refused", hint("grant only what the application's job needs: no ALL, no table-wide "
                                          "writes beyond its job", "10"))
    return f"{app} does the application's work and cannot read passwords, delete, truncate or change the schema"


# ---- 13.14 the N+1 loop ---------------------------------------------------------------------------------------

#: 13.14: what the order history page shows for customer 42: each order, its number of lines and its amount.
HISTORY_REFERENCE = """SELECT o.id, count(*), sum(i.quantity * i.unit_price)
FROM shop.orders AS o JOIN shop.order_items AS i ON i.order_id = o.id
WHERE o.customer_id = 42 GROUP BY o.id ORDER BY o.id"""
HISTORY_MAX_PAGES = 100


@exercise("13.14", "The order history in one query, not N+1")
def order_history(ctx: CheckContext) -> str:
    """Parts: (a) the saved query (one statement) returns, for each order of customer 42 in id order, the order id,
    its number of lines and its amount (the sum of quantity x unit_price); (b) it says ORDER BY (the order is asked
    for, not left to the plan); (c) its plan reads orders and order_items through indexes, no sequential scan of
    either; (d) it reads at most 100 pages (EXPLAIN ANALYZE, BUFFERS; the lines of 6 orders through their indexes
    read 40-60, a walk along a whole index of order_items hundreds)."""
    for table in ("orders", "order_items"):
        _columns(ctx, table)
    answer = ctx.answer().sql
    columns, got = ctx.run_answer(answer)
    compare_rows(got, ctx.rows(HISTORY_REFERENCE), ordered=True, columns=columns,
                 hint=hint("JOIN order_items, GROUP BY the order, ORDER BY its id: one statement instead of one per "
                           "order", "05"))
    ctx.expect("order by" in sql_words(answer), "your query has no ORDER BY: its rows come in id order only because "
               "of the plan the server picked today", hint("ORDER BY the order's id", "05"))
    plan = _reads_tables(ctx, answer, "orders and order_items", ("orders", "order_items"))
    scanned = sorted(plan.seq_scanned() & {"orders", "order_items"})
    ctx.expect(not scanned, f"your query reads all of {' and '.join(scanned)} (a sequential scan) for {len(got)} orders",
               hint("the foreign-key indexes of 13.4 (orders.customer_id, order_items.order_id) let it find them", "04"))
    pages = plan.shared_buffers()
    ctx.expect(pages <= HISTORY_MAX_PAGES, f"your query reads {pages:,} pages for {len(got)} orders",
               hint("search both tables by index: customer_id, then order_id", "08"))
    return f"customer 42's {len(got)} orders with their lines and amounts in one statement, {pages} pages"


# ---- the score per area ---------------------------------------------------------------------------------------

#: What a reviewer looks at, and the exercises that show it.
AREAS: dict[str, tuple[str, ...]] = {
    "data types (chapter 02)": ("13.1", "13.2"),
    "constraints (chapter 03)": ("13.3", "13.4"),
    "schema design (chapter 01)": ("13.5", "13.6"),
    "indexes and queries (chapters 04, 05, 08)": ("13.7", "13.8", "13.9", "13.14"),
    "partitioning (chapter 09)": ("13.10",),
    "statistics (chapter 08)": ("13.11",),
    "security (chapter 10)": ("13.12", "13.13"),
}


def scorecard(chapter=None) -> None:
    """Run every check of the chapter (as ``pgcourse.check`` does) and print the score per area, with each
    failing exercise's reason and hint."""
    from .. import progress
    from ..chapter import current_chapter

    chapter = chapter or current_chapter()
    if chapter.graded:
        print("the score per area: checked by the grader after the run")
        return
    results = {}
    for ids in AREAS.values():
        for exercise_id in ids:
            results[exercise_id] = result = run_check(exercise_id, chapter)
            progress.record(chapter.info, result)
    for area, ids in AREAS.items():
        passed = sum(results[i].passed for i in ids)
        print(f"{'✔' if passed == len(ids) else '✘'} {area}: {passed}/{len(ids)}")
        for i in ids:
            if not results[i].passed:
                print(f"    {i} {get_exercise(i).title}: {results[i].message}")
                if results[i].hint:
                    print(f"        hint: {results[i].hint}")
    total = sum(r.passed for r in results.values())
    print(f"in all: {total}/{len(results)} exercises")
