"""`pgcourse reset` and `pgcourse progress` from a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "pgcourse", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_reset_gives_a_clean_chapter_database(course_server, cli_env):
    env = dict(cli_env, PGCOURSE_DATABASE_URL=course_server.url, PGCOURSE_CHAPTER_DB="t_reset_ch00")
    try:
        assert _run(env, "reset", "00").returncode == 0
        with course_server.connect("t_reset_ch00") as conn:
            conn.execute("CREATE TABLE leftover (id int)")
        done = _run(env, "reset", "00")
        assert done.returncode == 0 and "t_reset_ch00 is fresh" in done.stdout
        with course_server.connect("t_reset_ch00") as conn:
            assert conn.execute("SELECT to_regclass('leftover')").fetchone()[0] is None
    finally:
        with course_server.connect() as conn:
            conn.execute('DROP DATABASE IF EXISTS "t_reset_ch00" WITH (FORCE)')


def test_progress_lists_passed_exercises_per_chapter(cli_env):
    home = Path(cli_env["PGCOURSE_HOME"])
    home.mkdir(parents=True)
    (home / "progress.json").write_text(json.dumps({"00_getting_started": {
        "0.1": {"status": "passed"}, "0.2": {"status": "failed"}, "0.4": {"status": "passed"}}}))
    done = _run(cli_env, "progress")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert " 2/4 " in next(l for l in lines if l.startswith("00_getting_started"))
    exercise = {l.split()[0]: l for l in lines if l.startswith("  ")}
    assert "✔ passed" in exercise["0.1"] and "last: passed" in exercise["0.1"]
    assert "✔" not in exercise["0.2"] and "last: failed" in exercise["0.2"]
    assert "last: not checked" in exercise["0.3"]


def test_unknown_chapter_is_a_usage_error_in_one_line(cli_env):
    done = _run(cli_env, "reset", "77")
    assert done.returncode == 2 and "no chapter" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "04_indexes" in done.stderr
