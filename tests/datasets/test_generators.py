"""The generators are deterministic and their values do not depend on the server."""

from __future__ import annotations

import hashlib

from pgcourse.datasets.tables import all_loads
from pgcourse.datasets.world import World


def _digest(size: str) -> dict[str, str]:
    out = {}
    for load in all_loads(World(size)):
        h = hashlib.sha256()
        for _, data in load.chunks():
            h.update(bytes(data))
        out[load.table] = h.hexdigest()
    return out


def test_the_same_size_gives_the_same_bytes_twice():
    assert _digest("tiny") == _digest("tiny")
