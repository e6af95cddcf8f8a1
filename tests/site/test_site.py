"""The course website: every page, the lab note and exercises on each chapter, no answer, no broken link."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from pgcourse.authoring.markers import solution_regions
from pgcourse.site import LAB_COMMAND, site_links, stage
from tests.conftest import PROJECT

#: A region of one token shorter than this (say `id`) would be found in any page by chance: ignored.
TRIVIAL_REGION = 12
ANSWER_CELL = "\n[answer cell]\n"


def _normal(text: str) -> str:
    return " ".join(text.split())


class _Page(HTMLParser):
    """An HTML page's visible text (answer cells marked), its ids, and the URLs it links or loads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if "tag_exercise-answer" in (attrs.get("class") or "").split():
            self.text.append(ANSWER_CELL)
        for name in ("href", "src"):
            if attrs.get(name) is not None:
                self.links.append((tag, name, attrs[name]))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text())
    return page


def _solution_regions() -> tuple[list[str], list[str], list[str]]:
    """Every solution region of solutions/ (whitespace normalised); the trivial ones; the offered choices.

    A prediction's task lists every choice (`pgcourse.answer("2.2", "same")` among them), so a
    region that is one of the choices the learner notebook's own task text offers is no answer.
    """
    regions, trivial, offered = [], [], []
    for path in sorted((PROJECT / "solutions").glob("*.ipynb")):
        tasks = _normal(" ".join(c.source for c in nbformat.read(PROJECT / "notebooks" / path.name, as_version=4).cells
                                 if c.cell_type == "markdown"))
        for cell in nbformat.read(path, as_version=4).cells:
            for region in solution_regions(cell.source) if cell.cell_type == "code" else []:
                text = _normal(region)
                if len(text.split()) <= 1 and len(text) < TRIVIAL_REGION:
                    trivial.append(text)
                elif text.startswith("pgcourse.answer(") and f"`{text}`" in tasks:
                    offered.append(text)
                else:
                    regions.append(text)
    return regions, trivial, offered


def _leaks(site: Path, regions: list[str]) -> list[str]:
    """``file: region`` for each region found in a built file's raw text or (HTML) its visible text."""
    found = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        try:
            raw = path.read_text()
        except UnicodeDecodeError:
            continue  # images, objects.inv (zlib)
        texts = [_normal(raw), _normal(html.unescape(raw))]
        if path.suffix == ".html":
            texts.append(_normal("".join(_parse(path).text).replace(ANSWER_CELL, " ")))
        found += [f"{path.relative_to(site)}: {region[:80]}" for region in regions if any(region in t for t in texts)]
    return found


def _chapters() -> list[Path]:
    return sorted((PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_site_has_the_index_setup_dataset_grading_and_every_chapter(built_site):
    names = {p.stem for p in built_site.glob("*.html")}
    expected = {"index", "setup", "dataset", "grading", *(p.stem for p in _chapters())}
    if (PROJECT / "docs" / "guide-errata.md").exists():
        expected.add("guide-errata")
    assert expected <= names
    index = "".join(_parse(built_site / "index.html").text)
    assert "PostgreSQL 18" in index and LAB_COMMAND in index
    grading = "".join(_parse(built_site / "grading.html").text)
    assert "How checks and grading work" in grading and "Grading in CI" in grading


def test_no_solution_region_appears_anywhere_in_the_site(built_site):
    regions, trivial, offered = _solution_regions()
    assert regions, "no solution regions found in solutions/: the markers changed?"
    assert not trivial, f"trivial one-token regions are not checked: {trivial}"
    assert len(offered) <= 3, f"more predictions than expected whose answer is one of the choices offered: {offered}"
    assert _leaks(built_site, regions) == []


def test_the_leak_finder_sees_a_region_through_syntax_highlighting(tmp_path):
    region = _normal("CREATE INDEX ON orders (updated_at DESC)\n  WHERE status = 'refunded'")
    page = ('<div class="highlight"><pre><span class="k">CREATE</span> <span class="k">INDEX</span> ON orders '
            '(updated_at <span class="k">DESC</span>)\n  <span class="k">WHERE</span> status = '
            '<span class="s1">&#39;refunded&#39;</span></pre></div>')
    (tmp_path / "page.html").write_text(page)
    assert _leaks(tmp_path, [region]) == [f"page.html: {region}"]


def test_each_chapter_page_says_how_to_open_it_and_shows_every_exercise_without_its_answer(built_site):
    for notebook in _chapters():
        text = "".join(_parse(built_site / f"{notebook.stem}.html").text)
        assert LAB_COMMAND in text and f"workspace/{notebook.name}" in text, notebook.name
        ids = [m[1] for cell in nbformat.read(notebook, as_version=4).cells
               for m in re.finditer(r"""pgcourse\.check\(\s*["']([^"']+)["']""", cell.source)]
        for exercise in ids:
            heading = re.search(rf"Exercise {re.escape(exercise)}(?!\d)", text)
            task = heading.start() if heading else -1
            check = text.find(f'pgcourse.check("{exercise}")', task)
            assert 0 <= task < check, f"{notebook.stem}: exercise {exercise} has no task above its check"
            assert ANSWER_CELL in text[task:check], f"{notebook.stem}: exercise {exercise} has no answer cell"
            assert "Your answer" in text[task:check] and "The check" in text[task:check + 1]


def test_every_internal_link_and_asset_resolves(built_site):
    pages = {path: _parse(path) for path in built_site.rglob("*.html")}
    broken = []
    for path, page in pages.items():
        for tag, attribute, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("mailto:"):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.name}: <{tag} {attribute}={url!r}> (no file)")
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{path.name}: <{tag} {attribute}={url!r}> (no such anchor)")
    assert broken == []


def test_no_page_loads_anything_from_the_internet(built_site):
    remote = re.compile(r"^(https?:)?//")
    loads = [f"{path.name}: <{tag} {attribute}={url}>" for path in built_site.rglob("*.html")
             for tag, attribute, url in _parse(path).links
             if remote.match(url) and not (tag == "a" and attribute == "href")]
    css_imports = [f"{path.name}: {m[0]}" for path in built_site.rglob("*.css")
                   for m in re.finditer(r"""(@import\s+(url\()?|url\()\s*['"]?(https?:)?//[^)'";]*""", path.read_text())]
    assert loads == [] and css_imports == []


@pytest.mark.parametrize("with_errata", [False, True])
def test_the_guide_errata_page_is_built_when_present_and_its_absence_breaks_nothing(tmp_path, with_errata):
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "datasets").mkdir()
    shutil.copy(PROJECT / "README.md", root)
    shutil.copy(PROJECT / "datasets" / "README.md", root / "datasets")
    shutil.copy(_chapters()[0], root / "notebooks")
    if with_errata:
        (root / "docs").mkdir()
        (root / "docs" / "guide-errata.md").write_text("# Where the guide is wrong\n")
    pages = stage(tmp_path / "src", root)
    assert ("guide-errata" in pages) is with_errata
    assert ("guide-errata" in (tmp_path / "src" / "index.md").read_text()) is with_errata


def test_links_to_repository_files_point_to_their_site_page_or_become_plain_text():
    pages = {"index", "setup", "grading", "dataset", "04_indexes"}
    text = ("[ch](../notebooks/04_indexes.ipynb#b-tree) [sol](../solutions/04_indexes.ipynb) [data](../datasets/README.md) "
            "[ci](../README.md#grading-in-ci) [top](../README.md) [dec](decisions.md) [pg](https://postgresql.org) [x](#here)")
    assert site_links(text, "docs", pages).split(" ") == [
        "[ch](04_indexes.ipynb#b-tree)", "[sol](04_indexes.ipynb)", "[data](dataset.md)", "[ci](grading.md#grading-in-ci)",
        "[top](index.md)", "dec", "(`docs/decisions.md`", "in", "the", "course's", "repository)", "[pg](https://postgresql.org)",
        "[x](#here)"]
