"""orders and order_items, generated together chunk by chunk (an order's total is the sum of
its items), and emitted in two passes that regenerate the same chunk from the same seed.

Skew the planner lessons need: status completed ~90% / pending ~1% (partial indexes pay only for
rare values); orders per user heavy-tailed, ~15% of users never order (joins, anti-joins, N+1);
created_at increasing with id with a daily and weekly rhythm (BRIN, keyset pagination, date
ranges); product popularity Zipf-like (join estimates, most-common values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .. import copybin as cb
from .. import timeline
from ..world import CHUNK, World
from . import TableLoad

STATUSES = ["pending", "processing", "shipped", "completed", "cancelled", "refunded"]
STATUS_SHARES = [0.01, 0.02, 0.03, 0.90, 0.025, 0.015]
#: how long after creation an order was last updated, per status (days: min, max)
UPDATE_DAYS = [(0, 0), (0, 0.5), (1, 3), (2, 10), (0, 2), (7, 30)]


@dataclass
class OrderChunk:
    ids: np.ndarray
    user_id: np.ndarray
    status: np.ndarray
    created: np.ndarray
    updated: np.ndarray
    items_per_order: np.ndarray
    product_id: np.ndarray
    quantity: np.ndarray
    unit_cents: np.ndarray

    @property
    def totals(self) -> np.ndarray:
        line = self.quantity * self.unit_cents
        starts = np.concatenate([[0], np.cumsum(self.items_per_order)[:-1]])
        return np.add.reduceat(line, starts)


def order_chunks(world: World) -> Iterator[OrderChunk]:
    n = world.spec.orders
    tl = timeline.Timeline(timeline.START, timeline.END, growth=0.6)
    weights = world.user_order_weight
    prod = world.products
    pop_cum = np.cumsum(prod["popularity"])
    for k, lo in enumerate(range(0, n, CHUNK)):
        hi = min(n, lo + CHUNK)
        m = hi - lo
        rng = world.rng("orders", k)
        ids = np.arange(lo + 1, hi + 1)
        created = tl.times(ids, n, rng.random(m))
        user_id = world.pick_users(created, weights, rng)
        status = rng.choice(len(STATUSES), size=m, p=STATUS_SHARES)
        lo_d = np.array([d[0] for d in UPDATE_DAYS])[status]
        hi_d = np.array([d[1] for d in UPDATE_DAYS])[status]
        updated = created + ((lo_d + (hi_d - lo_d) * rng.random(m)) * timeline.US_PER_DAY).astype(np.int64)
        items = np.minimum(1 + rng.poisson(1.4, m), 12)
        total_items = int(items.sum())
        product_idx = np.searchsorted(pop_cum, rng.random(total_items) * pop_cum[-1], side="right")
        product_idx = np.minimum(product_idx, len(pop_cum) - 1)
        quantity = rng.choice(5, size=total_items, p=[0.72, 0.18, 0.06, 0.025, 0.015]) + 1
        price = prod["price_cents"][product_idx]
        discounted = rng.random(total_items) < 0.08
        unit = np.where(discounted, (price * 9) // 10, price)
        yield OrderChunk(ids, user_id, status, created, updated, items, product_idx + 1, quantity, unit)


def _orders(world: World):
    statuses = cb.Vocab(STATUSES)
    for c in order_chunks(world):
        m = len(c.ids)
        fields = [cb.int8(c.ids), cb.int8(c.user_id), cb.text(cb.const(b"ORD-", m), cb.digits(c.ids, width=8), n=m),
                  cb.text(statuses.take(c.status), n=m), cb.money(c.totals),
                  cb.timestamptz(c.created), cb.timestamptz(c.updated)]
        yield m, cb.encode(fields, m)


def _order_items(world: World):
    next_id = 1
    for c in order_chunks(world):
        m = len(c.product_id)
        ids = np.arange(next_id, next_id + m)
        next_id += m
        order_id = np.repeat(c.ids, c.items_per_order)
        fields = [cb.int8(ids), cb.int8(order_id), cb.int8(c.product_id), cb.int4(c.quantity), cb.money(c.unit_cents)]
        yield m, cb.encode(fields, m)


def loads(world: World) -> list[TableLoad]:
    n = world.spec.orders
    return [
        TableLoad("orders", ["id", "user_id", "order_number", "status", "total_amount", "created_at", "updated_at"],
                  n, lambda: _orders(world)),
        TableLoad("order_items", ["id", "order_id", "product_id", "quantity", "unit_price"], int(n * 2.4),
                  lambda: _order_items(world)),
    ]
