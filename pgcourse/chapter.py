"""A chapter's database lifecycle: clone from the seeded template, own it, reset it.

Each chapter works in its own database (``chNN_slug``) cloned from the dataset template, as its
own non-superuser role (``learner_chNN``) that owns the chapter's tables but cannot drop any
database, read another chapter's, or outlive a statement timeout. ``open_chapter`` is the first
cell of every notebook.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from . import chapters
from . import server as pg
from .chapters import ChapterInfo
from .errors import ChapterError

#: Overrides the chapter database name (nbval and ``pgcourse record`` run notebooks against their own copies).
CHAPTER_DB_ENV = "PGCOURSE_CHAPTER_DB"

#: Set by the grader in a graded notebook's kernel: the learner URL of the one database it may use.
#: With it the kernel has no administrator at all (see docs/decisions.md, "Grading integrity").
CHAPTER_URL_ENV = "PGCOURSE_CHAPTER_URL"
#: The chapter number that goes with ``PGCOURSE_CHAPTER_URL``.
GRADED_CHAPTER_ENV = "PGCOURSE_GRADED_CHAPTER"
#: The notebook a graded kernel runs (JupyterLab sets JPY_SESSION_NAME instead).
NOTEBOOK_ENV = "PGCOURSE_NOTEBOOK"

NO_ADMIN = ("there is no administrator connection in a graded notebook: the grader runs the checks itself.\n"
            "  what to do: use ch.conn(), ch.query(), ch.df() or %sql (your learner role) instead.")
NO_ADMIN_WORKSHOP = ("there is no administrator connection in a workshop: the broker opens, resets and checks.\n"
                     "  what to do: use ch.conn(), ch.query(), ch.df() or %sql (your learner role) instead.")

#: Schema in every chapter database where saved answers live (written by the learner, read by checks).
ANSWERS_SCHEMA = "pgcourse"


#: A workshop learner's name: on a shared server each learner gets their own databases and roles.
LEARNER_ENV = "PGCOURSE_LEARNER"

_LEARNER_NAME = re.compile(r"[a-z][a-z0-9_]{0,19}")
#: The learner a workshop broker's thread works for (see :func:`as_learner`); wins over ``PGCOURSE_LEARNER``.
_learner_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("pgcourse_learner", default=None)


@contextlib.contextmanager
def as_learner(name: str) -> Iterator[str]:
    """Within this block (this thread only) the learner is ``name``: the workshop broker serves many at once."""
    if not _LEARNER_NAME.fullmatch(name):
        raise ChapterError(f"{name!r} is not a usable learner name (1-20 lowercase letters, digits or _, a letter first)")
    token = _learner_override.set(name)
    try:
        yield name
    finally:
        _learner_override.reset(token)


def learner_name() -> str | None:
    """``PGCOURSE_LEARNER`` (validated: it becomes part of database and role names), or None."""
    name = _learner_override.get() or os.environ.get(LEARNER_ENV, "").strip()
    if not name:
        return None
    if not _LEARNER_NAME.fullmatch(name):
        raise ChapterError(f"{LEARNER_ENV}={name!r} is not usable in database names.\n"
                           "  what to do: use 1-20 lowercase letters, digits or _, starting with a letter (e.g. alice).")
    return name


def learner_role(info: ChapterInfo) -> str:
    """The chapter's learner role: ``learner_chNN``, or ``<learner>_chNN`` in a workshop."""
    return f"{learner_name() or 'learner'}_ch{info.number}"


def database_for(info: ChapterInfo) -> str:
    """The chapter's database: ``PGCOURSE_CHAPTER_DB`` (grading) wins, then ``<learner>_chNN_slug``, then ``chNN_slug``."""
    override = os.environ.get(CHAPTER_DB_ENV)
    if override:
        return override
    name = learner_name()
    return f"{name}_{info.database}" if name else info.database


def database_exists(server: pg.Server, dbname: str) -> bool:
    with server.connect() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone() is not None


def learner_password(server: pg.Server, role: str) -> str:
    """A learner role's password, derived from the administrator's: stable, and unguessable without it."""
    secret = (server.password or server.url).encode()
    return hmac.new(secret, role.encode(), hashlib.sha256).hexdigest()[:32]


def password_verifier(conn: psycopg.Connection, role: str, password: str) -> sql.Literal:
    """A password as the SCRAM verifier libpq computes here: the plain text never reaches the server, so it is
    not in pg_stat_statements or pg_stat_activity, which a role with pg_read_all_stats (chapter 11's) can read."""
    return sql.Literal(conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode())


#: The read-only role checks read a chapter database as: a learner's function met in a view, an index
#: predicate or a trigger then runs with no more than read rights, never as the administrator.
CHECKER_ROLE = "pgcourse_checker"
#: One ALTER ROLE of the checker at a time per process (concurrent ones fail: "tuple concurrently updated").
_checker_lock = threading.Lock()


def ensure_checker_role(server: pg.Server) -> str | None:
    """Create (once) the checks' read-only login role; None where the administrator cannot grant it what it needs."""
    ident = sql.Identifier(CHECKER_ROLE)
    try:
        with _checker_lock, server.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [CHECKER_ROLE]).fetchone() is None:
                try:
                    conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(ident))
                except psycopg.errors.DuplicateObject:
                    pass  # made meanwhile by another grader
            conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD {}").format(
                ident, password_verifier(conn, CHECKER_ROLE, learner_password(server, CHECKER_ROLE))))
            conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident))
            conn.execute(sql.SQL("GRANT pg_read_all_data, pg_read_all_stats TO {}").format(ident))
    except psycopg.Error:
        return None
    return CHECKER_ROLE


#: Built-in roles no learner role holds any more (revoked where an older course granted them): they act on the
#: whole cluster (pg_signal_backend would let one learner end every other's sessions; their own they may end anyway).
NEVER_GRANTED = frozenset({"pg_signal_backend"})


def ensure_learner_role(server: pg.Server, info: ChapterInfo, role: str | None = None, password: str | None = None) -> str:
    """Create (or bring up to date) the chapter's learner role (or ``role``, e.g. a grade run's); return its name."""
    role = role or learner_role(info)
    password = password or learner_password(server, role)
    ident = sql.Identifier(role)
    with server.connect() as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOINHERIT").format(ident))
        attributes = sql.SQL(" ".join(info.role_attributes))  # fixed keywords from chapters.py
        conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {} {}").format(
            ident, password_verifier(conn, role, password), attributes))
        conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(ident, sql.Literal(info.statement_timeout)))
        conn.execute(sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = '10min'").format(ident))
        for (withheld,) in conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s AND g.rolname = ANY(%s)",
                [role, sorted(NEVER_GRANTED)]).fetchall():
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(withheld), ident))
        for granted in info.granted_roles:
            # WITH INHERIT TRUE: the role is NOINHERIT, and a built-in role such as pg_monitor is granted for its privileges
            conn.execute(sql.SQL("GRANT {} TO {} WITH INHERIT TRUE").format(sql.Identifier(granted), ident))
    return role


#: Hands every object of schema public to the learner role (identity sequences follow their table).
_OWN_EVERYTHING = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS obj,
           CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                          WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND NOT (c.relkind = 'S' AND EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i')))
      AND NOT c.relispartition
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                        AND d.deptype = 'e')  -- an extension's views stay its owner's (pg_stat_statements)
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.obj, {role});
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS obj FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')
             AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', r.obj, {role});
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.obj, {role});
  END LOOP;
END $$;
"""


def chapter_comment(info: ChapterInfo, size: str) -> str:
    return f"pgcourse chapter {info.name}, dataset {size}"


def create_database(server: pg.Server, info: ChapterInfo, *, dbname: str | None = None, size: str | None = None,
                    role: str | None = None, password: str | None = None, scratch: bool = True,
                    comment: str | None = "") -> str:
    """Clone the chapter database from the seeded template and hand it to the learner role (or ``role``).

    ``scratch=False`` skips the scratch database; ``comment=None`` leaves the database uncommented (a spare).
    """
    from . import datasets

    dbname = dbname or database_for(info)
    size = size or datasets.default_size()
    datasets.ensure(server, size)
    role = ensure_learner_role(server, info, role, password)
    with server.connect() as conn:
        datasets.clone(conn, size, dbname)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(dbname), sql.Identifier(role)))
        if ensure_checker_role(server):
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(CHECKER_ROLE)))
        if comment is not None:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(dbname), sql.Literal(comment or chapter_comment(info, size))))
    with server.connect(dbname) as conn:
        # first: a new owner needs CREATE on the schema (only a superuser is spared that check)
        conn.execute(sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(_OWN_EVERYTHING.replace("{role}", sql.Literal(role).as_string(conn)))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(ANSWERS_SCHEMA)))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.answers (exercise text PRIMARY KEY, answer_sql text, "
            "value jsonb, saved_at timestamptz NOT NULL DEFAULT now())").format(sql.Identifier(ANSWERS_SCHEMA)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1}; GRANT SELECT, INSERT, UPDATE, DELETE ON {0}.answers TO {1}").format(
            sql.Identifier(ANSWERS_SCHEMA), sql.Identifier(role)))
    if info.scratch and scratch:
        create_scratch(server, dbname, role)
    return dbname


def scratch_name(dbname: str) -> str:
    """The scratch database that belongs to a chapter database."""
    return f"{dbname}_scratch"


def create_scratch(server: pg.Server, dbname: str, role: str) -> str:
    """An empty database from template0 owned by the learner role, beside the chapter database ``dbname``."""
    from .datasets import portable

    scratch = scratch_name(dbname)
    with server.connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 OWNER {} {}").format(
            sql.Identifier(scratch), sql.Identifier(role), portable.locale_clause(conn)))
        portable.apply_settings(conn, scratch)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(scratch)))
        conn.execute(sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(sql.Identifier(scratch), sql.Identifier(role)))
        if ensure_checker_role(server):  # checks read what a chapter restored there (chapter 12)
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(scratch), sql.Identifier(CHECKER_ROLE)))
    return scratch


def drop_database(server: pg.Server, dbname: str) -> None:
    """Drop a chapter database and its scratch database, if any."""
    with server.connect() as conn:
        for name in (dbname, scratch_name(dbname)):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def open_transactions(server: pg.Server, dbname: str, roles: list[str] | None = None, *,
                      running: bool = True) -> list[str]:
    """Sessions on a database that are inside a transaction, in words (what dropping it rolls back).

    ``roles``: only those roles' sessions (a grade run's, not the server's workers nor the grader's own);
    ``running``: also sessions running a statement, not only those left idle in a transaction.
    """
    states = "state LIKE 'idle in transaction%%'" + (" OR state = 'active'" if running else "")
    with server.connect() as conn:
        rows = conn.execute(f"SELECT coalesce(nullif(application_name, ''), 'a session'), state FROM pg_stat_activity "
                            f"WHERE datname = %s AND ({states}) AND pid <> pg_backend_pid() "
                            "AND (%s::text[] IS NULL OR usename = ANY(%s)) ORDER BY 1", [dbname, roles, roles]).fetchall()
    return [f"{name} was {state}: rolled back" for name, state in rows]


def drop_created_roles(server: pg.Server, creator: str, dbname: str) -> list[str]:
    """Drop the roles ``creator`` made for the chapter database ``dbname`` (named ``<dbname>_...``); return their names.

    Roles are cluster-wide: a chapter with CREATEROLE (10) names its roles after its database, and
    a reset removes them with it. Run after the database is dropped (nothing of theirs is left there);
    a role that still holds something in another database is left alone.
    """
    with server.connect() as conn:
        roles = [r for (r,) in conn.execute(
            """SELECT r.rolname FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
               JOIN pg_roles m ON m.oid = am.member
               WHERE m.rolname = %s AND am.admin_option AND starts_with(r.rolname, %s)""",
            [creator, f"{dbname}_"]).fetchall()]
        dropped = []
        for role in roles:
            try:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
                dropped.append(role)
            except psycopg.Error:  # still holds something in another database: leave it, the chapter re-creates it
                continue
    return dropped


def _uses_spares() -> bool:
    """A learner's own chapter databases are built as spares (see :mod:`.spare`); graders' and nbval's copies are not."""
    from . import spare

    return spare.enabled() and not os.environ.get(CHAPTER_DB_ENV)


def put_fresh(server: pg.Server, info: ChapterInfo, dbname: str, size: str | None = None) -> str:
    """A fresh chapter database in place of ``dbname``: the ready spare swapped in, the next one built in the background."""
    from . import datasets, disk, spare

    size = size or datasets.default_size()
    if os.environ.get(CHAPTER_DB_ENV):  # a grader's or nbval's copy: built in place, no spare, no parking
        drop_database(server, dbname)
        return create_database(server, info, dbname=dbname, size=size)
    datasets.ensure(server, size)
    for name in disk.make_room(server, datasets.template_name(size), keep=dbname):
        print(f"pgcourse: parked {name} to stay within the disk budget (its answers are kept; "
              "opening it again re-creates it)")
    if spare.enabled():
        spare.swap(server, info, dbname, size, comment=chapter_comment(info, size))
    else:
        drop_database(server, dbname)
        create_database(server, info, dbname=dbname, size=size)
    restored = disk.unpark(server, dbname)
    if restored:
        print(f"pgcourse: {dbname} was parked to save disk and is back: {restored} saved answers restored; "
              "re-run the notebook to rebuild the tables you made")
    disk.touch(dbname)
    spare.prepare_in_background(server, info, dbname, size)
    return dbname


def reset(ref: str | int, *, server: pg.Server | None = None, size: str | None = None) -> str:
    """Give a chapter a fresh database (instant when its spare is ready) and drop the roles made for it. Returns its name.

    Live sessions are closed first (this process's) or ended by the swap (a notebook's); open transactions are printed."""
    from .sessions import close_all

    info = chapters.get(ref)
    close_all()  # this process's live sessions: reported, rolled back, closed before their database goes
    if server is None and _in_workshop():  # a workshop learner: the broker resets it
        from .workshop import client

        return client.reset(info.number)["database"]
    server = server or pg.current()
    dbname = database_for(info)
    if database_exists(server, dbname):
        for note in open_transactions(server, dbname):
            print(f"reset: {note}")
    put_fresh(server, info, dbname, size)
    if "CREATEROLE" in info.role_attributes:  # the old database must go first: the roles own things in it
        from . import spare

        drop_database(server, spare.trash_name(dbname))
        drop_created_roles(server, learner_role(info), dbname)
    return dbname


def kernel_env(server: pg.Server, dbname: str, size: str | None, home) -> dict[str, str]:
    """Environment for a notebook kernel run headless (grading, recording) on its own chapter database."""
    env = dict(os.environ)
    env.update(PGCOURSE_DATABASE_URL=server.url, PGCOURSE_CHAPTER_DB=dbname, PGCOURSE_HOME=str(home),
               PGCOURSE_PROJECT=str(pg.project_root()), PYDEVD_DISABLE_FILE_VALIDATION="1")
    if size:
        env["PGCOURSE_DATASET_SIZE"] = size
    if server.log_file:  # the kernel gets the server as a URL: say where its log is (ch.server_log_file())
        env[pg.settings.SERVER_LOG_ENV] = str(server.log_file)
    return env


def learner_url(server: pg.Server, info: ChapterInfo, dbname: str, role: str | None = None,
                password: str | None = None) -> str:
    """URL that logs in as the chapter's learner role (same host and port as the server)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    role = role or learner_role(info)
    password = password or learner_password(server, role)
    parts = urlsplit(server.url_for(dbname))
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class _NoAdministrator:
    """Stands in for the server in a graded kernel: any use says clearly that there is no administrator."""

    backend = "none"

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str):
        raise ChapterError(NO_ADMIN)


@dataclass
class Chapter:
    """The open chapter: its server, database and roles; what notebooks and checks use."""

    info: ChapterInfo
    #: the administered server; a stand-in that refuses every use in a graded kernel (never shown in a repr)
    server: pg.Server | _NoAdministrator = field(repr=False)
    database: str
    created: bool = False
    #: the learner role, fixed when the chapter is opened (a later PGCOURSE_LEARNER change does not move it)
    role: str = ""
    #: the learner's password (derived from the administrator's unless given, as in a grade run)
    password: str = field(default="", repr=False)
    #: a workshop learner's URL, given by the broker (there is no administrator in the kernel then)
    given_url: str = field(default="", repr=False)
    _learner_conn: psycopg.Connection | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.role = self.role or learner_role(self.info)

    @property
    def graded(self) -> bool:
        """True in a graded notebook's kernel: no administrator, checks are run by the grader."""
        return isinstance(self.server, _NoAdministrator)

    @property
    def workshop(self) -> bool:
        """True in a workshop learner's kernel: the broker opens, resets and checks (see :mod:`pgcourse.workshop`)."""
        return bool(self.given_url)

    @property
    def _no_admin(self) -> str:
        """Why there is no administrator here, in this kernel's words (a grade run's or a workshop's)."""
        return NO_ADMIN_WORKSHOP if self.workshop else NO_ADMIN

    @property
    def url(self) -> str:
        """The learner's URL (what the %sql magic uses)."""
        if self.given_url:
            return self.given_url
        if self.graded:
            return os.environ[CHAPTER_URL_ENV]
        return learner_url(self.server, self.info, self.database, self.role, self.password or None)

    def admin(self) -> psycopg.Connection:
        """A new superuser connection to the chapter database (set-up outside notebooks only)."""
        if self.graded:
            raise ChapterError(self._no_admin)
        return self.server.connect(self.database)

    def reader(self, dbname: str | None = None) -> psycopg.Connection:
        """A new read-only connection for checks: as the checker role where it exists (learner code a check
        meets runs with read rights only), else as the administrator (a server that cannot grant it)."""
        if self.graded:
            raise ChapterError(self._no_admin)
        dbname = dbname or self.database
        with self.server.connect(dbname) as conn:
            can = conn.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT') "
                               "FROM pg_roles WHERE rolname = %s", [CHECKER_ROLE, CHECKER_ROLE]).fetchone()
        if not (can and can[0]):
            return self.server.connect(dbname)
        return pg.connect(learner_url(self.server, self.info, dbname, CHECKER_ROLE))

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        """A new connection as the learner role (what learner SQL runs as)."""
        return pg.connect(self.url, **kwargs)

    def conn(self) -> psycopg.Connection:
        """A shared learner connection, reopened when it was closed or broken (e.g. by ``pgcourse reset``)."""
        if self._learner_conn is None or self._learner_conn.closed or self._learner_conn.broken:
            self._learner_conn = self.connect()
        return self._learner_conn

    def _on_conn(self, use):
        """``use(self.conn())``; once more on a new connection when the server had ended the old one (a reset)."""
        conn = self.conn()
        try:
            return use(conn)
        except psycopg.OperationalError as exc:
            from .magics import RECONNECTED, is_disconnect

            if not (conn.broken or conn.closed) or not is_disconnect(exc):
                raise
            print(RECONNECTED)
        return use(self.conn())

    def query(self, query: str, params: Any = None) -> list[tuple]:
        """Run SQL as the learner and return the rows (for small Python-side experiments)."""
        def rows(conn: psycopg.Connection) -> list[tuple]:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

        return self._on_conn(rows)

    def df(self, query: str, params: Any = None):
        """Run SQL as the learner and return a pandas DataFrame."""
        import pandas as pd

        def frame(conn: psycopg.Connection):
            cur = conn.execute(query, params)
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])

        return self._on_conn(frame)

    def explain(self, query: str, params: Any = None, *, analyze: bool = True, buffers: bool = True):
        """EXPLAIN (FORMAT JSON) of a query as the learner: a :class:`pgcourse.plans.Plan`."""
        from .plans import explain

        return self._on_conn(lambda conn: explain(conn, query, params, analyze=analyze, buffers=buffers))

    def sessions(self, *names: str | int):
        """Named live learner connections, each with its own transactions: ``ch.sessions("alice", "bob")``
        (or ``ch.sessions(2)`` for s1, s2). See :mod:`pgcourse.sessions`."""
        from .sessions import Lab, close_earlier

        if len(names) == 1 and isinstance(names[0], int):
            names = tuple(f"s{i}" for i in range(1, names[0] + 1))
        names = tuple(str(n) for n in names) or ("alice", "bob")
        close_earlier(names)  # the same cell run again: its earlier sessions are closed and what they held is said
        return Lab(self.connect, list(names))

    def server_log_file(self) -> Path | None:
        """The server's log when this kernel can read it (the course's own server, or the one a headless run was
        given), else None: chapter 06 reads a deadlock there."""
        log = (self.server.log_file if self.server else None) or os.environ.get(pg.settings.SERVER_LOG_ENV) or None
        return Path(log) if log else None

    def scratch_connect(self) -> psycopg.Connection:
        """A new autocommit learner connection to the chapter's empty scratch database (chapters with ``scratch=True``)."""
        if not self.info.scratch:
            raise ChapterError(f"chapter {self.info.name} has no scratch database")
        return pg.connect(pg.with_database(self.url, scratch_name(self.database)), autocommit=True)

    def banner(self) -> str:
        return (f"Chapter {self.info.number} · {self.info.title}: database {self.database}, "
                f"you are {self.role} (statement timeout {self.info.statement_timeout})")


_current: Chapter | None = None


def open_chapter(ref: str | int, *, reset_db: bool = False, size: str | None = None, magic: bool = True) -> Chapter:
    """The first cell of every notebook: create or reuse the chapter database and connect %sql.

    Returns the :class:`Chapter`, also kept as the current one for ``pgcourse.check``.
    """
    global _current
    from .sessions import close_all

    info = chapters.get(ref)
    close_all()  # the first cell run again: the live sessions of the earlier run are reported and closed
    graded = bool(os.environ.get(CHAPTER_URL_ENV))
    if graded or _in_workshop():
        from .workshop import client

        chapter = _graded_chapter(info) if graded else client.open_chapter(info, reset=reset_db)
        if magic:
            from .magics import connect_sql_magic

            connect_sql_magic(chapter)
        _current = chapter
        print(chapter.banner())
        return chapter
    server = pg.current()
    dbname = database_for(info)
    created = reset_db or not database_exists(server, dbname)
    if created:
        put_fresh(server, info, dbname, size)
    else:
        ensure_learner_role(server, info)
        if _uses_spares():  # so that the first reset is instant too
            from . import datasets, disk, spare

            disk.touch(dbname)
            spare.prepare_in_background(server, info, dbname, size or datasets.default_size())
    chapter = Chapter(info=info, server=server, database=dbname, created=created)
    if magic:
        from .magics import connect_sql_magic

        connect_sql_magic(chapter)
    _current = chapter
    print(chapter.banner())
    return chapter


def _in_workshop() -> bool:
    """A workshop learner's kernel: the broker's URL and a token, and no administrator (see :mod:`pgcourse.workshop`)."""
    from .workshop.client import enabled

    return enabled()


def _graded_chapter(info: ChapterInfo) -> Chapter:
    """The chapter in a graded kernel: only the learner URL the grader gave, no administrator."""
    from urllib.parse import unquote, urlsplit

    graded = os.environ.get(GRADED_CHAPTER_ENV, "")
    if graded and graded != info.number:
        raise ChapterError(f"this notebook is graded as chapter {graded}; it cannot open chapter {info.number}.\n"
                           f"  what to do: open chapter {graded} in its first cell.")
    parts = urlsplit(os.environ[CHAPTER_URL_ENV])
    chapter = Chapter(info=info, server=_NoAdministrator(), database=unquote(parts.path.lstrip("/")),
                      role=unquote(parts.username or ""))
    chapter.conn()  # fail here, clearly, if the grader's database does not answer
    return chapter


def current_chapter() -> Chapter:
    """The chapter opened by the notebook's first cell."""
    if _current is None:
        raise ChapterError("no chapter is open.\n  what to do: run the notebook's first cell (pgcourse.open_chapter(...)).")
    return _current
