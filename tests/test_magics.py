"""The %sql, %%sql and %%answer magics in a real kernel: SQL as written, errors as the server's words."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_cells(pg_server):
    """Run cells in one kernel on a chapter database of their own; return each cell's outputs."""

    def run(*sources: str) -> list[list[dict]]:
        nb = nbformat.v4.new_notebook()
        opener = "import pgcourse\nch = pgcourse.open_chapter('13')"
        nb.cells = [nbformat.v4.new_code_cell(opener),
                    *(nbformat.v4.new_code_cell(s) for s in sources)]
        env = {"PGCOURSE_DATABASE_URL": pg_server.url, "PGCOURSE_DATASET_SIZE": "tiny",
               "PGCOURSE_CHAPTER_DB": "magics_ch13"}
        import os

        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        return [c.outputs for c in nb.cells[1:]]

    yield run
    from pgcourse.chapter import drop_database

    drop_database(pg_server, "magics_ch13")


def _text(outputs: list[dict]) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") or o.get("text", "") for o in outputs)


def test_sql_is_sent_as_written_and_python_values_bind_by_name(run_cells):
    line, cell = run_cells(
        "x = 5\n%sql SELECT 'a{2,}' AS re, '$x' AS d, :x AS bound",
        "%%sql\nCREATE FUNCTION plus_one(a int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN $1 + 1; END $$;\n"
        "SELECT plus_one(41), 'abb' ~ '^ab{2,}$' AS regex_kept",
    )
    assert _text(line) == "[('a{2,}', '$x', 5)]"
    assert _text(cell) == "[(42, True)]"


def test_statements_that_refuse_a_transaction_run_in_a_cell(run_cells):
    vacuum, concurrently = run_cells("%sql VACUUM (ANALYZE) roles",
                                     "%sql CREATE INDEX CONCURRENTLY roles_name_ix ON roles (name)")
    assert not [o for o in vacuum + concurrently if o["output_type"] == "error"]


def test_a_broken_statement_raises_the_servers_message_without_a_traceback(run_cells):
    (outputs,) = run_cells("%%sql\nSELECT * FROM no_such_table")
    (error,) = [o for o in outputs if o["output_type"] == "error"]
    assert error["ename"] == "SqlError"
    assert error["evalue"].startswith('relation "no_such_table" does not exist')
    assert "sqlalche" not in str(outputs) and "Traceback" not in str(outputs)


def test_a_runaway_query_is_stopped_by_the_statement_timeout_with_advice(run_cells):
    (outputs,) = run_cells("%%sql\nSET statement_timeout = 300;\nSELECT pg_sleep(10)")
    (error,) = [o for o in outputs if o["output_type"] == "error"]
    assert "canceling statement due to statement timeout" in error["evalue"]
    assert "LIMIT" in error["evalue"]


def test_answer_saves_the_cell_and_runs_it(run_cells, pg_server):
    outputs, empty = run_cells("%%answer 13.5\nSELECT count(*) FROM roles", "%%answer 13.6\n-- YOUR SQL HERE")
    assert _text(outputs).startswith("[(")
    assert "still empty" in _text(empty)
    with pg_server.connect("magics_ch13") as conn:
        saved = dict(conn.execute("SELECT exercise, answer_sql FROM pgcourse.answers").fetchall())
    assert {k: v.strip() for k, v in saved.items()} == {"13.5": "SELECT count(*) FROM roles", "13.6": "-- YOUR SQL HERE"}


def _data(outputs: list[dict], mime: str) -> str:
    return "".join(o.get("data", {}).get(mime, "") for o in outputs if o["output_type"] == "execute_result")


def test_statements_without_rows_show_nothing(run_cells):
    ddl, insert = run_cells("%sql CREATE TABLE quiet (id int)", "%%sql\nINSERT INTO quiet VALUES (1);\nDROP TABLE quiet")
    assert ddl == [] and insert == []


def test_a_plan_shows_as_left_aligned_text_not_a_table(run_cells):
    (outputs,) = run_cells("%sql EXPLAIN (COSTS OFF) SELECT * FROM roles WHERE id < 3")
    assert _data(outputs, "text/plain").splitlines()[0] in ("Seq Scan on roles", "Index Scan using roles_pkey on roles")
    assert "Filter: (id < 3)" in _data(outputs, "text/plain") or "Index Cond: (id < 3)" in _data(outputs, "text/plain")
    page = _data(outputs, "text/html")
    assert page.startswith("<pre") and "<table" not in page and "(id &lt; 3)" in page


def test_dollars_in_a_result_table_are_not_typeset_as_latex(run_cells):
    dollars, regex, plain = run_cells("%sql SELECT '$2b$12$abc' AS hash, '$5' AS price",
                                      "%sql SELECT '^\\(\\d{3}\\)' AS phone_pattern", "%sql SELECT 'abc' AS plain")
    page = _data(dollars, "text/html")
    assert "$" not in page and "&#36;2b&#36;12&#36;abc" in page
    assert 'class="mathjax_ignore' in page  # JupyterLab's MathJax skips the table
    assert _data(dollars, "text/plain") == "[('$2b$12$abc', '$5')]"
    assert 'class="mathjax_ignore' in _data(regex, "text/html")  # \( starts inline math too
    assert _data(plain, "text/html").startswith("<table>\n")  # nothing to protect: ipython-sql's own table


def test_after_a_reset_sql_reconnects_once_and_says_so(run_cells):
    before, reset, after, again = run_cells(
        "%sql CREATE TABLE lost (id int)",
        "from pgcourse.chapter import reset\nreset('13', server=ch.server, size='tiny')",
        "%sql SELECT to_regclass('lost') IS NULL AS gone",
        "%sql SELECT 1 AS one",
    )
    assert not [o for o in before + reset + after + again if o["output_type"] == "error"]
    assert _text(after).count("reconnected") == 1 and "[(True,)]" in _text(after)
    assert "reconnected" not in _text(again) and _data(again, "text/plain") == "[(1,)]"


def test_when_the_database_is_gone_sql_says_how_to_get_it_back(run_cells):
    drop, gone, reopened = run_cells(
        "from pgcourse.chapter import drop_database\ndrop_database(ch.server, ch.database)",
        "%sql SELECT 1",
        "ch = pgcourse.open_chapter('13')\n%sql SELECT 2 AS two",
    )
    (error,) = [o for o in gone if o["output_type"] == "error"]
    assert error["ename"] == "SqlError" and "does not exist" in error["evalue"] and "first cell" in error["evalue"]
    assert not [o for o in drop + reopened if o["output_type"] == "error"]
    assert _data(reopened, "text/plain") == "[(2,)]" and "reconnected" not in _text(reopened)


def test_an_unbound_parameter_says_so_without_listing_the_notebooks_variables(run_cells):
    (outputs,) = run_cells("%sql SELECT :no_such_variable AS x")
    error = next(o for o in outputs if o["output_type"] == "error")
    text = error["evalue"] + "".join(error["traceback"])
    assert "no_such_variable" in text and "bind parameter" in text
    assert "Chapter(" not in text and "postgresql://" not in text


def test_a_transaction_in_one_sql_cell_is_real_and_one_left_open_is_rolled_back_and_said(run_cells):
    begin, _, after, left_open, after_open = run_cells(
        "%%sql\nBEGIN\nCREATE TABLE tx_probe (n int)",
        "%%sql\nCREATE TABLE IF NOT EXISTS tx_probe (n int);\n"
        "START TRANSACTION;\nINSERT INTO tx_probe VALUES (1);\nROLLBACK;",
        "%sql SELECT count(*) FROM tx_probe",
        "%%sql\nSTART TRANSACTION;\nINSERT INTO tx_probe VALUES (2);",
        "%sql SELECT count(*) FROM tx_probe",
    )
    assert "ipython-sql refuses a cell that starts with BEGIN" in str(begin) and "START TRANSACTION" in str(begin)
    assert _text(after) == "[(0,)]"  # the ROLLBACK undid the INSERT: ipython-sql no longer commits after each statement
    assert "this cell ended inside a transaction; it was rolled back" in _text(left_open)
    assert _text(after_open) == "[(0,)]"


def test_a_session_cell_runs_in_the_current_lab(run_cells):
    (shown,) = run_cells("lab = ch.sessions('alice', 'bob')\nlab.alice('BEGIN')\n"
                         "get_ipython().run_cell_magic('session', 'bob', 'SELECT 40 + 2 AS answer;')")
    assert "[2] bob: SELECT 40 + 2 AS answer" in _text(shown) and "42" in _text(shown)
