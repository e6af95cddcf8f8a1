"""The `pgcourse` command tells the truth about the server before and after up and down."""

from __future__ import annotations

import subprocess
import sys

import pytest


def pgcourse(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "pgcourse", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def no_docker(cli_env):
    cli_env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    yield cli_env
    pgcourse(cli_env, "down")


def test_status_before_up_after_up_and_after_down(no_docker):
    before = pgcourse(no_docker, "status")
    assert before.returncode == 3 and "none running" in before.stdout

    up = pgcourse(no_docker, "up")
    assert up.returncode == 0, up.stderr
    assert "PostgreSQL 18" in up.stdout and ":***@" in up.stdout

    running = pgcourse(no_docker, "status")
    assert running.returncode == 0
    assert "backend:  embedded" in running.stdout and "PostgreSQL 18" in running.stdout
    assert ":***@" in running.stdout and "postgres " in running.stdout

    url = pgcourse(no_docker, "url").stdout.strip()
    assert url.startswith("postgresql://postgres:") and "***" not in url

    psql = pgcourse(no_docker, "psql", "-tAc", "select 6 * 7")
    assert psql.stdout.strip() == "42"

    assert pgcourse(no_docker, "up").returncode == 0  # idempotent
    down = pgcourse(no_docker, "down")
    assert "stopped" in down.stdout
    after = pgcourse(no_docker, "status")
    assert after.returncode == 3 and "none running" in after.stdout


def test_doctor_names_problems_and_what_to_do(no_docker):
    proc = pgcourse(no_docker, "doctor")
    assert "[ok  ] python" in proc.stdout
    assert "embedded PostgreSQL" in proc.stdout
    assert "server" in proc.stdout and "what to do: run `pgcourse up`" in proc.stdout


def test_commands_that_need_a_server_say_how_to_start_one(no_docker):
    proc = pgcourse(no_docker, "psql", "-c", "select 1")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "pgcourse up" in proc.stderr
