"""Reports: the table, JSON and JUnit XML say the same thing; the verdict follows the pass mark."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from pgcourse.grading.report import ExerciseGrade, GradeReport, Incident, NotebookGrade, table, write_json, write_junit


def _report(pass_mark: float = 60) -> GradeReport:
    nb = NotebookGrade("workspace/00_getting_started.ipynb", "00", exercises=[
        ExerciseGrade("0.1", "Count", "passed", 1, 1, "right"),
        ExerciseGrade("0.2", "Top five", "failed", 0, 1, "returns 7 rows; expected 5", "check LIMIT",
                      ["cell 9: SqlError: syntax error"]),
        ExerciseGrade("0.3", "View", "error", 0, 2, "the check itself failed"),
    ], incidents=[Incident("dead_kernel", "the kernel died here", cell=12)])
    broken = NotebookGrade("x.ipynb", None, status="error", message="cannot grade x.ipynb: no chapter 'x'")
    return GradeReport([nb, broken], pass_mark=pass_mark, server="a throwaway embedded server")


def test_totals_and_verdict_follow_the_pass_mark():
    report = _report()
    assert (report.points, report.max_points, report.percent) == (1, 4, 25.0)
    assert not report.passed
    ok = GradeReport([_report().notebooks[0]], pass_mark=25)
    assert ok.passed


def test_json_has_per_notebook_and_per_exercise_status_points_and_message(tmp_path):
    write_json(_report(), tmp_path / "grades.json")
    data = json.loads((tmp_path / "grades.json").read_text())
    assert data["percent"] == 25.0 and data["passed"] is False
    first = data["notebooks"][0]
    assert first["points"] == 1 and first["max_points"] == 4
    second = first["exercises"][1]
    assert (second["status"], second["points"], second["message"]) == ("failed", 0, "returns 7 rows; expected 5")
    assert first["incidents"][0]["kind"] == "dead_kernel"
    assert data["notebooks"][1]["status"] == "error"


def test_junit_counts_failures_and_errors(tmp_path):
    write_junit(_report(), tmp_path / "grades.xml")
    root = ET.parse(tmp_path / "grades.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "2")
    case = root.find(".//testcase[@name='0.2 Top five']")
    assert "hint: check LIMIT" in case.find("failure").text and "SqlError" in case.find("failure").text


def test_table_lists_every_exercise_incidents_and_the_verdict():
    text = table(_report())
    assert "0.2" in text and "check LIMIT" in text and "dead_kernel" in text
    assert text.splitlines()[-1].endswith("FAIL") and "25%" in text.splitlines()[-1]
