"""What grading produces: per notebook and per exercise a status, points and a message; as a table, JSON and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Incident:
    """Something that went wrong while the notebook ran (kinds: error, timeout, notebook_timeout, dead_kernel,
    huge_output, not_run, missing_cell, open_transaction (left open at the end: the grader ends it); outside and
    attempt: see integrity.py)."""

    kind: str
    message: str
    cell: int | None = None
    exercise: str | None = None

    def line(self) -> str:
        where = f"cell {self.cell}: " if self.cell is not None else ""
        return f"{where}{self.message}"


@dataclass
class ExerciseGrade:
    exercise: str
    title: str
    status: str  # passed | failed | error
    points: float
    max_points: float
    message: str
    hint: str = ""
    incidents: list[str] = field(default_factory=list)


@dataclass
class NotebookGrade:
    notebook: str
    chapter: str | None
    status: str = "graded"  # graded | error (could not be graded at all)
    message: str = ""
    exercises: list[ExerciseGrade] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    seconds: float = 0.0
    #: whose notebook: the folder it was found in (``submissions/alice/...`` -> alice)
    learner: str = ""

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)


@dataclass
class GradeReport:
    notebooks: list[NotebookGrade]
    pass_mark: float
    server: str = ""

    @property
    def points(self) -> float:
        return sum(n.points for n in self.notebooks)

    @property
    def max_points(self) -> float:
        return sum(n.max_points for n in self.notebooks)

    @property
    def percent(self) -> float:
        return round(100 * self.points / self.max_points, 1) if self.max_points else 0.0

    @property
    def passed(self) -> bool:
        return self.max_points > 0 and self.percent >= self.pass_mark and all(n.status == "graded" for n in self.notebooks)

    def to_dict(self) -> dict:
        notebooks = []
        for nb in self.notebooks:
            entry = asdict(nb)
            entry.update(points=nb.points, max_points=nb.max_points)
            notebooks.append(entry)
        return {"points": self.points, "max_points": self.max_points, "percent": self.percent,
                "pass_mark": self.pass_mark, "passed": self.passed, "server": self.server, "notebooks": notebooks}


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(report: GradeReport) -> str:
    """The terminal table: one row per exercise, a total, and the verdict."""
    rows = [("notebook", "exercise", "status", "points", "message")]
    for nb in report.notebooks:
        if nb.status != "graded":
            rows.append((nb.notebook, "-", "error", f"0/{nb.max_points:g}", nb.message))
            continue
        for ex in nb.exercises:
            message = ex.message + (f" (hint: {ex.hint})" if ex.hint and ex.status != "passed" else "")
            rows.append((nb.notebook, ex.exercise, ex.status, f"{ex.points:g}/{ex.max_points:g}", message))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:4])) + "  " + _short(r[4], 90) for r in rows]
    lines.insert(1, "-" * min(120, sum(widths) + 8 + 40))
    for nb in report.notebooks:
        for incident in nb.incidents:
            lines.append(f"  {nb.notebook}: {incident.kind}: {_short(incident.line(), 110)}")
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"total {report.points:g}/{report.max_points:g} ({report.percent:g}%), pass mark {report.pass_mark:g}%: {verdict}")
    return "\n".join(lines)


def write_json(report: GradeReport, path: Path) -> None:
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def junit_xml(report: GradeReport) -> str:
    """JUnit XML: a test suite per notebook, a test case per exercise (what CI systems display)."""
    suites = ET.Element("testsuites", name="pgcourse", tests="0", failures="0", errors="0")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for nb in report.notebooks:
        suite = ET.SubElement(suites, "testsuite", name=nb.notebook, time=f"{nb.seconds:.1f}")
        counts = {"tests": 0, "failures": 0, "errors": 0}
        if nb.status != "graded":
            case = ET.SubElement(suite, "testcase", classname=Path(nb.notebook).stem, name="grading")
            ET.SubElement(case, "error", message=nb.message).text = nb.message
            counts["tests"] += 1
            counts["errors"] += 1
        for ex in nb.exercises:
            case = ET.SubElement(suite, "testcase", classname=Path(nb.notebook).stem, name=f"{ex.exercise} {ex.title}")
            counts["tests"] += 1
            if ex.status != "passed":
                tag = "error" if ex.status == "error" else "failure"
                counts["errors" if tag == "error" else "failures"] += 1
                body = "\n".join([ex.message, *([f"hint: {ex.hint}"] if ex.hint else []), *ex.incidents])
                ET.SubElement(case, tag, message=ex.message).text = body
        if nb.incidents:
            ET.SubElement(suite, "system-out").text = "\n".join(f"{i.kind}: {i.line()}" for i in nb.incidents)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: GradeReport, path: Path) -> None:
    path.write_text(junit_xml(report), encoding="utf-8")
