"""Reflink clones on a loop-mounted XFS: a chapter database cloned with file_copy_method = clone costs no disk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pgcourse import datasets
from pgcourse.server import reflink
from pgcourse.server.ephemeral import ephemeral_server

pytestmark = pytest.mark.slow


@pytest.fixture
def xfs(tmp_path: Path):
    """A 1 GiB XFS with reflinks, loop-mounted (root and mkfs.xfs only)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to loop-mount an XFS")
    if not shutil.which("mkfs.xfs"):
        if not shutil.which("apt-get"):
            pytest.skip("needs mkfs.xfs (xfsprogs)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        subprocess.run(["apt-get", *lock, "install", "-y", "xfsprogs"], env=env, capture_output=True, timeout=900)
        if not shutil.which("mkfs.xfs"):
            subprocess.run(["apt-get", *lock, "update"], env=env, check=True, capture_output=True, timeout=900)
            subprocess.run(["apt-get", *lock, "install", "-y", "xfsprogs"], env=env, check=True, capture_output=True,
                           timeout=900)
    image, mount = tmp_path / "xfs.img", tmp_path / "mnt"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(1024**3)
    subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], check=True, capture_output=True)
    done = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot loop-mount here: {done.stderr.strip()}")
    mount.chmod(0o755)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


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
