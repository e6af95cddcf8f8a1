"""The errors pgcourse raises, as one hierarchy.

Callers catch a class (``except pgcourse.errors.ServerUnavailable``), never a message string.
Every message is written for a person: what went wrong and what to do next.
"""

from __future__ import annotations


class PgcourseError(Exception):
    """Base class: anything pgcourse reports to a user as a short message, without a traceback."""


class ConfigError(PgcourseError):
    """A setting (environment variable, file, argument) is missing or malformed."""


class ServerError(PgcourseError):
    """Something about the PostgreSQL server."""


class ServerUnavailable(ServerError):
    """The server cannot be reached (wrong URL, wrong password, not started, crashed)."""


class ServerStartError(ServerError):
    """The embedded server could not be initialised or started."""


class DockerUnavailable(ServerError):
    """Docker was asked for but no engine answers."""


class DatasetError(PgcourseError):
    """A dataset is missing, half-built or does not match its manifest."""


class ChapterError(PgcourseError):
    """A chapter name or chapter database problem."""


class AuthoringError(PgcourseError):
    """A solution notebook is malformed (unbalanced solution markers, unknown chapter)."""


class GradingError(PgcourseError):
    """A notebook cannot be graded at all (unreadable file, unknown chapter, no server)."""


class AnswerRefused(PgcourseError):
    """An answer was not saved: unknown exercise, or saved from another exercise's cell. Shown without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"\x1b[31m{line}\x1b[0m" if i == 0 else line for i, line in enumerate(str(self).splitlines())]
