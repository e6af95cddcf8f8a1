"""compare_rows says what differs between an answer's rows and the expected ones (no database needed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pgcourse.checks.context import CheckFailed, compare_rows, describe_difference


def test_the_same_rows_in_any_order_are_equal_unless_order_matters():
    assert describe_difference([(2, "b"), (1, "a")], [(1, "a"), (2, "b")]) is None
    assert "wrong order: row 1 is (2, 'b'), expected (1, 'a')" in describe_difference(
        [(2, "b"), (1, "a")], [(1, "a"), (2, "b")], ordered=True)


def test_numbers_of_different_types_compare_by_value():
    assert describe_difference([(20.0,), (Decimal("2.50"),)], [(20,), (Decimal("2.5"),)]) is None


def test_one_value_says_both_values():
    assert describe_difference([(15126,)], [(24746,)]) == "returns 15126; expected 24746"


def test_a_differing_column_is_named_with_the_key_of_its_row():
    message = describe_difference([(14001, 50794), (32247, 38048)], [(14001, 50795), (32247, 38048)],
                                  columns=["user_id", "orders"])
    assert "for 14001 in column 1, column 2 (orders) is 50794; expected 50795" in message


def test_missing_and_unexpected_rows_are_counted_with_an_example():
    message = describe_difference([(1,), (3,), (4,)], [(1,), (2,)])
    assert message.startswith("returns 3 rows; expected 2")
    assert "1 expected row is missing, e.g. 2" in message and "2 rows are not expected, e.g. 3" in message


def test_column_count_and_dates_read_as_postgresql_prints_them():
    assert describe_difference([(1, 2)], [(1,)]) == "returns 2 columns; expected 1"
    message = describe_difference([(dt.date(2024, 3, 10), 5)], [(dt.date(2024, 3, 8), 5)])
    assert "2024-03-10" in message and "datetime" not in message


def test_compare_rows_raises_with_the_difference_and_a_hint_that_fits_it():
    with pytest.raises(CheckFailed) as failed:
        compare_rows([(2,), (1,)], [(1,), (2,)], ordered=True, what="your query")
    assert failed.value.reason.startswith("your query returns the right rows in the wrong order")
    assert "ORDER BY" in failed.value.hint
    compare_rows([(1,)], [(1.0,)])  # no exception


def test_a_missing_column_hints_at_the_select_list():
    with pytest.raises(CheckFailed) as failed:
        compare_rows([(1,)], [(1, 2)])
    assert failed.value.reason == "your query returns 1 column; expected 2" and "SELECT list" in failed.value.hint
