"""Run a notebook headless, surviving what learners' notebooks do: errors, endless cells, dead kernels, floods.

Only what grading needs is kept from the run: error names and messages, and how much each cell
printed (outputs themselves are dropped as they arrive). The notebook file is never written.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from typing import TYPE_CHECKING

from .report import Incident
from .structure import exercises_in

if TYPE_CHECKING:
    from .sandbox import KernelSandbox

#: A cell that printed more than this is reported as "huge output".
MAX_OUTPUT_BYTES = 1_000_000
#: Kernel restarts (after a dead kernel or a timeout) before the rest of the notebook is given up.
MAX_RESTARTS = 3
#: Cells with these tags are not run (as under nbval / nbclient).
SKIP_TAGS = {"nbval-skip", "skip-execution"}


def _manager_class(sandbox: "KernelSandbox | None") -> type[AsyncKernelManager]:
    """A kernel manager that always runs this Python (the course's venv), whatever kernelspecs the machine
    has; with a sandbox, as its user, with the connection file in its home."""
    argv = sandbox.argv() if sandbox else [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]

    class _CourseKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            return KernelSpec(argv=argv, display_name="pgcourse grading", language="python")

        def write_connection_file(self, **kwargs) -> None:
            if sandbox is not None and not self.connection_file:
                self.connection_file = str(sandbox.home / f"kernel-{uuid.uuid4().hex}.json")
            super().write_connection_file(**kwargs)
            if sandbox is not None:
                sandbox.give(Path(self.connection_file))

    return _CourseKernelManager


class _GradingClient(NotebookClient):
    """nbclient that counts output bytes per cell, keeps no output, and remembers each cell's error (short)."""

    def __init__(self, nb: NotebookNode, **kw):
        super().__init__(nb, on_cell_executed=self._keep_error, **kw)
        self.output_bytes: dict[int, int] = defaultdict(int)
        self.errors: dict[int, str] = {}

    def _keep_error(self, cell, cell_index: int, execute_reply: dict) -> None:
        """The execute reply says whether a cell failed, even when no error output was sent (UsageError)."""
        content = execute_reply.get("content", {})
        if content.get("status") == "error":
            self.errors[cell_index] = f"{content.get('ename', 'Error')}: {str(content.get('evalue', ''))[:500]}".strip()

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(v) for v in content.get("data", {}).values() if isinstance(v, str))
        self.output_bytes[cell_index] += size
        return None


def code_cells(nb: NotebookNode) -> list[int]:
    return [i for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and cell.source.strip() and not SKIP_TAGS & set(cell.metadata.get("tags", []))]


def _opener(nb: NotebookNode, code: list[int]) -> int | None:
    """The cell that opens the chapter (re-run after a kernel restart)."""
    return next((i for i in code if "open_chapter(" in nb.cells[i].source), code[0] if code else None)


def _is_setup(source: str) -> bool:
    """A cell that sets up Python state later cells use (imports, helpers): not an answer, a check or plain SQL."""
    stripped = source.lstrip()
    return not exercises_in(source) and not stripped.startswith(("%%", "%sql", "!"))


def _rerun_after_restart(nb: NotebookNode, code: list[int], upto: int, opener: int | None, failed: set[int]) -> list[int]:
    """Cells to run again in a new kernel before cell ``upto``: the opener and every set-up cell above it that ran."""
    return [i for i in code if i < upto and i not in failed and (i == opener or _is_setup(nb.cells[i].source))]


def _incident(kind: str, message: str, nb: NotebookNode, index: int) -> Incident:
    refs = exercises_in(nb.cells[index].source)
    return Incident(kind, message, cell=index + 1, exercise=refs[0] if refs else None)


def execute_notebook(nb: NotebookNode, *, env: dict[str, str], cwd: Path, cell_timeout: float,
                     on_restart: Callable[[], None] = lambda: None, sandbox: "KernelSandbox | None" = None,
                     after_cell: Callable[[int], list[Incident]] = lambda index: [],
                     notebook_timeout: float | None = None) -> list[Incident]:
    """Run every code cell in order; return what went wrong, cell by cell (cells are numbered from 1).

    After a dead kernel or a timeout the kernel is restarted and the set-up cells above are run again
    (the opener, imports, helpers), so a later answer still finds what it needs. ``after_cell`` is
    called after each cell with its index (the grader's answer guard). ``notebook_timeout`` bounds the
    whole run (a class batch must not wait for ever on one notebook): cells left then are not run.
    """
    deadline = time.monotonic() + notebook_timeout if notebook_timeout else None

    def cell_limit() -> float:
        """This cell's timeout: the cell timeout, or what is left of the notebook's time if less."""
        return cell_timeout if deadline is None else min(cell_timeout, deadline - time.monotonic())

    def out_of_time(index: int) -> list[Incident]:
        return [_incident("notebook_timeout", f"not run: the notebook used up its {notebook_timeout:g} s "
                          "(--notebook-timeout)", nb, i) for i in code[code.index(index):]]

    code = code_cells(nb)
    opener = _opener(nb, code)
    incidents: list[Incident] = []
    failed: set[int] = set()
    pos, restarts = 0, 0
    while pos < len(code):
        client = _GradingClient(nb, timeout=int(cell_timeout), allow_errors=True, interrupt_on_timeout=False,
                                kernel_manager_class=_manager_class(sandbox), shutdown_kernel="immediate",
                                startup_timeout=60, resources={"metadata": {"path": str(cwd)}})
        try:
            with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
                if restarts:
                    for index in _rerun_after_restart(nb, code, code[pos], opener, failed):
                        client.execute_cell(nb.cells[index], index)
                        nb.cells[index].outputs = []
                        incidents += after_cell(index)
                while pos < len(code):
                    index = code[pos]
                    if cell_limit() < 1:
                        incidents += out_of_time(index)
                        return incidents
                    pos += 1
                    limit = cell_limit()
                    client.timeout = max(1, int(limit))
                    try:
                        client.execute_cell(nb.cells[index], index)
                    except CellTimeoutError:
                        failed.add(index)
                        if limit < cell_timeout:  # the notebook's time ran out, not the cell's
                            incidents.append(_incident("notebook_timeout", f"stopped: the notebook used up its "
                                                       f"{notebook_timeout:g} s (--notebook-timeout)", nb, index))
                            incidents += out_of_time(code[pos]) if pos < len(code) else []
                            return incidents
                        incidents.append(_incident("timeout", f"ran longer than the {cell_timeout:g} s cell timeout and was "
                                                   "stopped; the kernel was restarted", nb, index))
                        break
                    except DeadKernelError:
                        failed.add(index)
                        incidents.append(_incident("dead_kernel", "the kernel died here; it was restarted and the "
                                                   "set-up cells above run again", nb, index))
                        break
                    finally:
                        _collect(client, nb, index, incidents)
                        incidents += after_cell(index)
        except (RuntimeError, TimeoutError) as exc:  # the kernel did not even start: try again, a few times
            if restarts >= MAX_RESTARTS:
                incidents.append(Incident("dead_kernel", f"the kernel could not start ({exc})"))
                break
        if pos < len(code):
            on_restart()
            restarts += 1
            if restarts > MAX_RESTARTS:
                for index in code[pos:]:
                    incidents.append(_incident("not_run", f"not run: the kernel was restarted {MAX_RESTARTS} times", nb, index))
                break
    return incidents


def _collect(client: _GradingClient, nb: NotebookNode, index: int, incidents: list[Incident]) -> None:
    """Turn a cell's errors and output volume into incidents, then drop its outputs."""
    cell = nb.cells[index]
    expected = "raises-exception" in cell.metadata.get("tags", [])  # the error is the lesson
    if index in client.errors and not expected:
        incidents.append(_incident("error", client.errors[index], nb, index))
    size = client.output_bytes.get(index, 0)
    if size > MAX_OUTPUT_BYTES:
        incidents.append(_incident("huge_output", f"printed {size / 1e6:.1f} MB; the grader kept none of it", nb, index))
    cell.outputs = []
