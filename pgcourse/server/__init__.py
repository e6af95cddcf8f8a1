"""Where PostgreSQL comes from, decided in one place.

Order: a URL the user gives (``PGCOURSE_DATABASE_URL``); Docker Compose when an engine answers
within about a second; otherwise the embedded PostgreSQL 18 in the project's ``.pgcourse/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ServerUnavailable
from . import docker as docker_source
from . import settings
from .base import Server, client_bin_dir, connect, mask_password, sqlalchemy_url, with_database
from .embedded import EmbeddedCluster

__all__ = [
    "Server", "Startup", "client_bin_dir", "connect", "current", "down", "embedded_cluster",
    "mask_password", "project_root", "settings", "sqlalchemy_url", "state_dir", "up", "with_database",
]


def project_root() -> Path:
    """The course checkout: the folder holding pyproject.toml next to the package (or the cwd)."""
    env = os.environ.get("PGCOURSE_PROJECT")
    if env:
        return Path(env).absolute()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists() and (here / "pgcourse").is_dir():
        return here
    return Path.cwd()


def state_dir() -> Path:
    """Git-ignored folder for the embedded cluster and remembered choices (PGCOURSE_HOME overrides)."""
    env = os.environ.get("PGCOURSE_HOME")
    return Path(env).absolute() if env else project_root() / ".pgcourse"


def embedded_cluster() -> EmbeddedCluster:
    return EmbeddedCluster(state_dir())


def _backend_file() -> Path:
    return state_dir() / "backend.json"


def _remembered_backend() -> str | None:
    try:
        return json.loads(_backend_file().read_text())["backend"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None


def _remember_backend(backend: str) -> None:
    _backend_file().parent.mkdir(parents=True, exist_ok=True)
    _backend_file().write_text(json.dumps({"backend": backend}) + "\n")


@dataclass
class Startup:
    """What :func:`up` did: the server, and lines worth telling the user."""

    server: Server
    notes: list[str] = field(default_factory=list)


def url_from_env() -> str | None:
    url = os.environ.get(settings.DATABASE_URL_ENV, "").strip()
    return url or None


def url_server(url: str) -> Server:
    """A server given by URL, with its log file when ``PGCOURSE_SERVER_LOG`` names one."""
    log = os.environ.get(settings.SERVER_LOG_ENV, "").strip()
    return Server(backend="url", url=url, log_file=Path(log) if log else None)


def up(prefer: str | None = None) -> Startup:
    """Make sure a server is running and return it (idempotent).

    ``prefer`` forces ``embedded`` or ``docker``; by default the order of the module docstring.
    """
    url = url_from_env()
    if url and prefer is None:
        server = url_server(url)
        connect(url).close()  # raises ServerUnavailable with a clear message
        return Startup(server, [f"using your server from {settings.DATABASE_URL_ENV}"])
    if prefer == "docker" or (prefer is None and docker_source.engine_answers()):
        server = docker_source.compose_up(project_root())
        _remember_backend("docker")
        return Startup(server, ["started the postgres service with docker compose"])
    cluster = embedded_cluster()
    started = cluster.start()
    _remember_backend("embedded")
    notes = list(started.notes)
    notes.append("the embedded server was already running" if started.already_running
                 else f"started the embedded PostgreSQL (data in {cluster.data_dir})")
    return Startup(started.server, notes)


def current() -> Server:
    """The running server the course uses, without starting anything.

    Raises :class:`ServerUnavailable` with what to do when none runs.
    """
    url = url_from_env()
    if url:
        return url_server(url)
    if _remembered_backend() == "docker":
        return docker_source.compose_server(project_root())
    server = embedded_cluster().server()
    if server is None:
        raise ServerUnavailable("the course's PostgreSQL is not running.\n  what to do: run `pgcourse up` (or `pgcourse lab`).")
    return server


def down() -> str:
    """Stop the course's server, keeping its data. Returns what was done."""
    if url_from_env():
        return f"{settings.DATABASE_URL_ENV} points at your own server: nothing to stop"
    if _remembered_backend() == "docker":
        docker_source.compose_down(project_root())
        return "stopped the docker compose service (its volume, and so the data, is kept)"
    if embedded_cluster().stop():
        return "stopped the embedded PostgreSQL (the data is kept; `pgcourse up` starts it again)"
    return "the embedded PostgreSQL was not running"
