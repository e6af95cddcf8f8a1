"""A workshop learner's kernel side: ask the broker to open, reset and check chapters (no administrator here).

With ``PGCOURSE_WORKSHOP_URL`` and ``PGCOURSE_WORKSHOP_TOKEN`` set and no ``PGCOURSE_DATABASE_URL``,
``open_chapter``, ``pgcourse.check`` and ``pgcourse reset`` come here; everything else in a notebook
(``%sql``, ``ch.query``, sessions) uses the learner URL the broker returns.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from ..chapters import ChapterInfo
from ..errors import ChapterError

#: The broker's base URL, e.g. ``http://127.0.0.1:8765`` or ``http://127.0.0.1:8000/services/pgcourse``.
URL_ENV = "PGCOURSE_WORKSHOP_URL"
#: This learner's token (given by the instructor's ``pgcourse workshop add``, or by the hub).
TOKEN_ENV = "PGCOURSE_WORKSHOP_TOKEN"
#: Opening a chapter clones a database: on a busy class server that can take a while.
TIMEOUT_SECONDS = 300


def enabled() -> bool:
    """True in a workshop learner's kernel: the broker's URL and a token, and no administrator URL."""
    from ..server import url_from_env

    return bool(os.environ.get(URL_ENV, "").strip() and os.environ.get(TOKEN_ENV, "").strip()) and not url_from_env()


def call(method: str, path: str, payload: dict | None = None) -> dict:
    """One JSON request to the broker with this learner's token; a refusal becomes a ChapterError saying what to do."""
    base = os.environ.get(URL_ENV, "").strip().rstrip("/")
    token = os.environ.get(TOKEN_ENV, "").strip()
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers={
        "Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read() or b"{}").get("error") or exc.reason
        except ValueError:
            reason = exc.reason
        what = ("check PGCOURSE_WORKSHOP_TOKEN (ask your instructor for your token)" if exc.code == 401
                else "read the reason; ask your instructor if it persists")
        raise ChapterError(f"the workshop broker refused ({exc.code}): {reason}\n  what to do: {what}.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChapterError(f"the workshop broker at {base} does not answer ({reason}).\n"
                           "  what to do: tell your instructor (the broker runs on the class server).") from None


def open_chapter(info: ChapterInfo, *, reset: bool = False):
    """The learner's :class:`~pgcourse.chapter.Chapter` for ``info``, opened (cloned on first use) by the broker."""
    from ..chapter import Chapter, _NoAdministrator

    opened = call("POST", "/open", {"chapter": info.number, "reset": reset})
    chapter = Chapter(info=info, server=_NoAdministrator(), database=opened["database"], role=opened["role"],
                      created=bool(opened.get("created")), given_url=opened["url"])
    chapter.conn()  # fail here, clearly, if the database does not answer
    return chapter


def reset(number: str) -> dict:
    """A fresh database for this learner's chapter ``number`` (what ``pgcourse reset NN`` does in a workshop)."""
    return call("POST", "/reset", {"chapter": number})


def check(info: ChapterInfo, exercise_id: str):
    """Have the broker check one exercise of this learner's chapter; the :class:`~pgcourse.checks.CheckResult`."""
    from ..checks import CheckResult

    data = call("POST", "/check", {"chapter": info.number, "exercise": exercise_id})
    fields = set(CheckResult.__dataclass_fields__)
    return CheckResult(**{k: v for k, v in data.items() if k in fields})


def psql_env(args: list[str]) -> dict[str, str]:
    """libpq variables for ``pgcourse psql`` in a workshop: the learner's own chapter database named by ``-d``.

    The chapter is read from the name (``..._ch04_...``); the broker gives this learner's URL for it.
    """
    import re

    from ..backup import url_env
    from ..chapter import scratch_name

    wanted = ""
    for i, arg in enumerate(args):
        if arg in ("-d", "--dbname") and i + 1 < len(args):
            wanted = args[i + 1]
        elif arg.startswith("--dbname="):
            wanted = arg.split("=", 1)[1]
    found = re.search(r"(?:^|_)ch(\d\d)_", wanted)
    if not found:
        raise ChapterError(f"in a workshop, `pgcourse psql` opens one of your chapter databases; {wanted!r} is not one.\n"
                           "  what to do: pass -d with your chapter's database (ch.database in the notebook).")
    opened = call("POST", "/open", {"chapter": found.group(1)})
    database = opened["database"]
    if wanted == scratch_name(database):
        database = wanted
    return url_env(opened["url"]) | {"PGDATABASE": database}
