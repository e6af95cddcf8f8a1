"""Record a solution notebook: run it top to bottom on a fresh chapter database and save its outputs.

The saved outputs are what nbval compares in the test suite, so they must come from a clean run
on the dataset size the suite uses; per-cell timestamps are not recorded (they would change on
every run and bloat diffs).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .. import chapter as chapter_db
from .. import datasets
from ..server.base import Server
from .build import chapter_of


def record(path: Path, server: Server, *, size: str | None = None, cell_timeout: int = 600) -> str:
    """Execute ``path`` in place on a fresh ``record_chNN_slug`` database; return that database's name.

    A cell that raises stops the recording (tag it ``raises-exception`` when the error is the lesson).
    """
    nb = nbformat.read(path, as_version=4)
    info = chapter_of(path, nb)
    size = size or datasets.default_size()
    dbname = f"record_{info.database}"
    chapter_db.drop_database(server, dbname)
    try:
        with tempfile.TemporaryDirectory(prefix="pgcourse-record-") as home:
            client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", record_timing=False,
                                    resources={"metadata": {"path": str(path.resolve().parent)}})
            with client.setup_kernel(env=chapter_db.kernel_env(server, dbname, size, Path(home))):
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
            for output in cell.get("outputs", []):
                _rename(output, dbname, info.database)
        nbformat.write(nb, path)
    finally:
        chapter_db.drop_database(server, dbname)
    return dbname


def _rename(node, old: str, new: str):
    """Show the chapter's own database name in saved outputs, not the recording database's."""
    if isinstance(node, str):
        return node.replace(old, new)
    if isinstance(node, list):
        node[:] = [_rename(item, old, new) for item in node]
    elif isinstance(node, dict):
        for key in list(node):
            node[key] = _rename(node[key], old, new)
    return node
