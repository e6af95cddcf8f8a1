"""Notebooks for grading tests: chapter 00's solution cut down to its opener and exercises, then broken on purpose."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from pgcourse.grading.structure import exercise_regions, exercises_in

PROJECT = Path(__file__).resolve().parents[2]


def solved_ch00() -> NotebookNode:
    """The opener, every exercise heading and every answer/check cell of the chapter 00 solution (fast to run)."""
    nb = nbformat.read(PROJECT / "solutions" / "00_getting_started.ipynb", as_version=4)
    headings = exercise_regions(nb.cells)
    keep = [c for i, c in enumerate(nb.cells)
            if (c.cell_type == "code" and ("open_chapter(" in c.source or exercises_in(c.source)))
            or (c.cell_type == "markdown" and headings[i] and (i == 0 or headings[i - 1] != headings[i]))]
    nb.cells = copy.deepcopy(keep)
    return nb


def answer_cell(nb: NotebookNode, exercise: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if exercise in exercises_in(c.source) and "check(" not in c.source)


def code(source: str) -> NotebookNode:
    cell = new_code_cell(source)
    del cell["id"]
    return cell


@pytest.fixture
def write_nb(tmp_path):
    """Save a notebook as 00_getting_started.ipynb in a folder of its own; return the path."""
    def write(nb: NotebookNode, name: str = "00_getting_started.ipynb") -> Path:
        folder = tmp_path / f"nb{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"t{i}"
        path = folder / name
        nbformat.write(nb, path)
        return path
    return write


def grade_fast(path: Path, server, *, statement_timeout: str = "2s", **kw):
    """Grade one test notebook with short limits (a minute per cell) on the tiny dataset (a fast clone):
    these tests are about the grader, not about chapter 00's checks."""
    from pgcourse.grading import grade_notebook

    kw.setdefault("cell_timeout", 60)
    kw.setdefault("size", "tiny")
    return grade_notebook(path, server, statement_timeout=statement_timeout, **kw)


def by_id(grade) -> dict:
    """The exercise grades of a notebook grade, by exercise id."""
    return {e.exercise: e for e in grade.exercises}

