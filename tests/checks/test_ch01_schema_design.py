"""Chapter 01 checks, both ways: correct answers (written differently) pass; typical wrong ones fail with the right reason.

Each test gets its own copy of the tiny dataset, and runs its DDL as the learner, like the notebook.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pgcourse.checks import run_check
from pgcourse.checks.ch01_schema_design import SIGNUP_INSERTS, SIGNUPS_DDL, signup_outcomes
from pgcourse.magics import save_answer

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

ACCOUNTS_SETUP = """CREATE TABLE accounts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    username   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT accounts_email_key UNIQUE (email),
    CONSTRAINT accounts_username_key UNIQUE (username)
);
INSERT INTO accounts (email, username, created_at, deleted_at)
SELECT DISTINCT ON (lower(email)) lower(email), username, created_at, deleted_at
FROM users
ORDER BY lower(email), deleted_at DESC NULLS FIRST, id;"""


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("01", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def run(ch, sql: str) -> None:
    """Run DDL as the learner (autocommit, like a %%sql cell)."""
    ch.query(sql)


def check(ch, exercise: str):
    return run_check(exercise, ch)


def failed(result, *words: str) -> bool:
    text = (result.message + " " + result.hint).lower()
    return result.status == "failed" and all(w.lower() in text for w in words)


# ---- the notebook and the tests share their setup SQL -------------------------------------------

def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


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
               ALTER TABLE order_comments RENAME created TO written_at;
               ALTER TABLE order_comments RENAME pinned TO is_sticky;
               ALTER TABLE order_comments ALTER written_at TYPE timestamp with time zone""")
    assert check(ch, "1.1").passed


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
               CREATE TRIGGER touch BEFORE UPDATE OF stock_quantity, price, name ON products
                   FOR EACH ROW WHEN (OLD.id = NEW.id) EXECUTE FUNCTION touch()""")
    assert check(ch, "1.3").passed


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
    assert failed(check(ch, "1.3"), "update products failed", "modified_at")


# ---- 1.4 comments -------------------------------------------------------------------------------

def test_1_4_unsolved_fails(ch):
    assert failed(check(ch, "1.4"), "orders.status has no comment", "COMMENT ON COLUMN")


def test_1_4_comments_pass(ch):
    run(ch, """COMMENT ON COLUMN orders.status IS 'pending -> processing -> shipped -> completed; or cancelled / refunded';
               COMMENT ON COLUMN orders.total_amount IS 'Sum of the order items, in EUR'""")
    assert check(ch, "1.4").passed


def test_1_4_one_comment_missing_fails(ch):
    run(ch, "COMMENT ON COLUMN orders.status IS 'Where the order is in its lifecycle'")
    assert failed(check(ch, "1.4"), "total_amount has no comment")


def test_1_4_comment_that_repeats_the_name_fails(ch):
    run(ch, "COMMENT ON COLUMN orders.status IS 'Lifecycle of the order'; COMMENT ON COLUMN orders.total_amount IS 'total amount'")
    assert failed(check(ch, "1.4"), "says no more than the name")


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


def test_1_5_alter_table_constraints_and_a_composite_index_pass(ch):
    run(ch, """CREATE TABLE addresses (id bigserial PRIMARY KEY, user_id bigint NOT NULL, street text, city text,
                   is_default boolean NOT NULL DEFAULT false);
               ALTER TABLE addresses ADD CONSTRAINT addresses_user_fk FOREIGN KEY (user_id) REFERENCES users ON DELETE CASCADE;
               CREATE UNIQUE INDEX ON addresses (user_id, id)""")
    assert check(ch, "1.5").passed


def test_1_5_missing_index_fails_with_the_reason(ch):
    run(ch, ADDRESSES.split("CREATE INDEX")[0])
    assert failed(check(ch, "1.5"), "no index starts with addresses.user_id", "never the referencing column")


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


def test_1_7_reversed_key_alone_misses_the_product_direction(ch):
    run(ch, TAGS.replace("PRIMARY KEY (product_id, tag_id)", "PRIMARY KEY (tag_id, product_id)"))
    assert failed(check(ch, "1.7"), "by product_id")


# ---- 1.8 / 1.9 soft deletes ---------------------------------------------------------------------

PARTIAL = """ALTER TABLE accounts DROP CONSTRAINT accounts_email_key, DROP CONSTRAINT accounts_username_key;
CREATE UNIQUE INDEX accounts_email_live_key ON accounts (email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX accounts_username_live_key ON accounts (username) WHERE deleted_at IS NULL;"""


def test_1_8_setup_only_fails_on_the_comeback(ch):
    run(ch, ACCOUNTS_SETUP)
    result = check(ch, "1.8")
    assert failed(result, "cannot register again", "accounts_email_key", "WHERE deleted_at IS NULL")


def test_1_8_partial_unique_indexes_pass_and_change_nothing(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, PARTIAL)
    count = ch.query("SELECT count(*), count(deleted_at) FROM accounts")
    result = check(ch, "1.8")
    assert result.passed, result.line()
    assert ch.query("SELECT count(*), count(deleted_at) FROM accounts") == count


def test_1_8_case_insensitive_indexes_pass(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, """ALTER TABLE accounts DROP CONSTRAINT accounts_email_key;
               ALTER TABLE accounts DROP CONSTRAINT accounts_username_key;
               CREATE UNIQUE INDEX ON accounts (lower(email)) WHERE deleted_at IS NULL;
               CREATE UNIQUE INDEX ON accounts (lower(username)) WHERE (deleted_at IS NULL)""")
    assert check(ch, "1.8").passed


def test_1_8_dropping_uniqueness_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, "ALTER TABLE accounts DROP CONSTRAINT accounts_email_key, DROP CONSTRAINT accounts_username_key")
    assert failed(check(ch, "1.8"), "same email was accepted")


def test_1_8_unique_with_deleted_at_fails_because_nulls_are_distinct(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, """ALTER TABLE accounts DROP CONSTRAINT accounts_email_key, DROP CONSTRAINT accounts_username_key,
               ADD UNIQUE (email, deleted_at), ADD UNIQUE (username, deleted_at)""")
    assert failed(check(ch, "1.8"), "same email", "NULLs are distinct")


def test_1_8_only_email_fixed_fails_on_username(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, PARTIAL.split(";")[0].replace(", DROP CONSTRAINT accounts_username_key", "") + ";" + PARTIAL.split(";")[1])
    assert failed(check(ch, "1.8"), "cannot register again", "accounts_username_key")


def test_1_8_without_setup_says_so(ch):
    assert failed(check(ch, "1.8"), "no table accounts")


VIEW = "CREATE VIEW active_accounts AS SELECT * FROM accounts WHERE deleted_at IS NULL"


def test_1_9_unsolved_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    assert failed(check(ch, "1.9"), "no view active_accounts")


@pytest.mark.parametrize("view", [VIEW, """CREATE VIEW active_accounts AS
    SELECT id, email, username FROM accounts a WHERE NOT (a.deleted_at IS NOT NULL)"""])
def test_1_9_views_pass(ch, view):
    run(ch, ACCOUNTS_SETUP)
    run(ch, view)
    result = check(ch, "1.9")
    assert result.passed, result.line()


def test_1_9_snapshot_table_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, VIEW.replace("CREATE VIEW", "CREATE TABLE"))
    assert failed(check(ch, "1.9"), "not a view", "snapshot")


def test_1_9_view_without_the_filter_fails(ch):
    run(ch, ACCOUNTS_SETUP)
    run(ch, "CREATE VIEW active_accounts AS SELECT * FROM accounts")
    assert failed(check(ch, "1.9"), "active_accounts returns")


def test_1_9_hard_coded_ids_fail_after_a_soft_delete(ch):
    run(ch, ACCOUNTS_SETUP)
    ids = ",".join(str(r[0]) for r in ch.query("SELECT id FROM accounts WHERE deleted_at IS NULL"))
    run(ch, f"CREATE VIEW active_accounts AS SELECT * FROM accounts WHERE id IN ({ids})")
    assert failed(check(ch, "1.9"), "after a soft delete", "deleted_at IS NULL")
