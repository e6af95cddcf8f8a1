"""pgcourse: the machinery of a hands-on PostgreSQL 18 course.

Notebooks use the small public surface re-exported here:

    import pgcourse
    ch = pgcourse.open_chapter("04")   # first cell: the chapter's own database, %sql connected
    pgcourse.check("4.2")              # check an exercise against the real database
    if pgcourse.needs("pgstattuple"):  # an optional extension: one line and False when missing

Everything else lives in submodules: ``server`` (where Postgres comes from), ``datasets``,
``chapter`` (a chapter's database lifecycle), ``checks`` (one module per chapter), ``plans``
(EXPLAIN helpers), ``grading``, ``errors``.
"""

from __future__ import annotations

from . import errors
from .api import answer, check
from .chapter import Chapter, current_chapter, open_chapter, reset
from .errors import PgcourseError, ServerUnavailable
from .extensions import has_extension, needs
from .plans import Plan, explain

__version__ = "0.1.0"

__all__ = [
    "Chapter", "PgcourseError", "Plan", "ServerUnavailable", "__version__", "answer", "check",
    "current_chapter", "errors", "explain", "has_extension", "needs", "open_chapter", "reset",
]
