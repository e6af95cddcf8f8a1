"""What every chapter's check tests do: run SQL as the learner, run a check, and say how it must end."""

from __future__ import annotations

import re

from pgcourse.checks import run_check
from pgcourse.magics import save_answer


def run(ch, *statements: str) -> None:
    """Run SQL as the learner (autocommit, like a %%sql cell)."""
    for statement in statements:
        ch.query(statement)


def check(ch, exercise: str):
    return run_check(exercise, ch)


def passed(result) -> bool:
    assert result.status == "passed", result.line()
    return True


def failed(result, *words: str) -> bool:
    """The check failed, and its message or hint names every one of ``words`` (case-insensitive)."""
    text = (result.message + " " + result.hint).lower()
    assert result.status == "failed", result.line()
    assert all(w.lower() in text for w in words), result.line()
    return True


def check_answer(ch, exercise: str, value=None, sql: str | None = None):
    """Save an answer (a value, or SQL as ``%%answer`` does) when one is given, then run the exercise's check."""
    if value is not None or sql is not None:
        save_answer(ch, exercise, value=value, answer_sql=sql)
    return run_check(exercise, ch)


def passes(ch, exercise: str, value=None, sql: str | None = None) -> None:
    result = check_answer(ch, exercise, value, sql)
    assert result.passed, result.line()


def fails(ch, exercise: str, *words: str, value=None, sql: str | None = None):
    """The check failed with a hint, and its message or hint holds every one of ``words`` (as written)."""
    result = check_answer(ch, exercise, value, sql)
    assert result.status == "failed", result.line()
    assert result.hint, result.line()
    for word in words:
        assert word in result.message + " " + result.hint, result.line()
    return result


def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()
