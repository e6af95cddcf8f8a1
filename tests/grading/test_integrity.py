"""Grading integrity: a graded notebook holds no administrator credential and cannot tilt a check.

Each attack a hostile learner tried is run through ``grade_notebook`` on the session server: the
attack fails, an incident is reported, the template and every other database and role are intact
(manifest and catalog), and the next innocent notebook grades exactly as it would have.
"""

from __future__ import annotations

import os
import re

import pytest

from pgcourse import datasets
from pgcourse.grading import grade, integrity
from pgcourse.grading.report import table

from .conftest import answer_cell, by_id, code, grade_fast, solved_ch00


def _grade(path, server, **kw):
    return grade_fast(path, server, statement_timeout="5s", **kw)


_by_id = by_id


def _said(grade, kind: str) -> list[str]:
    return [i.message for i in grade.incidents if i.kind == kind]


def _leaks(grade, secret: str) -> bool:
    return any(secret in i.message for i in grade.incidents)


@pytest.fixture
def cluster_before(course_server):
    """The catalog and the template before a test; after it both must be exactly as they were."""
    from pgcourse.checks.sample import ensure_sample

    ensure_sample(course_server, "postgres")  # made by the first check that needs it: make it before comparing
    before = integrity.snapshot(course_server)
    yield before
    after = integrity.snapshot(course_server)
    assert integrity.changes(before, after, databases=set(), roles=set()) == []
    status = datasets.status(course_server, datasets.default_size())
    assert status.seeded and status.current and not status.differences


def _innocent_scores_full_marks(server, write_nb) -> None:
    """What every attack test ends with: a correct notebook afterwards grades 4/4 with no incident."""
    after = _grade(write_nb(solved_ch00()), server)
    assert after.points == after.max_points == 4 and after.incidents == [], table_of(after)


def table_of(grade) -> str:
    from pgcourse.grading.report import GradeReport

    return table(GradeReport([grade], pass_mark=60))


def test_the_kernel_environment_holds_no_administrator_credential(course_server, write_nb, cluster_before, monkeypatch):
    monkeypatch.setenv("PGCOURSE_DATABASE_URL_MARKER", course_server.url)  # in the grader's environment only
    nb = solved_ch00()
    nb.cells.insert(1, code(
        "import os\n"
        f"admin = any({course_server.password!r} in v or 'postgres:' in v for v in os.environ.values())\n"
        "raise RuntimeError(f'ADMIN={admin} ' + ' '.join(sorted(os.environ)))"))
    grade = _grade(write_nb(nb), course_server)
    env_line = next(m for m in _said(grade, "error") if "ADMIN=" in m)
    assert "ADMIN=False" in env_line and "PGCOURSE_CHAPTER_URL" in env_line
    assert "PGCOURSE_DATABASE_URL" not in env_line
    assert grade.points == 4  # looking is not an attack
    _innocent_scores_full_marks(course_server, write_nb)


def test_the_notebook_api_has_no_path_to_an_administrator(course_server, write_nb, cluster_before):
    nb = solved_ch00()
    nb.cells.insert(1, code("ch.admin()"))
    nb.cells.insert(2, code("ch.server.connect()"))
    nb.cells.insert(3, code("import pgcourse.server\npgcourse.server.current()"))
    grade = _grade(write_nb(nb), course_server)
    errors = _said(grade, "error")
    assert sum("no administrator connection in a graded notebook" in e for e in errors) == 2, errors
    assert any("not running" in e or "ServerUnavailable" in e for e in errors), errors
    assert grade.points == 4
    _innocent_scores_full_marks(course_server, write_nb)


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0), reason="only a root grader runs kernels as another user")
def test_a_kernel_cannot_read_the_graders_process_environment(course_server, write_nb, cluster_before, monkeypatch):
    monkeypatch.setenv("PGCOURSE_GRADER_SECRET", "s3cr3t-marker")
    nb = solved_ch00()
    nb.cells.insert(1, code("import os\nraise RuntimeError(open(f'/proc/{os.getppid()}/environ').read())"))
    nb.cells.insert(2, code("import os\nraise RuntimeError(f'uid={os.getuid()}')"))
    grade = _grade(write_nb(nb), course_server)
    errors = _said(grade, "error")
    assert any("PermissionError" in e for e in errors), errors
    assert not any("uid=0" in e for e in errors), errors
    assert not _leaks(grade, "s3cr3t-marker")


def test_guessing_the_administrator_password_is_refused_and_reported(course_server, write_nb, cluster_before):
    nb = solved_ch00()
    nb.cells.insert(1, code(
        "import psycopg, os\nfrom urllib.parse import urlsplit\n"
        "u = urlsplit(os.environ['PGCOURSE_CHAPTER_URL'])\n"
        "for pw in ('pgcourse', 'postgres', 'learner'):\n"
        "    for user in ('postgres', 'learner_ch01'):\n"
        "        try:\n"
        "            psycopg.connect(f'postgresql://{user}:{pw}@{u.hostname}:{u.port}/postgres').close()\n"
        "        except psycopg.OperationalError:\n"
        "            pass"))
    grade = _grade(write_nb(nb), course_server)
    attempts = _said(grade, "attempt")
    assert any("login as postgres" in a for a in attempts), grade.incidents
    assert grade.points == 0 and "outside its grading database" in grade.exercises[0].message
    _innocent_scores_full_marks(course_server, write_nb)


@pytest.fixture
def other_chapter(make_chapter):
    """Another chapter's database and role on the same server (made before the catalog is compared)."""
    return make_chapter("01")


def test_dropping_the_template_or_another_chapter_fails_and_scores_nothing(course_server, write_nb, other_chapter,
                                                                            cluster_before):
    other = other_chapter
    template = datasets.template_name(datasets.default_size())
    nb = solved_ch00()
    nb.cells.insert(1, code(f'ch.query("DROP DATABASE {template}")'))
    nb.cells.insert(2, code(f'ch.query("DROP DATABASE {other.database} WITH (FORCE)")'))
    nb.cells.insert(3, code(f'ch.query("ALTER ROLE {other.role} SUPERUSER")'))
    nb.cells.insert(4, code("%sql ALTER DATABASE postgres RENAME TO gone"))
    grade = _grade(write_nb(nb), course_server)
    attempts = _said(grade, "attempt")
    assert len(attempts) >= 3 and all("refused" in a or "tried" in a for a in attempts), attempts
    assert grade.points == 0
    with course_server.connect() as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [other.role]).fetchone()[0]
    assert {template, other.database, "postgres"} <= names
    assert datasets.verify(course_server, datasets.default_size()).differences == []  # row counts and checksums
    _innocent_scores_full_marks(course_server, write_nb)


def test_a_role_setting_does_not_tilt_plan_checks_nor_outlive_the_run(course_server, write_nb, cluster_before):
    nb = solved_ch00()
    prediction = answer_cell(nb, "0.4")
    nb.cells[prediction].source = 'pgcourse.answer("0.4", "Seq Scan")'  # wrong: the primary key's index is used
    nb.cells.insert(prediction, code("%sql ALTER ROLE CURRENT_USER SET enable_indexscan = off\n"))
    nb.cells.insert(prediction, code("%sql SET enable_indexscan = off"))
    grade = _grade(write_nb(nb), course_server)
    assert any("settings of role grade_ch00_" in m for m in _said(grade, "outside")), grade.incidents
    assert _by_id(grade)["0.4"].points == 0
    _innocent_scores_full_marks(course_server, write_nb)


def test_checks_judge_plans_with_the_servers_planner_settings(course_server, write_nb, make_chapter):
    """A setting on the learner's own role in its own database (no incident) still cannot tilt a plan check."""
    from pgcourse.checks import run_check

    chapter = make_chapter("00")
    with course_server.connect() as conn:
        conn.execute(f'ALTER ROLE "{chapter.role}" IN DATABASE "{chapter.database}" SET enable_indexscan = off')
    try:
        with chapter.connect() as learner:
            learner.execute("INSERT INTO pgcourse.answers (exercise, value) VALUES ('0.4', '\"Seq Scan\"')")
            assert learner.execute("SHOW enable_indexscan").fetchone()[0] == "off"
        assert run_check("0.4", chapter).status == "failed"
    finally:
        with course_server.connect() as conn:
            conn.execute(f'ALTER ROLE "{chapter.role}" IN DATABASE "{chapter.database}" RESET ALL')


def test_an_answer_saved_under_another_exercises_id_is_refused(course_server, write_nb, cluster_before):
    nb = solved_ch00()
    cell = answer_cell(nb, "0.4")
    nb.cells[cell].source = 'pgcourse.answer("0.1", 7)'  # in exercise 0.4's cell: would overwrite 0.1's answer
    nb.cells.insert(cell + 1, code('pgcourse.answer("9.9", 1)'))
    grade = _grade(write_nb(nb), course_server)
    errors = _said(grade, "error")
    assert any("cannot save an answer to 0.1" in e for e in errors), errors
    assert any("no exercise '9.9'" in e for e in errors), errors
    ex = _by_id(grade)
    assert ex["0.1"].status == "passed" and ex["0.4"].status == "failed"


def test_an_answer_written_around_the_api_is_put_back_and_reported(course_server, write_nb, cluster_before):
    nb = solved_ch00()
    cell = answer_cell(nb, "0.4")
    nb.cells.insert(cell, code(
        "ch.query(\"UPDATE pgcourse.answers SET answer_sql = 'SELECT 24746' WHERE exercise = '0.1'\")\n"
        "ch.conn().commit()"))
    grade = _grade(write_nb(nb), course_server)
    assert any("answer to 0.1" in m for m in _said(grade, "misplaced_answer")), grade.incidents
    assert _by_id(grade)["0.1"].status == "passed"


def test_after_a_dead_kernel_the_set_up_cells_above_run_again(course_server, write_nb):
    nb = solved_ch00()
    cell = answer_cell(nb, "0.4")
    nb.cells.insert(1, code("def predicted():\n    return 'Index ' + 'Scan'"))
    nb.cells[cell + 1].source = 'pgcourse.answer("0.4", predicted())'
    nb.cells.insert(answer_cell(nb, "0.2"), code("import os\nos._exit(1)"))
    grade = _grade(write_nb(nb), course_server)
    assert _said(grade, "dead_kernel")
    assert grade.points == 4, table_of(grade)


def test_an_ungradable_notebook_counts_as_zero_in_a_batch(course_server, write_nb, tmp_path):
    good = write_nb(solved_ch00())
    truncated = tmp_path / "00_getting_started.ipynb"
    truncated.write_text(good.read_text()[:500])
    not_a_notebook = tmp_path / "01_schema_design.ipynb"
    not_a_notebook.write_text('{"cells": 3}')
    report = grade([good, truncated, not_a_notebook, tmp_path / "nope.ipynb"], course_server, pass_mark=60,
                   cell_timeout=60, statement_timeout="5s")
    bad = report.notebooks[1:]
    assert all(nb.status == "error" and nb.points == 0 and nb.max_points >= 1 for nb in bad)
    assert bad[0].max_points == 4 and "not a Jupyter notebook" in bad[0].message
    assert "no such file" in bad[2].message
    assert report.percent < 50 and not report.passed
    assert "(100%)" not in table(report)


def test_no_grading_role_or_database_outlives_a_run(course_server, write_nb):
    grade = _grade(write_nb(solved_ch00()), course_server)
    with course_server.connect() as conn:
        assert conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'grade\\_%'").fetchall() == []
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'grade\\_%'").fetchall() == [], grade.incidents


def _chapter_notebooks():
    from tests.conftest import PROJECT

    return sorted((PROJECT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", _chapter_notebooks(), ids=lambda p: p.stem)
def test_no_chapter_notebook_reaches_for_the_administrator(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    # ch.server_log_file() is a path the kernel may or may not be able to read, not the administrator
    assert not [s for s in sources if "ch.admin(" in s or re.search(r"ch\.server\b", s) or "pgcourse.server" in s]


@pytest.mark.parametrize("path", _chapter_notebooks(), ids=lambda p: p.stem)
def test_every_answer_is_saved_under_its_own_exercise_heading(path):
    """The grader refuses answers saved from another exercise's cells: the solutions must not need that."""
    import nbformat

    from pgcourse.grading.structure import exercise_regions

    nb = nbformat.read(path, as_version=4)
    regions = exercise_regions(nb.cells)
    misplaced = []
    for cell, region in zip(nb.cells, regions):
        if cell.cell_type != "code":
            continue
        saved = [*re.findall(r"^\s*%%answer\s+(\S+)", cell.source, re.M),
                 *re.findall(r"pgcourse\.answer\(\s*[\"']([\w.]+)", cell.source)]
        misplaced += [(exercise, region) for exercise in saved if exercise != region]
    assert misplaced == []


def test_a_learner_function_met_by_a_check_never_runs_as_the_administrator(course_server, write_nb, cluster_before):
    """The checks' reference queries read the learner's tables: a view with a function in it must not escalate."""
    nb = solved_ch00()
    nb.cells.insert(1, code('''ch.query("""
CREATE FUNCTION pwn() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    EXECUTE 'CREATE ROLE pwned_by_a_notebook SUPERUSER';
  EXCEPTION WHEN others THEN NULL;
  END;
  RETURN true;
END $$;
ALTER TABLE orders RENAME TO orders_real;
CREATE VIEW orders AS SELECT * FROM orders_real WHERE pwn();
""")
ch.conn().commit()'''))
    _grade(write_nb(nb), course_server)
    with course_server.connect() as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'pwned_by_a_notebook'").fetchone() is None
        checker = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'pgcourse_checker'")
        assert checker.fetchone() == (False, False, False)
    _innocent_scores_full_marks(course_server, write_nb)


def _log_watch(tmp_path, *lines: str) -> integrity.LogWatch:
    log = tmp_path / "server.log"
    log.write_text("".join(f"2026-11-29 23:40:00.123 UTC [4242] {line}\n" for line in lines))
    return integrity.LogWatch(log, 0)


def test_a_role_of_the_run_refused_at_its_own_databases_door_is_not_an_attempt(tmp_path):
    """Chapter 10's LOGIN role without CONNECT, refused at the grading database it belongs to, is a lesson."""
    watch = _log_watch(tmp_path, 'grade_db_demo_login@grade_db FATAL:  permission denied for database "grade_db"')
    assert watch.attempts(roles={"grade_ch10_x", "grade_db_demo_login"}, databases={"grade_db", "grade_db_scratch"}) == []


def test_a_role_of_the_run_refused_at_another_database_is_an_attempt(tmp_path):
    watch = _log_watch(tmp_path, 'grade_ch10_x@postgres FATAL:  permission denied for database "postgres"',
                       'grade_ch10_x@grade_db ERROR:  permission denied for database "ch04_indexes"')
    found = watch.attempts(roles={"grade_ch10_x"}, databases={"grade_db"})
    assert [i.kind for i in found] == ["attempt", "attempt"], found
    assert "postgres" in found[0].message and "ch04_indexes" in found[1].message
