"""Grading a class: folders per learner, --jobs side by side, one learner's failure never stopping another."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pgcourse import chapters
from pgcourse.grading import batch, grade, integrity
from pgcourse.grading.report import ExerciseGrade, GradeReport, Incident, NotebookGrade
from pgcourse.grading.summary import class_rows, html_page, problems_of, text, write_csv

from .conftest import PROJECT, answer_cell, code, solved_ch00


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


# ---- which notebooks, whose ----------------------------------------------------------------------

def test_a_class_folder_has_a_learner_per_folder_and_empty_folders_are_reported(tmp_path):
    alice = [_touch(tmp_path / "class" / "alice" / n) for n in ("00_getting_started.ipynb", "03_constraints.ipynb")]
    bob = _touch(tmp_path / "class" / "bob" / "03_constraints.ipynb")
    (tmp_path / "class" / "carol").mkdir()
    _touch(tmp_path / "class" / ".ipynb_checkpoints" / "03_constraints-checkpoint.ipynb")
    _touch(tmp_path / "class" / "alice" / ".ipynb_checkpoints" / "00_getting_started-checkpoint.ipynb")
    found = batch.collect([tmp_path / "class"])
    assert found == [batch.Submission("alice", alice[0]), batch.Submission("alice", alice[1]),
                     batch.Submission("bob", bob), batch.Submission("carol", tmp_path / "class" / "carol")]


def test_single_notebooks_globs_and_a_learner_folder_still_work(tmp_path):
    work = [_touch(tmp_path / "workspace" / n) for n in ("00_getting_started.ipynb", "01_schema_design.ipynb")]
    found = batch.collect([*work, tmp_path / "workspace", tmp_path / "nope.ipynb"])  # a glob, then its folder again
    assert [s.learner for s in found] == ["workspace", "workspace", tmp_path.name]
    assert [s.path for s in found] == [*work, tmp_path / "nope.ipynb"]  # each notebook once; a missing one is kept


def test_chapters_whose_role_reaches_other_runs_are_graded_alone():
    alone = {c.number for c in chapters.CHAPTERS if batch.grades_alone(c)}
    assert {"10", "13"} <= alone  # CREATEROLE: roles are cluster-wide
    assert not {"00", "03", "04", "05", "11"} & alone  # 11: monitoring roles read, they end no one's session


# ---- the class summary ---------------------------------------------------------------------------

def _nb(learner: str, chapter: str, points: list[int], **kw) -> NotebookGrade:
    exercises = [ExerciseGrade(f"{int(chapter)}.{i + 1}", "t", "passed" if p else "failed", p, 1, "m")
                 for i, p in enumerate(points)]
    return NotebookGrade(f"class/{learner}/{chapters.get(chapter).notebook}", chapter, learner=learner,
                         exercises=exercises, **kw)


def _class_report() -> GradeReport:
    return GradeReport([
        _nb("alice", "00", [1, 1, 1, 1]),
        _nb("alice", "01", [1, 0, 1, 1, 1, 1, 1, 1]),
        _nb("bob", "00", [0, 0, 0, 0], incidents=[Incident("attempt", "a login as postgres to database postgres was refused")]),
        _nb("bob", "00", [1, 1, 0, 0]),  # handed in twice: the best counts
        NotebookGrade("class/carol/01_schema_design.ipynb", "01", status="error", learner="carol",
                      message="class/carol/01_schema_design.ipynb: not a Jupyter notebook (bad JSON)"),
        _nb("dave", "01", [1, 1, 0, 0, 0, 0, 0, 0],
            incidents=[Incident("notebook_timeout", "stopped: the notebook used up its 60 s", cell=12)]),
    ], pass_mark=60, server="a test")


def test_csv_has_learner_by_chapter_points_totals_and_the_reasons(tmp_path):
    write_csv(_class_report(), tmp_path / "grades.csv")
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert list(rows[0]) == ["learner", "00_getting_started", "01_schema_design", "points", "max_points", "percent", "problems"]
    by = {r["learner"]: r for r in rows}
    assert [by["alice"][k] for k in ("00_getting_started", "01_schema_design", "points", "max_points", "percent")] == \
        ["4", "7", "11", "12", "91.7"]
    assert by["bob"]["01_schema_design"] == "" and by["bob"]["points"] == "2"  # not handed in: empty, counts 0
    assert "tried to reach beyond its database" in by["bob"]["problems"] and "handed in 2 times" in by["bob"]["problems"]
    assert "01_schema_design.ipynb: not graded: not a Jupyter notebook" in by["carol"]["problems"]
    assert by["carol"]["points"] == "0" and "ran out of time" in by["dave"]["problems"]


def test_html_is_one_self_contained_table_that_fetches_nothing():
    page = html_page(_class_report())
    assert page.count("<table") == 1 and page.count("<tr>") == 5 and "class average" in page
    lowered = page.lower()
    assert "http" not in lowered and "<script" not in lowered and "src=" not in lowered and "<link" not in lowered
    assert "91.7%" in page and "not a Jupyter notebook" in page


def test_text_summary_is_a_line_per_learner_with_the_first_problem():
    lines = text(_class_report()).splitlines()
    assert lines[0].startswith("class summary: 4 learner(s), 6 notebook(s), 2 chapter(s)")
    assert len(lines) == 5 and "pass" in lines[1] and "FAIL" in lines[4] and "ran out of time" in lines[4]
    assert class_rows(_class_report())[1][0].learner == "alice"


# ---- integrity beside other runs -----------------------------------------------------------------

def test_another_runs_names_and_privileges_are_not_this_runs_incident():
    before = {"database pgcourse_sample": "owner=postgres acl={postgres=CTc/postgres,grade_ch00_a=c/postgres}",
              "role grade_ch00_a": "superuser=false", "role app": "superuser=false"}
    after = {"database pgcourse_sample": "owner=postgres acl={postgres=CTc/postgres,grade_ch05_b=c/postgres}",
             "role grade_ch05_b": "superuser=false", "membership grade_ch05_b in pg_monitor": "admin=false",
             "database grade_ch05_queries_b": "owner=postgres", "role app": "superuser=true"}
    others = frozenset({"grade_ch00_a", "grade_ch05_b", "grade_ch05_queries_b"})
    found = integrity.changes(before, after, databases={"grade_ch03_c"}, roles={"grade_ch03_c"}, others=others)
    assert [i.message for i in found] == ["outside its grading database: role app changed: superuser=false -> superuser=true"]
    alone = integrity.changes(before, after, databases={"grade_ch03_c"}, roles={"grade_ch03_c"})
    assert len(alone) == 6  # graded alone, every one of them would be this run's doing


def test_a_grader_failure_on_one_notebook_is_its_row_and_the_others_are_graded(tmp_path, monkeypatch):
    paths = [_touch(tmp_path / "class" / who / "00_getting_started.ipynb") for who in ("alice", "bob", "carol")]

    def fake(path, server, *, learner="", **kw):
        if learner == "bob":
            raise RuntimeError("the server went away")
        return NotebookGrade(str(path), "00", learner=learner, exercises=[ExerciseGrade("0.1", "t", "passed", 1, 1, "ok")])

    monkeypatch.setattr("pgcourse.grading.grade_notebook", fake)
    monkeypatch.setattr(batch, "_prepare", lambda server, size: None)
    report = grade([tmp_path / "class"], server=None, jobs=2)
    assert [(nb.learner, nb.status, nb.points) for nb in report.notebooks] == \
        [("alice", "graded", 1), ("bob", "error", 0), ("carol", "graded", 1)]
    assert "the grader failed on this notebook: RuntimeError: the server went away" in report.notebooks[1].message
    assert report.notebooks[1].max_points == 4  # what chapter 00 is worth
    assert paths


# ---- a real class, side by side ------------------------------------------------------------------

def _write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"t{i}"
    nbformat.write(nb, path)
    return path


def test_a_hostile_or_endless_learner_costs_only_their_own_row(course_server, tmp_path):
    """Beside a hostile notebook, a correct one scores full marks; the hostile one scores 0 for what it did."""
    from pgcourse import datasets
    from pgcourse.checks.sample import ensure_sample

    ensure_sample(course_server, "postgres")
    before = integrity.snapshot(course_server)
    hostile = solved_ch00()
    hostile.cells.insert(1, code(
        "import psycopg, os\nfrom urllib.parse import urlsplit\nu = urlsplit(os.environ['PGCOURSE_CHAPTER_URL'])\n"
        "for pw in ('pgcourse', 'postgres'):\n    try:\n"
        "        psycopg.connect(f'postgresql://postgres:{pw}@{u.hostname}:{u.port}/postgres').close()\n"
        "    except psycopg.OperationalError:\n        pass"))
    endless = solved_ch00()
    endless.cells.insert(answer_cell(endless, "0.3"), code("import time\ntime.sleep(300)"))
    klass = tmp_path / "class"
    _write(solved_ch00(), klass / "alice" / "00_getting_started.ipynb")
    _write(hostile, klass / "mallory" / "00_getting_started.ipynb")
    _write(endless, klass / "zeno" / "00_getting_started.ipynb")
    (klass / "nobody").mkdir()
    report = grade([klass], course_server, jobs=2, size="tiny", cell_timeout=60, statement_timeout="5s",
                   notebook_timeout=20)
    by = {nb.learner: nb for nb in report.notebooks}
    assert by["alice"].points == 4 and by["alice"].incidents == [] and problems_of(by["alice"]) == [], by["alice"]
    assert by["mallory"].points == 0 and any("login as postgres" in i.message for i in by["mallory"].incidents
                                             if i.kind == "attempt")
    zeno = [i for i in by["zeno"].incidents if i.kind == "notebook_timeout"]
    assert zeno and "20 s" in zeno[0].message and by["zeno"].points == 2  # 0.1 and 0.2 were done in time
    assert by["nobody"].status == "error" and "no notebook" in by["nobody"].message
    after = integrity.snapshot(course_server)
    assert integrity.changes(before, after, databases=set(), roles=set()) == []
    with course_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'grade\\_%'").fetchone()[0] == 0
    assert datasets.status(course_server, "tiny").current


def test_the_grade_command_grades_a_class_in_parallel_and_writes_the_summaries(course_server, tmp_path):
    klass = tmp_path / "submissions"
    for learner in ("alice", "bob"):
        shutil.copy(PROJECT / "solutions" / "00_getting_started.ipynb", _touch(klass / learner / "00_getting_started.ipynb"))
    shutil.copy(PROJECT / "notebooks" / "00_getting_started.ipynb", _touch(klass / "carol" / "00_getting_started.ipynb"))
    env = dict(os.environ, PGCOURSE_DATABASE_URL=course_server.url, PGCOURSE_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "pgcourse", "grade", str(klass), "--jobs", "2", "--size", "tiny",
                           "--pass-mark", "100", "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # carol's 0: the class is below 100%
    assert "2 at a time" in done.stdout and "class summary: 3 learner(s)" in done.stdout
    rows = {r["learner"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert [rows[w]["percent"] for w in ("alice", "bob", "carol")] == ["100", "100", "0"], done.stdout
    assert "<table" in (tmp_path / "out" / "grades.html").read_text()
    data = json.loads((tmp_path / "out" / "grades.json").read_text())
    assert {nb["learner"] for nb in data["notebooks"]} == {"alice", "bob", "carol"}
    assert not any("graded again alone" in nb["message"] for nb in data["notebooks"])  # nobody was blamed for another


def test_a_chapter_that_reaches_other_runs_is_graded_after_the_others_with_nothing_beside_it(tmp_path, monkeypatch):
    names = ["00_getting_started.ipynb", "10_security.ipynb", "03_constraints.ipynb", "13_capstone.ipynb"]
    for name in names:
        _touch(tmp_path / "alice" / name)
    calls = []

    def fake(path, server, *, learner="", batch=None, **kw):
        calls.append((Path(path).name, batch is None))
        return NotebookGrade(str(path), Path(path).name[:2], learner=learner)

    monkeypatch.setattr("pgcourse.grading.grade_notebook", fake)
    monkeypatch.setattr(batch, "_prepare", lambda server, size: None)
    report = grade([tmp_path / "alice"], server=None, jobs=2)
    assert sorted(calls[:2]) == [("00_getting_started.ipynb", False), ("03_constraints.ipynb", False)]
    assert calls[2:] == [("10_security.ipynb", True), ("13_capstone.ipynb", True)]  # alone, after the others
    assert [Path(nb.notebook).name for nb in report.notebooks] == sorted(names)  # reported in the class's order
