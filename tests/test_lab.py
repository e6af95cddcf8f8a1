"""`pgcourse lab --no-browser` serves JupyterLab whose kernels can query the course database."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest
import websocket


pytestmark = pytest.mark.slow


def _execute(base: str, token: str, kernel_id: str, code: str, timeout: float = 60) -> str:
    """Run code in a kernel over the Jupyter websocket protocol; return its stdout."""
    ws = websocket.create_connection(f"ws://{base}/api/kernels/{kernel_id}/channels?token={token}", timeout=timeout)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
    }))
    out, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
    finally:
        ws.close()
    raise AssertionError("kernel did not answer in time")


def _terminal_run(base: str, token: str, command: str, marker: str, timeout: float = 30) -> str:
    """Open a JupyterLab terminal (REST + terminado websocket), type a command, return what it printed."""
    req = urllib.request.Request(f"http://{base}/api/terminals?token={token}", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        name = json.loads(resp.read())["name"]
    ws = websocket.create_connection(f"ws://{base}/terminals/websocket/{name}?token={token}", timeout=timeout)
    try:
        ws.send(json.dumps(["set_size", 50, 400, 600, 2000]))  # no line wrapping inside long paths
        ws.send(json.dumps(["stdin", f"{command}; echo {marker}-$?-done\r"]))
        out, deadline = "", time.monotonic() + timeout
        while time.monotonic() < deadline and not re.search(rf"{marker}-\d+-done", out):
            msg = json.loads(ws.recv())
            if msg[0] == "stdout":
                out += msg[1]
        return out
    finally:
        ws.close()


def test_lab_serves_jupyterlab_and_a_kernel_queries_the_database(cli_env, tmp_path):
    cli_env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    with socket.socket() as sock:  # a port the OS picks, away from the server's own range
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgcourse", "lab", "--no-browser", "--port", str(port), "--size", "tiny"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        url, lines, deadline = None, [], time.monotonic() + 240
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            found = re.search(r"open (http://127\.0\.0\.1:(\d+)/lab\?token=(\w+))", line)
            if found:
                url, token = found.group(1), found.group(3)
        assert url, "no URL printed:\n" + "".join(lines)
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        base = f"127.0.0.1:{port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://{base}/api/status?token={token}", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError as exc:
                last_error = exc
                time.sleep(0.2)
        else:
            pytest.fail(f"JupyterLab did not answer HTTP: {last_error}")
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"JupyterLab" in resp.read()
        req = urllib.request.Request(f"http://{base}/api/kernels?token={token}", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            kernel_id = json.loads(resp.read())["id"]
        code = ("import pgcourse.server as s, shutil\n"
                "print('command', bool(shutil.which('pgcourse')))\n"
                "with s.current().connect() as c:\n"
                "    print('answer', c.execute('select 6 * 7').fetchone()[0], c.execute('show server_version_num').fetchone()[0][:2])\n")
        assert _execute(base, token, kernel_id, code).split() == ["command", "True", "answer", "42", "18"]
        # a JupyterLab terminal (terminado) finds the course's command, even where a login shell resets PATH
        out = _terminal_run(base, token, "command -v pgcourse", "PGC")
        assert re.search(r"PGC-0-done", out) and f"{os.path.dirname(sys.executable)}/pgcourse" in out, out
        # the "Jupyter news" pop-up is off by default
        with urllib.request.urlopen(f"http://{base}/lab/api/settings/@jupyterlab/apputils-extension:notification"
                                    f"?token={token}", timeout=10) as resp:
            schema = json.loads(resp.read())["schema"]
        assert schema["properties"]["fetchNews"]["default"] == "false"
        # the URL to open comes after Jupyter's own start-up lines, not buried under them
        shown = "".join(lines)
        assert shown.rindex("Jupyter Server") < shown.rindex(f"open {url}"), shown
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run([sys.executable, "-m", "pgcourse", "down"], env=cli_env, capture_output=True)


def test_terminal_shell_is_interactive_not_login_and_puts_the_course_bin_first(tmp_path):
    from pgcourse.lab import course_bin, terminal_command

    bash = terminal_command(tmp_path, "/bin/bash")
    assert bash[0] == "/bin/bash" and "-l" not in bash and "--login" not in bash
    rc = (tmp_path / "terminal.bashrc").read_text()
    assert rc.index(".bashrc\"; fi") < rc.index(f'export PATH="{course_bin()}')  # after the learner's own rc
    assert terminal_command(tmp_path, "/usr/bin/zsh") == ["/usr/bin/zsh", "-i"]
