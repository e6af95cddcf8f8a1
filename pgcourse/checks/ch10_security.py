"""Checks for chapter 10, Security.

Every check acts as the roles it is about: on a learner connection, inside a transaction that is
always rolled back, it grants the learner SET on the role (the learner created it, so it holds
ADMIN OPTION), ``SET LOCAL ROLE`` and tries what the role must and must not be able to do. The
session user stays the learner, so nothing met there (a policy's function, a trigger) runs with
more than the learner's rights, and the database is left as it was.

Roles are cluster-wide, so the chapter's roles carry the chapter database's name as a prefix
(``ch10_security_reader``; ``alice_ch10_security_reader`` in a workshop, the grading database's
name in a grade run): :func:`role_name`.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from psycopg import sql

from ..errors import PgcourseError
from . import CheckContext, exercise
from .context import act_as, attempt, first_line

# ---- the notebook's names and set-up (the notebook imports these; a test keeps them in use) ------


def role_name(database: str, name: str) -> str:
    """The chapter's role ``name`` for the chapter database ``database``: ``<database>_<name>``."""
    return f"{database}_{name}"


#: 10.1: what the notebook's harness cell passes to the learner's ``recent_orders(conn, user_id, sort)``.
#: (label, user_id, sort): "ok" inputs must return the right rows; the others must be refused or read as data.
INJECTION_USER = 663  # 27 orders in the tiny dataset, 6,438 in small
INJECTION_INPUTS: tuple[tuple[str, str, str], ...] = (
    ("ok newest", str(INJECTION_USER), "created_at"),
    ("ok largest", str(INJECTION_USER), "total_amount"),
    ("crafted user id", f"{INJECTION_USER} OR true", "created_at"),
    ("crafted union", "0 UNION ALL SELECT id, 0 FROM users --", "created_at"),
    ("crafted quote", f"{INJECTION_USER}' OR '1'='1", "created_at"),
    ("crafted sort", str(INJECTION_USER), "created_at LIMIT 1000 --"),
    ("crafted sort quote", str(INJECTION_USER), "created_at\" LIMIT 1000 --"),
)
SORT_COLUMNS = ("created_at", "total_amount")


def try_inputs(function, conn: psycopg.Connection) -> dict[str, Any]:
    """Call ``function(conn, user_id, sort)`` on every input of 10.1; what came back, as JSON for the check.

    Rows are kept as ``[[id, total_amount], ...]``; a refusal (any exception) as ``{"refused": "ErrorClass"}``.
    Each call runs in a transaction rolled back afterwards, so an injected statement changes nothing.
    """
    results: dict[str, Any] = {}
    for label, user_id, sort in INJECTION_INPUTS:
        try:
            with conn.transaction(force_rollback=True):
                rows = function(conn, user_id, sort)
            results[label] = [[int(r[0]), str(r[1])] for r in (rows or [])]
        except Exception as exc:  # any refusal counts: a database error, a ValueError from an allow-list...
            results[label] = {"refused": type(exc).__name__}
    return results


#: 10.3: a legacy table whose id comes from a sequence (bigserial), unlike the dataset's identity columns.
COUPONS_SETUP = """DROP TABLE IF EXISTS coupons;
CREATE TABLE coupons (
    id       bigserial PRIMARY KEY,
    code     text NOT NULL UNIQUE,
    discount numeric(5,2) NOT NULL
);
INSERT INTO coupons (code, discount) VALUES ('WELCOME10', 10), ('SPRING15', 15);"""

#: 10.6: the application's login sessions: an unguessable token per signed-in end user.
SESSIONS_SETUP = """DROP TABLE IF EXISTS app_sessions;
CREATE TABLE app_sessions (
    token   text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    user_id bigint NOT NULL
);
REVOKE ALL ON app_sessions FROM PUBLIC;"""

#: 10.8: the application's accounts, and the sign-ups the notebook's harness cell makes.
ACCOUNTS_SETUP = """DROP TABLE IF EXISTS app_accounts;
CREATE TABLE app_accounts (
    username      text PRIMARY KEY,
    password_hash text NOT NULL
);"""
SIGNUPS: tuple[tuple[str, str], ...] = (
    ("ada", "correct horse battery staple"),
    ("grace", "correct horse battery staple"),
    ("linus", "Tr0ub4dor&3"),
)

#: 10.9: the guide's audit table (its types kept).
AUDIT_SETUP = """DROP TABLE IF EXISTS audit_log;
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    operation  text NOT NULL,
    user_name  text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    old_data   jsonb,
    new_data   jsonb
);"""

# ---- helpers -------------------------------------------------------------------------------------


def _role(ctx: CheckContext, name: str, exercise_id: str | None = None) -> str:
    """The chapter's role ``name``; fail, naming it, when it does not exist (yet)."""
    role = role_name(ctx.chapter.database, name)
    where = f" (exercise {exercise_id})" if exercise_id and exercise_id != ctx.exercise_id else ""
    ctx.expect(ctx.value("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]) is not None,
               f"there is no role {role}{where}",
               f"create it with role('{name}') in the exercise's cell: roles carry your chapter database's name")
    return role


def _refused(conn: psycopg.Connection, query: Any, params: Any = None) -> bool:
    """True when the statement fails for lack of privileges (run in a savepoint)."""
    error = attempt(conn, query, params)
    return isinstance(error, psycopg.errors.InsufficientPrivilege)


def _allowed(ctx: CheckContext, conn: psycopg.Connection, who: str, what: str, query: Any, params: Any = None) -> None:
    error = attempt(conn, query, params)
    ctx.expect(error is None, f"{who} cannot {what}: {first_line(error) if error else ''}",
               "GRANT the privilege it needs (and USAGE on the schema)")


def _denied(ctx: CheckContext, conn: psycopg.Connection, who: str, what: str, query: Any, params: Any = None) -> None:
    error = attempt(conn, query, params)
    ctx.expect(error is not None, f"{who} can {what}; it must be refused",
               "grant only what the task lists (no ALL, no ON ALL TABLES)")
    ctx.expect(isinstance(error, psycopg.errors.InsufficientPrivilege),
               f"{who} trying to {what} failed, but not for lack of privileges: {first_line(error)}")


def _reads_the_shop(ctx: CheckContext, conn: psycopg.Connection, role: str) -> None:
    """What the reader of 10.2 reads (and its members with it): the catalogue, orders, three columns of users."""
    for table in ("products", "orders", "order_items"):
        _allowed(ctx, conn, role, f"read {table}", f"SELECT * FROM {table} LIMIT 1")
    _allowed(ctx, conn, role, "read users (id, username, country_code)", "SELECT id, username, country_code FROM users LIMIT 1")
    for column in ("email", "password_hash"):
        _denied(ctx, conn, role, f"read users.{column}", f"SELECT {column} FROM users LIMIT 1")


def _nothing_else(ctx: CheckContext, role: str, allowed: set[str]) -> None:
    """Fail when ``role`` holds any privilege on a table of schema public outside ``allowed``."""
    extra = [t for (t,) in ctx.rows(
        """SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             AND NOT c.relispartition AND NOT c.relname = ANY(%s)
             AND has_table_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN')
           ORDER BY 1""", [sorted(allowed), role])]
    ctx.expect(not extra, f"{role} also has privileges on {', '.join(extra)}: the task grants it nothing there",
               "grant table by table what the task lists (not ON ALL TABLES), and REVOKE the rest")


def _first_order(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT min(id) FROM orders").fetchone()[0]


# ---- 10.1 ------------------------------------------------------------------------------------------

@exercise("10.1", "Fix the injectable query: parameters for values, psycopg.sql for the column")
def injection(ctx: CheckContext) -> str:
    """Parts: (a) the harness's results are saved; (b) the two honest inputs return the user's 5 orders with
    the largest created_at / total_amount, newest or largest first, as (id, total_amount); (c) every crafted
    input is refused or read as data (no rows of other users, never more than 5 rows, no rows at all for a
    user id that is not a number)."""
    results = ctx.saved_value()
    ctx.expect(isinstance(results, dict), "the saved answer is not the harness's results",
               "run the cell `pgcourse.answer(\"10.1\", try_inputs(recent_orders, ch.conn()))` under your function")
    for label, user_id, sort in INJECTION_INPUTS:
        ctx.expect(label in results, f"the saved results have nothing for the input {label!r}",
                   "run the harness cell again after your function")
        got = results[label]
        if label.startswith("ok"):
            expected = [v for (v,) in ctx.rows(sql.SQL("SELECT o.{0}::text AS v FROM orders o WHERE o.user_id = %s "
                                                       "ORDER BY o.{0} DESC LIMIT 5").format(sql.Identifier(sort)), [INJECTION_USER])]
            if len(expected) < 5:
                raise PgcourseError(f"user {INJECTION_USER} has fewer than 5 orders in this dataset: 10.1 cannot be checked here")
            ctx.expect(not isinstance(got, dict), f"the honest input user_id={user_id!r}, sort={sort!r} was refused "
                       f"({got.get('refused') if isinstance(got, dict) else ''})",
                       "values go in as parameters (%s), the column name through sql.Identifier")
            ids = [int(r[0]) for r in got]
            found = dict((i, (u, v)) for i, u, v in ctx.rows(
                sql.SQL("SELECT id, user_id, {}::text FROM orders WHERE id = ANY(%s)").format(sql.Identifier(sort)), [ids]))
            values = [found[i][1] if i in found else None for i in ids]
            right = (len(set(ids)) == len(ids) and all(i in found and found[i][0] == INJECTION_USER for i in ids)
                     and values == expected)
            ctx.expect(right, f"user_id={user_id!r}, sort={sort!r} returned the orders {ids}, whose {sort} are {values}; "
                       f"expected the user's 5 orders with the largest {sort}, largest first ({expected})",
                       "ORDER BY the chosen column DESC, LIMIT 5")
            continue
        if isinstance(got, dict):
            continue  # refused: fine
        rows = [(int(r[0]), str(r[1])) for r in got]
        ctx.expect(len(rows) <= 5, f"the crafted input {label!r} (user_id={user_id!r}, sort={sort!r}) returned "
                   f"{len(rows)} rows: it ran as SQL, not as data",
                   "pass values as parameters and build the column name with sql.Identifier (or an allow-list); "
                   "escaping quotes by hand does not protect a number or a column name")
        if rows and not user_id.isdigit():
            ctx.fail(f"the crafted user id {user_id!r} returned {len(rows)} rows: it ran as SQL, not as data",
                     "pass the user id as a parameter (%s): the server then reads it as one value; escaping quotes by hand "
                     "does not help where the input is not inside quotes")
        if rows:
            owners = {r[0] for r in ctx.rows("SELECT user_id FROM orders WHERE id = ANY(%s)", [[r[0] for r in rows]])}
            ctx.expect(owners <= {INJECTION_USER}, f"the crafted input {label!r} returned other users' orders",
                       "parameters for values, sql.Identifier for the column name")
    return "honest inputs return the right orders; every crafted input was refused or read as data"


# ---- 10.2 ------------------------------------------------------------------------------------------

@exercise("10.2", "A read-only group role with column privileges")
def reader(ctx: CheckContext) -> str:
    """Parts: (a) role <db>_reader exists and cannot log in; (b) it can SELECT products, orders and order_items;
    (c) on users only id, username and country_code (not email, not password_hash); (d) it cannot INSERT,
    UPDATE or DELETE orders; (e) it cannot read documents; (f) nothing else: no privilege on any other table of
    schema public."""
    role = _role(ctx, "reader")
    ctx.expect(not ctx.value("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [role]),
               f"{role} can log in; a group role carries privileges, people and applications log in as its members",
               f"ALTER ROLE ... NOLOGIN (or CREATE ROLE ... NOLOGIN)")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        act_as(conn, role)
        _reads_the_shop(ctx, conn, role)
        first = _first_order(conn)
        _denied(ctx, conn, role, "update orders", "UPDATE orders SET status = status WHERE id = %s", [first])
        _denied(ctx, conn, role, "delete orders", "DELETE FROM orders WHERE id = %s", [first])
        _denied(ctx, conn, role, "insert orders", "INSERT INTO orders (user_id, order_number, total_amount) "
                "VALUES (1, 'CHECK-10.2', 1)")
        _denied(ctx, conn, role, "read documents", "SELECT * FROM documents LIMIT 1")
    _nothing_else(ctx, role, {"products", "orders", "order_items", "users"})
    return f"{role} reads products, orders, order_items and three columns of users, and changes nothing"


# ---- 10.3 ------------------------------------------------------------------------------------------

@exercise("10.3", "A writer that inherits the reader's rights, plus sequences")
def writer(ctx: CheckContext) -> str:
    """Parts: (a) role <db>_writer exists, cannot log in, and is a member of <db>_reader that inherits its
    privileges; (b) it reads what the reader reads (and still not users.email nor password_hash); (c) it can
    INSERT and UPDATE orders and INSERT order_items; (d) it cannot DELETE orders nor UPDATE products; (e) it can
    INSERT into coupons, whose id comes from a sequence (USAGE on it); (f) no privilege on any other table of
    schema public (it reads what the reader reads, and no more)."""
    reader_role = _role(ctx, "reader", "10.2")
    role = _role(ctx, "writer")
    ctx.expect(ctx.value("SELECT to_regclass('public.coupons') IS NOT NULL"), "there is no table coupons",
               "run the set-up cell of exercise 10.3 (it creates coupons)")
    ctx.expect(not ctx.value("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [role]),
               f"{role} can log in; make it a group role (NOLOGIN)")
    ctx.expect(ctx.value("SELECT pg_has_role(%s, %s, 'USAGE')", [role, reader_role]),
               f"{role} does not have the privileges of {reader_role}",
               f"GRANT the reader role TO the writer (a member inherits its privileges)")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        act_as(conn, role)
        _reads_the_shop(ctx, conn, role)
        first = _first_order(conn)
        _allowed(ctx, conn, role, "insert orders", "INSERT INTO orders (user_id, order_number, total_amount) "
                 "VALUES ((SELECT min(id) FROM users), 'CHECK-10.3', 1)")
        _allowed(ctx, conn, role, "update orders", "UPDATE orders SET status = status WHERE id = %s", [first])
        _allowed(ctx, conn, role, "insert order_items", "INSERT INTO order_items (order_id, product_id, quantity, unit_price) "
                 "VALUES (%s, (SELECT min(id) FROM products), 1, 1)", [first])
        _denied(ctx, conn, role, "delete orders", "DELETE FROM orders WHERE id = %s", [first])
        _denied(ctx, conn, role, "update products", "UPDATE products SET price = price WHERE id = (SELECT min(id) FROM products)")
        error = attempt(conn, "INSERT INTO coupons (code, discount) VALUES ('CHECK-10.3', 5)")
        if error is not None and "coupons_id_seq" in str(error):
            ctx.fail(f"{role} can insert into coupons but not take the next id: {first_line(error)}",
                     "a serial column's default calls nextval(): GRANT USAGE ON SEQUENCE coupons_id_seq")
        ctx.expect(error is None, f"{role} cannot insert into coupons: {first_line(error) if error else ''}",
                   "GRANT INSERT on coupons and USAGE on its sequence")
    _nothing_else(ctx, role, {"products", "orders", "order_items", "users", "coupons"})
    return f"{role} reads like {reader_role}, inserts and updates orders, takes coupon ids, deletes nothing"


# ---- 10.4 ------------------------------------------------------------------------------------------

@exercise("10.4", "A migrator for schema app, with default privileges")
def migrator(ctx: CheckContext) -> str:
    """Parts: (a) role <db>_migrator exists; (b) it can create a table in schema app; (c) neither the reader
    nor the writer can create one there, nor in public; (d) a table the migrator creates later is readable by
    the reader and the writer can INSERT and UPDATE it, with no GRANT after the CREATE (default privileges);
    (e) the reader cannot write to it."""
    reader_role = _role(ctx, "reader", "10.2")
    writer_role = _role(ctx, "writer", "10.3")
    role = _role(ctx, "migrator")
    ctx.expect(ctx.value("SELECT to_regnamespace('app') IS NOT NULL"), "there is no schema app",
               "run the set-up cell of exercise 10.4 (CREATE SCHEMA app)")
    conn = ctx.learner
    table = "app.check_10_4_" + secrets.token_hex(4)
    with conn.transaction(force_rollback=True):
        for who in (reader_role, writer_role):
            act_as(conn, who)
            for schema in ("app", "public"):
                _denied(ctx, conn, who, f"create a table in schema {schema}", f"CREATE TABLE {schema}.check_10_4_x (id int)")
        act_as(conn, role)
        _allowed(ctx, conn, role, "create a table in schema app", f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        act_as(conn, reader_role)
        error = attempt(conn, f"SELECT * FROM {table}")
        ctx.expect(error is None, f"{reader_role} cannot read a table {role} creates: {first_line(error) if error else ''}",
                   "ALTER DEFAULT PRIVILEGES FOR ROLE <migrator> IN SCHEMA app GRANT SELECT ON TABLES TO <reader> "
                   "(and USAGE on the schema)")
        _denied(ctx, conn, reader_role, "insert into a new table of app", f"INSERT INTO {table} VALUES (1, 'x')")
        act_as(conn, writer_role)
        error = attempt(conn, f"INSERT INTO {table} VALUES (2, 'x')")
        ctx.expect(error is None, f"{writer_role} cannot insert into a table {role} creates: {first_line(error) if error else ''}",
                   "ALTER DEFAULT PRIVILEGES FOR ROLE <migrator> IN SCHEMA app GRANT INSERT, UPDATE ON TABLES TO <writer>")
        _allowed(ctx, conn, writer_role, "update a new table of app", f"UPDATE {table} SET note = 'y'")
    return f"{role} creates tables in app; the reader reads them and the writer writes them without another GRANT"


# ---- 10.5 / 10.6 -----------------------------------------------------------------------------------

def _documents_state(ctx: CheckContext) -> None:
    enabled, forced = ctx.rows("SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                               "WHERE oid = 'public.documents'::regclass")[0]
    ctx.expect(enabled, "row-level security is not enabled on documents", "ALTER TABLE documents ENABLE ROW LEVEL SECURITY")
    ctx.expect(forced, "row-level security is not forced on documents: its owner (you) still sees every row",
               "ALTER TABLE documents FORCE ROW LEVEL SECURITY")


def _two_users(conn: psycopg.Connection) -> tuple[int, int]:
    """Two owners that both have private and public documents (found as the owner with RLS lifted)."""
    rows = conn.execute("""SELECT owner_id FROM documents GROUP BY owner_id
                           HAVING count(*) FILTER (WHERE visibility = 'private') > 0
                              AND count(*) FILTER (WHERE visibility = 'public') > 0
                           ORDER BY count(*) DESC, owner_id LIMIT 2""").fetchall()
    return rows[0][0], rows[1][0]


def _truth(conn: psycopg.Connection) -> dict[str, Any]:
    """Counts with every row visible: RLS lifted for the owner in a savepoint that is rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY")
        x, y = _two_users(conn)
        visible = conn.execute("SELECT count(*) FROM documents WHERE owner_id = %s OR visibility = 'public'", [x]).fetchone()[0]
        public = conn.execute("SELECT count(*) FROM documents WHERE visibility = 'public'").fetchone()[0]
        own = conn.execute("SELECT min(id) FROM documents WHERE owner_id = %s AND visibility = 'public'", [x]).fetchone()[0]
        other = conn.execute("SELECT min(id) FROM documents WHERE owner_id = %s AND visibility = 'private'", [y]).fetchone()[0]
        other_public = conn.execute("SELECT min(id) FROM documents WHERE owner_id <> %s AND visibility = 'public'",
                                    [x]).fetchone()[0]
    return {"x": x, "y": y, "visible": visible, "public": public, "own": own, "other": other, "other_public": other_public}


def _as_end_user(conn: psycopg.Connection, user_id: int | None, *, token: bool = True, user_setting: bool = True) -> None:
    """Set, transaction-locally, what the application sets for end user ``user_id``: the weak setting
    (``app.user_id``) and/or a session token of theirs (when app_sessions exists: 10.6)."""
    if user_id is None:
        return  # a fresh connection: neither is set
    conn.execute("SELECT set_config('app.user_id', %s, true), set_config('app.session', '', true)",
                 [str(user_id) if user_setting else ""])
    if user_id is not None and token and conn.execute("SELECT to_regclass('public.app_sessions')").fetchone()[0]:
        role = conn.execute("SELECT current_user").fetchone()[0]
        conn.execute("RESET ROLE")
        value = secrets.token_hex(16)
        conn.execute("INSERT INTO app_sessions (token, user_id) VALUES (%s, %s)", [value, user_id])
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        conn.execute("SELECT set_config('app.session', %s, true)", [value])


def _count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM documents").fetchone()[0]


@exercise("10.5", "Row-level security on documents: forced, one policy per command")
def rls(ctx: CheckContext) -> str:
    """Parts, as the owner (FORCE applies to it) acting for end user X: (a) RLS enabled and forced; (b) X sees
    their own documents and every public one, nothing else; (c) with no user set (never set, or '' as after a
    transaction that set it locally): only public documents, no error; (d) X can insert a document of their own but not one owned by Y; (e) X can update their own
    document but not change its owner to Y, and updating Y's private document or anyone else's public one
    changes 0 rows; (f) DELETE
    removes nothing, not even X's own document."""
    ctx.expect(ctx.table_exists("documents"), "there is no table documents", "`pgcourse reset 10` gives a fresh database")
    _documents_state(ctx)
    conn = ctx.learner
    truth = _truth(conn)
    x, y = truth["x"], truth["y"]
    with conn.transaction(force_rollback=True):
        _as_end_user(conn, None)
        error = attempt(conn, "SELECT count(*) FROM documents")
        ctx.expect(error is None, f"with no end user set, reading documents fails: {first_line(error) if error else ''}",
                   "current_setting('app.user_id', true) returns NULL instead of failing when unset")
        n = _count(conn)
        ctx.expect(n == truth["public"], f"with no end user set, {n} documents are visible; expected the "
                   f"{truth['public']} public ones", "USING (visibility = 'public' OR owner_id = ...)")
        with conn.transaction():  # what a pooled connection holds after a request that set the user locally
            conn.execute("SELECT set_config('app.user_id', '', true)")
            error = attempt(conn, "SELECT count(*) FROM documents")
            n = None if error else _count(conn)
        ctx.expect(error is None, "with app.user_id empty (as it is after a transaction that set it locally), reading "
                   f"documents fails: {first_line(error) if error else ''}",
                   "nullif(current_setting('app.user_id', true), '')::bigint: '' is no user, not an error")
        ctx.expect(n == truth["public"], f"with app.user_id empty, {n} documents are visible; expected the "
                   f"{truth['public']} public ones")
        _as_end_user(conn, x)
        n = _count(conn)
        ctx.expect(n == truth["visible"], f"acting for user {x}: {n} documents visible; expected {truth['visible']} "
                   "(their own and the public ones)", "FOR SELECT USING (owner_id = <the user> OR visibility = 'public')")
        ins = "INSERT INTO documents (owner_id, title, body) VALUES (%s, 'check 10.5', 'x')"
        error = attempt(conn, ins, [x])
        ctx.expect(error is None, f"user {x} cannot insert a document of their own: {first_line(error) if error else ''}",
                   "a FOR INSERT policy WITH CHECK (owner_id = <the user>)")
        error = attempt(conn, ins, [y])
        ctx.expect(error is not None, f"user {x} can insert a document owned by user {y}",
                   "FOR INSERT ... WITH CHECK (owner_id = <the user>)")
        updated = conn.execute("UPDATE documents SET title = title WHERE id = %s", [truth["own"]]).rowcount
        ctx.expect(updated == 1, f"user {x} cannot update their own document {truth['own']} (0 rows changed)",
                   "a FOR UPDATE policy USING (owner_id = <the user>)")
        error = attempt(conn, "UPDATE documents SET owner_id = %s WHERE id = %s", [y, truth["own"]])
        ctx.expect(error is not None, f"user {x} can give their document to user {y} (UPDATE ... SET owner_id)",
                   "FOR UPDATE ... WITH CHECK (owner_id = <the user>)")
        for doc, what in ((truth["other"], f"user {y}'s private document"), (truth["other_public"], "someone else's public document")):
            try:
                with conn.transaction():
                    changed = conn.execute("UPDATE documents SET title = title || '.' WHERE id = %s", [doc]).rowcount
            except psycopg.errors.InsufficientPrivilege:  # refused by a WITH CHECK: not changed either
                changed = 0
            ctx.expect(changed == 0, f"user {x} changed {what} ({doc})",
                       "FOR UPDATE USING (owner_id = <the user>): public means readable, not writable")
        deleted = conn.execute("DELETE FROM documents WHERE id = %s", [truth["own"]]).rowcount
        ctx.expect(deleted == 0, f"user {x} deleted their own document {truth['own']}; DELETE must remove nothing",
                   "no FOR DELETE policy (and no FOR ALL): rows no DELETE policy allows are not deleted")
    return f"user {x} sees {truth['visible']} documents, writes only their own, deletes none; nobody set: {truth['public']}"


@exercise("10.6", "A tenant only the application can set")
def tenant_guard(ctx: CheckContext) -> str:
    """Parts, acting as role <db>_app: (a) it exists and can read documents; (b) it cannot read app_sessions;
    (c) with a valid session token of user X (app.session) it sees X's and the public documents; (d) setting
    app.user_id itself, without a token, shows only public documents (the attack fails); (e) a made-up token
    shows only public documents; (f) every SECURITY DEFINER function of the database (any schema, extensions' aside) has a fixed search_path."""
    role = _role(ctx, "app")
    ctx.expect(ctx.table_exists("app_sessions"), "there is no table app_sessions", "run the set-up cell of exercise 10.6")
    _documents_state(ctx)
    loose = [r[0] for r in ctx.rows(
        """SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.prosecdef
           AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                                      AND d.deptype = 'e')
           AND NOT EXISTS (SELECT FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search\\_path=%%')""")]
    ctx.expect(not loose, f"the SECURITY DEFINER function {', '.join(loose)} has no fixed search_path: a caller's own "
               "objects could stand in for the ones it names", "ALTER FUNCTION ... SET search_path = pg_catalog, public")
    conn = ctx.learner
    truth = _truth(conn)
    x = truth["x"]
    with conn.transaction(force_rollback=True):
        act_as(conn, role)
        ctx.expect(_refused(conn, "SELECT * FROM app_sessions LIMIT 1"),
                   f"{role} can read app_sessions: anyone who can send SQL as the application reads every token",
                   "grant the application nothing on app_sessions; read it in a SECURITY DEFINER function")
        error = attempt(conn, "SELECT count(*) FROM documents")
        ctx.expect(error is None, f"{role} cannot read documents: {first_line(error) if error else ''}",
                   "GRANT SELECT, INSERT, UPDATE ON documents TO the app role")
        _as_end_user(conn, x, token=False)
        n = _count(conn)
        ctx.expect(n == truth["public"], f"as {role}, setting app.user_id = {x} itself (no token) shows {n} documents: "
                   f"the client still picks whose rows it reads", "base the policies on the session token, not on app.user_id")
        _as_end_user(conn, x, user_setting=False)
        n = _count(conn)
        ctx.expect(n == truth["visible"], f"as {role} with a session token of user {x}: {n} documents visible; expected "
                   f"{truth['visible']} (their own and the public ones)",
                   "the policies take the user from app_sessions through the token in app.session")
        conn.execute("SELECT set_config('app.user_id', '', true), set_config('app.session', %s, true)", [secrets.token_hex(16)])
        n = _count(conn)
        ctx.expect(n == truth["public"], f"as {role} with a made-up token, {n} documents are visible; expected only the "
                   f"{truth['public']} public ones")
    return f"{role} sees user {x}'s documents only with their session token; setting the user id itself shows none"


# ---- 10.7 ------------------------------------------------------------------------------------------

POOL_CHOICES = ("none", "the other tenant's", "every row")


@exercise("10.7", "Predict: what a pooled connection remembers")
def pool_prediction(ctx: CheckContext) -> str:
    """Parts: (a) a prediction is saved, one of the choices; (b) it matches what the server does: a session-level
    SET made by request A is still in force when request B borrows the same connection."""
    value = ctx.saved_value()
    choice = str(value).strip().lower()
    ctx.expect(choice in POOL_CHOICES, f"your prediction {value!r} is not one of {', '.join(map(repr, POOL_CHOICES))}")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        conn.execute("SET app.pool_check = 'tenant A'")  # request A, session-level: undone only by the rollback
        seen = conn.execute("SELECT current_setting('app.pool_check', true)").fetchone()[0]
    truth = "the other tenant's" if seen == "tenant A" else "none"
    ctx.expect(choice == truth, f"you predicted {choice!r}; request B saw {truth}: a session-level SET stays on the "
               "connection until RESET, and the pool hands that connection to the next request",
               "set the tenant with SET LOCAL or set_config(..., true) inside each request's transaction")
    return "a session-level SET outlives the request that made it"


# ---- 10.8 ------------------------------------------------------------------------------------------

@exercise("10.8", "Store passwords as argon2id hashes")
def passwords(ctx: CheckContext) -> str:
    """Parts: (a) every sign-up of the harness is in app_accounts; (b) each hash verifies against its password
    with argon2; (c) it is argon2id with at least the OWASP minimum cost (19 MiB, 2 passes); (d) two accounts
    with the same password get different hashes (a salt); (e) no hash contains its password."""
    from argon2 import PasswordHasher, Type, extract_parameters
    from argon2.exceptions import InvalidHashError, VerificationError

    ctx.expect(ctx.table_exists("app_accounts"), "there is no table app_accounts", "run the set-up cell of exercise 10.8")
    stored = dict(ctx.rows("SELECT username, password_hash FROM app_accounts WHERE username = ANY(%s)",
                           [[u for u, _ in SIGNUPS]]))
    hasher = PasswordHasher()
    for username, password in SIGNUPS:
        ctx.expect(username in stored, f"there is no account {username!r} in app_accounts",
                   "run the harness cell under your register() function")
        value = stored[username]
        ctx.expect(password not in value, f"{username}'s stored hash contains the password itself")
        try:
            params = extract_parameters(value)
            hasher.verify(value, password)
        except InvalidHashError:
            kind = ("a hex digest (a fast hash, brute-forced at billions a second)" if all(c in "0123456789abcdef" for c in value)
                    else "not an argon2 hash")
            ctx.fail(f"{username}'s stored value {value[:24]}... is {kind}", "PasswordHasher().hash(password) from argon2")
        except VerificationError:
            ctx.fail(f"{username}'s hash does not verify against their password", "hash the password itself, unchanged")
        ctx.expect(params.type is Type.ID, f"{username}'s hash is argon2{params.type.name.lower()}; use argon2id",
                   "PasswordHasher() makes argon2id")
        ctx.expect(params.memory_cost >= 19456 and params.time_cost >= 2,
                   f"{username}'s hash costs {params.memory_cost} KiB and {params.time_cost} passes: below the minimum "
                   "(19 MiB, 2 passes)", "keep PasswordHasher()'s defaults (64 MiB, 3 passes)")
    ctx.expect(stored["ada"] != stored["grace"], "ada and grace have the same password and the same hash: no salt",
               "PasswordHasher().hash() draws a random salt for every hash")
    return "argon2id hashes, salted, at least 19 MiB and 2 passes, verifying against their passwords"


# ---- 10.9 ------------------------------------------------------------------------------------------

@exercise("10.9", "An audit trigger with old and new rows as JSONB")
def audit(ctx: CheckContext) -> str:
    """Parts: (a) an UPDATE of an order writes one audit_log row: table_name 'orders', operation 'UPDATE', old_data
    and new_data with the old and new status; (b) an INSERT writes operation 'INSERT' with new_data (and no
    old_data); (c) a DELETE writes operation 'DELETE' with old_data (and no new_data); (d) user_name is the role
    that made the change: the learner for the learner's own changes, the writer for the writer's (after SET ROLE,
    which current_setting('role') names; current_user inside a SECURITY DEFINER function is its owner); (e) the changes themselves happen (the trigger does not cancel them);
    (f) the writer role (10.3), which has no privileges on audit_log, updates an order and
    the audit row is still written, and it cannot change or delete audit rows."""
    ctx.expect(ctx.table_exists("audit_log"), "there is no table audit_log", "run the set-up cell of exercise 10.9")
    conn = ctx.learner

    def new_rows(since: int) -> list[tuple]:
        return conn.execute("SELECT table_name, operation, user_name, old_data, new_data FROM audit_log "
                            "WHERE id > %s ORDER BY id", [since]).fetchall()

    with conn.transaction(force_rollback=True):
        me = conn.execute("SELECT current_user").fetchone()[0]
        last = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
        order_id, status = conn.execute("SELECT id, status FROM orders WHERE status <> 'cancelled' ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = %s", [order_id])
        now = conn.execute("SELECT status FROM orders WHERE id = %s", [order_id]).fetchone()[0]
        ctx.expect(now == "cancelled", f"an UPDATE of order {order_id} to 'cancelled' left it {now!r}: the trigger "
                   "cancelled the change", "a BEFORE trigger that returns NULL skips the row: use AFTER (or RETURN NEW/OLD)")
        rows = new_rows(last)
        ctx.expect(len(rows) == 1, f"an UPDATE of one order wrote {len(rows)} audit rows; expected 1",
                   "CREATE TRIGGER ... AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION ...")
        table, op, user, old, new = rows[0]
        ctx.expect((table, op) == ("orders", "UPDATE"), f"the audit row says table {table!r}, operation {op!r}; "
                   "expected 'orders', 'UPDATE'", "TG_TABLE_NAME and TG_OP")
        ctx.expect(isinstance(old, dict) and isinstance(new, dict) and old.get("status") == status
                   and new.get("status") == "cancelled",
                   f"after an UPDATE, old_data/new_data do not hold the old and new row (old status {status!r}, new 'cancelled')",
                   "to_jsonb(OLD) and to_jsonb(NEW)")
        ctx.expect(user == me, f"user_name is {user!r}; expected the role that made the change ({me})", "current_user")
        last = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
        inserted = conn.execute("INSERT INTO orders (user_id, order_number, total_amount) "
                                "VALUES ((SELECT min(id) FROM users), 'AUDIT-10.9', 1) RETURNING id").fetchone()
        ctx.expect(inserted is not None, "an INSERT into orders inserted nothing: the trigger cancelled it",
                   "a BEFORE trigger that returns NULL skips the row: use AFTER (or RETURN NEW)")
        new_id = inserted[0]
        rows = new_rows(last)
        ctx.expect(len(rows) == 1 and rows[0][1] == "INSERT" and rows[0][3] is None
                   and isinstance(rows[0][4], dict) and rows[0][4].get("id") == new_id,
                   "an INSERT is not audited as operation 'INSERT' with the new row in new_data (and old_data empty)",
                   "the trigger fires AFTER INSERT too; new_data = to_jsonb(NEW)")
        last = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
        deleted = conn.execute("DELETE FROM orders WHERE id = %s", [new_id]).rowcount
        ctx.expect(deleted == 1, "a DELETE from orders deleted nothing: the trigger cancelled it",
                   "a BEFORE trigger that returns NULL skips the row: use AFTER (or RETURN OLD)")
        rows = new_rows(last)
        ctx.expect(len(rows) == 1 and rows[0][1] == "DELETE" and rows[0][4] is None
                   and isinstance(rows[0][3], dict) and rows[0][3].get("id") == new_id,
                   "a DELETE is not audited as operation 'DELETE' with the old row in old_data (and new_data empty)",
                   "the trigger fires AFTER DELETE too; old_data = to_jsonb(OLD)")
        writer_role = _role(ctx, "writer", "10.3")
        last = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
        act_as(conn, writer_role)
        error = attempt(conn, "UPDATE orders SET status = 'refunded' WHERE id = %s", [order_id])
        ctx.expect(error is None, f"{writer_role} cannot update an order any more: {first_line(error) if error else ''}",
                   "the audit function writes audit_log with its owner's rights: SECURITY DEFINER, "
                   "with a fixed search_path")
        ctx.expect(_refused(conn, "UPDATE audit_log SET operation = 'X'") and _refused(conn, "DELETE FROM audit_log"),
                   f"{writer_role} can change or delete audit rows", "grant the writer nothing on audit_log")
        conn.execute("RESET ROLE")
        rows = new_rows(last)
        ctx.expect(len(rows) == 1 and rows[0][1] == "UPDATE",
                   f"{writer_role}'s UPDATE wrote {len(rows)} audit rows; expected 1")
        ctx.expect(rows[0][2] == writer_role, f"{writer_role}'s UPDATE is recorded as made by {rows[0][2]!r}: inside a "
                   "SECURITY DEFINER function current_user is the function's owner, and session_user the role that "
                   "logged in (you)", "user_name = coalesce(nullif(current_setting('role'), 'none'), session_user)")
    return "INSERT, UPDATE and DELETE on orders are audited with the rows as JSONB, also for the writer"
