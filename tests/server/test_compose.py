"""docker-compose.yml: valid Compose, and the same server settings as the embedded cluster."""

from __future__ import annotations

import yaml

from pgcourse.server import settings
from tests.conftest import PROJECT, assert_valid_against

COMPOSE = PROJECT / "docker-compose.yml"


def _service() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]["postgres"]


def test_compose_file_is_valid_against_the_compose_spec():
    assert_valid_against("vendor.compose-spec", COMPOSE)


def test_compose_runs_postgres_18_with_the_course_settings():
    service = _service()
    assert service["image"] == f"postgres:{settings.POSTGRES_MAJOR}"
    assert service["command"] == settings.postgres_command_args()
    assert service["environment"]["POSTGRES_INITDB_ARGS"] == " ".join(settings.INITDB_ARGS)
    assert service["environment"]["POSTGRES_USER"] == settings.SUPERUSER


def test_compose_binds_loopback_only_with_a_healthcheck_and_a_named_volume():
    service = _service()
    assert all(str(p).startswith("127.0.0.1:") for p in service["ports"])
    assert "pg_isready" in " ".join(service["healthcheck"]["test"])
    volume = service["volumes"][0].split(":")[0]
    assert volume in yaml.safe_load(COMPOSE.read_text())["volumes"]


def test_the_documented_password_default_matches_env_example():
    example = (PROJECT / ".env.example").read_text()
    assert f"PGCOURSE_PASSWORD={settings.DEFAULT_PASSWORD}" in example
    assert f"${{PGCOURSE_PASSWORD:-{settings.DEFAULT_PASSWORD}}}" in COMPOSE.read_text()
