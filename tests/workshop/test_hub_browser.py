"""A learner in the browser: headless Debian chromium logs in to the class hub with the shared password,
lands in JupyterLab on their own workspace, and runs chapter 00's first cells against their own database."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from .hub_helpers import PASSWORD, Hub, running_hub, skip_without_root

pytestmark = [pytest.mark.slow, skip_without_root()]

LEARNER = "hubdan"
NOTEBOOK = "00_getting_started.ipynb"
#: Chapter 00's first cells up to the GROUP BY over orders (cells 0-7: four of them code).
FIRST_CELLS = 8


@pytest.fixture(scope="module")
def hub(pg_server, tmp_path_factory) -> Hub:
    with running_hub(pg_server, tmp_path_factory.mktemp("hub-browser"), (LEARNER,)) as running:
        yield running


def _idle(page) -> bool:
    status = " ".join(page.locator(".jp-StatusBar-Widget").all_inner_texts())
    return "Idle" in status and "Busy" not in status and "Starting" not in status


def _wait_idle(page, timeout: float = 180) -> None:
    deadline, idle_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        idle_since = (idle_since or time.monotonic()) if _idle(page) else None
        if idle_since and time.monotonic() - idle_since > 3:
            return
        time.sleep(0.5)
    pytest.fail(f"the kernel is still busy after {timeout} s")


def _text(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def test_a_learner_logs_in_and_runs_chapter_00s_first_cells(hub: Hub, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{hub.url}hub/login")
    page.fill("input[name=username]", LEARNER)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{LEARNER}/lab**", timeout=240_000)  # the hub spawned their server

    page.goto(f"{hub.url}user/{LEARNER}/lab/tree/{NOTEBOOK}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook", timeout=120_000)
    _wait_idle(page)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")
    for _ in range(FIRST_CELLS):
        page.keyboard.press("Shift+Enter")
        time.sleep(0.3)
    _wait_idle(page)
    saved = Path(f"/home/jupyter-{LEARNER}/workspace/{NOTEBOOK}")
    before = saved.stat().st_mtime
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while saved.stat().st_mtime == before and time.monotonic() < deadline:
        time.sleep(0.5)
    page.screenshot(path=str(tmp_path / "hub-lab.png"))
    context.close()

    cells = nbformat.read(saved, as_version=4).cells[:FIRST_CELLS]
    code = [c for c in cells if c.cell_type == "code"]
    assert [bool(c.get("execution_count")) for c in code] == [True] * len(code), \
        f"not every first cell ran (screenshot {tmp_path / 'hub-lab.png'})"
    assert [o for c in code for o in c.outputs if o.output_type == "error"] == []
    opened, whoami, two, orders = (_text(c) for c in code[:4])
    assert f"database {LEARNER}_ch00_getting_started, you are {LEARNER}_ch00" in opened
    assert f"{LEARNER}_ch00" in whoami and "18" in whoami  # current_user and the server's major version
    assert "2" in two
    assert "completed" in orders and "pending" in orders
