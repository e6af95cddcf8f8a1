"""Chapter 10 checks, both ways: correct answers (also written differently) pass; typical wrong ones fail
with the intended reason. Each test gets its own copy of the tiny dataset and a learner role of its own,
and acts like the notebook: roles named after the chapter database, created by the learner.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgcourse import chapter as chapter_db
from pgcourse.chapters import get
from pgcourse.checks.ch10_security import (ACCOUNTS_SETUP, AUDIT_SETUP, COUPONS_SETUP, SESSIONS_SETUP, SIGNUPS,
                                           role_name, try_inputs)
from pgcourse.magics import save_answer
from tests.checks.helpers import check, failed, passed

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "10_security.ipynb"
INFO = get("10")


def open_chapter(server, learner: str = "t", info=INFO) -> chapter_db.Chapter:
    """A chapter database of its own (10 unless ``info`` says), worked in by a learner role of its own (like a
    workshop learner)."""
    tag = uuid.uuid4().hex[:8]
    dbname, role = f"{learner}_ch{info.number}_{info.slug}_{tag}", f"{learner}_ch{info.number}_{tag}"
    password = uuid.uuid4().hex
    chapter_db.create_database(server, info, dbname=dbname, size="tiny", role=role, password=password)
    return chapter_db.Chapter(info=info, server=server, database=dbname, role=role, password=password)


def close_chapter(server, ch: chapter_db.Chapter) -> None:
    if ch._learner_conn is not None:
        ch._learner_conn.close()
    chapter_db.drop_database(server, ch.database)
    chapter_db.drop_created_roles(server, ch.role, ch.database)
    with server.connect() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ch.role)))


@pytest.fixture
def ch(course_server):
    chapter = open_chapter(course_server)
    yield chapter
    close_chapter(course_server, chapter)


# ---- the notebook's helpers, as the learner ---------------------------------------------------------

def role(ch, name: str) -> str:
    return role_name(ch.database, name)


def run(ch, statements: str) -> None:
    """Run SQL as the learner, {name} placeholders filled in as quoted role names (as the notebook's run())."""
    fields = {f for _, f, _, _ in string.Formatter().parse(statements) if f}
    ch.query(sql.SQL(statements).format(**{f: sql.Identifier(role(ch, f)) for f in fields}))


def fresh_role(ch, name: str, attributes: str = "NOLOGIN") -> None:
    if ch.query("SELECT 1 FROM pg_roles WHERE rolname = %s", [role(ch, name)]):
        run(ch, f"GRANT {{{name}}} TO CURRENT_USER WITH INHERIT TRUE, SET TRUE; DROP OWNED BY {{{name}}}; DROP ROLE {{{name}}}")
    run(ch, f"CREATE ROLE {{{name}}} {attributes}; GRANT {{{name}}} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not SOLUTION.exists(), reason="solution notebook not written yet")
def test_the_notebook_set_up_cells_are_the_ones_tested_here():
    cells = [_normal("".join(c["source"])) for c in json.loads(SOLUTION.read_text())["cells"] if c["cell_type"] == "code"]
    for setup in (COUPONS_SETUP, SESSIONS_SETUP, ACCOUNTS_SETUP, AUDIT_SETUP):
        assert any(_normal(setup) in cell for cell in cells), setup.splitlines()[1]


# ---- 10.1 injection -------------------------------------------------------------------------------

def allow_list(conn, user_id, sort):
    if sort not in ("created_at", "total_amount"):
        raise ValueError(sort)
    query = sql.SQL("SELECT id, total_amount FROM orders WHERE user_id = %s ORDER BY {} DESC LIMIT 5")
    return conn.execute(query.format(sql.Identifier(sort)), [user_id]).fetchall()


def identifier_only(conn, user_id, sort):
    query = sql.SQL("SELECT o.id, o.total_amount FROM orders AS o WHERE o.user_id = %(uid)s "
                    "ORDER BY {} DESC NULLS LAST, o.id LIMIT %(n)s").format(sql.Identifier("o", sort))
    return conn.execute(query, {"uid": int(user_id), "n": 5}).fetchall()


def unsafe(conn, user_id, sort):
    return conn.execute(f"SELECT id, total_amount FROM orders WHERE user_id = {user_id} ORDER BY {sort} DESC LIMIT 5").fetchall()


def escaped_by_hand(conn, user_id, sort):
    """The 'fix' of escaping quotes by hand."""
    return unsafe(conn, user_id.replace("'", "''"), sort.replace("'", "''"))


def quoted_and_escaped(conn, user_id, sort):
    """Quotes the user id (escaped) but pastes the escaped sort column: injectable through the column."""
    user_id, sort = user_id.replace("'", "''"), sort.replace("'", "''")
    return conn.execute(f"SELECT id, total_amount FROM orders WHERE user_id = '{user_id}' "
                        f"ORDER BY {sort} DESC LIMIT 5").fetchall()


def sort_as_parameter(conn, user_id, sort):
    return conn.execute("SELECT id, total_amount FROM orders WHERE user_id = %s ORDER BY %s DESC LIMIT 5",
                        [user_id, sort]).fetchall()


def ascending(conn, user_id, sort):
    query = sql.SQL("SELECT id, total_amount FROM orders WHERE user_id = %s ORDER BY {} LIMIT 5")
    return conn.execute(query.format(sql.Identifier(sort)), [user_id]).fetchall()


def int_cast_and_allow_list(conn, user_id, sort):
    """No parameter, but the id made a number first and the column from an allow-list: safe, so it passes."""
    column = {"created_at": "created_at", "total_amount": "total_amount"}[sort]
    return conn.execute(f"SELECT id, total_amount FROM orders WHERE user_id = {int(user_id)} "
                        f"ORDER BY {column} DESC LIMIT 5").fetchall()


def literal_and_identifier(conn, user_id, sort):
    query = sql.SQL("SELECT id, total_amount FROM orders WHERE user_id = {} ORDER BY {} DESC LIMIT 5")
    return conn.execute(query.format(sql.Literal(user_id), sql.Identifier(sort))).fetchall()


def column_as_raw_sql(conn, user_id, sort):
    """A parameter for the id, but the column pasted through sql.SQL (not sql.Identifier): still injectable."""
    query = sql.SQL("SELECT id, total_amount FROM orders WHERE user_id = %s ORDER BY {} DESC LIMIT 5")
    return conn.execute(query.format(sql.SQL(sort)), [user_id]).fetchall()


def six_rows(conn, user_id, sort):
    query = sql.SQL("SELECT id, total_amount FROM orders WHERE user_id = %s ORDER BY {} DESC LIMIT 6")
    return conn.execute(query.format(sql.Identifier(sort)), [user_id]).fetchall()


def _answer_10_1(ch, function) -> None:
    save_answer(ch, "10.1", value=try_inputs(function, ch.conn()))


@pytest.mark.parametrize("function", [allow_list, identifier_only, int_cast_and_allow_list, literal_and_identifier])
def test_10_1_parameters_and_identifiers_pass(ch, function):
    _answer_10_1(ch, function)
    passed(check(ch, "10.1"))


def test_10_1_nothing_saved_fails(ch):
    failed(check(ch, "10.1"), "no answer saved")


def test_10_1_the_string_built_query_fails(ch):
    _answer_10_1(ch, unsafe)
    failed(check(ch, "10.1"), "ran as SQL")


def test_10_1_escaping_quotes_by_hand_fails(ch):
    _answer_10_1(ch, escaped_by_hand)
    failed(check(ch, "10.1"), "ran as SQL", "escaping quotes by hand")


def test_10_1_a_quoted_id_with_a_pasted_column_fails(ch):
    _answer_10_1(ch, quoted_and_escaped)
    result = check(ch, "10.1")
    failed(result, "crafted")
    assert "sort" in result.message


def test_10_1_the_column_as_a_parameter_sorts_by_nothing_and_fails(ch):
    _answer_10_1(ch, sort_as_parameter)
    failed(check(ch, "10.1"), "largest")


def test_10_1_ascending_order_fails(ch):
    _answer_10_1(ch, ascending)
    failed(check(ch, "10.1"), "largest first")


def test_10_1_the_column_through_sql_sql_fails(ch):
    _answer_10_1(ch, column_as_raw_sql)
    failed(check(ch, "10.1"), "'crafted sort'", "ran as SQL", "sql.Identifier")


def test_10_1_six_rows_fail(ch):
    _answer_10_1(ch, six_rows)
    failed(check(ch, "10.1"), "5 orders", "LIMIT 5")


def test_10_1_an_unsolved_function_fails(ch):
    _answer_10_1(ch, lambda conn, user_id, sort: None)
    failed(check(ch, "10.1"), "returned the orders []")


# ---- 10.2 reader ---------------------------------------------------------------------------------

READER = """GRANT SELECT ON products, orders, order_items TO {reader};
GRANT SELECT (id, username, country_code) ON users TO {reader}"""


def _reader(ch, grants: str = READER, attributes: str = "NOLOGIN") -> None:
    fresh_role(ch, "reader", attributes)
    run(ch, grants)


def test_10_2_without_the_role_fails(ch):
    failed(check(ch, "10.2"), "there is no role", role(ch, "reader"))


def test_10_2_solution_passes(ch):
    _reader(ch)
    passed(check(ch, "10.2"))


def test_10_2_written_differently_passes(ch):
    _reader(ch, """GRANT SELECT ON TABLE public.products TO {reader};
                   GRANT SELECT ON TABLE public.orders, public.order_items TO {reader};
                   GRANT SELECT (username) ON users TO {reader};
                   GRANT SELECT (id, country_code) ON users TO {reader}""")
    passed(check(ch, "10.2"))


def test_10_2_all_tables_fails_on_the_emails(ch):
    _reader(ch, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}")
    failed(check(ch, "10.2"), "can read users.email")


def test_10_2_a_login_role_fails(ch):
    _reader(ch, attributes="LOGIN")
    failed(check(ch, "10.2"), "can log in", "NOLOGIN")


def test_10_2_missing_order_items_fails(ch):
    _reader(ch, READER.replace(", order_items", ""))
    failed(check(ch, "10.2"), "cannot read order_items")


def test_10_2_too_many_columns_fails(ch):
    _reader(ch, READER.replace("country_code)", "country_code, password_hash)"))
    failed(check(ch, "10.2"), "users.password_hash")


def test_10_2_writes_fail(ch):
    _reader(ch, READER + "; GRANT UPDATE ON orders TO {reader}")
    failed(check(ch, "10.2"), "can update orders")


def test_10_2_documents_fail(ch):
    _reader(ch, READER + "; GRANT SELECT ON documents TO {reader}")
    failed(check(ch, "10.2"), "can read documents")


def test_10_2_another_table_fails(ch):
    _reader(ch, READER + "; GRANT SELECT ON events TO {reader}")
    failed(check(ch, "10.2"), "also has privileges on events")


# ---- 10.3 writer ---------------------------------------------------------------------------------

WRITER = """GRANT {reader} TO {writer};
GRANT INSERT, UPDATE ON orders TO {writer};
GRANT INSERT ON order_items, coupons TO {writer};
GRANT USAGE ON SEQUENCE coupons_id_seq TO {writer}"""


def _writer(ch, grants: str = WRITER, attributes: str = "NOLOGIN") -> None:
    _reader(ch)
    ch.query(COUPONS_SETUP)
    fresh_role(ch, "writer", attributes)
    run(ch, grants)


def test_10_3_solution_passes(ch):
    _writer(ch)
    passed(check(ch, "10.3"))


def test_10_3_written_differently_passes(ch):
    _writer(ch, """GRANT {reader} TO {writer} WITH INHERIT TRUE;
                   GRANT INSERT ON orders TO {writer}; GRANT UPDATE ON TABLE orders TO {writer};
                   GRANT INSERT ON order_items TO {writer}; GRANT INSERT ON coupons TO {writer};
                   GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {writer}""")
    passed(check(ch, "10.3"))


def test_10_3_without_the_sequence_fails_and_names_it(ch):
    _writer(ch, WRITER.rsplit(";", 1)[0])
    failed(check(ch, "10.3"), "coupons_id_seq", "USAGE ON SEQUENCE")


def test_10_3_not_a_member_of_the_reader_fails(ch):
    _writer(ch, WRITER.replace("GRANT {reader} TO {writer};", "GRANT SELECT ON products, orders, order_items TO {writer};"))
    failed(check(ch, "10.3"), "does not have the privileges of")


def test_10_3_a_member_that_does_not_inherit_fails(ch):
    _writer(ch, WRITER.replace("TO {writer};", "TO {writer} WITH INHERIT FALSE;", 1))
    failed(check(ch, "10.3"), "does not have the privileges of")


def test_10_3_delete_fails(ch):
    _writer(ch, WRITER.replace("INSERT, UPDATE ON orders", "INSERT, UPDATE, DELETE ON orders"))
    failed(check(ch, "10.3"), "can delete orders")


def test_10_3_no_update_fails(ch):
    _writer(ch, WRITER.replace("INSERT, UPDATE ON orders", "INSERT ON orders"))
    failed(check(ch, "10.3"), "cannot update orders")


def test_10_3_products_fail(ch):
    _writer(ch, WRITER + "; GRANT UPDATE ON products TO {writer}")
    failed(check(ch, "10.3"), "can update products")


def test_10_3_another_table_fails(ch):
    _writer(ch, WRITER + "; GRANT SELECT, INSERT ON events TO {writer}")
    failed(check(ch, "10.3"), "also has privileges on events", "not ON ALL TABLES")


# ---- 10.4 migrator ---------------------------------------------------------------------------------

MIGRATOR = """GRANT USAGE, CREATE ON SCHEMA app TO {migrator};
GRANT USAGE ON SCHEMA app TO {reader}, {writer};
SET ROLE {migrator};
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {reader};
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT INSERT, UPDATE ON TABLES TO {writer};
RESET ROLE"""


def _migrator(ch, grants: str = MIGRATOR) -> None:
    _writer(ch)
    ch.query("CREATE SCHEMA IF NOT EXISTS app")
    fresh_role(ch, "migrator")
    run(ch, grants)


def test_10_4_solution_passes(ch):
    _migrator(ch)
    passed(check(ch, "10.4"))


def test_10_4_defaults_set_for_the_migrator_from_outside_pass(ch):
    _migrator(ch, """GRANT USAGE, CREATE ON SCHEMA app TO {migrator};
                     GRANT USAGE ON SCHEMA app TO {reader}, {writer};
                     GRANT {migrator} TO CURRENT_USER WITH INHERIT TRUE;
                     ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA app GRANT SELECT, INSERT, UPDATE ON TABLES TO {writer};
                     ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA app GRANT SELECT ON TABLES TO {reader}""")
    passed(check(ch, "10.4"))


def test_10_4_defaults_for_yourself_only_fail(ch):
    _migrator(ch, MIGRATOR.replace("SET ROLE {migrator};", "").replace("RESET ROLE", "SELECT 1"))
    failed(check(ch, "10.4"), "cannot read a table", "FOR ROLE")


def test_10_4_no_create_right_fails(ch):
    _migrator(ch, MIGRATOR.replace("GRANT USAGE, CREATE ON SCHEMA app TO {migrator};", "GRANT USAGE ON SCHEMA app TO {migrator};"))
    failed(check(ch, "10.4"), "cannot create a table in schema app")


def test_10_4_the_writer_creating_tables_fails(ch):
    _migrator(ch, MIGRATOR.replace("GRANT USAGE ON SCHEMA app TO {reader}, {writer};",
                                   "GRANT USAGE ON SCHEMA app TO {reader}; GRANT USAGE, CREATE ON SCHEMA app TO {writer};"))
    failed(check(ch, "10.4"), "can create a table in schema app")


def test_10_4_the_reader_writing_fails(ch):
    _migrator(ch, MIGRATOR.replace("GRANT SELECT ON TABLES TO {reader}", "GRANT SELECT, INSERT ON TABLES TO {reader}"))
    failed(check(ch, "10.4"), "can insert into a new table")


# ---- 10.5 / 10.6 row-level security -------------------------------------------------------------------

USER = "nullif(current_setting('app.user_id', true), '')::bigint"
RLS = f"""ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
CREATE POLICY documents_select ON documents FOR SELECT USING (visibility = 'public' OR owner_id = {USER});
CREATE POLICY documents_insert ON documents FOR INSERT WITH CHECK (owner_id = {USER});
CREATE POLICY documents_update ON documents FOR UPDATE USING (owner_id = {USER}) WITH CHECK (owner_id = {USER})"""


def test_10_5_solution_passes(ch):
    ch.query(RLS)
    passed(check(ch, "10.5"))


def test_10_5_written_differently_passes(ch):
    ch.query("""ALTER TABLE documents ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
                CREATE POLICY own ON documents FOR SELECT TO PUBLIC
                    USING (owner_id = coalesce(nullif(current_setting('app.user_id', true), ''), '0')::bigint);
                CREATE POLICY published ON documents AS PERMISSIVE FOR SELECT USING (visibility IN ('public'));
                CREATE POLICY add ON documents FOR INSERT
                    WITH CHECK (owner_id::text = current_setting('app.user_id', true));
                CREATE POLICY edit ON documents FOR UPDATE
                    USING (owner_id::text = current_setting('app.user_id', true))""")
    passed(check(ch, "10.5"))


def test_10_5_nothing_done_fails(ch):
    failed(check(ch, "10.5"), "not enabled")


def test_10_5_not_forced_fails(ch):
    ch.query(RLS.replace("ALTER TABLE documents FORCE ROW LEVEL SECURITY;", ""))
    failed(check(ch, "10.5"), "not forced", "owner")


def test_10_5_the_guides_current_setting_fails_when_unset(ch):
    ch.query(RLS.replace(USER, "current_setting('app.user_id')::bigint"))
    failed(check(ch, "10.5"), "with no end user set, reading documents fails")


def test_10_5_an_empty_setting_read_as_a_number_fails(ch):
    ch.query(RLS.replace(USER, "current_setting('app.user_id', true)::bigint"))
    failed(check(ch, "10.5"), "app.user_id empty", "invalid input syntax", "nullif")


def test_10_5_no_public_documents_fails(ch):
    ch.query(RLS.replace("visibility = 'public' OR ", ""))
    failed(check(ch, "10.5"), "with no end user set", "public")


def test_10_5_insert_for_others_fails(ch):
    ch.query(RLS.replace(f"FOR INSERT WITH CHECK (owner_id = {USER})", "FOR INSERT WITH CHECK (true)"))
    failed(check(ch, "10.5"), "can insert a document owned by")


def test_10_5_giving_a_document_away_fails(ch):
    ch.query(RLS.replace(f"USING (owner_id = {USER}) WITH CHECK (owner_id = {USER})",
                         f"USING (owner_id = {USER}) WITH CHECK (true)"))
    failed(check(ch, "10.5"), "can give their document")


def test_10_5_a_for_all_policy_that_deletes_fails(ch):
    ch.query(RLS + f"; CREATE POLICY documents_delete ON documents FOR DELETE USING (owner_id = {USER})")
    failed(check(ch, "10.5"), "deleted their own document")


def test_10_5_updating_others_documents_refused_by_the_check_option_passes(ch):
    ch.query(RLS.replace(f"FOR UPDATE USING (owner_id = {USER})", "FOR UPDATE USING (true)"))
    passed(check(ch, "10.5"))


def test_10_5_updating_public_documents_of_others_fails(ch):
    public_or_own = f"(visibility = 'public' OR owner_id = {USER})"
    ch.query(RLS.replace(f"FOR UPDATE USING (owner_id = {USER}) WITH CHECK (owner_id = {USER})",
                         f"FOR UPDATE USING {public_or_own} WITH CHECK {public_or_own}"))
    result = check(ch, "10.5")
    failed(result, "user")
    assert "give their document" in result.message or "public document" in result.message


TOKEN_POLICIES = """CREATE OR REPLACE FUNCTION current_app_user() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT user_id FROM public.app_sessions WHERE token = current_setting('app.session', true) $$;
DROP POLICY documents_select ON documents; DROP POLICY documents_insert ON documents; DROP POLICY documents_update ON documents;
CREATE POLICY documents_select ON documents FOR SELECT USING (visibility = 'public' OR owner_id = current_app_user());
CREATE POLICY documents_insert ON documents FOR INSERT WITH CHECK (owner_id = current_app_user());
CREATE POLICY documents_update ON documents FOR UPDATE USING (owner_id = current_app_user()) WITH CHECK (owner_id = current_app_user())"""


def _app(ch, policies: str = TOKEN_POLICIES, grants: str = "GRANT SELECT, INSERT, UPDATE ON documents TO {app}") -> None:
    ch.query(RLS)
    ch.query(SESSIONS_SETUP)
    fresh_role(ch, "app")
    run(ch, grants)
    if policies:
        ch.query(policies)


def test_10_6_solution_passes_and_10_5_still_does(ch):
    _app(ch)
    passed(check(ch, "10.6"))
    passed(check(ch, "10.5"))


def test_10_6_a_plpgsql_function_with_an_empty_path_passes(ch):
    _app(ch, TOKEN_POLICIES.replace(
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp\n"
        "    AS $$ SELECT user_id FROM public.app_sessions WHERE token = current_setting('app.session', true) $$;",
        "LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''\n"
        "    AS $$ BEGIN RETURN (SELECT s.user_id FROM public.app_sessions s "
        "WHERE s.token = pg_catalog.current_setting('app.session', true)); END $$;"))
    passed(check(ch, "10.6"))


def test_10_6_the_weak_setting_fails_with_the_attack(ch):
    _app(ch, policies="")
    failed(check(ch, "10.6"), "setting app.user_id", "itself", "client still picks")


def test_10_6_an_app_that_reads_the_tokens_fails(ch):
    _app(ch, grants="GRANT SELECT, INSERT, UPDATE ON documents TO {app}; GRANT SELECT ON app_sessions TO {app}")
    failed(check(ch, "10.6"), "can read app_sessions")


def test_10_6_a_definer_without_a_fixed_path_fails(ch):
    _app(ch, TOKEN_POLICIES.replace(" SET search_path = pg_catalog, pg_temp", ""))
    failed(check(ch, "10.6"), "no fixed search_path")


def test_10_6_a_definer_in_another_schema_without_a_fixed_path_fails(ch):
    ch.query("CREATE SCHEMA auth")
    _app(ch, TOKEN_POLICIES.replace("current_app_user", "auth.current_app_user")
         .replace(" SET search_path = pg_catalog, pg_temp", ""))
    failed(check(ch, "10.6"), "auth.current_app_user()", "no fixed search_path")


def test_10_6_without_the_app_role_fails(ch):
    failed(check(ch, "10.6"), "there is no role")


# ---- 10.7 pool prediction ----------------------------------------------------------------------------

def test_10_7_right_prediction_passes(ch):
    save_answer(ch, "10.7", value=" The other tenant's ")
    passed(check(ch, "10.7"))


@pytest.mark.parametrize("value", ["none", "every row"])
def test_10_7_wrong_predictions_fail(ch, value):
    save_answer(ch, "10.7", value=value)
    failed(check(ch, "10.7"), f"you predicted {value!r}", "session-level SET")


def test_10_7_not_a_choice_fails(ch):
    save_answer(ch, "10.7", value="B's own")
    failed(check(ch, "10.7"), "not one of")


# ---- 10.8 passwords ------------------------------------------------------------------------------------

def _accounts(ch, hash_password) -> None:
    ch.query(ACCOUNTS_SETUP)
    for username, password in SIGNUPS:
        ch.query("INSERT INTO app_accounts VALUES (%s, %s)", [username, hash_password(password)])


def test_10_8_argon2id_passes(ch):
    from argon2 import PasswordHasher

    _accounts(ch, PasswordHasher().hash)
    passed(check(ch, "10.8"))


def test_10_8_the_owasp_minimum_passes(ch):
    from argon2 import PasswordHasher

    _accounts(ch, PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash)
    passed(check(ch, "10.8"))


def test_10_8_without_the_table_fails(ch):
    failed(check(ch, "10.8"), "no table app_accounts")


def test_10_8_a_fast_hash_fails(ch):
    _accounts(ch, lambda p: hashlib.sha256(p.encode()).hexdigest())
    failed(check(ch, "10.8"), "hex digest", "fast hash")


def test_10_8_plain_text_fails(ch):
    _accounts(ch, lambda p: p)
    failed(check(ch, "10.8"), "contains the password")


def test_10_8_a_cheap_argon2_fails(ch):
    from argon2 import PasswordHasher

    _accounts(ch, PasswordHasher(time_cost=1, memory_cost=8192).hash)
    failed(check(ch, "10.8"), "below the minimum")


def test_10_8_argon2i_fails(ch):
    from argon2 import PasswordHasher, Type

    _accounts(ch, PasswordHasher(type=Type.I).hash)
    failed(check(ch, "10.8"), "argon2i", "argon2id")


def test_10_8_a_fixed_salt_fails(ch):
    from argon2 import Type
    from argon2.low_level import hash_secret

    _accounts(ch, lambda p: hash_secret(p.encode(), b"the-same-salt!!!", time_cost=3, memory_cost=65536,
                                        parallelism=4, hash_len=32, type=Type.ID).decode())
    failed(check(ch, "10.8"), "same hash", "salt")


def test_10_8_a_missing_account_fails(ch):
    from argon2 import PasswordHasher

    _accounts(ch, PasswordHasher().hash)
    ch.query("DELETE FROM app_accounts WHERE username = 'linus'")
    failed(check(ch, "10.8"), "no account 'linus'")


# ---- 10.9 audit ------------------------------------------------------------------------------------------

AUDIT = """CREATE FUNCTION audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO audit_log (table_name, operation, user_name, old_data, new_data)
    VALUES (TG_TABLE_NAME, TG_OP, coalesce(nullif(current_setting('role'), 'none'), session_user),
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END;
$$;
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION audit_row()"""

#: The guide's function, its quoting fixed ($$), json cast to the jsonb columns on insert.
GUIDE_AUDIT = """CREATE OR REPLACE FUNCTION audit_trigger_function()
RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (table_name, operation, user_name, old_data)
        VALUES (TG_TABLE_NAME, TG_OP, current_user, row_to_json(OLD));
        RETURN OLD;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_log (table_name, operation, user_name, old_data, new_data)
        VALUES (TG_TABLE_NAME, TG_OP, current_user, row_to_json(OLD), row_to_json(NEW));
        RETURN NEW;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (table_name, operation, user_name, new_data)
        VALUES (TG_TABLE_NAME, TG_OP, current_user, row_to_json(NEW));
        RETURN NEW;
    END IF;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_orders AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION audit_trigger_function()"""


def _audit(ch, ddl: str = AUDIT) -> None:
    _writer(ch)
    ch.query(AUDIT_SETUP)
    ch.query(ddl)


def test_10_9_solution_passes(ch):
    _audit(ch)
    passed(check(ch, "10.9"))


def test_10_9_the_guides_function_as_a_security_definer_records_its_owner_and_fails(ch):
    _audit(ch, GUIDE_AUDIT.replace("$$ LANGUAGE plpgsql;", "$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public;"))
    failed(check(ch, "10.9"), "UPDATE is recorded as made by", "function's owner", "current_setting('role')")


def test_10_9_the_guides_function_with_the_role_as_a_security_definer_passes(ch):
    _audit(ch, GUIDE_AUDIT.replace("$$ LANGUAGE plpgsql;", "$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public;")
           .replace("current_user", "coalesce(nullif(current_setting('role'), 'none'), session_user)"))
    passed(check(ch, "10.9"))


def test_10_9_the_guides_function_fails_for_the_writer(ch):
    _audit(ch, GUIDE_AUDIT)
    failed(check(ch, "10.9"), "cannot update an order", "SECURITY DEFINER")


def test_10_9_nothing_done_fails(ch):
    _audit(ch, "SELECT 1")
    failed(check(ch, "10.9"), "wrote 0 audit rows")


def test_10_9_a_statement_trigger_fails(ch):
    _audit(ch, AUDIT.replace("FOR EACH ROW", "FOR EACH STATEMENT").replace("to_jsonb(OLD)", "NULL::jsonb")
           .replace("to_jsonb(NEW)", "NULL::jsonb"))
    failed(check(ch, "10.9"), "old_data/new_data")


def test_10_9_updates_only_fails_on_insert(ch):
    _audit(ch, AUDIT.replace("AFTER INSERT OR UPDATE OR DELETE", "AFTER UPDATE"))
    failed(check(ch, "10.9"), "an INSERT is not audited")


def test_10_9_both_rows_unconditionally_pass_as_the_missing_one_is_null(ch):
    _audit(ch, AUDIT.replace("CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END", "to_jsonb(OLD)")
           .replace("CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END", "to_jsonb(NEW)"))
    passed(check(ch, "10.9"))


def test_10_9_new_row_on_delete_fails(ch):
    _audit(ch, AUDIT.replace("CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END", "to_jsonb(coalesce(NEW, OLD))"))
    failed(check(ch, "10.9"), "a DELETE is not audited")


def test_10_9_a_before_trigger_that_cancels_the_change_fails(ch):
    _audit(ch, AUDIT.replace("AFTER INSERT", "BEFORE INSERT"))
    failed(check(ch, "10.9"), "left it 'completed'", "BEFORE trigger that returns NULL")


def test_10_9_row_to_json_cast_and_a_literal_table_name_pass(ch):
    _audit(ch, AUDIT.replace("to_jsonb(OLD)", "row_to_json(OLD)::jsonb").replace("to_jsonb(NEW)", "row_to_json(NEW)::jsonb")
           .replace("TG_TABLE_NAME", "'orders'"))
    passed(check(ch, "10.9"))


def test_10_9_a_writer_that_may_erase_the_log_fails(ch):
    _audit(ch)
    run(ch, "GRANT DELETE ON audit_log TO {writer}")
    failed(check(ch, "10.9"), "can change or delete audit rows")


def test_10_9_the_session_user_alone_records_the_writers_change_as_yours_and_fails(ch):
    _audit(ch, AUDIT.replace("coalesce(nullif(current_setting('role'), 'none'), session_user)", "session_user"))
    failed(check(ch, "10.9"), "UPDATE is recorded as made by", "session_user the role that logged in")


# ---- isolation: roles are cluster-wide -------------------------------------------------------------

def test_two_workshop_learners_roles_do_not_collide_or_reach_each_other(course_server):
    """alice and bob both create their reader: two roles, neither usable nor droppable by the other, and
    neither reaching the other's database."""
    alice, bob = open_chapter(course_server, "alice"), open_chapter(course_server, "bob")
    try:
        for ch in (alice, bob):
            _reader(ch)
            passed(check(ch, "10.2"))
        a_reader, b_reader = role(alice, "reader"), role(bob, "reader")
        assert a_reader != b_reader
        with alice.connect() as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(b_reader)))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(b_reader)))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(b_reader)))
            # alice's own role cannot connect to bob's database, and alice cannot grant it that
            assert not conn.execute("SELECT has_database_privilege(%s, %s, 'CONNECT')", [a_reader, bob.database]).fetchone()[0]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(bob.database), sql.Identifier(a_reader)))
        with pytest.raises(Exception):
            chapter_db.Chapter(info=INFO, server=course_server, database=bob.database, role=alice.role,
                               password=alice.password).connect().close()
    finally:
        close_chapter(course_server, alice)
        close_chapter(course_server, bob)
    with course_server.connect() as conn:
        left = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [[a_reader, b_reader]]).fetchall()
    assert left == []


def test_two_chapters_roles_do_not_collide_or_reach_each_other(course_server):
    """Chapters 10 and 13 both create an `app` role that reads a table: two roles, each named after its chapter
    database; neither chapter's learner can use or drop the other's, neither role reaches the other database,
    and removing one chapter's roles (reset, grading) leaves the other's."""
    ten, thirteen = open_chapter(course_server), open_chapter(course_server, info=get("13"))
    try:
        for ch in (ten, thirteen):
            ch.query("CREATE TABLE secrets (note text); INSERT INTO secrets VALUES ('ch' || current_database())")
            fresh_role(ch, "app")
            run(ch, "GRANT SELECT ON secrets TO {app}")
        apps = role(ten, "app"), role(thirteen, "app")
        assert apps[0] != apps[1] and apps[0].startswith(ten.database) and apps[1].startswith(thirteen.database)
        for ch, other, their_app in ((ten, thirteen, apps[1]), (thirteen, ten, apps[0])):
            with ch.connect() as conn:
                for statement in ("GRANT {} TO CURRENT_USER", "SET ROLE {}", "DROP ROLE {}"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(sql.SQL(statement).format(sql.Identifier(their_app)))
                own_app = role(ch, "app")
                assert not conn.execute("SELECT has_database_privilege(%s, %s, 'CONNECT')",
                                        [own_app, other.database]).fetchone()[0]
                assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [their_app]).fetchone()[0] == 1
        if ten._learner_conn is not None:
            ten._learner_conn.close()
        chapter_db.drop_database(course_server, ten.database)  # as a reset does: the database first, then its roles
        assert chapter_db.drop_created_roles(course_server, ten.role, ten.database) == [apps[0]]
        with course_server.connect() as conn:
            assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(apps)]).fetchall() == [(apps[1],)]
        with thirteen.connect() as conn, conn.transaction(force_rollback=True):
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(apps[1])))
            assert conn.execute("SELECT note FROM secrets").fetchall() == [(f"ch{thirteen.database}",)]
    finally:
        close_chapter(course_server, ten)
        close_chapter(course_server, thirteen)


def test_reset_drops_the_chapters_roles_and_only_those(course_server, monkeypatch):
    """`pgcourse reset 10` drops the roles named after the chapter database, not another database's."""
    ch = open_chapter(course_server)
    other = open_chapter(course_server)
    try:
        _reader(ch)
        _reader(other)
        monkeypatch.setenv(chapter_db.CHAPTER_DB_ENV, ch.database)
        monkeypatch.setattr(chapter_db, "learner_role", lambda info: ch.role)
        chapter_db.reset("10", server=course_server, size="tiny")
        with course_server.connect() as conn:
            names = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                                 [[role(ch, "reader"), role(other, "reader")]])}
        assert names == {role(other, "reader")}
        passed(check(other, "10.2"))
    finally:
        close_chapter(course_server, ch)
        close_chapter(course_server, other)


def test_the_grader_counts_and_drops_roles_made_by_roles_the_run_made(ch, course_server):
    """A CREATEROLE learner may create a role with CREATEROLE, which creates another: the grader's list of the
    run's roles (what it drops after the run, and does not report as outside) holds both."""
    from pgcourse.grading import integrity

    fresh_role(ch, "child", "NOLOGIN CREATEROLE")
    run(ch, "SET ROLE {child}; CREATE ROLE {grandchild}; RESET ROLE")
    made = integrity.roles_created_by(course_server, ch.role)
    assert made == sorted([role(ch, "child"), role(ch, "grandchild")])
    assert integrity.drop_roles(course_server, made, []) == []
    with course_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", [made]).fetchone()[0] == 0


def test_the_graders_snapshot_is_stable_when_a_role_is_held_through_two_grants(ch, course_server):
    """CREATE ROLE gives its creator one grant (ADMIN) and fresh_role adds another (SET): one entry holds both,
    so two snapshots of an unchanged cluster are equal and nothing is reported as changed outside a run."""
    from pgcourse.grading import integrity

    fresh_role(ch, "reader")
    key = f"membership {ch.role} in {role(ch, 'reader')}"
    first, second = integrity.snapshot(course_server), integrity.snapshot(course_server)
    assert first == second
    assert "admin=true" in first[key] and "set=true" in first[key] and first[key].count("grantor=") == 2
    assert integrity.changes(first, second, databases=set(), roles=set()) == []
