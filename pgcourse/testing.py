"""Test-suite plumbing shared by ``tests/`` and the nbval run of ``solutions/``: one server per pytest session.

The fixtures of ``tests/conftest.py`` and the nbval hooks of the root ``conftest.py`` both ask
here, so unit tests, graders and solution notebooks all run on the same throwaway server. Run
as root (CI), the server's data directory sits on a loop-mounted XFS, so every chapter database
a test clones is a reflink (instant, no disk); ``PGCOURSE_TEST_XFS=0`` keeps it on the temp folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .server.base import Server

_STACK_ATTR = "_pgcourse_server"
XFS_ENV = "PGCOURSE_TEST_XFS"
#: Size of the sparse image (it takes only what is written).
XFS_IMAGE_BYTES = 16 * 1024**3


def install_xfsprogs() -> bool:
    """``mkfs.xfs`` is here, or installed now with apt-get (root only); False where it cannot be."""
    if shutil.which("mkfs.xfs"):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    for args in (["install", "-y", "xfsprogs"], ["update"], ["install", "-y", "xfsprogs"]):
        subprocess.run(["apt-get", *lock, *args], env=env, capture_output=True, timeout=900)
        if shutil.which("mkfs.xfs"):
            return True
    return False


@contextlib.contextmanager
def xfs_folder(parent: Path, size: int = XFS_IMAGE_BYTES) -> Iterator[Path | None]:
    """A loop-mounted XFS with reflinks under ``parent`` (unmounted after), or None where that cannot be."""
    if os.geteuid() != 0 or not shutil.which("mount") or not install_xfsprogs():
        yield None
        return
    image, mount = parent / "xfs.img", parent / "xfs"
    mount.mkdir(parents=True, exist_ok=True)
    with open(image, "wb") as f:
        f.truncate(size)
    made = subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], capture_output=True)
    mounted = made.returncode == 0 and subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount)], capture_output=True).returncode == 0
    if not mounted:
        image.unlink(missing_ok=True)
        yield None
        return
    try:
        mount.chmod(0o755)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        image.unlink(missing_ok=True)


def session_server(config) -> Server:
    """The pytest session's server (URL, else testcontainers, else embedded), started on first use."""
    server = getattr(config, _STACK_ATTR, None)
    if server is None:
        from .server.ephemeral import ephemeral_server

        stack = contextlib.ExitStack()
        config.add_cleanup(stack.close)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pgcourse-test-")))
        if os.environ.get(XFS_ENV, "1").strip() != "0":
            workdir = stack.enter_context(xfs_folder(workdir)) or workdir
        server = stack.enter_context(ephemeral_server(workdir / "pgserver"))
        setattr(config, _STACK_ATTR, server)
    return server
