"""The grader survives what learners' notebooks do, and reports it per exercise."""

from __future__ import annotations

from .conftest import answer_cell, by_id, code, grade_fast, solved_ch00


def _grade(path, server, **kw):
    return grade_fast(path, server, statement_timeout="2s", **kw)


_by_id = by_id


def _kinds(grade):
    return {i.kind for i in grade.incidents}


def test_solved_notebook_scores_full_marks_and_is_not_modified(course_server, write_nb):
    path = write_nb(solved_ch00())
    before = path.read_bytes()
    grade = _grade(path, course_server)
    assert grade.status == "graded" and grade.points == grade.max_points == 4, grade
    assert grade.incidents == []
    assert path.read_bytes() == before


def test_syntax_error_fails_only_its_exercise_with_the_server_message(course_server, write_nb):
    nb = solved_ch00()
    nb.cells[answer_cell(nb, "0.1")].source = "%%answer 0.1\nSELEC count(*) FROM orders WHERE status = 'cancelled'"
    ex = _by_id(_grade(write_nb(nb), course_server))
    assert ex["0.1"].status == "failed" and "syntax error" in ex["0.1"].message
    assert any("SqlError" in line for line in ex["0.1"].incidents)
    assert [ex[i].status for i in ("0.2", "0.3", "0.4")] == ["passed"] * 3


def test_python_exception_is_reported_on_its_exercise(course_server, write_nb):
    nb = solved_ch00()
    nb.cells[answer_cell(nb, "0.4")].source = 'prediction = 1 / 0\npgcourse.answer("0.4", prediction)'
    ex = _by_id(_grade(write_nb(nb), course_server))
    assert ex["0.4"].status == "failed" and "no answer saved" in ex["0.4"].message
    assert any("ZeroDivisionError" in line for line in ex["0.4"].incidents)
    assert ex["0.1"].status == "passed"


def test_dead_kernel_is_restarted_and_the_rest_still_graded(course_server, write_nb):
    nb = solved_ch00()
    nb.cells.insert(answer_cell(nb, "0.2"), code("import os\nos._exit(1)"))
    grade = _grade(write_nb(nb), course_server)
    assert "dead_kernel" in _kinds(grade)
    assert grade.points == 4


def test_infinite_query_is_stopped_by_the_statement_timeout(course_server, write_nb):
    nb = solved_ch00()
    nb.cells[answer_cell(nb, "0.2")].source = "%%answer 0.2\nSELECT a.user_id, count(*) FROM orders a, orders b GROUP BY 1"
    ex = _by_id(_grade(write_nb(nb), course_server))
    assert ex["0.2"].status == "failed" and "statement timeout" in ex["0.2"].message
    assert any("statement timeout" in line for line in ex["0.2"].incidents)
    assert ex["0.3"].status == "passed"


def test_cell_that_never_ends_is_stopped_and_its_kernel_restarted(course_server, write_nb):
    nb = solved_ch00()
    nb.cells.insert(answer_cell(nb, "0.3"), code("%%sql\nSET statement_timeout = 0;\nSELECT pg_sleep(600)"))
    grade = _grade(write_nb(nb), course_server, cell_timeout=5)
    assert "timeout" in _kinds(grade)
    assert grade.points == 4
    with course_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' "
                            "AND pid <> pg_backend_pid()").fetchone()[0] == 0


def test_huge_output_is_dropped_and_reported(course_server, write_nb):
    nb = solved_ch00()
    nb.cells.insert(1, code("for _ in range(40):\n    print('x' * 100_000)"))
    grade = _grade(write_nb(nb), course_server)
    huge = [i for i in grade.incidents if i.kind == "huge_output"]
    assert huge and "MB" in huge[0].message
    assert grade.points == 4


def test_deleted_cells_fail_their_exercises_and_say_so(course_server, write_nb):
    nb = solved_ch00()
    del nb.cells[answer_cell(nb, "0.1")]  # the answer cell only: the check cell is still there
    nb.cells = [c for c in nb.cells if "0.2" not in c.source]  # the whole exercise
    ex = _by_id(_grade(write_nb(nb), course_server))
    assert ex["0.1"].status == "failed" and "no answer saved" in ex["0.1"].message
    assert ex["0.2"].status == "failed" and any("was it deleted" in line for line in ex["0.2"].incidents)
    assert ex["0.3"].status == ex["0.4"].status == "passed"


def test_reordered_cells_are_graded_on_what_they_did(course_server, write_nb):
    nb = solved_ch00()
    early = nb.cells.pop(answer_cell(nb, "0.1"))
    nb.cells.insert(0, early)  # before the chapter is opened
    nb.cells.append(nb.cells.pop(answer_cell(nb, "0.3") + 1))  # 0.3's check cell moved to the end: harmless
    ex = _by_id(_grade(write_nb(nb), course_server))
    assert ex["0.1"].status == "failed" and "no answer saved" in ex["0.1"].message
    assert any("cell 1: UsageError" in line and "answer" in line for line in ex["0.1"].incidents), ex["0.1"].incidents
    assert [ex[i].status for i in ("0.2", "0.3", "0.4")] == ["passed"] * 3


def test_grading_databases_are_dropped_afterwards(course_server, write_nb):
    _grade(write_nb(solved_ch00()), course_server)
    with course_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'grade\\_%'").fetchone()[0] == 0


def test_a_notebook_of_no_chapter_is_an_error_not_a_crash(course_server, write_nb):
    nb = solved_ch00()
    nb.metadata.pop("pgcourse")
    grade = _grade(write_nb(nb, name="99_nothing.ipynb"), course_server)
    assert grade.status == "error" and "no chapter" in grade.message


def test_a_transaction_left_open_at_the_end_is_reported_and_ended(course_server, write_nb):
    """Issue 12: no session outlives a grade run, and a forgotten open transaction is reported, not silently kept."""
    nb = solved_ch00()
    nb.cells.append(code('lab = ch.sessions("alice")\nlab.alice("BEGIN")\nlab.alice("SELECT count(*) FROM orders")'))
    grade = _grade(write_nb(nb), course_server)
    left = [i for i in grade.incidents if i.kind == "open_transaction"]
    assert len(left) == 1 and "pgcourse lab: alice was idle in transaction" in left[0].message, grade.incidents
    assert left[0].cell == len(nb.cells) and grade.points == 4
    with course_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'grade\\_ch%'").fetchone()[0] == 0


def test_a_notebook_that_commits_leaves_nothing_to_report(course_server, write_nb):
    nb = solved_ch00()
    nb.cells.append(code('lab = ch.sessions("alice")\nlab.alice("BEGIN")\nlab.alice("COMMIT")'))
    grade = _grade(write_nb(nb), course_server)
    assert grade.incidents == [] and grade.points == 4
