"""A learner, with only what a learner has (their token and the URLs the broker gives them), cannot reach
another learner or the administrator: each attempt fails with a clear error, and the other learner's work
is still there afterwards."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import psycopg
import pytest
from psycopg import sql

from pgcourse.server import with_database

from .conftest import connect

LEARNERS = ["iso_alice", "iso_bob"]
ALICE, BOB = LEARNERS


@pytest.fixture(scope="module")
def opened(workshop) -> dict[str, dict[str, dict]]:
    """Both learners open chapters 00 and 10; bob does some work there (a table, rows, a role of his own)."""
    urls = {name: {ch: workshop.open(name, ch) for ch in ("00", "10")} for name in LEARNERS}
    bob = urls[BOB]
    with connect(bob["00"]["url"]) as conn:
        conn.execute("CREATE TABLE bob_notes (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO bob_notes VALUES (1, 'mine'), (2, 'also mine'), (3, 'still mine')")
    with connect(bob["10"]["url"]) as conn:
        conn.execute("CREATE TABLE bob_secrets (id int)")
        conn.execute("INSERT INTO bob_secrets SELECT generate_series(1, 5)")
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(bob_made_role(bob))))
    return urls


def bob_made_role(bob: dict) -> str:
    """The role bob's chapter-10 role made (named after his database, as chapter 10's roles are)."""
    return f"{bob['10']['database']}_auditor"


@pytest.fixture(autouse=True)
def bob_is_intact(opened, workshop):
    """After every attempt: bob's tables, rows and roles are all there, and his URLs still log in."""
    yield
    bob = opened[BOB]
    with connect(bob["00"]["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM bob_notes").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
    with connect(bob["10"]["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM bob_secrets").fetchone()[0] == 5
        roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                            [[bob["00"]["role"], bob["10"]["role"], bob_made_role(bob)]])}
        assert roles == {bob["00"]["role"], bob["10"]["role"], bob_made_role(bob)}
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)


def refused(url: str, statement: str, *errors: type[Exception]) -> str:
    """Run ``statement`` as the learner of ``url``; it must fail; return the server's message."""
    with connect(url) as conn:
        with pytest.raises(errors or (psycopg.Error,)) as caught:
            conn.execute(statement)
    return str(caught.value)


def test_a_learner_cannot_connect_to_another_learners_database(opened):
    alice, bob = opened[ALICE], opened[BOB]
    for ch in ("00", "10"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            connect(with_database(alice[ch]["url"], bob[ch]["database"]))
    # bob's role name with alice's password (bob's is derived from the administrator's: alice cannot compute it)
    wrong = alice["00"]["url"].replace(f"//{alice['00']['role']}:", f"//{bob['00']['role']}:")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(with_database(wrong, bob["00"]["database"]))


def test_a_learner_cannot_read_or_drop_another_learners_tables(opened):
    alice, bob = opened[ALICE], opened[BOB]
    url = alice["00"]["url"]
    assert "cross-database references are not implemented" in refused(
        url, f'SELECT * FROM "{bob["00"]["database"]}".public.bob_notes')
    assert "cross-database references are not implemented" in refused(
        url, f'DROP TABLE "{bob["00"]["database"]}".public.bob_notes')
    assert "must be owner of database" in refused(url, f'DROP DATABASE "{bob["00"]["database"]}"')
    assert "must be owner of database" in refused(url, f'ALTER DATABASE "{bob["00"]["database"]}" RENAME TO stolen')
    # no way round through an extension that opens connections (dblink / postgres_fdw need a superuser to install)
    message = refused(url, "CREATE EXTENSION IF NOT EXISTS dblink")
    assert "permission denied" in message or "is not available" in message or "Must be superuser" in message


def test_a_learner_cannot_drop_or_alter_another_learners_roles(opened):
    alice, bob = opened[ALICE], opened[BOB]
    targets = [bob["00"]["role"], bob["10"]["role"], bob_made_role(bob)]
    for url in (alice["00"]["url"], alice["10"]["url"]):  # alice_ch10 has CREATEROLE: still only over her own roles
        for role in targets:
            assert "permission denied to drop role" in refused(url, f'DROP ROLE "{role}"')
            assert "permission denied to alter role" in refused(url, f"ALTER ROLE \"{role}\" PASSWORD 'x'")
            assert "permission denied to alter role" in refused(url, f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
            assert "permission denied" in refused(url, f'GRANT "{role}" TO "{alice["10"]["role"]}"')
            assert "permission denied to rename role" in refused(url, f'ALTER ROLE "{role}" RENAME TO stolen_role')
    # the roles alice_ch10 creates are hers alone, and she can drop exactly those
    with connect(alice["10"]["url"]) as conn:
        conn.execute(f'CREATE ROLE "{alice["10"]["database"]}_tmp"')
        conn.execute(f'DROP ROLE "{alice["10"]["database"]}_tmp"')


def test_a_learner_cannot_clone_a_template_or_sit_on_it(opened):
    alice, bob = opened[ALICE], opened[BOB]
    for url in (alice["00"]["url"], alice["10"]["url"]):
        for source in ("pgcourse_tiny", bob["00"]["database"], "template0"):
            assert "permission denied to create database" in refused(url, f'CREATE DATABASE stolen_copy TEMPLATE "{source}"')
    # a CREATEROLE role cannot hand out CREATEDB it does not have
    assert "permission denied to create role" in refused(alice["10"]["url"], "CREATE ROLE cloner LOGIN CREATEDB")
    # nor connect to a template: a session there would block every learner's clone of it
    for template in ("pgcourse_tiny", "template1", "postgres"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            connect(with_database(alice["00"]["url"], template))


def test_a_learner_cannot_read_the_administrator_password_from_the_server(opened, workshop):
    url = opened[ALICE]["00"]["url"]
    assert "permission denied for table pg_authid" in refused(url, "SELECT rolpassword FROM pg_authid")
    assert "permission denied for function pg_read_file" in refused(url, "SELECT pg_read_file('postgresql.conf')")
    assert "pg_read_all_settings" in refused(url, "SELECT current_setting('data_directory')")
    assert "pg_execute_server_program" in refused(url, "COPY (SELECT 1) TO PROGRAM 'cat'")
    assert "pg_read_server_files" in refused(url, "CREATE TEMP TABLE t (x text); COPY t FROM '/etc/hostname'")
    # what the broker sends a learner never carries the administrator's password
    password = workshop.server.password
    assert password
    for path, payload in (("/open", {"chapter": "00"}), ("/whoami", None)):
        status, body = workshop.call(ALICE, "POST" if payload else "GET", path, payload)
        assert status == 200 and password not in str(body)
    status, _ = workshop.call(ALICE, "GET", "/progress")
    assert status == 401  # the board needs the instructor's token, not a learner's


def test_the_workshop_files_are_readable_by_the_instructor_only(workshop):
    folder = workshop.folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    secrets = [folder / "tokens.json", folder / "instructor.token"]
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if os.geteuid() != 0:
        return
    # as another Unix user (what a learner's server is under the hub): nothing to read
    probe = ("import sys\nfor p in sys.argv[1:]:\n    try:\n        open(p).read(); print('READ', p)\n"
             "    except PermissionError:\n        print('denied', p)\n")
    done = subprocess.run([sys.executable, "-c", probe, *map(str, secrets)], capture_output=True, text=True,
                          user=65534, group=65534, timeout=60)
    assert done.stdout.split().count("denied") == len(secrets), done.stdout + done.stderr


def test_a_learner_cannot_become_superuser(opened):
    alice = opened[ALICE]
    for url in (alice["00"]["url"], alice["10"]["url"]):
        role = alice["10" if url == alice["10"]["url"] else "00"]["role"]
        assert "permission denied to alter role" in refused(url, f'ALTER ROLE "{role}" SUPERUSER')
        assert "permission denied to set role" in refused(url, "SET ROLE postgres")
        assert "permission denied to set session authorization" in refused(url, "SET SESSION AUTHORIZATION postgres")
        for builtin in ("pg_read_all_data", "pg_write_all_data", "pg_execute_server_program", "pg_write_server_files",
                        "pg_create_subscription"):
            assert "permission denied to grant role" in refused(url, f'GRANT {builtin} TO "{role}"')
    ch10 = alice["10"]["url"]
    assert "permission denied to create role" in refused(ch10, "CREATE ROLE boss SUPERUSER")
    assert "permission denied to create role" in refused(ch10, "CREATE ROLE boss BYPASSRLS")
    with connect(ch10) as conn:
        helper = f'"{alice["10"]["database"]}_helper"'
        conn.execute(f"CREATE ROLE {helper}")
        try:
            for builtin in ("pg_read_all_data", "pg_signal_backend", "postgres"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to grant role"):
                    conn.execute(f"GRANT {builtin} TO {helper}")
        finally:
            conn.execute(f"DROP ROLE {helper}")
    with connect(alice["00"]["url"]) as conn:
        assert conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
                            ).fetchone() == (False, False, False)


def test_a_learner_cannot_exhaust_the_server_with_connections(opened, workshop):
    alice, bob = opened[ALICE], opened[BOB]
    with connect(alice["00"]["url"]) as conn:
        limit = conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        assert 0 < limit <= 8
    held = []
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            for _ in range(limit + 1):
                held.append(connect(alice["00"]["url"]))
        assert len(held) == limit
        # the class goes on: bob connects, and the broker still opens chapters and checks for others
        with connect(bob["00"]["url"]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        status, body = workshop.call(BOB, "POST", "/check", {"chapter": "00", "exercise": "0.1"})
        assert status == 200 and body["status"] == "failed"
    finally:
        for conn in held:
            conn.close()
    # nor can alice lift her own limit
    for ch in ("00", "10"):
        assert "permission denied to alter role" in refused(alice[ch]["url"], "ALTER ROLE CURRENT_USER CONNECTION LIMIT -1")
        assert "must be owner of database" in refused(
            alice[ch]["url"], f'ALTER DATABASE "{alice[ch]["database"]}" CONNECTION LIMIT -1')


def test_a_wrong_or_missing_token_gets_401_and_nothing(opened, workshop):
    with workshop.server.connect() as conn:
        before = sorted(r for (r,) in conn.execute("SELECT datname FROM pg_database"))
        roles_before = sorted(r for (r,) in conn.execute("SELECT rolname FROM pg_roles"))
    for token in ("", "not-a-token", workshop.tokens[ALICE] + "x", workshop.tokens[ALICE][:-1]):
        for path, payload in (("/open", {"chapter": "03"}), ("/reset", {"chapter": "00"}),
                              ("/check", {"chapter": "00", "exercise": "0.1"})):
            status, body = workshop.call(None, "POST", path, payload, token=token)
            assert status == 401, (path, body)
            assert set(body) == {"error"} and "token" in body["error"]
        status, body = workshop.call(None, "GET", "/progress", token=token)
        assert status == 401
    status, body = workshop.call(None, "POST", "/open", {"chapter": "03"}, token=None)  # no header at all
    assert status == 401
    # a valid token names its learner: a body that asks for someone else is not listened to
    status, body = workshop.call(ALICE, "POST", "/open", {"chapter": "00", "learner": BOB, "database": "x"})
    assert status == 200 and body["database"] == opened[ALICE]["00"]["database"]
    with workshop.server.connect() as conn:
        assert sorted(r for (r,) in conn.execute("SELECT datname FROM pg_database")) == before
        assert sorted(r for (r,) in conn.execute("SELECT rolname FROM pg_roles")) == roles_before


def test_a_monitoring_learner_cannot_end_others_sessions_or_read_their_passwords_in_the_statistics(opened, workshop):
    """Chapter 11's role reads every session's statistics (pg_read_all_stats): no password is ever there in clear,
    and it is not given pg_signal_backend, which would let it end other learners' sessions."""
    from pgcourse.chapter import CHECKER_ROLE, learner_password

    alice11 = workshop.open(ALICE, "11")
    bob = opened[BOB]
    secrets = [psycopg.conninfo.conninfo_to_dict(bob[ch]["url"])["password"] for ch in ("00", "10")]
    secrets.append(learner_password(workshop.server, CHECKER_ROLE))
    with connect(bob["00"]["url"]) as bob_conn, connect(alice11["url"]) as conn:
        bob_pid = bob_conn.info.backend_pid
        assert conn.execute("SELECT pg_has_role('pg_read_all_stats', 'USAGE')").fetchone() == (True,)
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        texts = [r for (r,) in conn.execute("SELECT query FROM pg_stat_statements")]
        texts += [r for (r,) in conn.execute("SELECT query FROM pg_stat_activity WHERE query IS NOT NULL")]
        assert any("PASSWORD" in t for t in texts)  # the broker's ALTER ROLE statements are there...
        assert not [t for t in texts if any(secret in t for secret in secrets)]  # ...with SCRAM verifiers only
        for function in ("pg_terminate_backend", "pg_cancel_backend"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to (terminate|cancel)"):
                conn.execute(f"SELECT {function}(%s)", [bob_pid])
        assert bob_conn.execute("SELECT 1").fetchone() == (1,)
