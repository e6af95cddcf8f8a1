"""Authoring: solution notebooks (``solutions/``) are the source; learner notebooks are built from them.

``markers`` finds solution regions; ``transforms`` holds one small function per notebook change
(nbgrader style); ``build`` composes them and writes ``notebooks/`` byte-identically.
"""

from __future__ import annotations

from .build import PIPELINE, build_all, build_notebook, stale_notebooks
from .markers import has_solution, replace_solution_regions

__all__ = ["PIPELINE", "build_all", "build_notebook", "has_solution", "replace_solution_regions", "stale_notebooks"]
