"""What several tables share for one size: seeded random streams and derived arrays
(when each user signed up, how much each user buys, product prices and popularity).

Every random value comes from a numpy Generator seeded with (SEED, size, table, chunk), so a
size produces the same rows on every machine and with any server parallelism.
"""

from __future__ import annotations

import zlib
from functools import cached_property

import numpy as np

from . import timeline, words
from .sizes import SIZES, SPECS, Spec

#: change it (and regenerate datasets/manifest.json) to get different data on purpose
SEED = 20240101

#: rows generated and encoded at a time (part of the determinism: chunk seeds depend on it)
CHUNK = 200_000


class World:
    """Shared, lazily computed facts of one size."""

    def __init__(self, size: str):
        self.size = size
        self.spec: Spec = SPECS[size]

    def rng(self, table: str, chunk: int = 0) -> np.random.Generator:
        return np.random.default_rng([SEED, SIZES.index(self.size), zlib.crc32(table.encode()), chunk])

    # ---- users -----------------------------------------------------------------------------
    @cached_property
    def user_created(self) -> np.ndarray:
        n = self.spec.users
        rng = self.rng("users.created_at")
        return timeline.Timeline(timeline.CATALOG_START, timeline.END, growth=1.5).times(
            np.arange(1, n + 1), n, rng.random(n))

    @cached_property
    def user_deleted(self) -> np.ndarray:
        """~5% of users are soft-deleted."""
        mask = self.rng("users.deleted").random(self.spec.users) < 0.05
        mask[0] = False
        return mask

    @cached_property
    def user_order_weight(self) -> np.ndarray:
        """How much each user buys: Pareto (heavy tail), and ~15% who never buy."""
        rng = self.rng("users.weight")
        n = self.spec.users
        w = rng.pareto(1.05, n) + 0.05
        w[rng.random(n) < 0.15] = 0.0
        w[0] = max(w[0], 1.0)
        return w

    def pick_users(self, times: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """User ids for rows at ``times``: weighted, among users who had signed up by then."""
        cum = np.cumsum(weights)
        k = np.searchsorted(self.user_created, times, side="right")
        k = np.clip(k, 1, len(cum))
        target = rng.random(len(times)) * cum[k - 1]
        idx = np.searchsorted(cum, target, side="right")
        return np.minimum(idx, k - 1) + 1

    # ---- catalogue -------------------------------------------------------------------------
    @cached_property
    def categories(self) -> list[tuple[int, int | None, str, int]]:
        """(id, parent_id, name, depth) in breadth-first order: five levels under each root."""
        fan = self.spec.category_fanout
        rows: list[tuple[int, int | None, str, int]] = []
        level = []
        for name in words.CATEGORY_ROOTS[: fan[0]]:
            rows.append((len(rows) + 1, None, name, 1))
            level.append((len(rows), name))
        names = [None, None, words.CATEGORY_LEVEL3, words.CATEGORY_LEVEL4, words.CATEGORY_LEVEL5]
        for depth in range(2, 6):
            nxt = []
            for parent_id, root in level:
                choices = words.CATEGORY_LEVEL2[root] if depth == 2 else names[depth - 1]
                for name in choices[: fan[depth - 1]]:
                    rows.append((len(rows) + 1, parent_id, name, depth))
                    nxt.append((len(rows), root))
            level = nxt
        return rows

    @cached_property
    def category_root(self) -> np.ndarray:
        """Index into CATEGORY_ROOTS of each category's root (index 0 unused)."""
        root = np.zeros(len(self.categories) + 1, dtype=np.int64)
        for cid, parent, name, depth in self.categories:
            root[cid] = words.CATEGORY_ROOTS.index(name) if parent is None else root[parent]
        return root

    @cached_property
    def products(self) -> dict[str, np.ndarray]:
        """Per product (index = id - 1): category, price in cents, status, popularity weight."""
        rng = self.rng("products")
        n = self.spec.products
        cats = np.array([c for c in self.categories if c[3] >= 3], dtype=object)
        depth = np.array([c[3] for c in cats])
        cat_w = np.where(depth == 5, 1.0, 0.15) * rng.pareto(2.0, len(cats)) + 0.01
        cat_idx = rng.choice(len(cats), size=n, p=cat_w / cat_w.sum())
        category_id = np.array([c[0] for c in cats], dtype=np.int64)[cat_idx]
        root = self.category_root[category_id]
        scale = np.array([60, 35, 30, 14, 45, 25, 18, 30, 35, 12], dtype=float)[root]
        price = np.round(scale * rng.lognormal(0.0, 0.8, n) * 100)
        ending = rng.choice([99, 0, 49, 95], size=n, p=[0.6, 0.2, 0.1, 0.1])
        cents = (np.maximum(price // 100, 1) * 100 + ending).astype(np.int64)
        cents = np.where(ending == 0, cents, cents - 100 * (cents >= 200))
        status = rng.choice(4, size=n, p=[0.07, 0.80, 0.09, 0.04])  # draft, published, archived, discontinued
        rank = rng.permutation(n) + 1  # popularity rank, unrelated to id
        popularity = np.where(status == 0, 0.0, 1.0 / rank ** 1.1)
        return {"category_id": category_id, "root": root, "price_cents": cents, "status": status,
                "popularity": popularity}
