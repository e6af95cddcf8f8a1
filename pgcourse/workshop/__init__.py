"""Workshops on one shared PostgreSQL: the administrator stays with the instructor and one broker process.

1. ``pgcourse workshop add NAMES`` (roster) gives each learner a token (only its hash is in the database).
2. The broker (an HTTP service) holds the administrator URL; a learner's kernel holds only its token.
3. ``open_chapter`` in a kernel with ``PGCOURSE_WORKSHOP_URL`` + ``PGCOURSE_WORKSHOP_TOKEN`` asks the broker,
   which names the databases and roles from the token (``alice_ch04``, ``alice_ch04_indexes``) and clones on demand.
4. ``pgcourse.check`` goes to the broker too: it runs the same check and records it in ``results`` for the board.
5. Learners own only their chapter databases' contents: no CREATEDB, no superuser, no CONNECT elsewhere.
"""

from __future__ import annotations

from .client import TOKEN_ENV, URL_ENV
from .roster import ADMIN_DB, STATE_ENV

__all__ = ["ADMIN_DB", "STATE_ENV", "TOKEN_ENV", "URL_ENV"]
