"""Which answers a cell may save: ids of the open chapter only, from the exercise's own cells.

The kernel refuses a misplaced answer with a clear message (this module); the grader enforces the
same rule from outside the kernel, whatever a notebook does (``pgcourse.grading``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .chapter import NOTEBOOK_ENV
from .errors import AnswerRefused
from .grading.structure import exercise_regions, misplaced_answer

_UNKNOWN = object()


def _running_request() -> tuple[str | None, str | None]:
    """(cell id, source) of the cell the kernel is executing, as far as the kernel knows them."""
    try:
        from IPython import get_ipython

        parent = get_ipython().kernel.get_parent("shell")
    except Exception:  # not in a kernel (a script, a test)
        return None, None
    return (parent.get("metadata") or {}).get("cellId"), (parent.get("content") or {}).get("code")


def _current_region() -> object:
    """The exercise region of the running cell, or _UNKNOWN (no notebook file, an unsaved cell...)."""
    path = os.environ.get(NOTEBOOK_ENV) or os.environ.get("JPY_SESSION_NAME")
    cell_id, source = _running_request()
    if not path or (cell_id is None and source is None):
        return _UNKNOWN
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        regions = exercise_regions(cells)
    except (OSError, ValueError, KeyError, TypeError):
        return _UNKNOWN
    if cell_id is not None:
        found = {regions[i] for i, c in enumerate(cells) if c.get("id") == cell_id}
    else:
        found = {regions[i] for i, c in enumerate(cells)
                 if c.get("cell_type") == "code" and "".join(c.get("source", "")) == source}
    return found.pop() if len(found) == 1 else _UNKNOWN


def validate(chapter, exercise_id: str) -> None:
    """Raise :class:`AnswerRefused` unless ``exercise_id`` may be saved from the running cell."""
    from .checks import exercises_for

    known = [e.id for e in exercises_for(chapter.info)]
    if exercise_id not in known:
        raise AnswerRefused(f"not saved: chapter {chapter.info.number} has no exercise {exercise_id!r}.\n"
                            f"  what to do: use one of {', '.join(known) or '(none yet)'}.")
    region = _current_region()
    if region is not _UNKNOWN:
        reason = misplaced_answer(exercise_id, region)
        if reason:
            raise AnswerRefused(reason)
