"""Docker as a Postgres source: ``docker compose`` for the course, testcontainers for the tests.

Every path first asks whether an engine answers within about a second, so a machine with the
docker CLI but no daemon falls through to the embedded server without waiting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

from ..errors import DockerUnavailable, ServerStartError
from . import settings
from .base import Server

#: The image the course and its CI use.
IMAGE = f"postgres:{settings.POSTGRES_MAJOR}"

#: Host port the compose service publishes on 127.0.0.1 (override with PGCOURSE_PORT in .env).
DEFAULT_COMPOSE_PORT = 54320


def engine_answers(timeout: float = 1.0) -> bool:
    """True when a Docker engine answers a ping within ``timeout`` seconds."""
    if shutil.which("docker") is None and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        with warnings.catch_warnings():  # docker's context lookup warns about XDG dirs on servers
            warnings.simplefilter("ignore")
            import docker

            client = docker.from_env(timeout=timeout)
            try:
                return bool(client.ping())
            finally:
                client.close()
    except Exception:  # no daemon, no socket, permission denied, hung engine: all mean "no"
        return False


def read_dotenv(project: Path) -> dict[str, str]:
    """KEY=VALUE pairs of the project's .env (or .env.example when there is no .env)."""
    for name in (".env", ".env.example"):
        path = project / name
        if path.exists():
            values = {}
            for line in path.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip().strip("'\"")
            return values
    return {}


def compose_server(project: Path) -> Server:
    """The URL of the compose service, from .env (or the documented defaults)."""
    env = read_dotenv(project)
    password = os.environ.get("PGCOURSE_PASSWORD") or env.get("PGCOURSE_PASSWORD", settings.DEFAULT_PASSWORD)
    port = os.environ.get("PGCOURSE_PORT") or env.get("PGCOURSE_PORT", str(DEFAULT_COMPOSE_PORT))
    return Server(backend="docker", url=f"postgresql://{settings.SUPERUSER}:{password}@127.0.0.1:{port}/postgres")


def _compose(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    if not engine_answers():
        raise DockerUnavailable("no Docker engine answers.\n  what to do: start Docker, or unset the docker choice to use the embedded server.")
    return subprocess.run(
        ["docker", "compose", "-f", str(project / "docker-compose.yml"), *args],
        cwd=project, capture_output=True, text=True, timeout=timeout,
    )


def compose_up(project: Path) -> Server:
    """``docker compose up -d --wait``: start the course's postgres service and wait until healthy."""
    proc = _compose(project, "up", "-d", "--wait")
    if proc.returncode != 0:
        raise ServerStartError(
            f"docker compose up failed:\n{proc.stderr.strip()}\n"
            "  what to do: is the port in use? Set PGCOURSE_PORT in .env, then `pgcourse up` again."
        )
    return compose_server(project)


def compose_down(project: Path) -> None:
    """Stop the service, keeping its named volume (the data stays)."""
    _compose(project, "stop")


def compose_running(project: Path) -> bool:
    """True when the compose service is running."""
    if not engine_answers():
        return False
    proc = _compose(project, "ps", "--status", "running", "-q")
    return proc.returncode == 0 and bool(proc.stdout.strip())


def start_testcontainer():
    """A throwaway ``postgres:18`` container with the course's settings (for the test suite).

    Returns ``(container, Server)``; the caller stops the container.
    """
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(IMAGE, username=settings.SUPERUSER, password=settings.DEFAULT_PASSWORD,
                                  dbname="postgres", driver=None)
    container.with_env("POSTGRES_INITDB_ARGS", " ".join(settings.INITDB_ARGS))
    container.with_command(" ".join(settings.postgres_command_args()[1:]))
    container.start()
    host = container.get_container_host_ip()
    port = container.get_exposed_port(5432)
    url = f"postgresql://{settings.SUPERUSER}:{settings.DEFAULT_PASSWORD}@{host}:{port}/postgres"
    return container, Server(backend="docker", url=url)
