"""Which exercise each cell of a notebook belongs to: the grader and the kernel both refuse an answer
saved from another exercise's cells.

An exercise's cells are those under its heading (a markdown heading ``### Exercise 4.2``), up to the
next markdown heading. Cells outside every exercise belong to none.
"""

from __future__ import annotations

import re

_EXERCISE_REFS = (
    re.compile(r"^\s*%%answer\s+(\S+)", re.M),
    re.compile(r"pgcourse\.(?:answer|check)\(\s*[\"']([\w.]+)[\"']"),
)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*)$", re.M)
_EXERCISE_HEADING = re.compile(r"Exercise\s+(\d+\.\d+)\b", re.I)


def exercises_in(source: str) -> list[str]:
    """Exercise ids a cell answers or checks (``%%answer 4.2``, ``pgcourse.answer("4.2", ...)``, ``check``)."""
    found: list[str] = []
    for pattern in _EXERCISE_REFS:
        found += [m for m in pattern.findall(source) if m not in found]
    return found


def exercise_regions(cells: list) -> list[str | None]:
    """For each cell (nbformat cells or dicts), the exercise whose heading it stands under, or None."""
    regions: list[str | None] = []
    current: str | None = None
    for cell in cells:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        headings = _HEADING.findall(source) if cell["cell_type"] == "markdown" else []
        if headings:  # the cell's last heading decides what follows it
            match = _EXERCISE_HEADING.match(headings[-1])
            current = match.group(1) if match else None
        regions.append(current)
    return regions


def misplaced_answer(exercise_id: str, region: str | None) -> str | None:
    """Why an answer to ``exercise_id`` may not be saved from a cell in ``region`` (None when it may)."""
    if region == exercise_id:
        return None
    where = f"this cell belongs to exercise {region}" if region else "this cell is not under any exercise's heading"
    return (f"not saved: {where}, so it cannot save an answer to {exercise_id}.\n"
            f"  what to do: answer {exercise_id} in its own cell, under '### Exercise {exercise_id}'.")
