"""Where the seed says what it is doing: lines on stderr, a live display in a notebook cell, or nowhere.

A first seed takes from seconds (`tiny`) to minutes (`large`): whoever waits must see it move,
in a terminal, under ``pgcourse lab`` (whose output may not be a terminal) and in the notebook
cell that opened the first chapter. Lines come from the loading threads too; they are queued and
written by the thread that runs the seed (:meth:`Reporter.flush`), in a notebook the thread the
cell's output belongs to.
"""

from __future__ import annotations

import os
import queue
import sys
import threading

from tqdm import tqdm

#: Set in nbval's kernels (PGCOURSE_CHAPTER_DB) and a grader's (PGCOURSE_GRADED_CHAPTER): their
#: cells' outputs must not change (pgcourse.chapter's CHAPTER_DB_ENV and GRADED_CHAPTER_ENV).
QUIET_KERNEL_ENVS = ("PGCOURSE_CHAPTER_DB", "PGCOURSE_GRADED_CHAPTER")

PREFIX = "pgcourse: seeding: "


def in_kernel() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel, not just IPython imported)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return getattr(shell, "kernel", None) is not None


def in_learner_notebook() -> bool:
    """True inside a Jupyter kernel that is not nbval's or a grader's (see :data:`QUIET_KERNEL_ENVS`)."""
    return in_kernel() and not any(os.environ.get(name) for name in QUIET_KERNEL_ENVS)


def choose(progress: bool | None) -> str | None:
    """``"stderr"``, ``"notebook"`` or None. Asked (True/False), else: a terminal, or a learner's notebook.

    nbval's and the grader's kernels get nothing by default: the lines would become a cell's output.
    """
    if progress is False:
        return None
    if in_learner_notebook() or (progress and in_kernel()):
        return "notebook"
    if progress or sys.stderr.isatty():
        return "stderr"
    return None


class Reporter:
    """Progress lines for one seed, written to ``mode``'s place (None: dropped)."""

    def __init__(self, mode: str | None = None):
        self.mode = mode
        self.lines: list[str] = []
        self._pending: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._handle = None
        self._lock = threading.Lock()
        self._rows = 0
        self._next_tenth = 1
        self.total = 0  #: rows the load will write (the generators' estimates)
        self._owner = threading.current_thread()  # the seed's thread: the one that writes

    def note(self, message: str) -> None:
        """Queue one line; written at once from the seed's thread, else at that thread's next flush."""
        if self.mode is None:
            return
        self._pending.put(message)
        if threading.current_thread() is self._owner:
            self.flush()

    def rows_loaded(self, n: int) -> None:
        """Count loaded rows; a line at every tenth of :attr:`total` (the load is most of a seed's wait)."""
        total = self.total
        with self._lock:
            self._rows += n
            rows = self._rows
            tenth = min(rows * 10 // max(total, 1), 10)
            if tenth < self._next_tenth:
                return
            self._next_tenth = tenth + 1
        self.note(f"[{'#' * tenth}{'.' * (10 - tenth)}] {rows:,} of about {total:,} rows loaded")

    def flush(self) -> None:
        """Write the queued lines (from the seed's thread only)."""
        new = []
        while True:
            try:
                new.append(self._pending.get_nowait())
            except queue.Empty:
                break
        if not new:
            return
        if self.mode == "stderr":
            for line in new:
                tqdm.write(PREFIX + line, file=sys.stderr)
            sys.stderr.flush()
        elif self.mode == "notebook":
            self.lines += new
            self._show()

    def _show(self) -> None:
        from IPython.display import display

        data = {"text/plain": "\n".join(PREFIX + line for line in self.lines)}
        if self._handle is None:
            self._handle = display(data, raw=True, display_id=True)
        else:
            self._handle.update(data, raw=True)

