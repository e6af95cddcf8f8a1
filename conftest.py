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


#: Modules whose tests are spread over the workers one by one (each grades or runs a whole chapter);
#: every other module runs on one worker, in order, sharing its fixtures (a notebook's cells above all).
SPREAD = ("tests/test_exercises_both_ways.py", "tests/test_learner_notebooks.py")


def pytest_collection_modifyitems(config, items) -> None:
    """Group tests for pytest-xdist's ``--dist loadgroup``: a module (or notebook) per group, chapters spread."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path not in SPREAD and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(path))
