"""`pgcourse record`: a solution re-run on a fresh database, outputs saved, nothing run-specific kept."""

from __future__ import annotations

import shutil

import nbformat

from pgcourse.authoring.build import solutions_dir
from pgcourse.authoring.record import record


def test_recording_saves_outputs_without_timestamps_under_the_chapters_own_name(course_server, tmp_path):
    path = tmp_path / "00_getting_started.ipynb"
    shutil.copy(solutions_dir() / path.name, path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbformat.write(nb, path)

    dbname = record(path, course_server)

    recorded = nbformat.read(path, as_version=4)
    code = [c for c in recorded.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code[:3])
    assert not any("execution" in c.metadata for c in code)
    text = nbformat.writes(recorded)
    assert dbname not in text and "database ch00_getting_started" in text
    with course_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [dbname]).fetchone()[0] == 0
