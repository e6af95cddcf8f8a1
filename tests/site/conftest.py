"""The course website, built once for the session by the one command, with no database to reach."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """``pgcourse site --output DIR`` run once, with a database URL that cannot answer (it needs none)."""
    out = tmp_path_factory.mktemp("website") / "site"
    env = dict(os.environ, PGCOURSE_DATABASE_URL="postgresql://nobody:nothing@127.0.0.1:9/none",
               PGCOURSE_HOME=str(out.parent / "home"), PGCOURSE_PROJECT=str(PROJECT))
    done = subprocess.run([sys.executable, "-m", "pgcourse", "site", "--output", str(out)], env=env, cwd=out.parent,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return out
