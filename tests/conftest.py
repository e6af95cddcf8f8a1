"""Fixtures every test uses: one session-wide server, and fresh databases on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgcourse.server import Server
from pgcourse.server.ephemeral import choose_backend

PROJECT = Path(__file__).resolve().parents[1]


def pytest_report_header(config) -> list[str]:
    backend, why = choose_backend()
    return [f"pgcourse test server: {backend} ({why})"]


@pytest.fixture(scope="session")
def pg_server(request) -> Server:
    """The session's PostgreSQL 18: URL, else testcontainers, else embedded in a temp folder.

    Shared with the nbval run of solutions/ (root conftest.py) through :mod:`pgcourse.testing`.
    """
    from pgcourse.testing import session_server

    return session_server(request.config)


@pytest.fixture
def fresh_db(pg_server: Server) -> Iterator[str]:
    """The name of a new empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with pg_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with pg_server.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(pg_server: Server, fresh_db: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh database."""
    with pg_server.connect(fresh_db) as conn:
        yield conn


@pytest.fixture(scope="session")
def course_server(pg_server: Server) -> Server:
    """The session server with the dataset template chapters clone (``datasets.default_size()``) seeded."""
    from pgcourse import datasets

    datasets.ensure(pg_server, datasets.default_size())
    return pg_server


@pytest.fixture
def make_chapter(course_server: Server):
    """Factory: ``make_chapter("04")`` opens a chapter in a new database of its own, dropped after the test."""
    from pgcourse import chapter as chapter_db
    from pgcourse.chapters import get

    made: list[str] = []

    def make(ref: str, size: str | None = None) -> chapter_db.Chapter:
        info = get(ref)
        name = f"t_{info.database}_{uuid.uuid4().hex[:8]}"
        chapter_db.create_database(course_server, info, dbname=name, size=size)
        made.append(name)
        return chapter_db.Chapter(info=info, server=course_server, database=name)

    yield make
    for name in made:
        chapter_db.drop_database(course_server, name)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the `pgcourse` command against a private state folder."""
    env = dict(os.environ)
    env.pop("PGCOURSE_DATABASE_URL", None)
    env.update(PGCOURSE_HOME=str(tmp_path / "home"), PGCOURSE_WORKSPACE=str(tmp_path / "workspace"))
    return env


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium: installed with apt-get when missing and running as root, else the test skips."""
    import shutil
    import subprocess

    if not CHROMIUM.exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip("needs Debian's chromium: `apt-get install -y chromium` (as root)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        subprocess.run(["apt-get", *lock, "update"], env=env, check=True, capture_output=True, timeout=900)
        subprocess.run(["apt-get", *lock, "install", "-y", "chromium"], env=env, check=True, capture_output=True,
                       timeout=1800)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium):
    """Headless chromium driven by playwright (its own browser download cannot work offline: Debian's is used)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # as root chromium needs --no-sandbox; the pages are our own
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield browser
        browser.close()


def assert_valid_against(schema: str, path: Path) -> None:
    """Fail unless ``path`` validates against a schema that check-jsonschema ships (``vendor.compose-spec``...)."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run([str(exe), "--builtin-schema", schema, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
