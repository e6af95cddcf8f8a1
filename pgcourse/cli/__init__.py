"""The ``pgcourse`` command: thin argument parsing over the course modules.

Each module of this package registers its subcommands (``register(subparsers)``), so every
concern keeps its commands next to each other. Every command ends a failure with one line that
says what to do, never a traceback: exit 2 for a usage or input error (unknown chapter or size,
missing file), 1 for a failure (no server, the server gone mid-command, a failed step).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import psycopg

from ..errors import ConfigError, InputError, PgcourseError, split_message

#: Modules that contribute subcommands, in the order they appear in ``--help``.
COMMAND_MODULES = ["server", "datasets", "course", "grading", "site", "workshop"]
#: Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_ENV = "PGCOURSE_DEBUG"


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line that names the valid choices, exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}; see `{self.prog} --help`\n")


def chapter_ref(value: str) -> str:
    """argparse type for a chapter argument: a known chapter (04, 4, 04_indexes, indexes), else one line."""
    from ..chapters import CHAPTERS, get
    from ..errors import ChapterError

    try:
        get(value)
    except ChapterError:
        raise argparse.ArgumentTypeError(
            f"no chapter {value!r} (choose from {', '.join(c.name for c in CHAPTERS)})") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pgcourse",
        description="A hands-on PostgreSQL 18 course: server, datasets, notebooks, checks and grading.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # that part of the course is not built yet
            raise
        module.register(sub)
    parser.set_defaults(_commands=sub.choices)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    if argv[:1] == ["psql"]:  # everything after `psql` belongs to psql, dashes included
        args = parser.parse_args(["psql"])
        args.args = argv[1:]
        return args
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the subcommand's parser, so the message names the command
        command = args._commands.get(getattr(args, "command", None) or "", parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _fail(message: str, code: int) -> int:
    """Print a message's details, then its one line (what went wrong; what to do) last."""
    line, details = split_message(message)
    for detail in details:
        print(f"  {detail}", file=sys.stderr)
    if details and "what to do" not in line:
        line += " (details above)"
    print(f"pgcourse: {line}", file=sys.stderr)
    return code


def _malformed_url() -> str | None:
    """Why PGCOURSE_DATABASE_URL cannot be parsed as a connection URL, or None when it can (or is unset)."""
    from psycopg.conninfo import conninfo_to_dict

    from ..server import settings, url_from_env

    url = url_from_env()
    if not url:
        return None
    try:
        conninfo_to_dict(url)
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or ["malformed"])[0]
        return (f"{settings.DATABASE_URL_ENV} is not a connection URL ({reason}); what to do: fix it "
                f"(postgresql://user:password@host:5432/dbname) or unset it to use the course's own server")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(parser, argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    command = f"pgcourse {args.command}"
    try:
        return int(args.func(args) or 0)
    except (InputError, ConfigError) as exc:
        return _fail(str(exc), 2)
    except PgcourseError as exc:
        return _fail(str(exc), 1)
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return _fail(f"the PostgreSQL server stopped answering during `{command}` ({first}); what to do: "
                     "`pgcourse status` shows whether it runs (`pgcourse up` starts it), then run the command again", 1)
    except psycopg.Error as exc:
        if bad_url := _malformed_url():
            return _fail(bad_url, 2)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return _fail(f"PostgreSQL refused a statement of `{command}`: {first}; what to do: run the command again; "
                     "if it fails the same way, `pgcourse doctor` and a bug report help", 1)
    except FileNotFoundError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename}; what to do: check the path and run the command again", 2)
    except OSError as exc:
        return _fail(f"{exc}; what to do: fix that (permissions? disk space?) and run the command again", 1)
    except KeyboardInterrupt:
        print("pgcourse: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        text = (str(exc).strip().splitlines() or [""])[0]
        return _fail(f"`{command}` failed unexpectedly: {type(exc).__name__}: {text}; what to do: this is a bug "
                     f"in pgcourse: please report it with the output of `{DEBUG_ENV}=1 {command} ...`", 1)
