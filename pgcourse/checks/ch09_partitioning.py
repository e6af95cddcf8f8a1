"""Checks for chapter 09, Partitioning.

Every check reads the chapter database only: the partition catalog (``pg_partitioned_table`` for
the strategy and key, ``relpartbound`` for each partition's bounds, read back as values by the
server), plans (``EXPLAIN (FORMAT JSON)`` as the learner: which partitions a query scans, and
"Subplans Removed" for pruning at run time) and the rows themselves (counted per partition
against the source table). Names are never required except where the task gives them: any
partition names, any spelling of the bounds, extra partitions outside the range asked, and
sub-partitions all pass when the layout is equivalent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..plans import Plan
from . import CheckContext, exercise
from .context import attempt, first_line

# ---- the set-up SQL and queries the notebook shows verbatim (a test checks) ----------------------

#: The chapter's working table: the clickstream of the first half of 2025, one partition per month,
#: and the same rows in a plain table for comparisons.
EV_MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
EV_SETUP = """DROP TABLE IF EXISTS ev, ev_plain CASCADE;
CREATE TABLE ev (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
CREATE TABLE ev_2025_01 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE ev_2025_02 PARTITION OF ev FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
CREATE TABLE ev_2025_03 PARTITION OF ev FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
CREATE TABLE ev_2025_04 PARTITION OF ev FOR VALUES FROM ('2025-04-01') TO ('2025-05-01');
CREATE TABLE ev_2025_05 PARTITION OF ev FOR VALUES FROM ('2025-05-01') TO ('2025-06-01');
CREATE TABLE ev_2025_06 PARTITION OF ev FOR VALUES FROM ('2025-06-01') TO ('2025-07-01');
INSERT INTO ev SELECT * FROM events WHERE occurred_at >= '2025-01-01' AND occurred_at < '2025-07-01';
CREATE TABLE ev_plain (LIKE events INCLUDING DEFAULTS) WITH (autovacuum_enabled = off);
INSERT INTO ev_plain SELECT * FROM ev ORDER BY occurred_at;
VACUUM ANALYZE ev, ev_plain;"""

#: 9.1/9.2: the orders of 2025, one partition per quarter.
QUARTER_STARTS = ["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"]
YEAR = ("2025-01-01", "2026-01-01")

#: 9.3: the statuses of an order, two groups.
OPEN_STATUSES = {"pending", "processing", "shipped"}
CLOSED_STATUSES = {"completed", "cancelled", "refunded"}

#: 9.4: the guide's hash example, fixed: four partitions by id, January 2025's events loaded.
HASH_MONTH = ("2025-01-01", "2025-02-01")

#: 9.5: one day's events per type, written so that no partition can be pruned.
DAY_QUERY_SLOW = ("SELECT event_type, count(*) FROM ev WHERE occurred_at::date = '2025-03-14' "
                  "GROUP BY event_type ORDER BY event_type")
DAY_REFERENCE = ("SELECT event_type, count(*) FROM events WHERE occurred_at >= '2025-03-14' "
                 "AND occurred_at < '2025-03-15' GROUP BY event_type ORDER BY event_type")
DAY_RANGE = ("2025-03-14", "2025-03-15")

#: 9.6: when is each query pruned: at plan time, at run time, or never?
PRUNING_QUERIES = {
    "a": "SELECT count(*) FROM ev WHERE occurred_at >= '2025-06-01'",
    "b": "SELECT count(*) FROM ev WHERE occurred_at >= '2025-06-15'::timestamptz - interval '14 days'",
    "c": "SELECT count(*) FROM ev WHERE date_trunc('month', occurred_at) = '2025-06-01'",
}
PRUNING_CHOICES = ("plan time", "run time", "never")

#: 9.9: one user's events, a query without the partition key.
USER_QUERY = "SELECT * FROM ev WHERE user_id = 801"


# ---- helpers -----------------------------------------------------------------------------------
@dataclass
class Partition:
    """One direct partition of a partitioned table: name, bound text (``FOR VALUES ...``), default or not."""

    name: str
    bound: str
    is_default: bool


def _regclass(table: str) -> str:
    """A table name as ``to_regclass`` takes it: a bare name is looked up in public, a qualified one as given."""
    return table if "." in table or table.startswith('"') else f"public.{table}"


def _key(ctx: CheckContext, table: str) -> tuple[str, str] | None:
    """(strategy letter r/l/h, key definition such as ``RANGE (occurred_at)``), or None if not partitioned."""
    rows = ctx.rows("SELECT partstrat::text, pg_get_partkeydef(partrelid) FROM pg_partitioned_table "
                    "WHERE partrelid = to_regclass(%s)", [_regclass(table)])
    return rows[0] if rows else None


def _partitions(ctx: CheckContext, table: str) -> list[Partition]:
    """The direct partitions of a table with their bounds as the server prints them (names as regclass
    prints them: schema-qualified when outside the search path, so that they can be queried as they are)."""
    rows = ctx.rows("""SELECT c.oid::regclass::text, pg_get_expr(c.relpartbound, c.oid)
                       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname""", [_regclass(table)])
    return [Partition(name, bound or "", bound == "DEFAULT") for name, bound in rows]


def _require_partitioned(ctx: CheckContext, table: str, strategy: str, column: str, how: str) -> None:
    """Fail unless ``table`` exists and is partitioned with ``strategy`` on exactly ``column``."""
    ctx.expect(ctx.table_exists(table), f"there is no table {table} yet",
               f"CREATE TABLE {table} (...) PARTITION BY {how} ({column})")
    key = _key(ctx, table)
    ctx.expect(key is not None, f"{table} is a plain table, not a partitioned one",
               f"drop it and create it with PARTITION BY {how} ({column})")
    words = {"r": "RANGE", "l": "LIST", "h": "HASH"}
    ctx.expect(key[0] == strategy, f"{table} is partitioned by {words.get(key[0], key[0])}, not by {how}",
               f"PARTITION BY {how} ({column})")
    ctx.expect(key[1].upper() == f"{how} ({column.upper()})",
               f"{table} is partitioned on {key[1].split('(', 1)[1].rstrip(')')}, not on {column}",
               f"PARTITION BY {how} ({column})")


_INFINITE = {"MINVALUE": datetime.min, "MAXVALUE": datetime.max}


def _range_bounds(ctx: CheckContext, partitions: list[Partition]) -> list[tuple[datetime, datetime, str]]:
    """(lower, upper, name) of each non-default range partition, as timestamps (UTC), sorted."""
    out = []
    for p in partitions:
        if p.is_default:
            continue
        match = re.fullmatch(r"FOR VALUES FROM \((.+)\) TO \((.+)\)", p.bound)
        if match is None:
            continue
        ends = []
        for literal in match.groups():
            literal = literal.strip()
            if literal.upper() in _INFINITE:
                ends.append(_INFINITE[literal.upper()])
            else:
                value = ctx.value("SELECT (%s::timestamptz AT TIME ZONE 'UTC')", [literal.strip("'")])
                ends.append(value)
        out.append((ends[0], ends[1], p.name))
    return sorted(out)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _show(moment: datetime) -> str:
    if moment in (datetime.min, datetime.max):
        return "MINVALUE" if moment == datetime.min else "MAXVALUE"
    return moment.strftime("%Y-%m-%d") if moment.time() == datetime.min.time() else moment.isoformat(" ")


def _cover_exactly(ctx: CheckContext, table: str, bounds: list[tuple[datetime, datetime, str]],
                   starts: list[str], end: str) -> None:
    """Fail unless the partitions inside [starts[0], end) are exactly one per interval [starts[i], starts[i+1])."""
    edges = [_day(s) for s in starts] + [_day(end)]
    wanted = list(zip(edges, edges[1:]))
    inside = [(lo, hi, name) for lo, hi, name in bounds if hi > edges[0] and lo < edges[-1]]
    for lo, hi, name in inside:
        if (lo, hi) not in wanted:
            ctx.fail(f"partition {name} holds {_show(lo)} to {_show(hi)}, which is not one quarter of "
                     f"{_show(edges[0])} to {_show(edges[-1])}",
                     "one partition per quarter: FROM ('2025-01-01') TO ('2025-04-01'), then April to July, ...")
    covered = {(lo, hi) for lo, hi, _ in inside}
    missing = [(lo, hi) for lo, hi in wanted if (lo, hi) not in covered]
    if missing:
        gaps = ", ".join(f"{_show(lo)} to {_show(hi)}" for lo, hi in missing)
        ctx.fail(f"no partition of {table} holds {gaps}: a row of that time has no home (a gap)",
                 "create a partition FOR VALUES FROM (start) TO (end) for every quarter; the upper bound is "
                 "exclusive, so one quarter's TO is the next quarter's FROM")


def _split_wide(ctx: CheckContext, bounds: list[tuple[datetime, datetime, str]], starts: list[str],
                end: str) -> list[tuple[datetime, datetime, str]]:
    """Replace a partition that spans several of the wanted intervals, and is itself partitioned by range on
    the same key, by its own partitions (recursively): a year sub-partitioned by quarter has one leaf per quarter."""
    edges = [_day(s) for s in starts] + [_day(end)]
    wanted = set(zip(edges, edges[1:]))
    out = []
    for lo, hi, name in bounds:
        key = _key(ctx, name)
        if (lo, hi) not in wanted and key is not None and key[0] == "r" and key[1] == _key(ctx, "orders_2025")[1]:
            out += _split_wide(ctx, _range_bounds(ctx, _partitions(ctx, name)), starts, end)
        else:
            out.append((lo, hi, name))
    return sorted(out)


def _same_rows_count(ctx: CheckContext, source: str, target: str, where: str, params: list) -> int:
    """How many rows of ``source`` (filtered by ``where``) are not in ``target`` with the same values in every
    column of ``source`` (compared as text, so that a column declared with another type compares too)."""
    columns = ctx.columns(source)
    listed = ", ".join(f"{c}::text" for c in columns)
    return ctx.value(f"SELECT count(*) FROM (SELECT {listed} FROM {source} WHERE {where} "
                     f"EXCEPT ALL SELECT {listed} FROM {target}) AS d", params)


def _scanned(plan: Plan) -> list[str]:
    """The relations a plan reads (one entry per scan node)."""
    return [n.relation for n in plan.nodes() if n.relation]


def _leaves(ctx: CheckContext, table: str) -> list[str]:
    """The leaf partitions of a partitioned table (whatever the depth)."""
    return [r[0] for r in ctx.rows("SELECT relid::regclass::text FROM pg_partition_tree(to_regclass(%s)) "
                                   "WHERE isleaf ORDER BY 1", [f"public.{table}"])]


def _subplans_removed(plan: Plan) -> int:
    return sum(int(n.raw.get("Subplans Removed", 0)) for n in plan.nodes())


def _require_ev(ctx: CheckContext) -> None:
    ctx.expect(ctx.table_exists("ev") and _key(ctx, "ev") is not None,
               "there is no partitioned table ev: the chapter's set-up cell has not run",
               "run the set-up cell of section 1 (CREATE TABLE ev ... PARTITION BY RANGE (occurred_at)) first")


# ---- 9.1 range partitions by quarter: the catalog ------------------------------------------------
@exercise("9.1", "Range partitions of 2025's orders, one per quarter")
def quarters(ctx: CheckContext) -> str:
    """Parts of the task: (1) a table orders_2025, partitioned by RANGE on created_at; (2) one partition
    for each quarter of 2025 (bounds 2025-01-01, 04-01, 07-01, 10-01, 2026-01-01: no gap, no overlap,
    no partition spanning two quarters); (3) it has the columns of orders. Any partition names and
    spellings of the bounds pass; partitions outside 2025, a default partition and sub-partitions are allowed."""
    _require_partitioned(ctx, "orders_2025", "r", "created_at", "RANGE")
    bounds = _split_wide(ctx, _range_bounds(ctx, _partitions(ctx, "orders_2025")), QUARTER_STARTS, YEAR[1])
    _cover_exactly(ctx, "orders_2025", bounds, QUARTER_STARTS, YEAR[1])
    missing = sorted(set(ctx.columns("orders")) - set(ctx.columns("orders_2025")))
    ctx.expect(not missing, f"orders_2025 lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} of orders",
               "CREATE TABLE orders_2025 (LIKE orders) PARTITION BY RANGE (created_at)")
    return "orders_2025 has one partition per quarter of 2025, with no gap and no overlap"


# ---- 9.2 the rows: all there, each in its quarter ------------------------------------------------
@exercise("9.2", "Every order of 2025 in its quarter")
def quarters_loaded(ctx: CheckContext) -> str:
    """Parts of the task: (1) every order of 2025 is in orders_2025 (same id and created_at), once,
    with the same values in every column; (2) no other order is; (3) each quarter's partition holds exactly that quarter's orders (none
    left in a default partition). Part 3 is what the server's routing guarantees once 9.1's layout
    holds; it is counted anyway, so that the message can name a partition."""
    quarters(ctx)
    expected = ctx.value("SELECT count(*) FROM orders WHERE created_at >= %s AND created_at < %s", list(YEAR))
    got = ctx.value("SELECT count(*) FROM orders_2025")
    missing = ctx.value("""SELECT count(*) FROM orders o WHERE o.created_at >= %s AND o.created_at < %s
                           AND NOT EXISTS (SELECT FROM orders_2025 p WHERE p.id = o.id AND p.created_at = o.created_at)""",
                        list(YEAR))
    ctx.expect(got, "orders_2025 is empty", "INSERT INTO orders_2025 SELECT * FROM orders WHERE created_at >= ... AND created_at < ...")
    ctx.expect(missing == 0, f"{missing:,} of the {expected:,} orders of 2025 are not in orders_2025",
               "copy every order with created_at >= '2025-01-01' AND created_at < '2026-01-01'")
    outside = ctx.value("SELECT count(*) FROM orders_2025 WHERE NOT (created_at >= %s AND created_at < %s)", list(YEAR))
    ctx.expect(outside == 0, f"orders_2025 also holds {outside:,} orders that are not of 2025",
               "2025 only: the upper bound '2026-01-01' is exclusive")
    ctx.expect(got == expected, f"orders_2025 holds {got:,} rows for {expected:,} orders of 2025: some are there twice",
               "empty it (TRUNCATE orders_2025) and copy the orders once")
    changed = _same_rows_count(ctx, "orders", "orders_2025", "created_at >= %s AND created_at < %s", list(YEAR))
    ctx.expect(changed == 0, f"{changed:,} orders of 2025 are in orders_2025 with other values than in orders",
               "copy the rows unchanged: INSERT INTO orders_2025 SELECT * FROM orders WHERE ...")
    per_partition = dict(ctx.rows("SELECT tableoid::regclass::text, count(*) FROM orders_2025 GROUP BY 1"))
    bounds = _range_bounds(ctx, _partitions(ctx, "orders_2025"))
    for lo, hi, name in bounds:
        if lo >= _day(YEAR[0]) and hi <= _day(YEAR[1]):
            want = ctx.value("SELECT count(*) FROM orders WHERE created_at >= %s AND created_at < %s", [lo, hi])
            have = ctx.value(f"SELECT count(*) FROM {name}")
            ctx.expect(have == want, f"partition {name} holds {have:,} orders; {want:,} orders fall in "
                                     f"{_show(lo)} to {_show(hi)}", "each order goes to the partition of its quarter")
    defaults = [p.name for p in _partitions(ctx, "orders_2025") if p.is_default]
    stray = sum(per_partition.get(d, 0) for d in defaults)
    ctx.expect(stray == 0, f"{stray:,} orders are in the default partition instead of their quarter's",
               "a quarter without its own partition sends its rows to the default")
    return f"all {expected:,} orders of 2025 are in orders_2025, each in its quarter's partition"


# ---- 9.3 list partitions ---------------------------------------------------------------------------
@exercise("9.3", "List partitions: open and finished orders")
def by_status(ctx: CheckContext) -> str:
    """Parts of the task: (1) a table orders_by_status partitioned by LIST on status; (2) one partition
    holds exactly pending, processing, shipped; (3) another exactly completed, cancelled, refunded;
    (4) no default partition and no other partition (a status outside the six is refused).
    Any names; sub-partitions allowed."""
    _require_partitioned(ctx, "orders_by_status", "l", "status", "LIST")
    parts = _partitions(ctx, "orders_by_status")
    defaults = [p.name for p in parts if p.is_default]
    ctx.expect(not defaults, f"{defaults[0] if defaults else ''} is a default partition: a status outside the six "
                             "would be accepted there", "no DEFAULT partition: an unknown status must be refused")
    groups = {}
    for p in parts:
        values = set(re.findall(r"'((?:[^']|'')*)'", p.bound))
        groups[p.name] = values
    for wanted, label in ((OPEN_STATUSES, "open"), (CLOSED_STATUSES, "finished")):
        exact = [name for name, values in groups.items() if values == wanted]
        if not exact:
            holders = {s: name for name, values in groups.items() for s in values}
            homeless = sorted(wanted - holders.keys())
            if homeless:
                ctx.fail(f"no partition holds the {label} status{'es' if len(homeless) > 1 else ''} "
                         f"{', '.join(homeless)}", f"FOR VALUES IN ({', '.join(repr(s) for s in sorted(wanted))})")
            split = sorted({holders[s] for s in wanted})
            if len(split) == 1:
                extra = sorted(groups[split[0]] - wanted)
                ctx.fail(f"partition {split[0]} holds the {label} statuses and also {', '.join(extra)}",
                         f"exactly FOR VALUES IN ({', '.join(repr(s) for s in sorted(wanted))}): any other status is refused")
            ctx.fail(f"the {label} statuses ({', '.join(sorted(wanted))}) are not together in one partition: "
                     f"{', '.join(split)}", f"one partition FOR VALUES IN ({', '.join(repr(s) for s in sorted(wanted))})")
    extra = {name: values for name, values in groups.items() if values not in (OPEN_STATUSES, CLOSED_STATUSES)}
    ctx.expect(not extra, f"partition {next(iter(extra), '')} holds {', '.join(sorted(next(iter(extra.values()), [])))}, "
                          "which is neither group", "two partitions only: the open statuses and the finished ones")
    return "orders_by_status: one partition for the open statuses, one for the finished ones, no default"


# ---- 9.4 hash partitions, every remainder --------------------------------------------------------
@exercise("9.4", "The guide's hash partitions, fixed")
def hash_fixed(ctx: CheckContext) -> str:
    """Parts of the task: (1) a table events_by_id partitioned by HASH on id; (2) four partitions
    (3) that together take every hash value exactly once (every remainder of the moduli; mixed moduli
    such as 2 and 4 that cover everything pass); (4) it holds every event of January 2025, once, unchanged,
    and nothing else."""
    _require_partitioned(ctx, "events_by_id", "h", "id", "HASH")
    parts = _partitions(ctx, "events_by_id")
    specs = []
    for p in parts:
        match = re.search(r"modulus (\d+), remainder (\d+)", p.bound)
        if match:
            specs.append((int(match.group(1)), int(match.group(2)), p.name))
    ctx.expect(len(specs) == 4, f"events_by_id has {len(specs)} partition{'s' if len(specs) != 1 else ''}; the task asks for 4",
               "FOR VALUES WITH (MODULUS 4, REMAINDER r) for r = 0, 1, 2, 3")
    largest = max(m for m, _, _ in specs)
    homeless = [r for r in range(largest) if not any(r % m == rem for m, rem, _ in specs)]
    ctx.expect(not homeless, f"no partition takes the hash values with remainder {', '.join(map(str, homeless))} "
                             f"(modulus {largest}): a row whose id hashes there has no home",
               "the guide's mistake: every remainder from 0 to MODULUS - 1 needs a partition")
    expected = ctx.value("SELECT count(*) FROM events WHERE occurred_at >= %s AND occurred_at < %s", list(HASH_MONTH))
    got = ctx.value("SELECT count(*) FROM events_by_id")
    missing = ctx.value("""SELECT count(*) FROM events e WHERE e.occurred_at >= %s AND e.occurred_at < %s
                           AND NOT EXISTS (SELECT FROM events_by_id h WHERE h.id = e.id)""", list(HASH_MONTH))
    ctx.expect(missing == 0, f"{missing:,} of the {expected:,} events of January 2025 are not in events_by_id",
               "INSERT INTO events_by_id SELECT * FROM events WHERE occurred_at >= '2025-01-01' AND occurred_at < '2025-02-01'")
    ctx.expect(got == expected, f"events_by_id holds {got:,} rows; January 2025 has {expected:,} events",
               "January 2025 only, each event once")
    changed = _same_rows_count(ctx, "events", "events_by_id", "occurred_at >= %s AND occurred_at < %s", list(HASH_MONTH))
    ctx.expect(changed == 0, f"{changed:,} events of January 2025 are in events_by_id with other values than in events",
               "copy the rows unchanged: INSERT INTO events_by_id SELECT * FROM events WHERE ...")
    return f"events_by_id: every hash value has a partition; all {expected:,} events of January 2025 are in"


# ---- 9.5 a query that prunes -------------------------------------------------------------------
@exercise("9.5", "One day's events, reading one partition")
def one_day(ctx: CheckContext) -> str:
    """Parts of the task: (1) the query returns each event type with its number of events on 14 March
    2025 (same rows as the reference); (2) it reads ev, not a partition by name (with the day's partition
    detached from ev in a rolled-back transaction, it returns nothing); (3) its plan scans only the partitions that
    can hold that day (those a plain range condition on occurred_at keeps)."""
    _require_ev(ctx)
    answer = ctx.answer().sql
    ctx.same_rows(answer, DAY_REFERENCE)
    leaves = set(_leaves(ctx, "ev"))
    scanned = [r for r in _scanned(ctx.explain(answer)) if r in leaves or r in ("ev", "ev_plain", "events")]
    ctx.expect(any(r in leaves for r in scanned), "your query does not read the partitioned table ev",
               "ask ev: SELECT event_type, count(*) FROM ev WHERE ... GROUP BY event_type")
    needed = {r for r in _scanned(ctx.explain(f"SELECT FROM ev WHERE occurred_at >= '{DAY_RANGE[0]}' "
                                              f"AND occurred_at < '{DAY_RANGE[1]}'"))}
    extra = sorted({r for r in scanned if r in leaves} - needed)
    ctx.expect(not extra, f"your query scans {len(set(scanned))} partitions of ev ({', '.join(sorted(set(scanned)))}); "
                          f"only {', '.join(sorted(needed))} can hold 14 March",
               "compare the partition key itself with constants (occurred_at >= ... AND occurred_at < ...): "
               "a function or cast of occurred_at hides it from pruning")
    with ctx.learner.transaction(force_rollback=True):  # without its partitions, a query on ev finds nothing
        for name in sorted(needed):
            ctx.learner.execute(f"ALTER TABLE ev DETACH PARTITION {name}")
        still = ctx.learner.execute(answer).fetchall()
    ctx.expect(not still, f"your query reads {', '.join(sorted(needed))} itself, not ev: it still returns the day's "
                          "rows with that partition detached from ev",
               "ask the parent, FROM ev, and let the server pick the partition")
    return f"the day's counts are right and the plan reads {', '.join(sorted(needed))} only"


# ---- 9.6 predict when pruning happens ----------------------------------------------------------------
def pruning_kind(plan: Plan, leaves: set[str]) -> str:
    """"run time" if the executor removed subplans, "plan time" if the plan skips partitions, else "never"."""
    if _subplans_removed(plan):
        return "run time"
    scanned = {r for r in _scanned(plan) if r in leaves}
    return "plan time" if len(scanned) < len(leaves) else "never"


@exercise("9.6", "Predict: pruned at plan time, at run time, or never")
def predict_pruning(ctx: CheckContext) -> str:
    """Parts of the task: for each of a, b, c a prediction among "plan time", "run time", "never", equal
    to what EXPLAIN of the query on ev shows (Subplans Removed: run time; fewer partitions in the plan:
    plan time; all of them: never)."""
    _require_ev(ctx)
    saved = ctx.saved_value()
    ctx.expect(isinstance(saved, dict), f"save a dict of three predictions, not {saved!r}",
               'pgcourse.answer("9.6", {"a": "plan time", "b": ..., "c": ...})')
    leaves = set(_leaves(ctx, "ev"))
    wrong = []
    for key, query in PRUNING_QUERIES.items():
        said = str(saved.get(key, "")).strip().lower()
        ctx.expect(said in PRUNING_CHOICES, f"the prediction for {key} is {saved.get(key)!r}, not one of "
                                            f"{', '.join(map(repr, PRUNING_CHOICES))}", "pick one of the three")
        real = pruning_kind(ctx.explain(query), leaves)
        if said != real:
            wrong.append(f"{key}: you said {said!r}, EXPLAIN shows {real!r}")
    ctx.expect(not wrong, "; ".join(wrong),
               "only an immutable expression can be evaluated by the planner; a stable one (a timestamptz "
               "computed with a time zone) waits for the executor; a function of the key hides it")
    return "all three predictions match the plans"


# ---- 9.7 the primary key of a partitioned table ------------------------------------------------------
@exercise("9.7", "A primary key for ev")
def primary_key(ctx: CheckContext) -> str:
    """Parts of the task: (1) ev has a primary key; (2) its columns are id and occurred_at (either order)
    and nothing else; (3) a second copy of an existing event is refused."""
    _require_ev(ctx)
    pk = [c for c in ctx.constraints("ev") if c["type"] == "p"]
    ctx.expect(pk, "ev has no primary key",
               "ALTER TABLE ev ADD PRIMARY KEY (...): which columns must a key of a partitioned table include?")
    columns = ctx.rows("""SELECT a.attname FROM pg_constraint c JOIN pg_attribute a
                          ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
                          WHERE c.conrelid = 'public.ev'::regclass AND c.contype = 'p'""")
    names = {r[0] for r in columns}
    ctx.expect("id" in names, f"the primary key of ev is {pk[0]['definition']}: it does not identify an event by its id",
               "PRIMARY KEY (id, occurred_at)")
    ctx.expect(names == {"id", "occurred_at"}, f"the primary key of ev is {pk[0]['definition']}: "
                                               "with more columns than (id, occurred_at), two rows with the same id "
                                               "and time could both get in",
               "PRIMARY KEY (id, occurred_at): the id, plus the partition key the server requires")
    with ctx.learner.transaction(force_rollback=True):
        error = attempt(ctx.learner, "INSERT INTO ev SELECT * FROM ev WHERE occurred_at >= "
                                     "(SELECT max(occurred_at) FROM ev) LIMIT 1")
    ctx.expect(error is not None and "duplicate key" in first_line(error),
               "a second copy of an event went into ev" + (f" ({first_line(error)})" if error else ""),
               "the key must be enforced: ADD PRIMARY KEY (id, occurred_at)")
    return f"ev's primary key is {pk[0]['definition']}; a duplicate event is refused"


# ---- 9.8 retention by dropping a partition -----------------------------------------------------------
@exercise("9.8", "Retention: February goes, by partition")
def drop_february(ctx: CheckContext) -> str:
    """Parts of the task: (1) ev holds no event of February 2025; (2) no partition of ev covers February
    any more (detached or dropped, not emptied by DELETE); (3) the table ev_2025_02 is gone (dropped,
    not left detached, nor kept under another name: no plain table other than events and ev_plain holds
    February's events); (4) every event of March to June 2025 is still in ev."""
    _require_ev(ctx)
    feb = ("2025-02-01", "2025-03-01")
    leaves = set(_leaves(ctx, "ev"))
    covering = sorted(r for r in _scanned(ctx.explain(f"SELECT FROM ev WHERE occurred_at >= '{feb[0]}' "
                                                      f"AND occurred_at < '{feb[1]}'")) if r in leaves)
    left = ctx.value("SELECT count(*) FROM ev WHERE occurred_at >= %s AND occurred_at < %s", list(feb))
    ctx.expect(left == 0, f"ev still holds {left:,} events of February 2025",
               "ALTER TABLE ev DETACH PARTITION ev_2025_02 CONCURRENTLY; then DROP TABLE ev_2025_02")
    default = [p.name for p in _partitions(ctx, "ev") if p.is_default]
    covering = [r for r in covering if r not in default]
    ctx.expect(not covering, f"{', '.join(covering)} still covers February in ev, empty: a DELETE leaves the "
                             "partition (and its dead rows) behind",
               "retention by partition: DETACH PARTITION, then DROP TABLE")
    ctx.expect(not ctx.table_exists("ev_2025_02"),
               "ev_2025_02 is detached but still there, holding February's rows and its disk space",
               "DROP TABLE ev_2025_02")
    for (table,) in ctx.rows("""SELECT c.oid::regclass::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                               WHERE c.relkind = 'r' AND NOT c.relispartition AND a.attname = 'occurred_at'
                                 AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                                 AND c.oid NOT IN ('public.events'::regclass, coalesce(to_regclass('public.ev_plain'), 0))
                               ORDER BY 1"""):
        held = ctx.value(f"SELECT count(*) FROM {table} WHERE occurred_at >= %s AND occurred_at < %s", list(feb))
        ctx.expect(held == 0, f"{table} holds {held:,} events of February 2025: the detached partition is still there, "
                              "under another name, with its disk space", f"DROP TABLE {table}")
    for month in ("2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"):
        want, have = ctx.rows(
            """SELECT (SELECT count(*) FROM events WHERE occurred_at >= %(m)s::timestamptz
                                                     AND occurred_at < %(m)s::timestamptz + interval '1 month'),
                      (SELECT count(*) FROM ev WHERE occurred_at >= %(m)s::timestamptz
                                                 AND occurred_at < %(m)s::timestamptz + interval '1 month')""",
            {"m": month})[0]
        ctx.expect(have >= want, f"ev holds {have:,} events of {month[:7]}, but {want:,} were there",
                   "only February goes: restore the other months (run section 1's set-up again, then redo the sections)")
    return "February 2025 is gone from ev with its partition; March to June are intact"


# ---- 9.9 predict: a query without the key ------------------------------------------------------------
@exercise("9.9", "Predict: how many partitions does a lookup by user read?")
def predict_partitions_read(ctx: CheckContext) -> str:
    """Parts of the task: the saved number equals the number of partitions of ev that the plan of
    USER_QUERY scans, as ev is now."""
    _require_ev(ctx)
    said = ctx.predicted_number()
    leaves = set(_leaves(ctx, "ev"))
    real = len({r for r in _scanned(ctx.explain(USER_QUERY)) if r in leaves})
    ctx.expect(said == real, f"you predicted {said}; the plan of the lookup scans {real} partitions of ev "
                             f"(ev has {len(leaves)})",
               "without the partition key in the WHERE, nothing tells PostgreSQL which partitions to skip")
    return f"the lookup by user reads all {real} partitions of ev"
