"""docs/guide-errata.md stays true to the course: its chapter references and the notebooks' links to it resolve."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from pgcourse import chapters

PROJECT = Path(__file__).resolve().parents[1]
PAGE = PROJECT / "docs" / "guide-errata.md"
TEXT = PAGE.read_text(encoding="utf-8")

ANCHOR = re.compile(r'<a id="([a-z0-9-]+)"></a>\n## (G\d+)\. ')
#: "chapter 01, section "Soft deletes"" or "chapter 05 (planned)"
CHAPTER_REF = re.compile(r'chapter (\d\d)(?:, section "([^"]+)"| \(planned\))?')
ERRATA_LINK = re.compile(r"\(([^()\s]*guide-errata\.md)(?:#([^)\s]*))?\)")


def _anchors() -> dict[str, str]:
    return {anchor: item for anchor, item in ANCHOR.findall(TEXT)}


def _notebook(number: str) -> Path | None:
    found = sorted((PROJECT / "solutions").glob(f"{number}_*.ipynb"))
    return found[0] if found else None


def _headings(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")]


def _course_notebooks() -> list[Path]:
    return sorted([*(PROJECT / "solutions").glob("*.ipynb"), *(PROJECT / "notebooks").glob("*.ipynb")])


def test_every_item_has_a_stable_anchor_named_after_its_number():
    anchors = _anchors()
    items = re.findall(r"^## (G\d+)\. ", TEXT, re.M)
    assert items and sorted(anchors.values()) == sorted(items), "each `## GN.` heading needs <a id=...> right above it"
    assert all(anchor.startswith(item.lower() + "-") for anchor, item in anchors.items())
    assert len(set(items)) == len(items) == len(anchors)


def test_the_table_of_contents_links_every_item():
    linked = set(re.findall(r"\]\(#([a-z0-9-]+)\)", TEXT))
    assert linked == set(_anchors())


def test_every_item_says_which_chapter_shows_it():
    sections = re.split(r'<a id="[a-z0-9-]+"></a>\n', TEXT)[1:]
    missing = [s.splitlines()[0] for s in sections if not CHAPTER_REF.search(s.split("**Shown in:**", 1)[-1])
               or "**Shown in:**" not in s]
    assert not missing, f"items without a '**Shown in:** chapter NN ...' line: {missing}"


def test_chapter_references_name_written_chapters_and_their_sections():
    problems = []
    known = {c.number for c in chapters.CHAPTERS}
    for match in CHAPTER_REF.finditer(TEXT):
        number, section = match.group(1), match.group(2)
        planned = match.group(0).endswith("(planned)")
        notebook = _notebook(number)
        if number not in known:
            problems.append(f"{match.group(0)}: no such chapter")
        elif planned and notebook is not None:
            problems.append(f"{match.group(0)}: chapter {number} is written now ({notebook.name}): cite its section")
        elif not planned and notebook is None:
            problems.append(f"{match.group(0)}: no solutions/{number}_*.ipynb; write 'chapter {number} (planned)'")
        elif section and not any(section.lower() in h.lower() for h in _headings(notebook)):
            problems.append(f'{match.group(0)}: {notebook.name} has no heading containing "{section}"')
        elif not planned and not section:
            problems.append(f'{match.group(0)}: name the section (chapter {number}, section "...")')
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", _course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_links_from_notebooks_to_the_errata_page_resolve(path):
    anchors = _anchors()
    nb = nbformat.read(path, as_version=4)
    problems = []
    for index, cell in enumerate(nb.cells, start=1):
        for target, anchor in ERRATA_LINK.findall(cell.source):
            if (path.parent / target).resolve() != PAGE:
                problems.append(f"cell {index}: {target} is not ../docs/guide-errata.md")
            if anchor and anchor not in anchors:
                problems.append(f"cell {index}: no item #{anchor} in docs/guide-errata.md")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", _course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_cite_the_errata_page_not_research_notes(path):
    nb = nbformat.read(path, as_version=4)
    cited = [f"cell {i}: {m.group(0)!r}" for i, cell in enumerate(nb.cells, start=1) if cell.cell_type == "markdown"
             for m in re.finditer(r"\berrata (?:E?\d+)(?: and \d+)?", cell.source, re.I)]
    assert not cited, (f"{path.name} cites notes learners do not have; link an item of ../docs/guide-errata.md "
                       "instead:\n" + "\n".join(cited))
