"""The course website: the learner notebooks and the course's documents as one static site.

``build()`` stages the pages (learner notebooks from ``notebooks/`` with an "open in JupyterLab"
note and labelled exercise cells, README's set-up and grading sections, the dataset description,
the guide errata when present) in ``build/site-src/``, then runs Sphinx with myst-nb on them,
without executing anything, into ``build/site/``. Solutions are never read.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..authoring.markers import STUBS
from ..errors import ConfigError, InputError, PgcourseError
from ..server import project_root

#: The folder holding conf.py and the site's stylesheet.
CONF_DIR = Path(__file__).parent
#: The README's first command, the one that opens JupyterLab on the learner's workspace.
LAB_COMMAND = "python3 course.py lab"

_CHECK = re.compile(r"""^\s*pgcourse\.check\(\s*["'](?P<id>[^"']+)["']\s*\)\s*$""")
_EXERCISE_HEADING = re.compile(r"^#{2,4}\s+Exercise\s+(?P<id>\d+\.\d+)", re.MULTILINE)
_LINK = re.compile(r"(?<!!)\[(?P<label>[^\]\n]+)\]\((?P<target>[^)\s]+)\)")
#: The README sections each site page carries.
SETUP_SECTIONS = ["The two commands", "Where PostgreSQL comes from", "Your own server", "Running a workshop", "Troubleshooting"]
GRADING_SECTIONS = ["How checks and grading work", "Grading in CI"]


@dataclass(frozen=True)
class SiteReport:
    """What a build produced: where, which pages, how long it took."""

    output: Path
    pages: list[str]
    seconds: float

    def summary(self) -> str:
        return f"built {len(self.pages)} pages into {self.output} in {self.seconds:.1f} s; open {self.output / 'index.html'}"


def output_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "build" / "site"


def _readme_sections(readme: str, titles: list[str]) -> str:
    """The README's ``## title`` sections named, in the order given, each with its heading."""
    sections: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=## )", readme):
        if block.startswith("## "):
            sections[block.splitlines()[0][3:].strip()] = block.rstrip() + "\n"
    missing = [t for t in titles if t not in sections]
    if missing:
        raise PgcourseError(f"README.md has no section {missing[0]!r}; what to do: update pgcourse/site to its new title")
    return "\n".join(sections[t] for t in titles)


def _readme_intro(readme: str) -> str:
    """The README's opening paragraphs (between the title and the first ``##`` section), but its site link."""
    head = re.split(r"(?m)^## ", readme, maxsplit=1)[0]
    paragraphs = re.split(r"\n\s*\n", "\n".join(line for line in head.splitlines() if not line.startswith("# ")))
    # the README's pointer to this website has no place on the website itself
    return "\n\n".join(p.strip() for p in paragraphs if p.strip() and "pgcourse site" not in p) + "\n"


def _slug(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")


def _site_target(repo_path: str, anchor: str, pages: set[str]) -> str | None:
    """The site page (and anchor) standing for a file of the repository, or None when none does."""
    if m := re.fullmatch(r"(?:notebooks|solutions|workspace)/(?P<stem>\d\d_\w+)\.ipynb", repo_path):
        page = m["stem"] if m["stem"] in pages else None  # a chapter's learner page, never its solution
    elif repo_path == "README.md":
        page = next((name for name, titles in (("setup", SETUP_SECTIONS), ("grading", GRADING_SECTIONS))
                     if anchor in {_slug(t) for t in titles}), "index")
        anchor = anchor if page != "index" else ""
    else:
        page = {"datasets/README.md": "dataset", "docs/guide-errata.md": "guide-errata"}.get(repo_path)
        page = page if page in pages else None
    if page is None:
        return None
    suffix = ".ipynb" if page[:2].isdigit() else ".md"
    return f"{page}{suffix}" + (f"#{anchor}" if anchor else "")


_HTML_ANCHOR = re.compile(r'^<a id="(?P<id>[\w-]+)"></a>[ \t]*\n', re.M)


def myst_labels(text: str) -> str:
    """``<a id="x"></a>`` anchors (GitHub's way) as MyST labels ``(x)=``, so ``#x`` links resolve on the site."""
    return _HTML_ANCHOR.sub(lambda m: f"({m['id']})=\n", text)


def site_links(text: str, folder: str, pages: set[str]) -> str:
    """Markdown links to repository files, rewritten: to the site page that shows the file, else plain text.

    ``folder`` is where the text lives in the repository (links are relative to it). A file the
    site does not show becomes its label and its path, so no link of the site points nowhere.
    """
    def replace(match: re.Match) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^//", target):
            return match[0]
        path, _, anchor = target.partition("#")
        repo_path = (Path(folder) / path).as_posix()
        parts: list[str] = []
        for part in repo_path.split("/"):
            if part == "..":
                parts = parts[:-1]
            elif part not in ("", "."):
                parts.append(part)
        repo_path = "/".join(parts)
        site = _site_target(repo_path, anchor, pages)
        return f"[{match['label']}]({site})" if site else f"{match['label']} (`{repo_path}` in the course's repository)"

    return _LINK.sub(replace, text)


def _labelled(text: str, *, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(f'<p class="pgcourse-exercise-part">{text}</p>')
    cell.metadata["tags"] = tags or []
    return cell


def _is_stub(source: str) -> bool:
    return any(stub in source for stub in STUBS.values())


def chapter_page(nb: nbformat.NotebookNode, notebook_name: str) -> nbformat.NotebookNode:
    """A learner notebook as a site page: the lab note under its title, exercise cells labelled.

    An exercise is its ``### Exercise N.M`` task, then its answer cells (the learner notebook's
    stubs: empty, as the course never shows an answer) and its ``pgcourse.check`` cell.
    """
    note = nbformat.v4.new_markdown_cell(
        "```{admonition} Open this chapter in JupyterLab\n:class: tip\n\n"
        f"In the course folder run `{LAB_COMMAND}` (the first time it sets everything up), then open "
        f"`workspace/{notebook_name}` in JupyterLab. This page shows the chapter with the outputs recorded "
        "on the course's dataset; the exercises are yours to solve in the notebook, where each check "
        "inspects your database.\n```")
    cells = list(nb.cells)
    first = cells[0] if cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, intro = first.source.partition("\n")  # the note goes right under the chapter's title
        cells[:1] = [nbformat.v4.new_markdown_cell(title), note,
                     *([nbformat.v4.new_markdown_cell(intro.strip())] if intro.strip() else [])]
    else:
        cells.insert(0, note)
    out: list[nbformat.NotebookNode] = []
    in_exercise = False
    for cell in cells:
        source = cell.source
        if cell.cell_type == "markdown":
            if _EXERCISE_HEADING.search(source):
                in_exercise = True
                cell.metadata.setdefault("tags", []).append("exercise-task")
            elif source.lstrip().startswith("#"):
                in_exercise = False
            out.append(cell)
            continue
        tags = cell.metadata.setdefault("tags", [])
        if _is_stub(source):
            tags.append("exercise-answer")
            out.append(_labelled("Your answer: write it in this cell of your notebook"))
        elif check := _CHECK.match(source):
            tags.append("exercise-check")
            out.append(_labelled(f"The check: run it after your answer; it tells you whether exercise "
                                 f"{check['id']} passes, and if not, why"))
            in_exercise = False
        elif in_exercise:
            tags.append("exercise-setup")
        out.append(cell)
    page = nbformat.v4.new_notebook(cells=out, metadata=nb.metadata)
    page.nbformat_minor = max(nb.nbformat_minor, page.nbformat_minor)
    return page


def stage(source: Path, root: Path) -> list[str]:
    """Write the site's source pages into ``source`` (emptied first); return their names, in order."""
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    readme = (root / "README.md").read_text()
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise InputError(f"no learner notebooks in {root / 'notebooks'}.\n  what to do: run it in the course's "
                         "clone (or set PGCOURSE_PROJECT to it)")
    chapters = [path.stem for path in notebooks]
    pages = {  # name: (text, its folder in the repository)
        "setup": ("# Set-up\n\n" + _readme_sections(readme, SETUP_SECTIONS), ""),
        "grading": ("# Checks and grading\n\n" + _readme_sections(readme, GRADING_SECTIONS), ""),
        "dataset": ((root / "datasets" / "README.md").read_text(), "datasets"),
    }
    errata = root / "docs" / "guide-errata.md"
    if errata.exists():  # written separately; the site builds without it
        pages["guide-errata"] = (errata.read_text(), "docs")
    names = {"index", *chapters, *pages}
    for path in notebooks:
        page = chapter_page(nbformat.read(path, as_version=4), path.name)
        for cell in page.cells:
            if cell.cell_type == "markdown":
                cell.source = site_links(cell.source, "notebooks", names)
        nbformat.write(page, source / path.name)
    for name, (text, folder) in pages.items():
        (source / f"{name}.md").write_text(myst_labels(site_links(text, folder, names)))
    order = ["setup", *chapters, "dataset", *(["guide-errata"] if "guide-errata" in pages else []), "grading"]
    toc = "\n".join(order)
    (source / "index.md").write_text(
        "# pgcourse: a hands-on PostgreSQL 18 course\n\n" + site_links(_readme_intro(readme), "", names)
        + f"\nStart with [the set-up](setup.md): one command, `{LAB_COMMAND}`, opens the chapters in JupyterLab.\n\n"
        + f"```{{toctree}}\n:maxdepth: 1\n:caption: The course\n\n{toc}\n```\n")
    return ["index", *order]


def build(root: Path | None = None, output: Path | None = None, *, quiet: bool = True) -> SiteReport:
    """Build the website from the learner notebooks and documents, offline, executing nothing."""
    try:
        from sphinx.cmd.build import build_main
    except ImportError:
        raise ConfigError("the website needs Sphinx and myst-nb (the course's test extras); what to do: run "
                          "`python3 course.py site`, which installs them, or `pip install -e '.[test]'`") from None
    root = root or project_root()
    output = output or output_dir(root)
    started = time.monotonic()
    source = output.parent / "site-src"
    pages = stage(source, root)
    if output.exists():
        shutil.rmtree(output)
    args = ["-b", "html", "-c", str(CONF_DIR), "-d", str(output.parent / "site-doctrees"), "-E", "-j", "auto"]
    if quiet:
        args.append("-q")
    status = build_main([*args, str(source), str(output)])
    if status:
        raise PgcourseError(f"sphinx could not build the site (exit {status}, messages above); what to do: fix "
                            "the page it names and run `pgcourse site` again")
    return SiteReport(output, pages, time.monotonic() - started)
