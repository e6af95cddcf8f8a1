"""A real workshop on the session's server: a roster, a broker process, learners who talk to it over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from pgcourse import datasets
from pgcourse.errors import PgcourseError
from pgcourse.server.embedded import os_free_port
from pgcourse.workshop.broker import start_process
from pgcourse.server import Server

PROJECT = Path(__file__).resolve().parents[2]
#: Chapters are cloned from `tiny` here: isolation does not depend on the size.
SIZE = "tiny"
#: Databases the workshop takes CONNECT from PUBLIC on; given back after the module (other tests share the server).
SHARED = ("postgres", "template1", "pgcourse_tiny", "pgcourse_small", "pgcourse_large")


free_port = os_free_port


def http(base: str, method: str, path: str, token: str | None, payload: dict | None = None) -> tuple[int, dict | str]:
    """One HTTP request to the broker: (status, JSON body or text)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"token {token}"
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            status, raw = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read().decode()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


@dataclass
class Workshop:
    """The broker's address, the workshop folder, the admin server, and each learner's token."""

    url: str
    folder: Path
    server: Server
    tokens: dict[str, str]
    proc: subprocess.Popen

    def call(self, learner: str | None, method: str, path: str, payload: dict | None = None,
             token: str | None = None) -> tuple[int, dict | str]:
        return http(self.url, method, path, token if token is not None else self.tokens.get(learner or ""), payload)

    def open(self, learner: str, chapter: str) -> dict:
        status, body = self.call(learner, "POST", "/open", {"chapter": chapter})
        assert status == 200, body
        return body

    def admin_env(self) -> dict[str, str]:
        """What the instructor's commands run with (the administrator URL and the workshop folder)."""
        env = dict(os.environ, PGCOURSE_DATABASE_URL=self.server.url, PGCOURSE_WORKSHOP_DIR=str(self.folder),
                   PGCOURSE_DATASET_SIZE=SIZE)
        env.pop("PGCOURSE_LEARNER", None)
        return env


def _restore_public_connect(server: Server) -> None:
    with server.connect() as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in SHARED:
            if name in existing:
                conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO PUBLIC')


@pytest.fixture(scope="module")
def workshop(pg_server: Server, tmp_path_factory, request) -> Iterator[Workshop]:
    """``pgcourse workshop add`` for the module's ``LEARNERS``, then ``pgcourse workshop broker`` as its own process."""
    datasets.ensure(pg_server, SIZE)
    folder = tmp_path_factory.mktemp("workshop")
    learners = list(getattr(request.module, "LEARNERS", ["ws_alice", "ws_bob"]))
    env = dict(os.environ, PGCOURSE_DATABASE_URL=pg_server.url, PGCOURSE_WORKSHOP_DIR=str(folder / "state"),
               PGCOURSE_HOME=str(folder / "home"), PGCOURSE_DATASET_SIZE=SIZE)
    for key in ("PGCOURSE_LEARNER", "PGCOURSE_CHAPTER_DB", "PGCOURSE_WORKSHOP_URL", "PGCOURSE_WORKSHOP_TOKEN"):
        env.pop(key, None)
    added = subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "add", *learners],
                           env=env, capture_output=True, text=True, timeout=300)
    assert added.returncode == 0, added.stdout + added.stderr
    tokens = json.loads((folder / "state" / "tokens.json").read_text())
    log = open(folder / "broker.log", "w")
    try:
        proc, url = start_process(env, quiet=False, output=log)
    except PgcourseError:
        log.close()
        pytest.fail("the broker did not start:\n" + (folder / "broker.log").read_text())
    try:
        yield Workshop(url=url, folder=folder / "state", server=pg_server, tokens=tokens, proc=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "remove", *learners],
                       env=env, capture_output=True, text=True, timeout=300)
        _restore_public_connect(pg_server)


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A learner's connection with only what the broker gave (autocommit, as %sql runs)."""
    return psycopg.connect(url, autocommit=True, connect_timeout=10, **kwargs)
