"""``pgcourse grade``: run notebooks headless against fresh chapter databases and report scores."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade notebooks headless: table, JSON and JUnit; exit 1 below the pass mark")
    p.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK", help="notebooks to grade (never modified)")
    p.add_argument("--pass-mark", type=float, default=60.0, metavar="P", help="percent needed to pass (default 60)")
    p.add_argument("--json", type=Path, default=Path("grades.json"), metavar="FILE", help="JSON report (default grades.json)")
    p.add_argument("--junit", type=Path, default=None, metavar="FILE", help="also write JUnit XML here")
    p.add_argument("--cell-timeout", type=float, default=300.0, metavar="S", help="seconds a cell may run (default 300)")
    p.add_argument("--statement-timeout", default=None, metavar="T",
                   help="statement timeout for learner SQL, e.g. 30s (default: the chapter's)")
    p.add_argument("--size", default=None, help="dataset size (default: PGCOURSE_DATASET_SIZE or small)")
    p.set_defaults(func=cmd_grade)


def cmd_grade(args) -> int:
    from ..grading import grade
    from ..grading.report import table, write_json, write_junit
    from ..grading.source import grading_server

    with grading_server() as (server, where):
        print(f"pgcourse: grading on {where}", flush=True)
        report = grade(args.notebooks, server, pass_mark=args.pass_mark, server_note=where, size=args.size,
                       cell_timeout=args.cell_timeout, statement_timeout=args.statement_timeout)
    print(table(report))
    write_json(report, args.json)
    print(f"pgcourse: wrote {args.json}" + (f" and {args.junit}" if args.junit else ""))
    if args.junit:
        write_junit(report, args.junit)
    return 0 if report.passed else 1
