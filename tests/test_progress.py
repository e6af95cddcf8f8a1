"""A learner's progress: a pass is remembered when a later check fails, and the last result is shown beside it."""

from __future__ import annotations

import json

import pytest

from pgcourse import chapters, progress
from pgcourse.checks import CheckResult, exercises_for

CH00 = chapters.get("00")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PGCOURSE_HOME", str(tmp_path))
    return tmp_path


def _check(exercise: str, status: str) -> None:
    progress.record(CH00, CheckResult(exercise, "t", status, "m", points=float(status == "passed")))


def test_a_pass_is_kept_when_a_later_check_fails(home):
    _check("0.1", "passed")
    _check("0.1", "failed")
    entry = progress.load()["00_getting_started"]["0.1"]
    assert entry["status"] == "failed" and entry["passed_at"]
    row = next(r for r in progress.summary() if r[0] == CH00)
    assert row[1] == 1 and row[3] == ["0.1"]


def test_a_failed_check_alone_is_not_a_pass(home):
    _check("0.2", "failed")
    assert "passed_at" not in progress.load()["00_getting_started"]["0.2"]
    assert next(r for r in progress.summary() if r[0] == CH00)[1] == 0


def test_report_shows_ever_passed_and_the_last_result_per_exercise(home):
    _check("0.1", "passed")
    _check("0.1", "failed")
    _check("0.2", "passed")
    lines = progress.report()
    first, second = exercises_for(CH00)[:2]
    line1 = next(l for l in lines if l.strip().startswith(first.id + " "))
    line2 = next(l for l in lines if l.strip().startswith(second.id + " "))
    assert "✔ passed" in line1 and "last: failed" in line1
    assert "✔ passed" in line2 and "last: passed" in line2
    untried = next(l for l in lines if l.strip().startswith(exercises_for(CH00)[-1].id + " "))
    assert "last: not checked" in untried and "✔" not in untried
    assert lines[-1].startswith("total")


def test_progress_files_that_kept_only_the_last_status_still_count_passes(home):
    (home / "progress.json").write_text(json.dumps({"00_getting_started": {"0.1": {"status": "passed"}}}))
    _check("0.1", "failed")
    assert progress.ever_passed(progress.load()["00_getting_started"]["0.1"])


def test_every_chapter_of_the_course_is_listed_tried_or_not(home):
    _check("0.1", "passed")
    heads = [line for line in progress.report() if not line.startswith(" ")]
    assert [h.split()[0] for h in heads[:-1]] == [c.name for c in chapters.CHAPTERS]  # all 14, in order
    assert "not tried" not in heads[0] and all("not tried yet" in h or "no exercises" in h for h in heads[1:-1])
    assert heads[-1].endswith(f"1 of {len(chapters.CHAPTERS)} chapters tried")


def test_a_chapter_without_checks_yet_is_listed_as_such(home, monkeypatch):
    import pgcourse.checks

    real = pgcourse.checks.exercises_for
    monkeypatch.setattr(pgcourse.checks, "exercises_for", lambda ch: [] if ch.number == "13" else real(ch))
    line = next(l for l in progress.report() if l.startswith("13_capstone"))
    assert "no exercises to check yet" in line
    assert next(r for r in progress.summary() if r[0].number == "13")[1:3] == (0, 0)
