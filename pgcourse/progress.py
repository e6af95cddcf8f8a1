"""A learner's progress, kept in ``.pgcourse/progress.json``: per exercise, whether it was ever passed and the last result.

A pass is kept when a later check fails (after ``pgcourse reset`` every check fails until the
chapter is run again), so ``pgcourse progress`` shows both: "passed" and what the last check said.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .chapters import CHAPTERS, ChapterInfo
from .server import state_dir


def progress_file() -> Path:
    return state_dir() / "progress.json"


def load() -> dict[str, dict[str, dict]]:
    try:
        return json.loads(progress_file().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def ever_passed(entry: dict) -> bool:
    """Whether an exercise's record says it passed at least once (older files kept only the last status)."""
    return bool(entry.get("passed_at")) or entry.get("status") == "passed"


def record(chapter: ChapterInfo, result) -> None:
    """Remember a check's latest result, and when it first passed (best effort: a read-only home never breaks a check)."""
    data = load()
    previous = data.setdefault(chapter.name, {}).get(result.exercise, {})
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = {"status": result.status, "points": result.points, "max_points": result.max_points, "at": now}
    if ever_passed(previous):
        entry["passed_at"] = previous.get("passed_at") or previous.get("at") or now
    elif result.status == "passed":
        entry["passed_at"] = now
    data[chapter.name][result.exercise] = entry
    try:
        progress_file().parent.mkdir(parents=True, exist_ok=True)
        progress_file().write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError:
        pass


def summary() -> list[tuple[ChapterInfo, int, int, list[str]]]:
    """(chapter, exercises ever passed, total, their ids) for every chapter of the course (total 0: no checks yet)."""
    from .checks import exercises_for

    data = load()
    rows = []
    for chapter in CHAPTERS:
        exercises = exercises_for(chapter)
        done = [e.id for e in exercises if ever_passed(data.get(chapter.name, {}).get(e.id, {}))]
        rows.append((chapter, len(done), len(exercises), done))
    return rows


#: How the last check of an exercise is shown.
_LAST = {"passed": "passed", "failed": "failed", "error": "error", None: "not checked"}


def report() -> list[str]:
    """``pgcourse progress``: every chapter of the course with a bar (or why not), then per exercise whether
    it was ever passed and the last result."""
    from .checks import exercises_for

    data = load()
    lines: list[str] = []
    total_done = total = tried = 0
    rows = summary()
    for chapter, done, count, _ in rows:
        if not count:
            lines.append(f"{chapter.name:<24}  -/-  no exercises to check yet")
            continue
        started = any(ex.id in data.get(chapter.name, {}) for ex in exercises_for(chapter))
        tried += started
        lines.append(f"{chapter.name:<24} {done:>2}/{count:<2} [{'#' * done}{'.' * (count - done)}]"
                     + ("" if started else "  not tried yet"))
        for ex in exercises_for(chapter):
            entry = data.get(chapter.name, {}).get(ex.id, {})
            mark = "✔ passed" if ever_passed(entry) else "  -     "
            last = _LAST.get(entry.get("status"), entry.get("status"))
            when = f" ({entry['at'][:16].replace('T', ' ')} UTC)" if entry.get("at") else ""
            lines.append(f"  {ex.id:<5} {mark}  last: {last}{when}  {ex.title}")
        total_done, total = total_done + done, total + count
    if total:
        lines.append(f"{'total':<24} {total_done:>2}/{total:<2} exercises passed; {tried} of {len(rows)} chapters tried")
    return lines
