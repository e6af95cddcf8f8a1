"""A learner's progress: the last result of every check, kept in ``.pgcourse/progress.json``."""

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


def record(chapter: ChapterInfo, result) -> None:
    """Remember a check's latest result (best effort: a read-only home never breaks a check)."""
    data = load()
    data.setdefault(chapter.name, {})[result.exercise] = {
        "status": result.status, "points": result.points, "max_points": result.max_points,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        progress_file().parent.mkdir(parents=True, exist_ok=True)
        progress_file().write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError:
        pass


def summary() -> list[tuple[ChapterInfo, int, int, list[str]]]:
    """(chapter, passed, total, ids passed) for every chapter that has exercises."""
    from .checks import exercises_for

    data = load()
    rows = []
    for chapter in CHAPTERS:
        exercises = exercises_for(chapter)
        if not exercises:
            continue
        done = [e.id for e in exercises if data.get(chapter.name, {}).get(e.id, {}).get("status") == "passed"]
        rows.append((chapter, len(done), len(exercises), done))
    return rows
