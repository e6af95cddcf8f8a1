"""The instructor's roster commands: add (names, CSV), list, remove; tokens kept hashed; removal touches one learner."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest

from pgcourse.workshop import roster

LEARNERS = ["ro_erin", "ro_frank"]


def pgcourse(workshop, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgcourse", "workshop", *args], env=workshop.admin_env(),
                          capture_output=True, text=True, timeout=300)


def test_add_reads_names_and_a_csv_keeps_tokens_hashed_and_is_idempotent(workshop, tmp_path):
    csv = tmp_path / "class.csv"
    csv.write_text("name,email\nro_gina,gina@example.org\n\nro_hank,hank@example.org\n")
    done = pgcourse(workshop, "add", "ro_ivy", "--csv", str(csv))
    assert done.returncode == 0, done.stderr
    tokens = json.loads((workshop.folder / "tokens.json").read_text())
    assert {"ro_gina", "ro_hank", "ro_ivy"} <= set(tokens)
    assert stat.S_IMODE((workshop.folder / "tokens.json").stat().st_mode) == 0o600
    for name in ("ro_gina", "ro_hank", "ro_ivy"):
        assert f"{name}\t{tokens[name]}" in done.stdout
    with roster.admin_connect(workshop.server) as conn:
        stored = dict(conn.execute("SELECT name, token_hash FROM learners").fetchall())
    assert stored["ro_gina"] == roster.token_hash(tokens["ro_gina"]) != tokens["ro_gina"]
    again = pgcourse(workshop, "add", "ro_ivy")
    assert "already on the roster" in again.stdout
    assert json.loads((workshop.folder / "tokens.json").read_text())["ro_ivy"] == tokens["ro_ivy"]
    renewed = pgcourse(workshop, "add", "ro_ivy", "--new-token")
    assert json.loads((workshop.folder / "tokens.json").read_text())["ro_ivy"] != tokens["ro_ivy"]
    assert renewed.returncode == 0
    listed = pgcourse(workshop, "list")
    assert all(name in listed.stdout for name in ("ro_erin", "ro_gina", "ro_ivy"))
    removed = pgcourse(workshop, "remove", "ro_gina", "ro_hank", "ro_ivy")
    assert removed.returncode == 0, removed.stderr


@pytest.mark.parametrize("bad", ["Alice", "1abc", "a-b", "x" * 21, "postgres", "learner"])
def test_add_refuses_a_name_unusable_in_database_names(workshop, bad):
    done = pgcourse(workshop, "add", bad)
    assert done.returncode == 2
    assert "not a usable learner name" in done.stderr


def test_the_server_is_hardened_for_learners(workshop):
    with workshop.server.connect() as conn:
        open_to_public = [r for (r,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname IN ('postgres', 'template1', 'pgcourse_tiny', %s) "
            "AND has_database_privilege('public', oid, 'CONNECT')", [roster.ADMIN_DB])]
    assert open_to_public == []


def test_remove_drops_one_learners_databases_roles_results_and_token_and_nothing_of_others(workshop):
    erin = {ch: workshop.open("ro_erin", ch) for ch in ("00", "10")}
    frank = workshop.open("ro_frank", "00")
    import psycopg

    with psycopg.connect(erin["10"]["url"], autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{erin["10"]["database"]}_viewer"')
        conn.execute('CREATE ROLE "ro_erin_freely_named"')  # a chapter-10 role may pick any name
    assert workshop.call("ro_erin", "POST", "/check", {"chapter": "00", "exercise": "0.1"})[0] == 200
    assert workshop.call("ro_frank", "POST", "/check", {"chapter": "00", "exercise": "0.1"})[0] == 200
    with psycopg.connect(frank["url"], autocommit=True) as conn:
        conn.execute("CREATE TABLE frank_work AS SELECT 1 AS x")
    done = pgcourse(workshop, "remove", "ro_erin")
    assert done.returncode == 0, done.stderr
    with workshop.server.connect() as conn:
        dbs = {r for (r,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'ro\\_%'")}
        roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'ro\\_%'")}
    assert not any(d.startswith("ro_erin") for d in dbs) and frank["database"] in dbs
    assert not any(r.startswith("ro_erin") for r in roles) and frank["role"] in roles
    with roster.admin_connect(workshop.server) as conn:
        assert conn.execute("SELECT learner FROM results WHERE learner LIKE 'ro\\_%'").fetchall() == [("ro_frank",)]
        assert [r for (r,) in conn.execute("SELECT name FROM learners WHERE name LIKE 'ro\\_%'")] == ["ro_frank"]
    assert "ro_erin" not in json.loads((workshop.folder / "tokens.json").read_text())
    assert workshop.call("ro_erin", "POST", "/open", {"chapter": "00"})[0] == 401  # the old token is dead
    with psycopg.connect(frank["url"], autocommit=True) as conn:
        assert conn.execute("SELECT x FROM frank_work").fetchone() == (1,)
