"""``pgcourse lab``: server up, dataset seeded, workspace ready, JupyterLab running."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from . import server as pg
from . import workspace
from .server.embedded import port_is_free

#: JupyterLab port search starts here.
FIRST_LAB_PORT = 8888


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
    report = datasets.ensure(server, size)
    if report.seeded:
        print(f"pgcourse: {report.summary()}", flush=True)


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
               # `pgcourse reset 04` in a JupyterLab terminal (or `!pgcourse` in a cell) finds the course's command
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    cmd = [
        sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={report.path}",
        "--ServerApp.port_retries=0",
    ]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root; Jupyter refuses without this
    print(f"pgcourse: JupyterLab for {report.path}", flush=True)
    print(f"pgcourse: open http://127.0.0.1:{port}/lab?token={token}", flush=True)
    print("pgcourse: stop with Ctrl-C; the database keeps running (`pgcourse down` stops it)", flush=True)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
