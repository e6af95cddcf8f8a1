"""Workshop commands: ``pgcourse workshop start|stop|status`` (the class's JupyterHub)."""

from __future__ import annotations

import argparse

from ..datasets import SIZES
from .server import port_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workshop", help="run a class: learners, their hub, the broker, the progress board")
    group = p.add_subparsers(dest="workshop_command", metavar="COMMAND")
    p.set_defaults(func=lambda args: p.print_help() or 0)
    register_hub(group)


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
