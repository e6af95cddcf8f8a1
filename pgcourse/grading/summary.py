"""The class summary of a grade run: learner × chapter points, total and percent, as CSV, HTML and text.

Columns are the chapters any learner handed in; a learner who did not hand one in scores 0 there.
Every notebook that could not be graded fully (not gradable, acted outside its database, ran out of
time, a kernel that died, the grader's own failure) is named with its reason in its learner's row.
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..chapters import ChapterInfo, get
from .report import GradeReport, NotebookGrade

#: Incident kinds worth a line in the class summary (the per-exercise reports have the rest).
NOTABLE = {"outside": "scored 0, acted outside its grading database", "attempt": "scored 0, tried to reach beyond its database",
           "notebook_timeout": "ran out of time", "timeout": "a cell timed out", "dead_kernel": "the kernel died",
           "not_run": "cells not run"}


@dataclass
class LearnerRow:
    learner: str
    points: dict[str, float] = field(default_factory=dict)  # chapter number -> points of its best notebook
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def chapter_max(info: ChapterInfo) -> float:
    from ..checks import exercises_for

    return float(sum(e.points for e in exercises_for(info)))


def problems_of(nb: NotebookGrade) -> list[str]:
    """One line per reason a notebook was not graded as it should have been."""
    name = Path(nb.notebook).name
    if nb.status != "graded":
        message = nb.message.removeprefix(f"{nb.notebook}: ").removeprefix(f"{name}: ")
        return [f"{name}: not graded: {message}"]
    found = []
    seen: set[str] = set()
    for incident in nb.incidents:
        if incident.kind in NOTABLE and incident.kind not in seen:
            seen.add(incident.kind)
            count = sum(i.kind == incident.kind for i in nb.incidents)
            more = f" (and {count - 1} more)" if count > 1 else ""
            found.append(f"{name}: {NOTABLE[incident.kind]}: {incident.line()}{more}")
    return found  # "graded again alone" (a neighbour's doing, see batch.py) stays in the JSON: not the learner's problem


def class_rows(report: GradeReport) -> tuple[list[ChapterInfo], list[LearnerRow]]:
    """The chapters handed in (columns) and one row per learner, in the order learners first appear."""
    numbers = sorted({nb.chapter for nb in report.notebooks if nb.chapter is not None})
    chapters = [get(n) for n in numbers]
    rows: dict[str, LearnerRow] = {}
    seen: dict[tuple[str, str], list[str]] = {}
    for nb in report.notebooks:
        row = rows.setdefault(nb.learner or "-", LearnerRow(nb.learner or "-"))
        row.problems += problems_of(nb)
        row.seconds += nb.seconds
        if nb.chapter is None:
            continue
        seen.setdefault((row.learner, nb.chapter), []).append(Path(nb.notebook).name)
        row.points[nb.chapter] = max(row.points.get(nb.chapter, 0.0), nb.points)
    for (learner, chapter), names in seen.items():
        if len(names) > 1:
            rows[learner].problems.append(f"chapter {chapter} handed in {len(names)} times ({', '.join(names)}): the best counts")
    return chapters, list(rows.values())


def _totals(row: LearnerRow, chapters: list[ChapterInfo]) -> tuple[float, float, float]:
    points = sum(row.points.get(c.number, 0.0) for c in chapters)
    most = sum(chapter_max(c) for c in chapters)
    return points, most, round(100 * points / most, 1) if most else 0.0


def write_csv(report: GradeReport, path: Path) -> None:
    """learner, a column per chapter (points; empty: not handed in), points, max_points, percent, problems."""
    chapters, rows = class_rows(report)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["learner", *[c.name for c in chapters], "points", "max_points", "percent", "problems"])
        for row in rows:
            points, most, percent = _totals(row, chapters)
            writer.writerow([row.learner, *[f"{row.points[c.number]:g}" if c.number in row.points else "" for c in chapters],
                             f"{points:g}", f"{most:g}", f"{percent:g}", " | ".join(row.problems)])


def _shade(fraction: float | None) -> str:
    if fraction is None:
        return "#eeeeee"
    return "#c8e6c9" if fraction >= 0.999 else "#fff3c4" if fraction >= 0.5 else "#ffcdd2"


_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:right}
th{background:#f4f4f4;position:sticky;top:0;vertical-align:bottom}th small{font-weight:normal;display:inline-block;max-width:6rem}td.learner,th.learner{text-align:left;font-weight:600}
td.problems{text-align:left;font-size:.8rem;min-width:24rem;max-width:48rem}tr.average td{font-style:italic;background:#fafafa}
.pass{color:#1b5e20}.fail{color:#b71c1c}"""


def html_page(report: GradeReport, *, title: str = "pgcourse: class summary") -> str:
    """A self-contained page (inline style, no script, nothing fetched): the table, a class average per chapter."""
    chapters, rows = class_rows(report)
    esc = html.escape
    head = "".join(f"<th title='{esc(c.name)}: {esc(c.title)}'>{esc(c.number)}<br><small>{esc(c.slug.replace('_', ' '))}"
                   f"</small><br>/{chapter_max(c):g}</th>" for c in chapters)
    body = []
    for row in rows:
        points, most, percent = _totals(row, chapters)
        cells = []
        for c in chapters:
            got = row.points.get(c.number)
            shown = "—" if got is None else f"{got:g}"
            cells.append(f"<td style='background:{_shade(None if got is None else got / (chapter_max(c) or 1))}'>{shown}</td>")
        verdict = "pass" if percent >= report.pass_mark else "fail"
        problems = "<br>".join(esc(p) for p in row.problems)
        body.append(f"<tr><td class='learner'>{esc(row.learner)}</td>{''.join(cells)}<td>{points:g}/{most:g}</td>"
                    f"<td class='{verdict}'>{percent:g}%</td><td class='problems'>{problems}</td></tr>")
    if len(rows) > 1:
        averages = "".join(f"<td>{sum(r.points.get(c.number, 0) for r in rows) / len(rows):.1f}</td>" for c in chapters)
        body.append(f"<tr class='average'><td class='learner'>class average</td>{averages}<td></td><td></td><td></td></tr>")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>{esc(title)}</h1>\n"
            f"<p>{len(rows)} learner(s), {len(report.notebooks)} notebook(s), pass mark {report.pass_mark:g}%, "
            f"graded {when} on {esc(report.server or 'a PostgreSQL server')}.</p>\n"
            f"<table><thead><tr><th class='learner'>learner</th>{head}<th>total</th><th>%</th><th>problems</th></tr></thead>"
            f"<tbody>\n" + "\n".join(body) + "\n</tbody></table>\n</body></html>\n")


def write_html(report: GradeReport, path: Path) -> None:
    path.write_text(html_page(report), encoding="utf-8")


def text(report: GradeReport) -> str:
    """A few lines for the terminal: per learner the total, the percent and the first problem."""
    chapters, rows = class_rows(report)
    width = max([len(r.learner) for r in rows] + [7])
    lines = [f"class summary: {len(rows)} learner(s), {len(report.notebooks)} notebook(s), "
             f"{len(chapters)} chapter(s), pass mark {report.pass_mark:g}%"]
    for row in rows:
        points, most, percent = _totals(row, chapters)
        verdict = "pass" if percent >= report.pass_mark else "FAIL"
        extra = ""
        if row.problems:
            extra = f"  {len(row.problems)} problem(s): {row.problems[0][:100]}"
        lines.append(f"  {row.learner:<{width}} {points:>6g}/{most:<6g} {percent:>5.1f}%  {verdict}{extra}")
    return "\n".join(lines)
