"""`pgcourse seed` and `pgcourse datasets` against the session's server."""

from __future__ import annotations

import os
import subprocess
import sys


def _pgcourse(server, *args):
    env = dict(os.environ, PGCOURSE_DATABASE_URL=server.url)
    return subprocess.run([sys.executable, "-m", "pgcourse", *args], env=env, capture_output=True, text=True, timeout=300)


def test_seed_tiny_then_list_datasets(pg_server, tiny):
    seeded = _pgcourse(pg_server, "seed", "--size", "tiny")
    assert seeded.returncode == 0, seeded.stderr
    assert "already seeded" in seeded.stdout and "matches datasets/manifest.json" in seeded.stdout
    listing = _pgcourse(pg_server, "datasets")
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "pgcourse_tiny    seeded" in listing.stdout and "matches the manifest" in listing.stdout
    assert "not seeded (`pgcourse seed --size large`)" in listing.stdout or "pgcourse_large   seeded" in listing.stdout


def test_unknown_size_is_a_short_error(pg_server):
    proc = _pgcourse(pg_server, "seed", "--size", "huge")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
