"""JupyterHub configuration for a pgcourse workshop; `pgcourse workshop start` runs the hub with it.

Everything variable comes from the workshop folder (PGCOURSE_WORKSHOP_STATE, private to the instructor):
`hub.json` (ports, passwords, the status token) and `admin-url` (the administrator's database URL,
which only the broker service gets). See docs/workshop.md.
"""

import os
import sys

from pgcourse.workshop import hub, hub_plugins

c = get_config()  # noqa: F821 (JupyterHub provides it)
state = hub.state()
settings = state.settings()

# --- the hub: address, its own files ------------------------------------------------------------------------
c.JupyterHub.ip = settings.get("ip", "")
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [str(hub.proxy_command(state.folder) or hub.PROXY_COMMAND)]
c.JupyterHub.db_url = f"sqlite:///{state.runtime / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state.runtime / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # `pgcourse workshop stop` stops the learners' servers too
c.JupyterHub.default_url = hub_plugins.default_url  # the instructor lands on the board, a learner on Lab

# --- who logs in: the roster with the class's password; the instructor as admin ------------------------------
c.JupyterHub.authenticator_class = "pgcourse.workshop.hub_plugins.RosterPasswordAuthenticator"
c.SharedPasswordAuthenticator.user_password = settings["password"]
c.SharedPasswordAuthenticator.admin_password = settings["admin_password"]
c.Authenticator.admin_users = {settings["admin"]}

# --- learners' servers: one Unix user each under root, else one shared user (with a warning) -----------------
if settings.get("spawner") == "unix-users":
    c.JupyterHub.spawner_class = "pgcourse.workshop.hub_plugins.LearnerSpawner"
else:
    print(f"pgcourse: warning: {hub.SHARED_USER_WARNING}", file=sys.stderr)
    c.JupyterHub.spawner_class = "pgcourse.workshop.hub_plugins.SharedUserSpawner"
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing else of the hub's environment reaches a learner
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 180
broker = f"http://127.0.0.1:{settings['broker_port']}"
c.Spawner.broker_url = f"{broker}/services/{hub.SERVICE_NAME}"

# --- the broker: a hub-managed service, the only process with the administrator's URL -----------------------
broker_env = {"PGCOURSE_DATABASE_URL": state.admin_url(), "PGCOURSE_HOME": os.environ["PGCOURSE_HOME"],
              hub.STATE_ENV: str(state.folder)}
for key in ("PGCOURSE_DATASET_SIZE", "PGCOURSE_PROJECT"):
    if key in os.environ:
        broker_env[key] = os.environ[key]
c.JupyterHub.services = [
    {"name": hub.SERVICE_NAME, "url": broker, "environment": broker_env,
     "command": [sys.executable, "-m", "pgcourse", "workshop", "broker", "--host", "127.0.0.1",
                 "--port", str(settings["broker_port"])]},
    {"name": "pgcourse-status", "api_token": settings["api_token"]},  # `pgcourse workshop status` reads the hub
]
c.JupyterHub.load_roles = [
    {"name": "pgcourse-status", "scopes": ["list:users", "read:users", "read:servers"],
     "services": ["pgcourse-status"]},
]
