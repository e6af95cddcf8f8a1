"""pgcourse: the machinery of a hands-on PostgreSQL 18 course.

Notebooks use the small public surface re-exported here; everything else is in submodules
(``pgcourse.server`` for where Postgres comes from, ``pgcourse.errors`` for the error classes).
"""

from __future__ import annotations

from . import errors
from .errors import PgcourseError, ServerUnavailable

__version__ = "0.1.0"

__all__ = ["PgcourseError", "ServerUnavailable", "errors", "__version__"]
