"""Every exercise, both ways: the learner notebook as shipped scores 0, the solution 100%.

Runs the command learners' CI runs (`pgcourse grade`, see .github/workflows/grade.yml) on every
solutions/NN_topic.ipynb and its notebooks/ build, so a new chapter is covered automatically.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pgcourse.authoring.build import chapter_of
from pgcourse.checks import exercises_for

PROJECT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.name for p in (PROJECT / "solutions").glob("*.ipynb"))


def _grade(notebook: Path, server, tmp_path: Path, *size: str) -> tuple[int, dict, ET.Element, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PGCOURSE_DATABASE_URL=server.url, PGCOURSE_HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [sys.executable, "-m", "pgcourse", "grade", str(notebook), *size, "--pass-mark", "100",
         "--json", str(tmp_path / "grades.json"), "--junit", str(tmp_path / "grades.xml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    report = json.loads((tmp_path / "grades.json").read_text())
    return result.returncode, report, ET.parse(tmp_path / "grades.xml").getroot(), result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_learner_notebook_scores_zero_and_solution_full_marks(name, course_server, tmp_path):
    chapter = chapter_of(PROJECT / "solutions" / name)
    exercises = exercises_for(chapter)
    if not exercises:
        pytest.skip(f"chapter {chapter.number} has no checks module yet")

    # the unsolved notebook on `tiny`: nothing in it may pass, whatever the size (and it is quicker)
    code, report, junit, out = _grade(PROJECT / "notebooks" / name, course_server, tmp_path / "learner", "--size", "tiny")
    graded = {e["exercise"]: e for e in report["notebooks"][0]["exercises"]}
    assert code == 1, out
    assert set(graded) == {e.id for e in exercises}, out
    passed = sorted(i for i, e in graded.items() if e["status"] == "passed")
    assert report["points"] == 0 and not passed, f"checks that pass on the unsolved notebook: {passed}\n{out}"
    assert int(junit.get("failures")) + int(junit.get("errors")) == len(exercises)

    code, report, junit, out = _grade(PROJECT / "solutions" / name, course_server, tmp_path / "solution")
    failing = {e["exercise"]: e["message"] for e in report["notebooks"][0]["exercises"] if e["status"] != "passed"}
    assert failing == {} and report["percent"] == 100 and code == 0, out
    assert junit.get("failures") == junit.get("errors") == "0"
