"""nbval of solutions/: every solution notebook runs on the session's test server and must reproduce its outputs.

``pytest`` alone collects ``solutions/*.ipynb`` (see ``testpaths``/``addopts`` in pyproject.toml).
Before a notebook's kernel starts, the environment it inherits points at the session server and
at a chapter database of its own (``nbval_chNN_slug``, dropped first, so a run always starts clean),
with a private ``PGCOURSE_HOME`` so progress is not recorded in the learner's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SOLUTIONS = Path(__file__).resolve().parent / "solutions"
SANITIZER = SOLUTIONS / "nbval_sanitize.cfg"


def pytest_configure(config) -> None:
    opt = config.option
    if getattr(opt, "nbval", False) and not getattr(opt, "nbval_sanitize_with", None) and SANITIZER.exists():
        opt.nbval_sanitize_with = str(SANITIZER)  # absolute, so pytest works from any folder


def _kernel_env(item) -> dict[str, str]:
    """Environment for a solution notebook's kernel: the session server and a fresh chapter database."""
    from pgcourse import chapter as chapter_db
    from pgcourse import chapters, datasets
    from pgcourse.testing import session_server

    server = session_server(item.config)
    info = chapters.get(Path(str(item.fspath)).stem)
    datasets.ensure(server, datasets.default_size())
    dbname = f"nbval_{info.database}"
    chapter_db.drop_database(server, dbname)
    home = tempfile.mkdtemp(prefix="pgcourse-nbval-")
    return {"PGCOURSE_DATABASE_URL": server.url, "PGCOURSE_CHAPTER_DB": dbname, "PGCOURSE_HOME": home}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Set the kernel's environment just while nbval starts the notebook's kernel (its first cell)."""
    parent = getattr(item, "parent", None)
    starting = type(item).__name__ == "IPyNbCell" and getattr(parent, "kernel", None) is None
    saved: dict[str, str | None] = {}
    if starting:
        for key, value in _kernel_env(item).items():
            saved[key] = os.environ.get(key)
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value



#: Modules whose tests are spread over the workers one by one (each runs a whole chapter); every other
#: module (and every notebook, whose cells must run in order in one kernel) stays on one worker, in
#: order, sharing its fixtures.
SPREAD = ("tests/test_learner_notebooks.py",)
#: Modules whose tests share one expensive run per side: ``test_learner_*`` on one worker, ``test_solution_*``
#: on one worker (each grades the whole course in a single `pgcourse grade` run, a module fixture).
BY_SIDE = ("tests/test_exercises_both_ways.py",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist: a module per work unit, chapters spread (``--dist loadgroup`` cannot: pytest 9.2's node ids)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path, _, test = nodeid.partition("::")
            if path in BY_SIDE:
                return f"{path}::{test.split('_')[1]}"
            return nodeid if path in SPREAD else path

    return ModuleScheduling(config, log)
