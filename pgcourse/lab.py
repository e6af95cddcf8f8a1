"""``pgcourse lab``: server up, dataset seeded, workspace ready, JupyterLab running.

JupyterLab gets the course's own settings, written to ``.pgcourse/jupyter/`` on every start:
its terminals find the ``pgcourse`` command (a login shell would reset PATH from /etc/profile),
and the "Jupyter news" pop-up, which covers cell outputs, is off.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import server as pg
from . import workspace
from .server.embedded import port_is_free

#: JupyterLab port search starts here.
FIRST_LAB_PORT = 8888

#: Defaults for JupyterLab settings (a learner can still change them in Settings).
LAB_OVERRIDES = {
    # no "Would you like to get notified about official Jupyter news?" toast over the outputs
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _lab_port(wanted: int | None) -> int:
    if wanted:
        return wanted
    for port in range(FIRST_LAB_PORT, FIRST_LAB_PORT + 100):
        if port_is_free(port):
            return port
    return 0


def _seed(server: pg.Server, size: str | None) -> None:
    """Seed the course dataset once (idempotent), saying so: the first run waits for it."""
    from . import datasets

    size = size or datasets.default_size()
    if not datasets.is_seeded(server, size):
        print(f"pgcourse: seeding the {size} dataset (first run only; about half a minute for small) ...", flush=True)
    report = datasets.ensure(server, size, progress=True)
    if report.seeded:
        print(f"pgcourse: {report.summary()}", flush=True)


def course_bin() -> Path:
    """The folder of the course's Python and ``pgcourse`` command (the venv's bin)."""
    return Path(sys.executable).parent


def jupyter_dir() -> Path:
    """The course's own Jupyter configuration folder (``.pgcourse/jupyter``), rewritten on every start."""
    return pg.state_dir() / "jupyter"


def terminal_command(config: Path, shell: str | None = None) -> list[str]:
    """The shell a JupyterLab terminal runs: interactive, not a login shell, with the course's bin first on PATH.

    bash reads the learner's ``~/.bashrc`` and then the course's rc file (which puts the bin folder
    first again); other shells start non-login, so the PATH the lab was given is kept.
    """
    shell = shell or os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
    if Path(shell).name == "bash":
        rc = config / "terminal.bashrc"
        rc.write_text(
            "# Written by `pgcourse lab`: a JupyterLab terminal is a bash that keeps the course's PATH.\n"
            'if [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi\n'
            f'export PATH="{course_bin()}{os.pathsep}$PATH"\n',
            encoding="utf-8",
        )
        return [shell, "--rcfile", str(rc), "-i"]
    return [shell, "-i"]


def jupyter_options(shell: str | None = None) -> list[str]:
    """Write the course's JupyterLab files (terminal rc, settings overrides); return the options that use them.

    Command-line options, not a ``--config`` file, so a learner's own Jupyter configuration still loads.
    """
    config = jupyter_dir()
    settings = config / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n", encoding="utf-8")
    return [f"--ServerApp.terminado_settings=shell_command={json.dumps(terminal_command(config, shell))}",
            f"--LabApp.app_settings_dir={settings}"]


def _wait_until_serving(proc: subprocess.Popen, port: int, token: str, timeout: float = 120) -> bool:
    """Wait until JupyterLab answers HTTP (its start-up log is then written), or it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def _banner(url: str, root: Path) -> str:
    rule = "=" * max(60, len(url) + 8)
    return "\n".join(["", rule, f"  pgcourse: JupyterLab for {root} is ready. In your browser,", "",
                      f"    open {url}", "",
                      "  Stop with Ctrl-C; the database keeps running (`pgcourse down` stops it).", rule, ""])


def run_lab(open_browser: bool = True, port: int | None = None, size: str | None = None) -> int:
    startup = pg.up()
    for note in startup.notes:
        print(f"pgcourse: {note}", flush=True)
    _seed(startup.server, size)
    report = workspace.prepare()
    for name in report.added:
        print(f"pgcourse: workspace: added {name}")
    for name in report.updates:
        print(f"pgcourse: workspace: a newer {name} is in workspace/updates/ (your copy is untouched)")
    port = _lab_port(port)
    token = secrets.token_hex(16)
    # the token goes by environment, not argv, so other users cannot read it from `ps`
    env = dict(os.environ, PGCOURSE_PROJECT=str(pg.project_root()), PGCOURSE_HOME=str(pg.state_dir()),
               JUPYTER_TOKEN=token,
               # `!pgcourse` in a cell finds the course's command (terminals: see terminal_command)
               PATH=os.pathsep.join([str(course_bin()), os.environ.get("PATH", "")]))
    cmd = [
        sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={report.path}", "--ServerApp.port_retries=0", *jupyter_options(),
    ]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root; Jupyter refuses without this
    print(f"pgcourse: starting JupyterLab on port {port} ...", flush=True)
    url = f"http://127.0.0.1:{port}/lab?token={token}"
    proc = subprocess.Popen(cmd, env=env)
    # a `kill` of this command stops JupyterLab too, instead of leaving it running without us (no wait()
    # in the handler: the main thread may hold Popen's wait lock, and the handler would block on it forever)
    def stop(*_) -> None:
        proc.terminate()
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
    try:
        if _wait_until_serving(proc, port, token):
            time.sleep(0.5)  # let Jupyter finish its start-up lines, so the URL is the last thing on screen
            print(_banner(url, report.path), flush=True)
        return proc.wait()
    except SystemExit:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    except KeyboardInterrupt:
        try:
            return proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.terminate()
            return 0
