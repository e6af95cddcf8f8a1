"""events: the largest table, append-only, for partitioning and BRIN.

occurred_at increases with id over the two years (range partitions by month, pruning),
event_type is skewed (page_view ~62%, purchase <1%), user_id is NULL for ~35% (anonymous
visitors) and otherwise follows how much each user buys, payload is a small jsonb whose keys
depend on the event type.
"""

from __future__ import annotations

import numpy as np

from .. import copybin as cb
from .. import timeline, words
from ..world import CHUNK, World
from . import TableLoad

#: per event type: JSON before the number, whether it has a number, JSON between, word list, JSON after
PAYLOADS = [
    ('{"path": "/', False, "", words.PAGES, '"}'),
    ('{"product_id": ', True, ', "source": "', ["search", "category", "home", "recommendation", "ad"], '"}'),
    ('{"product_id": ', True, ', "quantity": ', ["1", "1", "1", "2", "3"], "}"),
    ('{"query": "', False, "", words.SEARCH_TERMS, '"}'),
    ('{"method": "', False, "", words.LOGIN_METHODS, '"}'),
    ('{"cart_items": ', True, "", [""], "}"),
    ('{"order_value_cents": ', True, "", [""], "}"),
]


def _events(world: World):
    n = world.spec.events
    tl = timeline.Timeline(timeline.START, timeline.END, growth=0.8)
    weights = world.user_order_weight + 0.3
    prefix = cb.Vocab([p[0] for p in PAYLOADS])
    middle = cb.Vocab([p[2] for p in PAYLOADS])
    suffix = cb.Vocab([p[4] for p in PAYLOADS])
    lists = [p[3] for p in PAYLOADS]
    offsets = np.cumsum([0] + [len(x) for x in lists])
    word_vocab = cb.Vocab([w for x in lists for w in x])
    sizes = np.array([len(x) for x in lists])
    has_number = np.array([p[1] for p in PAYLOADS])
    types = cb.Vocab(words.EVENT_TYPES)
    n_products = world.spec.products
    for k, lo in enumerate(range(0, n, CHUNK)):
        hi = min(n, lo + CHUNK)
        m = hi - lo
        rng = world.rng("events", k)
        ids = np.arange(lo + 1, hi + 1)
        occurred = tl.times(ids, n, rng.random(m))
        etype = rng.choice(len(words.EVENT_TYPES), size=m, p=words.EVENT_SHARES)
        anonymous = (rng.random(m) < 0.35) & (etype <= 3)
        user = world.pick_users(occurred, weights, rng)
        number = np.where(etype <= 2, 1 + (rng.pareto(1.0, m) * 50).astype(np.int64) % n_products,
                          np.where(etype == 5, rng.integers(1, 9, m), rng.integers(500, 50_000, m)))
        word = offsets[etype] + np.minimum((rng.random(m) ** 2 * sizes[etype]).astype(np.int64), sizes[etype] - 1)
        fields = [cb.int8(ids), cb.int8(user, null=anonymous), cb.text(types.take(etype), n=m),
                  cb.timestamptz(occurred),
                  cb.jsonb(prefix.take(etype), cb.digits(number, mask=has_number[etype]), middle.take(etype),
                           word_vocab.take(word), suffix.take(etype), n=m)]
        yield m, cb.encode(fields, m)


def loads(world: World) -> list[TableLoad]:
    return [TableLoad("events", ["id", "user_id", "event_type", "occurred_at", "payload"], world.spec.events,
                      lambda: _events(world))]
