"""The class hub for real: `pgcourse workshop start` with three learners, logins over HTTP, their servers
spawned as their own Unix users, and a kernel each that reaches only its own learner's databases and holds
nothing of the administrator."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests

from .hub_helpers import PASSWORD, Hub, Kernel, running_hub, skip_without_root

pytestmark = [pytest.mark.slow, skip_without_root()]

LEARNERS = ("hubann", "hubben", "hubcat")


@pytest.fixture(scope="module")
def hub(pg_server, tmp_path_factory) -> Hub:
    with running_hub(pg_server, tmp_path_factory.mktemp("hub"), LEARNERS) as running:
        yield running


@pytest.fixture(scope="module")
def kernels(hub: Hub) -> dict[str, Kernel]:
    """Each learner logged in through the login form, their server spawned, a kernel with chapter 00 open."""
    opened = {}
    for name in LEARNERS:
        session = hub.login(name)
        assert session.last_login.status_code == 302, session.last_login.text
        token = hub.api_token(session, name)
        hub.spawn(name, token)
        kernel = Kernel(hub, name, token)
        out, errors = kernel.run('import pgcourse\nch = pgcourse.open_chapter(0)\nprint("DB", ch.database)')
        assert errors == [], out
        opened[name] = kernel
    yield opened
    for kernel in opened.values():
        kernel.close()


def _own(hub: Hub, name: str) -> str:
    return f"{name}_ch00_getting_started"


def test_the_shared_password_logs_in_only_learners_on_the_roster(hub: Hub):
    assert hub.login("hubann").last_login.headers["Location"].endswith("/hub/spawn")
    assert hub.login("hubann", "wrong-password").last_login.status_code == 403
    assert hub.login("mallory").last_login.status_code == 403  # right password, not on the roster
    # the instructor's login takes the admin password, not the class's
    assert hub.login(hub.settings["admin"]).last_login.status_code == 403
    admin = hub.login(hub.settings["admin"], hub.settings["admin_password"])
    assert admin.last_login.status_code == 302
    landed = admin.get(hub.url, timeout=30)  # the instructor lands on the progress board, through the hub
    assert "/services/pgcourse/progress.html" in landed.url and "hubann" in landed.text


def test_a_learner_added_while_the_hub_runs_can_log_in_at_once(hub: Hub):
    import subprocess

    from .hub_helpers import PGCOURSE

    assert hub.login("hubdee").last_login.status_code == 403
    subprocess.run([*PGCOURSE, "workshop", "add", "hubdee"], env=hub.env, check=True, capture_output=True, timeout=120)
    try:
        assert hub.login("hubdee").last_login.status_code == 302
    finally:
        subprocess.run([*PGCOURSE, "workshop", "remove", "hubdee"], env=hub.env, capture_output=True, timeout=120)


def test_the_progress_board_is_served_through_the_hub_to_the_instructor_only(hub: Hub):
    board = f"{hub.url}services/pgcourse/progress.html"
    assert requests.get(board, timeout=30).status_code == 401
    token = (hub.folder / "instructor.token").read_text().strip()
    page = requests.get(f"{board}?token={token}", timeout=30)
    assert page.status_code == 200 and "hubann" in page.text
    assert requests.get(f"{board}?token={hub.tokens['hubann']}", timeout=30).status_code == 401


def test_each_learner_runs_as_their_own_unix_user_in_a_private_home(hub: Hub, kernels):
    for name, kernel in kernels.items():
        out, errors = kernel.run("import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.path.expanduser('~'))")
        assert errors == [] and out.split() == [f"jupyter-{name}", f"/home/jupyter-{name}"]
        home = Path(f"/home/jupyter-{name}")
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        notebook = home / "workspace" / "00_getting_started.ipynb"
        assert notebook.stat().st_uid == home.stat().st_uid
        # JupyterLab's file browser opens on the workspace: the chapters are at its top
        listed = requests.get(f"{kernel.base}/contents", headers=kernel.headers, timeout=30).json()
        assert "00_getting_started.ipynb" in [item["name"] for item in listed["content"]]
    out, errors = kernels["hubann"].run("import os\nos.listdir('/home/jupyter-hubben')")
    assert errors and errors[0].startswith("PermissionError"), out


def test_open_chapter_0_gives_the_learner_their_own_database_and_role(kernels):
    for name, kernel in kernels.items():
        out, errors = kernel.run("%sql SELECT current_user, current_database(), count(*) FROM users")
        assert errors == [] and f"'{name}_ch00'" in out and f"'{name}_ch00_getting_started'" in out, out
        out, errors = kernel.run("print(ch.conn().execute('SELECT rolsuper, rolcreatedb FROM pg_roles "
                                 "WHERE rolname = current_user').fetchone())")
        assert out.strip() == "(False, False)", out


def test_a_kernel_cannot_connect_to_another_learners_databases(hub: Hub, kernels):
    for name, kernel in kernels.items():
        for other in LEARNERS:
            if other == name:
                continue
            code = ("import psycopg\nfrom urllib.parse import urlsplit\n"
                    f"url = urlsplit(ch.url)._replace(path='/{_own(hub, other)}').geturl()\n"
                    "try:\n    psycopg.connect(url).close()\n    print('CONNECTED')\n"
                    "except psycopg.Error as e:\n    print('REFUSED', ' '.join(str(e).split()))")
            out, errors = kernel.run(code)
            assert errors == [] and out.startswith("REFUSED") and "permission denied for database" in out, out
        # and the administrator's databases are closed to them too
        out, _ = kernel.run("import psycopg\nfor db in ('postgres', 'pgcourse_workshop', 'template1'):\n"
                            "    try:\n        psycopg.connect(urlsplit(ch.url)._replace(path='/' + db).geturl()).close()\n"
                            "        print(db, 'CONNECTED')\n    except psycopg.Error:\n        print(db, 'REFUSED')")
        assert "CONNECTED" not in out, out
    # the other learners' work is still there
    for name, kernel in kernels.items():
        out, errors = kernel.run("print(ch.conn().execute('SELECT count(*) FROM users').fetchone()[0] > 0)")
        assert out.strip() == "True", (name, out, errors)


def test_a_kernel_holds_no_administrator_password_in_its_environment_or_readable_files(hub: Hub, kernels, pg_server):
    password = pg_server.password
    assert password
    places = [str(hub.folder), hub.env["PGCOURSE_HOME"], "/home"]
    if pg_server.log_file:
        places.append(str(Path(pg_server.log_file).parents[1]))
    probe = f"""
import os, json
secret = {password!r}
found, walked = [], 0
if any(secret in v for v in os.environ.values()):
    found.append('environment')
for pid in os.listdir('/proc'):
    for part in ('environ', 'cmdline'):
        try:
            if secret.encode() in open(f'/proc/{{pid}}/{{part}}', 'rb').read():
                found.append(f'/proc/{{pid}}/{{part}}')
        except OSError:
            pass
for root in {places!r}:
    for folder, dirs, files in os.walk(root):
        for f in files:
            path = os.path.join(folder, f)
            try:
                with open(path, 'rb') as fh:
                    walked += 1
                    if secret.encode() in fh.read(4_000_000):
                        found.append(path)
            except OSError:
                pass
print(json.dumps({{'found': found, 'walked': walked}}))
"""
    for name, kernel in kernels.items():
        out, errors = kernel.run(probe, store_history=False)  # not in IPython's history file: it holds the secret
        assert errors == [], errors
        result = json.loads(out.strip().splitlines()[-1])
        assert result["found"] == [], (name, result["found"])
        assert result["walked"] > 0  # it did read the learner's own files
        out, errors = kernel.run("import os\nprint(sorted(k for k in os.environ if k.startswith('PG')))")
        assert out.strip() == str(sorted(["PGCOURSE_DATASET_SIZE", "PGCOURSE_HOME", "PGCOURSE_WORKSHOP_TOKEN",
                                          "PGCOURSE_WORKSHOP_URL"])), out
    # the files that do hold it are the instructor's, mode 0600 in a 0700 folder
    assert stat.S_IMODE((hub.folder / "admin-url").stat().st_mode) == 0o600
    assert stat.S_IMODE(hub.folder.stat().st_mode) == 0o700


def test_a_kernel_holds_its_own_token_only(hub: Hub, kernels):
    for name, kernel in kernels.items():
        out, _ = kernel.run("import os\nprint(os.environ['PGCOURSE_WORKSHOP_TOKEN'])")
        assert out.strip() == hub.tokens[name]


def test_status_lists_the_running_servers_and_never_the_administrator_password(hub: Hub, kernels, pg_server):
    import subprocess

    from .hub_helpers import PGCOURSE

    done = subprocess.run([*PGCOURSE, "workshop", "status"], env=hub.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "servers running: 3 of 3 learners on the roster (hubann, hubben, hubcat)\n" in done.stdout, done.stdout + done.stderr
    assert PASSWORD in done.stdout
    assert pg_server.password not in done.stdout
