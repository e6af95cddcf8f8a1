#!/usr/bin/env python3
"""Bootstrap for the course: needs nothing but Python 3.11+.

    python3 course.py lab     # set up .venv, start PostgreSQL, seed, open JupyterLab
    python3 course.py test    # set up .venv, run the whole test suite (what CI runs)
    python3 course.py <any pgcourse command>   # e.g. status, down, grade notebooks/*.ipynb

It creates ./.venv once, installs the pinned project into it when pyproject.toml changes, and
hands over to the `pgcourse` command (or pytest) inside it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PGCOURSE_VENV", ROOT / ".venv"))
STAMP = VENV / ".pgcourse-installed"


def fail(message: str) -> None:
    print(f"course.py: {message}", file=sys.stderr)
    sys.exit(2)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> Path:
    """Create the virtual environment and install the project when needed; return its python."""
    if sys.version_info < (3, 11):
        fail(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}). "
             "Install a newer Python, or use conda: conda env create -f environment.yml")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        print(f"course.py: creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("course.py: installing the course and its pinned dependencies (first run: a minute or two) ...", flush=True)
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", f"{ROOT}[test]"]
    if subprocess.call(cmd) != 0:
        fail("installing the dependencies failed (see pip's message above). "
             "Check your network access to PyPI, then run the same command again.")
    STAMP.write_text(wanted + "\n")
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    python = ensure_environment()
    env = dict(os.environ, PGCOURSE_PROJECT=str(ROOT))
    if argv[0] == "test":
        cmd = [str(python), "-m", "pytest", *argv[1:]]
    else:
        cmd = [str(python), "-m", "pgcourse", *argv]
    os.chdir(ROOT)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
