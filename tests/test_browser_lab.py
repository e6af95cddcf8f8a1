"""A learner's run in the browser: JupyterLab in Debian's chromium, chapter 00 after `pgcourse reset 00`,
Run All on the unsolved notebook, then a reset under the open notebook and Run All again."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from pgcourse.server.embedded import os_free_port

pytestmark = pytest.mark.slow

PGCOURSE = [sys.executable, "-m", "pgcourse"]
NOTEBOOK = "00_getting_started.ipynb"


@pytest.fixture
def lab(course_server, tmp_path):
    """`pgcourse lab --no-browser` on the session's server, with a workspace of its own; yields (url, env, workspace)."""
    workspace = tmp_path / "workspace"
    env = dict(os.environ, PGCOURSE_DATABASE_URL=course_server.url, PGCOURSE_WORKSPACE=str(workspace),
               PGCOURSE_HOME=str(tmp_path / "home"))
    port = os_free_port()  # the OS picks it: parallel workers searching up from the same port can pick the same one
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([*PGCOURSE, "lab", "--no-browser", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        url = None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=[0-9a-f]{{16,}}", log.read_text())
            url = found.group(0) if found else None
        assert url, f"the lab did not print its URL:\n{log.read_text()[-2000:]}"
        yield url, env, workspace
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _kernel_idle(page) -> bool:
    status = " ".join(page.locator(".jp-StatusBar-Widget").all_inner_texts())
    return "Idle" in status and "Busy" not in status and "Starting" not in status


def _run_all(page) -> None:
    """Run → Run All Cells once the kernel is ready, then wait until it has been idle for a while."""
    deadline = time.monotonic() + 120
    while not _kernel_idle(page) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)
    page.keyboard.press("Escape")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    started, idle_since = time.monotonic(), None
    while time.monotonic() - started < 300:
        time.sleep(2)
        idle = _kernel_idle(page)
        idle_since = (idle_since or time.monotonic()) if idle else None
        if idle_since and time.monotonic() - idle_since > 8 and time.monotonic() - started > 15:
            return
    pytest.fail("the notebook still runs after 300 s")


def _saved(page, path: Path) -> nbformat.NotebookNode:
    before = path.stat().st_mtime
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime == before and time.monotonic() < deadline:
        time.sleep(0.5)
    return nbformat.read(path, as_version=4)


def _unannounced_errors(nb) -> list[str]:
    return [f"cell {i}: {o.ename}: {o.evalue[:200]}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.output_type == "error"
            and "raises-exception" not in c.metadata.get("tags", [])]


def test_chapter_00_runs_in_the_browser_after_a_reset_and_again_under_a_reset(lab, browser, tmp_path):
    url, env, workspace = lab
    subprocess.run([*PGCOURSE, "reset", "00"], env=env, check=True, capture_output=True, timeout=300)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    base, token = url.split("/lab?token=")
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook", timeout=120_000)
    _run_all(page)
    nb = _saved(page, workspace / NOTEBOOK)
    not_run = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.get("execution_count")]
    page.screenshot(path=str(tmp_path / "first-run.png"))
    assert not_run == [], f"Run All did not run cells {not_run} (screenshot {tmp_path / 'first-run.png'})"
    assert _unannounced_errors(nb) == []
    assert not page.get_by_text("Would you like to get notified about official Jupyter news").count()

    # the chapter is reset while the notebook is open: running it again from the top works
    subprocess.run([*PGCOURSE, "reset", "00"], env=env, check=True, capture_output=True, timeout=300)
    _run_all(page)
    nb = _saved(page, workspace / NOTEBOOK)
    assert _unannounced_errors(nb) == []

    # and so does one %sql cell on its own: the magic reconnects once and says so
    subprocess.run([*PGCOURSE, "reset", "00"], env=env, check=True, capture_output=True, timeout=300)
    sql_cell = page.locator(".jp-CodeCell").filter(has_text="SELECT current_user").first
    sql_cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    time.sleep(5)
    page.screenshot(path=str(tmp_path / "lab.png"))
    nb = _saved(page, workspace / NOTEBOOK)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "SELECT current_user" in c.source)
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "reconnected" in printed and not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    context.close()
