"""Chapter 04 checks, both ways, on the tiny dataset: correct answers written differently pass,
typical wrong answers fail with the reason the learner needs.

Each test gets a fresh chapter database (``make_chapter``), so the indexes one test creates never
leak into another. The checks decide "can an index answer this?" with ``enable_seqscan = off``
and read plan shapes only, which is why the tiny dataset gives the verdicts the notebook gets
on ``small``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.checks import ch04_indexes as C
from pgcourse.plans import explain
from tests.checks.helpers import check_answer, fails, passes

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "04_indexes.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("04", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def _sql(ch, *statements: str) -> None:
    """Run statements as the learner, outside a transaction (as the notebook's cells do)."""
    with ch.connect() as conn:
        for statement in statements:
            conn.execute(statement)


# ---- the notebook shows the same SQL the checks use --------------------------------------------------
def _solution_sources() -> str:
    nb = json.loads(SOLUTION.read_text())
    return "\n".join("".join(cell["source"]) for cell in nb["cells"])


@pytest.mark.parametrize("text", [
    C.REFUNDS_QUERY, C.COMPOSITE_LATEST_QUERY, C.COMPOSITE_COUNT_QUERY, C.ARCHIVE_SETUP, C.ARCHIVE_QUERY,
    C.EMAIL_QUERY, C.METADATA_CONTAINS_QUERY, C.METADATA_HAS_KEY_QUERY, C.CARTS_SETUP, C.FK_SETUP,
    C.GUIDE_USERS_SETUP, C.EVENTS_DAY_QUERY, *C.GUIDE_USERS_QUERIES.values(), *C.PREDICT_QUERIES.values(),
])
def test_the_notebook_shows_the_sql_the_checks_use(text):
    assert text in _solution_sources()


# ---- 4.1 partial index ---------------------------------------------------------------------------
@pytest.mark.parametrize("ddl", [
    "CREATE INDEX orders_refunded_updated_at_idx ON orders (updated_at) WHERE status = 'refunded'",
    "CREATE INDEX refunds ON orders (updated_at DESC) INCLUDE (total_amount) WHERE status = 'refunded'",
    "CREATE INDEX refund_queue ON orders (updated_at, id) WHERE 'refunded' = status",
])
def test_4_1_partial_indexes_pass(ch, ddl):
    _sql(ch, ddl)
    passes(ch, "4.1")


def test_4_1_a_partial_index_with_other_statuses_too_fails(ch):
    _sql(ch, "CREATE INDEX unhappy ON orders (updated_at) WHERE status IN ('refunded', 'cancelled')")
    fails(ch, "4.1", "unhappy also holds", "not refunded", "WHERE status = 'refunded'")


def test_4_1_a_partial_index_that_does_not_serve_the_order_by_fails(ch):
    _sql(ch, "CREATE INDEX refunded_ids ON orders (id) WHERE status = 'refunded'")
    fails(ch, "4.1", "refunded_ids", "still sorts them", "(updated_at)")


def test_4_1_nothing_done_fails(ch):
    fails(ch, "4.1", "reads all of orders", "WHERE <condition>")


def test_4_1_a_full_index_on_status_fails_as_not_partial(ch):
    _sql(ch, "CREATE INDEX orders_status_idx ON orders (status)")
    fails(ch, "4.1", "orders_status_idx", "indexes every order", "partial")


def test_4_1_a_partial_index_for_another_status_fails(ch):
    _sql(ch, "CREATE INDEX pending ON orders (updated_at) WHERE status = 'pending'")
    fails(ch, "4.1", "reads all of orders")


# ---- 4.2 composite index -------------------------------------------------------------------------
@pytest.mark.parametrize("ddl", [
    "CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at)",
    "CREATE INDEX by_user_latest ON orders (user_id, created_at DESC) INCLUDE (total_amount)",
])
def test_4_2_user_then_created_at_passes(ch, ddl):
    _sql(ch, ddl)
    passes(ch, "4.2")


def test_4_2_nothing_done_fails(ch):
    fails(ch, "4.2", "no index on orders starts with", "compare with =")


def test_4_2_wrong_column_order_fails(ch):
    _sql(ch, "CREATE INDEX orders_created_at_user_id_idx ON orders (created_at, user_id)")
    fails(ch, "4.2", "starts with created_at", "first")


def test_4_2_a_column_between_fails(ch):
    _sql(ch, "CREATE INDEX orders_user_status_created ON orders (user_id, status, created_at)")
    fails(ch, "4.2", "no index on orders starts with")


# ---- 4.3 covering index and VACUUM ----------------------------------------------------------------
def test_4_3_without_the_set_up_says_run_it(ch):
    fails(ch, "4.3", "no table order_archive", "set-up cell")


def test_4_3_set_up_only_fails(ch):
    _sql(ch, C.ARCHIVE_SETUP)
    fails(ch, "4.3", "no index on order_archive")


def test_4_3_an_index_without_the_read_columns_fails(ch):
    _sql(ch, C.ARCHIVE_SETUP, "CREATE INDEX ON order_archive (user_id)", "VACUUM order_archive")
    fails(ch, "4.3", "not in it", "INCLUDE")


def test_4_3_covering_but_not_vacuumed_fails_with_the_vacuum_hint(ch):
    _sql(ch, C.ARCHIVE_SETUP, "CREATE INDEX ON order_archive (user_id) INCLUDE (status, total_amount)")
    result = fails(ch, "4.3", "VACUUM order_archive", "instead of an Index Only Scan")
    assert "Index Only Scan, not" not in result.message


@pytest.mark.parametrize("ddl", [
    "CREATE INDEX order_archive_user_id_idx ON order_archive (user_id) INCLUDE (status, total_amount)",
    "CREATE INDEX archive_covering ON order_archive (user_id, status, total_amount)",
])
def test_4_3_covering_and_vacuumed_passes(ch, ddl):
    _sql(ch, C.ARCHIVE_SETUP, ddl, "VACUUM order_archive")
    passes(ch, "4.3")


def test_4_3_heap_fetches_come_back_after_an_update(ch):
    _sql(ch, C.ARCHIVE_SETUP, "CREATE INDEX ON order_archive (user_id) INCLUDE (status, total_amount)",
         "VACUUM order_archive", "UPDATE order_archive SET total_amount = total_amount")
    fails(ch, "4.3", "VACUUM order_archive")


# ---- 4.4 expression index ------------------------------------------------------------------------
@pytest.mark.parametrize("ddl", [
    "CREATE INDEX users_email_lower_idx ON users (lower(email))",
    "CREATE INDEX support_lookup ON users (lower(email)) INCLUDE (deleted_at)",
    "CREATE INDEX users_email_lower_hash ON users USING hash (lower(email))",
])
def test_4_4_an_index_on_lower_email_passes(ch, ddl):
    _sql(ch, ddl)
    passes(ch, "4.4")


def test_4_4_nothing_done_fails_and_explains_the_partial_index(ch):
    fails(ch, "4.4", "users_email_live_key", "lower(email)")


def test_4_4_a_plain_email_index_fails(ch):
    _sql(ch, "CREATE INDEX idx_users_email ON users (email)")
    fails(ch, "4.4", "idx_users_email", "as typed")


def test_4_4_a_brin_index_on_lower_email_fails(ch):
    # usable with enable_seqscan = off, useless for the normal planner
    _sql(ch, "CREATE INDEX email_brin ON users USING brin (lower(email))")
    fails(ch, "4.4", "email_brin", "does not use it", "BRIN")


def test_4_4_another_partial_expression_index_fails(ch):
    _sql(ch, "CREATE INDEX live_only ON users (lower(email)) WHERE is_active")
    fails(ch, "4.4", "lower(email)")


# ---- 4.5 GIN on jsonb ----------------------------------------------------------------------------
@pytest.mark.parametrize("ddl", [
    "CREATE INDEX products_metadata_idx ON products USING gin (metadata)",
    "CREATE INDEX meta ON products USING gin (metadata jsonb_ops)",
])
def test_4_5_default_gin_passes(ch, ddl):
    _sql(ch, ddl)
    passes(ch, "4.5")


def test_4_5_nothing_done_fails(ch):
    fails(ch, "4.5", "no index answers", "GIN")


def test_4_5_jsonb_path_ops_fails_on_key_existence(ch):
    _sql(ch, "CREATE INDEX products_metadata_path_idx ON products USING gin (metadata jsonb_path_ops)")
    fails(ch, "4.5", "products_metadata_path_idx", "jsonb_path_ops", "?")


def test_4_5_a_btree_on_metadata_fails(ch):
    _sql(ch, "CREATE INDEX meta_btree ON products (metadata)")
    fails(ch, "4.5", "no index answers")


# ---- 4.6 unique partial index --------------------------------------------------------------------
def test_4_6_without_the_set_up_says_run_it(ch):
    fails(ch, "4.6", "no table carts")


def test_4_6_set_up_only_fails(ch):
    _sql(ch, C.CARTS_SETUP)
    fails(ch, "4.6", "second open cart was accepted", "WHERE checked_out_at IS NULL")


@pytest.mark.parametrize("ddl", [
    "CREATE UNIQUE INDEX carts_one_open_per_user ON carts (user_id) WHERE checked_out_at IS NULL",
    "CREATE UNIQUE INDEX open_cart ON carts (user_id) INCLUDE (created_at) WHERE (checked_out_at IS NULL)",
    "ALTER TABLE carts ADD CONSTRAINT one_open UNIQUE NULLS NOT DISTINCT (user_id, checked_out_at)",
])
def test_4_6_one_open_cart_rules_pass(ch, ddl):
    _sql(ch, C.CARTS_SETUP, ddl)
    passes(ch, "4.6")


def test_4_6_a_partial_index_that_is_not_unique_fails(ch):
    _sql(ch, C.CARTS_SETUP, "CREATE INDEX open_carts ON carts (user_id) WHERE checked_out_at IS NULL")
    fails(ch, "4.6", "second open cart was accepted")


def test_4_6_unique_with_nulls_distinct_fails(ch):
    _sql(ch, C.CARTS_SETUP, "ALTER TABLE carts ADD UNIQUE (user_id, checked_out_at)")
    fails(ch, "4.6", "second open cart was accepted")


def test_4_6_the_check_leaves_no_rows_behind(ch):
    _sql(ch, C.CARTS_SETUP, "CREATE UNIQUE INDEX ON carts (user_id) WHERE checked_out_at IS NULL")
    before = ch.query("SELECT count(*) FROM carts")
    passes(ch, "4.6")
    assert ch.query("SELECT count(*) FROM carts") == before


# ---- 4.7 foreign-key index -----------------------------------------------------------------------
def test_4_7_without_the_fk_index_fails_with_a_seq_scan(ch):
    _sql(ch, C.FK_SETUP)
    fails(ch, "4.7", "reads all of order_items", "order_items (order_id)")


@pytest.mark.parametrize("ddl", [
    "CREATE INDEX order_items_order_id_idx ON order_items (order_id)",
    "CREATE INDEX items_by_order ON order_items (order_id, product_id)",
])
def test_4_7_an_index_led_by_order_id_passes(ch, ddl):
    _sql(ch, C.FK_SETUP, ddl)
    passes(ch, "4.7")


def test_4_7_an_index_on_the_other_foreign_key_fails(ch):
    _sql(ch, C.FK_SETUP)
    fails(ch, "4.7", "reads all of order_items")  # order_items_product_id_idx is there and does not help


def test_4_7_the_check_deletes_nothing(ch):
    _sql(ch, C.FK_SETUP, "CREATE INDEX ON order_items (order_id)")
    before = ch.query("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)")
    passes(ch, "4.7")
    assert ch.query("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)") == before


# ---- 4.8 redundant indexes -----------------------------------------------------------------------
SOLUTION_4_8 = "DROP INDEX idx_users_email, idx_users_username, idx_users_is_active, idx_users_email_2, idx_users_username_2"


def test_4_8_set_up_only_fails_with_the_count(ch):
    _sql(ch, C.GUIDE_USERS_SETUP)
    result = fails(ch, "4.8", "still has 9 indexes", "UNIQUE")
    active = ch.query("SELECT round(100.0 * count(*) FILTER (WHERE is_active) / count(*)) FROM guide_users")[0][0]
    assert f"holds {active}% of the rows" in result.hint


def test_4_8_dropping_the_redundant_indexes_passes(ch):
    _sql(ch, C.GUIDE_USERS_SETUP, SOLUTION_4_8)
    passes(ch, "4.8")


def test_4_8_unique_indexes_instead_of_constraints_pass(ch):
    _sql(ch, C.GUIDE_USERS_SETUP, SOLUTION_4_8,
         "ALTER TABLE guide_users DROP CONSTRAINT guide_users_email_key, DROP CONSTRAINT guide_users_username_key",
         "CREATE UNIQUE INDEX guide_users_email_uq ON guide_users (email)",
         "CREATE UNIQUE INDEX guide_users_username_uq ON guide_users (username)")
    passes(ch, "4.8")


def test_4_8_dropping_a_uniqueness_rule_fails(ch):
    _sql(ch, C.GUIDE_USERS_SETUP, "DROP INDEX idx_users_username, idx_users_is_active, idx_users_email_2, idx_users_username_2",
         "ALTER TABLE guide_users DROP CONSTRAINT guide_users_email_key")
    fails(ch, "4.8", "same email was accepted")


def test_4_8_dropping_the_created_at_index_fails(ch):
    _sql(ch, C.GUIDE_USERS_SETUP, SOLUTION_4_8, "DROP INDEX idx_users_created_at")
    fails(ch, "4.8", "newest sign-ups")


def test_4_8_dropping_the_primary_key_fails(ch):
    _sql(ch, C.GUIDE_USERS_SETUP, SOLUTION_4_8, "ALTER TABLE guide_users DROP CONSTRAINT guide_users_pkey")
    fails(ch, "4.8", "primary key")


# ---- 4.9 BRIN ------------------------------------------------------------------------------------
@pytest.mark.parametrize("ddl", [
    "CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at)",
    "CREATE INDEX ev_time ON events USING brin (occurred_at) WITH (pages_per_range = 32)",
])
def test_4_9_brin_passes(ch, ddl):
    _sql(ch, ddl)
    passes(ch, "4.9")


def test_4_9_nothing_done_fails(ch):
    fails(ch, "4.9", "reads all of events", "brin")


def test_4_9_a_btree_works_but_fails_the_exercise(ch):
    _sql(ch, "CREATE INDEX events_occurred_at_idx ON events (occurred_at)")
    fails(ch, "4.9", "events_occurred_at_idx", "btree", "BRIN")


# ---- 4.10 predict, then measure -------------------------------------------------------------------
def _actual(ch) -> dict[str, str]:
    with ch.connect() as conn:
        return {k: C.actual_scan(explain(conn, q)) for k, q in C.PREDICT_QUERIES.items()}


def test_4_10_without_an_answer_says_how_to_save_one(ch):
    result = check_answer(ch, "4.10")
    assert result.status == "failed" and "no answer saved" in result.message


def test_4_10_right_predictions_pass_in_any_spelling(ch):
    _sql(ch, "CREATE INDEX orders_created_at_brin ON orders USING brin (created_at)")
    actual = _actual(ch)  # on tiny the plans differ from small: the check compares with this database's
    spelled = {k: {"Seq Scan": "parallel seq scan", "Bitmap Heap Scan": "bitmap index scan",
                   "Index Only Scan": "INDEX ONLY SCAN", "Index Scan": "index scan"}[v] for k, v in actual.items()}
    passes(ch, "4.10", value=spelled)


def test_4_10_a_wrong_prediction_fails_and_names_it(ch):
    actual = _actual(ch)
    wrong = dict(actual, b="Seq Scan")
    result = fails(ch, "4.10", "3 of 4 right", "b: you said Seq Scan", value=wrong)
    assert "the planner chose Index Scan" in result.message


def test_4_10_an_unknown_scan_name_fails(ch):
    fails(ch, "4.10", "no usable prediction for a", value={"a": "fast", "b": "Index Scan", "c": "Index Only Scan",
                                                            "d": "Seq Scan"})


def test_4_10_not_a_dict_fails(ch):
    fails(ch, "4.10", "as a dict", value=["Seq Scan"])


def test_scan_names_are_normalised():
    assert C._normal_kind("Parallel Seq Scan") == "Seq Scan"
    assert C._normal_kind("bitmap") == "Bitmap Heap Scan"
    assert C._normal_kind("index_only_scan") == "Index Only Scan"
    assert C._normal_kind("index-only") == "Index Only Scan"
    assert C._normal_kind("hash join") is None and C._normal_kind(3) is None
