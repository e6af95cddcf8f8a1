"""The small public surface notebooks use: open a chapter, save an answer, check an exercise."""

from __future__ import annotations

from typing import Any

from .chapter import current_chapter
from .checks import run_check


def check(exercise_id: str) -> None:
    """Check one exercise against the chapter database; print one line (two with a hint)."""
    from . import progress

    chapter = current_chapter()
    if chapter.workshop:  # the broker runs the check (it holds the administrator) and records it for the board
        from .workshop import client

        result = client.check(chapter.info, exercise_id)
        print(result.line())
        progress.record(chapter.info, result)
        return
    if chapter.graded:
        print(f"{exercise_id}: checked by the grader after the run")
        return
    result = run_check(exercise_id, chapter)
    print(result.line())
    progress.record(chapter.info, result)


def answer(exercise_id: str, value: Any = None, *, sql: str | None = None) -> None:
    """Save an answer that is a value (e.g. a prediction) or SQL text, for the check to read."""
    from .magics import save_answer

    if value is None and sql is None:
        print(f"nothing saved for {exercise_id}: the answer is still None (write yours, then run the cell again)")
        return
    save_answer(current_chapter(), exercise_id, answer_sql=sql, value=value)
    print(f"saved your answer to {exercise_id}")

