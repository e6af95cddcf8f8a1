"""A real class hub for tests: `pgcourse workshop add` + `start` on the session's server, logins over HTTP,
learners' servers and kernels through the Jupyter server's REST API and kernel websocket."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import _restore_public_connect

PGCOURSE = [sys.executable, "-m", "pgcourse"]
PASSWORD = "class-password-2026"


def skip_without_root() -> pytest.MarkDecorator:
    """The hub tests make one Unix user per learner: root and useradd, else skipped with the reason."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    why = ("needs root (one Unix user per learner, as `pgcourse workshop start` makes them)" if not root
           else "needs useradd" if not shutil.which("useradd")
           else "needs npm (the hub's proxy, configurable-http-proxy)" if not shutil.which("npm") and
           not shutil.which("configurable-http-proxy") else "")
    return pytest.mark.skipif(bool(why), reason=why or "runs")


@dataclass
class Hub:
    """A running class hub: its address, the instructor's environment and the hub's settings."""

    url: str
    env: dict[str, str]
    settings: dict
    folder: Path
    learners: tuple[str, ...]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def login(self, name: str, password: str = PASSWORD):
        """A requests session logged in through the hub's login form (XSRF cookie and field, as a browser)."""
        import requests

        session = requests.Session()
        page = session.get(f"{self.url}hub/login", timeout=30)
        found = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        form = {"username": name, "password": password, **({"_xsrf": found.group(1)} if found else {})}
        session.last_login = session.post(f"{self.url}hub/login?next=", data=form, allow_redirects=False, timeout=30)
        return session

    def api_token(self, session, name: str) -> str:
        """A hub API token of the logged-in learner, asked for with their login cookie."""
        xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf") or ""
        made = session.post(f"{self.url}hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 3600},
                            headers={"X-XSRFToken": xsrf, "Referer": f"{self.url}hub/home"}, timeout=30)
        assert made.status_code in (200, 201), made.text
        return made.json()["token"]

    def spawn(self, name: str, token: str, timeout: float = 240) -> None:
        """Start the learner's server through the hub API and wait until it is ready."""
        import requests

        headers = {"Authorization": f"token {token}"}
        started = requests.post(f"{self.url}hub/api/users/{name}/server", headers=headers, timeout=60)
        assert started.status_code in (201, 202, 400), started.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user = requests.get(f"{self.url}hub/api/users/{name}", headers=headers, timeout=30).json()
            server = (user.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(1)
        pytest.fail(f"{name}'s server is not ready after {timeout} s; the hub's log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([*PGCOURSE, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"pgcourse {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def remove_unix_user(learner: str) -> None:
    from pgcourse.workshop.hub import unix_name

    try:
        pwd.getpwnam(unix_name(learner))
    except KeyError:
        return
    subprocess.run(["userdel", "--remove", unix_name(learner)], capture_output=True)


@contextmanager
def running_hub(server, folder: Path, learners: tuple[str, ...]) -> Iterator[Hub]:
    """`pgcourse workshop add` the learners and `start` a hub on 127.0.0.1 (tiny dataset); stopped and
    the learners removed (databases, roles, Unix users) afterwards."""
    from pgcourse import datasets
    from pgcourse.grading.sandbox import why_user_cannot_run
    from pgcourse.server.embedded import os_free_port

    nobody = pwd.getpwnam("nobody")
    why = why_user_cannot_run(nobody.pw_uid, nobody.pw_gid)
    if why:  # learners' servers run as their own Unix users: they must be able to run this Python
        pytest.skip(f"other Unix users cannot run {sys.executable} ({why}): the course folder is not readable by others")
    datasets.ensure(server, "tiny")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(PGCOURSE_DATABASE_URL=server.url, PGCOURSE_HOME=str(folder / "home"), PGCOURSE_DATASET_SIZE="tiny")
    for key in ("PGCOURSE_WORKSHOP_DIR", "PGCOURSE_LEARNER", "PGCOURSE_CHAPTER_DB", "PGCOURSE_WORKSHOP_URL",
                "PGCOURSE_WORKSHOP_TOKEN"):
        env.pop(key, None)
    for name in learners:
        remove_unix_user(name)  # a previous run's, if it was killed
    port = os_free_port()
    try:
        _run(["workshop", "add", *learners], env)
        _run(["workshop", "start", "--ip", "127.0.0.1", "--port", str(port), "--password", PASSWORD,
              "--size", "tiny"], env)
        workshop = folder / "home" / "workshop"
        settings = json.loads((workshop / "hub.json").read_text())
        tokens = json.loads((workshop / "tokens.json").read_text())
        yield Hub(f"http://127.0.0.1:{port}/", env, settings, workshop, learners, workshop / "hub" / "hub.log",
                  tokens)
    finally:
        subprocess.run([*PGCOURSE, "workshop", "stop"], env=env, capture_output=True, timeout=120)
        left = _leftovers(folder)
        subprocess.run([*PGCOURSE, "workshop", "remove", *learners], env=env, capture_output=True, timeout=300)
        for name in learners:
            remove_unix_user(name)
        _restore_public_connect(server)  # `workshop add` took CONNECT on shared databases; other tests share the server
    assert left == [], f"`pgcourse workshop stop` left processes running: {left}"


def _leftovers(folder: Path) -> list[str]:
    """Command lines of this hub's processes still running (its proxy, broker, learners' servers, kernels); killed."""
    from pgcourse.workshop.hub import leftovers as hub_leftovers

    settings_file = folder / "home" / "workshop" / "hub.json"
    if not settings_file.exists():
        return []
    found = hub_leftovers(json.loads(settings_file.read_text()))
    lines = [" ".join(p.cmdline())[:120] for p in found]
    for proc in found:
        proc.kill()
    return lines


class Kernel:
    """A kernel of a learner's server, driven over the Jupyter server's REST API and kernel websocket."""

    def __init__(self, hub: Hub, name: str, token: str):
        import requests
        import websocket

        self.base = f"{hub.url}user/{name}/api"
        self.headers = {"Authorization": f"token {token}"}
        made = requests.post(f"{self.base}/kernels", json={"name": "python3"}, headers=self.headers, timeout=60)
        assert made.status_code == 201, made.text
        self.id = made.json()["id"]
        self.session = uuid.uuid4().hex
        ws_url = self.base.replace("http://", "ws://") + f"/kernels/{self.id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=180)

    def run(self, code: str, timeout: float = 180, store_history: bool = True) -> tuple[str, list[str]]:
        """Execute code; return what it printed and its errors (``ename: evalue``)."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": self.session, "msg_type": "execute_request",
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": store_history, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        out, errors = [], []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out), errors
        pytest.fail(f"the kernel did not finish within {timeout} s: {''.join(out)}")

    def close(self) -> None:
        import requests

        self.ws.close()
        requests.delete(f"{self.base}/kernels/{self.id}", headers=self.headers, timeout=30)
