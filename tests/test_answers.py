"""The kernel refuses an answer saved from another exercise's cells, or to an exercise that does not exist."""

from __future__ import annotations

from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from pgcourse import answers
from pgcourse.chapters import get
from pgcourse.errors import AnswerRefused

CHAPTER = SimpleNamespace(info=get("00"))


@pytest.fixture
def lab_notebook(tmp_path, monkeypatch):
    """A notebook file as JupyterLab would name it in JPY_SESSION_NAME, with cells under two exercise headings."""
    nb = new_notebook(cells=[
        new_code_cell('ch = pgcourse.open_chapter("00")', id="open"),
        new_markdown_cell("### Exercise 0.1\n\nCount them.", id="h1"),
        new_code_cell("%%answer 0.1\nSELECT 1", id="a1"),
        new_markdown_cell("### Exercise 0.4: predict", id="h4"),
        new_code_cell('pgcourse.answer("0.4", "Index Scan")', id="a4"),
        new_markdown_cell("## Next section", id="s"),
        new_code_cell("x = 1", id="after"),
    ])
    path = tmp_path / "00_getting_started.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    monkeypatch.delenv("PGCOURSE_NOTEBOOK", raising=False)
    return path


def _running(monkeypatch, cell_id=None, source=None):
    monkeypatch.setattr(answers, "_running_request", lambda: (cell_id, source))


def test_an_answer_from_its_own_exercise_cell_is_accepted(lab_notebook, monkeypatch):
    _running(monkeypatch, cell_id="a4")
    answers.validate(CHAPTER, "0.4")


def test_an_answer_from_another_exercises_cell_is_refused_with_what_to_do(lab_notebook, monkeypatch):
    _running(monkeypatch, cell_id="a4")
    with pytest.raises(AnswerRefused, match="belongs to exercise 0.4, so it cannot save an answer to 0.1"):
        answers.validate(CHAPTER, "0.1")


def test_an_answer_from_a_cell_outside_every_exercise_is_refused(lab_notebook, monkeypatch):
    _running(monkeypatch, cell_id="after")
    with pytest.raises(AnswerRefused, match="not under any exercise"):
        answers.validate(CHAPTER, "0.1")


def test_the_running_cell_is_found_by_its_source_when_no_cell_id_is_sent(lab_notebook, monkeypatch):
    _running(monkeypatch, source='pgcourse.answer("0.4", "Index Scan")')
    with pytest.raises(AnswerRefused, match="cannot save an answer to 0.2"):
        answers.validate(CHAPTER, "0.2")


def test_an_unknown_exercise_id_is_refused_and_the_known_ones_named(monkeypatch):
    _running(monkeypatch)
    with pytest.raises(AnswerRefused, match=r"(?s)no exercise '0\.9'.*0\.1, 0\.2, 0\.3, 0\.4"):
        answers.validate(CHAPTER, "0.9")


def test_an_unsaved_cell_is_not_second_guessed(lab_notebook, monkeypatch):
    _running(monkeypatch, cell_id="brand-new-cell")
    answers.validate(CHAPTER, "0.1")
