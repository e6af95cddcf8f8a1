"""The workshop broker: the one process holding the administrator, serving learners' kernels over HTTP (JSON).

A request carries a learner's token (``Authorization: token ...``); the broker finds the learner by the
token's hash and derives every name from it, so nothing a kernel sends can reach another learner.

    POST /open   {"chapter": "04", "reset": false} -> {"database", "role", "url", "chapter", "created"}
    POST /reset  {"chapter": "04"}                  -> the same, on a fresh database
    POST /check  {"chapter": "04", "exercise": "4.1"} -> the check's result (also stored in ``results``)
    GET  /whoami                                   -> {"learner": ...}
    GET  /progress, /progress.html                 -> the class board (instructor token; ``?token=`` for a browser)
    GET  /health                                   -> {"ok": true} (no token)

Under JupyterHub the same paths are served below ``JUPYTERHUB_SERVICE_PREFIX`` too.
"""

from __future__ import annotations

import hmac
import json
import os
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg import sql

from .. import chapters
from .. import server as pg
from ..chapter import (Chapter, as_learner, database_exists, database_for, ensure_checker_role,
                       ensure_learner_role, learner_role, learner_url, put_fresh, reset)
from ..errors import PgcourseError
from . import board, roster

#: Set by JupyterHub for a managed service: the path prefix its proxy forwards (``/services/pgcourse/``).
PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"
DEFAULT_PORT = 8765
#: Requests larger than this are refused (a learner's kernel sends a few dozen bytes).
MAX_BODY = 64 * 1024


class BrokerError(Exception):
    """A request the broker refuses: an HTTP status and a message for the learner."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Broker:
    """What the HTTP handler calls: open, reset and check chapters for learners, and the class board."""

    def __init__(self, server: pg.Server, size: str) -> None:
        from .. import datasets, disk, spare

        # spares are built by detached processes that know only PGCOURSE_LEARNER: off here, a reset clones in
        # the foreground (tens of ms where clones are reflinks). No parking: the instructor sizes the disk.
        os.environ[spare.SPARE_ENV] = "0"
        os.environ.setdefault(disk.BUDGET_ENV, "off")
        os.environ.pop("PGCOURSE_CHAPTER_DB", None)
        os.environ.pop("PGCOURSE_LEARNER", None)
        self.server, self.size = server, size
        roster.prepare(server)
        datasets.ensure(server, size)
        roster.harden(server)  # the template exists now: take CONNECT on it from PUBLIC too
        ensure_checker_role(server)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, learner: str, chapter: str) -> threading.Lock:
        """One open/reset/check at a time per learner and chapter (two browser tabs, a double click)."""
        with self._guard:
            return self._locks.setdefault((learner, chapter), threading.Lock())

    def learner(self, token: str) -> tuple[str, int]:
        """(name, connection limit) for a learner token, else a 401."""
        found = roster.learner_for_token(self.server, token)
        if found is None:
            raise BrokerError(401, "unknown or missing workshop token: ask your instructor for yours")
        return found

    def is_instructor(self, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), roster.instructor_token().encode())

    @staticmethod
    def _chapter(ref: Any) -> chapters.ChapterInfo:
        try:
            return chapters.get(str(ref))
        except PgcourseError as exc:
            raise BrokerError(400, str(exc).splitlines()[0]) from None

    def open(self, learner: str, limit: int, ref: Any, fresh: bool = False) -> dict:
        """Open (clone on first use, or afresh) a learner's chapter database; its learner URL."""
        info = self._chapter(ref)
        with self._lock(learner, info.number), as_learner(learner):
            dbname = database_for(info)
            if fresh:
                reset(info.number, server=self.server, size=self.size)
                created = True
            else:
                created = not database_exists(self.server, dbname)
                if created:
                    put_fresh(self.server, info, dbname, self.size)
                else:
                    ensure_learner_role(self.server, info)
            role = learner_role(info)
            self._limit(role, dbname, limit)
            url = learner_url(self.server, info, dbname)
        return {"chapter": info.number, "database": dbname, "role": role, "url": url, "created": created}

    def _limit(self, role: str, dbname: str, limit: int) -> None:
        """The role's own connection limit, and the database's (twice that: also roles a chapter-10 learner makes)."""
        with self.server.connect() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(sql.Identifier(role), sql.Literal(limit)))
            conn.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
                sql.Identifier(dbname), sql.Literal(2 * limit + 2)))

    def check(self, learner: str, ref: Any, exercise: Any) -> dict:
        """Run one exercise's check on the learner's database (as today's in-notebook check does); record it."""
        from ..checks import get_exercise, run_check

        info = self._chapter(ref)
        try:
            ex = get_exercise(str(exercise))
        except PgcourseError as exc:
            raise BrokerError(400, str(exc).splitlines()[0]) from None
        if ex.chapter != info:
            raise BrokerError(400, f"exercise {ex.id} is not in chapter {info.number}")
        with self._lock(learner, info.number), as_learner(learner):
            dbname = database_for(info)
            if not database_exists(self.server, dbname):
                raise BrokerError(409, f"chapter {info.number} is not open yet: run the notebook's first cell")
            result = run_check(ex.id, Chapter(info=info, server=self.server, database=dbname))
        board.record(self.server, learner, info, result)
        return result.to_dict()


def _token(handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> str:
    """The token of a request: ``Authorization: token X`` (or ``Bearer X``), else ``?token=X``."""
    header = handler.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return (query.get("token") or [""])[0]


def make_handler(broker: Broker, prefix: str = "", quiet: bool = True) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to ``broker`` (paths also served below ``prefix``)."""
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""

    class Handler(BaseHTTPRequestHandler):
        server_version = "pgcourse-broker"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            if not quiet:
                super().log_message(format, *args)

        def _route(self) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            path = parts.path
            if prefix and (path == prefix or path.startswith(prefix + "/")):
                path = path[len(prefix):] or "/"
            return path.rstrip("/") or "/", parse_qs(parts.query)

        def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, obj: Any) -> None:
            self._send(status, json.dumps(obj, default=str))

        def _handle(self, work: Callable[[], tuple[int, str, str]]) -> None:
            try:
                status, body, ctype = work()
                self._send(status, body, ctype)
            except BrokerError as exc:
                self._json(exc.status, {"error": str(exc)})
            except PgcourseError as exc:
                self._json(400, {"error": str(exc).splitlines()[0]})
            except psycopg.Error as exc:
                self._json(500, {"error": "the database refused: " + (str(exc).strip().splitlines() or ["?"])[0]})
            except Exception as exc:  # the broker keeps serving the class
                self._json(500, {"error": f"the broker failed: {type(exc).__name__}: {exc}"})

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise BrokerError(400, "request too large")
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise BrokerError(400, "the request body is not JSON") from None
            if not isinstance(body, dict):
                raise BrokerError(400, "the request body must be a JSON object")
            return body

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            def work() -> tuple[int, str, str]:
                path, query = self._route()
                if path not in ("/open", "/reset", "/check"):
                    raise BrokerError(404, f"no such endpoint: POST {path}")
                name, limit = broker.learner(_token(self, {}))  # a header only: never a token in a URL a proxy logs
                body = self._body()
                if path == "/check":
                    result = broker.check(name, body.get("chapter"), body.get("exercise"))
                else:
                    result = broker.open(name, limit, body.get("chapter"), path == "/reset" or bool(body.get("reset")))
                return 200, json.dumps(result, default=str), "application/json"

            self._handle(work)

        def do_GET(self) -> None:  # noqa: N802
            def work() -> tuple[int, str, str]:
                path, query = self._route()
                if path == "/health":
                    return 200, json.dumps({"ok": True}), "application/json"
                if path == "/whoami":
                    name, limit = broker.learner(_token(self, {}))
                    return 200, json.dumps({"learner": name, "connection_limit": limit}), "application/json"
                if path in ("/progress", "/progress.html", "/"):
                    token = _token(self, query)
                    if not broker.is_instructor(token):
                        raise BrokerError(401, "the progress board needs the instructor token "
                                               "(`pgcourse workshop progress --url` prints the board's address)")
                    data = board.collect(broker.server, answers_max_age=board.REFRESH_SECONDS)
                    if path == "/progress":
                        return 200, json.dumps(data, default=str), "application/json"
                    return 200, board.html(data), "text/html"
                raise BrokerError(404, f"no such endpoint: GET {path}")

            self._handle(work)

    return Handler


def serve(server: pg.Server, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, size: str | None = None,
          prefix: str | None = None, quiet: bool = True) -> ThreadingHTTPServer:
    """A ready (not yet serving) broker HTTP server; ``serve_forever()`` it."""
    from .. import datasets

    broker = Broker(server, size or datasets.default_size())
    prefix = os.environ.get(PREFIX_ENV, "") if prefix is None else prefix
    httpd = ThreadingHTTPServer((host, port), make_handler(broker, prefix, quiet))
    httpd.daemon_threads = True
    return httpd


def run(host: str, port: int, size: str | None = None, quiet: bool = False) -> int:
    """``pgcourse workshop broker``: serve until interrupted."""
    import errno

    try:
        httpd = serve(pg.current(), host, port, size=size, quiet=quiet)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PgcourseError(f"port {port} on {host} is taken (another broker?).\n"
                            "  what to do: stop it, or pass --port with a free port.") from None
    actual_host, actual_port = httpd.server_address[:2]
    print(f"pgcourse: workshop broker on http://{actual_host}:{actual_port} (board: /progress.html?token=...; "
          f"Ctrl-C stops it)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    print("pgcourse: workshop broker stopped", file=sys.stderr)
    return 0


def start_process(env: dict[str, str], *, prefix: str = "", quiet: bool = True, output: Any = None,
                  timeout: float = 120) -> tuple[Any, str]:
    """Start ``pgcourse workshop broker`` in a process of its own (tests, benchmarks) and wait until it answers.

    Returns the process and its base URL (with ``prefix``); raises PgcourseError with its output if it never does."""
    import subprocess
    import time
    import urllib.request

    from ..server.embedded import os_free_port

    port = os_free_port()
    command = [sys.executable, "-m", "pgcourse", "workshop", "broker", "--port", str(port)] + (["--quiet"] if quiet else [])
    proc = subprocess.Popen(command, env=env, stdout=output or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if output else subprocess.PIPE)
    base = f"http://127.0.0.1:{port}{prefix.rstrip('/')}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5):
                return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                said = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise PgcourseError(f"the broker did not start: {said}") from None
            time.sleep(0.2)
