"""One small function per change from a solution notebook to the learner notebook (nbgrader style).

Every transform takes the notebook and its chapter, changes the notebook in place and returns it,
so :data:`pgcourse.authoring.build.PIPELINE` composes them and each can be tested alone. Order
matters in one place: outputs of solution cells are cleared before the markers are replaced.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode

from ..chapters import ChapterInfo
from .markers import has_solution, replace_solution_regions

_CHECK_CALL = re.compile(r"\bpgcourse\.check\(")

#: The kernel every course notebook runs on (the course's own venv Python).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _code_cells(nb: NotebookNode):
    return (cell for cell in nb.cells if cell.cell_type == "code")


def _clear(cell: NotebookNode) -> None:
    cell.outputs = []
    cell.execution_count = None


def clear_solution_outputs(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Clear the outputs of cells holding a solution region (they would give the answer away)."""
    for cell in _code_cells(nb):
        if has_solution(cell.source):
            _clear(cell)
    return nb


def clear_check_outputs(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Clear the outputs of ``pgcourse.check(...)`` cells (a shipped "passed" line would mislead)."""
    for cell in _code_cells(nb):
        if _CHECK_CALL.search(cell.source):
            _clear(cell)
    return nb


#: Tag of a cell whose output answers a prediction asked before it (predict, then measure).
MEASURE_TAG = "measure"


def clear_measure_outputs(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Clear the outputs of cells tagged ``measure``: a shipped measurement would give a prediction away."""
    for cell in _code_cells(nb):
        if MEASURE_TAG in cell.metadata.get("tags", []):
            _clear(cell)
    return nb


def replace_solutions(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Replace solution regions by ``-- YOUR SQL HERE`` / ``# YOUR CODE HERE`` (magic lines kept)."""
    for cell in nb.cells:
        if has_solution(cell.source):
            cell.source = replace_solution_regions(cell.source)
    return nb


def keep_only_tags(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Drop cell metadata that varies per run or editor (timings, scroll state); keep nbval tags."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags")
        cell.metadata = NotebookNode({"tags": list(tags)} if tags else {})
    return nb


def normalise_execution_counts(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Number the cells that kept outputs 1, 2, 3... so a rebuild never depends on how often an author ran them."""
    count = 0
    for cell in _code_cells(nb):
        if not cell.outputs:
            cell.execution_count = None
            continue
        count += 1
        cell.execution_count = count
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count
    return nb


def number_cell_ids(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Give every cell a stable id (the author's when present), as nbformat 4.5 requires."""
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen:
            cell_id = f"cell-{index:03d}"
        cell["id"] = cell_id
        seen.add(cell_id)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def set_notebook_metadata(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """Notebook metadata: the kernel, and which chapter this is (what the grader reads)."""
    nb.metadata = NotebookNode({
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "pgcourse": {"chapter": chapter.number},
    })
    return nb
