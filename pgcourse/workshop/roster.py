"""The class list: learners, their tokens, the server's workshop hardening, and removal.

Everything here runs as the administrator, from the instructor's commands (``pgcourse workshop add``,
``remove``, ``list``) or the broker. Tokens are shown to the instructor and kept in a 0600 file of the
workshop folder (for the hub to hand each learner's server its own); the database keeps only their hash.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from .. import chapters
from .. import server as pg
from ..chapter import (as_learner, database_for, drop_created_roles, drop_database, learner_role,
                       scratch_name)
from ..errors import InputError

#: The administrator's own database: roster and check results (no learner may connect).
ADMIN_DB = "pgcourse_workshop"
#: The workshop folder (tokens, instructor token); default ``<state dir>/workshop``.
STATE_ENV = "PGCOURSE_WORKSHOP_DIR"
#: Connections each learner chapter role may hold at once (``CONNECTION LIMIT``).
DEFAULT_CONNECTION_LIMIT = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
  name text PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  connection_limit int NOT NULL DEFAULT 8 CHECK (connection_limit > 0),
  added_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS results (
  learner text NOT NULL REFERENCES learners(name) ON DELETE CASCADE,
  chapter text NOT NULL,
  exercise text NOT NULL,
  status text NOT NULL,
  points real NOT NULL DEFAULT 0,
  max_points real NOT NULL DEFAULT 1,
  message text NOT NULL DEFAULT '',
  checked_at timestamptz NOT NULL DEFAULT now(),
  passed_at timestamptz,
  PRIMARY KEY (learner, chapter, exercise)
);
"""


def state_dir() -> Path:
    """The workshop folder (``PGCOURSE_WORKSHOP_DIR``, else ``<state dir>/workshop``), mode 0700."""
    env = os.environ.get(STATE_ENV, "").strip()
    folder = Path(env).absolute() if env else pg.state_dir() / "workshop"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (created 0600, never world-readable for an instant)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def tokens_file() -> Path:
    return state_dir() / "tokens.json"


def _tokens() -> dict[str, str]:
    try:
        return dict(json.loads(tokens_file().read_text()))
    except (OSError, ValueError):
        return {}


def learner_token(name: str) -> str | None:
    """A learner's token as the instructor (or the hub, spawning their server) reads it; None if unknown."""
    return _tokens().get(name)


def learner_env(name: str, broker_url: str) -> dict[str, str]:
    """All a learner's server needs from the workshop (the hub sets these, and nothing of the administrator)."""
    from .client import TOKEN_ENV, URL_ENV

    token = learner_token(name)
    if token is None:
        raise InputError(f"{name} is not on the roster.\n  what to do: `pgcourse workshop add {name}`.")
    return {URL_ENV: broker_url, TOKEN_ENV: token}


def instructor_token() -> str:
    """The instructor's token for the progress board (made once, kept 0600 in the workshop folder)."""
    path = state_dir() / "instructor.token"
    try:
        token = path.read_text().strip()
        if token:
            return token
    except OSError:
        pass
    token = secrets.token_urlsafe(24)
    write_private(path, token + "\n")
    return token


def token_hash(token: str) -> str:
    """What the roster keeps of a token (tokens are random, 192 bits: a plain SHA-256 is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """A learner name as the course's names need it (``[a-z][a-z0-9_]{0,19}``), else an InputError."""
    from ..chapter import _LEARNER_NAME

    name = name.strip()
    if not _LEARNER_NAME.fullmatch(name) or name in ("learner", "pgcourse", "postgres"):
        raise InputError(f"{name!r} is not a usable learner name.\n  what to do: use 1-20 lowercase letters, digits "
                         "or _, starting with a letter (e.g. alice); not learner, pgcourse or postgres.")
    return name


def names_from_csv(path: Path) -> list[str]:
    """Learner names from a CSV: the ``name`` column when there is a header with one, else the first column."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("name") if "name" in header else 0
    if "name" in header or header[0] in ("learner", "login", "user", "username"):
        rows = rows[1:]
    return [row[column].strip().lower() for row in rows if len(row) > column and row[column].strip()]


def admin_connect(server: pg.Server) -> psycopg.Connection:
    """An administrator connection to the workshop database (created with :func:`prepare` first)."""
    return server.connect(ADMIN_DB)


def prepare(server: pg.Server) -> None:
    """Create the workshop database and tables, and harden the server for learners (idempotent)."""
    with server.connect() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [ADMIN_DB]).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(ADMIN_DB)))
            except psycopg.errors.DuplicateDatabase:
                pass
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(ADMIN_DB)))
    with admin_connect(server) as conn:
        conn.execute(_SCHEMA)
    harden(server)


def harden(server: pg.Server) -> list[str]:
    """Take CONNECT from PUBLIC on every database that is not a learner's own: returns their names.

    ``postgres`` and ``template1`` would otherwise let any role (also one a chapter-10 learner creates)
    sit there, and a session on a dataset template blocks every clone of it (a denial of service).
    """
    from ..datasets import SIZES, template_name

    shared = ["postgres", "template1", ADMIN_DB, *(template_name(size) for size in SIZES)]
    done = []
    with server.connect() as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in shared:
            if name in existing:
                conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
                done.append(name)
    return done


@dataclass(frozen=True)
class Learner:
    name: str
    added_at: datetime
    connection_limit: int


def learners(server: pg.Server) -> list[Learner]:
    """The roster, by name (empty when no workshop was set up on this server)."""
    with server.connect() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [ADMIN_DB]).fetchone() is None:
            return []
    with admin_connect(server) as conn:
        rows = conn.execute("SELECT name, added_at, connection_limit FROM learners ORDER BY name").fetchall()
    return [Learner(*row) for row in rows]


def add(server: pg.Server, names: list[str], *, connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        new_tokens: bool = False) -> dict[str, str]:
    """Put learners on the roster (idempotent); returns {name: token} for those given a new token.

    Nothing is cloned here: a learner's chapter databases are made when they open a chapter.
    """
    checked = sorted({check_name(n) for n in names})
    if connection_limit < 1:
        raise InputError("the connection limit must be at least 1.\n  what to do: pass --connection-limit 8 (the default).")
    prepare(server)
    tokens = _tokens()
    given: dict[str, str] = {}
    with admin_connect(server) as conn:
        for name in checked:
            known = conn.execute("SELECT 1 FROM learners WHERE name = %s", [name]).fetchone() is not None
            if known and not new_tokens and name in tokens:
                conn.execute("UPDATE learners SET connection_limit = %s WHERE name = %s", [connection_limit, name])
                continue
            token = secrets.token_urlsafe(24)
            conn.execute("INSERT INTO learners (name, token_hash, connection_limit) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, "
                         "connection_limit = EXCLUDED.connection_limit",
                         [name, token_hash(token), connection_limit])
            tokens[name] = token
            given[name] = token
    write_private(tokens_file(), json.dumps(tokens, indent=1, sort_keys=True) + "\n")
    instructor_token()
    return given


def learner_for_token(server: pg.Server, token: str) -> tuple[str, int] | None:
    """(name, connection limit) of the learner a token belongs to, or None (compared by hash, in constant time)."""
    if not token:
        return None
    wanted = token_hash(token)
    with admin_connect(server) as conn:
        row = conn.execute("SELECT name, token_hash, connection_limit FROM learners WHERE token_hash = %s",
                           [wanted]).fetchone()
    if row is None or not hmac.compare_digest(row[1], wanted):
        return None
    return row[0], row[2]


def learner_roles(server: pg.Server, name: str) -> list[str]:
    """The learner's chapter roles that exist (``alice_ch00``...)."""
    with as_learner(name):
        wanted = [learner_role(info) for info in chapters.CHAPTERS]
    with server.connect() as conn:
        return [r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1", [wanted])]


def learner_databases(server: pg.Server, name: str) -> list[str]:
    """The learner's databases that exist: chapters, their scratch, spares and leftovers."""
    from .. import spare

    with as_learner(name):
        bases = [database_for(info) for info in chapters.CHAPTERS]
    wanted = [n for b in bases for n in (b, scratch_name(b), spare.spare_name(b), spare.trash_name(b))]
    with server.connect() as conn:
        return [r for (r,) in conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s) ORDER BY 1", [wanted])]


def remove(server: pg.Server, names: list[str]) -> list[str]:
    """Drop learners' databases, chapter roles (and the roles those made), results and tokens; returns what went.

    Only names derived from the learner's own name are touched, never another learner's.
    """
    from ..checks.sample import SAMPLE_DB

    gone: list[str] = []
    tokens = _tokens()
    for name in sorted({check_name(n) for n in names}):
        for dbname in learner_databases(server, name):
            drop_database(server, dbname)
            gone.append(f"database {dbname}")
        with as_learner(name):
            pairs = [(learner_role(info), database_for(info)) for info in chapters.CHAPTERS]
        for role, dbname in pairs:
            for made in drop_created_roles(server, role, dbname):
                gone.append(f"role {made}")
        for role in learner_roles(server, name):
            for made in _administered_roles(server, role):  # a chapter-10 role's roles with other names
                _drop_role(server, made, SAMPLE_DB)
                gone.append(f"role {made}")
            _drop_role(server, role, SAMPLE_DB)
            gone.append(f"role {role}")
        with server.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [ADMIN_DB]).fetchone():
                with admin_connect(server) as admin:
                    if admin.execute("DELETE FROM learners WHERE name = %s", [name]).rowcount:
                        gone.append(f"learner {name}")
        tokens.pop(name, None)
    if tokens_file().exists():
        write_private(tokens_file(), json.dumps(tokens, indent=1, sort_keys=True) + "\n")
    return gone


def _administered_roles(server: pg.Server, role: str) -> list[str]:
    """Roles ``role`` holds ADMIN OPTION on: under PostgreSQL 16+ CREATEROLE, exactly the roles it created."""
    with server.connect() as conn:
        return [r for (r,) in conn.execute(
            """SELECT r.rolname FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
               JOIN pg_roles m ON m.oid = am.member
               WHERE m.rolname = %s AND am.admin_option AND NOT r.rolsuper AND NOT starts_with(r.rolname, 'pg_')""",
            [role])]


def _drop_role(server: pg.Server, role: str, sample_db: str) -> None:
    """Drop a learner role after revoking what it was granted where it may still hold something."""
    ident = sql.Identifier(role)
    with server.connect() as conn:
        dbs = [r for (r,) in conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)",
                                          [[sample_db, "postgres"]])]
    for db in dbs:
        with server.connect(db) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
    with server.connect() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))
