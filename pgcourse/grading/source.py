"""Where the grader's PostgreSQL comes from: your URL, else the course's running server, else a throwaway one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .. import server as pg
from ..errors import PgcourseError
from ..server.base import Server


@contextlib.contextmanager
def grading_server() -> Iterator[tuple[Server, str]]:
    """Yield (server, a sentence saying where it comes from); stop whatever was started for grading."""
    url = pg.url_from_env()
    if url:
        server = pg.url_server(url)
        pg.connect(url).close()
        yield server, f"your server from PGCOURSE_DATABASE_URL ({server.masked_url})"
        return
    try:
        server = pg.current()
        server.version()
    except PgcourseError:
        pass
    else:
        yield server, f"the course's running {server.backend} server ({server.masked_url})"
        return
    from ..server.ephemeral import ephemeral_server

    with ephemeral_server() as server:
        yield server, f"a throwaway {server.backend} server, removed afterwards (no course server runs)"
