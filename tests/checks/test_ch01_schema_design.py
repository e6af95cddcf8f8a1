"""Chapter 01 checks, both ways: correct answers (written differently) pass; typical wrong ones fail with the right reason.

Each test gets its own copy of the tiny dataset, and runs its DDL as the learner, like the notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.checks.ch01_schema_design import SIGNUP_INSERTS, SIGNUPS_DDL, signup_outcomes
from pgcourse.magics import save_answer
from tests.checks.helpers import _normal, check

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "01_schema_design.ipynb"

#: The setup cells of the notebook (a test below keeps them identical).
ORDER_NOTES_SETUP = """CREATE TABLE "OrderNote" (
    "noteID" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "order"  bigint NOT NULL REFERENCES orders (id),
    "Text"   text NOT NULL,
    created  timestamp NOT NULL DEFAULT now(),
    pinned   boolean NOT NULL DEFAULT false
);
INSERT INTO "OrderNote" ("order", "Text", created)
SELECT id, 'gift wrap, please', '2025-06-01 12:00' FROM orders ORDER BY id LIMIT 3;"""

ACCOUNTS_SETUP = """DROP TABLE IF EXISTS accounts CASCADE;
CREATE TABLE accounts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    username   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
INSERT INTO accounts (email, username, created_at, deleted_at)
SELECT email, username, created_at, deleted_at FROM users ORDER BY id;"""


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("01", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def run(ch, sql: str) -> None:
    """Run DDL as the learner (autocommit, like a %%sql cell)."""
    ch.query(sql)


def failed(result, *words: str) -> bool:
    text = (result.message + " " + result.hint).lower()
    return result.status == "failed" and all(w.lower() in text for w in words)


# ---- the notebook and the tests share their setup SQL -------------------------------------------

@pytest.mark.skipif(not SOLUTION.exists(), reason="solution notebook not written yet")
def test_the_notebook_setup_cells_are_the_ones_tested_here():
    cells = ["".join(c["source"]) for c in json.loads(SOLUTION.read_text())["cells"] if c["cell_type"] == "code"]
    sources = [_normal(c) for c in cells]
    for setup in (ORDER_NOTES_SETUP, ACCOUNTS_SETUP, SIGNUPS_DDL):
        assert any(_normal(setup) in s for s in sources), setup.splitlines()[0]
    markdown = " ".join("".join(c["source"]) for c in json.loads(SOLUTION.read_text())["cells"])
    for _, statement in SIGNUP_INSERTS:
        assert statement in markdown, statement


# ---- 1.1 naming ---------------------------------------------------------------------------------

FIX_NAMES = """ALTER TABLE "OrderNote" RENAME TO order_notes;
ALTER TABLE order_notes RENAME COLUMN "noteID" TO id;
ALTER TABLE order_notes RENAME COLUMN "order" TO order_id;
ALTER TABLE order_notes RENAME COLUMN "Text" TO body;
ALTER TABLE order_notes RENAME COLUMN created TO created_at;
ALTER TABLE order_notes ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC';
ALTER TABLE order_notes RENAME COLUMN pinned TO is_pinned;"""


def test_1_1_unsolved_fails_with_the_first_finding(ch):
    run(ch, ORDER_NOTES_SETUP)
    result = check(ch, "1.1")
    assert failed(result, "linter", "OrderNote") and "(and " in result.message


def test_1_1_without_the_setup_says_to_run_it(ch):
    assert failed(check(ch, "1.1"), "no table references orders", "setup cell")


def test_1_1_renames_pass(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES)
    result = check(ch, "1.1")
    assert result.passed, result.line()
    assert "order_notes" in result.message


def test_1_1_other_good_names_in_one_statement_pass(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, """ALTER TABLE "OrderNote" RENAME TO order_comments;
               ALTER TABLE order_comments RENAME "noteID" TO id;
               ALTER TABLE order_comments RENAME "order" TO order_id;
               ALTER TABLE order_comments RENAME "Text" TO text;
               ALTER TABLE order_comments RENAME created TO created_at;
               ALTER TABLE order_comments RENAME pinned TO is_sticky;
               SET TimeZone = 'UTC';
               ALTER TABLE order_comments ALTER created_at TYPE timestamp with time zone""")
    result = check(ch, "1.1")
    assert result.passed, result.line()


def test_1_1_conversion_in_another_zone_moves_the_instant_and_fails(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES.replace("AT TIME ZONE 'UTC'", "AT TIME ZONE 'Europe/Berlin'"))
    result = check(ch, "1.1")
    assert failed(result, "no longer 2025-06-01 12:00 UTC", "AT TIME ZONE 'UTC'"), result.line()


def test_1_1_created_renamed_otherwise_fails(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES.replace("RENAME COLUMN created TO created_at", "RENAME COLUMN created TO noted_at")
        .replace("COLUMN created_at TYPE timestamptz USING created_at", "COLUMN noted_at TYPE timestamptz USING noted_at"))
    assert failed(check(ch, "1.1"), "no column created_at", "RENAME COLUMN created TO created_at")


def test_1_1_text_column_retyped_to_varchar_keeps_its_text_and_passes(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES + "ALTER TABLE order_notes ALTER COLUMN body TYPE varchar(200);")
    assert check(ch, "1.1").passed


def test_1_1_changed_text_or_orders_fail(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES)
    run(ch, "UPDATE order_notes SET body = upper(body)")
    assert failed(check(ch, "1.1"), "still holds the notes' text")
    run(ch, "UPDATE order_notes SET body = 'gift wrap, please', order_id = order_id + 10")
    assert failed(check(ch, "1.1"), "the notes' order_id", "values must stay")


def test_1_1_timestamp_left_without_time_zone_fails_with_the_type_hint(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES.replace("ALTER TABLE order_notes ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC';", ""))
    result = check(ch, "1.1")
    assert failed(result, "order_notes.created_at", "timestamptz") and "AT TIME ZONE" in result.hint


def test_1_1_singular_table_fails(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, FIX_NAMES)
    run(ch, "ALTER TABLE order_notes RENAME TO order_note")
    assert failed(check(ch, "1.1"), "singular")


def test_1_1_recreated_empty_table_fails(ch):
    run(ch, ORDER_NOTES_SETUP)
    run(ch, """DROP TABLE "OrderNote";
               CREATE TABLE order_notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                   order_id bigint NOT NULL REFERENCES orders (id), body text NOT NULL,
                   created_at timestamptz NOT NULL DEFAULT now(), is_pinned boolean NOT NULL DEFAULT false)""")
    assert failed(check(ch, "1.1"), "0 rows", "rename")


# ---- 1.2 predict NOT NULL / DEFAULT -------------------------------------------------------------

TRUTH = [True, False, True, False, False, True]


def test_1_2_the_server_agrees_with_the_solution(ch):
    assert signup_outcomes(ch.connect()) == TRUTH


@pytest.mark.parametrize("value", [TRUTH, ["ok", "error", "ok", "fails", "error", "succeeds"],
                                   {"A": True, "B": False, "C": True, "D": False, "E": False, "F": True}])
def test_1_2_right_predictions_in_any_spelling_pass(ch, value):
    save_answer(ch, "1.2", value=value)
    result = check(ch, "1.2")
    assert result.passed, result.line()
    assert "4 succeed" not in result.message and "3 succeed, 3 fail" in result.message


def test_1_2_no_prediction_fails(ch):
    assert failed(check(ch, "1.2"), "no answer saved")


def test_1_2_believing_defaults_replace_null_fails_with_the_reason(ch):
    save_answer(ch, "1.2", value=[True, True, True, False, False, True])
    result = check(ch, "1.2")
    assert failed(result, "1 of 6", "B", "explicit NULL")


def test_1_2_empty_string_is_not_null(ch):
    save_answer(ch, "1.2", value=[True, False, True, False, False, False])
    assert failed(check(ch, "1.2"), "F", "empty string")


def test_1_2_ones_and_zeros_are_read_as_booleans(ch):
    save_answer(ch, "1.2", value=[1, 0, 1, 0, 0, 1])
    assert check(ch, "1.2").passed


def test_1_2_wrong_shape_fails(ch):
    save_answer(ch, "1.2", value=[True, False])
    assert failed(check(ch, "1.2"), "list of 6")


def test_1_2_the_check_leaves_no_table_behind(ch):
    save_answer(ch, "1.2", value=TRUTH)
    check(ch, "1.2")
    assert ch.query("SELECT to_regclass('signups')")[0][0] is None


# ---- 1.3 updated_at trigger ---------------------------------------------------------------------

TRIGGER = """CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER products_set_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();"""


def test_1_3_unsolved_fails(ch):
    assert failed(check(ch, "1.3"), "left updated_at at its old value", "BEFORE UPDATE")


def test_1_3_trigger_passes_and_the_check_changes_nothing(ch):
    run(ch, TRIGGER)
    before = ch.query("SELECT updated_at FROM products ORDER BY id LIMIT 1")
    result = check(ch, "1.3")
    assert result.passed, result.line()
    assert ch.query("SELECT updated_at FROM products ORDER BY id LIMIT 1") == before


def test_1_3_clock_timestamp_and_a_when_clause_pass(ch):
    run(ch, """CREATE FUNCTION touch() RETURNS trigger AS 'BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END' LANGUAGE plpgsql;
               CREATE TRIGGER touch BEFORE UPDATE ON products
                   FOR EACH ROW WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION touch()""")
    result = check(ch, "1.3")
    assert result.passed, result.line()


def test_1_3_trigger_for_some_columns_only_fails_naming_the_others(ch):
    run(ch, TRIGGER.replace("BEFORE UPDATE ON products", "BEFORE UPDATE OF stock_quantity ON products"))
    result = check(ch, "1.3")
    assert failed(result, "products.name", "UPDATE OF column list"), result.line()
    assert "stock_quantity" not in result.message


def test_1_3_after_trigger_changes_nothing_and_fails(ch):
    run(ch, TRIGGER.replace("BEFORE UPDATE", "AFTER UPDATE"))
    assert failed(check(ch, "1.3"), "old value", "AFTER trigger is too late")


def test_1_3_trigger_returning_null_cancels_the_update(ch):
    run(ch, TRIGGER.replace("RETURN NEW", "RETURN NULL"))
    assert failed(check(ch, "1.3"), "changed no row", "RETURN NEW")


def test_1_3_trigger_on_another_table_fails(ch):
    run(ch, TRIGGER.replace("ON products", "ON orders"))
    assert failed(check(ch, "1.3"), "old value")


def test_1_3_broken_function_reports_the_error(ch):
    run(ch, TRIGGER.replace("NEW.updated_at", "NEW.modified_at"))
    assert failed(check(ch, "1.3"), "UPDATE products SET name = ... failed", "modified_at")


# ---- 1.4 comments -------------------------------------------------------------------------------

def test_1_4_unsolved_fails(ch):
    assert failed(check(ch, "1.4"), "orders.status has no comment", "COMMENT ON COLUMN")


@pytest.mark.parametrize("status, total", [
    ("pending -> processing -> shipped -> completed; or cancelled / refunded", "Sum of the order items, in EUR"),
    ("One of the values allowed by orders_status_check; new orders start as pending",
     "quantity * unit_price summed over the lines, tax included; never negative"),
])
def test_1_4_comments_pass(ch, status, total):
    run(ch, f"COMMENT ON COLUMN orders.status IS '{status}'; COMMENT ON COLUMN orders.total_amount IS '{total}'")
    result = check(ch, "1.4")
    assert result.passed, result.line()


def test_1_4_any_ten_characters_fail(ch):
    run(ch, "COMMENT ON COLUMN orders.status IS 'xxxxxxxxxx'; COMMENT ON COLUMN orders.total_amount IS 'yyyyyyyyyy'")
    assert failed(check(ch, "1.4"), "does not say which values it takes")


def test_1_4_status_comment_without_the_values_fails(ch):
    run(ch, """COMMENT ON COLUMN orders.status IS 'The status of the order, shipped or not';
               COMMENT ON COLUMN orders.total_amount IS 'Sum of the order items, in EUR'""")
    assert failed(check(ch, "1.4"), "names only shipped", "orders_status_check")


def test_1_4_vague_total_amount_comment_fails(ch):
    run(ch, """COMMENT ON COLUMN orders.status IS 'pending, processing, shipped, completed, cancelled or refunded';
               COMMENT ON COLUMN orders.total_amount IS 'The amount of the whole order'""")
    assert failed(check(ch, "1.4"), "total_amount", "currency")


def test_1_4_same_comment_twice_fails(ch):
    text = "pending, processing, shipped, completed; the sum of the items in EUR"
    run(ch, f"COMMENT ON COLUMN orders.status IS '{text}'; COMMENT ON COLUMN orders.total_amount IS '{text}'")
    assert failed(check(ch, "1.4"), "the same comment")


def test_1_4_one_comment_missing_fails(ch):
    run(ch, "COMMENT ON COLUMN orders.status IS 'Where the order is in its lifecycle'")
    assert failed(check(ch, "1.4"), "total_amount has no comment")


def test_1_4_comment_that_repeats_the_name_fails(ch):
    run(ch, "COMMENT ON COLUMN orders.status IS 'pending, processing, shipped'; COMMENT ON COLUMN orders.total_amount IS 'total amount'")
    assert failed(check(ch, "1.4"), "total_amount", "says neither")


# ---- 1.5 one-to-many ----------------------------------------------------------------------------

ADDRESSES = """CREATE TABLE addresses (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    line1        text NOT NULL,
    city         text NOT NULL,
    country_code text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_id_idx ON addresses (user_id);"""


def test_1_5_unsolved_fails(ch):
    assert failed(check(ch, "1.5"), "no table addresses")


def test_1_5_solution_passes(ch):
    run(ch, ADDRESSES)
    result = check(ch, "1.5")
    assert result.passed, result.line()


def test_1_5_alter_table_constraints_and_extra_columns_pass(ch):
    run(ch, """CREATE TABLE addresses (id bigint GENERATED ALWAYS AS IDENTITY, user_id bigint, line1 text NOT NULL,
                   line2 text, city text NOT NULL, country_code text NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
                   created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
                   is_default boolean NOT NULL DEFAULT false);
               ALTER TABLE addresses ADD PRIMARY KEY (id), ALTER user_id SET NOT NULL,
                   ADD CONSTRAINT addresses_user_fk FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE""")
    result = check(ch, "1.5")
    assert result.passed, result.line()


def test_1_5_clock_timestamp_default_passes(ch):
    run(ch, ADDRESSES.replace("DEFAULT now()", "DEFAULT clock_timestamp()"))
    assert check(ch, "1.5").passed


def test_1_5_without_an_index_passes_chapter_03_teaches_it(ch):
    run(ch, ADDRESSES.split("CREATE INDEX")[0])
    assert check(ch, "1.5").passed


@pytest.mark.parametrize("change, reason", [
    (("GENERATED ALWAYS AS IDENTITY", "GENERATED BY DEFAULT AS IDENTITY"), "BY DEFAULT"),
    (("bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "bigserial PRIMARY KEY"), "not GENERATED ALWAYS"),
    (("id           bigint", "id           integer"), "addresses.id is integer"),
    (("city         text NOT NULL", "city         text"), "addresses.city accepts NULL"),
    (("line1        text NOT NULL", "line1        varchar(40) NOT NULL"), "addresses.line1 is character varying"),
    (("country_code text NOT NULL,", ""), "no column country_code"),
    (("timestamptz NOT NULL DEFAULT now()", "timestamp NOT NULL DEFAULT now()"), "created_at is timestamp without"),
    (("timestamptz NOT NULL DEFAULT now()", "timestamptz NOT NULL"), "refused"),
    (("timestamptz NOT NULL DEFAULT now()", "timestamptz NOT NULL DEFAULT '2025-01-01'"), "the time of its insertion"),
])
def test_1_5_each_column_is_checked(ch, change, reason):
    run(ch, ADDRESSES.replace(*change))
    result = check(ch, "1.5")
    assert result.status == "failed" and reason in result.message, result.line()


def test_1_5_nullable_fk_fails(ch):
    run(ch, ADDRESSES.replace("user_id      bigint NOT NULL", "user_id bigint"))
    assert failed(check(ch, "1.5"), "accepts null")


def test_1_5_default_restrict_fails(ch):
    run(ch, ADDRESSES.replace(" ON DELETE CASCADE", ""))
    assert failed(check(ch, "1.5"), "would not delete", "ON DELETE CASCADE")


def test_1_5_badly_named_fk_fails_on_the_linter(ch):
    run(ch, ADDRESSES.replace("user_id", "customer"))
    assert failed(check(ch, "1.5"), "linter", "addresses.customer")


def test_1_5_no_foreign_key_fails(ch):
    run(ch, ADDRESSES.replace(" REFERENCES users (id) ON DELETE CASCADE", ""))
    assert failed(check(ch, "1.5"), "no foreign key to users")


# ---- 1.6 / 1.7 many-to-many ---------------------------------------------------------------------

TAGS = """CREATE TABLE tags (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE product_tags (
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tag_id     bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, tag_id)
);
INSERT INTO tags (name) SELECT DISTINCT unnest(tags) FROM products ORDER BY 1;
INSERT INTO product_tags (product_id, tag_id)
SELECT p.id, t.id FROM products p CROSS JOIN LATERAL unnest(p.tags) AS u(name) JOIN tags t ON t.name = u.name;"""

TAG_INDEX = "CREATE INDEX product_tags_tag_id_idx ON product_tags (tag_id);"


def test_1_6_unsolved_fails(ch):
    assert failed(check(ch, "1.6"), "no table tags")


def test_1_6_solution_passes(ch):
    run(ch, TAGS)
    result = check(ch, "1.6")
    assert result.passed, result.line()


def test_1_6_other_names_and_key_order_pass(ch):
    run(ch, """CREATE TABLE tags (tag_no serial PRIMARY KEY, name text NOT NULL, CONSTRAINT tags_name_key UNIQUE (name));
               CREATE TABLE product_tags (tag_no int REFERENCES tags, item bigint REFERENCES products,
                                          CONSTRAINT product_tags_pkey PRIMARY KEY (tag_no, item));
               INSERT INTO tags (name) SELECT DISTINCT t FROM products, unnest(tags) t;
               INSERT INTO product_tags SELECT g.tag_no, p.id FROM products p JOIN tags g ON g.name = ANY (p.tags)""")
    assert check(ch, "1.6").passed


def test_1_6_without_a_key_a_pair_can_be_stored_twice(ch):
    run(ch, TAGS.replace(",\n    PRIMARY KEY (product_id, tag_id)", ""))
    assert failed(check(ch, "1.6"), "twice", "PRIMARY KEY")


def test_1_6_missing_rows_fail(ch):
    run(ch, TAGS)
    run(ch, "DELETE FROM product_tags WHERE tag_id = (SELECT min(id) FROM tags)")
    assert failed(check(ch, "1.6"), "missing")


def test_1_6_duplicate_tag_names_allowed_fail(ch):
    run(ch, TAGS.replace("name text NOT NULL UNIQUE", "name text NOT NULL"))
    assert failed(check(ch, "1.6"), "same name")


def test_1_7_primary_key_alone_serves_one_direction_only(ch):
    run(ch, TAGS)
    result = check(ch, "1.7")
    assert failed(result, "by tag_id", "CREATE INDEX ON product_tags (tag_id)")


def test_1_7_before_1_6_says_so(ch):
    assert failed(check(ch, "1.7"), "no table tags")


def test_1_7_index_on_the_second_column_passes(ch):
    run(ch, TAGS + TAG_INDEX)
    result = check(ch, "1.7")
    assert result.passed, result.line()
    assert "product_tags_tag_id_idx" in result.message and "product_tags_pkey" in result.message


def test_1_7_reversed_key_plus_product_index_passes(ch):
    run(ch, TAGS.replace("PRIMARY KEY (product_id, tag_id)", "PRIMARY KEY (tag_id, product_id)")
        + "CREATE INDEX ON product_tags (product_id, tag_id);")
    assert check(ch, "1.7").passed


def test_1_7_an_index_the_planner_would_not_use_fails(ch):
    run(ch, TAGS + "CREATE INDEX product_tags_tag_id_brin ON product_tags USING brin (tag_id);")
    result = check(ch, "1.7")
    assert failed(result, "by tag_id reads the whole table", "BRIN"), result.line()


def test_1_7_a_hash_index_passes(ch):
    run(ch, TAGS + "CREATE INDEX ON product_tags USING hash (tag_id);")
    result = check(ch, "1.7")
    assert result.passed, result.line()


def test_1_7_reversed_key_alone_misses_the_product_direction(ch):
    run(ch, TAGS.replace("PRIMARY KEY (product_id, tag_id)", "PRIMARY KEY (tag_id, product_id)"))
    assert failed(check(ch, "1.7"), "by product_id")


# ---- 1.8 soft deletes -------------------------------------------------------------------------

VIEW = "CREATE VIEW active_accounts AS SELECT * FROM accounts WHERE deleted_at IS NULL"


def test_1_8_unsolved_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    assert failed(check(ch, "1.8"), "no view active_accounts")


@pytest.mark.parametrize("view", [VIEW, """CREATE VIEW active_accounts AS
    SELECT id, email, username FROM accounts a WHERE NOT (a.deleted_at IS NOT NULL)"""])
def test_1_8_views_pass(ch, view):
    run(ch, ACCOUNTS_SETUP)
    run(ch, view)
    result = check(ch, "1.8")
    assert result.passed, result.line()


def test_1_8_snapshot_table_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, VIEW.replace("CREATE VIEW", "CREATE TABLE"))
    assert failed(check(ch, "1.8"), "not a view", "snapshot")


def test_1_8_view_without_the_filter_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, "CREATE VIEW active_accounts AS SELECT * FROM accounts")
    assert failed(check(ch, "1.8"), "active_accounts returns")


def test_1_8_hard_coded_ids_fail_after_a_soft_delete(ch):
    run(ch, ACCOUNTS_SETUP)
    ids = ",".join(str(r[0]) for r in ch.query("SELECT id FROM accounts WHERE deleted_at IS NULL"))
    run(ch, f"CREATE VIEW active_accounts AS SELECT * FROM accounts WHERE id IN ({ids})")
    assert failed(check(ch, "1.8"), "after a soft delete", "deleted_at IS NULL")
