"""Headless grading: run notebooks against fresh chapter databases, then run the checks from here.

The channel is the database: cells save answers (``%%answer``) and build objects; after the run
the grader runs every check registered for the chapter against that database. Printed output is
never read, so nothing a notebook prints can change a grade.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import nbformat
from psycopg import sql

from .. import chapter as chapter_db
from ..authoring.build import chapter_of
from ..chapters import ChapterInfo
from ..checks import exercises_for, run_check
from ..errors import PgcourseError
from ..server.base import Server
from .execute import execute_notebook, exercises_in
from .report import ExerciseGrade, GradeReport, Incident, NotebookGrade

__all__ = ["GradeReport", "grade", "grade_notebook"]

#: Default seconds a single cell may run before its kernel is restarted.
DEFAULT_CELL_TIMEOUT = 300.0


def _grading_db_name(info: ChapterInfo) -> str:
    return f"grade_{info.database}"[:50] + f"_{uuid.uuid4().hex[:8]}"


def _timeout_ms(server: Server, value: str) -> int:
    with server.connect() as conn:
        return int(conn.execute("SELECT extract(epoch FROM %s::interval) * 1000", [value]).fetchone()[0])


def _stop_learner_sessions(server: Server, dbname: str) -> None:
    """End the sessions a killed kernel left behind (their query would otherwise run on)."""
    with server.connect() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     [dbname])


def grade_notebook(path: Path, server: Server, *, size: str | None = None, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
                   statement_timeout: str | None = None) -> NotebookGrade:
    """Grade one notebook in a database of its own (dropped afterwards); never raises for a learner's mistake."""
    started = time.monotonic()
    grade = NotebookGrade(notebook=str(path), chapter=None)
    try:
        nb = nbformat.read(path, as_version=4)
        info = chapter_of(path, nb)
    except (OSError, PgcourseError, ValueError) as exc:
        grade.status, grade.message = "error", f"cannot grade {path.name}: {str(exc).splitlines()[0]}"
        return grade
    grade.chapter = info.number
    exercises = exercises_for(info)
    dbname = _grading_db_name(info)
    try:
        chapter_db.create_database(server, info, dbname=dbname, size=size)
        limit = statement_timeout or info.statement_timeout
        with server.connect() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} SET statement_timeout = {}").format(
                sql.Identifier(chapter_db.learner_role(info)), sql.Identifier(dbname), sql.Literal(limit)))
        with tempfile.TemporaryDirectory(prefix="pgcourse-grade-") as home:
            grade.incidents = execute_notebook(
                nb, env=chapter_db.kernel_env(server, dbname, size, Path(home)), cwd=path.resolve().parent,
                cell_timeout=cell_timeout, on_restart=lambda: _stop_learner_sessions(server, dbname))
        _stop_learner_sessions(server, dbname)
        opened = chapter_db.Chapter(info=info, server=server, database=dbname)
        mentioned = {ref for cell in nb.cells if cell.cell_type == "code" for ref in exercises_in(cell.source)}
        timeout_ms = _timeout_ms(server, limit)
        for ex in exercises:
            result = run_check(ex.id, opened, timeout_ms=timeout_ms)
            own = [i.line() for i in grade.incidents if i.exercise == ex.id]
            if ex.id not in mentioned:
                incident = Incident("missing_cell", f"no cell answers or checks {ex.id}: was it deleted? "
                                    f"copy it back from notebooks/{info.notebook}", exercise=ex.id)
                grade.incidents.append(incident)
                own.append(incident.line())
            grade.exercises.append(ExerciseGrade(ex.id, ex.title, result.status, result.points, result.max_points,
                                                 result.message, result.hint, own))
    except PgcourseError as exc:
        grade.status, grade.message = "error", str(exc).splitlines()[0]
    finally:
        try:
            chapter_db.drop_database(server, dbname)
        except PgcourseError:
            pass
        grade.seconds = round(time.monotonic() - started, 1)
    return grade


def grade(paths: list[Path], server: Server, *, pass_mark: float = 60.0, server_note: str = "", **options) -> GradeReport:
    """Grade notebooks one after another (each in its own fresh database)."""
    return GradeReport([grade_notebook(Path(p), server, **options) for p in paths], pass_mark=pass_mark, server=server_note)
