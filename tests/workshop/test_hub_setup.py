"""The hub's set-up without a hub: what its environment and a learner's keep, and what `status` says."""

from __future__ import annotations

from pathlib import Path

from pgcourse.workshop import hub


def test_the_hub_process_gets_no_administrator_url_or_password(monkeypatch, tmp_path):
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", "postgresql://postgres:s3cret@db/postgres")
    monkeypatch.setenv("PGPASSWORD", "s3cret")
    monkeypatch.setenv("PGCOURSE_HOME", str(tmp_path / "home"))
    env = hub.hub_env(hub.HubState(tmp_path / "workshop"))
    assert "s3cret" not in " ".join(env.values())
    assert env[hub.STATE_ENV] == str(tmp_path / "workshop")


def test_a_learners_server_gets_the_broker_its_token_and_private_folders_only(monkeypatch, tmp_path):
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", "postgresql://postgres:s3cret@db/postgres")
    monkeypatch.delenv("PGCOURSE_DATASET_SIZE", raising=False)
    monkeypatch.setenv(hub.STATE_ENV, str(tmp_path / "workshop"))
    (tmp_path / "workshop").mkdir()
    (tmp_path / "workshop" / "tokens.json").write_text('{"alice": "tok"}')
    env = hub.learner_env("alice", "http://127.0.0.1:8765/services/pgcourse", tmp_path / "alice")
    assert env["PGCOURSE_WORKSHOP_TOKEN"] == "tok"
    assert sorted(env) == ["MPLBACKEND", "PATH", "PGCOURSE_HOME", "PGCOURSE_WORKSHOP_TOKEN", "PGCOURSE_WORKSHOP_URL"]
    assert env["PGCOURSE_HOME"] == str(tmp_path / "alice" / ".pgcourse")
    assert set(hub.ADMIN_VARIABLES) >= {"PGCOURSE_DATABASE_URL", "PGPASSWORD", "PGCOURSE_HOME", hub.STATE_ENV}


def test_a_learners_home_gets_the_notebooks_once_and_never_overwrites_them(tmp_path):
    home = tmp_path / "alice"
    workspace, args = hub.prepare_home(home, None)
    notebook = workspace / "00_getting_started.ipynb"
    notebook.write_text("my work")
    hub.prepare_home(home, None)
    assert notebook.read_text() == "my work"
    assert (home / ".pgcourse" / "jupyter" / "settings" / "overrides.json").exists()
    assert any(a.startswith("--ServerApp.terminado_settings=") for a in args)


def test_status_says_how_to_start_when_no_hub_runs(monkeypatch, tmp_path):
    monkeypatch.setenv(hub.STATE_ENV, str(tmp_path / "workshop"))
    assert hub.status() == ["the hub is not running (`pgcourse workshop start` starts it)"]
    assert not hub.stop()
    assert Path(tmp_path / "workshop").stat().st_mode & 0o077 == 0
