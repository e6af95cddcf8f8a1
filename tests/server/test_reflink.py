"""Reflink clones on a loop-mounted XFS: a chapter database cloned with file_copy_method = clone costs no disk."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pgcourse import datasets
from pgcourse.server import reflink
from pgcourse.server.ephemeral import ephemeral_server
from pgcourse.testing import xfs_folder

pytestmark = pytest.mark.slow


@pytest.fixture
def xfs(tmp_path: Path):
    """A 1 GiB XFS with reflinks, loop-mounted (root only; xfsprogs installed with apt-get if need be)."""
    with xfs_folder(tmp_path, 1024**3) as mount:
        if mount is None:
            pytest.skip("needs root, mount and xfsprogs to loop-mount an XFS")
        yield mount


def _used(path: Path) -> int:
    os.sync()
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def test_reflink_probe_says_no_on_this_ext4_or_tmpfs_folder(tmp_path):
    if subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True).stdout.strip() in ("xfs", "btrfs"):
        pytest.skip("tmp is on a reflink file system here")
    assert reflink.supports_reflink(tmp_path) is False


def test_on_xfs_chapter_clones_share_the_templates_blocks_and_a_full_copy_does_not(xfs, monkeypatch):
    monkeypatch.delenv(reflink.METHOD_ENV, raising=False)
    reflink._cache.clear()
    with ephemeral_server(xfs / "pg") as server:
        datasets.ensure(server, "tiny")
        with server.connect() as conn:
            assert reflink.file_copy_method(conn) == "clone"
            size = conn.execute("SELECT pg_database_size('pgcourse_tiny')").fetchone()[0]
            before = _used(xfs)
            for n in range(4):
                datasets.clone(conn, "tiny", f"reflinked_{n}")
            cloned = _used(xfs) - before
            assert cloned < size / 2, f"4 reflink clones took {cloned} bytes; one database is {size}"

            before = _used(xfs)  # the same clone with PostgreSQL's default method copies every byte
            conn.execute("CREATE DATABASE copied TEMPLATE pgcourse_tiny STRATEGY FILE_COPY")
            copied = _used(xfs) - before
            assert copied > size / 2, f"a full copy took only {copied} bytes of {size}"
        reflink._cache.clear()
