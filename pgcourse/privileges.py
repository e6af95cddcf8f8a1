"""The least privileges the course needs on a server it does not run, and the SQL an administrator runs once.

The course administers its databases as the role of ``PGCOURSE_DATABASE_URL``. A superuser needs
nothing more. Any other role (what managed services give) needs:

- CREATEDB: the dataset templates and each chapter's database are cloned from template0 / the templates;
- CREATEROLE: each chapter (and each grade run) gets a learner role of its own;
- ``createrole_self_grant = 'set, inherit'`` on that role (PostgreSQL 16+): it becomes a member of
  the learner roles it creates, so it can hand them the chapter's tables (ALTER ... OWNER), read
  what they built (the checks), and drop what they own when a grade run ends.

Optional, prepared by a superuser once (:func:`admin_sql`): the untrusted extensions
(``pgstattuple``, ``pg_stat_statements`` and its preload) in the base template the seed starts
from, ADMIN OPTION on the built-in roles chapter 11 grants its learners, and SET on the two
superuser-only settings the course fixes per database (``lc_messages``, ``track_io_timing``).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from .chapters import CHAPTERS
from .errors import ConfigError, PgcourseError
from .server.base import Server
from .extensions import ASK_ADMIN, OPTIONAL_EXTENSIONS
from .datasets.portable import PRIVILEGED_SETTINGS, has_fixed_locale, libc_locale

#: The database the seed starts from when an administrator made it (with the untrusted extensions in it).
BASE_TEMPLATE = "pgcourse_base"

#: Built-in roles chapters grant their learners (chapter 11's pg_monitor...).
GRANTED_ROLES: tuple[str, ...] = tuple(sorted({r for c in CHAPTERS for r in c.granted_roles}))

#: Built-in roles the checks' read-only role (``pgcourse_checker``) is granted; without them checks read
#: as the course's role itself (see docs/decisions.md, "Grading integrity").
CHECKER_ROLES: tuple[str, ...] = ("pg_read_all_data", "pg_read_all_stats")


@dataclass
class Gap:
    """One thing the course's role lacks: ``required`` ones stop the course, the others skip parts of it."""

    what: str
    required: bool


def gaps(server: Server) -> list[Gap]:
    """What the server's role lacks, required first (nothing for a superuser on a server with the preload)."""
    with server.connect() as conn:
        found = gaps_required(conn)
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        if not superuser:
            for role in GRANTED_ROLES:
                if not conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER WITH ADMIN OPTION')", [role]).fetchone()[0]:
                    found.append(Gap(f"ADMIN OPTION on {role} (chapter 11 grants it to its learners)", False))
            for role in CHECKER_ROLES:
                if not conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER WITH ADMIN OPTION')", [role]).fetchone()[0]:
                    found.append(Gap(f"ADMIN OPTION on {role} (the checks' read-only role pgcourse_checker gets it)", False))
            for name in PRIVILEGED_SETTINGS:
                if not conn.execute("SELECT has_parameter_privilege(%s, 'SET')", [name]).fetchone()[0]:
                    found.append(Gap(f"SET on parameter {name} (fixed in every course database)", False))
        for name in OPTIONAL_EXTENSIONS:
            why = extension_gap(server, conn, name, superuser)
            if why:
                found.append(Gap(f"{name} {why}", False))
    return found


def extension_gap(server: Server, conn: psycopg.Connection, name: str, superuser: bool) -> str | None:
    """Why the seed will skip ``name``, or None: a superuser creates it; anyone else needs it in the base template."""
    ext = OPTIONAL_EXTENSIONS[name]
    if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name]).fetchone():
        return "is not available on this server"
    if not superuser and not _in_base_template(server, conn, name):
        return f"is not in the base template {BASE_TEMPLATE}"
    if ext.preload and not _preloaded(conn, name):
        return "is not in shared_preload_libraries"
    return None


def _preloaded(conn: psycopg.Connection, name: str) -> bool:
    """True when the library ``name`` is loaded: a loaded library's settings (``name.*``) exist in every session.

    Readable by any role, unlike shared_preload_libraries itself on some servers.
    """
    return conn.execute("SELECT 1 FROM pg_settings WHERE name LIKE %s LIMIT 1", [f"{name}.%"]).fetchone() is not None


def _in_base_template(server: Server, conn: psycopg.Connection, name: str) -> bool:
    if not base_template_usable(conn):
        return False
    try:
        with server.connect(BASE_TEMPLATE) as base:
            return base.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name]).fetchone() is not None
    except (psycopg.Error, PgcourseError):  # a base template the role cannot open counts as missing
        return False


def base_template_usable(conn: psycopg.Connection) -> bool:
    """True when the administrator's base template exists, is a template and has the course's locale."""
    row = conn.execute("SELECT datistemplate FROM pg_database WHERE datname = %s", [BASE_TEMPLATE]).fetchone()
    return bool(row and row[0]) and has_fixed_locale(conn, BASE_TEMPLATE)


def require(conn: psycopg.Connection) -> None:
    """Raise one clear :class:`ConfigError` when the role lacks something the course cannot work without."""
    required = [g.what for g in gaps_required(conn)]
    if required:
        role = conn.execute("SELECT current_user").fetchone()[0]
        raise ConfigError(f"the role {role} lacks what the course needs: {'; '.join(required)}.\n"
                          f"  what to do: {ASK_ADMIN} (or use a superuser)")


def gaps_required(conn: psycopg.Connection) -> list[Gap]:
    """Only the required gaps (cheap: no extension probes)."""
    superuser, createdb, createrole = conn.execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    found = []
    if int(conn.info.server_version) < 170000:
        found.append(Gap("PostgreSQL 17 or newer", True))
    if superuser:
        return found
    if not createdb:
        found.append(Gap("CREATEDB", True))
    if not createrole:
        found.append(Gap("CREATEROLE", True))
    grant = {p.strip() for p in conn.execute("SELECT current_setting('createrole_self_grant')").fetchone()[0].split(",")}
    if not {"set", "inherit"} <= grant:
        found.append(Gap("createrole_self_grant = 'set, inherit'", True))
    return found


def admin_sql(conn: psycopg.Connection | None, role: str) -> str:
    """The SQL a superuser (rds_superuser, cloudsqlsuperuser, azure_pg_admin...) runs once for ``role``, with psql.

    Running it again changes nothing (the base template is created only when missing).
    """
    ident = sql.Identifier(role).as_string(None)
    libc = libc_locale(conn) if conn is not None else "C.UTF-8"
    roles = ", ".join(GRANTED_ROLES)
    settings = ", ".join(PRIVILEGED_SETTINGS)
    extensions = "\n".join(f"CREATE EXTENSION IF NOT EXISTS {name};" for name in OPTIONAL_EXTENSIONS)
    return f"""\
-- pgcourse: what an administrator prepares once for the course's role {role} (run with psql as a superuser).
-- Required: create databases and roles, and become a member of the learner roles it creates (PostgreSQL 16+).
ALTER ROLE {ident} CREATEDB CREATEROLE;
ALTER ROLE {ident} SET createrole_self_grant = 'set, inherit';
-- Chapter 11 grants its learners these built-in roles.
GRANT {roles} TO {ident} WITH ADMIN OPTION;
-- The checks read as a read-only role (pgcourse_checker), never as {role}: it gets these.
GRANT {", ".join(CHECKER_ROLES)} TO {ident} WITH ADMIN OPTION;
-- Fixed in every course database (English messages, I/O timings in EXPLAIN): superuser-only settings.
GRANT SET ON PARAMETER {settings} TO {ident};
-- The base template the seed starts from, with the extensions a non-superuser cannot create.
SELECT 'CREATE DATABASE {BASE_TEMPLATE} OWNER {ident} TEMPLATE template0 ENCODING ''UTF8'' '
       'LOCALE_PROVIDER builtin BUILTIN_LOCALE ''C.UTF-8'' LC_COLLATE ''{libc}'' LC_CTYPE ''{libc}'' IS_TEMPLATE true'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{BASE_TEMPLATE}') \\gexec
\\connect {BASE_TEMPLATE}
{extensions}
-- pg_stat_statements also needs, in postgresql.conf (or the service's parameter group / flags),
--   shared_preload_libraries = 'pg_stat_statements'
-- and a server restart. Then, as {role}: pgcourse seed --force
"""
