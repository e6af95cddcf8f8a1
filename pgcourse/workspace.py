"""The learner's workspace: a git-ignored copy of ``notebooks/`` that no command overwrites.

``prepare()`` copies chapters the learner does not have yet. When the course changes a chapter
the learner already has, the new version is put in ``workspace/updates/`` beside it, never
over the learner's copy. Course pages the notebooks link to (``docs/guide-errata.md``) are
copied to ``workspace/docs/`` every time: they are not the learner's work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .server import project_root

SOURCES_FILE = ".pgcourse-sources.json"

#: Course pages the notebooks link to (``../docs/guide-errata.md#g1-...``), copied into the workspace so
#: the links open in JupyterLab, whose file root is the workspace. They are the course's: refreshed every time.
LINKED_DOCS = ("docs/guide-errata.md",)


@dataclass
class WorkspaceReport:
    path: Path
    added: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)


def workspace_dir() -> Path:
    """``workspace/`` of the project (PGCOURSE_WORKSPACE overrides, e.g. in tests)."""
    env = os.environ.get("PGCOURSE_WORKSPACE")
    return Path(env).absolute() if env else project_root() / "workspace"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(source: Path | None = None, target: Path | None = None) -> WorkspaceReport:
    """Copy new course notebooks into the workspace; offer changed ones in ``updates/``."""
    source = source or project_root() / "notebooks"
    target = target or workspace_dir()
    target.mkdir(parents=True, exist_ok=True)
    record_file = target / SOURCES_FILE
    record = json.loads(record_file.read_text()) if record_file.exists() else {}
    report = WorkspaceReport(target)
    for nb in sorted(source.glob("*.ipynb")):
        digest = _digest(nb)
        mine = target / nb.name
        if not mine.exists():  # new chapter, or one the learner deleted to get a fresh copy
            shutil.copy2(nb, mine)
            record[nb.name] = digest
            report.added.append(nb.name)
        elif record.get(nb.name) != digest:
            updates = target / "updates"
            updates.mkdir(exist_ok=True)
            shutil.copy2(nb, updates / nb.name)
            record[nb.name] = digest
            report.updates.append(nb.name)
    record_file.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    copy_linked_docs(source.parent, target)
    return report


def copy_linked_docs(project: Path, target: Path) -> list[Path]:
    """Copy the pages notebooks link to into ``target`` (same relative path), so ``../docs/...`` links resolve there.

    JupyterLab resolves ``../docs/x.md`` from a notebook at the root of its file tree to ``docs/x.md``.
    """
    copied = []
    for name in LINKED_DOCS:
        page = project / name
        if page.exists():
            dest = target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(page, dest)
            copied.append(dest)
    return copied
