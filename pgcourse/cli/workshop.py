"""``pgcourse workshop ...``: the instructor's commands for a class on one shared server.

Roster and broker commands here (add, remove, list, broker, progress); the hub's (start, stop,
status) are registered by their own small functions below, so each stays separate.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..datasets import SIZES
from .server import port_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workshop", help="run a class on one shared server: learners, broker, progress board")
    group = p.add_subparsers(dest="workshop_command", metavar="WORKSHOP_COMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    register_roster(group)
    register_broker(group)
    register_hub(group)


def register_roster(group: argparse._SubParsersAction) -> None:
    from ..workshop.roster import DEFAULT_CONNECTION_LIMIT

    p = group.add_parser("add", help="put learners on the roster and print their tokens (nothing is cloned yet)")
    p.add_argument("names", nargs="*", help="learner names: lowercase letters, digits, _ (e.g. alice bob)")
    p.add_argument("--csv", type=Path, help="a CSV of learners: its `name` column, else its first column")
    p.add_argument("--connection-limit", type=int, default=DEFAULT_CONNECTION_LIMIT,
                   help=f"connections each learner chapter role may hold (default {DEFAULT_CONNECTION_LIMIT})")
    p.add_argument("--new-token", action="store_true", help="give learners already on the roster a new token")
    p.set_defaults(func=cmd_add)
    p = group.add_parser("remove", help="drop learners' databases, roles, results and tokens")
    p.add_argument("names", nargs="+", help="learner names")
    p.set_defaults(func=cmd_remove)
    group.add_parser("list", help="the roster: names, when added, tokens file").set_defaults(func=cmd_list)


def register_broker(group: argparse._SubParsersAction) -> None:
    from ..workshop.broker import DEFAULT_PORT

    p = group.add_parser("broker", help="serve learners' kernels (open, reset, check) and the progress board")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--size", default=None, help="dataset size chapters are cloned from (default: small)")
    p.add_argument("--quiet", action="store_true", help="no line per request")
    p.set_defaults(func=cmd_broker)
    p = group.add_parser("progress", help="learners × exercises: passed, failed, not tried (never runs a notebook)")
    p.add_argument("--json", action="store_true", help="the board's data as JSON")
    p.add_argument("--url", default=None, metavar="BROKER_URL",
                   help="print the board page's address on this broker (with the instructor token)")
    p.set_defaults(func=cmd_progress)


def register_hub(group: argparse._SubParsersAction) -> None:
    """start, stop, status: the class's JupyterHub on this machine (pgcourse/workshop/hub.py)."""
    p = group.add_parser("start", help="start the class's JupyterHub (proxy installed with npm when missing)")
    p.add_argument("--port", type=port_number, default=8000, help="the hub's port (default 8000)")
    p.add_argument("--ip", default="", help="address to listen on (default: all; 127.0.0.1 for this machine only)")
    p.add_argument("--admin", default="instructor", help="the instructor's login name (default: instructor)")
    p.add_argument("--password", default=None, help="the learners' shared password (default: a random one, kept)")
    p.add_argument("--size", default=None, choices=SIZES, help="dataset size to seed (default: small)")
    p.set_defaults(func=cmd_workshop_start)
    group.add_parser("stop", help="stop the hub, its proxy, the broker and the learners' servers"
                     ).set_defaults(func=cmd_workshop_stop)
    group.add_parser("status", help="whether the hub runs, its address, the passwords, the board, servers"
                     ).set_defaults(func=cmd_workshop_status)


def cmd_add(args) -> int:
    from .. import server as pg
    from ..errors import InputError
    from ..workshop import roster

    names = list(args.names)
    if args.csv:
        names += roster.names_from_csv(args.csv)
    if not names:
        raise InputError("no learner names given.\n  what to do: `pgcourse workshop add alice bob` or `--csv class.csv`.")
    given = roster.add(pg.current(), names, connection_limit=args.connection_limit, new_tokens=args.new_token)
    for name in sorted({roster.check_name(n) for n in names}):
        token = given.get(name)
        print(f"{name}\t{token}" if token else f"{name}\t(already on the roster; token unchanged)")
    print(f"pgcourse: {len(given)} new token(s); all tokens are in {roster.tokens_file()} (mode 0600); "
          "learners' databases are cloned when they open a chapter")
    return 0


def cmd_remove(args) -> int:
    from .. import server as pg
    from ..workshop import roster

    gone = roster.remove(pg.current(), args.names)
    for item in gone:
        print(f"dropped {item}")
    print(f"pgcourse: removed {', '.join(sorted(set(args.names)))} ({len(gone)} objects)")
    return 0


def cmd_list(args) -> int:
    from .. import server as pg
    from ..workshop import roster

    learners = roster.learners(pg.current())
    if not learners:
        print("pgcourse: no learners yet (`pgcourse workshop add NAMES...`)")
        return 0
    for learner in learners:
        print(f"{learner.name:<20} added {learner.added_at:%Y-%m-%d %H:%M} UTC, "
              f"{learner.connection_limit} connections per chapter role")
    print(f"pgcourse: {len(learners)} learners; tokens in {roster.tokens_file()}")
    return 0


def cmd_broker(args) -> int:
    from ..workshop.broker import run

    return run(args.host, args.port, size=args.size, quiet=args.quiet)


def cmd_progress(args) -> int:
    import json

    from .. import server as pg
    from ..workshop import board, roster

    if args.url:
        print(f"{args.url.rstrip('/')}/progress.html?token={roster.instructor_token()}")
        return 0
    data = board.collect(pg.current())
    if args.json:
        print(json.dumps(data, indent=1, default=str))
        return 0
    print("\n".join(board.text(data)))
    return 0


def cmd_workshop_start(args) -> int:
    from ..workshop import hub

    hub.start(port=args.port, ip=args.ip, admin=args.admin, password=args.password, size=args.size)
    for line in hub.status():
        print(f"pgcourse: {line}")
    print("pgcourse: `pgcourse workshop status` shows this again; `pgcourse workshop stop` stops the hub")
    return 0


def cmd_workshop_stop(args) -> int:
    from ..workshop import hub

    stopped = hub.stop()
    print("pgcourse: stopped the hub, its proxy, the broker and the learners' servers (their files and databases "
          "are kept)" if stopped else "pgcourse: the hub was not running")
    return 0


def cmd_workshop_status(args) -> int:
    from ..workshop import hub

    for line in hub.status():
        print(f"pgcourse: {line}")
    return 0
