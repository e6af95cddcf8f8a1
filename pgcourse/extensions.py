"""Extensions a chapter may use that a non-superuser cannot create (not trusted): optional.

On the course's own server the seed creates them in every template. On a server where the course
runs as a CREATEDB/CREATEROLE role (a managed service), an administrator creates them once in the
base template (``pgcourse admin-sql`` prints the SQL); without that the seed skips them with one
line, and the chapters that need them skip just those parts::

    if pgcourse.needs("pgstattuple"):      # prints one line and returns False when missing
        ...measure bloat...
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class OptionalExtension:
    """An untrusted extension the course uses where it can, and what is skipped without it."""

    name: str
    #: what a learner loses without it, as a sentence part ("chapter 11's bloat measurements")
    used_for: str
    #: needs shared_preload_libraries (and a server restart) besides CREATE EXTENSION
    preload: bool = False


OPTIONAL_EXTENSIONS: dict[str, OptionalExtension] = {e.name: e for e in (
    OptionalExtension("pgstattuple", "chapter 11's bloat measurements"),
    OptionalExtension("pg_stat_statements", "chapter 11's query statistics", preload=True),
)}

#: What the one-line messages tell a learner or instructor to do.
ASK_ADMIN = "ask your administrator to run the SQL that `pgcourse admin-sql` prints"


def _get(name: str) -> OptionalExtension:
    try:
        return OPTIONAL_EXTENSIONS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not an optional extension of the course ({', '.join(OPTIONAL_EXTENSIONS)})") from None


def problem(conn: psycopg.Connection, name: str) -> str | None:
    """Why ``name`` cannot be used in the connected database ("is not installed"...), or None when it can."""
    ext = _get(name)
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name]).fetchone() is None:
        return "is not installed"
    if ext.preload:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(name)))  # LIMIT 0 never calls it
        except psycopg.errors.ObjectNotInPrerequisiteState:
            return "is installed but not preloaded (shared_preload_libraries)"
    return None


def skip_line(name: str, why: str) -> str:
    """The one line said when an optional extension is missing: what is skipped and what to do."""
    return f"{name} {why}: {_get(name).used_for} will be skipped; {ASK_ADMIN}"


def create_optional(conn: psycopg.Connection) -> list[str]:
    """Create each optional extension where the role may (a superuser); the skip lines of the others."""
    notes = []
    for name in OPTIONAL_EXTENSIONS:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            notes.append(skip_line(name, "is not installed"))
            continue
        except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile, psycopg.errors.UndefinedObject):
            notes.append(skip_line(name, "is not available on this server"))
            continue
        if why := problem(conn, name):
            notes.append(skip_line(name, why))
    return notes


def has_extension(name: str, conn: psycopg.Connection | None = None) -> bool:
    """True when the optional extension ``name`` works in the open chapter's database (or ``conn``'s)."""
    return _problem_for(name, conn) is None


def needs(name: str, conn: psycopg.Connection | None = None) -> bool:
    """For a notebook: True when ``name`` works; else print the one skip line and return False."""
    why = _problem_for(name, conn)
    if why is not None:
        print(skip_line(name, why))
    return why is None


def _problem_for(name: str, conn: psycopg.Connection | None) -> str | None:
    if conn is not None:
        return problem(conn, name)
    from .chapter import current_chapter

    with current_chapter().connect() as own:  # its own connection: the probe never touches the learner's session
        return problem(own, name)
