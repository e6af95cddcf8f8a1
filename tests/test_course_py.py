"""`python3 course.py` recovers by itself from a half-made environment and names the real cause.

The environment is made for real (venv + ensurepip) in a temporary folder; pip's install of the
project is replaced by a stub (PGCOURSE_BOOTSTRAP_INSTALL) that needs pip, prints pip-like
progress and installs a stand-in ``pgcourse`` package, so no test downloads anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import PROJECT

STUB_INSTALL = '''
import os, signal, sys, sysconfig, time
from pathlib import Path
import pip  # a venv without pip fails here, as the real `python -m pip` would
interrupt = Path(sys.argv[1])
print("Collecting stubpkg==1.0", flush=True)
if interrupt.exists():  # Ctrl-C in the terminal: the whole process group gets SIGINT
    interrupt.unlink()
    os.kill(os.getppid(), signal.SIGINT)
    time.sleep(60)
package = Path(sysconfig.get_paths()["purelib"]) / "pgcourse"
package.mkdir(exist_ok=True)
(package / "__init__.py").write_text("")
(package / "__main__.py").write_text("import sys; print('pgcourse stand-in ran:', *sys.argv[1:])")
print("Successfully installed stubpkg-1.0", flush=True)
'''

#: sitecustomize.py modules that make venv creation fail the way Python without ensurepip does.
NO_ENSUREPIP = {
    # Debian's patched venv prints its advice and exits when ensurepip is unavailable.
    "debian_exit": '''
import sys, venv
def _setup_pip(self, context):
    print("The virtual environment was not created successfully because ensurepip is not available.", file=sys.stderr)
    sys.exit(1)
venv.EnvBuilder._setup_pip = _setup_pip
''',
    # A Python whose ensurepip module is missing: the ensurepip subprocess fails.
    "ensurepip_fails": '''
import subprocess, venv
def _setup_pip(self, context):
    raise subprocess.CalledProcessError(1, [context.env_exec_cmd, "-m", "ensurepip"])
venv.EnvBuilder._setup_pip = _setup_pip
''',
    # ensurepip silently does nothing: a venv with a python and no pip.
    "silently_no_pip": '''
import venv
venv.EnvBuilder._setup_pip = lambda self, context: None
''',
}


@pytest.fixture
def project(tmp_path: Path) -> dict:
    """A copy of course.py and pyproject.toml in a temp folder, with the stub install and its env."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("course.py", "pyproject.toml"):
        shutil.copy(PROJECT / name, root / name)
    (tmp_path / "stub_install.py").write_text(STUB_INSTALL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PGCOURSE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PGCOURSE_VENV=str(tmp_path / "venv"),
               PGCOURSE_BOOTSTRAP_INSTALL=f"{{python}} {tmp_path / 'stub_install.py'} {tmp_path / 'interrupt'}")
    return {"root": root, "env": env, "venv": tmp_path / "venv", "tmp": tmp_path}


def course(project: dict, *args: str, sitecustomize: str | None = None) -> subprocess.CompletedProcess:
    env = dict(project["env"])
    if sitecustomize:
        stub = project["tmp"] / "stub_site"
        stub.mkdir(exist_ok=True)
        (stub / "sitecustomize.py").write_text(sitecustomize)
        env["PYTHONPATH"] = str(stub)
    return subprocess.run([sys.executable, str(project["root"] / "course.py"), *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("how", sorted(NO_ENSUREPIP))
def test_failed_environment_creation_names_python3_venv_and_the_next_run_recovers(project, how):
    first = course(project, "status", sitecustomize=NO_ENSUREPIP[how])
    assert first.returncode == 1
    assert "Traceback" not in first.stderr
    assert f"python{sys.version_info.major}.{sys.version_info.minor}-venv" in first.stderr
    assert "network" not in first.stderr

    second = course(project, "status")  # python3-venv installed now: same command, no manual step
    assert second.returncode == 0, second.stdout + second.stderr
    assert "pgcourse stand-in ran: status" in second.stdout
    assert "  stubpkg==1.0" in second.stdout  # one progress line per package


def test_a_venv_left_without_pip_by_an_older_run_is_remade(project):
    venv.EnvBuilder(with_pip=False).create(project["venv"])  # what the old course.py left on Debian
    done = course(project, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "half-made" in done.stdout and "pgcourse stand-in ran: status" in done.stdout


def test_ctrl_c_during_pip_says_run_again_and_the_next_run_finishes(project):
    (project["tmp"] / "interrupt").touch()
    first = course(project, "status")
    assert first.returncode == 130
    assert "interrupted" in first.stderr and "Run the same command again" in first.stderr
    assert "Traceback" not in first.stderr

    second = course(project, "status")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "creating a virtual environment" not in second.stdout  # the environment itself was complete
    assert "pgcourse stand-in ran: status" in second.stdout

    third = course(project, "status")  # installed: straight to the command
    assert third.returncode == 0 and "installing" not in third.stdout


def test_a_folder_course_py_did_not_make_is_never_deleted(project):
    project["venv"].mkdir()
    (project["venv"] / "thesis.tex").write_text("years of work")
    done = course(project, "status")
    assert done.returncode == 1
    assert (project["venv"] / "thesis.tex").read_text() == "years of work"
    assert len(done.stderr.strip().splitlines()) == 1 and "PGCOURSE_VENV" in done.stderr


def _course_module():
    spec = importlib.util.spec_from_file_location("course_bootstrap", PROJECT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pip_failures_are_told_apart_network_missing_pip_and_other():
    course_py = _course_module()
    offline = ["WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after "
               "connection broken by 'NewConnectionError(\"Failed to establish a new connection: [Errno -3] "
               "Temporary failure in name resolution\")': /simple/psycopg/",
               "ERROR: Could not find a version that satisfies the requirement psycopg==3.2.9 (from versions: none)",
               "ERROR: No matching distribution found for psycopg==3.2.9"]
    assert "network" in course_py.failure_cause(offline)
    no_pip = course_py.failure_cause(["/x/.venv/bin/python: No module named pip"])
    assert "-venv" in no_pip and "network" not in no_pip
    other = course_py.failure_cause(["ERROR: Failed building wheel for psutil"])
    assert "network" not in other and "-venv" not in other and "run the same command again" in other


def test_pip_output_is_shown_as_one_short_line_per_package():
    course_py = _course_module()
    assert course_py.progress_line("Collecting psycopg==3.2.9 (from pgcourse==0.1)\n") == "psycopg==3.2.9"
    assert course_py.progress_line("  Using cached psycopg-3.2.9-py3-none-any.whl (202 kB)") is None
    assert course_py.progress_line("Installing collected packages: a, b, c").startswith("installing 3 packages")
    assert course_py.progress_line("WARNING: Location 'file:///opt/x' is ignored") is None
    assert course_py.progress_line("Successfully installed a-1.0 b-2.0") == "installed 2 packages"
