"""categories (a five-level tree, for recursive CTEs) and products.

products: numeric prices with a long tail, an enum status (80% published), jsonb metadata whose
keys depend on the category (and a few rare keys), tags whose frequencies follow a Zipf law,
English names and descriptions for full-text search. Popularity (in order_items) is skewed too.
"""

from __future__ import annotations

import json
import re

import numpy as np

from .. import copybin as cb
from .. import timeline, words
from ..world import World
from . import TableLoad, slices

STATUS = ["draft", "published", "archived", "discontinued"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _categories(world: World):
    rows = world.categories
    slugs: dict[int, str] = {}
    for cid, parent, name, _ in rows:
        slugs[cid] = _slug(name) if parent is None else f"{slugs[parent]}-{_slug(name)}"
    n = len(rows)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    parents = np.array([r[1] or 0 for r in rows], dtype=np.int64)
    fields = [cb.int8(ids), cb.int8(parents, null=parents == 0),
              cb.text(cb.from_bytes([r[2].encode() for r in rows]), n=n),
              cb.text(cb.from_bytes([slugs[r[0]].encode() for r in rows]), n=n),
              cb.timestamptz(np.full(n, timeline.CATALOG_START) + ids * timeline.US_PER_S)]
    yield n, cb.encode(fields, n)


def _pick(options: list, u: float):
    return options[min(int(u * len(options)), len(options) - 1)]


def _metadata(root: str, u: np.ndarray, brand: str, color: str) -> dict:
    """Keys vary by category root (what GIN on jsonb, ? and @> lessons query); ``u`` is 8 uniforms."""
    m: dict = {"brand": brand}
    if root == "Electronics":
        conn = ["bluetooth", "wifi", "usb-c", "nfc"]
        m.update(warranty_months=_pick([12, 24, 36], u[0]),
                 specs={"weight_g": 20 + int(u[1] * 3000), "battery": bool(u[2] < 0.6)},
                 connectivity=conn[int(u[3] * 4):][:1 + int(u[4] * 2)] or ["usb-c"])
    elif root == "Clothing":
        sizes = ["XS", "S", "M", "L", "XL"]
        lo = int(u[0] * 4)
        m.update(sizes=sizes[lo:lo + 1 + int(u[1] * 4)], color=color, material=_pick(words.MATERIALS[:10], u[2]))
    elif root == "Books":
        m.update(author=f"{_pick(words.FIRST_NAMES, u[0]).title()} {_pick(words.LAST_NAMES, u[1]).title()}",
                 pages=80 + int(u[2] * 800), language="en" if u[3] < 0.7 else _pick(["de", "fr", "es"], u[4]))
    else:
        m.update(color=color, dimensions_cm=[5 + int(x * 115) for x in u[0:3]])
    if u[5] < 0.03:
        m["gift_wrap"] = True
    if u[6] < 0.01:
        m["recall"] = {"reason": "safety", "year": 2025}
    return m


def products_rows(world: World) -> list[tuple[bytes, bytes | None, bytes, list[str]]]:
    """(name, description, metadata json, tags) per product: numbers drawn as arrays, strings in Python."""
    rng = world.rng("products.text")
    p = world.products
    n = world.spec.products
    tag_p = 1.0 / np.arange(1, len(words.TAGS) + 1) ** 1.2
    draws = {k: rng.integers(0, len(v), n) for k, v in [("adj", words.ADJECTIVES), ("material", words.MATERIALS),
                                                        ("color", words.COLORS), ("brand", words.BRANDS)]}
    noun_u = rng.random(n)
    nsent = rng.integers(2, 5, n)
    sentence_order = np.argsort(rng.random((n, len(words.SENTENCES))), axis=1)
    no_desc = rng.random(n) < 0.04
    ntags = rng.integers(0, 6, n)
    tag_draws = rng.choice(len(words.TAGS), size=(n, 5), p=tag_p / tag_p.sum())
    meta_u = rng.random((n, 8))
    out = []
    for i in range(n):
        root = words.CATEGORY_ROOTS[int(p["root"][i])]
        noun = _pick(words.NOUNS[root], noun_u[i]).replace("-", " ")
        adj, material = words.ADJECTIVES[draws["adj"][i]], words.MATERIALS[draws["material"][i]]
        color, brand = words.COLORS[draws["color"][i]], words.BRANDS[draws["brand"][i]]
        name = f"{brand} {adj.capitalize()} {material.capitalize()} {noun.title()}"
        desc = None if no_desc[i] else " ".join(
            words.SENTENCES[j].format(noun=noun, adj=adj, material=material, color=color)
            for j in sentence_order[i, : nsent[i]])
        tags = [words.TAGS[j] for j in sorted(set(tag_draws[i, : ntags[i]].tolist()))]
        meta = json.dumps(_metadata(root, meta_u[i], brand, color), separators=(", ", ": "))
        out.append((name.encode(), None if desc is None else desc.encode(), meta.encode(), tags))
    return out


def _products(world: World):
    rows = products_rows(world)
    p = world.products
    rng = world.rng("products.rest")
    n = world.spec.products
    created = np.sort(timeline.CATALOG_START + (rng.random(n) * (timeline.END - timeline.CATALOG_START - timeline.US_PER_DAY * 60)).astype(np.int64))
    updated = created + (rng.random(n) ** 2 * 60 * timeline.US_PER_DAY).astype(np.int64)
    stock = np.where(rng.random(n) < 0.07, 0, rng.geometric(0.02, n))
    statuses = cb.Vocab(STATUS)
    for lo, hi in slices(n):
        s = slice(lo, hi)
        m = hi - lo
        ids = np.arange(lo + 1, hi + 1)
        chunk = rows[lo:hi]
        no_desc = np.array([r[1] is None for r in chunk])
        fields = [cb.int8(ids), cb.int8(p["category_id"][s]),
                  cb.text(cb.const(b"SKU-", m), cb.digits(ids, width=7), n=m),
                  cb.text(cb.from_bytes([r[0] for r in chunk]), n=m),
                  cb.text(cb.from_bytes([r[1] or b"" for r in chunk]), n=m, null=no_desc),
                  cb.money(p["price_cents"][s]), cb.int4(stock[s]),
                  cb.text(statuses.take(p["status"][s]), n=m),
                  cb.jsonb(cb.from_bytes([r[2] for r in chunk]), n=m),
                  cb.text_array([r[3] for r in chunk]),
                  cb.timestamptz(created[s]), cb.timestamptz(updated[s])]
        yield m, cb.encode(fields, m)


def loads(world: World) -> list[TableLoad]:
    return [
        TableLoad("categories", ["id", "parent_id", "name", "slug", "created_at"], len(world.categories),
                  lambda: _categories(world)),
        TableLoad("products", ["id", "category_id", "sku", "name", "description", "price", "stock_quantity",
                               "status", "metadata", "tags", "created_at", "updated_at"],
                  world.spec.products, lambda: _products(world)),
    ]
