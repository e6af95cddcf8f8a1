"""Course commands: build and record (for authors), reset (a chapter's database), progress."""

from __future__ import annotations

import argparse

from ..datasets import SIZES
from . import chapter_ref


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="write notebooks/ from solutions/ (solutions removed, outputs kept)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when notebooks/ is out of date")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("record", help="for authors: run solutions/NN_*.ipynb on a fresh database and save its outputs")
    p.add_argument("chapters", nargs="+", type=chapter_ref, help="chapter numbers or names, e.g. 04 or 04_indexes")
    p.add_argument("--size", default=None, choices=SIZES,
                   help="dataset size (default: PGCOURSE_DATASET_SIZE or small, what nbval uses)")
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("reset", help="give a chapter a clean database (drop and re-clone it)")
    p.add_argument("chapter", type=chapter_ref, help="chapter number or name, e.g. 04 or 04_indexes")
    p.add_argument("--size", default=None, choices=SIZES, help="dataset size (default: PGCOURSE_DATASET_SIZE or small)")
    p.set_defaults(func=cmd_reset)
    sub.add_parser("progress", help="per exercise: ever passed, and the last result of its check").set_defaults(func=cmd_progress)


def cmd_build(args) -> int:
    from ..authoring import build
    from ..errors import InputError

    if not any(build.solutions_dir().glob("*.ipynb")):
        raise InputError(f"no solution notebooks in {build.solutions_dir()}.\n  what to do: run it in the course's "
                         "clone (or set PGCOURSE_PROJECT to it).")
    if args.check:
        problems = build.stale_notebooks()
        for problem in problems:
            print(f"pgcourse: notebooks/{problem}")
        if problems:
            print("pgcourse: run `pgcourse build` and commit notebooks/")
            return 1
        print("pgcourse: notebooks/ is up to date")
        return 0
    changed = build.build_all()
    for name in changed:
        print(f"pgcourse: wrote notebooks/{name}")
    if not changed:
        print("pgcourse: notebooks/ was already up to date")
    return 0


def cmd_record(args) -> int:
    import time

    from .. import chapters
    from .. import server as pg
    from ..authoring.build import solutions_dir
    from ..authoring.record import record
    from ..errors import InputError

    paths = [solutions_dir() / chapters.get(ref).notebook for ref in args.chapters]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise InputError(f"no solutions/{', solutions/'.join(missing)}.\n  what to do: record a chapter that is "
                         "written (its solution notebook exists).")
    server = pg.current()
    for path in paths:
        started = time.monotonic()
        record(path, server, size=args.size)
        print(f"pgcourse: recorded solutions/{path.name} ({time.monotonic() - started:.0f} s); "
              "now run `pgcourse build` and the nbval tests")
    return 0


def cmd_reset(args) -> int:
    import time

    from ..chapter import reset

    started = time.monotonic()
    dbname = reset(args.chapter, size=args.size)
    print(f"pgcourse: {dbname} is fresh ({time.monotonic() - started:.1f} s); re-run the notebook from the top")
    return 0


def cmd_progress(args) -> int:
    from .. import progress

    lines = progress.report()
    if not lines:
        print("pgcourse: no chapter has exercises yet")
        return 0
    print("\n".join(lines))
    return 0
