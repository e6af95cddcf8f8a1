"""The ``pgcourse`` command: thin argument parsing over the course modules.

Each module of this package registers its subcommands (``register(subparsers)``), so every
concern keeps its commands next to each other. Errors of :class:`pgcourse.errors.PgcourseError`
print as one short message and exit 1, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import PgcourseError

#: Modules that contribute subcommands, in the order they appear in ``--help``.
COMMAND_MODULES = ["server", "datasets", "course", "grading"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["psql"]:  # everything after `psql` belongs to psql, dashes included
        args = parser.parse_args(["psql"])
        args.args = argv[1:]
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except PgcourseError as exc:
        print(f"pgcourse: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pgcourse: interrupted", file=sys.stderr)
        return 130
