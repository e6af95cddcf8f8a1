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
    from ..grading import grade, read_notebook, ungradable
    from ..grading.report import GradeReport, table, write_json, write_junit
    from ..grading.source import grading_server
    from ..server.settings import WELL_KNOWN_PASSWORDS

    readable = [path for path in args.notebooks if read_notebook(path)[0] is not None]
    if readable:
        with grading_server() as (server, where):
            print(f"pgcourse: grading on {where}", flush=True)
            if server.password in WELL_KNOWN_PASSWORDS:
                print("pgcourse: warning: the administrator's password is a well-known one: a graded notebook could "
                      "log in as the administrator. Grade on a server with a secret password (unset "
                      "PGCOURSE_DATABASE_URL: the grader then starts a throwaway one).", flush=True)
            report = grade(args.notebooks, server, pass_mark=args.pass_mark, server_note=where, size=args.size,
                           cell_timeout=args.cell_timeout, statement_timeout=args.statement_timeout)
    else:  # nothing to run: no server is started
        report = GradeReport([ungradable(path, *read_notebook(path)[1:]) for path in args.notebooks],
                             pass_mark=args.pass_mark, server="none (no notebook could be graded)")
    print(table(report))
    write_json(report, args.json)
    if args.junit:
        write_junit(report, args.junit)
    print(f"pgcourse: wrote {args.json}" + (f" and {args.junit}" if args.junit else ""))
    return 0 if report.passed else 1
