"""Every exercise, both ways, as CI grading of a whole course does it: the learner notebooks as shipped
score 0, the solutions 100%, each side in ONE `pgcourse grade` run over the whole folder (`--jobs 2`).

Two runs in all (the command learners' CI runs, see .github/workflows/grade.yml): every
notebooks/NN_topic.ipynb on `tiny` (nothing in an unsolved notebook may pass, whatever the size; and it
is quicker), every solutions/NN_topic.ipynb on the session's default size (`small`: chapters 04 and 08
predict plans and sorts that `tiny` is too small to show). A new chapter is covered as soon as its
solution exists. The per-chapter tests below only read the two runs' reports, so a failure still names
its chapter and what did not pass. The root conftest.py keeps each run's tests (``test_learner_*``,
``test_solution_*``) on one xdist worker, the two runs on either, so each run happens once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgcourse.authoring.build import chapter_of
from pgcourse.checks import exercises_for

PROJECT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.name for p in (PROJECT / "solutions").glob("[0-9][0-9]_*.ipynb"))
#: Notebooks graded at a time in each run (as a course's CI would, on a 2-core runner).
JOBS = "2"


@dataclass
class CourseRun:
    """One `pgcourse grade` over a whole folder: exit code, the JSON report by chapter, JUnit, what it printed."""

    code: int
    report: dict
    by_chapter: dict[str, dict]
    junit: ET.Element
    output: str


def _grade_course(folder: Path, server, tmp_path: Path, *size: str) -> CourseRun:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PGCOURSE_DATABASE_URL=server.url, PGCOURSE_HOME=str(tmp_path / "home"))
    if server.log_file:  # the grader reads the server's log as on the course's own server: attempts count
        env["PGCOURSE_SERVER_LOG"] = str(server.log_file)
    result = subprocess.run(
        [sys.executable, "-m", "pgcourse", "grade", str(folder), "--jobs", JOBS, *size, "--pass-mark", "100",
         "--out", str(tmp_path), "--junit", str(tmp_path / "grades.xml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3600)
    output = result.stdout + result.stderr
    assert (tmp_path / "grades.json").exists(), output
    report = json.loads((tmp_path / "grades.json").read_text())
    by_chapter = {Path(nb["notebook"]).name: nb for nb in report["notebooks"]}
    return CourseRun(result.returncode, report, by_chapter, ET.parse(tmp_path / "grades.xml").getroot(), output)


@pytest.fixture(scope="module")
def learner_run(course_server, tmp_path_factory) -> CourseRun:
    return _grade_course(PROJECT / "notebooks", course_server, tmp_path_factory.mktemp("learner"), "--size", "tiny")


@pytest.fixture(scope="module")
def solution_run(course_server, tmp_path_factory) -> CourseRun:
    return _grade_course(PROJECT / "solutions", course_server, tmp_path_factory.mktemp("solution"))


def _exercises(name: str) -> list:
    exercises = exercises_for(chapter_of(PROJECT / "solutions" / name))
    if not exercises:
        pytest.skip(f"{name} has no checks module yet")
    return exercises


def _graded(run: CourseRun, name: str) -> dict:
    assert name in run.by_chapter, f"{name} is missing from the course run's report\n{run.output[-3000:]}"
    nb = run.by_chapter[name]
    assert nb["status"] == "graded", f"{name} could not be graded: {nb['message']}"
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_learner_notebook_scores_zero(name, learner_run):
    exercises = _exercises(name)
    nb = _graded(learner_run, name)
    graded = {e["exercise"]: e for e in nb["exercises"]}
    assert set(graded) == {e.id for e in exercises}
    passed = sorted(i for i, e in graded.items() if e["status"] == "passed")
    assert nb["points"] == 0 and not passed, f"checks that pass on the unsolved {name}: {passed}"
    suite = learner_run.junit.find(f"testsuite[@name='{nb['notebook']}']")
    assert int(suite.get("failures")) + int(suite.get("errors")) == len(exercises)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_solution_notebook_scores_full_marks(name, solution_run):
    exercises = _exercises(name)
    nb = _graded(solution_run, name)
    failing = {e["exercise"]: e["message"] for e in nb["exercises"] if e["status"] != "passed"}
    incidents = [f"{i['kind']}: {i['message']}" for i in nb["incidents"]]
    assert failing == {} and nb["points"] == nb["max_points"] == sum(e.points for e in exercises), (failing, incidents)
    suite = solution_run.junit.find(f"testsuite[@name='{nb['notebook']}']")
    assert suite.get("failures") == suite.get("errors") == "0"


def _one_run_for_the_course(run: CourseRun) -> None:
    """What a course's CI sees: every chapter in the one run, graded side by side, nobody blamed for another."""
    assert sorted(run.by_chapter) == CHAPTERS, run.output[-3000:]
    assert f"{JOBS} at a time" in run.output
    assert not [nb["notebook"] for nb in run.report["notebooks"] if "graded again alone" in nb["message"]]


@pytest.mark.slow
def test_learner_notebooks_of_the_whole_course_fail_in_one_run(learner_run):
    _one_run_for_the_course(learner_run)
    assert learner_run.code == 1 and learner_run.report["points"] == 0, learner_run.output[-3000:]


@pytest.mark.slow
def test_solution_notebooks_of_the_whole_course_pass_in_one_run(solution_run):
    _one_run_for_the_course(solution_run)
    assert solution_run.code == 0 and solution_run.report["percent"] == 100, solution_run.output[-3000:]
