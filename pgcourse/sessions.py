"""Live sessions: several named connections of one notebook, each with its own transactions.

``lab = ch.sessions("alice", "bob")`` opens them as the chapter's learner (autocommit at the
driver, so the learner's own ``BEGIN``/``COMMIT`` open and close transactions). A statement that
blocks keeps running in the background; its Step says on what lock and behind whom it waits, and
the step after which it finished shows its result or error. Everything printed is by step order,
never by time, with no pids or transaction ids: the same steps print the same text on any machine.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

#: Seconds a step waits for its statement before reporting it as still running (``wait=``).
DEFAULT_WAIT = 0.5
#: Seconds the lab waits for the server to break a deadlock it can see (deadlock_timeout is 1 s).
CYCLE_WAIT = 15.0
#: Polling interval while a statement runs (waits are detected with pg_blocking_pids, not slept out).
POLL = 0.01
#: Rows a step shows at most.
SHOWN_ROWS = 20
#: A wait pg_blocking_pids saw but pg_locks, read a moment apart, did not (looked up again before it is shown).
UNKNOWN_LOCK = "a lock"

_WAITS = """
SELECT w.pid, pg_blocking_pids(w.pid), l.locktype, l.mode, l.relation::regclass::text, l.page, l.tuple
FROM unnest(%s::int[]) AS w(pid)
LEFT JOIN LATERAL (SELECT * FROM pg_locks k WHERE k.pid = w.pid AND NOT k.granted LIMIT 1) l ON true
"""


@dataclass
class Step:
    """One statement sent to one session: its outcome, or the lock it is waiting for."""

    number: int
    session: str
    sql: str
    status: str = "running"  # running | done | error | not sent
    tag: str = ""  # the server's command tag: "UPDATE 1", "BEGIN"
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    sqlstate: str = ""
    message: str = ""
    detail: str = ""
    waited_for: str = ""  # "ShareLock on transaction, held by alice"
    finished_at: int | None = None  # the step number after which the statement had finished
    also: list[Step] = field(default_factory=list, repr=False)  # other sessions' steps that finished meanwhile
    _future: Future | None = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    @property
    def outcome(self) -> str:
        """One line: the command tag, ``ERROR <sqlstate> <message>``, ``waiting`` or ``running``."""
        if self.status == "error":
            return f"ERROR {self.sqlstate}: {self.message}"
        if self.status == "running":
            return "waiting" if self.waited_for else "running"
        if self.status == "not sent":
            return f"not sent: {self.message}"
        return self.tag

    def result(self, timeout: float | None = 60) -> list[tuple]:
        """Wait for the statement to finish; return its rows, or raise the server's error."""
        if self._future is not None:
            self._future.result(timeout)
        if self._error is not None:
            raise self._error
        return self.rows

    def _head(self) -> str:
        return f"[{self.number}] {self.session}: {_one_line(self.sql)}"

    def _lines(self) -> list[str]:
        lines = [self._head()]
        if self.status == "running":
            lines.append(f"    {self.session} is waiting for a lock: {self.waited_for}" if self.waited_for
                         else f"    {self.session} is still running (not waiting for a lock)")
        elif self.status == "error":
            lines.append(f"    ERROR {self.sqlstate}: {self.message}")
            lines += [f"    DETAIL: {line}" for line in self.detail.splitlines()]
        elif self.status == "not sent":
            lines.append(f"    not sent: {self.message}")
        else:
            lines += ["    " + line for line in _table(self.columns, self.rows)] or []
            lines.append(f"    {self.tag}")
        for other in self.also:
            where = f"(step {other.number}, which waited for {other.waited_for})" if other.waited_for else f"(step {other.number})"
            lines.append(f"  then {other.session} finished {where}: {other.outcome}")
            lines += [f"      DETAIL: {line}" for line in other.detail.splitlines()]
            lines += ["      " + line for line in _table(other.columns, other.rows)]
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        return f'<pre class="mathjax_ignore tex2jax_ignore" style="text-align: left">{html.escape(repr(self))}</pre>'


class Notes(list):
    """What ``close()`` found left open (already printed, so a notebook cell shows nothing more)."""

    def _ipython_display_(self) -> None:
        return None


class Steps(list):
    """The steps of a multi-statement call or ``%%session`` cell, shown one after the other."""

    def result(self, timeout: float | None = 60) -> list[tuple]:
        """The last statement's rows (waiting for it), or the first error raised."""
        rows: list[tuple] = []
        for step in self:
            rows = step.result(timeout)
        return rows

    def __repr__(self) -> str:
        return "\n".join(repr(step) for step in self)

    def _repr_html_(self) -> str:
        return f'<pre class="mathjax_ignore tex2jax_ignore" style="text-align: left">{html.escape(repr(self))}</pre>'


def _one_line(sql: str, width: int = 90) -> str:
    """The statement on one line, without its whole-line comments, cut at ``width``."""
    text = " ".join(" ".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _table(columns: Sequence[str], rows: Sequence[tuple]) -> list[str]:
    """A small fixed-width table as psql prints it (no more than SHOWN_ROWS rows)."""
    if not columns:
        return []
    shown = [["NULL" if v is None else str(v) for v in row] for row in rows[:SHOWN_ROWS]]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in shown]
    if len(rows) > SHOWN_ROWS:
        lines.append(f"({len(rows)} rows, {SHOWN_ROWS} shown)")
    return lines


def split_statements(text: str) -> list[str]:
    """The SQL statements of a text, as psql would send them one by one (comments-only parts dropped)."""
    import sqlparse

    out = []
    for part in sqlparse.split(text):
        body = sqlparse.format(part, strip_comments=True).strip().rstrip(";").strip()
        if body:
            out.append(part.strip().rstrip(";").strip())
    return out


class Session:
    """One named live connection of a lab; call it with SQL: ``lab.alice("BEGIN")``."""

    def __init__(self, lab: Lab, name: str, conn: psycopg.Connection):
        self.lab, self.name, self.conn = lab, name, conn
        self.pid: int = conn.info.backend_pid
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pgcourse-{name}")
        self.pending: Step | None = None  # a statement still running in the background
        self.lock_timeout = False  # the session set a lock_timeout: a lock wait ends by itself

    def __call__(self, sql: str, params: Any = None, *, wait: float | None = None) -> Step | Steps:
        """Run SQL in this session; a statement that blocks is left running and reported as waiting."""
        statements = [sql] if params is not None else split_statements(sql)
        steps = Steps(self.lab._run(self, s, params, wait) for s in statements or [sql])
        for i, step in enumerate(steps):
            if step.status == "running" and i + 1 < len(statements):
                skipped = len(statements) - i - 1
                step.also.append(Step(0, self.name, "", status="not sent", message=(
                    f"{skipped} more statement(s) of this call: {self.name} is still busy (run them once it has finished)")))
                break
        return steps[0] if len(steps) == 1 else steps

    def result(self, timeout: float | None = 60) -> list[tuple]:
        """Wait for this session's background statement (if any) and return or raise its outcome."""
        step = self.pending or (self.lab._steps_of(self.name) or [None])[-1]
        return step.result(timeout) if step else []

    @property
    def in_transaction(self) -> str:
        """``idle``, ``in transaction``, ``in failed transaction`` or ``running``."""
        if self.pending is not None:
            return "running"
        status = self.conn.info.transaction_status
        return {TransactionStatus.INTRANS: "in transaction", TransactionStatus.INERROR: "in failed transaction"}.get(
            status, "idle")

    def _execute(self, step: Step, params: Any) -> None:
        """Run the statement (in this session's worker thread) and fill in the step."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(step.sql, params)
                step.tag = cur.statusmessage or ""
                if cur.description:
                    step.columns = [c.name for c in cur.description]
                    step.rows = cur.fetchall()
            step.status = "done"
        except psycopg.Error as exc:
            step.status, step._error = "error", exc
            diag = exc.diag
            step.sqlstate = diag.sqlstate or ""
            step.message = diag.message_primary or str(exc).splitlines()[0]
            step.detail = self.lab._masked(diag.message_detail or "")
        if "lock_timeout" in step.sql.lower():
            self.lock_timeout = self._setting_on("lock_timeout")

    def _setting_on(self, name: str) -> bool:
        try:
            return self.conn.execute(f"SELECT current_setting('{name}') NOT IN ('0', '0ms')").fetchone()[0]
        except psycopg.Error:
            return self.lock_timeout

    def close(self) -> str | None:
        """Cancel what runs, roll back what is open, close; say what was left open."""
        state = self.in_transaction
        if self.pending is not None:
            self.conn.cancel_safe()
            with contextlib.suppress(Exception):
                self.pending._future.result(10)
        note = None
        if state != "idle" and not self.conn.closed:
            what = {"running": "a statement still running", "in failed transaction": "a failed transaction open"}.get(
                state, "an open transaction")
            note = f"{self.name} had {what}: rolled back"
        with contextlib.suppress(Exception):
            self.conn.rollback()
        with contextlib.suppress(Exception):
            self.conn.close()
        self._worker.shutdown(wait=False)
        return note


_open_labs: weakref.WeakSet[Lab] = weakref.WeakSet()
_current_lab: Lab | None = None


class Lab:
    """Named live sessions of one chapter, run by steps: ``lab.alice(sql)``, ``lab.timeline()``, ``lab.close()``."""

    def __init__(self, connect: Callable[..., psycopg.Connection], names: Sequence[str]):
        global _current_lab
        if not names or len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
            raise ValueError("name the sessions with distinct identifiers: ch.sessions('alice', 'bob')")
        self.steps: list[Step] = []
        self._finished: list[Step] = []  # background statements finished since the last step was shown
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        try:
            for name in names:
                conn = connect(autocommit=True, application_name=f"pgcourse lab: {name}")
                self.sessions[name] = Session(self, name, conn)
            self._watch = connect(autocommit=True, application_name="pgcourse lab watcher")
        except BaseException:
            self.close(quiet=True)
            raise
        self.closed = False
        _open_labs.add(self)
        _current_lab = self

    def __getattr__(self, name: str) -> Session:
        sessions = self.__dict__.get("sessions", {})
        if name in sessions:
            return sessions[name]
        raise AttributeError(f"this lab has no session {name!r} (it has {', '.join(sessions) or 'none'})")

    def __getitem__(self, name: str) -> Session:
        return self.sessions[name]

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<lab: {', '.join(self.sessions)}; {len(self.steps)} steps{'; closed' if self.closed else ''}>"

    # ---- running steps ----

    def _steps_of(self, name: str) -> list[Step]:
        return [s for s in self.steps if s.session == name]

    def _run(self, session: Session, sql: str, params: Any, wait: float | None) -> Step:
        if self.closed:
            raise RuntimeError("this lab is closed: open a new one with ch.sessions(...)")
        step = Step(len(self.steps) + 1, session.name, sql)
        self.steps.append(step)
        if session.pending is not None:
            step.status = "not sent"
            step.message = (f"{session.name} is still busy with step {session.pending.number}; "
                            "finish what it waits for first (or call its .result())")
            return step
        session.pending = step
        step._future = session._worker.submit(session._execute, step, params)
        self._settle(DEFAULT_WAIT if wait is None else wait)
        step.also += [other for other in self._finished if other is not step]
        self._finished = []
        return step

    def _settle(self, wait: float) -> None:
        """Poll until every running statement has finished or waits for a lock that only another step can free.

        A statement in a deadlock the server will break, or with a lock_timeout, is waited for (bounded);
        one that is neither finished nor waiting is given ``wait`` seconds.
        """
        start = time.monotonic()
        unblocked: dict[str, float] = {}  # when each running statement was last seen not waiting for a lock
        seen_blocked: set[str] = set()
        while True:
            self._collect()
            running = [s for s in self.sessions.values() if s.pending is not None]
            if not running:
                return
            now = time.monotonic()
            waits = self._waits([s.pid for s in running])
            by_pid = {s.pid: s for s in self.sessions.values()}
            settled = True
            for s in running:
                blockers, lock = waits.get(s.pid, ([], ""))
                if blockers:
                    unblocked.pop(s.name, None)
                    seen_blocked.add(s.name)
                    names = [by_pid[p].name if p in by_pid else "another connection (not in this lab)" for p in blockers]
                    described = lock != UNKNOWN_LOCK
                    if described or not s.pending.waited_for:
                        s.pending.waited_for = f"{lock}, held by {', '.join(names)}"
                    if not described and now - start < wait:
                        settled = False  # blocked, but pg_locks (a snapshot of its own) missed the wait: look again
                    ends_by_itself = s.lock_timeout or self._in_cycle(s.pid, waits)
                    if ends_by_itself and now - start < CYCLE_WAIT:
                        settled = False
                elif now - unblocked.setdefault(
                        s.name, start if s.pending.number == len(self.steps) and s.name not in seen_blocked else now) < wait:
                    settled = False  # running, or just let go by a lock: give it `wait` seconds to finish
            if settled:
                return
            time.sleep(POLL)

    def _collect(self) -> None:
        """Mark statements that have finished with the step after which they were seen finished."""
        for s in self.sessions.values():
            if s.pending is not None and s.pending._future.done():
                s.pending.finished_at = len(self.steps)
                if s.pending.number != len(self.steps):
                    self._finished.append(s.pending)  # shown under the step after which it was seen finished
                s.pending = None

    def _waits(self, pids: list[int]) -> dict[int, tuple[list[int], str]]:
        """pid -> (pids blocking it, the lock it waits for in words) from pg_blocking_pids and pg_locks."""
        try:
            with self._lock:
                rows = self._watch.execute(_WAITS, [pids]).fetchall()
        except psycopg.OperationalError:  # the server ended the lab (a reset dropped its database)
            return {}
        return {pid: (list(blockers or []), _lock_words(locktype, mode, rel, page, tup))
                for pid, blockers, locktype, mode, rel, page, tup in rows}

    @staticmethod
    def _in_cycle(pid: int, waits: dict[int, tuple[list[int], str]]) -> bool:
        """True when pid waits, through lab sessions, on itself (a deadlock the server will detect)."""
        seen, todo = set(), list(waits.get(pid, ([], ""))[0])
        while todo:
            p = todo.pop()
            if p == pid:
                return True
            if p not in seen:
                seen.add(p)
                todo += waits.get(p, ([], ""))[0]
        return False

    def _masked(self, text: str) -> str:
        """Server text with this lab's pids named and transaction ids masked (deterministic output)."""
        import re

        for s in self.sessions.values():
            text = re.sub(rf"\b([Pp]rocess) {s.pid}\b", rf"\1 {s.name}", text)
        text = re.sub(r"\btransaction \d+\b", "transaction <xid>", text)
        return re.sub(r"\b([Pp]rocess) \d+\b", r"\1 <pid>", text)

    def server_log(self, log_file: Path | None, words: str, *, tail_bytes: int = 1_000_000) -> list[str] | None:
        """The last entry of the server's log holding ``words`` (its ERROR, DETAIL, CONTEXT, STATEMENT lines), with
        this lab's pids named, ids and times masked; None when the log cannot be read from here (not our server)."""
        import re

        if log_file is None or not Path(log_file).is_file():
            return None
        with open(log_file, "rb") as f:
            f.seek(max(0, Path(log_file).stat().st_size - tail_bytes))
            lines = f.read().decode(errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if words in line]
        if not starts:
            return []
        pid = re.search(r"\[(\d+)\]", lines[starts[-1]])
        entry = [lines[starts[-1]]]
        for line in lines[starts[-1] + 1:]:
            if not (line.startswith("\t") or (pid and f"[{pid.group(1)}]" in line)):
                break
            entry.append(line)
        stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \S+ ")
        named = {str(s.pid): s.name for s in self.sessions.values()}
        out = []
        for line in entry:
            line = re.sub(r"\[(\d+)\]", lambda m: f"[{named.get(m.group(1), 'pid')}]", stamp.sub("", line))
            out.append(self._masked(line.replace("\t", "    ")))
        return out

    # ---- looking at it ----

    def status(self):
        """A table: session, pid, transaction state, what it waits for."""
        import pandas as pd

        self._collect()
        return pd.DataFrame([(s.name, s.pid, s.in_transaction, s.pending.waited_for if s.pending else "")
                             for s in self.sessions.values()],
                            columns=["session", "pid", "state", "waiting_for"])

    def history(self):
        """Every step as a row: step, session, sql, outcome, waited_for, finished_at."""
        import pandas as pd

        self._collect()
        frame = pd.DataFrame([(s.number, s.session, _one_line(s.sql, 60), s.outcome, s.waited_for,
                               s.finished_at if s.finished_at != s.number else None) for s in self.steps],
                             columns=["step", "session", "sql", "outcome", "waited_for", "finished_at"])
        frame["finished_at"] = frame["finished_at"].astype("Int64")  # a wait ended after this step; empty if none
        return frame

    def timeline(self, title: str = "") -> Timeline:
        """A swim-lane picture by step order (one lane per session; waits hatched until they ended)."""
        self._collect()
        return Timeline(list(self.sessions), list(self.steps), title)

    # ---- closing ----

    def close(self, *, quiet: bool = False) -> Notes:
        """Roll back and close every session; print (and return) which had something open."""
        global _current_lab
        if "_watch" in self.__dict__ and not self.__dict__.get("closed", True):
            self._collect()
        notes = Notes(n for s in self.__dict__.get("sessions", {}).values() if (n := s.close()))
        watch = self.__dict__.get("_watch")
        if watch is not None:
            watch.close()
        self.closed = True
        _open_labs.discard(self)
        if _current_lab is self:
            _current_lab = None
        if not quiet:
            print("\n".join(notes) if notes else f"closed sessions {', '.join(self.sessions)}: nothing was left open")
        return notes


def _lock_words(locktype: str | None, mode: str | None, relation: str | None, page: int | None, tup: int | None) -> str:
    """A waited-for lock in words, without ids: "ShareLock on a transaction", "AccessExclusiveLock on accounts"."""
    if locktype is None:
        return UNKNOWN_LOCK
    if locktype == "relation":
        return f"{mode} on {relation}"
    if locktype == "tuple":
        return f"{mode} on a row of {relation} (page {page}, tuple {tup})"
    if locktype == "transactionid":
        return f"{mode} on a transaction (a row it changed)"
    if locktype == "advisory":
        return f"{mode} on an advisory lock"
    return f"{mode} on {locktype}"


class Timeline:
    """A lab's steps as swim lanes: text (one line per lane) and a PNG (matplotlib), both by step order."""

    def __init__(self, lanes: list[str], steps: list[Step], title: str = ""):
        self.lanes, self.steps, self.title = lanes, steps, title

    def _spans(self) -> Iterator[tuple[Step, int, int]]:
        last = len(self.steps)
        for s in self.steps:
            end = s.finished_at if s.finished_at is not None else (s.number if s.status != "running" else last)
            yield s, s.number, max(end, s.number)

    def __repr__(self) -> str:
        width = len(self.steps)
        cells = {lane: ["."] * width for lane in self.lanes}
        for s, start, end in self._spans():
            row = cells[s.session]
            for i in range(start, end):
                row[i] = "~"  # waiting through the following steps
            mark = {"error": "X", "running": "?", "not sent": "-"}.get(s.status, "#")
            row[start - 1] = "w" if end > start or s.status == "running" else mark
            if end > start:
                row[end - 1] = {"error": "X", "running": "~"}.get(s.status, "*")
        name = max(len(lane) for lane in self.lanes + ["step"])
        lines = [f"{'step'.ljust(name)} " + "".join(str(i % 10) for i in range(1, width + 1))]
        lines += [f"{lane.ljust(name)} {''.join(cells[lane])}" for lane in self.lanes]
        lines.append("(# ran, w sent and waited, ~ waiting for a lock, * finished after waiting, X error, - not sent)")
        return "\n".join(lines)

    def figure(self):
        """The matplotlib Figure: a box per step in its session's lane, waits hatched."""
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        fig = Figure(figsize=(max(6, 0.9 * len(self.steps) + 1.5), 0.8 * len(self.lanes) + 1), dpi=80)
        ax = fig.add_subplot()
        lane_y = {lane: len(self.lanes) - 1 - i for i, lane in enumerate(self.lanes)}
        for s, start, end in self._spans():
            y = lane_y[s.session]
            color = {"error": "#e06666", "done": "#93c47d", "not sent": "#cccccc"}.get(s.status, "#f6b26b")
            box = dict(edgecolor="black", linewidth=0.8)
            if end > start:  # sent at `start`, waited (hatched), finished at `end` with its outcome
                ax.add_patch(Rectangle((start - 0.4, y - 0.3), 0.8, 0.6, facecolor="#f6b26b", **box))
                ax.add_patch(Rectangle((start + 0.4, y - 0.15), end - start - 0.8, 0.3, facecolor="white",
                                       edgecolor="#999999", hatch="///", linewidth=0.8))
                ax.add_patch(Rectangle((end - 0.4, y - 0.3), 0.8, 0.6, facecolor=color, **box))
                ax.text(end, y, s.sqlstate or s.tag or "…", ha="center", va="center", fontsize=7, clip_on=True)
            else:
                ax.add_patch(Rectangle((start - 0.4, y - 0.3), 0.8, 0.6, facecolor=color, **box))
            ax.text(start, y, _short(s.sql), ha="center", va="center", fontsize=7, clip_on=True)
        ax.set_xlim(0.4, len(self.steps) + 0.6)
        ax.set_ylim(-0.6, len(self.lanes) - 0.4)
        ax.set_yticks(list(lane_y.values()), list(lane_y))
        ax.set_xticks(range(1, len(self.steps) + 1))
        ax.set_xlabel("step (order, not time); orange: sent, then waiting (hatched) until its outcome; red: error")
        if self.title:
            ax.set_title(self.title)
        fig.tight_layout()
        return fig

    def png(self) -> bytes:
        """The picture as PNG bytes, without a timestamp or version in its metadata (same bytes every run)."""
        import io

        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()


def _short(sql: str) -> str:
    words = sql.split()
    head = " ".join(words[:2]) if words else ""
    return head if len(head) <= 14 else head[:13] + "…"


def current_lab() -> Lab:
    """The lab ``%%session`` cells run in: the one opened last and still open."""
    if _current_lab is None or _current_lab.closed:
        raise RuntimeError("no lab is open: run lab = ch.sessions('alice', 'bob') first")
    return _current_lab


def close_earlier(names: Sequence[str]) -> list[str]:
    """Close the open labs that have a session of one of these names (a ``lab = ch.sessions(...)`` cell run again
    would otherwise leave the earlier sessions, and their locks, open); say so, and return what was left open."""
    notes: list[str] = []
    for lab in [lab for lab in list(_open_labs) if not lab.closed and set(lab.sessions) & set(names)]:
        print(f"an earlier lab with {', '.join(lab.sessions)} was still open: closing it")
        notes += lab.close()
    return notes


def close_all(*, quiet: bool = False) -> list[str]:
    """Close every open lab of this process (chapter reset, kernel exit); return what was left open."""
    notes: list[str] = []
    for lab in list(_open_labs):
        notes += lab.close(quiet=quiet)
    return notes


def session_magic(line: str, cell: str):
    """%%session NAME: run the cell's SQL in session NAME of the current lab (statement by statement)."""
    from IPython.core.error import UsageError

    name = line.strip()
    try:
        lab = current_lab()
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    if name not in lab.sessions:
        raise UsageError(f"usage: %%session NAME, with NAME one of {', '.join(lab.sessions)}")
    return lab.sessions[name](cell)


@atexit.register
def _close_at_exit() -> None:
    notes = close_all(quiet=True)
    if notes:
        print("pgcourse: closing live sessions at exit: " + "; ".join(notes))
