"""What a graded notebook did outside its own grading database, seen from outside the kernel.

Three witnesses, each independent of what the notebook prints:
- the cluster's catalog before and after the run (databases, roles, memberships, role and database
  settings): anything changed outside the run's own database and role is an incident;
- the server log, where the course runs the server (embedded): what the run's role tried and was
  refused (another database, a role, a superuser function, a login as someone else);
- the answers table after every cell: an answer saved from another exercise's cells is put back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from ..server.base import Server
from .report import Incident

#: Incident kinds that mean the notebook acted (or tried to act) outside its grading database: it scores 0.
OUTSIDE_KINDS = frozenset({"outside", "attempt"})

_SNAPSHOT = """
SELECT 'database ' || datname, concat_ws(' ', 'template=' || datistemplate, 'allowconn=' || datallowconn,
       'connlimit=' || datconnlimit, 'owner=' || pg_get_userbyid(datdba), 'acl=' || coalesce(datacl::text, '-'),
       'oid=' || oid)
  FROM pg_database
UNION ALL
SELECT 'role ' || rolname, concat_ws(' ', 'superuser=' || rolsuper, 'createrole=' || rolcreaterole,
       'createdb=' || rolcreatedb, 'login=' || rolcanlogin, 'replication=' || rolreplication,
       'bypassrls=' || rolbypassrls, 'inherit=' || rolinherit, 'connlimit=' || rolconnlimit,
       'validuntil=' || coalesce(rolvaliduntil::text, '-'), 'oid=' || oid)
  FROM pg_roles
UNION ALL
SELECT 'membership ' || m.rolname || ' in ' || r.rolname,
       string_agg(concat_ws(' ', 'admin=' || am.admin_option, 'inherit=' || am.inherit_option, 'set=' || am.set_option,
                            'grantor=' || coalesce(g.rolname, am.grantor::text)), '; ' ORDER BY g.rolname, am.grantor)
  FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
       LEFT JOIN pg_roles g ON g.oid = am.grantor
 GROUP BY m.rolname, r.rolname
UNION ALL
SELECT 'settings of ' || coalesce('role ' || r.rolname, 'every role') || ' in ' || coalesce('database ' || d.datname, 'every database'),
       array_to_string(s.setconfig, ', ')
  FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
UNION ALL
SELECT 'parameter privileges ' || parname, coalesce(paracl::text, '-') FROM pg_parameter_acl
"""


def snapshot(server: Server) -> dict[str, str]:
    """The cluster-wide state a notebook must not change: what -> its attributes.

    One entry per member and role: since PostgreSQL 16 a member may hold a role through several grants
    (one per grantor, e.g. the one CREATE ROLE gives its creator and one it gives itself), all in one value.
    """
    with server.connect() as conn:
        return dict(conn.execute(_SNAPSHOT).fetchall())


def _mine(key: str, databases: set[str], roles: set[str]) -> bool:
    """A catalog entry that belongs to the run itself (its database, its roles' own entries)."""
    if key.startswith("database "):
        return key.split(" ", 1)[1] in databases
    if key.startswith("role "):
        return key.split(" ", 1)[1] in roles
    if key.startswith("membership "):
        member, _, granted = key.removeprefix("membership ").partition(" in ")
        return member in roles or granted in roles
    if key.startswith("settings of every role in database "):
        return key.removeprefix("settings of every role in database ") in databases
    if key.startswith("settings of role "):
        # a role's settings in its own grading database are its own business; role-wide ones are not
        role = key.removeprefix("settings of role ").split(" ", 1)[0]
        return role in roles and any(key.endswith(f" in database {db}") for db in databases)
    return False


def _theirs(key: str, others: frozenset[str]) -> bool:
    """A catalog entry that names a database or role of another run graded at the same time (``--jobs``)."""
    return bool(others) and any(word in others for word in key.split(" "))


_ACL = re.compile(r"acl=\{([^}]*)\}")


def _without(value: str | None, others: frozenset[str]) -> str | None:
    """A database's attributes without the privileges granted to other runs' roles (they come and go with them)."""
    if value is None or not others:
        return value
    def keep(match: re.Match) -> str:
        items = [i for i in match[1].split(",") if i and i.split("=", 1)[0].strip('"') not in others]
        return "acl={" + ",".join(items) + "}"
    return _ACL.sub(keep, value)


def changes(before: dict[str, str], after: dict[str, str], *, databases: set[str], roles: set[str],
            others: frozenset[str] = frozenset()) -> list[Incident]:
    """Incidents for every catalog entry outside the run's own that appeared, disappeared or changed.

    ``others``: names of the databases and roles of runs graded at the same time; what they did to
    their own entries, and privileges granted to them, are their own runs' business.
    """
    incidents = []
    for key in sorted(before.keys() | after.keys()):
        if _mine(key, databases, roles) or _theirs(key, others) \
                or _without(before.get(key), others) == _without(after.get(key), others):
            continue
        if key not in after:
            what = f"{key} is gone"
        elif key not in before:
            what = f"{key} appeared ({after[key]})"
        else:
            old, new = before[key].split(" "), after[key].split(" ")
            diff = [f"{o} -> {n}" for o, n in zip(old, new) if o != n] or [f"{before[key]} -> {after[key]}"]
            what = f"{key} changed: {', '.join(diff)}"
        incidents.append(Incident("outside", f"outside its grading database: {what}"))
    return incidents


# ---- the server log ------------------------------------------------------------------------------

_LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[\d+\] (?P<user>[^@\s]*)@(?P<db>\S*) (?P<level>ERROR|FATAL|PANIC):\s+(?P<msg>.*)$")
#: Refusals that mean "tried to reach beyond its own database", whatever database it was in.
_OUTSIDE = re.compile(
    r"permission denied to (create|alter|drop|rename) (role|database)|must be owner of database|"
    r"permission denied for database|must be superuser|permission denied to (grant|revoke) role|"
    r"must have admin option|permission denied to (terminate|cancel|signal)|must be a member of the role whose|"
    r"permission denied to set role|permission denied for function (pg_read|pg_ls_|pg_stat_file|lo_import|lo_export|"
    r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile)|"
    r"permission denied to COPY|privileges of the pg_(read|write)_server_files role|"
    r"permission denied for tablespace|must be owner of (role|tablespace)|permission denied to use replication|"
    r"permission denied to alter (system|parameter)|ALTER SYSTEM", re.I)
_LOGIN_FAILED = re.compile(r"password authentication failed for user|no pg_hba\.conf entry|role \".*\" does not exist|"
                           r"is not permitted to log in", re.I)


_DATABASE_REFUSED = re.compile(r'permission denied for database "(?P<name>(?:[^"]|"")+)"', re.I)


def _own_database_refused(msg: str, databases: set[str]) -> bool:
    """A refusal on one of the run's own databases (chapter 10 shows a LOGIN role without CONNECT
    refused at its own database's door): inside, not an attempt on anything else."""
    match = _DATABASE_REFUSED.search(msg)
    return bool(match) and match["name"].replace('""', '"') in databases


@dataclass
class LogWatch:
    """Reads what the server logged while one notebook ran (only where the course can read the log)."""

    log_file: Path | None
    offset: int = 0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, server: Server) -> "LogWatch":
        path = server.log_file
        try:
            offset = path.stat().st_size if path else 0
        except OSError:
            path, offset = None, 0
        return cls(path, offset)

    def lines(self) -> list[str]:
        if self.log_file is None:
            return []
        try:
            with open(self.log_file, "rb") as log:
                log.seek(self.offset)
                return log.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def attempts(self, *, roles: set[str], databases: set[str], others: frozenset[str] = frozenset()) -> list[Incident]:
        """What the run's roles tried outside their databases and were refused, and logins as anyone else
        (but another run's own roles: ``others``, graded at the same time)."""
        found: list[Incident] = []
        for line in self.lines():
            match = _LOG_LINE.match(line)
            if not match:
                continue
            user, db, msg = match["user"], match["db"], match["msg"]
            if _LOGIN_FAILED.search(msg) and user not in roles and user not in others:
                what = f"a login as {user or 'an unknown role'} to database {db or '?'} was refused ({msg})"
            elif user in roles and db and db not in databases:
                what = f"tried something in database {db}: {msg}"
            elif user in roles and _OUTSIDE.search(msg) and not _own_database_refused(msg, databases):
                what = f"tried something outside its database and was refused: {msg}"
            else:
                continue
            incident = Incident("attempt", what)
            if all(i.message != incident.message for i in found):
                found.append(incident)
        return found


# ---- answers saved from the wrong cell -----------------------------------------------------------

class AnswerGuard:
    """After each cell, puts back any answer the cell saved for an exercise other than its own."""

    def __init__(self, server: Server, dbname: str, regions: list[str | None]):
        self.server = server
        self.dbname = dbname
        self.regions = regions
        self.saved: dict[str, tuple] = {}
        self.saved = self._read()

    def _read(self) -> dict[str, tuple]:
        try:
            with self.server.connect(self.dbname) as conn:
                rows = conn.execute("SELECT exercise, answer_sql, value::text, saved_at FROM pgcourse.answers").fetchall()
        except psycopg.Error:  # unreadable for a moment: nothing is known to have changed
            return dict(self.saved)
        return {row[0]: row[1:] for row in rows}

    def after_cell(self, index: int | None) -> list[Incident]:
        """Compare with the answers before the cell; restore what it must not have changed."""
        now = self._read()
        allowed = self.regions[index] if index is not None else None
        incidents, restore = [], []
        for exercise in sorted(self.saved.keys() | now.keys()):
            if self.saved.get(exercise) == now.get(exercise) or exercise == allowed:
                continue
            restore.append(exercise)
            where = f"under exercise {allowed}" if allowed else "outside every exercise"
            action = "deleted" if exercise not in now else "saved"
            when = f"a cell {where}" if index is not None else "something after the last cell"
            incidents.append(Incident("misplaced_answer", f"{when} {action} an answer to {exercise}: refused, the "
                                      f"previous answer was kept", cell=None if index is None else index + 1,
                                      exercise=exercise))
        if restore:
            self._restore(restore)
            now = self._read()
        self.saved = now
        return incidents

    def _restore(self, exercises: list[str]) -> None:
        with self.server.connect(self.dbname) as conn, conn.transaction():
            conn.execute("DELETE FROM pgcourse.answers WHERE exercise = ANY(%s)", [exercises])
            for exercise in exercises:
                if exercise in self.saved:
                    answer_sql, value, saved_at = self.saved[exercise]
                    conn.execute("INSERT INTO pgcourse.answers (exercise, answer_sql, value, saved_at) "
                                 "VALUES (%s, %s, %s::jsonb, %s)", [exercise, answer_sql, value, saved_at])


# ---- the run's own role ----------------------------------------------------------------------------

def roles_created_by(server: Server, role: str) -> list[str]:
    """Roles ``role`` created (PostgreSQL 16+ gives a CREATEROLE creator ADMIN OPTION on them), and the roles
    those created in turn (a CREATEROLE role may create one with CREATEROLE): all of them are the run's."""
    with server.connect() as conn:
        return [r for (r,) in conn.execute(
            """WITH RECURSIVE made(oid) AS (
                   SELECT am.roleid FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
                   WHERE m.rolname = %s AND am.admin_option
                   UNION
                   SELECT am.roleid FROM pg_auth_members am JOIN made ON am.member = made.oid WHERE am.admin_option)
               SELECT r.rolname FROM made JOIN pg_roles r ON r.oid = made.oid
               WHERE NOT r.rolname LIKE 'pg\\_%%' AND r.rolname <> %s ORDER BY r.rolname""", [role, role]).fetchall()]


def drop_roles(server: Server, roles: list[str], databases: list[str]) -> list[str]:
    """Drop the run's roles after revoking what they hold in ``databases``; return what could not be dropped."""
    for dbname in databases:
        try:
            with server.connect(dbname) as conn:
                existing = [r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [roles])]
                if existing:
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.SQL(", ").join(sql.Identifier(r) for r in existing)))
        except psycopg.Error:
            continue
    left = []
    with server.connect() as conn:
        for role in roles:
            try:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            except psycopg.Error as exc:
                left.append(f"{role}: {str(exc).strip().splitlines()[0]}")
    return left
