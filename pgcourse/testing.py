"""Test-suite plumbing shared by ``tests/`` and the nbval run of ``solutions/``: one server per pytest session.

The fixtures of ``tests/conftest.py`` and the nbval hooks of the root ``conftest.py`` both ask
here, so unit tests, graders and solution notebooks all run on the same throwaway server.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from .server.base import Server

_STACK_ATTR = "_pgcourse_server"


def session_server(config) -> Server:
    """The pytest session's server (URL, else testcontainers, else embedded), started on first use."""
    server = getattr(config, _STACK_ATTR, None)
    if server is None:
        from .server.ephemeral import ephemeral_server

        stack = contextlib.ExitStack()
        config.add_cleanup(stack.close)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pgcourse-test-")))
        server = stack.enter_context(ephemeral_server(workdir / "pgserver"))
        setattr(config, _STACK_ATTR, server)
    return server
