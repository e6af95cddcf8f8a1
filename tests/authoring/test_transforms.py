"""Each learner-notebook transformation, alone."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from pgcourse import chapters
from pgcourse.authoring import transforms as t

CH = chapters.get("00")


def _result(text: str, count: int = 7):
    return new_output("execute_result", data={"text/plain": text}, execution_count=count)


def _nb(*cells):
    return new_notebook(cells=list(cells))


def test_outputs_of_solution_cells_are_cleared_and_others_kept():
    solved = new_code_cell("%%sql\n-- BEGIN SOLUTION\nSELECT 42\n-- END SOLUTION", outputs=[_result("42")], execution_count=3)
    demo = new_code_cell("%sql SELECT 1", outputs=[_result("1")], execution_count=4)
    nb = t.clear_solution_outputs(_nb(solved, demo), CH)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "1"


def test_outputs_of_check_cells_are_cleared():
    check = new_code_cell('pgcourse.check("0.1")', outputs=[new_output("stream", name="stdout", text="✔ 0.1 passed")])
    nb = t.clear_check_outputs(_nb(check), CH)
    assert nb.cells[0].outputs == []


def test_outputs_of_measure_cells_are_cleared_and_the_tag_kept():
    measured = new_code_cell("%sql SELECT pg_relation_size('orders')", outputs=[_result("8192")], execution_count=5,
                             metadata={"tags": ["measure", "nbval-ignore-output"]})
    untagged = new_code_cell("%sql SELECT 1", outputs=[_result("1")], execution_count=6)
    nb = t.clear_measure_outputs(_nb(measured, untagged), CH)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert nb.cells[0].metadata["tags"] == ["measure", "nbval-ignore-output"]
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "1"


def test_solutions_are_replaced_in_code_cells_only_where_marked():
    cells = [new_code_cell("%%answer 0.1\n-- BEGIN SOLUTION\nSELECT 1\n-- END SOLUTION"),
             new_markdown_cell("Write `-- BEGIN SOLUTION` nowhere else")]
    nb = t.replace_solutions(_nb(*cells), CH)
    assert nb.cells[0].source == "%%answer 0.1\n-- YOUR SQL HERE"
    assert nb.cells[1].source == "Write `-- BEGIN SOLUTION` nowhere else"


def test_cell_metadata_keeps_only_tags():
    cell = new_code_cell("1", metadata={"tags": ["nbval-ignore-output"], "execution": {"iopub.status.busy": "2025"},
                                        "scrolled": True})
    plain = new_code_cell("2", metadata={"collapsed": False})
    nb = t.keep_only_tags(_nb(cell, plain), CH)
    assert nb.cells[0].metadata == {"tags": ["nbval-ignore-output"]}
    assert nb.cells[1].metadata == {}


def test_execution_counts_are_renumbered_over_cells_with_outputs():
    cells = [new_code_cell("a", outputs=[_result("a", 12)], execution_count=12),
             new_code_cell("b", execution_count=13),
             new_code_cell("c", outputs=[_result("c", 40)], execution_count=40)]
    nb = t.normalise_execution_counts(_nb(*cells), CH)
    assert [c.execution_count for c in nb.cells] == [1, None, 2]
    assert nb.cells[2].outputs[0]["execution_count"] == 2


def test_cell_ids_are_kept_when_unique_and_made_stable_otherwise():
    nb = _nb(new_code_cell("a"), new_code_cell("b"), new_code_cell("c"))
    nb.cells[0]["id"], nb.cells[1]["id"] = "intro", "intro"
    del nb.cells[2]["id"]
    nb = t.number_cell_ids(nb, CH)
    assert [x["id"] for x in nb.cells] == ["intro", "cell-001", "cell-002"]


def test_notebook_metadata_names_the_chapter_and_nothing_machine_specific():
    nb = _nb()
    nb.metadata = {"language_info": {"name": "python", "version": "3.11.2"}, "widgets": {}}
    nb = t.set_notebook_metadata(nb, CH)
    assert nb.metadata["pgcourse"] == {"chapter": "00"}
    assert nb.metadata["language_info"] == {"name": "python"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(nb)
