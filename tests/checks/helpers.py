"""What every chapter's check tests do: run SQL as the learner, run a check, and say how it must end."""

from __future__ import annotations

import re

from pgcourse.checks import run_check


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


def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()
