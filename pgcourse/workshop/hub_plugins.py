"""The JupyterHub classes workshop/jupyterhub_config.py names: the roster's shared-password login and the
learners' spawners (one Unix user each under root; one shared user, with a warning, otherwise).

Imported only inside the hub process (it needs ``jupyterhub``); the lifecycle is in :mod:`.hub`.
"""

from __future__ import annotations

import asyncio
import pwd
from pathlib import Path

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from tornado import web
from traitlets import Dict, HasTraits, Unicode

from . import hub


class RosterPasswordAuthenticator(SharedPasswordAuthenticator):
    """One shared password for the class, accepted only for names on the roster (read at each login, so
    learners added while the hub runs can log in); the instructor logs in with the admin password."""

    async def check_allowed(self, username: str, authentication: dict | None = None) -> bool:
        if username in self.admin_users:
            return True
        names = await asyncio.to_thread(hub.roster_names, hub.state().admin_url())
        return username in names


class _LearnerServer(HasTraits):
    """What every learner's server gets, whichever spawner: a prepared home, the broker and its token, and
    an environment scrubbed of everything of the administrator (``hub.ADMIN_VARIABLES``)."""

    broker_url = Unicode(help="The broker as learners' kernels reach it (PGCOURSE_WORKSHOP_URL).").tag(config=True)
    _learner_env = Dict()

    def learner_home(self) -> tuple[Path, pwd.struct_passwd | None]:
        raise NotImplementedError

    def _prepare(self) -> None:
        name = self.user.name
        if self.user.admin:
            raise web.HTTPError(403, "the instructor has no learner server: the board is at "
                                f"/services/{hub.SERVICE_NAME}/progress.html (add yourself with "
                                "`pgcourse workshop add` to try the notebooks as a learner)")
        admin_url = hub.state().admin_url()
        if name not in hub.roster_names(admin_url):
            raise web.HTTPError(403, f"{name} is not on the workshop's roster")
        home, user = self.learner_home()
        workspace, lab_args = hub.prepare_home(home, user)
        self.notebook_dir = str(workspace)
        self._learner_env = hub.learner_env(name, self.broker_url, home)
        self.args = [*self.args, *(a for a in lab_args if a not in self.args)]

    async def start(self):  # type: ignore[override]
        await asyncio.to_thread(self._prepare)
        return await super().start()  # type: ignore[misc]

    def get_env(self) -> dict[str, str]:
        env = super().get_env()  # type: ignore[misc]
        for key in hub.ADMIN_VARIABLES:
            env.pop(key, None)
        env.update(self._learner_env)
        return env


class LearnerSpawner(_LearnerServer, LocalProcessSpawner):
    """Each learner's server as their own Unix user ``jupyter-<name>`` (created at first spawn, home 0700)."""

    def learner_home(self) -> tuple[Path, pwd.struct_passwd | None]:
        user = hub.ensure_unix_user(self.user.name)
        return Path(user.pw_dir), user

    def make_preexec_fn(self, name):
        return super().make_preexec_fn(hub.unix_name(name))

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        user = pwd.getpwnam(hub.unix_name(self.user.name))
        env.update(USER=user.pw_name, HOME=user.pw_dir, SHELL=user.pw_shell or "/bin/bash")
        return env


class SharedUserSpawner(_LearnerServer, SimpleLocalProcessSpawner):
    """Without root: every learner's server runs as the instructor's user, in a home folder of its own.

    Database isolation still holds (each kernel has only its own broker token); file isolation does not.
    """

    def learner_home(self) -> tuple[Path, pwd.struct_passwd | None]:
        home = hub.state().homes / self.user.name
        home.mkdir(parents=True, exist_ok=True, mode=hub.HOME_MODE)
        self.home_dir = str(home)
        return home, None


def default_url(handler) -> str:
    """Where a login lands: the instructor on the progress board, a learner on their server."""
    from .roster import instructor_token

    user = handler.current_user
    if user is not None and user.admin:
        return handler.base_url + hub.board_path(instructor_token())
    return f"{handler.hub.base_url}spawn"
