"""datasets/README.md shows the diagram and reference generated from the catalog."""

from __future__ import annotations

from pgcourse.datasets import diagram, tools
from pgcourse.datasets.schema import datasets_dir


def test_committed_readme_matches_the_generated_section(pg_server, tiny):
    readme = (datasets_dir() / "README.md").read_text()
    assert diagram.extract_section(readme) == tools.readme_section(pg_server), \
        "regenerate it: python -m pgcourse.datasets.tools readme"
