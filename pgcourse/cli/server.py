"""Server commands: up, down, status, url, psql, doctor, lab."""

from __future__ import annotations

import argparse
import os
import subprocess

from .. import server as pg
from ..datasets import SIZES
from ..errors import ServerUnavailable


def port_number(value: str) -> int:
    """argparse type for a TCP port: an integer from 1 to 65535."""
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port (a number from 1 to 65535)")
    return int(value)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="start the course's PostgreSQL (idempotent)")
    p.add_argument("--backend", choices=["embedded", "docker"], help="force where Postgres comes from")
    p.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the course's PostgreSQL; the data is kept").set_defaults(func=cmd_down)
    sub.add_parser("status", help="backend, version, URL and databases of the running server").set_defaults(func=cmd_status)
    p = sub.add_parser("url", help="print the server URL (password included: for scripts)")
    p.add_argument("database", nargs="?", help="a database on the server (default: postgres)")
    p.add_argument("--sqlalchemy", action="store_true", help="postgresql+psycopg:// form for SQLAlchemy/%%sql")
    p.set_defaults(func=cmd_url)
    p = sub.add_parser("psql", help="open the bundled psql, connected", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to psql (e.g. -d ch04_indexes -c 'select 1')")
    p.set_defaults(func=cmd_psql)
    sub.add_parser("doctor", help="check Python, Docker, ports, disk and the server; say what to fix").set_defaults(func=cmd_doctor)
    p = sub.add_parser("admin-sql", help="print the SQL an administrator runs once so a non-superuser role can run the course")
    p.add_argument("--role", default=None, help="the course's role (default: the user of the server's URL)")
    p.set_defaults(func=cmd_admin_sql)
    p = sub.add_parser("lab", help="start Postgres, seed the dataset, open JupyterLab on your workspace")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser (headless, CI)")
    p.add_argument("--port", type=port_number, default=None, help="JupyterLab port (default: a free one from 8888)")
    p.add_argument("--size", default=None, choices=SIZES, help="dataset size to seed (default: small)")
    p.set_defaults(func=cmd_lab)


def _report(startup: pg.Startup) -> None:
    for note in startup.notes:
        print(f"pgcourse: {note}")


def cmd_up(args) -> int:
    startup = pg.up(prefer=args.backend)
    _report(startup)
    print(f"pgcourse: PostgreSQL {startup.server.version()} ({startup.server.backend}) at {startup.server.masked_url}")
    return 0


def cmd_down(args) -> int:
    print(f"pgcourse: {pg.down()}")
    return 0


def cmd_status(args) -> int:
    try:
        server = pg.current()
        version = server.version()
    except ServerUnavailable as exc:
        print("backend:  none running")
        print(f"hint:     {str(exc).splitlines()[-1].strip()}")
        return 3
    print(f"backend:  {server.backend}")
    print(f"version:  PostgreSQL {version}")
    print(f"url:      {server.masked_url}")
    from .. import disk
    from ..server.reflink import file_copy_method

    with server.connect() as conn:
        templates = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datistemplate")}
        used = disk.usage(conn)
        method = file_copy_method(conn)
    print("databases:")
    for name, size in used.databases.items():
        if name in ("template0", "template1"):
            continue
        kind = ("  (template)" if name in templates else "  (spare: makes the next reset instant)"
                if name.endswith("__spare") else "")
        print(f"  {name:<28} {disk.pretty(size):>10}{kind}")
    limit = disk.budget()
    print(f"disk:     {disk.pretty(used.total)} (databases {disk.pretty(sum(used.databases.values()))}, "
          f"WAL {disk.pretty(used.wal)})" + (f" of a {disk.pretty(limit)} budget ({disk.BUDGET_ENV})" if limit else ""))
    print("clones:   " + ("reflinks: a chapter costs no disk until written" if method == "clone" else
                          "full copies: the chapters opened least recently are parked to stay within the budget"))
    parked = sorted(p.stem for p in (pg.state_dir() / "parked").glob("*.json"))
    if parked:
        print(f"parked:   {', '.join(parked)} (answers kept; opening one re-creates it)")
    return 0


def cmd_url(args) -> int:
    server = pg.current()
    url = server.url_for(args.database) if args.database else server.url
    print(pg.sqlalchemy_url(url) if args.sqlalchemy else url)
    return 0


def cmd_psql(args) -> int:
    from ..workshop import client

    psql = pg.client_bin_dir() / "psql"
    if client.enabled():  # a workshop learner: their own chapter database, as their learner role
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") or k.startswith("PGCOURSE")}
        env.update(client.psql_env(args.args))
        return subprocess.call([str(psql), *args.args], env=env)
    server = pg.current()
    return subprocess.call([str(psql), *args.args], env=server.client_env())


def cmd_doctor(args) -> int:
    from ..doctor import run_checks

    problems = 0
    for check in run_checks():
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[check.status]
        print(f"[{mark}] {check.name}: {check.detail}")
        if check.fix:
            print(f"       what to do: {check.fix}")
        problems += check.status == "fail"
    return 1 if problems else 0


def cmd_admin_sql(args) -> int:
    from urllib.parse import unquote, urlsplit

    from ..privileges import admin_sql

    server = pg.current()
    with server.connect() as conn:
        role = args.role or unquote(urlsplit(server.url).username or "") or conn.execute("SELECT current_user").fetchone()[0]
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role]).fetchone() == (True,):
            print(f"-- {role} is a superuser: the course needs none of this (except the preload, if missing).")
        print(admin_sql(conn, role), end="")
    return 0


def cmd_lab(args) -> int:
    from ..lab import run_lab

    return run_lab(open_browser=not args.no_browser, port=args.port, size=args.size)
