"""``pgcourse build``: write ``notebooks/NN_topic.ipynb`` from ``solutions/NN_topic.ipynb``.

The result depends only on the solution notebook, so rebuilding is byte-identical and a test can
say when ``notebooks/`` is out of date.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .. import chapters
from ..chapters import ChapterInfo
from ..errors import AuthoringError, ChapterError
from ..server import project_root
from . import transforms as t

Transform = Callable[[NotebookNode, ChapterInfo], NotebookNode]

#: The learner-notebook build, in order.
PIPELINE: tuple[Transform, ...] = (
    t.clear_solution_outputs,
    t.clear_check_outputs,
    t.clear_measure_outputs,
    t.replace_solutions,
    t.keep_only_tags,
    t.normalise_execution_counts,
    t.number_cell_ids,
    t.set_notebook_metadata,
)


def solutions_dir() -> Path:
    return project_root() / "solutions"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def chapter_of(path: Path, nb: NotebookNode | None = None) -> ChapterInfo:
    """The chapter a notebook belongs to: its ``pgcourse.chapter`` metadata, else its file name."""
    declared = (nb.metadata.get("pgcourse", {}) if nb is not None else {}).get("chapter")
    try:
        return chapters.get(declared if declared is not None else path.stem)
    except ChapterError as exc:
        raise AuthoringError(f"{path.name}: {exc}") from None


def learner_version(nb: NotebookNode, chapter: ChapterInfo) -> NotebookNode:
    """The learner notebook: a copy of the solution run through every step of :data:`PIPELINE`."""
    nb = copy.deepcopy(nb)
    for step in PIPELINE:
        nb = step(nb, chapter)
    return nb


def dumps(nb: NotebookNode) -> str:
    """Notebook JSON exactly as Jupyter writes it (sorted keys, indent 1), newline-terminated."""
    return nbformat.writes(nb, version=4) + "\n"


def build_notebook(solution: Path) -> tuple[str, str]:
    """(file name, text) of the learner notebook built from one solution notebook."""
    try:
        nb = nbformat.read(solution, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for a broken file
        raise AuthoringError(f"cannot read {solution}: {exc}") from None
    chapter = chapter_of(solution, nb)
    if solution.name != chapter.notebook:
        raise AuthoringError(f"{solution.name} declares chapter {chapter.number}; name it {chapter.notebook}")
    try:
        return chapter.notebook, dumps(learner_version(nb, chapter))
    except AuthoringError as exc:
        raise AuthoringError(f"{solution.name}: {exc}") from None


def _planned(source: Path) -> dict[str, str]:
    return dict(build_notebook(path) for path in sorted(source.glob("*.ipynb")))


def build_all(source: Path | None = None, target: Path | None = None) -> list[str]:
    """Write every learner notebook; return the names that changed (none on a rebuild)."""
    source, target = source or solutions_dir(), target or notebooks_dir()
    target.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in _planned(source).items():
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(name)
    return changed


def stale_notebooks(source: Path | None = None, target: Path | None = None) -> list[str]:
    """Learner notebooks that a build would change or that have no solution ("name: why")."""
    source, target = source or solutions_dir(), target or notebooks_dir()
    planned = _planned(source)
    problems = []
    for name, text in planned.items():
        path = target / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: differs from its solution's build")
    for path in sorted(target.glob("*.ipynb")):
        if path.name not in planned:
            problems.append(f"{path.name}: no solutions/{path.name}")
    return problems
