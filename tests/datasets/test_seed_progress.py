"""Seeding says what it is doing, table by table, where someone waits for it, and nowhere else."""

from __future__ import annotations

import pytest

from pgcourse.datasets import seed


@pytest.mark.parametrize("asked, shown", [(True, True), (False, False)])
def test_progress_lines_appear_only_when_asked(asked, shown, capsys, monkeypatch):
    monkeypatch.setattr(seed, "_notes_on", asked)
    seed._note("orders loaded: 1,000,000 rows in 2.1 s")
    assert ("pgcourse: seeding: orders loaded" in capsys.readouterr().err) is shown


def test_by_default_a_notebook_kernel_gets_no_progress_lines(monkeypatch):
    """Inside a kernel stderr is no terminal: a check that seeds the sample must not print (nbval compares outputs)."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)

    class Stop(Exception):
        pass

    def stop(size):  # ensure() decides about the notes first, then checks the size: stop it there
        raise Stop

    monkeypatch.setattr(seed, "check_size", stop)
    with pytest.raises(Stop):
        seed.ensure(None, "tiny")
    assert seed._notes_on is False
