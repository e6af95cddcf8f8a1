"""Checks for chapter 02, Data types.

Each check reads the chapter database only: the catalog (column types, enum labels, indexes),
the learner's saved answers (run read-only, as the learner) and behaviour tried inside a
transaction that is always rolled back (an INSERT as the learner, a cast, an UPDATE).

The parts of each task statement, and how the check tests each one:

2.1 payments.amount changed in place to a type that stores cents exactly; column and rows kept.
    - numeric, scale 2 or more (or unconstrained): the catalog
    - the rows kept and their amounts unchanged: each payment equals its order's total_amount
2.2 Predict which table is smaller (text, varchar or same); build emails_text (email text) and
    emails_varchar (email varchar(255)), both filled from users.
    - the two tables, their column types, every user's email once: the catalog and an EXCEPT ALL
    - the prediction: compared with the measurement (the bytes the values take, pg_column_size;
      file sizes are only reported, since a table filled twice and emptied keeps its pages)
2.3 Orders per New York day, 2024-03-08 to 2024-03-11: day and count, ordered by day, whatever
    the session's TimeZone.
    - the counts per New York day: compared with a reference under UTC and Asia/Tokyo sessions
    - ordered by day: the rows compared in order, also with sorting made expensive for the
      planner (enable_sort off), where a query without ORDER BY comes back in hash order
    - computed, not typed in: the second sample dataset
2.4 shipments.shipped_at as timestamptz holding the instants the Berlin wall-clock times meant.
    - timestamptz: the catalog; every row's instant: compared with the orders it came from
2.5 ids of the products whose metadata price (JSON number or JSON string) is above 99.99.
    - one column; the ids, numbers and strings alike: compared with a reference
    - computed, not typed in: the same query after the prices are changed (rolled back), and on
      the second sample dataset
2.6 The five heaviest products: id and specs.weight_g as a number, heaviest first, equal weights
    by id.
    - the values as numbers (not text, not jsonb strings), the order, the tie-break, products
      without a weight left out: an ordered comparison, also on the second sample dataset
2.7 id and name of the products tagged both eco and sale and neither new nor gift, by id.
    - the rows and their order: compared with a reference, also on the second sample dataset
2.8 api_tokens: id uuid primary key defaulting to a time-ordered UUID; user_id bigint NOT NULL
    referencing users; created_at timestamptz NOT NULL DEFAULT now(); INSERT of a user_id works.
    - id's type and key, user_id's type, NOT NULL and foreign key, created_at's type and NOT NULL:
      the catalog
    - the defaults: an INSERT of only user_id (rolled back) gets version-7 ids, increasing, and
      created_at = now()
2.9 in_review added to product_status after draft and before published.
    - the label, its position, the other labels kept: pg_enum and a comparison
2.10 tickets.priority an enum of exactly low, normal, high; urgent tickets now high; all tickets
    and the default 'normal' kept.
    - the labels in order, the rows' priorities, the row count, the default: the catalog and rows
2.11 order_items.line_total, a generated column always equal to quantity * unit_price.
    - generated (not a plain column), right after an UPDATE of quantity, on every row
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

#: Exercise 2.5 tried on other prices: a 20% discount, and the JSON strings on other rows.
PRICE_CHANGE = """UPDATE products
SET metadata = metadata || jsonb_build_object('price',
        CASE WHEN id % 3 = 1 THEN to_jsonb(round(price, 2)::text) ELSE to_jsonb(round(price, 2)) END)
WHERE metadata ? 'price'"""

#: The rows exercise 2.6 asks for: the five heaviest products, weights as numbers.
HEAVIEST_REFERENCE = """SELECT id, (metadata #>> '{specs,weight_g}')::numeric AS weight_g
FROM products WHERE metadata #>> '{specs,weight_g}' IS NOT NULL
ORDER BY 2 DESC, id LIMIT 5"""

#: The rows exercise 2.7 asks for.
TAGS_REFERENCE = """SELECT id, name FROM products
WHERE tags @> ARRAY['eco', 'sale'] AND NOT tags && ARRAY['new', 'gift'] ORDER BY id"""

TICKET_LABELS = ["low", "normal", "high"]


# ---- helpers ---------------------------------------------------------------------------------
def _columns(n: int) -> str:
    return f"{n} column" if n == 1 else f"{n} columns"


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
    """Both tables hold every users.email; the saved prediction matches what the check measures."""
    prediction = ctx.saved_value()
    key = _PREDICTIONS.get(str(prediction).strip().lower())
    ctx.expect(key is not None, f"your prediction {prediction!r} is none of text, varchar, same",
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
    bytes_text, bytes_varchar, pages_text, pages_varchar = ctx.rows(
        "SELECT (SELECT sum(pg_column_size(email)) FROM emails_text), (SELECT sum(pg_column_size(email)) FROM emails_varchar), "
        "pg_relation_size('public.emails_text') / 8192, pg_relation_size('public.emails_varchar') / 8192")[0]
    measured = "same" if bytes_text == bytes_varchar else "text" if bytes_text < bytes_varchar else "varchar"
    ctx.expect(key == measured,
               f"you predicted {key!r}; measured: the emails take {bytes_text} bytes as text and {bytes_varchar} "
               f"as varchar(255)",
               "varchar(n) is stored exactly like text: the (n) only adds a length check on assignment")
    return (f"measured: {bytes_text} bytes of emails in each table ({pages_text} and {pages_varchar} pages), "
            "as you predicted: varchar(n) is text plus a length check")


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
    runs = [("UTC", {}), ("Asia/Tokyo", {}), ("UTC", {"enable_sort": "off"})]
    for zone, settings in runs:
        cols, got = ctx.run_answer(query, settings={"TimeZone": zone, **settings})
        ctx.expect(len(cols) == 2, f"your query returns {_columns(len(cols))}; expected 2 (day, number of orders)",
                   "SELECT <the New York date>, count(*) ... GROUP BY 1 ORDER BY 1")
        got = [(_as_local_date(day), n) for day, n in got]
        unsorted = bool(settings)
        try:
            compare_rows(got, expected, ordered=True, columns=cols,
                         what=(f"when the planner avoids sorting (enable_sort off), your query" if unsorted
                               else f"with the session TimeZone set to {zone}, your query"))
        except CheckFailed as failed:  # keep the reason, add the lesson to the hint
            ctx.fail(failed.reason, "rows come in no particular order without ORDER BY: end with ORDER BY 1 (the day)"
                     if unsorted else
                     "name the zone in the query: (created_at AT TIME ZONE 'America/New_York')::date, "
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
    ctx.expect(len(cols) == 1, f"your query returns {_columns(len(cols))}; expected 1 (the product id)", "SELECT id FROM products WHERE ...")
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
    numeric_hint = ("compare numbers as numbers: ->> gives text ('150.00' < '99.99' as text), "
                    "so cast it: (metadata->>'price')::numeric > 99.99")
    compare_rows(got, expected, what="your query", columns=cols, hint=numeric_hint)
    conn = ctx.learner
    with conn.transaction(force_rollback=True):  # other prices, other ids: a list of ids typed in fails here
        conn.execute(PRICE_CHANGE)
        cur = conn.execute(query)
        changed = cur.fetchall() if cur.description else []
        changed_expected = conn.execute(PRICE_REFERENCE).fetchall()
    compare_rows(changed, changed_expected, what="after the prices change (a 20% discount, rolled back), your query",
                 columns=cols, hint="filter on the price itself; ids typed in fit one set of prices only")
    ctx.same_rows_on_sample(query, PRICE_REFERENCE)
    return f"{len(exp_ids)} products, numbers and strings alike, compared as numeric"


# ---- 2.6 typed values out of jsonb ------------------------------------------------------------------
@exercise("2.6", "The five heaviest products, weights read from jsonb as numbers")
def heaviest(ctx: CheckContext) -> str:
    """id and weight_g (a number) of the five heaviest products, heaviest first, equal weights by id."""
    query = _query_text(ctx.answer().sql)
    cols, got = ctx.run_answer(query)
    ctx.expect(len(cols) == 2, f"your query returns {_columns(len(cols))}; expected 2 (id, weight_g)",
               "SELECT id, <the weight as a number> FROM products ...")
    texts = [row[1] for row in got if isinstance(row[1], str)]
    ctx.expect(not texts, f"your weights are text ({texts[0]!r} and so on), not numbers" if texts else "",
               "->> and #>> return text: cast it, (metadata #>> '{specs,weight_g}')::int")
    ctx.expect(not any(row[1] is None for row in got), "your top five includes products without a weight (NULL)",
               "ORDER BY ... DESC puts NULLs first: keep only products that have a weight (WHERE ... IS NOT NULL), "
               "or write DESC NULLS LAST")
    expected = ctx.rows(HEAVIEST_REFERENCE)
    compare_rows(got, expected, ordered=True, columns=cols,
                 hint="order by the weight as a number (as text, '997' sorts above '3015'), then by id")
    ctx.same_rows_on_sample(query, HEAVIEST_REFERENCE, ordered=True)
    return f"the five heaviest products, {expected[0][1]} g first, compared as numbers"


# ---- 2.7 arrays ---------------------------------------------------------------------------------
@exercise("2.7", "Tags: both of two, none of two others")
def tags_query(ctx: CheckContext) -> str:
    """id, name of the products tagged eco and sale and neither new nor gift, ordered by id, on both datasets."""
    query = _query_text(ctx.answer().sql)
    cols, got = ctx.run_answer(query)
    ctx.expect(len(cols) == 2, f"your query returns {_columns(len(cols))}; expected 2 (id, name)", "SELECT id, name FROM products WHERE ...")
    compare_rows(got, ctx.rows(TAGS_REFERENCE), ordered=True, columns=cols,
                 hint="@> ARRAY[...] means all of them, && ARRAY[...] at least one of them; NOT (tags && ...) none; ORDER BY id")
    ctx.same_rows_on_sample(query, TAGS_REFERENCE, ordered=True)
    return f"{len(got)} products, in id order, and right on a second dataset too"


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
    ctx.expect(cols["user_id"]["type"] == "bigint", f"api_tokens.user_id is {cols['user_id']['type']}; users.id is bigint",
               "user_id bigint NOT NULL REFERENCES users (id)")
    ctx.expect(cols["user_id"]["not_null"], "api_tokens.user_id accepts NULL: a token of nobody",
               "user_id bigint NOT NULL REFERENCES users (id)")
    fk = [c for c in ctx.constraints("api_tokens") if c["type"] == "f" and c["definition"].startswith("FOREIGN KEY (user_id)")]
    ctx.expect(fk and "REFERENCES users(id)" in fk[0]["definition"],
               "api_tokens.user_id does not reference users(id): a token of a user who does not exist is accepted",
               "user_id bigint NOT NULL REFERENCES users (id)")
    ctx.expect("created_at" in cols, "api_tokens has no created_at column", "created_at timestamptz NOT NULL DEFAULT now()")
    ctx.expect(cols["created_at"]["type"] == "timestamp with time zone",
               f"api_tokens.created_at is {cols['created_at']['type']}; expected timestamptz (an instant)",
               "created_at timestamptz NOT NULL DEFAULT now()")
    ctx.expect(cols["created_at"]["not_null"], "api_tokens.created_at accepts NULL", "created_at timestamptz NOT NULL DEFAULT now()")
    conn = ctx.learner
    try:
        with conn.transaction(force_rollback=True):
            inserted = conn.execute(
                "INSERT INTO api_tokens (user_id) SELECT id FROM users ORDER BY id LIMIT 5 "
                "RETURNING id, created_at BETWEEN now() AND clock_timestamp()").fetchall()
            ids = [r[0] for r in inserted]
            stamped = all(r[1] for r in inserted)
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
    ctx.expect(stamped, "a new token does not get the time of its insertion (now()) as created_at by default", "created_at timestamptz NOT NULL DEFAULT now()")
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
