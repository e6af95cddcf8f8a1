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


class InputError(PgcourseError):
    """The user's input is wrong (an unknown chapter or size, a missing file): the CLI exits 2."""


def split_message(message: str) -> tuple[str, list[str]]:
    """(one line: what went wrong and what to do, the detail lines between them) of a multi-line message.

    Messages are written as ``what went wrong\\n  what to do: ...``, sometimes with a program's output
    in between; a command ends with the one line, so the last thing a user reads says what to do.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "", []
    hints = [i for i, line in enumerate(lines) if line.lower().startswith("what to do")]
    if not hints:
        return lines[0], lines[1:]
    hint = hints[-1]
    head = lines[0].rstrip(".:") if hint > 0 else ""
    details = [line for i, line in enumerate(lines) if i not in (0, hint)]
    return (f"{head}; {lines[hint]}" if head else lines[hint]), details
