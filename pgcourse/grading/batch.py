"""Grading a class: a folder per learner, ``--jobs`` notebooks at a time, one learner's failure stopping no other.

Each notebook already runs in a database and with a role of its own (random names) and a kernel
sandbox of its own; what running several at once adds is handled here:
- the integrity check of one run must not blame it for another run's own databases and roles
  (a shared registry of every run's names, :class:`Batch`);
- steps that write shared catalog rows (the checks' role, the sample database's privileges) take
  turns: PostgreSQL refuses two concurrent updates of one catalog row ("tuple concurrently updated");
- chapters whose learner role reaches beyond its own database (CREATEROLE; pg_signal_backend can end
  other roles' sessions) are graded alone, after the others;
- a run that was blamed for something outside its database while another ran is graded again alone
  (a failed login, say, names no culprit in the server log): the verdict that counts is the lone one.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ..chapters import ChapterInfo
from ..errors import PgcourseError
from ..server.base import Server
from .report import NotebookGrade

#: Built-in roles that let a learner role act on other roles' sessions: a chapter granting one is graded alone.
REACHING_ROLES = frozenset({"pg_signal_backend", "pg_signal_autovacuum_worker"})


@dataclass(frozen=True)
class Submission:
    """One notebook to grade (or a learner folder with none) and whose it is."""

    learner: str
    path: Path


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.name.startswith("."))


def collect(paths: list[Path]) -> list[Submission]:
    """Notebooks from the command line: files as given (their folder names the learner); a folder holding
    notebooks is one learner's; a folder of folders is a class, one learner per (non-hidden) folder."""
    found: list[Submission] = []
    for path in paths:
        if not path.is_dir():
            found.append(Submission(path.absolute().parent.name, path))
        elif own := _notebooks(path):
            found += [Submission(path.absolute().name, nb) for nb in own]
        else:
            learners = [d for d in sorted(path.iterdir()) if d.is_dir() and not d.name.startswith((".", "_"))]
            for folder in learners or [path]:
                found += [Submission(folder.name, nb) for nb in _notebooks(folder)] or [Submission(folder.name, folder)]
    seen: set[Path] = set()
    unique = []
    for sub in found:
        if sub.path.resolve() not in seen:
            seen.add(sub.path.resolve())
            unique.append(sub)
    return unique


def grades_alone(info: ChapterInfo | None) -> bool:
    """Whether a chapter's learner role can reach other runs (create roles, end sessions): never graded beside one."""
    return info is not None and bool(info.role_attributes or REACHING_ROLES & set(info.granted_roles))


class Batch:
    """What runs graded at the same time share: every run's database and role names, and turns at the catalog."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._lock = threading.Lock()
        self._turn = threading.Lock()

    def register(self, names: set[str]) -> None:
        with self._lock:
            self._names |= names

    def others(self, own: set[str]) -> frozenset[str]:
        """Names of every other run of the batch (running, done or about to start)."""
        with self._lock:
            return frozenset(self._names - own)

    @contextlib.contextmanager
    def catalog_turn(self) -> Iterator[None]:
        """One run at a time writes shared catalog rows (set-up, checks, clean-up)."""
        with self._turn:
            yield


def not_gradable(sub: Submission) -> NotebookGrade:
    """The row of a submission that cannot be run: a learner's folder with no notebook, or why the notebook cannot."""
    from . import read_notebook, ungradable

    if sub.path.is_dir():
        return ungradable(sub.path, None, f"no notebook (*.ipynb) in the learner's folder {sub.path}", sub.learner)
    _, info, why = read_notebook(sub.path)
    return ungradable(sub.path, info, why, sub.learner)


def _grade_one(sub: Submission, server: Server, batch: Batch | None, options: dict) -> NotebookGrade:
    """Grade one submission; whatever goes wrong becomes that notebook's row, never an exception."""
    from . import grade_notebook, read_notebook, ungradable

    if sub.path.is_dir():
        return not_gradable(sub)
    try:
        return grade_notebook(sub.path, server, learner=sub.learner, batch=batch, **options)
    except Exception as exc:  # a bug or a server hiccup in the grader: this notebook's row says so, others go on
        where = traceback.extract_tb(exc.__traceback__)[-1]
        why = f"the grader failed on this notebook: {type(exc).__name__}: {str(exc).strip()[:300]} " \
              f"({Path(where.filename).name}:{where.lineno})"
        return ungradable(sub.path, read_notebook(sub.path)[1], why, sub.learner)


def _prepare(server: Server, size: str | None) -> None:
    """Make once, before runs start side by side, what each would otherwise create on first use."""
    from .. import chapter as chapter_db
    from .. import datasets
    from ..checks.sample import ensure_sample
    from .sandbox import make_sandbox

    try:
        datasets.ensure(server, size or datasets.default_size())
        chapter_db.ensure_checker_role(server)
        with server.connect() as conn:
            admin = conn.execute("SELECT current_user").fetchone()[0]
        ensure_sample(server, admin)
    except (PgcourseError, psycopg.Error):
        pass  # each run meets the same problem and reports it in its own row
    make_sandbox().remove()  # under root: the kernel user is created and probed once


def grade_submissions(subs: list[Submission], server: Server, *, jobs: int = 1,
                      on_graded: Callable[[NotebookGrade, int, int], None] | None = None,
                      **options) -> list[NotebookGrade]:
    """Grade every submission (in their order in the result), ``jobs`` at a time."""
    from . import read_notebook

    results: dict[int, NotebookGrade] = {}
    done = 0

    def finished(i: int, grade: NotebookGrade) -> None:
        nonlocal done
        results[i] = grade
        done += 1
        if on_graded:
            on_graded(grade, done, len(subs))

    def by_itself(sub: Submission) -> bool:
        return jobs <= 1 or (sub.path.is_file() and grades_alone(read_notebook(sub.path)[1]))

    alone = [i for i, sub in enumerate(subs) if by_itself(sub)]
    together = [i for i in range(len(subs)) if i not in alone]
    spans: dict[int, tuple[float, float]] = {}
    if together:
        _prepare(server, options.get("size"))
        batch = Batch()

        def run(i: int) -> NotebookGrade:
            start = time.monotonic()
            grade = _grade_one(subs[i], server, batch, options)
            spans[i] = (start, time.monotonic())
            return grade

        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade") as pool:
            futures = {pool.submit(run, i): i for i in together}
            for future in as_completed(futures):
                finished(futures[future], future.result())
    for i in alone:
        finished(i, _grade_one(subs[i], server, None, options))
    for i in together:
        blamed = [inc for inc in results[i].incidents if inc.kind in ("outside", "attempt")]
        start, end = spans[i]
        if blamed and any(j != i and s < end and start < e for j, (s, e) in spans.items()):
            first = blamed[0].message
            again = _grade_one(subs[i], server, None, options)
            again.message = " ".join(filter(None, [again.message, f"graded again alone: while other notebooks were "
                                                   f"graded beside it, this was seen ({first[:200]})"]))
            results[i] = again
            if on_graded:
                on_graded(again, done, len(subs))
    return [results[i] for i in range(len(subs))]
