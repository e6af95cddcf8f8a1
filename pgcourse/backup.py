"""Chapter 12's tools: the bundled PostgreSQL 18 programs (pg_dump, pg_restore, pg_basebackup...),
a backups folder per chapter database, and a throwaway cluster of the notebook's own for
continuous archiving and point-in-time recovery.

The throwaway cluster is the kernel's own: initdb'd in a temporary folder, on a free port of
127.0.0.1, with a random superuser password, whatever the course's server is (embedded, Docker,
a URL); it never touches the course's server. It is removed by :meth:`ThrowawayCluster.destroy`,
at the kernel's exit, and, when the kernel is killed, by a small watchdog process that outlives it.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from .server import state_dir
from .server.base import client_bin_dir, with_database
from .errors import ServerStartError
from .server.embedded import EmbeddedCluster

#: Folder-name prefix of throwaway clusters (tests look for leftovers by it).
LAB_PREFIX = "pgcourse-lab-"

#: The throwaway cluster's settings: small, UTC, and who-did-what in its own log.
LAB_SETTINGS: dict[str, str] = {
    "timezone": "UTC",
    "max_connections": "20",
    "shared_buffers": "16MB",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    # a throwaway cluster never survives a crash, so it need not wait for the disk (seconds on a busy machine)
    "fsync": "off",
    "full_page_writes": "on",
}


def backups_dir(chapter) -> Path:
    """Where a chapter's dump files go: ``<PGCOURSE_HOME>/backups/<database>/`` (created; private to its user).

    In the lab that is ``.pgcourse/backups/ch12_backup/``; a graded or nbval kernel has a private
    ``PGCOURSE_HOME``, removed with it after the checks ran.
    """
    folder = state_dir() / "backups" / chapter.database
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def url_env(url: str) -> dict[str, str]:
    """libpq's PG* variables for a URL, so that a program's command line shows no password."""
    parts = urlsplit(url)
    env = {"PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432),
           "PGUSER": unquote(parts.username or ""), "PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres"}
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def _clean_env() -> dict[str, str]:
    """The environment for a bundled program: no PG* variables of the caller, a fixed locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def run(program: str, *args: object, url: str | None = None, cwd: Path | str | None = None,
        check: bool = True, show: bool = True, user=None) -> subprocess.CompletedProcess:
    """Run a bundled PostgreSQL 18 program, connected to ``url`` through PG* variables (no password on
    the command line); print the command as typed in a shell and its output, with ``cwd`` shown as ``.``.

    ``check`` raises :class:`RuntimeError` on a non-zero exit; ``check=False`` prints the exit code instead.
    """
    env = _clean_env() | (url_env(url) if url else {})
    argv = [str(client_bin_dir() / program), *map(str, args)]
    kwargs: dict = {}
    if user is not None:
        kwargs = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs)
    out = (proc.stdout + proc.stderr).strip()
    if cwd is not None:
        out = out.replace(str(Path(cwd).absolute()) + "/", "").replace(str(Path(cwd).absolute()), ".")
    if show:
        print("$ " + shlex.join([program, *map(str, args)]))
        if out:
            print(out)
        if proc.returncode != 0 and not check:
            print(f"(exit code {proc.returncode})")
    if check and proc.returncode != 0:
        raise RuntimeError(f"{program} failed (exit code {proc.returncode}): {out[-800:]}")
    return proc


class _LabCluster(EmbeddedCluster):
    """An embedded cluster with the lab's small settings plus its own (archiving, recovery)."""

    def __init__(self, home: Path, extra: dict[str, str] | None = None):
        super().__init__(home)
        self.extra = dict(extra or {})

    def _run(self, program: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """As the course's cluster does, but initdb skips its fsync (the lab is thrown away)."""
        if program == "initdb":
            args = (*args, "--no-sync")
        return super()._run(program, *args, **kwargs)

    def _write_conf(self, port: int) -> None:
        values = {"port": str(port), "listen_addresses": "127.0.0.1", "unix_socket_directories": ""}
        values |= LAB_SETTINGS | self.extra
        lines = ["# Written by pgcourse.backup for a throwaway cluster."]
        lines += [f"{key} = '{value.replace(chr(39), chr(39) * 2)}'" for key, value in values.items()]
        conf = self.data_dir / "pgcourse.conf"
        conf.write_text("\n".join(lines) + "\n")
        user = self._run_user()
        if user is not None:
            os.chown(conf, user.pw_uid, user.pw_gid)


#: The labs of this process that are not destroyed yet.
_LIVE: list["ThrowawayCluster"] = []


class ThrowawayCluster:
    """A PostgreSQL 18 cluster of the notebook's own, in a temporary folder (see the module docstring).

    ``settings`` go to its configuration; ``{archive}`` in a value is the archive folder inside the
    lab folder (for ``archive_command`` and ``restore_command``). A new lab destroys the process's
    earlier one (a chapter run twice in one kernel).
    """

    def __init__(self, settings: dict[str, str] | None = None):
        for earlier in list(_LIVE):  # a chapter run again from the top: one lab per kernel, not one per run
            earlier.destroy()
        _LIVE.append(self)
        self.folder = Path(tempfile.mkdtemp(prefix=LAB_PREFIX)).resolve()
        self.archive = self.folder / "archive"
        self._clusters: list[_LabCluster] = []
        self._watchdog: subprocess.Popen | None = None
        atexit.register(self.destroy)
        self._start_watchdog()
        self.primary = self._cluster("primary", settings or {})
        self._start(self.primary, password=secrets.token_urlsafe(18))

    # ---- folders and processes -----------------------------------------------------------------
    def _user(self):
        return self.primary._run_user() if self._clusters else _LabCluster(self.folder)._run_user()

    def _own(self, path: Path) -> None:
        """Under root the servers run as an unprivileged user: hand it a folder the kernel made."""
        user = self._user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)
            path.chmod(0o700)

    def _cluster(self, name: str, settings: dict[str, str]) -> _LabCluster:
        if not self.archive.exists():
            self.archive.mkdir()
            self._own(self.folder)
            self._own(self.archive)
        extra = {key: value.replace("{archive}", str(self.archive)) for key, value in settings.items()}
        cluster = _LabCluster(self.folder / name, extra)
        self._clusters.append(cluster)
        return cluster

    def _start_watchdog(self) -> None:
        """A process in a session of its own that stops the clusters and removes the folder when the kernel dies."""
        script = (
            'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 0.5; done; '
            'for f in "$2"/*/data/postmaster.pid; do [ -f "$f" ] && kill -QUIT "$(head -n 1 "$f")" 2>/dev/null; done; '
            'sleep 1; rm -rf "$2"'
        )
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
        self._watchdog = subprocess.Popen(
            ["/bin/sh", "-c", script, "pgcourse-lab-watchdog", str(os.getpid()), str(self.folder)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=env)

    @staticmethod
    def _start(cluster: _LabCluster, password: str | None = None) -> None:
        """Start on a port the OS picks; again on another one if someone took it meanwhile."""
        for attempt in range(3):
            try:
                cluster.start(password=password, port=_os_port())
                return
            except ServerStartError:
                if attempt == 2 or "could not create any TCP/IP sockets" not in tail_log(cluster):
                    raise

    # ---- what a notebook uses --------------------------------------------------------------------
    def url(self, dbname: str = "postgres", cluster: _LabCluster | None = None) -> str:
        """The superuser URL of a database of the primary (or of another of the lab's clusters)."""
        return with_database((cluster or self.primary).url(), dbname)

    def get(self, name: str) -> _LabCluster | None:
        """The lab's cluster called ``name`` ("primary", "restored"...), or None when there is none."""
        return next((c for c in self._clusters if c.home.name == name), None)

    def connect(self, dbname: str = "postgres", cluster: _LabCluster | None = None) -> psycopg.Connection:
        """An autocommit superuser connection to a database of the primary (or of another cluster of the lab)."""
        return psycopg.connect(self.url(dbname, cluster), autocommit=True)

    def query(self, sql: str, params=None, *, dbname: str = "postgres", cluster: _LabCluster | None = None
              ) -> list[tuple] | None:
        """Run one statement as the lab's superuser; its rows, or None for a statement that returns none
        (so that a cell ending with one shows nothing)."""
        with self.connect(dbname, cluster) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def run(self, program: str, *args: object, dbname: str = "postgres", check: bool = True,
            cluster: _LabCluster | None = None) -> None:
        """Run a bundled program in the lab folder, connected to the primary (or ``cluster``), as the servers' user;
        print the command and its output."""
        run(program, *args, url=self.url(dbname, cluster), cwd=self.folder, check=check, user=self._user())

    def wait_archived(self, timeout: float = 60) -> str:
        """Switch to a new WAL segment and wait until the archiver has stored the old one; its name."""
        with self.connect() as conn:
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done, failed = conn.execute(
                    "SELECT last_archived_wal >= %s, failed_count FROM pg_stat_archiver", [segment]).fetchone()
                if done:
                    return segment
                time.sleep(0.2)
        raise RuntimeError(f"WAL segment {segment} was not archived within {timeout:.0f} s "
                           f"(failed attempts: {failed}); see {self.primary.log_file}")

    def recover(self, base_backup: str, settings: dict[str, str], name: str = "restored",
                timeout: float = 120) -> _LabCluster:
        """Start a new cluster from a copy of a base backup with recovery ``settings`` and ``recovery.signal``;
        wait until recovery has ended (promoted) or paused at its target; return it."""
        earlier = self.get(name)
        if earlier is not None:  # the exercise cell run again: start over from the backup
            self._stop([earlier])
            self._clusters.remove(earlier)
            shutil.rmtree(earlier.home, ignore_errors=True)
        cluster = self._cluster(name, {"archive_mode": "off", **settings})
        user = self._user()
        shutil.copytree(self.folder / base_backup, cluster.data_dir)
        (cluster.data_dir / "recovery.signal").touch()
        if user is not None:
            for path in (cluster.home, *cluster.home.rglob("*")):
                os.chown(path, user.pw_uid, user.pw_gid)
        cluster.data_dir.chmod(0o700)
        state = self.primary._state()
        cluster._save_state(password=state["password"])
        try:
            self._start(cluster)
        except ServerStartError as exc:
            raise RuntimeError(f"the restored cluster did not start: {self.log(cluster)}") from exc
        deadline = time.monotonic() + timeout
        with self.connect(cluster=cluster) as conn:
            while time.monotonic() < deadline:
                in_recovery, paused = conn.execute(
                    "SELECT pg_is_in_recovery(), pg_is_in_recovery() AND pg_get_wal_replay_pause_state() = 'paused'"
                ).fetchone()
                if not in_recovery or paused:
                    return cluster
                time.sleep(0.2)
        raise RuntimeError(f"recovery did not end within {timeout:.0f} s: {self.log(cluster)}")

    def log(self, cluster: _LabCluster | None = None, pattern: str = "") -> str:
        """The cluster's log lines (matching ``pattern``), without their timestamps and pids."""
        path = (cluster or self.primary).log_file
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        lines = [re.sub(r"^\S+ \S+ \S+ \[\d+\] ", "", line) for line in lines]
        return "\n".join(line for line in lines if re.search(pattern, line))

    @staticmethod
    def _stop(clusters: list[_LabCluster]) -> None:
        """An immediate shutdown (SIGQUIT) of the clusters' servers; waits until they are gone."""
        import signal

        import psutil

        running = []
        for cluster in clusters:
            pid = cluster.pid()
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGQUIT)
                    running.append(psutil.Process(pid))
                except (ProcessLookupError, psutil.NoSuchProcess):
                    pass
        psutil.wait_procs(running, timeout=30)

    def destroy(self) -> None:
        """Stop every cluster of the lab and remove its folder (idempotent)."""
        self._stop(self._clusters)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._watchdog is not None and self._watchdog.poll() is None:
            self._watchdog.terminate()
            self._watchdog.wait(timeout=10)
        if self in _LIVE:
            _LIVE.remove(self)


def _os_port() -> int:
    """A free TCP port of 127.0.0.1 chosen by the OS (far from the course's own 54329...)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail_log(cluster: EmbeddedCluster, lines: int = 20) -> str:
    try:
        return "\n".join(cluster.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def leftover_labs() -> list[str]:
    """Throwaway clusters still running on this machine (command lines of postmasters in a lab folder)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if (proc.info["name"] or "").startswith("postgres") and LAB_PREFIX in cmdline:
            found.append(cmdline)
    return found


if __name__ == "__main__":  # pragma: no cover - a manual smoke test
    lab = ThrowawayCluster()
    print(lab.query("SELECT version()"), file=sys.stderr)
    lab.destroy()
