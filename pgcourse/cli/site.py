"""``pgcourse site``: build the course website into build/site/ (no database, nothing executed)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("site", help="build the course website from the learner notebooks into build/site/")
    p.add_argument("--output", type=Path, default=None, help="where to write it (default: build/site/)")
    p.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    p.set_defaults(func=cmd_site)


def cmd_site(args) -> int:
    from .. import site

    report = site.build(output=args.output.absolute() if args.output else None, quiet=not args.verbose)
    print(f"pgcourse: {report.summary()}")
    return 0
