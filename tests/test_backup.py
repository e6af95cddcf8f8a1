"""Chapter 12's throwaway cluster: it archives, recovers to a point in time, and leaves nothing behind,
whether it is destroyed, its kernel exits, or its kernel is killed (also in the middle of a grade run)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from pgcourse.backup import LAB_PREFIX, ThrowawayCluster, leftover_labs, run

ARCHIVING = {"archive_mode": "on", "archive_command": "test ! -f {archive}/%f && cp %p {archive}/%f"}


def gone(folder: Path, timeout: float = 30) -> bool:
    """True once the folder is removed and no postmaster of it runs (polled: the watchdog takes a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not folder.exists() and not [c for c in leftover_labs() if str(folder) in c]:
            return True
        time.sleep(0.5)
    return False


def test_a_recovery_to_a_time_keeps_what_came_before_it_and_drops_what_came_after():
    lab = ThrowawayCluster(ARCHIVING)
    try:
        lab.query("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g")
        lab.run("pg_basebackup", "-D", "base", "-c", "fast")
        lab.query("INSERT INTO t VALUES (101)")
        target = lab.query("SELECT now()")[0][0]
        lab.query("DELETE FROM t")
        lab.wait_archived()
        restored = lab.recover("base", {"restore_command": "cp {archive}/%f %p",
                                        "recovery_target_time": target.isoformat(),
                                        "recovery_target_action": "promote"})
        assert lab.query("SELECT count(*), max(id) FROM t", cluster=restored) == [(101, 101)]
        assert lab.query("SELECT count(*) FROM t") == [(0,)]  # the primary is untouched
        assert "recovery stopping before commit" in lab.log(restored, "recovery stopping")
        assert lab.get("restored") is restored and lab.get("nothing") is None
        again = lab.recover("base", {"restore_command": "cp {archive}/%f %p", "recovery_target_action": "promote"})
        assert lab.query("SELECT count(*) FROM t", cluster=again) == [(0,)]  # run again: to the end of the WAL
        assert lab.get("restored") is again and len([c for c in leftover_labs() if str(lab.folder) in c]) == 2
    finally:
        lab.destroy()
    assert gone(lab.folder, timeout=5)


def test_a_recovery_to_an_lsn_stops_before_the_next_change():
    lab = ThrowawayCluster(ARCHIVING)
    try:
        lab.query("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g")
        lab.run("pg_basebackup", "-D", "base", "-c", "fast")
        lab.query("UPDATE t SET id = id + 100")
        lsn = lab.query("SELECT pg_current_wal_lsn()")[0][0]
        lab.query("TRUNCATE t")
        lab.wait_archived()
        restored = lab.recover("base", {"restore_command": "cp {archive}/%f %p", "recovery_target_lsn": lsn,
                                        "recovery_target_action": "promote"})
        assert lab.query("SELECT min(id), count(*) FROM t", cluster=restored) == [(101, 10)]
    finally:
        lab.destroy()


def test_the_lab_listens_on_127_0_0_1_with_a_password_and_no_socket_and_replaces_the_previous_one():
    first = ThrowawayCluster()
    lab = ThrowawayCluster()
    assert gone(first.folder, timeout=5)
    try:
        assert lab.url().startswith("postgresql://postgres:") and "@127.0.0.1:" in lab.url()
        assert lab.query("SHOW unix_socket_directories") == [("",)]
        assert lab.query("SHOW listen_addresses") == [("127.0.0.1",)]
    finally:
        lab.destroy()


def test_a_killed_owner_leaves_no_cluster_and_no_folder():
    code = ("import os, sys; from pgcourse.backup import ThrowawayCluster\n"
            "lab = ThrowawayCluster(); print(lab.folder, flush=True); os.kill(os.getpid(), 9)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr
    folder = Path(proc.stdout.strip())
    assert folder.name.startswith(LAB_PREFIX)
    assert gone(folder), f"left behind: {folder} {leftover_labs()}"


def test_an_owner_that_exits_without_destroy_leaves_nothing():
    code = ("from pgcourse.backup import ThrowawayCluster\n"
            "lab = ThrowawayCluster(); print(lab.folder, flush=True)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert gone(Path(proc.stdout.strip()), timeout=10)


def test_run_hides_the_password_and_the_folder_and_reports_failures(tmp_path, capsys):
    url = "postgresql://someone:s3cret@127.0.0.1:1/nowhere"
    done = run("pg_dump", "-f", "x.sql", url=url, cwd=tmp_path, check=False)
    out = capsys.readouterr().out
    assert done.returncode != 0 and "s3cret" not in out and str(tmp_path) not in out
    assert out.startswith("$ pg_dump -f x.sql\n") and "(exit code 1)" in out
    with pytest.raises(RuntimeError, match="pg_dump failed"):
        run("pg_dump", url=url, show=False)


def grade_and_expect_nothing_left(path: Path, server, monkeypatch):
    """Grade a notebook; then no postmaster of its kernel's labs may run and its kernel's folder (where the labs
    live) must be gone. Only this run's kernel folders count: other graders may run on the machine meanwhile."""
    from pgcourse import grading

    homes: list[Path] = []
    make_sandbox = grading.make_sandbox

    def recorded():
        sandbox = make_sandbox()
        homes.append(sandbox.home)
        return sandbox

    monkeypatch.setattr(grading, "make_sandbox", recorded)
    grade = grading.grade_notebook(path, server, size="tiny", cell_timeout=120)
    assert grade.status == "graded", grade.message
    assert homes
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        running = [c for c in leftover_labs() for home in homes if str(home) in c]
        folders = [home for home in homes if home.exists()]
        if not running and not folders:
            return grade
        time.sleep(0.5)
    raise AssertionError(f"left behind by the grade run: servers {running}, folders {folders}")


def test_a_grade_run_whose_kernel_is_killed_in_the_pitr_lab_leaves_nothing(course_server, tmp_path, monkeypatch):
    """The kernel is killed twice right after starting a lab (the grader restarts it and goes on)."""
    start = ("from pgcourse.backup import ThrowawayCluster\n"
             f"lab = ThrowawayCluster({ARCHIVING!r})\n"
             "lab.query('CREATE TABLE t (id int)')\n"
             "lab.run('pg_basebackup', '-D', 'base', '-c', 'fast')")
    kill = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    nb = new_notebook(cells=[new_code_cell('import pgcourse\nch = pgcourse.open_chapter("12")'),
                             new_code_cell(start), new_code_cell(kill), new_code_cell(start), new_code_cell(kill),
                             new_code_cell(start)])  # the last lab ends with the kernel's normal exit
    nb.metadata["pgcourse"] = {"chapter": "12"}
    path = tmp_path / "12_backup.ipynb"
    nbformat.write(nb, path)
    grade = grade_and_expect_nothing_left(path, course_server, monkeypatch)
    assert len([i for i in grade.incidents if i.kind == "dead_kernel"]) == 2, grade.incidents


SOLUTION_12 = Path(__file__).resolve().parents[1] / "solutions" / "12_backup.ipynb"


def test_chapter_12_graded_with_its_kernel_killed_mid_recovery_leaves_no_cluster_and_no_folder(
        course_server, tmp_path, monkeypatch):
    """The chapter itself (its solution notebook), its kernel killed right after exercise 12.9 started the
    recovered cluster (two servers of the lab running); the grader restarts the kernel and runs on to the end."""
    nb = nbformat.read(SOLUTION_12, as_version=4)
    recovery = next(i for i, cell in enumerate(nb.cells) if "lab.recover(" in cell.source and "BEGIN SOLUTION" in cell.source)
    nb.cells.insert(recovery + 1, new_code_cell(
        "import os, signal\n"
        "assert lab.get('restored') is not None and len(lab._clusters) == 2  # in the middle of the PITR lab\n"
        "os.kill(os.getpid(), signal.SIGKILL)"))
    path = tmp_path / "12_backup.ipynb"
    nbformat.write(nb, path)
    grade = grade_and_expect_nothing_left(path, course_server, monkeypatch)
    assert [i for i in grade.incidents if i.kind == "dead_kernel" and i.cell == recovery + 2], grade.incidents
