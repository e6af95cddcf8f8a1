"""users, roles, user_roles, user_stats.

users: mixed-case emails (lesson 04: lower(email) and expression indexes), ~5% soft-deleted,
some of whose emails are reused by a live user (lesson 03: partial unique index), is_active and
is_verified skewed, signup times increasing with id.
"""

from __future__ import annotations

import numpy as np

from .. import copybin as cb
from .. import timeline, words
from ..world import World
from . import TableLoad, slices

BCRYPT = np.frombuffer(b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)

ROLES = [("customer", "Buys things"), ("seller", "Lists products"), ("support", "Answers customers"),
         ("admin", "Manages the shop"), ("auditor", "Reads everything, changes nothing")]


def _zipf_choice(rng: np.random.Generator, k: int, n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** s
    return rng.choice(k, size=n, p=p / p.sum())


def _cased(names: list[str]) -> cb.Vocab:
    """Each name three times: lower, Capitalized, UPPER (index = name * 3 + case)."""
    return cb.Vocab([v for w in names for v in (w, w.capitalize(), w.upper())])


def users_arrays(world: World) -> dict[str, np.ndarray]:
    rng = world.rng("users")
    n = world.spec.users
    first = _zipf_choice(rng, len(words.FIRST_NAMES), n, 0.7)
    last = _zipf_choice(rng, len(words.LAST_NAMES), n, 0.7)
    case_first = rng.choice(3, size=n, p=[0.55, 0.38, 0.07])
    case_last = rng.choice(3, size=n, p=[0.55, 0.38, 0.07])
    sep = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    domain = _zipf_choice(rng, len(words.EMAIL_DOMAINS), n, 1.2)
    domain_upper = rng.random(n) < 0.03
    number = np.arange(1, n + 1)
    deleted = world.user_deleted
    # a fifth of the soft-deleted users had the address a live user has now (other case)
    reuse = deleted & (rng.random(n) < 0.2)
    live = np.flatnonzero(~deleted)
    donor = live[rng.integers(0, len(live), n)]
    for arr in (first, last, sep, domain, number):
        arr[reuse] = arr[donor[reuse]]
    case_first[reuse] = (case_first[donor[reuse]] + 1) % 3
    created = world.user_created
    span = np.maximum(timeline.END - 1 - created, 1)
    updated = created + (span * rng.random(n) ** 3).astype(np.int64)
    deleted_at = created + (span * rng.random(n)).astype(np.int64)
    active = ~deleted & (rng.random(n) < 0.96)
    verified = rng.random(n) < 0.75
    country = _zipf_choice(rng, len(words.COUNTRIES), n, 1.1)
    return dict(first=first, last=last, case_first=case_first, case_last=case_last, sep=sep, domain=domain,
                domain_upper=domain_upper, number=number, created=created, updated=np.maximum(updated, created),
                deleted=deleted, deleted_at=deleted_at, active=active, verified=verified, country=country,
                hash=rng.integers(0, 64, size=(n, 53), dtype=np.uint8))


def _users(world: World):
    a = users_arrays(world)
    firsts, lasts = _cased(words.FIRST_NAMES), _cased(words.LAST_NAMES)
    plain_first = cb.Vocab([w for w in words.FIRST_NAMES])
    plain_last = cb.Vocab([w for w in words.LAST_NAMES])
    seps = cb.Vocab([".", "_", ""])
    domains = cb.Vocab(["@" + d for d in words.EMAIL_DOMAINS] + ["@" + d.upper() for d in words.EMAIL_DOMAINS])
    countries = cb.Vocab(words.COUNTRIES)
    nd = len(words.EMAIL_DOMAINS)
    for lo, hi in slices(world.spec.users):
        s = slice(lo, hi)
        n = hi - lo
        ids = np.arange(lo + 1, hi + 1)
        fields = [
            cb.int8(ids),
            cb.text(firsts.take(a["first"][s] * 3 + a["case_first"][s]), seps.take(a["sep"][s]),
                    lasts.take(a["last"][s] * 3 + a["case_last"][s]), cb.digits(a["number"][s]),
                    domains.take(a["domain"][s] + nd * a["domain_upper"][s]), n=n),
            cb.text(plain_first.take(a["first"][s]), cb.const(b"_", n), plain_last.take(a["last"][s]),
                    cb.digits(ids), n=n),
            cb.text(cb.const(b"$2b$12$", n), cb.Piece(BCRYPT[a["hash"][s]]), n=n),
            cb.text(firsts.take(a["first"][s] * 3 + 1), cb.const(b" ", n), lasts.take(a["last"][s] * 3 + 1), n=n),
            cb.text(countries.take(a["country"][s]), n=n),
            cb.boolean(a["active"][s]),
            cb.boolean(a["verified"][s]),
            cb.timestamptz(a["created"][s]),
            cb.timestamptz(a["updated"][s]),
            cb.timestamptz(a["deleted_at"][s], null=~a["deleted"][s]),
        ]
        yield n, cb.encode(fields, n)


def _roles(world: World):
    n = len(ROLES)
    fields = [cb.int8(np.arange(1, n + 1)), cb.text(cb.from_bytes([r[0].encode() for r in ROLES]), n=n),
              cb.text(cb.from_bytes([r[1].encode() for r in ROLES]), n=n),
              cb.timestamptz(np.full(n, timeline.CATALOG_START))]
    yield n, cb.encode(fields, n)


def user_roles_arrays(world: World) -> tuple[np.ndarray, ...]:
    """(user_id, role_id, granted_at, granted_by or 0): everyone is a customer, few are more."""
    rng = world.rng("user_roles")
    n = world.spec.users
    created = world.user_created
    shares = {2: 0.05, 3: 0.005, 4: 0.0005, 5: 0.002}
    users = [np.arange(1, n + 1)]
    roles = [np.ones(n, dtype=np.int64)]
    for role, share in shares.items():
        picked = np.flatnonzero(rng.random(n) < share) + 1
        if role == 4:
            picked = np.union1d(picked, [1])  # user 1 is an admin
        users.append(picked)
        roles.append(np.full(len(picked), role))
    user = np.concatenate(users)
    role = np.concatenate(roles)
    order = np.lexsort((role, user))
    user, role = user[order], role[order]
    admins = user[role == 4]
    granted_at = created[user - 1] + np.where(role == 1, 0, (rng.random(len(user)) * 30 * timeline.US_PER_DAY).astype(np.int64))
    granted_by = np.where(role == 1, 0, admins[rng.integers(0, len(admins), len(user))])
    granted_by = np.where(granted_by == user, 0, granted_by)
    return user, role, granted_at, granted_by


def _user_roles(world: World):
    user, role, granted_at, granted_by = user_roles_arrays(world)
    for lo, hi in slices(len(user)):
        s = slice(lo, hi)
        yield hi - lo, cb.encode([cb.int8(user[s]), cb.int8(role[s]), cb.timestamptz(granted_at[s]),
                                  cb.int8(granted_by[s], null=granted_by[s] == 0)], hi - lo)


def _user_stats(world: World):
    rng = world.rng("user_stats")
    n = world.spec.users
    has = rng.random(n) < 0.7
    ids = np.flatnonzero(has) + 1
    m = len(ids)
    logins = np.minimum(np.floor(rng.pareto(1.3, m) * 5).astype(np.int64) + 1, 1_000_000)
    created = world.user_created[ids - 1]
    last = created + ((timeline.END - 1 - created) * rng.random(m) ** 0.3).astype(np.int64)
    for lo, hi in slices(m):
        s = slice(lo, hi)
        yield hi - lo, cb.encode([cb.int8(ids[s]), cb.int4(logins[s]), cb.timestamptz(last[s]),
                                  cb.timestamptz(last[s])], hi - lo)


def loads(world: World) -> list[TableLoad]:
    n = world.spec.users
    return [
        TableLoad("users", ["id", "email", "username", "password_hash", "full_name", "country_code",
                            "is_active", "is_verified", "created_at", "updated_at", "deleted_at"],
                  n, lambda: _users(world)),
        TableLoad("roles", ["id", "name", "description", "created_at"], len(ROLES), lambda: _roles(world)),
        TableLoad("user_roles", ["user_id", "role_id", "granted_at", "granted_by"], int(n * 1.06),
                  lambda: _user_roles(world)),
        TableLoad("user_stats", ["user_id", "login_count", "last_login_at", "updated_at"], int(n * 0.7),
                  lambda: _user_stats(world)),
    ]
