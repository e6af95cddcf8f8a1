"""The learner's workspace: created once, never overwritten; course changes are offered beside it."""

from __future__ import annotations

from pgcourse.workspace import prepare


def _course(folder, **notebooks):
    folder.mkdir(exist_ok=True)
    for name, text in notebooks.items():
        (folder / f"{name}.ipynb").write_text(text)


def test_first_run_copies_every_notebook(tmp_path):
    _course(tmp_path / "nb", a="A1", b="B1")
    report = prepare(tmp_path / "nb", tmp_path / "ws")
    assert report.added == ["a.ipynb", "b.ipynb"] and report.updates == []
    assert (tmp_path / "ws" / "a.ipynb").read_text() == "A1"


def test_learner_edits_survive_every_later_run(tmp_path):
    _course(tmp_path / "nb", a="A1")
    prepare(tmp_path / "nb", tmp_path / "ws")
    (tmp_path / "ws" / "a.ipynb").write_text("my work")
    report = prepare(tmp_path / "nb", tmp_path / "ws")
    assert report.added == report.updates == []
    assert (tmp_path / "ws" / "a.ipynb").read_text() == "my work"


def test_changed_chapter_is_offered_beside_the_learners_copy(tmp_path):
    _course(tmp_path / "nb", a="A1")
    prepare(tmp_path / "nb", tmp_path / "ws")
    (tmp_path / "ws" / "a.ipynb").write_text("my work")
    _course(tmp_path / "nb", a="A2")
    report = prepare(tmp_path / "nb", tmp_path / "ws")
    assert report.updates == ["a.ipynb"]
    assert (tmp_path / "ws" / "a.ipynb").read_text() == "my work"
    assert (tmp_path / "ws" / "updates" / "a.ipynb").read_text() == "A2"
    assert prepare(tmp_path / "nb", tmp_path / "ws").updates == []  # offered once per change


def test_new_chapter_is_added_and_a_deleted_copy_comes_back_fresh(tmp_path):
    _course(tmp_path / "nb", a="A1")
    prepare(tmp_path / "nb", tmp_path / "ws")
    _course(tmp_path / "nb", b="B1")
    (tmp_path / "ws" / "a.ipynb").unlink()
    report = prepare(tmp_path / "nb", tmp_path / "ws")
    assert sorted(report.added) == ["a.ipynb", "b.ipynb"]


def test_the_errata_page_is_copied_beside_the_notebooks_and_kept_current(tmp_path):
    _course(tmp_path / "nb", a="A1")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide-errata.md").write_text("v1")
    prepare(tmp_path / "nb", tmp_path / "ws")
    assert (tmp_path / "ws" / "docs" / "guide-errata.md").read_text() == "v1"
    (tmp_path / "docs" / "guide-errata.md").write_text("v2")
    prepare(tmp_path / "nb", tmp_path / "ws")
    assert (tmp_path / "ws" / "docs" / "guide-errata.md").read_text() == "v2"
