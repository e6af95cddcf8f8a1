"""Seeding says what it is doing where someone waits for it (a terminal, `pgcourse lab`, a learner's
notebook cell), and nowhere else (nbval's and the grader's kernels, whose outputs are compared)."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from pgcourse import lab
from pgcourse.datasets import reporting, seed


def _unmark_tiny(server) -> None:
    """Make pgcourse_tiny look unseeded (no completion marker): the next ensure() seeds it again."""
    with server.connect() as conn:
        conn.execute("COMMENT ON DATABASE pgcourse_tiny IS NULL")


@pytest.mark.parametrize("mode, shown", [("stderr", True), (None, False)])
def test_progress_lines_appear_only_when_asked(mode, shown, capsys):
    reporting.Reporter(mode).note("orders loaded: 1,000,000 rows in 2.1 s")
    assert ("pgcourse: seeding: orders loaded" in capsys.readouterr().err) is shown


def test_lines_from_loading_threads_wait_for_the_seeds_thread(capsys):
    import threading

    reporter = reporting.Reporter("stderr")
    reporter.total = 1000
    worker = threading.Thread(target=lambda: [reporter.rows_loaded(100) for _ in range(10)])
    worker.start()
    worker.join()
    assert capsys.readouterr().err == ""
    reporter.flush()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and lines[-1] == "pgcourse: seeding: [##########] 1,000 of about 1,000 rows loaded"


def test_a_seed_run_from_another_thread_writes_its_own_lines(capsys):
    import threading

    def seed_thread():
        reporting.Reporter("stderr").note("VACUUM ...")

    runner = threading.Thread(target=seed_thread)
    runner.start()
    runner.join()
    assert capsys.readouterr().err == "pgcourse: seeding: VACUUM ...\n"


def test_by_default_no_terminal_and_no_notebook_means_no_lines(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert reporting.choose(None) is None and reporting.choose(True) == "stderr"


def test_pgcourse_lab_prints_the_phases_before_it_starts_jupyter(pg_server, tiny, capsys):
    _unmark_tiny(pg_server)
    lab._seed(pg_server, "tiny")
    captured = capsys.readouterr()
    assert "pgcourse: seeding the tiny dataset (first run only" in captured.out
    for phase in ("loading 12 tables", "rows loaded", "keys, constraints and indexes", "statistics", "checksums"):
        assert "pgcourse: seeding: " in captured.err and phase in captured.err, phase
    assert "pgcourse: seeded pgcourse_tiny" in captured.out
    assert seed.is_seeded(pg_server, "tiny")


@pytest.mark.slow
def test_a_notebook_cell_that_seeds_shows_progress_but_not_under_nbval(pg_server, tiny, monkeypatch):
    seeds = ("from pgcourse import datasets\nfrom pgcourse.server import current\n"
             "with current().connect() as c:\n    c.execute('COMMENT ON DATABASE pgcourse_tiny IS NULL')\n"
             "datasets.ensure(current(), 'tiny')\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(seeds + "None"),
                nbformat.v4.new_code_cell("import os\nos.environ['PGCOURSE_CHAPTER_DB'] = 'nbval_x'\n" + seeds + "None")]
    monkeypatch.setenv("PGCOURSE_DATABASE_URL", pg_server.url)
    monkeypatch.delenv("PGCOURSE_CHAPTER_DB", raising=False)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    learner, nbval = (cell.outputs for cell in nb.cells)
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in learner if o["output_type"] == "display_data")
    for line in ("building pgcourse_tiny", "rows loaded", "keys, constraints and indexes", "statistics",
                 "seeded pgcourse_tiny"):
        assert line in shown, line
    assert [o for o in learner if o["output_type"] == "stream"] == []  # one live display, no stray stderr
    assert nbval == []
    assert seed.is_seeded(pg_server, "tiny") and os.environ.get("PGCOURSE_CHAPTER_DB") is None


def test_the_quiet_kernel_variables_are_the_chapter_modules():
    from pgcourse import chapter

    assert set(reporting.QUIET_KERNEL_ENVS) == {chapter.CHAPTER_DB_ENV, chapter.GRADED_CHAPTER_ENV}
