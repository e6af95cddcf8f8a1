"""`pgcourse build`: learner notebooks from solutions, byte-identical on a rebuild; notebooks/ kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from pgcourse.authoring import build_all, stale_notebooks
from pgcourse.authoring.build import build_notebook
from pgcourse.errors import AuthoringError

PROJECT = Path(__file__).resolve().parents[2]


def _solution(folder: Path, name: str = "00_getting_started.ipynb") -> Path:
    nb = new_notebook(cells=[
        new_markdown_cell("# Getting started"),
        new_code_cell('import pgcourse\nch = pgcourse.open_chapter("00")',
                      outputs=[new_output("stream", name="stdout", text="Chapter 00\n")], execution_count=5),
        new_code_cell("%%answer 0.1\n-- BEGIN SOLUTION\nSELECT 42\n-- END SOLUTION",
                      outputs=[new_output("execute_result", data={"text/plain": "42"}, execution_count=6)]),
        new_code_cell('pgcourse.check("0.1")', outputs=[new_output("stream", name="stdout", text="✔ 0.1 passed\n")]),
    ])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_build_writes_learner_notebook_without_solutions_or_their_outputs(tmp_path):
    _solution(tmp_path / "solutions")
    assert build_all(tmp_path / "solutions", tmp_path / "notebooks") == ["00_getting_started.ipynb"]
    nb = nbformat.read(tmp_path / "notebooks" / "00_getting_started.ipynb", as_version=4)
    opener, answer, check = nb.cells[1:]
    assert opener.outputs[0]["text"] == "Chapter 00\n" and opener.execution_count == 1
    assert answer.source == "%%answer 0.1\n-- YOUR SQL HERE" and answer.outputs == []
    assert check.outputs == []
    assert nb.metadata["pgcourse"] == {"chapter": "00"}


def test_rebuild_is_byte_identical_and_reports_nothing_changed(tmp_path):
    _solution(tmp_path / "solutions")
    build_all(tmp_path / "solutions", tmp_path / "notebooks")
    first = (tmp_path / "notebooks" / "00_getting_started.ipynb").read_bytes()
    assert build_all(tmp_path / "solutions", tmp_path / "notebooks") == []
    assert (tmp_path / "notebooks" / "00_getting_started.ipynb").read_bytes() == first


def test_stale_notebooks_reports_missing_edited_and_orphan_notebooks(tmp_path):
    _solution(tmp_path / "solutions")
    assert stale_notebooks(tmp_path / "solutions", tmp_path / "notebooks") == ["00_getting_started.ipynb: missing"]
    build_all(tmp_path / "solutions", tmp_path / "notebooks")
    assert stale_notebooks(tmp_path / "solutions", tmp_path / "notebooks") == []
    learner = tmp_path / "notebooks" / "00_getting_started.ipynb"
    learner.write_text(learner.read_text().replace("Getting started", "Getting going"))
    (tmp_path / "notebooks" / "99_extra.ipynb").write_text("{}")
    assert stale_notebooks(tmp_path / "solutions", tmp_path / "notebooks") == [
        "00_getting_started.ipynb: differs from its solution's build", "99_extra.ipynb: no solutions/99_extra.ipynb"]


def test_a_solution_named_after_no_chapter_is_refused(tmp_path):
    with pytest.raises(AuthoringError, match="no chapter"):
        build_notebook(_solution(tmp_path, "77_unknown.ipynb"))


def test_committed_notebooks_are_built_from_the_committed_solutions():
    problems = stale_notebooks(PROJECT / "solutions", PROJECT / "notebooks")
    assert problems == [], "notebooks/ is out of date: run `pgcourse build` and commit notebooks/\n" + "\n".join(problems)


def test_build_check_command_exits_zero_when_up_to_date(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pgcourse", "build", "--check"], cwd=PROJECT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_clears_what_a_measure_cell_printed_so_the_prediction_stays_open(tmp_path):
    path = _solution(tmp_path / "solutions")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, new_code_cell("%sql EXPLAIN (COSTS OFF) SELECT * FROM orders WHERE id = 1",
                                     metadata={"tags": ["measure"]}, execution_count=7,
                                     outputs=[new_output("execute_result", data={"text/plain": "Index Scan"}, execution_count=7)]))
    nbformat.write(nb, path)
    build_all(tmp_path / "solutions", tmp_path / "notebooks")
    built = nbformat.read(tmp_path / "notebooks" / path.name, as_version=4)
    measured = built.cells[3]
    assert measured.outputs == [] and measured.execution_count is None
    assert measured.metadata == {"tags": ["measure"]} and measured.source.startswith("%sql EXPLAIN")
