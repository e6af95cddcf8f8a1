"""Solution regions in SQL and Python cells."""

from __future__ import annotations

import pytest

from pgcourse.authoring.markers import has_solution, replace_solution_regions, solution_regions
from pgcourse.errors import AuthoringError


def test_sql_region_becomes_sql_stub_and_magic_line_stays():
    source = "%%answer 4.2\n-- BEGIN SOLUTION\nSELECT count(*)\nFROM orders\n-- END SOLUTION"
    assert replace_solution_regions(source) == "%%answer 4.2\n-- YOUR SQL HERE"


def test_python_region_becomes_code_stub_at_its_indent():
    source = "def f():\n    # BEGIN SOLUTION\n    return 42\n    # END SOLUTION\nprint(f())"
    assert replace_solution_regions(source) == "def f():\n    # YOUR CODE HERE\nprint(f())"


def test_nbgrader_style_triple_hash_markers_work_too():
    assert replace_solution_regions("### BEGIN SOLUTION\nx = 1\n### END SOLUTION") == "# YOUR CODE HERE"


def test_text_around_regions_and_several_regions_are_kept():
    source = "SELECT\n-- BEGIN SOLUTION\n1\n-- END SOLUTION\n,\n-- BEGIN SOLUTION\n2\n-- END SOLUTION"
    assert replace_solution_regions(source) == "SELECT\n-- YOUR SQL HERE\n,\n-- YOUR SQL HERE"


def test_cell_without_markers_is_unchanged_and_has_no_solution():
    source = "SELECT 1 -- BEGIN SOLUTION is only a marker on a line of its own"
    assert not has_solution(source)
    assert replace_solution_regions(source) == source


@pytest.mark.parametrize("source", [
    "-- BEGIN SOLUTION\nSELECT 1",
    "SELECT 1\n-- END SOLUTION",
    "-- BEGIN SOLUTION\n-- BEGIN SOLUTION\n-- END SOLUTION",
])
def test_unbalanced_markers_are_an_authoring_error(source):
    with pytest.raises(AuthoringError):
        replace_solution_regions(source)


def test_solution_regions_are_the_hidden_text_without_markers_one_per_region():
    source = ("%%answer 4.2\n-- BEGIN SOLUTION\nSELECT count(*)\nFROM orders\n-- END SOLUTION\n"
              "def f():\n    # BEGIN SOLUTION\n    return 42\n    # END SOLUTION")
    assert solution_regions(source) == ["SELECT count(*)\nFROM orders", "    return 42"]
    assert solution_regions("SELECT 1") == []
