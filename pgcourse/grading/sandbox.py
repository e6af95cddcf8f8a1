"""Where a graded notebook's kernel runs: an environment with no administrator credential, and,
when the grader is root (CI, a workshop server), an unprivileged OS user of its own.

As that user the kernel cannot read the grader's environment (``/proc/<pid>/environ``), the
course's state files (mode 0600) or the server's data directory (another user's).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..chapter import CHAPTER_URL_ENV, GRADED_CHAPTER_ENV, NOTEBOOK_ENV

#: The OS user graded kernels run as when the grader runs as root.
KERNEL_USER = "pgcourse-kernel"

#: Marks a kernel's processes with its sandbox (root reads it from /proc to end them, and no others).
SANDBOX_ENV = "PGCOURSE_SANDBOX"

#: Variables a kernel inherits from the grader; nothing else (a URL or a password in the grader's
#: environment never reaches a notebook).
INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
             "OMP_NUM_THREADS", "SYSTEMROOT", "PGCOURSE_DATASET_SIZE")


@dataclass
class KernelSandbox:
    """A kernel's home folder, environment and (under root) OS user for one graded notebook."""

    home: Path
    user: pwd.struct_passwd | None
    note: str = ""

    def env(self, *, chapter: str, learner_url: str, notebook: Path, size: str | None) -> dict[str, str]:
        """The kernel's whole environment: the learner's URL for its one database, private folders."""
        env = {key: os.environ[key] for key in INHERITED if key in os.environ}
        env.update({
            CHAPTER_URL_ENV: learner_url, GRADED_CHAPTER_ENV: chapter, NOTEBOOK_ENV: str(notebook),
            "HOME": str(self.home), "PGCOURSE_HOME": str(self.home / "state"), "TMPDIR": str(self.home),
            "IPYTHONDIR": str(self.home / "ipython"), "MPLCONFIGDIR": str(self.home / "matplotlib"),
            "JUPYTER_RUNTIME_DIR": str(self.home), "JUPYTER_DATA_DIR": str(self.home),
            "MPLBACKEND": "agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1",
            SANDBOX_ENV: str(self.home),
        })
        if size:
            env["PGCOURSE_DATASET_SIZE"] = size
        return env

    def argv(self) -> list[str]:
        """The kernel's command line: this Python, as the kernel user under root."""
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        if self.user is None:
            return kernel
        return ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                "--inh-caps=-all", "--", *kernel]

    def give(self, path: Path) -> None:
        """Make a file the grader wrote (the connection file, the notebook copy) readable by the kernel only."""
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)
        path.chmod(0o600)

    def kill_leftovers(self) -> None:
        """End the processes this sandbox's kernel left (its forked children must not outlive grading).

        Only processes of the kernel user that carry this sandbox's mark in their environment: another
        grade run's kernel, running at the same time as the same user, is left alone.
        """
        if self.user is None:
            return
        import psutil

        for proc in psutil.process_iter(["uids"]):
            try:
                if proc.info["uids"] and proc.info["uids"].real == self.user.pw_uid \
                        and proc.environ().get(SANDBOX_ENV) == str(self.home):
                    proc.kill()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue

    def remove(self) -> None:
        self.kill_leftovers()
        shutil.rmtree(self.home, ignore_errors=True)


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _kernel_user() -> pwd.struct_passwd:
    from ..server.embedded import ensure_system_user

    return ensure_system_user(KERNEL_USER)


@cache
def why_user_cannot_run(uid: int, gid: int) -> str:
    """'' when that user can start this Python and import the course (once per grading process); else why not."""
    probe = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--",
             sys.executable, "-c", "import pgcourse, ipykernel"]
    try:
        done = subprocess.run(probe, cwd="/", capture_output=True, text=True, timeout=60,
                              env={"PATH": os.environ.get("PATH", ""), "HOME": "/"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]


def make_sandbox() -> KernelSandbox:
    """A fresh private kernel home; under root, owned by the kernel user (when it can run the course)."""
    home = Path(tempfile.mkdtemp(prefix="pgcourse-kernel-"))
    for sub in ("state", "ipython", "matplotlib"):
        (home / sub).mkdir(mode=0o700)
    if not _as_root():
        return KernelSandbox(home, None)
    user = _kernel_user()
    why = why_user_cannot_run(user.pw_uid, user.pw_gid)
    if why:
        return KernelSandbox(home, None, note=f"graded kernels run as root: the {KERNEL_USER} user cannot run "
                                              f"{sys.executable} ({why}); make the course folder readable by others")
    for path in (home, *home.iterdir()):
        os.chown(path, user.pw_uid, user.pw_gid)
    return KernelSandbox(home, user)
