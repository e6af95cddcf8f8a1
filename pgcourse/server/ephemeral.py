"""A throwaway server for the test suite and headless grading, in the course's usual order.

A URL the user gives (``PGCOURSE_DATABASE_URL``), else a testcontainers ``postgres:18`` when a
Docker engine answers, else an embedded cluster in a temporary folder that is deleted after.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import docker as docker_source
from . import settings
from .base import Server, connect
from .embedded import EmbeddedCluster
from . import url_from_env, url_server


def choose_backend() -> tuple[str, str]:
    """Which backend :func:`ephemeral_server` will use, and why (for the pytest header)."""
    if url_from_env():
        return "url", f"{settings.DATABASE_URL_ENV} is set"
    if docker_source.engine_answers():
        return "docker", "a Docker engine answers (testcontainers postgres:18)"
    return "embedded", "no URL given and no Docker engine answers (embedded PostgreSQL 18 in a temp folder)"


@contextlib.contextmanager
def ephemeral_server(workdir: Path | None = None) -> Iterator[Server]:
    """Yield a running server; stop and delete whatever was started for it afterwards."""
    backend, _ = choose_backend()
    if backend == "url":
        server = url_server(url_from_env())
        connect(server.url).close()
        yield server
    elif backend == "docker":
        container, server = docker_source.start_testcontainer()
        try:
            yield server
        finally:
            container.stop()
    else:
        with contextlib.ExitStack() as stack:
            home = Path(workdir) if workdir else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pgcourse-")))
            cluster = EmbeddedCluster(home / "cluster")
            stack.callback(cluster.destroy)
            yield cluster.start().server
