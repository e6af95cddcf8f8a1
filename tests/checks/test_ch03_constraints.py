"""Chapter 03 checks, both ways: correct answers (also written differently) pass; typical wrong ones fail with the intended reason.

Each test gets its own copy of the tiny dataset and runs the notebook's set-up and the answers as
the learner, like the notebook does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.magics import save_answer
from tests.checks.helpers import _normal, check, failed, passed, run

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "03_constraints.ipynb"

# ---- the notebook's set-up cells (a test below keeps them identical) ------------------------------

REVIEWS_SETUP = """DROP TABLE IF EXISTS reviews;
CREATE TABLE reviews (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint,                   -- NULL once the author is deleted
    product_id bigint NOT NULL,
    rating     integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body       text
);
INSERT INTO reviews (user_id, product_id, rating, body)
SELECT DISTINCT ON (o.user_id, oi.product_id) o.user_id, oi.product_id, 1 + (oi.id % 5)::int, 'Bought in ' || o.order_number
FROM order_items oi JOIN orders o ON o.id = oi.order_id
WHERE oi.id % 20 = 0
ORDER BY o.user_id, oi.product_id, oi.id;"""

WISHLIST_SETUP = """DROP TABLE IF EXISTS wishlist_items;
CREATE TABLE wishlist_items (
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES products ON DELETE CASCADE,
    added_at   timestamptz NOT NULL DEFAULT '2024-06-01',
    PRIMARY KEY (user_id, product_id)
);
INSERT INTO wishlist_items (user_id, product_id)
SELECT 1 + g % n.users, 1 + ((g / n.users) * 37 + g) % n.products
FROM generate_series(1, 200000) g,
     (SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM products) AS products) n
ON CONFLICT DO NOTHING;
ANALYZE wishlist_items;"""

SIGNUPS_SETUP = [
    "DROP TABLE IF EXISTS newsletter_signups",
    r"""CREATE TABLE newsletter_signups (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    CONSTRAINT chk_email_format CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}$')
)""",
    "INSERT INTO newsletter_signups (email) SELECT email FROM users ORDER BY id LIMIT 1000",
    "INSERT INTO newsletter_signups (email) VALUES ('user@example.c|m')",
]

ADDRESSES_SETUP = """DROP TABLE IF EXISTS user_addresses;
CREATE TABLE user_addresses (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    label      text NOT NULL,
    city       text NOT NULL,
    is_default boolean NOT NULL DEFAULT false
);
CREATE INDEX ON user_addresses (user_id);
INSERT INTO user_addresses (user_id, label, city, is_default)
SELECT u.id, l.label, (ARRAY['Amsterdam', 'Lyon', 'Porto', 'Osaka'])[1 + u.id % 4], l.label = 'home'
FROM users u CROSS JOIN (VALUES ('home'), ('work')) AS l(label)
WHERE u.id % 4 = 0 OR (u.id % 4 = 1 AND l.label = 'work')
ORDER BY u.id, l.label;"""

LEGACY_SETUP = """UPDATE orders SET order_number = 'LEGACY-' || id
WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 5) AND order_number <> 'LEGACY-' || id;"""

# ---- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("03", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


@pytest.mark.skipif(not SOLUTION.exists(), reason="solution notebook not written yet")
def test_the_notebook_setup_cells_are_the_ones_tested_here():
    cells = [_normal("".join(c["source"])) for c in json.loads(SOLUTION.read_text())["cells"] if c["cell_type"] == "code"]
    for setup in (REVIEWS_SETUP, WISHLIST_SETUP, ADDRESSES_SETUP, LEGACY_SETUP, *SIGNUPS_SETUP):
        assert any(_normal(setup) in cell for cell in cells), setup.splitlines()[0]


# ---- 3.1 foreign key actions -----------------------------------------------------------------------

FKS_SOLUTION = """ALTER TABLE reviews
    ADD CONSTRAINT reviews_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT reviews_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE"""


def test_3_1_without_setup_says_to_run_it(ch):
    failed(check(ch, "3.1"), "no table reviews", "set-up cell")


def test_3_1_unsolved_fails(ch):
    run(ch, REVIEWS_SETUP)
    failed(check(ch, "3.1"), "reviews.user_id has no foreign key")


def test_3_1_solution_passes_and_changes_nothing(ch):
    run(ch, REVIEWS_SETUP, FKS_SOLUTION)
    counts = "SELECT (SELECT count(*) FROM reviews), (SELECT count(*) FROM users), (SELECT count(*) FROM products)"
    before = ch.query(counts)
    passed(check(ch, "3.1"))
    assert ch.query(counts) == before


def test_3_1_written_differently_passes(ch):
    run(ch, REVIEWS_SETUP,
        "ALTER TABLE reviews ADD FOREIGN KEY (product_id) REFERENCES products ON DELETE CASCADE",
        "ALTER TABLE reviews ADD FOREIGN KEY (user_id) REFERENCES users ON DELETE SET NULL ON UPDATE CASCADE")
    passed(check(ch, "3.1"))


def test_3_1_cascade_on_users_fails(ch):
    run(ch, REVIEWS_SETUP, FKS_SOLUTION.replace("SET NULL", "CASCADE"))
    failed(check(ch, "3.1"), "deleted their reviews", "SET NULL")


def test_3_1_restrict_on_products_fails(ch):
    run(ch, REVIEWS_SETUP, FKS_SOLUTION.replace("ON DELETE CASCADE", "ON DELETE RESTRICT"))
    failed(check(ch, "3.1"), "deleting a product", "refused", "CASCADE")


def test_3_1_deferred_no_action_fails_at_commit(ch):
    run(ch, REVIEWS_SETUP, FKS_SOLUTION.replace("ON DELETE CASCADE", "DEFERRABLE INITIALLY DEFERRED"))
    failed(check(ch, "3.1"), "deleting a product", "refused")


def test_3_1_only_the_product_key_fails(ch):
    run(ch, REVIEWS_SETUP, "ALTER TABLE reviews ADD FOREIGN KEY (product_id) REFERENCES products ON DELETE CASCADE")
    failed(check(ch, "3.1"), "reviews.user_id has no foreign key")


def test_3_1_only_one_key_fails(ch):
    run(ch, REVIEWS_SETUP, "ALTER TABLE reviews ADD FOREIGN KEY (user_id) REFERENCES users ON DELETE SET NULL")
    failed(check(ch, "3.1"), "reviews.product_id has no foreign key")


# ---- 3.2 predict scans -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [20, " 20 ", 20.0, "20.0"])
def test_3_2_right_prediction_passes(ch, value):
    save_answer(ch, "3.2", value=value)
    result = check(ch, "3.2")
    passed(result)
    assert "20 sequential scans" in result.message


def test_3_2_no_prediction_fails(ch):
    failed(check(ch, "3.2"), "no answer saved")


def test_3_2_one_per_statement_fails_with_the_measurement(ch):
    save_answer(ch, "3.2", value=1)
    failed(check(ch, "3.2"), "you predicted 1", "20 times", "per deleted parent row")


@pytest.mark.parametrize(("value", "says"), [("many", "not a number"), (20.5, "not a whole number")])
def test_3_2_not_a_whole_number_fails(ch, value, says):
    save_answer(ch, "3.2", value=value)
    failed(check(ch, "3.2"), says)


def test_3_2_the_check_leaves_nothing_behind(ch):
    save_answer(ch, "3.2", value=20)
    products = ch.query("SELECT count(*) FROM products")
    check(ch, "3.2")
    assert ch.query("SELECT to_regclass('pgcourse_check_wishlist')")[0][0] is None
    assert ch.query("SELECT count(*) FROM products") == products


# ---- 3.3 index the foreign key -----------------------------------------------------------------------

#: The notebook's wishlist, ten times smaller: the check must hold on small tables too.
SMALL_WISHLIST = WISHLIST_SETUP.replace("generate_series(1, 200000)", "generate_series(1, 20000)")


def test_3_3_unsolved_fails_with_the_leading_column_hint(ch):
    run(ch, SMALL_WISHLIST)
    failed(check(ch, "3.3"), "no index starts with product_id", "leading column")


@pytest.mark.parametrize("index", ["CREATE INDEX wishlist_items_product_id_idx ON wishlist_items (product_id)",
                                   "CREATE INDEX ON wishlist_items (product_id, added_at)",
                                   "CREATE UNIQUE INDEX ON wishlist_items (product_id, user_id)",
                                   "CREATE INDEX wishlist_product_hash ON wishlist_items USING hash (product_id)"])
def test_3_3_an_index_leading_with_product_id_passes(ch, index):
    run(ch, SMALL_WISHLIST, index)
    passed(check(ch, "3.3"))


def test_3_3_indexing_the_wrong_key_fails(ch):
    run(ch, SMALL_WISHLIST, "CREATE INDEX ON wishlist_items (user_id)", "CREATE INDEX ON wishlist_items (added_at, product_id)")
    failed(check(ch, "3.3"), "no index starts with product_id", "not as its first column")


def test_3_3_a_brin_index_that_does_not_serve_the_lookup_fails(ch):
    run(ch, SMALL_WISHLIST, "CREATE INDEX wishlist_product_brin ON wishlist_items USING brin (product_id)")
    failed(check(ch, "3.3"), "still read wishlist_items sequentially", "wishlist_product_brin")


def test_3_3_partial_index_fails(ch):
    run(ch, SMALL_WISHLIST, "CREATE INDEX ON wishlist_items (product_id) WHERE added_at > '2025-01-01'")
    failed(check(ch, "3.3"), "no index starts with product_id")


def test_3_3_dropping_the_foreign_key_fails(ch):
    run(ch, SMALL_WISHLIST, "ALTER TABLE wishlist_items DROP CONSTRAINT wishlist_items_product_id_fkey")
    failed(check(ch, "3.3"), "wishlist_items.product_id -> products is gone")


def test_3_3_dropping_the_primary_key_fails(ch):
    run(ch, SMALL_WISHLIST, "CREATE INDEX ON wishlist_items (product_id)", "CREATE INDEX ON wishlist_items (user_id)",
        "ALTER TABLE wishlist_items DROP CONSTRAINT wishlist_items_pkey")
    failed(check(ch, "3.3"), "lost its primary key")


# ---- 3.4 predict the CHECK -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [["a", "b", "e"], "E, b A"])
def test_3_4_right_prediction_passes(ch, value):
    save_answer(ch, "3.4", value=value)
    result = check(ch, "3.4")
    passed(result)
    assert "a, b, e" in result.message


def test_3_4_no_prediction_fails(ch):
    failed(check(ch, "3.4"), "no answer saved")


def test_3_4_null_rejected_is_the_classic_mistake(ch):
    save_answer(ch, "3.4", value=["a", "e"])
    failed(check(ch, "3.4"), "accepted but not predicted: b", "NULL")


def test_3_4_boundary_mistake_fails(ch):
    save_answer(ch, "3.4", value=["a", "b"])
    failed(check(ch, "3.4"), "accepted but not predicted: e")


def test_3_4_unknown_label_fails(ch):
    save_answer(ch, "3.4", value=["a", "b", "z"])
    failed(check(ch, "3.4"), "unknown row labels")


# ---- 3.5 the e-mail regex -------------------------------------------------------------------------------

EMAIL_FIX = [
    "DELETE FROM newsletter_signups WHERE email LIKE '%|%'",
    r"""ALTER TABLE newsletter_signups DROP CONSTRAINT chk_email_format,
        ADD CONSTRAINT chk_email_format CHECK (email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z][A-Za-z]+$')""",
]


def test_3_5_unsolved_fails_with_the_bracket_hint(ch):
    run(ch, *SIGNUPS_SETUP)
    failed(check(ch, "3.5"), "user@example.c|m", "is still accepted", "bracket")


def test_3_5_solution_passes(ch):
    run(ch, *SIGNUPS_SETUP, *EMAIL_FIX)
    passed(check(ch, "3.5"))


def test_3_5_written_differently_passes(ch):
    run(ch, *SIGNUPS_SETUP,
        "UPDATE newsletter_signups SET email = 'user@example.com' WHERE email = 'user@example.c|m'",
        "ALTER TABLE newsletter_signups DROP CONSTRAINT chk_email_format",
        r"ALTER TABLE newsletter_signups ADD CHECK (email ~* '^[a-z0-9._%+-]+@[a-z0-9.-]+\.[[:alpha:]]{2,}$')")
    passed(check(ch, "3.5"))


def test_3_5_deleting_the_row_alone_fails(ch):
    run(ch, *SIGNUPS_SETUP, EMAIL_FIX[0])
    failed(check(ch, "3.5"), "is still accepted")


def test_3_5_not_valid_keeping_the_bad_row_fails(ch):
    run(ch, *SIGNUPS_SETUP, "ALTER TABLE newsletter_signups DROP CONSTRAINT chk_email_format",
        r"ALTER TABLE newsletter_signups ADD CHECK (email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$') NOT VALID")
    failed(check(ch, "3.5"), "still in newsletter_signups")


def test_3_5_too_strict_fails(ch):
    run(ch, *SIGNUPS_SETUP, EMAIL_FIX[0], EMAIL_FIX[1].replace("[A-Za-z0-9._%+-]+@", "[A-Za-z0-9._-]+@"))
    failed(check(ch, "3.5"), "valid address", "is rejected")


def test_3_5_a_mistyped_quantifier_fails(ch):
    # "(2,)" instead of "{2,}": valid addresses are then rejected
    run(ch, *SIGNUPS_SETUP, EMAIL_FIX[0],
        r"ALTER TABLE newsletter_signups DROP CONSTRAINT chk_email_format, "
        r"ADD CONSTRAINT chk_email_format CHECK (email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z](2,)$') NOT VALID")
    failed(check(ch, "3.5"), "is rejected", "{2,}")


# ---- 3.6 composite unique ----------------------------------------------------------------------------------

def test_3_6_unsolved_fails(ch):
    run(ch, REVIEWS_SETUP)
    failed(check(ch, "3.6"), "second review by the same user", "accepted")


@pytest.mark.parametrize("ddl", ["ALTER TABLE reviews ADD CONSTRAINT reviews_user_id_product_id_key UNIQUE (user_id, product_id)",
                                 "CREATE UNIQUE INDEX one_review_each ON reviews (product_id, user_id)"])
def test_3_6_pair_unique_passes_in_either_order(ch, ddl):
    run(ch, REVIEWS_SETUP, ddl)
    passed(check(ch, "3.6"))


def test_3_6_passes_together_with_3_1(ch):
    run(ch, REVIEWS_SETUP, FKS_SOLUTION, "ALTER TABLE reviews ADD UNIQUE (user_id, product_id)")
    passed(check(ch, "3.6"))
    passed(check(ch, "3.1"))


def test_3_6_unique_user_alone_fails(ch):
    run(ch, REVIEWS_SETUP, "DELETE FROM reviews r USING reviews s WHERE r.user_id = s.user_id AND r.id > s.id",
        "ALTER TABLE reviews ADD UNIQUE (user_id)")
    failed(check(ch, "3.6"), "another product", "not user_id alone")


def test_3_6_unique_product_alone_fails(ch):
    run(ch, REVIEWS_SETUP, "DELETE FROM reviews r USING reviews s WHERE r.product_id = s.product_id AND r.id > s.id",
        "ALTER TABLE reviews ADD UNIQUE (product_id)")
    failed(check(ch, "3.6"), "another user could not review the same product", "not product_id alone")


def test_3_6_nulls_not_distinct_fails(ch):
    run(ch, REVIEWS_SETUP, "ALTER TABLE reviews ADD UNIQUE NULLS NOT DISTINCT (user_id, product_id)")
    failed(check(ch, "3.6"), "anonymised", "NULLS NOT DISTINCT")


def test_3_6_primary_key_fails(ch):
    run(ch, REVIEWS_SETUP, "ALTER TABLE reviews DROP CONSTRAINT reviews_pkey",
        "ALTER TABLE reviews ADD PRIMARY KEY (user_id, product_id)")
    failed(check(ch, "3.6"), "no longer accepts NULL", "PRIMARY KEY")


# ---- 3.7 partial unique index ----------------------------------------------------------------------------

def test_3_7_unsolved_fails(ch):
    run(ch, ADDRESSES_SETUP)
    failed(check(ch, "3.7"), "second default address", "WHERE is_default")


@pytest.mark.parametrize("ddl", ["CREATE UNIQUE INDEX user_addresses_one_default_key ON user_addresses (user_id) WHERE is_default",
                                 "CREATE UNIQUE INDEX ON user_addresses (user_id) WHERE is_default = true",
                                 "ALTER TABLE user_addresses ADD EXCLUDE (user_id WITH =) WHERE (is_default)"])
def test_3_7_one_default_per_user_passes(ch, ddl):
    run(ch, ADDRESSES_SETUP, ddl)
    passed(check(ch, "3.7"))


def test_3_7_unique_user_and_flag_fails(ch):
    run(ch, ADDRESSES_SETUP, "ALTER TABLE user_addresses ADD UNIQUE (user_id, is_default)")
    failed(check(ch, "3.7"), "another non-default", "partial unique index")


def test_3_7_wrong_predicate_fails(ch):
    run(ch, ADDRESSES_SETUP, "CREATE UNIQUE INDEX ON user_addresses (user_id) WHERE NOT is_default")
    failed(check(ch, "3.7"), "second default")


# ---- 3.8 exclusion constraint -----------------------------------------------------------------------------

EXCLUDE = ("ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
           "EXCLUDE USING gist (room_id WITH =, daterange(check_in, check_out) WITH &&)")


def test_3_8_unsolved_fails(ch):
    failed(check(ch, "3.8"), "overlapping bookings", "both accepted", "EXCLUDE")


def test_3_8_solution_passes(ch):
    run(ch, EXCLUDE)
    passed(check(ch, "3.8"))


def test_3_8_without_overlaps_on_a_range_column_passes(ch):
    run(ch, "ALTER TABLE bookings ADD COLUMN stay daterange GENERATED ALWAYS AS (daterange(check_in, check_out)) STORED",
        "ALTER TABLE bookings ADD CONSTRAINT bookings_room_stay_key UNIQUE (room_id, stay WITHOUT OVERLAPS)")
    passed(check(ch, "3.8"))


def test_3_8_closed_range_fails_on_back_to_back(ch):
    run(ch, "DELETE FROM bookings", EXCLUDE.replace("check_out)", "check_out, '[]')"))
    failed(check(ch, "3.8"), "back-to-back", "'[)'")


def test_3_8_forgetting_the_room_fails(ch):
    run(ch, "DELETE FROM bookings",
        "ALTER TABLE bookings ADD EXCLUDE USING gist (daterange(check_in, check_out) WITH &&)")
    failed(check(ch, "3.8"), "another room", "room_id WITH =")


def test_3_8_a_trigger_is_not_a_constraint(ch):
    run(ch, """CREATE FUNCTION no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM bookings b WHERE b.room_id = NEW.room_id AND b.id <> NEW.id
               AND daterange(b.check_in, b.check_out) && daterange(NEW.check_in, NEW.check_out)) THEN
        RAISE EXCEPTION USING ERRCODE = 'exclusion_violation', MESSAGE = 'overlap';
    END IF;
    RETURN NEW;
END $$""", "CREATE TRIGGER no_overlap BEFORE INSERT OR UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION no_overlap()")
    failed(check(ch, "3.8"), "not by a constraint")


# ---- 3.9 deferred unique ------------------------------------------------------------------------------------

DEFERRED = ("ALTER TABLE rooms DROP CONSTRAINT rooms_name_key, "
            "ADD CONSTRAINT rooms_name_key UNIQUE (name) DEFERRABLE INITIALLY DEFERRED")


def test_3_9_unsolved_fails(ch):
    failed(check(ch, "3.9"), "first UPDATE", "DEFERRABLE INITIALLY DEFERRED")


def test_3_9_solution_passes(ch):
    run(ch, DEFERRED)
    passed(check(ch, "3.9"))


def test_3_9_other_name_passes(ch):
    run(ch, "ALTER TABLE rooms DROP CONSTRAINT rooms_name_key",
        "ALTER TABLE rooms ADD CONSTRAINT room_names_unique UNIQUE (name) INITIALLY DEFERRED")
    passed(check(ch, "3.9"))


def test_3_9_initially_immediate_fails(ch):
    run(ch, DEFERRED.replace("INITIALLY DEFERRED", "INITIALLY IMMEDIATE"))
    failed(check(ch, "3.9"), "first UPDATE")


def test_3_9_dropping_the_rule_fails(ch):
    run(ch, "ALTER TABLE rooms DROP CONSTRAINT rooms_name_key")
    failed(check(ch, "3.9"), "no longer unique")


# ---- 3.10 NOT VALID -----------------------------------------------------------------------------------------

NOT_VALID = r"ALTER TABLE orders ADD CONSTRAINT orders_order_number_format CHECK (order_number ~ '^ORD-[0-9]{8}$') NOT VALID"


def test_3_10_without_setup_fails(ch):
    failed(check(ch, "3.10"), "legacy orders", "set-up cell")


def test_3_10_unsolved_fails(ch):
    run(ch, LEGACY_SETUP)
    failed(check(ch, "3.10"), "'WEB-12345678' is accepted", "NOT VALID")


def test_3_10_the_setup_can_run_twice_even_after_the_solution(ch):
    run(ch, LEGACY_SETUP, NOT_VALID, LEGACY_SETUP)
    passed(check(ch, "3.10"))


def test_3_10_solution_passes(ch):
    run(ch, LEGACY_SETUP, NOT_VALID)
    result = check(ch, "3.10")
    passed(result)
    assert "5 legacy orders" in result.message and "orders_order_number_format is NOT VALID" in result.message


def test_3_10_written_differently_passes(ch):
    run(ch, LEGACY_SETUP,
        r"ALTER TABLE orders ADD CHECK (order_number ~ '^ORD-\d+$' AND length(order_number) = 12) NOT VALID")
    passed(check(ch, "3.10"))


def test_3_10_similar_to_passes(ch):
    run(ch, LEGACY_SETUP,
        "ALTER TABLE orders ADD CONSTRAINT order_number_rule CHECK (order_number SIMILAR TO 'ORD-[0-9]{8}') NOT VALID")
    passed(check(ch, "3.10"))


@pytest.mark.parametrize("rule, accepted", [
    ("order_number LIKE 'ORD-%'", "'ORD-1234' is accepted"),                          # too loose
    (r"order_number ~ 'ORD-[0-9]{8}$'", "'XORD-12345678' is accepted"),               # not anchored at the start
    (r"order_number ~ '^ORD-[0-9]{8}'", "'ORD-123456789' is accepted"),               # not anchored at the end
    (r"order_number ~* '^ORD-[0-9]{8}$'", "'ord-12345678' is accepted"),              # case-insensitive
    (r"order_number ~ '^(ORD-[0-9]{8}|LEGACY-[0-9]+)$'", "'LEGACY-99999999' is accepted"),  # a legacy door left open
])
def test_3_10_a_rule_that_lets_a_bad_number_in_fails(ch, rule, accepted):
    run(ch, LEGACY_SETUP, f"ALTER TABLE orders ADD CHECK ({rule}) NOT VALID")
    failed(check(ch, "3.10"), accepted)


def test_3_10_renumbering_the_legacy_orders_fails(ch):
    run(ch, LEGACY_SETUP, "UPDATE orders SET order_number = 'ORD-9' || lpad(id::text, 7, '0') WHERE order_number LIKE 'LEGACY-%'",
        NOT_VALID.replace(" NOT VALID", ""))
    failed(check(ch, "3.10"), "legacy orders", "gone or renumbered")


def test_3_10_a_trigger_on_insert_only_fails_on_changed_rows(ch):
    run(ch, LEGACY_SETUP, r"""CREATE FUNCTION order_number_rule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_number !~ '^ORD-[0-9]{8}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'bad order number';
    END IF;
    RETURN NEW;
END $$""", "CREATE TRIGGER order_number_rule BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION order_number_rule()")
    failed(check(ch, "3.10"), "changing an existing order's number", "changed rows")


def test_3_10_a_validated_rule_that_carves_out_the_legacy_ids_fails_as_not_not_valid(ch):
    run(ch, LEGACY_SETUP, r"ALTER TABLE orders ADD CONSTRAINT order_number_rule "
                          r"CHECK (order_number ~ '^ORD-[0-9]{8}$' OR id <= 5)")
    failed(check(ch, "3.10"), "order_number_rule is validated", "NOT VALID")


def test_3_10_a_mistyped_quantifier_fails_with_the_pattern_in_the_hint(ch):
    # '[0-9]8' instead of '[0-9]{8}'
    run(ch, LEGACY_SETUP, NOT_VALID.replace("{8}", "8"))
    failed(check(ch, "3.10"), "well-formed", "{8}")
