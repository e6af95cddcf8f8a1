"""Chapter 02 checks, proven both ways on a fresh clone of the tiny dataset per test.

Each test starts from the learner's state as shipped (the check fails), tries typical wrong
answers (the check fails with the intended reason), then correct answers written in more than
one way (the check passes). SQL runs as the learner, as in the notebook.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from pgcourse import chapters
from pgcourse.chapter import Chapter, create_database, drop_database
from pgcourse.checks import ch02_data_types as c02
from pgcourse.checks import run_check
from pgcourse.magics import save_answer

INFO = chapters.get("02")


@pytest.fixture
def ch(pg_server) -> Iterator[Chapter]:
    """A fresh chapter 02 database (tiny dataset) for one test."""
    dbname = f"ch02_t_{uuid.uuid4().hex[:8]}"
    create_database(pg_server, INFO, dbname=dbname, size="tiny")
    chapter = Chapter(info=INFO, server=pg_server, database=dbname)
    yield chapter
    drop_database(pg_server, dbname)


def run(ch: Chapter, sql: str) -> None:
    """Run SQL as the learner, autocommit (like a %%sql cell)."""
    with ch.connect(autocommit=True) as conn:
        conn.execute(sql)


def passes(ch: Chapter, ex: str) -> str:
    result = run_check(ex, ch)
    assert result.passed, result.line()
    return result.message


def fails(ch: Chapter, ex: str, reason: str) -> str:
    result = run_check(ex, ch)
    assert result.status == "failed", result.line()
    assert reason in result.message, result.line()
    assert result.hint, "a failure must come with a hint"
    return result.hint


def answer(ch: Chapter, ex: str, sql: str | None = None, value=None) -> None:
    save_answer(ch, ex, answer_sql=sql, value=value)


# ---- 2.1 --------------------------------------------------------------------------------------
def test_2_1_money(ch):
    fails(ch, "2.1", "there is no table payments")
    run(ch, c02.PAYMENTS_SETUP)
    hint = fails(ch, "2.1", "payments.amount is still double precision")
    assert "numeric" in hint
    run(ch, "ALTER TABLE payments ALTER COLUMN amount TYPE numeric(12,1)")
    fails(ch, "2.1", "scale 1 rounds away the cents")
    run(ch, c02.PAYMENTS_SETUP)
    run(ch, "ALTER TABLE payments ALTER COLUMN amount TYPE numeric(12,2)")
    assert "exact to the cent" in passes(ch, "2.1")
    run(ch, c02.PAYMENTS_SETUP)
    run(ch, "ALTER TABLE payments ALTER amount SET DATA TYPE numeric")  # unconstrained numeric: exact too
    passes(ch, "2.1")


def test_2_1_amounts_changed_on_the_way_fail(ch):
    run(ch, c02.PAYMENTS_SETUP)
    run(ch, "ALTER TABLE payments ALTER COLUMN amount TYPE numeric(12,2) USING round(amount::numeric)")
    hint = fails(ch, "2.1", "payments no longer equal their order's total_amount")
    assert "do not recompute" in hint


# ---- 2.2 --------------------------------------------------------------------------------------
def test_2_2_varchar_vs_text(ch):
    fails(ch, "2.2", "no answer saved")
    answer(ch, "2.2", value="bigger")
    fails(ch, "2.2", "none of text, varchar, same")
    answer(ch, "2.2", value="same")
    fails(ch, "2.2", "there is no table emails_text yet")
    run(ch, "CREATE TABLE emails_text (email text); CREATE TABLE emails_varchar (email varchar(255))")
    fails(ch, "2.2", "does not hold exactly the users' emails")
    run(ch, "INSERT INTO emails_text SELECT email FROM users; INSERT INTO emails_varchar SELECT email FROM users")
    assert "as you predicted" in passes(ch, "2.2")
    run(ch, "ALTER TABLE emails_varchar ALTER COLUMN email TYPE text")
    fails(ch, "2.2", "emails_varchar.email is text; expected character varying")


@pytest.mark.parametrize("wrong", ["text", "varchar", "VARCHAR(255)"])
def test_2_2_a_wrong_prediction_fails(ch, wrong):
    answer(ch, "2.2", value=wrong)
    run(ch, """CREATE TABLE emails_text (email text); CREATE TABLE emails_varchar (email varchar(255));
               INSERT INTO emails_text SELECT email FROM users; INSERT INTO emails_varchar SELECT email FROM users""")
    hint = fails(ch, "2.2", "measured: the emails take")
    assert "stored exactly like text" in hint


def test_2_2_accepts_other_insert_orders_and_unbounded_varchar(ch):
    answer(ch, "2.2", value="SAME")
    run(ch, """CREATE TABLE emails_varchar (email varchar);
               INSERT INTO emails_varchar (email) SELECT email FROM users ORDER BY email DESC;
               CREATE TABLE emails_text AS SELECT email FROM users""")
    passes(ch, "2.2")


def test_2_2_a_table_filled_twice_and_emptied_is_bigger_on_disk_and_still_right(ch):
    """File sizes differ when one table kept dead rows' pages: the bytes of the values do not."""
    answer(ch, "2.2", value="same")
    run(ch, """CREATE TABLE emails_text (email text); CREATE TABLE emails_varchar (email varchar(255));
               INSERT INTO emails_text SELECT email FROM users; INSERT INTO emails_text SELECT email FROM users;
               DELETE FROM emails_text WHERE ctid IN (SELECT ctid FROM emails_text LIMIT (SELECT count(*) FROM users));
               INSERT INTO emails_varchar SELECT email FROM users""")
    with ch.connect() as conn:
        text_size, varchar_size = conn.execute(
            "SELECT pg_relation_size('emails_text'), pg_relation_size('emails_varchar')").fetchone()
    assert text_size > varchar_size
    passes(ch, "2.2")


# ---- 2.3 --------------------------------------------------------------------------------------
RIGHT_DAYS = """SELECT (created_at AT TIME ZONE 'America/New_York')::date AS day, count(*)
FROM orders
WHERE created_at >= '2024-03-08 00:00 America/New_York'
  AND created_at <  '2024-03-12 00:00 America/New_York'
GROUP BY 1
ORDER BY 1;"""

RIGHT_DAYS_3ARG = """-- BEGIN SOLUTION
SELECT date_trunc('day', created_at, 'America/New_York') AS local_day, count(*) AS n
FROM orders
WHERE (created_at AT TIME ZONE 'America/New_York')::date BETWEEN '2024-03-08' AND '2024-03-11'
GROUP BY 1 ORDER BY 1
-- END SOLUTION"""

SESSION_DEPENDENT_DAYS = """SELECT created_at::date AS day, count(*) FROM orders
WHERE created_at >= '2024-03-08' AND created_at < '2024-03-12' GROUP BY 1 ORDER BY 1"""


def test_2_3_local_days(ch):
    fails(ch, "2.3", "no answer saved for 2.3")
    answer(ch, "2.3", "-- YOUR SQL HERE")
    fails(ch, "2.3", "is empty")
    answer(ch, "2.3", SESSION_DEPENDENT_DAYS)
    hint = fails(ch, "2.3", "with the session TimeZone set to UTC, your query")
    assert "AT TIME ZONE" in hint
    answer(ch, "2.3", RIGHT_DAYS.replace("ORDER BY 1", "ORDER BY 2"))
    fails(ch, "2.3", "wrong order")
    answer(ch, "2.3", RIGHT_DAYS)
    assert "2024-03-10 had 23 hours" in passes(ch, "2.3")
    answer(ch, "2.3", RIGHT_DAYS_3ARG)  # timestamptz days, another filter: same days
    passes(ch, "2.3")


def test_2_3_without_order_by_fails_when_rows_come_in_hash_order(ch):
    answer(ch, "2.3", RIGHT_DAYS.replace("ORDER BY 1;", ";"))
    hint = fails(ch, "2.3", "when the planner avoids sorting")
    assert "ORDER BY" in hint


def test_2_3_rejects_hard_coded_counts(ch):
    """Counts typed in from this database fail on the second sample dataset (the tests' chapter
    database is tiny, like the sample, so one order is deleted here to make the two differ)."""
    from pgcourse.checks.context import CheckContext

    if not hasattr(CheckContext, "sample"):
        pytest.skip("no second sample dataset in this version of the checks framework")
    run(ch, "DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE created_at >= '2024-03-09 00:00 America/New_York')")
    with ch.connect() as conn:
        rows = conn.execute(c02.LOCAL_DAYS_REFERENCE).fetchall()
    values = ", ".join(f"('{day}'::date, {n})" for day, n in rows)
    answer(ch, "2.3", f"SELECT * FROM (VALUES {values}) AS v(day, n) ORDER BY 1")
    fails(ch, "2.3", "on a second sample dataset")
    answer(ch, "2.3", RIGHT_DAYS)
    passes(ch, "2.3")


def test_2_3_rejects_an_answer_that_only_works_in_new_york_sessions(ch):
    with ch.connect() as conn:  # in a New York session this query looks right...
        conn.execute("SET TimeZone = 'America/New_York'")
        local = conn.execute(SESSION_DEPENDENT_DAYS).fetchall()
        assert [n for _, n in local] == [n for _, n in conn.execute(c02.LOCAL_DAYS_REFERENCE).fetchall()]
    answer(ch, "2.3", SESSION_DEPENDENT_DAYS)
    fails(ch, "2.3", "with the session TimeZone set to UTC")  # ...but the answer depends on the session


# ---- 2.4 --------------------------------------------------------------------------------------
def test_2_4_timestamp_to_timestamptz(ch):
    fails(ch, "2.4", "there is no table shipments")
    run(ch, c02.SHIPMENTS_SETUP)
    fails(ch, "2.4", "shipments.shipped_at is timestamp without time zone")
    run(ch, "ALTER TABLE shipments ALTER COLUMN shipped_at TYPE timestamptz")  # read in UTC: wrong instants
    hint = fails(ch, "2.4", "shipments now point at the wrong instant")
    assert "Europe/Berlin" in hint
    run(ch, c02.SHIPMENTS_SETUP)
    run(ch, "ALTER TABLE shipments ALTER COLUMN shipped_at TYPE timestamptz USING shipped_at AT TIME ZONE 'Europe/Berlin'")
    passes(ch, "2.4")
    run(ch, c02.SHIPMENTS_SETUP)
    with ch.connect(autocommit=True) as conn:  # another right way: convert in a Berlin session
        conn.execute("SET TimeZone = 'Europe/Berlin'")
        conn.execute("ALTER TABLE shipments ALTER COLUMN shipped_at TYPE timestamp with time zone")
    passes(ch, "2.4")


# ---- 2.5 --------------------------------------------------------------------------------------
def test_2_5_json_price(ch):
    fails(ch, "2.5", "no product has a price in its metadata")
    run(ch, c02.PRICE_SETUP)
    fails(ch, "2.5", "no answer saved")
    answer(ch, "2.5", "SELECT id FROM products WHERE metadata->'price' > '99.99'")  # the guide's filter
    hint = fails(ch, "2.5", "price is a JSON string")
    assert "->>" in hint
    answer(ch, "2.5", "SELECT id FROM products WHERE metadata->>'price' > '99.99'")  # text comparison
    fails(ch, "2.5", "your query returns")
    answer(ch, "2.5", "SELECT id FROM products WHERE price > 99.99")  # the column, not the metadata
    fails(ch, "2.5", "your query returns")
    answer(ch, "2.5", "SELECT id, name FROM products WHERE (metadata->>'price')::numeric > 99.99")
    fails(ch, "2.5", "returns 2 columns")
    answer(ch, "2.5", "-- BEGIN SOLUTION\nSELECT id FROM products\nWHERE (metadata->>'price')::numeric > 99.99;\n-- END SOLUTION")
    assert "compared as numeric" in passes(ch, "2.5")
    answer(ch, "2.5", "SELECT p.id FROM products p WHERE CAST(p.metadata ->> 'price' AS numeric(12,2)) >= 100.00")
    passes(ch, "2.5")


def test_2_5_hard_coded_ids_fail_when_the_prices_change(ch):
    run(ch, c02.PRICE_SETUP)
    with ch.connect() as conn:
        ids = [r[0] for r in conn.execute(c02.PRICE_REFERENCE).fetchall()]
    answer(ch, "2.5", f"SELECT id FROM products WHERE id IN ({', '.join(map(str, ids))}) AND metadata ? 'price'")
    hint = fails(ch, "2.5", "after the prices change")
    assert "typed in" in hint
    answer(ch, "2.5", f"SELECT unnest(ARRAY[{', '.join(map(str, ids))}]) AS id")
    fails(ch, "2.5", "after the prices change")


# ---- 2.6 --------------------------------------------------------------------------------------
HEAVIEST = """SELECT id, (metadata->'specs'->>'weight_g')::int AS weight_g
FROM products WHERE metadata->'specs' ? 'weight_g'
ORDER BY weight_g DESC, id LIMIT 5"""


@pytest.mark.parametrize("sql", [HEAVIEST, """SELECT p.id, (p.metadata #> '{specs,weight_g}')::numeric AS grams FROM products p
    ORDER BY grams DESC NULLS LAST, p.id FETCH FIRST 5 ROWS ONLY"""])
def test_2_6_weights_as_numbers_written_differently_pass(ch, sql):
    answer(ch, "2.6", sql)
    passes(ch, "2.6")


@pytest.mark.parametrize("sql, reason", [
    (HEAVIEST.replace("::int", ""), "your weights are text"),
    (HEAVIEST.replace("(metadata->'specs'->>'weight_g')::int", "metadata->'specs'->>'weight_g'").replace("ORDER BY weight_g", "ORDER BY (metadata->'specs'->>'weight_g')::int"), "your weights are text"),
    (HEAVIEST.replace("::int AS weight_g", "::int AS weight_g").replace("ORDER BY weight_g DESC", "ORDER BY metadata->'specs'->>'weight_g' DESC"), "your query returns"),
    (HEAVIEST.replace("WHERE metadata->'specs' ? 'weight_g'", ""), "without a weight (NULL)"),
    (HEAVIEST.replace("DESC, id", "DESC, id DESC"), "your query returns"),
    (HEAVIEST.replace("LIMIT 5", "LIMIT 6"), "returns 6 rows; expected 5"),
])
def test_2_6_wrong_answers_fail_with_the_reason(ch, sql, reason):
    with ch.connect() as conn:  # make a tie at the top, so that the tie-break matters
        conn.execute("""UPDATE products SET metadata = jsonb_set(metadata, '{specs,weight_g}', '5000')
                        WHERE id IN (SELECT id FROM products WHERE metadata->'specs' ? 'weight_g' ORDER BY id LIMIT 2)""")
    answer(ch, "2.6", sql)
    fails(ch, "2.6", reason)


def test_2_6_hard_coded_rows_fail_on_the_second_dataset(ch):
    with ch.connect() as conn:  # this database now differs from the sample
        conn.execute("""UPDATE products SET metadata = jsonb_set(metadata, '{specs,weight_g}', '9999')
                        WHERE id = (SELECT min(id) FROM products WHERE metadata->'specs' ? 'weight_g')""")
        rows = conn.execute(c02.HEAVIEST_REFERENCE).fetchall()
    answer(ch, "2.6", "SELECT * FROM (VALUES " + ", ".join(f"({i}, {w})" for i, w in rows) + ") AS t(id, w) ORDER BY w DESC, id")
    fails(ch, "2.6", "on a second sample dataset")


# ---- 2.7 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    "SELECT id, name FROM products WHERE tags @> ARRAY['eco', 'sale'] AND NOT tags && ARRAY['new', 'gift'] ORDER BY id",
    """SELECT p.id, p.name FROM products AS p
       WHERE 'eco' = ANY (p.tags) AND 'sale' = ANY (p.tags) AND NOT ('new' = ANY (p.tags) OR 'gift' = ANY (p.tags))
       ORDER BY 1""",
])
def test_2_7_tag_queries_written_differently_pass(ch, sql):
    answer(ch, "2.7", sql)
    passes(ch, "2.7")


@pytest.mark.parametrize("sql, reason", [
    ("SELECT id, name FROM products WHERE tags && ARRAY['eco', 'sale'] AND NOT tags && ARRAY['new', 'gift'] ORDER BY id",
     "not expected"),
    ("SELECT id, name FROM products WHERE tags @> ARRAY['eco', 'sale'] ORDER BY id", "not expected"),
    ("SELECT id, name FROM products WHERE tags @> ARRAY['eco', 'sale'] AND NOT tags @> ARRAY['new', 'gift'] ORDER BY id",
     "not expected"),
    ("SELECT id, name FROM products WHERE tags @> ARRAY['eco', 'sale'] AND NOT tags && ARRAY['new', 'gift'] ORDER BY name",
     "wrong order"),
    ("SELECT id FROM products WHERE tags @> ARRAY['eco', 'sale'] AND NOT tags && ARRAY['new', 'gift'] ORDER BY id",
     "returns 1 column;"),
])
def test_2_7_wrong_tag_logic_fails_with_the_reason(ch, sql, reason):
    answer(ch, "2.7", sql)
    fails(ch, "2.7", reason)


def test_2_7_hard_coded_rows_fail_on_the_second_dataset(ch):
    run(ch, "UPDATE products SET tags = ARRAY['eco', 'sale'] WHERE id = (SELECT min(id) FROM products WHERE cardinality(tags) = 0)")
    with ch.connect() as conn:
        rows = conn.execute(c02.TAGS_REFERENCE).fetchall()
    answer(ch, "2.7", "SELECT id, name FROM products WHERE id IN (" + ", ".join(str(r[0]) for r in rows) + ") ORDER BY id")
    fails(ch, "2.7", "on a second sample dataset")


# ---- 2.8 --------------------------------------------------------------------------------------
def test_2_8_uuidv7(ch):
    fails(ch, "2.8", "no table api_tokens")
    run(ch, """CREATE TABLE api_tokens (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
               user_id bigint NOT NULL REFERENCES users)""")
    fails(ch, "2.8", "api_tokens.id is bigint; expected uuid")
    run(ch, """DROP TABLE api_tokens; CREATE TABLE api_tokens (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
               user_id bigint NOT NULL REFERENCES users, created_at timestamptz NOT NULL DEFAULT now())""")
    hint = fails(ch, "2.8", "not 7")
    assert "uuidv7()" in hint
    run(ch, "ALTER TABLE api_tokens ALTER COLUMN id DROP DEFAULT")
    fails(ch, "2.8", "inserting a token with only user_id fails")
    run(ch, "ALTER TABLE api_tokens ALTER COLUMN id SET DEFAULT uuidv7()")
    passes(ch, "2.8")
    run(ch, """DROP TABLE api_tokens; CREATE TABLE api_tokens (
               user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
               id uuid NOT NULL DEFAULT uuidv7(), label text, created_at timestamptz NOT NULL DEFAULT now(),
               CONSTRAINT api_tokens_pk PRIMARY KEY (id))""")
    passes(ch, "2.8")
    with ch.connect() as conn:
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone()[0] == 0  # the check rolled back


API_TOKENS = """CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY DEFAULT uuidv7(),
    user_id    bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
)"""


@pytest.mark.parametrize("change, reason", [
    ((" REFERENCES users (id)", ""), "does not reference users(id)"),
    (("user_id    bigint NOT NULL", "user_id    bigint"), "user_id accepts NULL"),
    (("user_id    bigint", "user_id    integer"), "user_id is integer"),
    (("created_at timestamptz", "created_at timestamp"), "created_at is timestamp without time zone"),
    (("timestamptz NOT NULL DEFAULT now()", "timestamptz"), "created_at accepts NULL"),
    (("NOT NULL DEFAULT now()", "NOT NULL DEFAULT '2025-01-01'"), "the time of its insertion"),
    ((",\n    created_at timestamptz NOT NULL DEFAULT now()", ""), "no created_at column"),
])
def test_2_8_each_column_is_checked(ch, change, reason):
    run(ch, API_TOKENS.replace(*change))
    fails(ch, "2.8", reason)


def test_2_8_the_table_written_another_way_passes(ch):
    run(ch, """CREATE TABLE api_tokens (user_id bigint NOT NULL, created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
               id uuid DEFAULT uuidv7() NOT NULL);
               ALTER TABLE api_tokens ADD PRIMARY KEY (id), ADD FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE""")
    passes(ch, "2.8")


# ---- 2.9 --------------------------------------------------------------------------------------
def test_2_9_enum_add_value(ch):
    fails(ch, "2.9", "no value 'in_review'")
    run(ch, "ALTER TYPE product_status ADD VALUE 'in_review'")  # appended: sorts after discontinued
    hint = fails(ch, "2.9", "sorts in the wrong place")
    assert "declaration position" in hint


@pytest.mark.parametrize("ddl", ["ALTER TYPE product_status ADD VALUE 'in_review' BEFORE 'published'",
                                 "ALTER TYPE product_status ADD VALUE IF NOT EXISTS 'in_review' AFTER 'draft'"])
def test_2_9_accepts_before_and_after(ch, ddl):
    run(ch, ddl)
    assert "draft < in_review < published" in passes(ch, "2.9")


# ---- 2.10 -------------------------------------------------------------------------------------
RETIRE_URGENT = """
UPDATE tickets SET priority = 'high' WHERE priority = 'urgent';
CREATE TYPE ticket_priority_v2 AS ENUM ('low', 'normal', 'high');
ALTER TABLE tickets ALTER COLUMN priority DROP DEFAULT;
ALTER TABLE tickets ALTER COLUMN priority TYPE ticket_priority_v2 USING priority::text::ticket_priority_v2;
ALTER TABLE tickets ALTER COLUMN priority SET DEFAULT 'normal';
DROP TYPE ticket_priority;
ALTER TYPE ticket_priority_v2 RENAME TO ticket_priority;
"""


def test_2_10_enum_retire_value(ch):
    fails(ch, "2.10", "there is no table tickets")
    run(ch, c02.TICKETS_SETUP)
    hint = fails(ch, "2.10", "still has 'urgent'")
    assert "cannot drop an enum value" in hint
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        run(ch, "ALTER TYPE ticket_priority DROP VALUE 'urgent'")
    run(ch, "DELETE FROM tickets WHERE priority = 'urgent'")  # wrong: loses tickets
    run(ch, RETIRE_URGENT)
    fails(ch, "2.10", "tickets has 750 rows")
    run(ch, c02.TICKETS_SETUP)
    run(ch, RETIRE_URGENT.replace("UPDATE tickets SET priority = 'high' WHERE priority = 'urgent';",
                                  "UPDATE tickets SET priority = 'normal' WHERE priority = 'urgent';"))
    fails(ch, "2.10", "250 tickets have the wrong priority")
    run(ch, c02.TICKETS_SETUP)
    run(ch, RETIRE_URGENT.replace("ALTER TABLE tickets ALTER COLUMN priority SET DEFAULT 'normal';", ""))
    fails(ch, "2.10", "lost its default")
    run(ch, c02.TICKETS_SETUP)
    run(ch, RETIRE_URGENT.replace("('low', 'normal', 'high')", "('high', 'normal', 'low')"))
    fails(ch, "2.10", "expected low, normal, high in that order")
    run(ch, c02.TICKETS_SETUP)
    run(ch, RETIRE_URGENT)
    passes(ch, "2.10")


def test_2_10_accepts_a_new_type_name_and_the_mapping_in_using(ch):
    run(ch, c02.TICKETS_SETUP)
    run(ch, """CREATE TYPE priority_level AS ENUM ('low', 'normal', 'high');
               ALTER TABLE tickets ALTER priority DROP DEFAULT,
                 ALTER priority TYPE priority_level
                   USING (CASE priority WHEN 'urgent' THEN 'high' ELSE priority::text END)::priority_level,
                 ALTER priority SET DEFAULT 'normal'::priority_level;
               DROP TYPE ticket_priority""")
    passes(ch, "2.10")


# ---- 2.11 -------------------------------------------------------------------------------------
def test_2_11_generated_column(ch):
    fails(ch, "2.11", "no column line_total yet")
    run(ch, "ALTER TABLE order_items ADD COLUMN line_total numeric(12,2); UPDATE order_items SET line_total = quantity * unit_price")
    hint = fails(ch, "2.11", "line_total is a plain column")
    assert "GENERATED ALWAYS" in hint
    run(ch, "ALTER TABLE order_items DROP COLUMN line_total")
    run(ch, "ALTER TABLE order_items ADD COLUMN line_total numeric(12,0) GENERATED ALWAYS AS (quantity * unit_price) VIRTUAL")
    fails(ch, "2.11", "line_total is")
    run(ch, "ALTER TABLE order_items DROP COLUMN line_total")
    run(ch, "ALTER TABLE order_items ADD COLUMN line_total numeric(12,2) GENERATED ALWAYS AS (quantity + unit_price) VIRTUAL")
    fails(ch, "2.11", "after an UPDATE of quantity")
    run(ch, "ALTER TABLE order_items DROP COLUMN line_total")
    run(ch, "ALTER TABLE order_items ADD COLUMN line_total numeric(12,2) GENERATED ALWAYS AS (quantity * unit_price) VIRTUAL")
    assert "virtual" in passes(ch, "2.11")
    run(ch, "ALTER TABLE order_items DROP COLUMN line_total")
    run(ch, "ALTER TABLE order_items ADD COLUMN line_total numeric GENERATED ALWAYS AS (unit_price * quantity) STORED")
    assert "stored" in passes(ch, "2.11")
    with ch.connect() as conn:  # the check's UPDATE was rolled back
        changed = conn.execute("SELECT count(*) FROM order_items WHERE quantity > 1000").fetchone()[0]
        before = conn.execute("SELECT quantity FROM order_items ORDER BY id LIMIT 1").fetchone()[0]
    passes(ch, "2.11")
    with ch.connect() as conn:
        assert conn.execute("SELECT quantity FROM order_items ORDER BY id LIMIT 1").fetchone()[0] == before
        assert changed == 0


def test_every_exercise_is_registered_in_order():
    from pgcourse.checks import exercises_for

    ids = [e.id for e in exercises_for(INFO)]
    assert ids == [f"2.{i}" for i in range(1, 12)]
