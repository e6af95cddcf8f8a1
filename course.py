#!/usr/bin/env python3
"""Bootstrap for the course: needs nothing but Python 3.11+.

    python3 course.py lab     # set up .venv, start PostgreSQL, seed, open JupyterLab
    python3 course.py test    # set up .venv, run the whole test suite (what CI runs)
    python3 course.py <any pgcourse command>   # e.g. status, down, grade notebooks/*.ipynb

It creates ./.venv once, installs the pinned project into it when pyproject.toml changes, and
hands over to the `pgcourse` command (or pytest) inside it. An environment left half-made by an
earlier run (no pip, an interrupted install) is repaired by simply running the command again.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shlex
import shutil
import subprocess
import sys
import threading
import time
import venv
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PGCOURSE_VENV", ROOT / ".venv")).absolute()  # the command runs from ROOT
#: Written once the project is installed: the sha256 of the pyproject.toml it was installed from.
STAMP = VENV / ".pgcourse-installed"
#: Written into the folder before the environment is built in it: course.py made it, so it may remake it.
OWNER = VENV / ".pgcourse-made-by-course-py"
#: For tests only: a command (shlex-split, ``{python}`` replaced) run instead of pip's install.
INSTALL_HOOK = "PGCOURSE_BOOTSTRAP_INSTALL"
#: Seconds without a new progress line before "still installing" is printed.
QUIET_SECONDS = 15.0
#: Words in pip's output that mean PyPI could not be reached.
NETWORK_SIGNS = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
                 "Name or service not known", "ConnectTimeoutError", "ReadTimeoutError", "Could not fetch URL",
                 "ProxyError", "SSLError", "Network is unreachable", "Connection refused", "ConnectionResetError")


class Failure(Exception):
    """Setting up the environment failed: the message says why and what to do."""


def say(message: str) -> None:
    print(f"course.py: {message}", flush=True)


def venv_python(env: Path | None = None) -> Path:
    env = VENV if env is None else env
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def has_pip(python: Path) -> bool:
    """True when the environment's python exists and can import pip (a half-made venv cannot)."""
    if not python.exists():
        return False
    try:
        return subprocess.run([str(python), "-c", "import pip"], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def made_by_us(env: Path) -> bool:
    """True for a folder course.py may delete and rebuild: a virtual environment it made itself.

    Ours: it carries OWNER or STAMP; or it is a venv (pyvenv.cfg) with nothing installed in it,
    what an older course.py left when ensurepip failed (deleting it loses nothing).
    """
    if env.is_symlink() or not env.is_dir():
        return False
    if (env / OWNER.name).exists() or (env / STAMP.name).exists():
        return True
    if not (env / "pyvenv.cfg").is_file():
        return False
    return not any(env.glob("lib*/python*/site-packages/*.dist-info")) and not any(
        env.glob("Lib/site-packages/*.dist-info"))


def no_pip_message() -> str:
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (f"this Python ({sys.executable}) cannot put pip into a new virtual environment (its ensurepip "
            "module is missing or failed). What to do: install it (Debian/Ubuntu: sudo apt install "
            f"python3-venv python{minor}-venv; other systems: a python.org or conda Python), "
            "then run the same command again.")


def create_environment() -> None:
    """Make VENV with pip in it, or raise Failure naming the cause; never leaves a half-made VENV behind."""
    say(f"creating a virtual environment in {VENV} ...")
    VENV.mkdir(parents=True, exist_ok=True)
    OWNER.write_text("made by course.py: it deletes and remakes this folder when it is half-made\n")
    error: BaseException | None = None
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as exc:  # Debian's venv ends in sys.exit(1) when ensurepip is missing
        error = exc
    if has_pip(venv_python()):
        if error is None:
            return
    shutil.rmtree(VENV, ignore_errors=True)
    if error is None or isinstance(error, (SystemExit, subprocess.CalledProcessError)):
        raise Failure(no_pip_message())
    raise Failure(f"creating the virtual environment in {VENV} failed: {error}. "
                  "What to do: fix that (free disk space? write permission?), then run the same command again.")


def progress_line(line: str) -> str | None:
    """The part of one line of pip's output worth showing while it works, or None."""
    line = line.strip()
    if line.startswith("Collecting "):
        return line.split()[1]
    if line.startswith("Installing collected packages:"):
        count = len(line.split(":", 1)[1].split(","))
        return f"installing {count} packages (the longest step) ..."
    if line.startswith("Building editable") and line.endswith("started"):
        return line.removesuffix(": started")
    if line.startswith("Successfully installed"):
        return f"installed {len(line.split()) - 2} packages"
    return None


def failure_cause(lines: list[str]) -> str:
    """What to tell the user after pip failed, from the end of its output."""
    text = "\n".join(lines)
    if "No module named pip" in text:
        return no_pip_message()
    if any(sign in text for sign in NETWORK_SIGNS):
        return ("pip could not reach PyPI (a network problem). What to do: check your connection "
                "(or your proxy: HTTPS_PROXY, PIP_INDEX_URL), then run the same command again.")
    return ("installing the dependencies failed (pip's error is above). "
            "What to do: fix that, then run the same command again; it resumes where it stopped.")


def install_command(python: Path) -> list[str]:
    hook = os.environ.get(INSTALL_HOOK)
    if hook:
        return [part.replace("{python}", str(python)) for part in shlex.split(hook)]
    return [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
            "-e", f"{ROOT}[test]"]


def run_install(cmd: list[str]) -> tuple[int, list[str]]:
    """Run pip, showing one line per package and a 'still installing' line when it is quiet."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    tail: deque[str] = deque(maxlen=40)
    notable: deque[str] = deque(maxlen=200)  # warnings and errors: a network failure shows in the retries
    started = last = time.monotonic()
    try:
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                if time.monotonic() - last >= QUIET_SECONDS:
                    last = time.monotonic()
                    say(f"still installing ... {last - started:.0f} s")
                continue
            if line is None:
                break
            tail.append(line.rstrip())
            if "WARNING" in line or "ERROR" in line or "Error" in line:
                notable.append(line.rstrip())
            shown = progress_line(line)
            if shown:
                print(f"  {shown}", flush=True)
                last = time.monotonic()
        return proc.wait(), [*notable, *tail]
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise


def ensure_environment() -> Path:
    """Create the virtual environment and install the project when needed; return its python."""
    if sys.version_info < (3, 11):
        raise Failure(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}). "
                      "What to do: install a newer Python, or use conda: conda env create -f environment.yml")
    try:
        wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    except OSError as exc:
        raise Failure(f"cannot read {ROOT / 'pyproject.toml'} ({exc.strerror}). What to do: run course.py "
                      "from a complete clone of the course (git clone, or restore the file with git).") from None
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if VENV.exists() or VENV.is_symlink():
        if not has_pip(python):
            if not made_by_us(VENV):
                raise Failure(f"{VENV} exists but is not a working virtual environment that course.py made "
                              "(no python with pip in it), so it is left alone. What to do: move it away, or set "
                              "PGCOURSE_VENV to another folder, then run the same command again.")
            say(f"{VENV} was left half-made by an earlier run (no pip in it): making it again")
            try:
                shutil.rmtree(VENV)
            except OSError as exc:
                raise Failure(f"cannot remove the half-made {VENV} ({exc}). What to do: delete that folder "
                              "yourself, then run the same command again.") from None
    if not VENV.exists():
        create_environment()
    say("installing the course and its pinned dependencies (first run: a minute or two) ...")
    code, output = run_install(install_command(python))
    if code != 0:
        errors = [line for line in output if line.startswith("ERROR")] or output[-5:]
        for line in dict.fromkeys(errors[-8:]):
            print(f"  {line}", file=sys.stderr)
        raise Failure(failure_cause(output))
    STAMP.write_text(wanted + "\n")
    return python


#: Workers for `course.py test` (each starts a PostgreSQL of its own); 1 runs everything in one process.
WORKERS_ENV = "PGCOURSE_TEST_WORKERS"


def test_workers(args: list[str]) -> list[str]:
    """pytest-xdist options for the whole suite: 2 workers (``PGCOURSE_TEST_WORKERS``) unless the command names its own."""
    if "no:xdist" in args or any(a in ("-n", "--numprocesses") or a.startswith("--numprocesses=")
                                 or (a.startswith("-n") and a[2:].isdigit()) for a in args):
        return []
    workers = os.environ.get(WORKERS_ENV, "2").strip()
    if not workers.isdigit() or int(workers) < 2:
        return []
    return ["-n", workers]  # the root conftest.py schedules a module per worker, chapters spread


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        python = ensure_environment()
    except Failure as exc:
        print(f"course.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ncourse.py: interrupted. Run the same command again: it finishes the set-up.", file=sys.stderr)
        return 130
    env = dict(os.environ, PGCOURSE_PROJECT=str(ROOT))
    if argv[0] == "test":
        cmd = [str(python), "-m", "pytest", *test_workers(argv[1:]), *argv[1:]]
    else:
        cmd = [str(python), "-m", "pgcourse", *argv]
    os.chdir(ROOT)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
