"""``pgcourse grade``: run notebooks headless against fresh chapter databases and report scores."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _jobs(value: str) -> int:
    """argparse type for --jobs: a whole number from 1."""
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"--jobs wants a whole number from 1, not {value!r}")
    return jobs


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade notebooks or a class (a folder per learner) headless: table, JSON, JUnit, "
                                     "a class summary (CSV, HTML); exit 1 below the pass mark")
    p.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                   help="notebooks, a learner's folder of notebooks, or a class folder with one folder per learner "
                        "(e.g. submissions/ holding alice/*.ipynb, bob/*.ipynb); never modified")
    p.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                   help="grade N notebooks at a time (default 1; each needs about a core and a kernel's memory)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="folder for the reports grades.json, grades.csv (learner x chapter) and grades.html "
                        "(default: the --json file's folder, else here)")
    p.add_argument("--pass-mark", type=float, default=60.0, metavar="P", help="percent needed to pass (default 60)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="JSON report (default DIR/grades.json)")
    p.add_argument("--junit", type=Path, default=None, metavar="FILE", help="also write JUnit XML here")
    p.add_argument("--cell-timeout", type=float, default=300.0, metavar="S", help="seconds a cell may run (default 300)")
    p.add_argument("--notebook-timeout", type=float, default=3600.0, metavar="S",
                   help="seconds a whole notebook may run; the cells left then are not run (default 3600)")
    p.add_argument("--statement-timeout", default=None, metavar="T",
                   help="statement timeout for learner SQL, e.g. 30s (default: the chapter's)")
    p.add_argument("--size", default=None, help="dataset size (default: PGCOURSE_DATASET_SIZE or small)")
    p.set_defaults(func=cmd_grade)


def cmd_grade(args) -> int:
    from ..grading import grade, read_notebook
    from ..grading.batch import collect, not_gradable
    from ..grading.report import GradeReport, table, write_json, write_junit
    from ..grading.source import grading_server
    from ..grading.summary import text, write_csv, write_html
    from ..server.settings import WELL_KNOWN_PASSWORDS

    started = time.monotonic()
    submissions = collect(args.notebooks)
    learners = {s.learner for s in submissions}
    readable = [s.path for s in submissions if s.path.is_file() and read_notebook(s.path)[0] is not None]

    def graded(nb, done: int, total: int) -> None:
        if total > 1:
            name = Path(nb.notebook).name
            who = f"{nb.learner}/" if len(learners) > 1 and name != nb.learner else ""
            print(f"pgcourse: [{done}/{total}] {who}{name}: {nb.points:g}/{nb.max_points:g} "
                  f"in {nb.seconds:.0f} s", flush=True)

    if readable:
        with grading_server() as (server, where):
            print(f"pgcourse: grading {len(submissions)} notebook(s) of {len(learners)} learner(s), {args.jobs} at a time, "
                  f"on {where}", flush=True)
            if server.password in WELL_KNOWN_PASSWORDS:
                print("pgcourse: warning: the administrator's password is a well-known one: a graded notebook could "
                      "log in as the administrator. Grade on a server with a secret password (unset "
                      "PGCOURSE_DATABASE_URL: the grader then starts a throwaway one).", flush=True)
            report = grade([s.path for s in submissions], server, pass_mark=args.pass_mark, server_note=where,
                           jobs=args.jobs, on_graded=graded, size=args.size, cell_timeout=args.cell_timeout,
                           statement_timeout=args.statement_timeout, notebook_timeout=args.notebook_timeout)
    else:  # nothing to run: no server is started
        report = GradeReport([not_gradable(s) for s in submissions], pass_mark=args.pass_mark,
                             server="none (no notebook could be graded)")
    print(table(report))
    if len(learners) > 1:
        print(text(report))
    out = args.out or (args.json.parent if args.json else Path("."))
    out.mkdir(parents=True, exist_ok=True)
    json_path = args.json or out / "grades.json"
    write_json(report, json_path)
    write_csv(report, out / "grades.csv")
    write_html(report, out / "grades.html")
    written = [json_path, out / "grades.csv", out / "grades.html"]
    if args.junit:
        write_junit(report, args.junit)
        written.append(args.junit)
    print(f"pgcourse: wrote {', '.join(map(str, written))} ({time.monotonic() - started:.0f} s)")
    return 0 if report.passed else 1
