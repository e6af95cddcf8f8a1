"""Exercise checks: one module per chapter (``ch04_indexes.py``...), one small function per exercise.

A check inspects the real database (catalog, plan JSON, query results against a reference) and
either returns a short success message or raises :class:`CheckFailed` with the reason and a hint.
It never compares SQL text, so any correct answer passes however it is written.

    @exercise("4.2", "Make the rare-status lookup use an index")
    def rare_status(ctx: CheckContext) -> str:
        plan = ctx.explain("SELECT * FROM orders WHERE status = 'pending'")
        ctx.expect(plan.uses_index(), "the query still reads the whole table", "CREATE INDEX ... WHERE ...")
        return f"uses {', '.join(plan.indexes_used())}"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psycopg

from ..chapters import ChapterInfo, for_exercise
from ..errors import PgcourseError
from .context import CheckContext, CheckFailed

__all__ = ["CheckContext", "CheckFailed", "CheckResult", "Exercise", "exercise", "exercises_for", "get_exercise", "run_check"]

CheckFunction = Callable[[CheckContext], "str | None"]


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its id ("4.2"), a title, points, and the check function."""

    id: str
    title: str
    points: int
    func: CheckFunction

    @property
    def chapter(self) -> ChapterInfo:
        return for_exercise(self.id)


@dataclass
class CheckResult:
    """The outcome of one check: what the learner sees and what the grader records."""

    exercise: str
    title: str
    status: str  # passed | failed | error
    message: str
    hint: str = ""
    points: float = 0
    max_points: float = 1

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def line(self) -> str:
        """One line (two with a hint) for a notebook cell."""
        if self.passed:
            return f"✔ {self.exercise} passed: {self.message}"
        text = f"✘ {self.exercise} {self.status}: {self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")

    def to_dict(self) -> dict:
        return asdict(self)


_REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, title: str, *, points: int = 1) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function for an exercise id."""

    def register(func: CheckFunction) -> CheckFunction:
        if exercise_id in _REGISTRY and _REGISTRY[exercise_id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"exercise {exercise_id} registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, points, func)
        return func

    return register


def _sort_key(exercise_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in exercise_id.split("."))


def exercises_for(chapter: ChapterInfo) -> list[Exercise]:
    """Every exercise of a chapter, in order (importing its checks module, if it has one)."""
    try:
        importlib.import_module(chapter.checks_module)
    except ModuleNotFoundError as exc:
        if exc.name != chapter.checks_module:
            raise
    return sorted((e for e in _REGISTRY.values() if e.chapter == chapter), key=lambda e: _sort_key(e.id))


def get_exercise(exercise_id: str) -> Exercise:
    chapter = for_exercise(exercise_id)
    exercises_for(chapter)
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        known = ", ".join(e.id for e in exercises_for(chapter)) or "none yet"
        raise PgcourseError(f"no exercise {exercise_id} in chapter {chapter.name} (exercises: {known})") from None


def run_check(exercise_id: str, chapter, *, timeout_ms: int | None = None) -> CheckResult:
    """Run one check against an open chapter (:class:`pgcourse.chapter.Chapter`); never raises for a wrong answer.

    ``timeout_ms`` lowers the per-statement limit of the check's queries (the grader passes its own).
    """
    ex = get_exercise(exercise_id)
    ctx = CheckContext(chapter, ex.id, timeout_ms=timeout_ms)
    result = CheckResult(ex.id, ex.title, "failed", "", max_points=ex.points)
    try:
        message = ex.func(ctx)
        result.status, result.message, result.points = "passed", message or "correct", ex.points
    except CheckFailed as failed:
        result.message, result.hint = failed.reason, failed.hint
    except psycopg.errors.QueryCanceled:
        result.message = "the query was cancelled by the statement timeout (does it run forever?)"
        result.hint = "test it on a small LIMIT first; look for a missing join condition"
    except psycopg.Error as exc:
        result.message = f"the database said: {str(exc).strip().splitlines()[0]}"
        result.hint = "run your SQL cell again and read its error"
    except PgcourseError as exc:
        result.status, result.message = "error", str(exc).splitlines()[0]
    except Exception as exc:  # a check must report, not crash the notebook or the grader
        result.status, result.message = "error", f"the check itself failed ({type(exc).__name__}: {exc})"
    finally:
        ctx.close()
    return result
