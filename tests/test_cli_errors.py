"""Every `pgcourse` command given bad input, no server, or a server that goes away ends in one line.

One line on stderr that says what to do, no traceback; exit 2 for a usage or input error, 1 for
a failure. Nothing is started before the input is known to be good.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT


def pgcourse(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgcourse", *args], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def no_server(cli_env: dict) -> dict:
    """A private state folder with no server in it, and no Docker engine to fall back on."""
    cli_env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    cli_env.pop("PGCOURSE_DATASET_SIZE", None)
    return cli_env


BAD_INPUT = [  # (arguments, exit code, words the one line must contain[, environment])
    (["frobnicate"], 2, "choose from 'up'"),
    (["up", "--backend", "nope"], 2, "choose from 'embedded', 'docker'"),
    (["reset"], 2, "required: chapter"),
    (["reset", "77"], 2, "no chapter '77' (choose from 00_getting_started"),
    (["reset", "04", "--size", "huge"], 2, "choose from 'tiny', 'small', 'large'"),
    (["record", "77"], 2, "no chapter '77'"),
    (["record", "13"], 2, "no solutions/13_capstone.ipynb", {"PGCOURSE_PROJECT": "/nonexistent/pgcourse"}),
    (["seed", "--size", "huge"], 2, "choose from 'tiny', 'small', 'large'"),
    (["datasets", "--bogus"], 2, "pgcourse datasets: unrecognized arguments: --bogus"),
    (["build", "--nope"], 2, "pgcourse build: unrecognized arguments"),
    (["lab", "--port", "abc", "--no-browser"], 2, "not a port"),
    (["lab", "--size", "huge", "--no-browser"], 2, "choose from 'tiny', 'small', 'large'"),
    (["grade"], 2, "required: NOTEBOOK"),
    (["grade", "notebooks/00_getting_started.ipynb", "--pass-mark", "lots"], 2, "argument --pass-mark"),
    (["up", "--backend", "docker"], 1, "no Docker engine answers; what to do: start Docker"),
    # a stopped server
    (["url"], 1, "what to do: run `pgcourse up`"),
    (["psql", "-c", "select 1"], 1, "what to do: run `pgcourse up`"),
    (["seed", "--size", "tiny"], 1, "what to do: run `pgcourse up`"),
    (["datasets"], 1, "what to do: run `pgcourse up`"),
    (["reset", "04"], 1, "what to do: run `pgcourse up`"),
    (["record", "00"], 1, "what to do: run `pgcourse up`"),
    # bad settings
    (["status"], 2, "PGCOURSE_DATABASE_URL is not a connection URL", {"PGCOURSE_DATABASE_URL": "nonsense"}),
    (["reset", "00"], 2, "PGCOURSE_DATABASE_URL is not a connection URL",
     {"PGCOURSE_DATABASE_URL": "postgresql://a b/c"}),
    (["datasets"], 1, "cannot connect to postgresql://x:***@127.0.0.1:1/db",
     {"PGCOURSE_DATABASE_URL": "postgresql://x:secret@127.0.0.1:1/db"}),
    (["seed"], 1, "PGCOURSE_DATASET_SIZE='huge' is not a dataset size", {"PGCOURSE_DATASET_SIZE": "huge"}),
]


@pytest.mark.parametrize("args, code, words, env", [(*case, {})[:4] for case in BAD_INPUT],
                         ids=[" ".join(case[0]) + (f" with {next(iter(case[3]))}" if len(case) > 3 else "")
                              for case in BAD_INPUT])
def test_bad_input_or_no_server_is_one_line_that_says_what_to_do(no_server, args, code, words, env):
    done = pgcourse(dict(no_server, **env), *args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert words in lines[0]
    assert not (Path(no_server["PGCOURSE_HOME"]) / "data").exists()  # nothing was started for a bad command


def test_a_missing_solutions_folder_is_one_line(no_server, tmp_path):
    done = pgcourse(dict(no_server, PGCOURSE_PROJECT=str(tmp_path)), "build", "--check")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"pgcourse: no solution notebooks in {tmp_path / 'solutions'}; what to do: run it "
                                   "in the course's clone (or set PGCOURSE_PROJECT to it).")


@pytest.mark.parametrize("args", [["status"], ["seed", "--size", "tiny"], ["reset", "00"]], ids=" ".join)
def test_a_server_that_goes_away_mid_command_is_one_line(cli_env, pg_server, fresh_db, args):
    """The command's connection is ended by the server after the command began, as `pgcourse down` would.

    Its first query of pg_database (a look-alike view put first on its search_path) ends its own session.
    """
    with pg_server.connect(fresh_db) as conn:
        conn.execute("CREATE SCHEMA trap")
        conn.execute("CREATE FUNCTION trap.end_session() RETURNS boolean LANGUAGE sql "
                     "AS 'SELECT pg_terminate_backend(pg_backend_pid())'")
        conn.execute("CREATE VIEW trap.pg_database AS SELECT * FROM pg_catalog.pg_database WHERE trap.end_session()")
    env = dict(cli_env, PGCOURSE_DATABASE_URL=pg_server.url_for(fresh_db), PGOPTIONS="-c search_path=trap,pg_catalog")
    env.pop("PGCOURSE_DATASET_SIZE", None)
    done = pgcourse(env, *args)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"stopped answering during `pgcourse {args[0]}`" in lines[0] and "pgcourse up" in lines[0]
    if args == ["status"]:
        assert "PostgreSQL 18" in done.stdout  # it was answering when the command began


def test_grade_reports_bad_notebooks_one_line_each_without_starting_a_server(no_server, tmp_path):
    not_a_notebook = tmp_path / "00_getting_started.ipynb"
    not_a_notebook.write_text('{"cells": 3}')
    truncated = tmp_path / "01_schema_design.ipynb"
    truncated.write_text((PROJECT / "notebooks" / "01_schema_design.ipynb").read_text()[:300])
    report = tmp_path / "grades.json"
    done = pgcourse(no_server, "grade", str(not_a_notebook), str(truncated), str(tmp_path / "nope.ipynb"),
                    "--json", str(report))
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "grading on" not in done.stdout  # no server was started or looked for
    rows = [line for line in done.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert len(rows) == 3 and all(" error " in row and " 0/" in row for row in rows), done.stdout
    messages = [nb["message"] for nb in json.loads(report.read_text())["notebooks"]]  # the table may cut them short
    assert "not a Jupyter notebook" in messages[0] and "no such file" in messages[2]
    assert "(0%)" in done.stdout and "FAIL" in done.stdout
