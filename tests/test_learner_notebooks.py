"""Every learner notebook as shipped (unsolved) runs top to bottom with no unannounced error, twice.

A learner opens ``notebooks/NN_topic.ipynb`` (their ``workspace/`` copy), answers nothing and
presses "Run All": every cell must run, except those tagged ``raises-exception`` (the error is
the lesson). Then they run it all again without ``pgcourse reset``: it must still work. The
notebooks run headless with the grader's executor (:func:`pgcourse.grading.execute.execute_notebook`)
on a fresh chapter database of the session's test server, on the dataset solutions use (chapters
04 and 08 measure at depths `tiny` does not have).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from pgcourse import chapter as chapter_db
from pgcourse.authoring.build import chapter_of
from pgcourse.grading.execute import execute_notebook

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Incidents that stop a learner's "Run All" (huge output does not).
STOPPING = {"error", "timeout", "dead_kernel", "not_run"}
#: The dataset the unsolved runs use: the learners' own.
SIZE = None
#: Seconds one cell may take before the run counts it as stuck.
CELL_TIMEOUT = 300.0


def _first_line(nb: nbformat.NotebookNode, cell: int | None) -> str:
    if cell is None:
        return ""
    lines = nb.cells[cell - 1].source.strip().splitlines()
    return f" `{lines[0][:80]}`" if lines else ""


def _problems(nb: nbformat.NotebookNode, name: str, run: str, incidents) -> list[str]:
    """One line per stopping incident: which cell of which chapter, on which run, failed with what."""
    return [f"{name}, {run} run, cell {i.cell}{_first_line(nb, i.cell)}"
            + (f" (exercise {i.exercise})" if i.exercise else "") + f": {i.kind}: {i.message}"
            for i in incidents if i.kind in STOPPING]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_unsolved_learner_notebook_runs_top_to_bottom_and_again_without_a_reset(name, course_server, tmp_path):
    path = PROJECT / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    info = chapter_of(path, nb)
    dbname = f"learner_run_{info.database}"
    chapter_db.drop_database(course_server, dbname)
    chapter_db.create_database(course_server, info, dbname=dbname, size=SIZE)
    env = chapter_db.kernel_env(course_server, dbname, SIZE, tmp_path / "home")
    problems: list[str] = []
    try:
        for run in ("first", "second"):
            shipped = copy.deepcopy(nb)  # the executor drops outputs; each run starts from the file as shipped
            incidents = execute_notebook(shipped, env=env, cwd=path.parent, cell_timeout=CELL_TIMEOUT)
            problems += _problems(nb, name, run, incidents)
    finally:
        chapter_db.drop_database(course_server, dbname)
    if problems:
        pytest.fail(f"{name} stops a learner who runs it unsolved (cells numbered from 1, as in the file):\n  "
                    + "\n  ".join(problems), pytrace=False)
