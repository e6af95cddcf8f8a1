"""The broker's HTTP API: open clones on first use only, reset gives a fresh database, errors are JSON with a status."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from pgcourse import chapter as chapter_db
from pgcourse.errors import ChapterError
from pgcourse.workshop import roster
from pgcourse.workshop.broker import start_process

from .conftest import free_port, http

LEARNERS = ["br_judy", "br_ken"]


def test_open_clones_once_and_reset_gives_a_fresh_database(workshop):
    first = workshop.open("br_judy", "00")
    assert first["created"] and first["database"] == "br_judy_ch00_getting_started" and first["role"] == "br_judy_ch00"
    with psycopg.connect(first["url"], autocommit=True) as conn:
        conn.execute("CREATE TABLE judy_work AS SELECT 1 AS x")
    again = workshop.open("br_judy", "00")
    assert not again["created"] and again["url"] == first["url"]
    with psycopg.connect(again["url"], autocommit=True) as conn:
        assert conn.execute("SELECT x FROM judy_work").fetchone() == (1,)
    status, fresh = workshop.call("br_judy", "POST", "/reset", {"chapter": "00"})
    assert status == 200 and fresh["created"] and fresh["database"] == first["database"]
    with psycopg.connect(fresh["url"], autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('judy_work')").fetchone() == (None,)


def test_two_opens_at_once_of_the_same_chapter_clone_it_once(workshop):
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: workshop.call("br_ken", "POST", "/open", {"chapter": "01"}), range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sum(body["created"] for _, body in answers) == 1


def test_refusals_are_json_with_a_status_that_says_why(workshop):
    status, body = workshop.call("br_judy", "POST", "/open", {"chapter": "99"})
    assert status == 400 and "99" in body["error"]
    status, body = workshop.call("br_judy", "POST", "/open", {"chapter": "../postgres"})
    assert status == 400
    status, body = workshop.call("br_judy", "POST", "/check", {"chapter": "00", "exercise": "4.1"})
    assert status == 400 and "not in chapter 00" in body["error"]
    status, body = workshop.call("br_judy", "POST", "/check", {"chapter": "02", "exercise": "2.1"})
    assert status == 409 and "not open yet" in body["error"]
    status, body = workshop.call("br_judy", "POST", "/nothing", {})
    assert status == 404
    status, body = workshop.call("br_judy", "GET", "/whoami")
    assert status == 200 and body["learner"] == "br_judy"


def test_the_broker_serves_below_the_hubs_service_prefix(workshop, tmp_path):
    env = workshop.admin_env()
    env.update(JUPYTERHUB_SERVICE_PREFIX="/services/pgcourse/", PGCOURSE_HOME=str(tmp_path))
    proc, base = start_process(env, prefix="/services/pgcourse/")
    try:
        status, body = http(base, "GET", "/whoami", workshop.tokens["br_ken"])
        assert status == 200 and body["learner"] == "br_ken"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert os.environ.get("JUPYTERHUB_SERVICE_PREFIX") is None


def test_a_kernel_with_a_wrong_token_or_no_broker_is_told_what_to_do(workshop, monkeypatch):
    monkeypatch.delenv("PGCOURSE_DATABASE_URL", raising=False)
    monkeypatch.setenv("PGCOURSE_WORKSHOP_URL", workshop.url)
    monkeypatch.setenv("PGCOURSE_WORKSHOP_TOKEN", "not-my-token")
    with pytest.raises(ChapterError, match=r"refused \(401\).*\n.*what to do: check PGCOURSE_WORKSHOP_TOKEN"):
        chapter_db.open_chapter("00", magic=False)
    monkeypatch.setenv("PGCOURSE_WORKSHOP_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChapterError, match="does not answer.*\n.*what to do: tell your instructor"):
        chapter_db.open_chapter("00", magic=False)


def test_a_learners_server_gets_the_brokers_url_and_their_own_token_only(workshop, monkeypatch):
    monkeypatch.setenv("PGCOURSE_WORKSHOP_DIR", str(workshop.folder))
    env = roster.learner_env("br_ken", workshop.url)
    assert env == {"PGCOURSE_WORKSHOP_URL": workshop.url, "PGCOURSE_WORKSHOP_TOKEN": workshop.tokens["br_ken"]}
    with pytest.raises(Exception, match="not on the roster"):
        roster.learner_env("br_nobody", workshop.url)
