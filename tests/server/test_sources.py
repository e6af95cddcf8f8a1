"""Choosing where Postgres comes from: a URL, Docker, or the embedded server."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pgcourse import server as pg
from pgcourse.errors import DockerUnavailable, ServerUnavailable
from pgcourse.server import docker as docker_source


def test_a_url_pointing_nowhere_fails_fast_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", "postgresql://postgres:x@127.0.0.1:9/postgres")
    started = time.monotonic()
    with pytest.raises(ServerUnavailable) as info:
        pg.up()
    assert time.monotonic() - started < 5
    assert "cannot connect" in str(info.value) and "what to do" in str(info.value)
    assert ":***@" in str(info.value), "the password is never printed"


def test_a_wrong_password_in_the_url_says_so(pg_server, monkeypatch):
    if pg_server.backend == "url":
        pytest.skip("needs a server whose password we know")
    bad = pg_server.url.replace(f":{pg_server.password}@", ":wrong@")
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", bad)
    with pytest.raises(ServerUnavailable, match="check the password"):
        pg.up()


def test_the_cli_reports_a_bad_url_without_a_traceback(cli_env):
    cli_env["PGCOURSE_DATABASE_URL"] = "postgresql://postgres:x@127.0.0.1:9/postgres"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pgcourse", "up"], env=cli_env, capture_output=True, text=True)
    assert time.monotonic() - started < 5 + 3  # + interpreter start-up
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("pgcourse: cannot connect")


def test_a_url_is_used_as_given(pg_server, monkeypatch):
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", pg_server.url)
    startup = pg.up()
    assert startup.server.backend == "url" and startup.server.url == pg_server.url
    assert pg.current().url == pg_server.url


def test_docker_cli_without_an_engine_answers_no_within_a_second(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    started = time.monotonic()
    assert docker_source.engine_answers() is False
    assert time.monotonic() - started < 1.5


def test_without_docker_up_falls_through_to_embedded(monkeypatch, tmp_path):
    monkeypatch.delenv("PGCOURSE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("PGCOURSE_HOME", str(tmp_path / "home"))
    started = time.monotonic()
    try:
        startup = pg.up()
        assert startup.server.backend == "embedded"
        assert time.monotonic() - started < 30
        assert pg.current().url == startup.server.url
    finally:
        pg.embedded_cluster().destroy()


def test_forcing_docker_without_an_engine_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("PGCOURSE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("PGCOURSE_HOME", str(tmp_path / "home"))
    with pytest.raises(DockerUnavailable, match="no Docker engine"):
        pg.up(prefer="docker")
