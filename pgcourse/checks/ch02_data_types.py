"""Checks for chapter 02, Data types.

Each check reads the chapter database only: the catalog (column types, enum labels, indexes),
the learner's saved answers (run read-only, as the learner) and behaviour tried inside a
transaction that is always rolled back (an INSERT as the learner, a cast, an UPDATE).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from . import CheckContext, exercise
from .context import CheckFailed, compare_rows

#: Set-up cells of the notebook (the broken or missing state each exercise starts from); the
#: tests run the same SQL. The notebook's cells carry this text verbatim.
PAYMENTS_SETUP = """DROP TABLE IF EXISTS payments;
CREATE TABLE payments (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    amount   double precision NOT NULL   -- the mistake: money in binary floating point
);
INSERT INTO payments (order_id, amount)
SELECT id, total_amount FROM orders WHERE id <= 100000 ORDER BY id;"""

SHIPMENTS_SETUP = """DROP TABLE IF EXISTS shipments;
CREATE TABLE shipments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id),
    shipped_at timestamp NOT NULL   -- a legacy app in Berlin wrote its wall-clock time here
);
INSERT INTO shipments (order_id, shipped_at)
SELECT id, (created_at + interval '2 days') AT TIME ZONE 'Europe/Berlin'
FROM orders WHERE id % 100 = 0 ORDER BY id;"""

PRICE_SETUP = """-- two importers wrote a list price into metadata: one as a JSON number, one as a JSON string
UPDATE products
SET metadata = metadata || jsonb_build_object('price',
        CASE WHEN id % 3 = 0 THEN to_jsonb(round(price * 1.25, 2)::text)
             ELSE to_jsonb(round(price * 1.25, 2)) END);"""

TICKETS_SETUP = """DROP TABLE IF EXISTS tickets;
DROP TYPE IF EXISTS ticket_priority;
CREATE TYPE ticket_priority AS ENUM ('low', 'normal', 'high', 'urgent');
CREATE TABLE tickets (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title    text NOT NULL,
    priority ticket_priority NOT NULL DEFAULT 'normal'
);
INSERT INTO tickets (title, priority)
SELECT 'ticket ' || g, (ARRAY['low', 'normal', 'high', 'urgent'])[1 + g % 4]::ticket_priority
FROM generate_series(1, 1000) AS g;"""

#: The New York days of exercise 2.3 (US daylight saving time began on 2024-03-10).
LOCAL_DAYS_ZONE = "America/New_York"
LOCAL_DAYS_REFERENCE = """
    SELECT (created_at AT TIME ZONE 'America/New_York')::date AS day, count(*) AS orders
    FROM orders
    WHERE created_at >= '2024-03-08 00:00 America/New_York' AND created_at < '2024-03-12 00:00 America/New_York'
    GROUP BY 1 ORDER BY 1"""

#: The filter of exercise 2.5, written the right way (->> then a cast).
PRICE_REFERENCE = "SELECT id FROM products WHERE (metadata->>'price')::numeric > 99.99"

#: The query of exercise 2.6 (a rare nested key: what a GIN index on jsonb is for).
RECALL_QUERY = """SELECT id, name FROM products WHERE metadata @> '{"recall": {"reason": "safety"}}'"""

#: The rows exercise 2.7 asks for.
TAGS_REFERENCE = "SELECT id, name FROM products WHERE tags @> ARRAY['eco', 'handmade']"

TICKET_LABELS = ["low", "normal", "high"]


# ---- helpers ---------------------------------------------------------------------------------
def _column_type(ctx: CheckContext, table: str, column: str) -> str | None:
    return ctx.columns(table).get(column, {}).get("type")


def _enum_labels(ctx: CheckContext, table: str, column: str) -> list[str] | None:
    """Labels (in sort order) of the enum type of a column; None if the column is not an enum."""
    rows = ctx.rows(
        """SELECT e.enumlabel FROM pg_attribute a JOIN pg_enum e ON e.enumtypid = a.atttypid
           WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped
           ORDER BY e.enumsortorder""", [f"public.{table}", column])
    return [r[0] for r in rows] or None


def _query_text(answer_sql: str) -> str:
    """The saved answer without whole-line comments and without the final semicolon (to EXPLAIN it)."""
    lines = [line for line in answer_sql.splitlines() if not line.strip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


def _gin_indexes_on(ctx: CheckContext, table: str, column: str) -> list[str]:
    """Valid GIN indexes of a table whose first key is the column itself (any operator class)."""
    names = []
    for ix in ctx.indexes(table):
        if ix["method"] == "gin" and ix["valid"] and ix["keys"] and ix["keys"][0].split()[0].strip('"') == column:
            names.append(ix["name"])
    return names


# ---- 2.1 money ---------------------------------------------------------------------------------
@exercise("2.1", "Store money exactly: payments.amount as numeric")
def money_numeric(ctx: CheckContext) -> str:
    """payments.amount is numeric with at least cents, and its sum equals the orders' exact total."""
    ctx.expect(ctx.table_exists("payments"), "there is no table payments",
               "run the set-up cell above the exercise first; it creates payments with a float column")
    col_type = _column_type(ctx, "payments", "amount")
    ctx.expect(col_type is not None, "payments has no column amount any more",
               "change the column's type in place (ALTER TABLE ... ALTER COLUMN amount TYPE ...), keep its name")
    ctx.expect(col_type.startswith("numeric"), f"payments.amount is still {col_type}",
               "binary floating point cannot hold 0.10 exactly: change the column's type (ALTER TABLE ... ALTER COLUMN ... TYPE ...) "
               "to numeric with two decimals")
    scale = ctx.value("""SELECT information_schema._pg_numeric_scale(a.atttypid, a.atttypmod)
                         FROM pg_attribute a WHERE a.attrelid = 'public.payments'::regclass AND a.attname = 'amount'""")
    ctx.expect(scale is None or scale >= 2, f"numeric with scale {scale} rounds away the cents",
               "use numeric(12,2) (two digits after the point) or plain numeric")
    n, wrong = ctx.rows("""SELECT count(*), count(*) FILTER (WHERE p.amount IS DISTINCT FROM o.total_amount)
                           FROM payments p LEFT JOIN orders o ON o.id = p.order_id""")[0]
    ctx.expect(n > 0, "payments is empty", "run the set-up cell again, then fix the column type")
    ctx.expect(wrong == 0, f"{wrong} of {n} payments no longer equal their order's total_amount",
               "convert in place with ALTER COLUMN ... TYPE numeric(12,2); do not recompute the amounts")
    exact = ctx.value("SELECT sum(p.amount) = sum(o.total_amount) FROM payments p JOIN orders o ON o.id = p.order_id")
    ctx.expect(exact, "sum(amount) still differs from the exact total", "the column must be numeric")
    return f"payments.amount is {col_type}: the sum of {n} payments is exact to the cent"


# ---- 2.2 varchar(255) vs text ------------------------------------------------------------------
_PREDICTIONS = {"same": "same", "equal": "same", "identical": "same", "text": "text", "varchar": "varchar",
                "varchar(255)": "varchar"}


@exercise("2.2", "Predict, then measure: varchar(255) vs text")
def varchar_vs_text(ctx: CheckContext) -> str:
    """Both tables hold every users.email; the prediction is saved; the check measures both sizes."""
    prediction = None
    try:
        prediction = ctx.answer().value
    except CheckFailed:  # reported below with a better hint
        prediction = None
    key = _PREDICTIONS.get(str(prediction).strip().lower()) if prediction is not None else None
    ctx.expect(key is not None, "no prediction saved yet",
               'before measuring, run pgcourse.answer("2.2", "text"), ("2.2", "varchar") or ("2.2", "same"): '
               "which table do you expect to be smaller?")
    for table, want in (("emails_text", "text"), ("emails_varchar", "character varying")):
        ctx.expect(ctx.table_exists(table), f"there is no table {table} yet",
                   "CREATE TABLE emails_text (email text) and emails_varchar (email varchar(255)), then fill both from users")
        col_type = _column_type(ctx, table, "email")
        ctx.expect(col_type is not None and col_type.startswith(want),
                   f"{table}.email is {col_type or 'missing'}; expected {want}",
                   f"declare {table}.email as {'text' if want == 'text' else 'varchar(255)'}")
        missing, extra = ctx.rows(f"""SELECT (SELECT count(*) FROM (SELECT email FROM users EXCEPT ALL SELECT email::text FROM {table}) m),
                                             (SELECT count(*) FROM (SELECT email::text FROM {table} EXCEPT ALL SELECT email FROM users) x)""")[0]
        ctx.expect(missing == 0 and extra == 0,
                   f"{table} does not hold exactly the users' emails ({missing} missing, {extra} extra)",
                   f"INSERT INTO {table} (email) SELECT email FROM users (once: truncate it first if you ran it twice)")
    (bytes_text, bytes_varchar, heap_text, heap_varchar) = ctx.rows(
        "SELECT (SELECT sum(pg_column_size(email)) FROM emails_text), (SELECT sum(pg_column_size(email)) FROM emails_varchar), "
        "pg_relation_size('public.emails_text'), pg_relation_size('public.emails_varchar')")[0]
    ctx.expect(bytes_text == bytes_varchar and abs(heap_text - heap_varchar) <= 2 * 8192,
               "the two tables differ in size: did you fill them the same way?",
               "fill both with the same INSERT ... SELECT email FROM users, with no other columns")
    verdict = "right" if key == "same" else "not right"
    return (f"measured: emails_text and emails_varchar take the same space; your prediction ({key}) was {verdict}: "
            "varchar(n) is text plus a length check")


# ---- 2.3 local days ------------------------------------------------------------------------------
def _as_local_date(value: Any) -> Any:
    """A day returned as date, timestamp or timestamptz, as the New York calendar date."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(LOCAL_DAYS_ZONE))
        return value.date()
    return value


@exercise("2.3", "Count orders per New York day, whatever the session time zone")
def local_days(ctx: CheckContext) -> str:
    """The answer returns (day, count) for 2024-03-08..11 in New York under two different session zones."""
    answer = ctx.answer()
    query = _query_text(answer.sql)
    expected = ctx.rows(LOCAL_DAYS_REFERENCE)
    for zone in ("UTC", "Asia/Tokyo"):
        cols, got = ctx.run_answer(query, settings={"TimeZone": zone})
        ctx.expect(len(cols) == 2, f"your query returns {len(cols)} columns; expected 2 (day, number of orders)",
                   "SELECT <the New York date>, count(*) ... GROUP BY 1 ORDER BY 1")
        got = [(_as_local_date(day), n) for day, n in got]
        try:
            compare_rows(got, expected, ordered=True, what=f"with the session TimeZone set to {zone}, your query")
        except CheckFailed as failed:  # keep the reason, add the lesson to the hint
            ctx.fail(failed.reason, "name the zone in the query: (created_at AT TIME ZONE 'America/New_York')::date, "
                             "and bound the range with '2024-03-08 00:00 America/New_York' literals, not bare dates")
    if hasattr(type(ctx), "sample"):  # a second, differently seeded dataset: hard-coded counts fail there
        with ctx.sample.transaction(force_rollback=True):
            ctx.sample.execute("SET TRANSACTION READ ONLY")
            got = [(_as_local_date(day), n) for day, n in ctx.sample.execute(query).fetchall()]
        try:
            compare_rows(got, ctx.sample_admin.execute(LOCAL_DAYS_REFERENCE).fetchall(), ordered=True,
                         what="on a second sample dataset, your query")
        except CheckFailed as failed:
            ctx.fail(failed.reason, "compute the counts from orders: numbers typed in fit this dataset only")
    return f"the same {len(expected)} New York days under UTC and Asia/Tokyo sessions (2024-03-10 had 23 hours)"


# ---- 2.4 timestamp -> timestamptz --------------------------------------------------------------------
@exercise("2.4", "Fix the legacy timestamp column: shipments.shipped_at as timestamptz")
def shipments_timestamptz(ctx: CheckContext) -> str:
    """shipped_at is timestamptz and every row is the instant the Berlin wall-clock time meant."""
    ctx.expect(ctx.table_exists("shipments"), "there is no table shipments",
               "run the set-up cell above the exercise first")
    col_type = _column_type(ctx, "shipments", "shipped_at")
    ctx.expect(col_type == "timestamp with time zone", f"shipments.shipped_at is {col_type or 'missing'}",
               "ALTER TABLE shipments ALTER COLUMN shipped_at TYPE timestamptz USING ...")
    n, wrong, offset_h = ctx.rows("""
        WITH expected AS (
          SELECT s.id, s.shipped_at,
                 ((o.created_at + interval '2 days') AT TIME ZONE 'Europe/Berlin') AT TIME ZONE 'Europe/Berlin' AS meant
          FROM shipments s JOIN orders o ON o.id = s.order_id)
        SELECT count(*), count(*) FILTER (WHERE shipped_at IS DISTINCT FROM meant),
               round(avg(extract(epoch FROM shipped_at - meant)) / 3600, 1)
        FROM expected""")[0]
    ctx.expect(n > 0, "shipments is empty", "run the set-up cell again")
    ctx.expect(wrong == 0, f"{wrong} of {n} shipments now point at the wrong instant (off by {offset_h} h on average)",
               "without USING, the conversion reads the old values in the session's TimeZone (UTC here); "
               "they are Berlin wall-clock times: USING shipped_at AT TIME ZONE 'Europe/Berlin'")
    return f"shipped_at is timestamptz and all {n} shipments keep the instant they meant"


# ---- 2.5 the jsonb price filter -----------------------------------------------------------------------
@exercise("2.5", "Fix the guide's JSON price filter")
def json_price(ctx: CheckContext) -> str:
    """The answer returns the ids of products whose metadata price (number or string) is above 99.99."""
    n_price = ctx.value("SELECT count(*) FROM products WHERE metadata ? 'price'")
    ctx.expect(n_price, "no product has a price in its metadata", "run the set-up cell of the JSONB section first")
    answer = ctx.answer()
    query = _query_text(answer.sql)
    cols, got = ctx.run_answer(query)
    ctx.expect(len(cols) == 1, f"your query returns {len(cols)} columns; expected 1 (the product id)", "SELECT id FROM products WHERE ...")
    expected = ctx.rows(PRICE_REFERENCE)
    got_ids = {r[0] for r in got}
    exp_ids = {r[0] for r in expected}
    kinds = dict(ctx.rows("SELECT id, jsonb_typeof(metadata->'price') FROM products WHERE (metadata->>'price')::numeric > 99.99"))
    missed = exp_ids - got_ids
    missed_strings = {i for i in missed if kinds.get(i) == "string"}
    ctx.expect(not (missed and missed == missed_strings and not got_ids - exp_ids),
               f"your query misses the {len(missed_strings)} products whose price is a JSON string",
               "metadata->'price' is jsonb, and jsonb sorts every string below every number: "
               "take the text with ->> and cast it, (metadata->>'price')::numeric > 99.99")
    try:
        compare_rows(got, expected, what="your query")
    except CheckFailed as failed:
        ctx.fail(failed.reason, "compare numbers as numbers: ->> gives text ('150.00' < '99.99' as text), "
                                "so cast it: (metadata->>'price')::numeric > 99.99")
    return f"{len(exp_ids)} products, numbers and strings alike, compared as numeric"


# ---- 2.6 GIN on jsonb -------------------------------------------------------------------------
@exercise("2.6", "Make the jsonb containment query use a GIN index")
def jsonb_gin(ctx: CheckContext) -> str:
    """The recall query can be answered by a GIN index on products.metadata (any operator class)."""
    gins = _gin_indexes_on(ctx, "products", "metadata")
    ctx.expect(gins, "there is no GIN index on products.metadata yet",
               "CREATE INDEX ... ON products USING gin (metadata) (or gin (metadata jsonb_path_ops), smaller, @> only)")
    plan = ctx.explain(RECALL_QUERY, settings={"enable_seqscan": "off"})
    used = plan.indexes_used() & set(gins)
    ctx.expect(used, f"the query does not use {', '.join(gins)}",
               "a GIN index serves @>, ?, ?| and ?& on the whole column; an index on an expression does not serve metadata @> ...")
    return f"metadata @> ... is answered by the GIN index {sorted(used)[0]}"


# ---- 2.7 arrays ---------------------------------------------------------------------------------
@exercise("2.7", "Tags: make the query use a GIN index")
def tags_gin(ctx: CheckContext) -> str:
    """A GIN index on products.tags exists and the saved query both returns the right rows and uses it."""
    gins = _gin_indexes_on(ctx, "products", "tags")
    ctx.expect(gins, "there is no GIN index on products.tags yet", "CREATE INDEX ... ON products USING gin (tags)")
    answer = ctx.answer()
    query = _query_text(answer.sql)
    cols, got = ctx.run_answer(query)
    ctx.expect(len(cols) == 2, f"your query returns {len(cols)} columns; expected 2 (id, name)", "SELECT id, name FROM products WHERE ...")
    compare_rows(got, ctx.rows(TAGS_REFERENCE), what="your query")
    plan = ctx.explain(query, settings={"enable_seqscan": "off"})
    ctx.expect(plan.indexes_used() & set(gins),
               "right rows, but the query cannot use the GIN index on tags",
               "'eco' = ANY(tags) is evaluated row by row; GIN answers array operators: tags @> ARRAY['eco', 'handmade']")
    return f"{len(got)} products, found through the GIN index on tags"


# ---- 2.8 UUIDv7 ---------------------------------------------------------------------------------
@exercise("2.8", "api_tokens with a time-ordered UUIDv7 primary key")
def uuidv7_table(ctx: CheckContext) -> str:
    """id is a uuid primary key whose default generates version-7 UUIDs that increase with insertion."""
    ctx.expect(ctx.table_exists("api_tokens"), "there is no table api_tokens yet",
               "CREATE TABLE api_tokens (id uuid PRIMARY KEY DEFAULT <a time-ordered generator>, user_id ..., created_at ...)")
    cols = ctx.columns("api_tokens")
    ctx.expect("id" in cols and cols["id"]["type"] == "uuid", f"api_tokens.id is {cols.get('id', {}).get('type', 'missing')}; expected uuid",
               "id uuid PRIMARY KEY DEFAULT uuidv7()")
    pk = [c for c in ctx.constraints("api_tokens") if c["type"] == "p"]
    ctx.expect(pk and pk[0]["definition"] == "PRIMARY KEY (id)", "api_tokens.id is not the primary key", "id uuid PRIMARY KEY ...")
    ctx.expect("user_id" in cols, "api_tokens has no user_id column", "user_id bigint NOT NULL REFERENCES users (id)")
    conn = ctx.learner
    try:
        with conn.transaction(force_rollback=True):
            ids = [r[0] for r in conn.execute(
                "INSERT INTO api_tokens (user_id) SELECT id FROM users ORDER BY id LIMIT 5 RETURNING id").fetchall()]
            versions = [r[0] for r in conn.execute("SELECT uuid_extract_version(x) FROM unnest(%s::uuid[]) x", [ids]).fetchall()]
    except psycopg.errors.NotNullViolation as exc:
        ctx.fail(f"inserting a token with only user_id fails: {exc.diag.message_primary}",
                 "give id a DEFAULT (uuidv7()) and every other column a default or NULL")
    except psycopg.Error as exc:
        ctx.fail(f"inserting a token with only user_id fails: {exc.diag.message_primary}",
                 "INSERT INTO api_tokens (user_id) VALUES (...) must work: defaults for the other columns")
    ctx.expect(all(v == 7 for v in versions), f"new ids are UUID version {versions[0]}, not 7",
               "gen_random_uuid() is version 4 (random, scattered over the index); PostgreSQL 18's uuidv7() is time-ordered")
    ctx.expect(ids == sorted(ids), "new ids do not increase with insertion order", "DEFAULT uuidv7()")
    return "new tokens get version-7 UUIDs that increase in insertion order"


# ---- 2.9 enum: add a value -------------------------------------------------------------------------
@exercise("2.9", "Add 'in_review' to product_status in the right place")
def enum_add_value(ctx: CheckContext) -> str:
    """products.status's enum has in_review right after draft and before published; other labels kept."""
    labels = _enum_labels(ctx, "products", "status")
    ctx.expect(labels is not None, "products.status is no longer an enum", "keep the column; ALTER TYPE product_status ADD VALUE ...")
    ctx.expect("in_review" in labels, "product_status has no value 'in_review' yet",
               "ALTER TYPE ... ADD VALUE, placed with BEFORE or AFTER")
    for kept in ("draft", "published", "archived", "discontinued"):
        ctx.expect(kept in labels, f"the value '{kept}' is gone from product_status", "only add a value")
    ctx.expect(labels.index("draft") < labels.index("in_review") < labels.index("published"),
               f"'in_review' sorts in the wrong place: {', '.join(labels)}",
               "an enum sorts by declaration position, not alphabetically: ADD VALUE 'in_review' AFTER 'draft' (or BEFORE 'published')")
    ok = ctx.learner.execute("SELECT 'draft'::product_status < 'in_review' AND 'in_review'::product_status < 'published'").fetchone()[0]
    ctx.expect(ok, "'in_review' does not compare between draft and published", "ADD VALUE ... BEFORE 'published'")
    return "ORDER BY status now goes " + " < ".join(labels)


# ---- 2.10 enum: retire a value ---------------------------------------------------------------------
@exercise("2.10", "Retire the enum value 'urgent' from tickets.priority")
def enum_retire_value(ctx: CheckContext) -> str:
    """tickets.priority is an enum of exactly low < normal < high, urgent rows became high, default kept."""
    ctx.expect(ctx.table_exists("tickets"), "there is no table tickets", "run the set-up cell above the exercise first")
    labels = _enum_labels(ctx, "tickets", "priority")
    ctx.expect(labels is not None, "tickets.priority is not an enum any more",
               "keep an enum (a new type without 'urgent'); text plus a CHECK is another design, not this exercise")
    ctx.expect("urgent" not in labels, f"the type of tickets.priority still has 'urgent' ({', '.join(labels)})",
               "PostgreSQL cannot drop an enum value: create a new type without it and switch the column "
               "(ALTER COLUMN priority TYPE new_type USING priority::text::new_type)")
    ctx.expect(labels == TICKET_LABELS, f"the priorities are {', '.join(labels)}; expected low, normal, high in that order",
               "CREATE TYPE ... AS ENUM ('low', 'normal', 'high')")
    n, wrong = ctx.rows("""
        SELECT count(*), count(*) FILTER (WHERE priority::text IS DISTINCT FROM
               CASE (ARRAY['low', 'normal', 'high', 'urgent'])[1 + id % 4] WHEN 'urgent' THEN 'high'
                    ELSE (ARRAY['low', 'normal', 'high', 'urgent'])[1 + id % 4] END)
        FROM tickets""")[0]
    ctx.expect(n == 1000, f"tickets has {n} rows; expected the 1000 of the set-up", "do not delete tickets: move urgent ones to high")
    ctx.expect(wrong == 0, f"{wrong} tickets have the wrong priority", "UPDATE tickets SET priority = 'high' WHERE priority = 'urgent' first")
    default = ctx.columns("tickets")["priority"]["default"]
    ctx.expect(default is not None and "'normal'" in default, "tickets.priority lost its default 'normal'",
               "drop the default before changing the type, then ALTER COLUMN priority SET DEFAULT 'normal'")
    return "tickets.priority is low < normal < high; the urgent tickets are high; the default is still normal"


# ---- 2.11 generated column --------------------------------------------------------------------------
@exercise("2.11", "order_items.line_total as a generated column")
def generated_line_total(ctx: CheckContext) -> str:
    """line_total is a generated column that follows quantity * unit_price after an UPDATE."""
    cols = ctx.columns("order_items")
    ctx.expect("line_total" in cols, "order_items has no column line_total yet",
               "ALTER TABLE order_items ADD COLUMN line_total ... GENERATED ALWAYS AS (...)")
    ctx.expect(cols["line_total"]["generated"], "line_total is a plain column: it goes stale when quantity changes",
               "drop it and add it as GENERATED ALWAYS AS (quantity * unit_price) (VIRTUAL or STORED)")
    kind = ctx.value("""SELECT attgenerated FROM pg_attribute
                        WHERE attrelid = 'public.order_items'::regclass AND attname = 'line_total'""")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        row = conn.execute("""UPDATE order_items SET quantity = quantity + 2
                              WHERE id = (SELECT min(id) FROM order_items)
                              RETURNING quantity, unit_price, line_total""").fetchone()
    quantity, unit_price, line_total = row
    ctx.expect(line_total is not None and Decimal(line_total) == Decimal(quantity) * Decimal(unit_price),
               f"after an UPDATE of quantity to {quantity}, line_total is {line_total}, not {Decimal(quantity) * unit_price}",
               "GENERATED ALWAYS AS (quantity * unit_price)")
    wrong = ctx.value("SELECT count(*) FROM (SELECT line_total, quantity, unit_price FROM order_items LIMIT 10000) s "
                      "WHERE line_total IS DISTINCT FROM quantity * unit_price")
    ctx.expect(wrong == 0, f"{wrong} rows have line_total <> quantity * unit_price (rounded by the column type?)",
               "use numeric(12,2) or numeric: quantity * unit_price always has two decimals")
    return f"line_total is a {'virtual' if kind == 'v' else 'stored'} generated column = quantity * unit_price"
