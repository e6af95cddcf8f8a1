"""A workshop learner's kernel has only the broker's URL and a token: chapter 00 runs top to bottom through the broker,
its checks land in ``results``, and the progress board shows them."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pgcourse.grading.execute import execute_notebook
from pgcourse.workshop import roster

from .conftest import PROJECT

LEARNERS = ["nb_carol", "nb_dave"]
NOTEBOOK = PROJECT / "notebooks" / "00_getting_started.ipynb"
STOPPING = {"error", "timeout", "dead_kernel", "not_run"}


def learner_env(workshop, name: str, home: Path) -> dict[str, str]:
    """A learner kernel's whole environment: a PATH, a home, the broker's URL and the learner's token. Nothing else."""
    return {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "PGCOURSE_WORKSHOP_URL": workshop.url, "PGCOURSE_WORKSHOP_TOKEN": workshop.tokens[name],
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


@pytest.mark.slow
def test_unsolved_chapter_00_runs_through_the_broker_and_its_checks_are_recorded(workshop, tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    home = tmp_path / "carol"
    home.mkdir()
    env = learner_env(workshop, "nb_carol", home)
    assert workshop.server.password not in "".join(env.values())
    incidents = execute_notebook(copy.deepcopy(nb), env=env, cwd=home, cell_timeout=300)
    problems = [f"cell {i.cell}: {i.kind}: {i.message}" for i in incidents if i.kind in STOPPING]
    assert not problems, "\n".join(problems)
    with roster.admin_connect(workshop.server) as conn:
        rows = conn.execute("SELECT exercise, status FROM results WHERE learner = 'nb_carol' AND chapter = '00' "
                            "ORDER BY exercise").fetchall()
    assert [r[0] for r in rows] == ["0.1", "0.2", "0.3", "0.4"]
    assert {r[1] for r in rows} == {"failed"}  # unsolved: every check ran, through the broker, and failed
    with workshop.server.connect() as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'nb_carol_ch00_getting_started'"
                             ).fetchone()
    assert owner is not None  # the broker cloned carol's own chapter database when her first cell ran
    board = subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "progress"], env=workshop.admin_env(),
                           capture_output=True, text=True, timeout=120)
    assert board.returncode == 0, board.stderr
    lines = {line.split()[0]: line for line in board.stdout.splitlines() if line.strip()}
    assert lines["nb_carol"].split()[1:5] == ["✘", "✘", "✘", "✘"] and lines["nb_carol"].endswith("0/4")
    assert lines["nb_dave"].split()[1:5] == ["·", "·", "·", "·"]
    assert "stuck: 0.1" in board.stdout


@pytest.mark.slow
def test_a_solved_answer_through_the_broker_passes_and_the_board_shows_it(workshop, tmp_path):
    env = learner_env(workshop, "nb_dave", tmp_path)
    code = ("import pgcourse\nch = pgcourse.open_chapter('00', magic=False)\n"
            "pgcourse.answer('0.1', sql=\"SELECT count(*) FROM orders WHERE status = 'cancelled'\")\n"
            "pgcourse.check('0.1')\npgcourse.check('0.2')\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "✔ 0.1 passed" in done.stdout and "✘ 0.2 failed" in done.stdout
    board = subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "progress"], env=workshop.admin_env(),
                           capture_output=True, text=True, timeout=120)
    dave = next(line for line in board.stdout.splitlines() if line.startswith("nb_dave"))
    assert dave.split()[1:3] == ["✔", "✘"] and dave.endswith("1/4")
    # `pgcourse reset 00` in the learner's terminal goes to the broker: a fresh database, the pass kept on the board
    reset = subprocess.run([sys.executable, "-m", "pgcourse", "reset", "00"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert reset.returncode == 0 and "nb_dave_ch00_getting_started is fresh" in reset.stdout, reset.stderr
    check = subprocess.run([sys.executable, "-c", "import pgcourse\npgcourse.open_chapter('00', magic=False)\n"
                            "pgcourse.check('0.1')\n"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "✘ 0.1 failed: no answer saved" in check.stdout, check.stdout + check.stderr
    board = subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "progress"], env=workshop.admin_env(),
                           capture_output=True, text=True, timeout=120)
    dave = next(line for line in board.stdout.splitlines() if line.startswith("nb_dave"))
    assert dave.split()[1] == "✔"  # ever passed, as `pgcourse progress` counts it
