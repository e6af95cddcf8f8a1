"""The embedded cluster: TCP with passwords, the course's settings, and recovery from faults."""

from __future__ import annotations

import os
import signal
import socket
import time

import psycopg
import pytest

from pgcourse.errors import ServerUnavailable
from pgcourse.server import connect, settings
from pgcourse.server.embedded import EmbeddedCluster


@pytest.fixture
def cluster(tmp_path):
    c = EmbeddedCluster(tmp_path / "cluster")
    yield c
    c.destroy()


def test_server_runs_with_the_course_settings(pg_server):
    with pg_server.connect() as conn:
        for key, value in settings.SERVER_SETTINGS.items():
            shown = conn.execute("SELECT current_setting(%s)", [key]).fetchone()[0]
            assert shown.lower() == value.lower(), key
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith(str(settings.POSTGRES_MAJOR))


def test_embedded_listens_on_loopback_tcp_with_scram(cluster):
    server = cluster.start().server
    with server.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host' AND auth_method = 'scram-sha-256'").fetchone()[0] >= 1
        assert conn.execute("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'postgres'").fetchone()[0]
    wrong = server.url.replace(f":{server.password}@", ":not-the-password@")
    with pytest.raises(ServerUnavailable, match="password"):
        connect(wrong)


def test_up_twice_is_idempotent(cluster):
    first = cluster.start()
    second = cluster.start()
    assert second.already_running and second.server.url == first.server.url


def test_down_then_up_keeps_the_data(cluster):
    server = cluster.start().server
    with server.connect() as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    assert cluster.stop() is True
    assert cluster.server() is None
    server = cluster.start().server
    with server.connect() as conn:
        assert conn.execute("SELECT id FROM kept").fetchone()[0] == 42


def test_up_recovers_after_the_server_was_killed(cluster):
    server = cluster.start().server
    pid = cluster.pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster.pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (cluster.data_dir / "postmaster.pid").exists(), "a killed postmaster leaves its pid file"
    started = cluster.start()
    assert any("stale postmaster.pid" in note for note in started.notes)
    with started.server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1


def test_a_taken_port_is_replaced_and_reported(cluster):
    port = cluster.start().server.url.rsplit(":", 1)[1].split("/")[0]
    cluster.stop()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", int(port)))
    blocker.listen()
    try:
        started = cluster.start()
        assert any(f"port {port} is taken" in note for note in started.notes)
        assert cluster.port != int(port)
        with started.server.connect() as conn:
            assert conn.execute("SELECT 1").fetchone()[0] == 1
    finally:
        blocker.close()


def test_the_port_is_remembered_across_restarts(cluster):
    cluster.start()
    port = cluster.port
    cluster.stop()
    assert EmbeddedCluster(cluster.home).start().server.url.endswith(f":{port}/postgres")


def test_a_new_cluster_gets_a_random_administrator_password(cluster, monkeypatch):
    monkeypatch.delenv("PGCOURSE_PASSWORD", raising=False)
    server = cluster.start().server
    assert server.password not in settings.WELL_KNOWN_PASSWORDS and len(server.password) >= 20
    assert oct(cluster.state_file.stat().st_mode & 0o777) == "0o600"
