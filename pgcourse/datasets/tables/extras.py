"""rooms and bookings (exclusion constraints: no two bookings of a room overlap, back-to-back
stays share a boundary day), and documents (owned by users, for row-level security)."""

from __future__ import annotations

import numpy as np

from .. import copybin as cb
from .. import timeline, words
from ..world import World
from . import TableLoad, slices

VISIBILITY = ["private", "shared", "public"]


def _rooms(world: World):
    n = world.spec.rooms
    rng = world.rng("rooms")
    ids = np.arange(1, n + 1)
    names = [f"Room {1 + i // 20}{i % 20 + 1:02d}".encode() for i in range(n)]
    capacity = rng.choice([1, 2, 2, 2, 3, 4, 6, 10], size=n)
    yield n, cb.encode([cb.int8(ids), cb.text(cb.from_bytes(names), n=n), cb.int4(capacity),
                        cb.timestamptz(np.full(n, timeline.CATALOG_START))], n)


def bookings_arrays(world: World) -> dict[str, np.ndarray]:
    """Per room, stays of 1-7 nights separated by 0-6 free nights, from 2024-01-01 on."""
    rng = world.rng("bookings")
    rooms, per = world.spec.rooms, world.spec.bookings_per_room
    nights = rng.integers(1, 8, (rooms, per))
    gaps = rng.geometric(0.45, (rooms, per)) - 1
    start_day = timeline.START // timeline.US_PER_DAY
    check_in = start_day + np.cumsum(gaps + nights, axis=1) - nights
    check_out = check_in + nights
    room = np.repeat(np.arange(1, rooms + 1), per).reshape(rooms, per)
    keep = check_out <= timeline.END // timeline.US_PER_DAY + 365  # some bookings are in the future
    order = np.argsort(check_in[keep], kind="stable")  # ids follow time, as they would in real life
    check_in, check_out, room = check_in[keep][order], check_out[keep][order], room[keep][order]
    m = len(check_in)
    lead_days = rng.geometric(0.05, m)
    created = (check_in - lead_days) * timeline.US_PER_DAY + (rng.random(m) * timeline.US_PER_DAY).astype(np.int64)
    times = np.maximum(created, timeline.CATALOG_START)
    user = world.pick_users(times, world.user_order_weight + 0.2, rng)
    return dict(room=room, user=user, check_in=check_in, check_out=check_out, created=created)


def _bookings(world: World):
    a = bookings_arrays(world)
    m = len(a["room"])
    for lo, hi in slices(m):
        s = slice(lo, hi)
        yield hi - lo, cb.encode([cb.int8(np.arange(lo + 1, hi + 1)), cb.int8(a["room"][s]), cb.int8(a["user"][s]),
                                  cb.date(a["check_in"][s]), cb.date(a["check_out"][s]),
                                  cb.timestamptz(a["created"][s])], hi - lo)


def _documents(world: World):
    rng = world.rng("documents")
    n = world.spec.documents
    tl = timeline.Timeline(timeline.START, timeline.END, growth=0.3)
    created = tl.times(np.arange(1, n + 1), n, rng.random(n))
    owners = world.pick_users(created, rng.pareto(1.2, world.spec.users) + 0.01, rng)
    visibility = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    updated = created + (rng.random(n) ** 3 * 90 * timeline.US_PER_DAY).astype(np.int64)
    topic = rng.integers(0, len(words.DOC_WORDS), (n, 3))
    nwords = rng.integers(20, 80, n)
    body_words = rng.integers(0, len(words.DOC_WORDS) + len(words.DOC_FILLER), (n, 80))
    vocab = words.DOC_WORDS + words.DOC_FILLER
    titles, bodies = [], []
    for i in range(n):
        t = topic[i]
        titles.append(f"{words.DOC_WORDS[t[0]].capitalize()} {words.DOC_WORDS[t[1]]} {words.DOC_WORDS[t[2]]}".encode())
        text = " ".join(vocab[j] for j in body_words[i, : nwords[i]])
        bodies.append((text[0].upper() + text[1:] + ".").encode())
    vis = cb.Vocab(VISIBILITY)
    for lo, hi in slices(n):
        s = slice(lo, hi)
        m = hi - lo
        yield m, cb.encode([cb.int8(np.arange(lo + 1, hi + 1)), cb.int8(owners[s]),
                            cb.text(cb.from_bytes(titles[lo:hi]), n=m), cb.text(cb.from_bytes(bodies[lo:hi]), n=m),
                            cb.text(vis.take(visibility[s]), n=m), cb.timestamptz(created[s]),
                            cb.timestamptz(updated[s])], m)


def loads(world: World) -> list[TableLoad]:
    spec = world.spec
    return [
        TableLoad("rooms", ["id", "name", "capacity", "created_at"], spec.rooms, lambda: _rooms(world)),
        TableLoad("bookings", ["id", "room_id", "user_id", "check_in", "check_out", "created_at"],
                  spec.rooms * spec.bookings_per_room, lambda: _bookings(world)),
        TableLoad("documents", ["id", "owner_id", "title", "body", "visibility", "created_at", "updated_at"],
                  spec.documents, lambda: _documents(world)),
    ]
