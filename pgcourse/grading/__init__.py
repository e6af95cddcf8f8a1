"""Headless grading: run notebooks against fresh chapter databases, then run the checks from here.

The channel is the database: cells save answers (``%%answer``) and build objects; after the run
the grader runs every check registered for the chapter against that database. Printed output is
never read, so nothing a notebook prints can change a grade.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from nbformat import NotebookNode
from psycopg import sql

from .. import chapter as chapter_db
from ..authoring.build import chapter_of
from ..chapters import ChapterInfo
from ..checks import exercises_for, run_check
from ..checks.sample import SAMPLE_DB
from ..errors import PgcourseError
from ..server.base import Server
from . import integrity
from .execute import code_cells, execute_notebook
from .report import ExerciseGrade, GradeReport, Incident, NotebookGrade
from .sandbox import make_sandbox
from .structure import exercise_regions, exercises_in

if TYPE_CHECKING:
    from .batch import Batch

__all__ = ["GradeReport", "grade", "grade_notebook", "read_notebook"]

#: Default seconds a single cell may run before its kernel is restarted.
DEFAULT_CELL_TIMEOUT = 300.0


def _run_names(info: ChapterInfo) -> tuple[str, str]:
    """A grading database and a role of the run's own (roles are cluster-wide: nothing is shared between runs)."""
    tag = uuid.uuid4().hex[:12]  # 48 random bits: runs side by side (--jobs) never meet
    return f"grade_{info.database}"[:40] + f"_{tag}", f"grade_ch{info.number}_{tag}"


def _timeout_ms(server: Server, value: str) -> int:
    with server.connect() as conn:
        return int(conn.execute("SELECT extract(epoch FROM %s::interval) * 1000", [value]).fetchone()[0])


def _stop_sessions(server: Server, roles: list[str]) -> None:
    """End every session of the run's roles (a killed kernel's query, or its forked children, would run on)."""
    with server.connect() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(%s) "
                     "AND pid <> pg_backend_pid()", [roles])


def read_notebook(path: Path) -> tuple[NotebookNode | None, ChapterInfo | None, str]:
    """(notebook, chapter, '') for a gradable notebook, else (None, chapter if the name says it, one-line reason)."""
    try:
        info = chapter_of(path)
    except PgcourseError:
        info = None
    if not path.exists():
        return None, info, f"{path}: no such file"
    if not path.is_file():
        return None, info, f"{path}: not a file"
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (OSError, UnicodeDecodeError) as exc:
        return None, info, f"{path.name}: cannot be read ({exc})"
    except Exception as exc:  # nbformat raises JSON, validation and reader errors of several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, info, f"{path.name}: not a Jupyter notebook ({first[:200]})"
    try:
        info = chapter_of(path, nb)
    except PgcourseError as exc:
        return None, info, str(exc).splitlines()[0]
    return nb, info, ""


def ungradable(path: Path, info: ChapterInfo | None, message: str, learner: str = "") -> NotebookGrade:
    """A notebook the grader cannot run: it scores 0 of what its chapter is worth (1 point if unknown)."""
    grade = NotebookGrade(notebook=str(path), chapter=info.number if info else None, status="error", message=message,
                          learner=learner)
    exercises = exercises_for(info) if info else []
    for ex in exercises:
        grade.exercises.append(ExerciseGrade(ex.id, ex.title, "error", 0, ex.points, "not graded: " + message))
    if not exercises:
        grade.exercises.append(ExerciseGrade("-", "the notebook", "error", 0, 1, "not graded: " + message))
    return grade


def grade_notebook(path: Path, server: Server, *, size: str | None = None, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
                   statement_timeout: str | None = None, notebook_timeout: float | None = None, learner: str = "",
                   batch: "Batch | None" = None) -> NotebookGrade:
    """Grade one notebook in a database and with a role of its own (both dropped afterwards).

    The kernel gets only the learner's URL of that database (no administrator); what the notebook
    did outside it is reported as an incident and scores 0. Never raises for a learner's mistake.
    ``batch``: other notebooks are graded at the same time (``--jobs``); their names are not this run's
    concern, and the steps that write shared catalog rows take turns with theirs.
    """
    started = time.monotonic()
    nb, info, problem = read_notebook(Path(path))
    if nb is None:
        return ungradable(Path(path), info, problem, learner)
    grade = NotebookGrade(notebook=str(path), chapter=info.number, learner=learner)
    exercises = exercises_for(info)
    dbname, role = _run_names(info)
    password = secrets.token_urlsafe(24)
    roles = [role]
    databases = {dbname, chapter_db.scratch_name(dbname)}
    sandbox = None
    turn = batch.catalog_turn if batch is not None else contextlib.nullcontext
    if batch is not None:
        batch.register(databases | {role})
    try:
        with turn():
            chapter_db.create_database(server, info, dbname=dbname, size=size, role=role, password=password)
        limit = statement_timeout or info.statement_timeout
        with server.connect() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} SET statement_timeout = {}").format(
                sql.Identifier(role), sql.Identifier(dbname), sql.Literal(limit)))
        before = integrity.snapshot(server)
        log = integrity.LogWatch.start(server)
        sandbox = make_sandbox()
        copy = sandbox.home / Path(path).name
        nbformat.write(nb, copy)
        sandbox.give(copy)
        guard = integrity.AnswerGuard(server, dbname, exercise_regions(nb.cells))
        last_cell = max(code_cells(nb), default=None)

        def after_cell(index: int | None) -> list[Incident]:
            """The answer guard after every cell; after the last one, the transactions the notebook left open
            (the grader ends them: reported, never silently kept)."""
            found = guard.after_cell(index)
            if index is not None and index == last_cell:
                found += [Incident("open_transaction", f"left open when the notebook ended: {what}", cell=index + 1)
                          for what in chapter_db.open_transactions(
                              server, dbname, [role, *integrity.roles_created_by(server, role)], running=False)]
            return found

        env = sandbox.env(chapter=info.number, notebook=copy, size=size,
                          learner_url=chapter_db.learner_url(server, info, dbname, role, password))
        grade.incidents = execute_notebook(
            nb, env=env, cwd=sandbox.home, cell_timeout=cell_timeout, sandbox=sandbox, after_cell=after_cell,
            on_restart=lambda: _stop_sessions(server, roles), notebook_timeout=notebook_timeout)
        sandbox.kill_leftovers()
        roles += integrity.roles_created_by(server, role)
        if batch is not None:
            batch.register(set(roles))
        _stop_sessions(server, roles)
        grade.incidents += guard.after_cell(None)
        others = batch.others(databases | set(roles)) if batch is not None else frozenset()
        grade.incidents += integrity.changes(before, integrity.snapshot(server), databases=databases, roles=set(roles),
                                             others=others)
        grade.incidents += log.attempts(roles=set(roles), databases=databases, others=others)
        if sandbox.note:
            grade.message = sandbox.note
        opened = chapter_db.Chapter(info=info, server=server, database=dbname, role=role, password=password)
        mentioned = {ref for cell in nb.cells if cell.cell_type == "code" for ref in exercises_in(cell.source)}
        timeout_ms = _timeout_ms(server, limit)
        outside = [i for i in grade.incidents if i.kind in integrity.OUTSIDE_KINDS]
        with turn():  # checks grant the run's role the shared sample database
            results = [run_check(ex.id, opened, timeout_ms=timeout_ms) for ex in exercises]
        for ex, result in zip(exercises, results):
            own = [i.line() for i in grade.incidents if i.exercise == ex.id]
            if ex.id not in mentioned:
                incident = Incident("missing_cell", f"no cell answers or checks {ex.id}: was it deleted? "
                                    f"copy it back from notebooks/{info.notebook}", exercise=ex.id)
                grade.incidents.append(incident)
                own.append(incident.line())
            points, message = result.points, result.message
            if outside:
                points, message = 0, f"not scored: the notebook acted outside its grading database ({outside[0].message})"
            grade.exercises.append(ExerciseGrade(ex.id, ex.title, result.status if not outside else "failed", points,
                                                 result.max_points, message, result.hint, own))
    except PgcourseError as exc:
        grade.status, grade.message = "error", str(exc).splitlines()[0]
    finally:
        if sandbox is not None:
            sandbox.remove()
        try:
            with turn():
                _stop_sessions(server, roles)
                chapter_db.drop_database(server, dbname)
                left = integrity.drop_roles(server, roles, [SAMPLE_DB, "postgres"])
            grade.incidents += [Incident("outside", f"a role of the run could not be dropped: {why}") for why in left]
        except PgcourseError:
            pass
        grade.seconds = round(time.monotonic() - started, 1)
    return grade


def grade(paths: list[Path], server: Server, *, pass_mark: float = 60.0, server_note: str = "", jobs: int = 1,
          on_graded: Callable[[NotebookGrade, int, int], None] | None = None, **options) -> GradeReport:
    """Grade notebooks or folders of them (one folder per learner), ``jobs`` at a time, each in its own
    fresh database with its own role; a notebook's failure is reported in its own row and stops no other."""
    from .batch import collect, grade_submissions

    grades = grade_submissions(collect([Path(p) for p in paths]), server, jobs=jobs, on_graded=on_graded, **options)
    return GradeReport(grades, pass_mark=pass_mark, server=server_note)
