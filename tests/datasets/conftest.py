"""Fixtures for the dataset tests: tiny seeded once per session, and throwaway clones of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from pgcourse import datasets
from pgcourse.server import Server


@pytest.fixture(scope="session")
def tiny(pg_server: Server) -> datasets.SeedReport:
    return datasets.ensure(pg_server, "tiny")


@pytest.fixture
def tiny_clone(pg_server: Server, tiny) -> Iterator[psycopg.Connection]:
    """A connection to a fresh clone of pgcourse_tiny, made the way chapters make theirs."""
    name = f"t_tiny_{uuid.uuid4().hex[:10]}"
    with pg_server.connect() as conn:
        datasets.clone(conn, "tiny", name)
    try:
        with pg_server.connect(name) as conn:
            yield conn
    finally:
        with pg_server.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
