"""A JupyterHub for a class on one machine (The Littlest JupyterHub's shape): ``pgcourse workshop start|stop|status``.

The hub runs as the instructor (root, for one Unix user per learner), behind ``configurable-http-proxy``
(npm; installed into the workshop folder when missing). Learners log in with one shared password, limited
to the roster; the instructor logs in as the hub's admin. The broker is a hub-managed service and the only
process given the administrator URL (read from a 0600 file); a learner's server gets its broker URL and
token, its own workspace copy of the notebooks, and nothing of the administrator.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .. import server as pg
from .. import workspace
from ..errors import ConfigError, InputError, PgcourseError
from .roster import write_private

#: The proxy JupyterHub puts in front of itself, from npm (Node 20 or newer), pinned like the Python packages.
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
PROXY_COMMAND = "configurable-http-proxy"
PROXY_NODE_MAJOR = 20
#: Unix user of learner NAME when the hub runs as root (The Littlest JupyterHub's convention).
UNIX_PREFIX = "jupyter-"
#: The hub-managed service that is the broker (its pages: /services/pgcourse/...).
SERVICE_NAME = "pgcourse"
DEFAULT_PORT = 8000
DEFAULT_ADMIN = "instructor"
#: The workshop folder (the roster's tokens, the hub's files), as the roster defines it.
STATE_ENV = "PGCOURSE_WORKSHOP_DIR"
#: The variables a learner's server must never get (the administrator's URL, password, state folder).
ADMIN_VARIABLES = ("PGCOURSE_DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE", "PGCOURSE_HOME",
                   "PGCOURSE_PROJECT", STATE_ENV, "CONFIGPROXY_AUTH_TOKEN")
#: A learner's Unix user, home 0700: other learners cannot read their notebooks or their token's files.
HOME_MODE = 0o700


@dataclass
class HubState:
    """The hub's files in the workshop folder: settings and secrets (0600), runtime folder, log."""

    folder: Path

    def __post_init__(self) -> None:
        self.settings_file = self.folder / "hub.json"  # ports, passwords, the status token, the hub's pid
        self.admin_url_file = self.folder / "admin-url"  # the administrator's URL: for the broker service only
        self.runtime = self.folder / "hub"  # JupyterHub's database, cookie secret, proxy pid
        self.log = self.runtime / "hub.log"
        self.homes = self.folder / "homes"  # learners' homes without root (one shared Unix user)

    def settings(self) -> dict:
        try:
            return json.loads(self.settings_file.read_text())
        except FileNotFoundError:
            return {}

    def save(self, settings: dict) -> None:
        write_private(self.settings_file, json.dumps(settings, indent=2, sort_keys=True) + "\n")

    def admin_url(self) -> str:
        return self.admin_url_file.read_text().strip()


def state() -> HubState:
    """The hub's files in the instructor's workshop folder (the roster's, mode 0700)."""
    from .roster import state_dir

    return HubState(state_dir())


# --- the proxy -------------------------------------------------------------------------------------------

def proxy_command(folder: Path) -> Path | None:
    """configurable-http-proxy on PATH, else the one installed into the workshop folder, else None."""
    found = shutil.which(PROXY_COMMAND)
    if found:
        return Path(found)
    local = folder / "proxy" / "node_modules" / ".bin" / PROXY_COMMAND
    return local if local.exists() else None


def install_proxy(folder: Path) -> Path:
    """The proxy's command, installed with npm into ``<folder>/proxy`` when it is not there yet (cached)."""
    found = proxy_command(folder)
    if found:
        return found
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise ConfigError("JupyterHub's proxy needs Node.js 20+ and npm, which are not installed; what to do: "
                          "install them (Debian 13: `apt-get install -y nodejs npm`) and run the command again")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < PROXY_NODE_MAJOR:
        raise ConfigError(f"{PROXY_PACKAGE} needs Node.js {PROXY_NODE_MAJOR}+, this machine has {version}; what to "
                          f"do: install Node.js {PROXY_NODE_MAJOR} or newer (docs/workshop.md) and run the command again")
    print(f"pgcourse: installing {PROXY_PACKAGE} with npm into {folder / 'proxy'} (once) ...", flush=True)
    done = subprocess.run([npm, "install", "--prefix", str(folder / "proxy"), "--no-audit", "--no-fund",
                           "--loglevel=error", PROXY_PACKAGE], capture_output=True, text=True, timeout=600)
    found = proxy_command(folder)
    if done.returncode != 0 or found is None:
        raise PgcourseError(f"npm could not install {PROXY_PACKAGE}: "
                            f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}; what to do: check that "
                            "npm reaches its registry (`npm view configurable-http-proxy version`) and run again")
    return found


# --- learners: roster, Unix users, homes ------------------------------------------------------------------

def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def unix_name(learner: str) -> str:
    return UNIX_PREFIX + learner


def ensure_unix_user(learner: str) -> pwd.struct_passwd:
    """The learner's Unix user ``jupyter-<name>`` with a home of mode 0700 (created on first use; root only)."""
    name = unix_name(learner)
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        done = subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name],
                              capture_output=True, text=True)
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            raise PgcourseError(f"could not create the Unix user {name}: {done.stderr.strip()}; what to do: "
                                "run `pgcourse workshop start` as root (useradd)") from None
    home = Path(user.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, user.pw_uid, user.pw_gid)
    home.chmod(HOME_MODE)
    return user


def prepare_home(home: Path, user: pwd.struct_passwd | None) -> tuple[Path, list[str]]:
    """The learner's ``~/workspace`` (a copy of the notebooks, never overwritten) and Lab settings, theirs.

    Returns the workspace and the course's JupyterLab options for their server (as ``pgcourse lab`` gives:
    no news pop-up over the outputs, a terminal that finds the ``pgcourse`` command).
    """
    from ..lab import LAB_OVERRIDES, terminal_command

    report = workspace.prepare(target=home / "workspace")
    config = home / ".pgcourse" / "jupyter"
    (config / "settings").mkdir(parents=True, exist_ok=True)
    (config / "settings" / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n", encoding="utf-8")
    terminal = terminal_command(config, "/bin/bash")
    if user is not None:
        for path in [home / "workspace", home / ".pgcourse"]:
            for folder, dirs, files in os.walk(path):
                for entry in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                    os.lchown(entry, user.pw_uid, user.pw_gid)
    return report.path, [f"--ServerApp.terminado_settings=shell_command={json.dumps(terminal)}",
                         f"--LabApp.app_settings_dir={config / 'settings'}"]


def learner_env(learner: str, broker_url: str, home: Path) -> dict[str, str]:
    """What a learner's server adds to JupyterHub's own variables: the broker and their token (the roster's),
    private folders, the course's command on PATH.

    Nothing of the administrator: no database URL, no password, not the instructor's state folder.
    """
    from ..datasets.sizes import SIZE_ENV
    from .roster import learner_env as broker_env

    env = broker_env(learner, broker_url)
    env.update({
        "PGCOURSE_HOME": str(home / ".pgcourse"), "MPLBACKEND": "agg",
        # `!pgcourse` in a cell and in a terminal finds the course's command
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
    })
    if os.environ.get(SIZE_ENV):
        env[SIZE_ENV] = os.environ[SIZE_ENV]
    return env


def admin_server(admin_url: str) -> pg.Server:
    """The server as the administrator, from the URL the hub read from its 0600 file."""
    return pg.Server(backend="url", url=admin_url)


def roster_names(admin_url: str) -> list[str]:
    """The learners on the roster (the broker's table), read with the administrator URL (hub side only)."""
    from . import roster

    return [learner.name for learner in roster.learners(admin_server(admin_url))]


def board_path(instructor_token: str) -> str:
    """The progress board's path under the hub, with the instructor's token (the broker's page asks for it)."""
    return f"services/{SERVICE_NAME}/progress.html?token={instructor_token}"


# --- start, stop, status ----------------------------------------------------------------------------------

SHARED_USER_WARNING = ("not running as root: every learner's server runs as your own Unix user, so learners "
                       "can read each other's files (their databases stay isolated); run `pgcourse workshop "
                       "start` as root for one Unix user per learner")


def config_file() -> Path:
    return pg.project_root() / "workshop" / "jupyterhub_config.py"


def _free_port(wanted: int | None = None) -> int:
    from ..server.embedded import os_free_port, port_is_free

    return wanted if wanted and port_is_free(wanted) else os_free_port()


def hub_pid(st: HubState) -> int | None:
    """The running hub's process id, or None (a stale pid file, or another program with that pid)."""
    import psutil

    pid = st.settings().get("pid")
    try:
        proc = psutil.Process(pid) if pid else None
        return pid if proc and proc.is_running() and "jupyterhub" in " ".join(proc.cmdline()) else None
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3):
            return True
    except (OSError, urllib.error.HTTPError):
        return False


def learner_cannot_run_course(learner: str) -> str:
    """'' when the learner's Unix user can start the course's Python; else why not (e.g. a folder mode 0700)."""
    from ..grading.sandbox import why_user_cannot_run

    user = ensure_unix_user(learner)
    return why_user_cannot_run(user.pw_uid, user.pw_gid)


def hub_env(st: HubState) -> dict[str, str]:
    """The hub's environment: the instructor's, less the administrator's URL and password (the hub reads those
    from the workshop folder and gives them only to the broker service)."""
    env = {k: v for k, v in os.environ.items() if k not in ADMIN_VARIABLES and not k.startswith("PG")}
    proxy = proxy_command(st.folder)
    env.update({STATE_ENV: str(st.folder), "PGCOURSE_HOME": str(pg.state_dir()),
                "PGCOURSE_PROJECT": str(pg.project_root()),
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(proxy.parent) if proxy else "",
                                         os.environ.get("PATH", "/usr/bin:/bin")])})
    from ..datasets.sizes import SIZE_ENV

    if os.environ.get(SIZE_ENV):  # the size the broker clones chapters from
        env[SIZE_ENV] = os.environ[SIZE_ENV]
    return env


def start(*, port: int = DEFAULT_PORT, ip: str = "", admin: str = DEFAULT_ADMIN, password: str | None = None,
          size: str | None = None, timeout: float = 180) -> dict:
    """Start the class's hub in the background (idempotent: a running hub is left as it is); return its settings."""
    st = state()
    if hub_pid(st):
        print(f"pgcourse: the hub already runs (pid {hub_pid(st)}); `pgcourse workshop stop` stops it", flush=True)
        return st.settings()
    startup = pg.up()
    for note in startup.notes:
        print(f"pgcourse: {note}", flush=True)
    server = startup.server
    from ..lab import _seed

    _seed(server, size)  # chapters are cloned from the dataset when learners open them
    write_private(st.admin_url_file, server.url + "\n")
    names = roster_names(server.url)
    if admin in names:
        raise InputError(f"the instructor's login {admin!r} is also a learner's name; what to do: choose another "
                         "with `--admin NAME`")
    if password is not None and len(password) < 8:
        raise InputError("the learners' password must have 8 characters or more (JupyterHub's rule)")
    install_proxy(st.folder)
    settings = st.settings()
    settings.update(
        password=password or settings.get("password") or secrets.token_urlsafe(9),
        admin_password=settings.get("admin_password") or secrets.token_urlsafe(32),
        api_token=settings.get("api_token") or secrets.token_hex(32),
        admin=admin, ip=ip, port=_free_port(port) if port == 0 else port,
        hub_port=_free_port(settings.get("hub_port")), proxy_api_port=_free_port(settings.get("proxy_api_port")),
        broker_port=_free_port(settings.get("broker_port") or 8765),
        spawner="unix-users" if is_root() else "shared-user",
    )
    if is_root():
        for name in names:
            why = learner_cannot_run_course(name)
            if why:
                raise ConfigError(f"the learners' Unix users cannot run {sys.executable} ({why}); what to do: make "
                                  "the course folder and its parents readable by others (chmod o+rx)")
    else:
        print(f"pgcourse: warning: {SHARED_USER_WARNING}", flush=True)
    st.runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(st.log, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config_file())], cwd=st.runtime,
                                env=hub_env(st), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    settings["pid"] = proc.pid
    st.save(settings)
    deadline = time.monotonic() + timeout
    api = f"http://127.0.0.1:{settings['port']}/hub/api"
    while not _answers(api):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(st.log.read_text(errors="replace").splitlines()[-15:])
            stop()
            raise PgcourseError(f"the hub did not start; its log ({st.log}) ends with:\n{tail}\n"
                                "what to do: fix what the log says and run `pgcourse workshop start` again")
        time.sleep(0.5)
    return settings


def public_url(settings: dict) -> str:
    host = settings.get("ip") or ""
    if host in ("", "0.0.0.0", "::"):
        import socket

        host = socket.gethostname()
    return f"http://{host}:{settings['port']}/"


def stop(timeout: float = 60) -> bool:
    """Stop the hub with its proxy, the broker service and the learners' servers. False when none ran."""
    import psutil

    st = state()
    pid = hub_pid(st)
    if not pid:
        return False
    proc = psutil.Process(pid)
    proc.send_signal(signal.SIGTERM)  # JupyterHub stops the learners' servers, its services and its proxy
    try:
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        proc.kill()
    settings = st.settings()
    for leftover in leftovers(settings):  # none after a clean shutdown; a killed hub leaves its children
        leftover.kill()
    settings.pop("pid", None)
    st.save(settings)
    return True


def leftovers(settings: dict) -> list:
    """Processes this hub started that still run: its proxy, its services, learners' servers and kernels.

    Recognised by what the hub put in their environment (its own API address), so no other hub's are touched.
    """
    import psutil

    mark = f"http://127.0.0.1:{settings.get('hub_port')}/hub/api"
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
        if env.get("JUPYTERHUB_API_URL") == mark or (
                env.get("CONFIGPROXY_AUTH_TOKEN") and f"--api-port {settings.get('proxy_api_port')}"
                in " ".join(proc.cmdline())):
            found.append(proc)
    return found


def running_servers(settings: dict) -> dict[str, bool] | None:
    """Learner → whether their server runs, from the hub's REST API (None when the hub does not answer)."""
    request = urllib.request.Request(f"http://127.0.0.1:{settings['port']}/hub/api/users",
                                     headers={"Authorization": f"token {settings['api_token']}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            users = json.load(response)
    except (OSError, ValueError):
        return None
    return {u["name"]: bool(u.get("server")) for u in users if not u.get("admin")}


def status() -> list[str]:
    """Lines for the instructor: whether the hub runs, its address, logins, the board, learners' servers."""
    from .roster import instructor_token

    st = state()
    settings = st.settings()
    pid = hub_pid(st)
    if not pid:
        return ["the hub is not running (`pgcourse workshop start` starts it)"]
    lines = [f"the hub runs (pid {pid}) at {public_url(settings)} "
             f"(learners' servers: {'one Unix user each' if settings.get('spawner') == 'unix-users' else 'one shared Unix user'})",
             f"learners log in with their name and the password {settings['password']}",
             f"you log in as {settings['admin']} with the password {settings['admin_password']}",
             f"the progress board: {public_url(settings)}{board_path(instructor_token())}",
             f"the hub's log: {st.log}"]
    servers = running_servers(settings)
    if servers is not None:
        names = roster_names(st.admin_url())
        up = sorted(name for name, on in servers.items() if on and name in names)
        never = sorted(set(names) - set(servers))
        lines.append(f"servers running: {len(up)} of {len(names)} learners on the roster"
                     + (f" ({', '.join(up)})" if up else "") + (f"; never logged in: {', '.join(never)}" if never else ""))
    return lines
