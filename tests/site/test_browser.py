"""The website as a reader sees it: Debian's chromium, headless, driven by playwright, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Set to a folder to keep the screenshots (to look at them); else they go to the test's temp folder.
SCREENSHOTS_ENV = "PGCOURSE_SITE_SCREENSHOTS"


@pytest.fixture
def page(browser, request, tmp_path):
    """A page that refuses and records every request leaving the built site's files."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.outside = []

    def guard(route):
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    page.shots.mkdir(parents=True, exist_ok=True)
    yield page
    context.close()


def _open(page, site: Path, name: str) -> None:
    page.goto((site / f"{name}.html").as_uri())
    page.wait_for_load_state("load")


def test_the_index_shows_the_course_and_links_every_chapter(page, built_site):
    _open(page, built_site, "index")
    assert "PostgreSQL 18 course" in page.locator("h1").first.inner_text()
    chapters = page.locator("article .toctree-wrapper a").all_inner_texts()
    assert any(text.startswith("04") and "Indexes" in text for text in chapters), chapters
    page.screenshot(path=str(page.shots / "site_index.png"))
    assert page.outside == []


def test_the_indexes_chapter_shows_its_heading_a_plot_a_plan_and_an_exercise(page, built_site):
    _open(page, built_site, "04_indexes")
    assert page.locator("h1").first.inner_text().strip().endswith("Indexes")
    plot = page.locator(".cell_output img").first
    plot.evaluate("img => img.scrollIntoView({behavior: 'instant', block: 'center'})")
    assert plot.is_visible() and plot.evaluate("img => img.complete && img.naturalWidth > 100")
    plan = page.locator(".cell_output pre", has_text="Index Scan").first
    assert plan.is_visible()
    page.screenshot(path=str(page.shots / "site_04_plot.png"))
    exercise = page.locator("xpath=//section[h3[starts-with(normalize-space(.), 'Exercise 4.1:')]]")
    exercise.locator("h3").evaluate("h => h.scrollIntoView({behavior: 'instant', block: 'start'})")
    assert exercise.locator(".tag_exercise-answer").first.is_visible()
    assert "YOUR SQL HERE" in exercise.locator(".tag_exercise-answer").first.inner_text()
    assert 'pgcourse.check("4.1")' in exercise.locator(".tag_exercise-check").first.inner_text()
    page.screenshot(path=str(page.shots / "site_04_exercise.png"))
    assert page.outside == []


def test_the_data_types_chapter_shows_its_heading_and_a_result_table(page, built_site):
    _open(page, built_site, "02_data_types")
    assert page.locator("h1").first.inner_text().strip().endswith("Data types")
    note = page.locator(".admonition", has_text="Open this chapter in JupyterLab").first
    assert "workspace/02_data_types.ipynb" in note.inner_text()
    table = page.locator(".cell_output table").first
    table.evaluate("out => out.scrollIntoView({behavior: 'instant', block: 'center'})")
    assert table.is_visible()
    page.screenshot(path=str(page.shots / "site_02_table.png"))
    assert page.outside == []
