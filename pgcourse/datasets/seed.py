"""Seeding a size into its template database, and the template's lifecycle.

A size is seeded into ``pgcourse_<size>__building``; only after every table is loaded, indexed,
vacuumed and checksummed is it renamed to ``pgcourse_<size>``, flagged as a template and given
its completion marker (a JSON comment with the data version and checksums), in one transaction.
So an interrupted seed leaves at most a ``__building`` database, which the next run drops:
nothing half-built ever looks complete. An advisory lock keeps two seeders of one size apart.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from ..errors import DatasetError
from ..server import Server
from . import copybin, manifest, portable, reporting, schema, statistics
from .sizes import SIZES, check_size, template_name
from .tables import TableLoad, all_loads
from .world import World

MARKER_KEY = "pgcourse_dataset"


def building_name(size: str) -> str:
    return f"{template_name(size)}__building"


#: The largest statistics target: ANALYZE then reads up to 3,000,000 rows per table.
FULL_SAMPLE_TARGET = 10000

#: Columns analyzed from a random sample (default target): a whole-table sort of them is too slow.
SAMPLED_COLUMNS: dict[str, tuple[str, ...]] = {"events": ("payload",)}


def data_version() -> str:
    """A hash of everything that decides the rows: schema SQL, generator code, numpy's version.

    A template seeded by another version is stale and gets rebuilt by :func:`ensure`.
    """
    h = hashlib.sha256(schema.sources().encode())
    here = Path(__file__).parent
    for path in sorted([*here.glob("tables/*.py"), *(here / n for n in ("copybin.py", "world.py", "words.py", "timeline.py", "sizes.py", "seed.py", "statistics.py"))]):  # seed.py: how stats are taken
        h.update(path.read_bytes())
    h.update(np.__version__.encode())
    for size in SIZES:  # restored statistics: new ones rebuild the template
        h.update(statistics.file_hash(size).encode())
    return h.hexdigest()[:16]


@dataclass
class TableTiming:
    rows: int  # as the server counted them (COPY's command tag)
    seconds: float
    stream: str = ""  # a hash of the binary COPY bytes sent (see manifest.stream_digest)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class SeedReport:
    """What :func:`ensure` did. ``seeded`` is False when the template was already complete."""

    size: str
    template: str
    seeded: bool
    rows: dict[str, int]
    seconds: float = 0.0
    tables: dict[str, TableTiming] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # load, constraints, vacuum, statistics, foreign keys...
    manifest_differences: list[str] = field(default_factory=list)
    #: one line per optional part skipped (an untrusted extension the role could not create)
    notes: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0

    @property
    def matches_manifest(self) -> bool:
        return not self.manifest_differences

    def summary(self) -> str:
        if not self.seeded:
            return f"{self.template} is already seeded ({self.total_rows:,} rows); nothing to do"
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
        return (f"seeded {self.template}: {self.total_rows:,} rows in {self.seconds:.1f} s "
                f"({self.rows_per_second / 1e6:.2f} M rows/s; {phases})")


def read_marker(conn: psycopg.Connection, dbname: str) -> dict | None:
    """The completion marker of a template database, or None (absent, half-built, or foreign)."""
    row = conn.execute("SELECT datistemplate, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                       [dbname]).fetchone()
    if row is None or not row[0] or not row[1]:
        return None
    try:
        marker = json.loads(row[1])
    except json.JSONDecodeError:
        return None
    return marker if isinstance(marker, dict) and MARKER_KEY in marker else None


def is_seeded(server: Server, size: str) -> bool:
    """True when ``pgcourse_<size>`` exists, was completed, and by this version of the data."""
    with server.connect() as conn:
        marker = read_marker(conn, template_name(size))
    return marker is not None and marker.get("data_version") == data_version()


def _drop(conn: psycopg.Connection, dbname: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
    if exists:
        conn.execute(f'ALTER DATABASE "{dbname}" IS_TEMPLATE false')
        conn.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')


def _lock_key(size: str) -> int:
    return int.from_bytes(hashlib.sha256(f"pgcourse-seed-{size}".encode()).digest()[:8], "big", signed=True)


#: Where the seed in progress reports its tables and phases (see :func:`ensure` and :mod:`.reporting`).
_reporter = reporting.Reporter()


def _note(message: str) -> None:
    """One progress line: seeding takes seconds (small) to minutes (large) and must not look stuck."""
    _reporter.note(message)


def _load_table(conn: psycopg.Connection, load: TableLoad, ddl: str) -> TableTiming:
    """CREATE TABLE and COPY FREEZE in one transaction: no WAL-heavy hint-bit rewrite later.

    The bytes sent are hashed on the way (sha256 releases the GIL: it overlaps the server's work),
    so the data is checked against the manifest without reading it back.
    """
    started = time.perf_counter()
    digest = manifest.stream_hash()
    with conn.transaction():
        conn.execute(ddl)
        # no autovacuum while the seed works on the table (its VACUUM or ANALYZE would take locks the
        # index builds wait for, and CPU); reset by build() at the end
        conn.execute(f"ALTER TABLE {load.table} SET (autovacuum_enabled = off)")
        with conn.cursor() as cur:
            with cur.copy(f"COPY {load.table} ({', '.join(load.columns)}) FROM STDIN (FORMAT BINARY, FREEZE)") as cp:
                cp.write(copybin.HEADER)
                for n, data in load.chunks():
                    cp.write(data)
                    digest.update(data)
                    _reporter.rows_loaded(n)
                cp.write(copybin.TRAILER)
            rows = cur.rowcount  # the server's count (COPY n)
        if "id" in load.columns and load.table not in ("user_stats",):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{load.table}', 'id'), %s, true)", [max(rows, 1)])
    seconds = time.perf_counter() - started
    _note(f"{load.table} loaded: {rows:,} rows in {seconds:.1f} s")
    return TableTiming(rows, seconds, manifest.stream_digest(digest))


#: two connections: the machine has two cores, and while one backend parses COPY data the
#: other table's rows are being generated
WORKERS = 2


def _load_all(server: Server, dbname: str, loads: list[TableLoad], ddl: dict[str, str]) -> dict[str, TableTiming]:
    """Load every table, the biggest first, on WORKERS connections.

    Threads, not processes: generating holds the GIL most of the time, but the two backends parsing
    COPY take the rest of the two cores (measured: forked loaders took as long, for more CPU).
    """
    biggest_first = sorted(loads, key=lambda l: -l.estimate)
    return dict(_in_parallel(server, dbname, biggest_first, lambda conn, l: (l.table, _load_table(conn, l, ddl[l.table]))))


def _in_parallel(server: Server, dbname: str, jobs: list, run) -> list:
    """Run ``run(conn, job)`` for each job on WORKERS connections; results in job order."""
    import queue
    from concurrent.futures import ThreadPoolExecutor, wait

    conns: queue.SimpleQueue = queue.SimpleQueue()
    opened = []
    for _ in range(min(WORKERS, len(jobs)) or 1):
        conn = server.connect(dbname)
        conn.execute("SET synchronous_commit = off")
        opened.append(conn)
        conns.put(conn)

    def task(job):
        conn = conns.get()
        try:
            return run(conn, job)
        finally:
            conns.put(conn)

    try:
        with ThreadPoolExecutor(len(opened)) as pool:
            futures = [pool.submit(task, job) for job in jobs]
            while wait(futures, timeout=0.25).not_done:
                _reporter.flush()  # the workers' lines, written by this (the seed's) thread
            _reporter.flush()
            return [f.result() for f in futures]
    finally:
        for conn in opened:
            conn.close()


def build(server: Server, dbname: str, size: str, notes: list[str] | None = None, *,
          compute_statistics: bool = False) -> tuple[dict[str, TableTiming], dict[str, float]]:
    """Create the tables of ``size`` in the existing empty database ``dbname``: load, keys and indexes,
    vacuum, statistics, foreign keys.

    The statistics are restored from ``datasets/statistics/<size>.json.gz`` when it exists and
    ``compute_statistics`` is False; otherwise ANALYZE computes them (the maintainer's way).
    The optional (untrusted) extensions are created where the role may; ``notes`` gets a line for each skipped.
    """
    from ..extensions import create_optional

    world = World(size)
    ddl = schema.table_sql()
    loads = all_loads(world)
    missing = {l.table for l in loads} ^ set(ddl)
    if missing:
        raise DatasetError(f"datasets/schema/tables.sql and the generators disagree on {sorted(missing)}.\n  what to do: add a `-- table:` section or a generator.")
    with server.connect(dbname) as conn:
        skipped = create_optional(conn)
        conn.execute(schema.setup_sql())
    if notes is not None:
        notes += skipped
    _reporter.total = sum(l.estimate for l in loads)
    _note(f"loading {len(loads)} tables of the {size} dataset ({_reporter.total / 1e6:.1f} M rows) ...")
    t0 = time.perf_counter()
    done = _load_all(server, dbname, loads, ddl)
    timings = {l.table: done[l.table] for l in loads}
    t1 = time.perf_counter()
    # the stored statistics are read and parsed meanwhile: this process waits on the server from now
    from concurrent.futures import ThreadPoolExecutor

    reader = ThreadPoolExecutor(1)
    reading = None if compute_statistics else reader.submit(_read_statistics, size)
    statements = schema.constraint_statements()
    keys = [s for s in statements if "FOREIGN KEY" not in s]
    foreign = [s for s in statements if "FOREIGN KEY" in s]
    _note(f"adding {len(keys)} keys, constraints and indexes ...")
    _in_parallel(server, dbname, _largest_tables_first(keys, timings), lambda conn, statement: conn.execute(statement))
    t2 = time.perf_counter()
    _note("VACUUM ...")
    with server.connect(dbname) as conn:
        conn.execute("VACUUM")
    t3 = time.perf_counter()
    stored, as_json = reading.result() if reading else (None, None)
    reader.shutdown()
    sent = {t: v.stream for t, v in timings.items()}
    if stored is not None and stored.get("streams") != sent:  # taken from other data: not these rows' statistics
        if notes is not None:
            notes.append(f"{statistics.path(size).name} was recorded from other data than the generators give now: "
                         "statistics computed by ANALYZE (maintainers: python -m pgcourse.datasets.tools manifest "
                         f"{size})")
        stored = None
    if stored is not None:
        _note("planner statistics restored from datasets/statistics ...")
        with server.connect(dbname) as conn:
            statistics.restore(conn, stored, as_json)
    else:
        _note("statistics from whole tables (ANALYZE) ...")
        sampled, whole = _statistics_jobs(server, dbname)
        with server.connect(dbname) as conn:
            for statement in sampled:  # first: the whole-table pass after it sets the row counts
                conn.execute(statement)
        _in_parallel(server, dbname, whole, lambda conn, statement: conn.execute(statement))
    t4 = time.perf_counter()
    # after the statistics: each key is validated by one anti-join, which with them can be a merge of
    # two index-only scans instead of a hash join (small's twelve keys: 1.3 s of CPU instead of 1.6 s)
    _note(f"adding {len(foreign)} foreign keys ...")
    _in_parallel(server, dbname, _largest_tables_first(foreign, timings), lambda conn, statement: conn.execute(statement))
    with server.connect(dbname) as conn:  # the tables' options as tables.sql wrote them
        conn.execute("; ".join(f"ALTER TABLE {l.table} RESET (autovacuum_enabled)" for l in loads))
    t5 = time.perf_counter()
    return timings, {"load": t1 - t0, "constraints": t2 - t1, "vacuum": t3 - t2, "statistics": t4 - t3,
                     "foreign keys": t5 - t4}


def _read_statistics(size: str) -> tuple[dict | None, tuple[str, str] | None]:
    """The stored statistics of ``size`` and the JSON :func:`statistics.restore` sends (None, None: none)."""
    stored = statistics.load(size)
    return (stored, statistics.to_json(stored)) if stored is not None else (None, None)


def _table_of(statement: str) -> str:
    words = statement.replace("(", " ").split()
    return words[words.index("ON") + 1] if "INDEX" in words[:3] else words[2]


def _largest_tables_first(statements: list[str], timings: dict[str, TableTiming]) -> list[str]:
    """Statements ordered so the two connections stay busy: biggest tables first, and the
    statements of one table spread apart (ADD PRIMARY KEY locks its table: a second connection
    building the same table's index would wait)."""
    rank: dict[str, int] = {}
    keyed = []
    for i, statement in enumerate(statements):
        table = _table_of(statement)
        rank[table] = rank.get(table, -1) + 1
        keyed.append((rank[table], -(timings[table].rows if table in timings else 0), i, statement))
    return [k[-1] for k in sorted(keyed)]


def _statistics_jobs(server: Server, dbname: str) -> tuple[list[str], list[str]]:
    """ANALYZE statements that read whole tables, so the statistics are the same on every machine.

    ANALYZE samples 300 x target rows at random: a fresh seed gave orders.total_amount a
    correlation of -0.002 where another said 0.009, and close-call plans can flip with that.
    At the maximum target the sample is the whole table (up to 3M rows: every table of tiny and
    small). Columns in :data:`SAMPLED_COLUMNS` keep the default, randomly sampled target: their
    full sort costs more than the rest of the seed (events.payload: 10 s of 18). They are
    analyzed first, so the whole-table pass that follows sets the row counts.
    """
    with server.connect(dbname) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
            "ORDER BY relpages DESC, relname")]
        columns = {t: [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum", [f"public.{t}"])] for t in tables}
    def analyze(target: str, table: str, cols: list[str] | tuple[str, ...]) -> str:
        quoted = ", ".join(f'"{c}"' for c in cols)
        return f'SET default_statistics_target = {target}; ANALYZE "{table}" ({quoted})'

    sampled = [analyze("DEFAULT", t, cols) for t, cols in SAMPLED_COLUMNS.items() if t in columns]
    # a column list skips expression-index statistics (users' lower(email)): only where needed
    whole = [analyze(str(FULL_SAMPLE_TARGET), t, [c for c in columns[t] if c not in SAMPLED_COLUMNS[t]])
             if t in SAMPLED_COLUMNS else f'SET default_statistics_target = {FULL_SAMPLE_TARGET}; ANALYZE "{t}"'
             for t in tables]
    return sampled, whole


def _checksums(server: Server, dbname: str, timings: dict[str, TableTiming], everything: bool) -> dict[str, dict]:
    """Per table: the server's row count and the hash of the bytes sent, plus the server-side
    checksum of the tables whose content the server computes (a generated column: products'
    tsvector), or of ``everything`` (recording the manifest). No table is read back otherwise.
    """
    with server.connect(dbname) as conn:
        generated = {r[0] for r in conn.execute(
            "SELECT DISTINCT attrelid::regclass::text FROM pg_attribute WHERE attgenerated <> '' "
            "AND attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)")}
    tables = {t: {"rows": v.rows, "stream": v.stream} for t, v in timings.items()}
    read_back = manifest.compute(server, dbname, [t for t in timings if everything or t in generated])
    for table, computed in read_back.items():
        tables[table].update(computed)
    return tables


def _request_checkpoint(server: Server) -> None:
    """Ask for a checkpoint without waiting for it: the seed's WAL (720 MB on `small`) is then
    deleted (wal_recycle = off). The checkpointer finishes it whether or not anyone waits; the
    template is complete and marked before, so nothing depends on it."""
    try:
        conn = server.connect()
    except psycopg.Error:
        return
    try:
        conn.pgconn.send_query(b"CHECKPOINT")
        conn.pgconn.flush()  # the backend reads it before the Terminate that close() sends
    except psycopg.Error:
        pass  # not a superuser or pg_checkpoint member: the next timed checkpoint does it
    finally:
        conn.close()


def ensure(server: Server, size: str, *, force: bool = False, progress: bool | None = None,
           record: bool = False) -> SeedReport:
    """Seed ``pgcourse_<size>`` unless it is already complete (or ``force``); idempotent.

    ``progress``: a line per table and phase, and every tenth of the rows loaded: on stderr, or in a
    notebook kernel as a display in the running cell. By default on a terminal and in a learner's
    notebook, never in nbval's or a grader's kernel (the lines would become a cell's output).
    ``record`` (the maintainer's ``tools manifest``): statistics computed by ANALYZE instead of
    restored, and every table checksummed on the server, so both can be written to the manifest.
    """
    from ..privileges import BASE_TEMPLATE, base_template_usable, require

    global _reporter
    _reporter = reporting.Reporter(reporting.choose(progress))
    check_size(size)
    template = template_name(size)
    building = building_name(size)
    with server.connect() as admin:
        require(admin)  # one clear line when the role lacks CREATEDB, CREATEROLE...
        admin.execute("SELECT pg_advisory_lock(%s)", [_lock_key(size)])
        try:
            marker = read_marker(admin, template)
            if marker and marker.get("data_version") == data_version() and not force:
                rows = {t: v["rows"] for t, v in marker.get("tables", {}).items()}
                return SeedReport(size, template, seeded=False, rows=rows,
                                  manifest_differences=manifest.differences(marker.get("tables", {}), manifest.expected(size)))
            started = time.perf_counter()
            _note(f"building {template}: only the first time (or after the data changed) ...")
            _drop(admin, building)  # left over by an interrupted seed
            # the fixed locale and settings (see portable.py); the administrator's base template holds
            # the untrusted extensions a non-superuser cannot create
            portable.create_empty(admin, building, template=BASE_TEMPLATE if base_template_usable(admin) else None)
            notes: list[str] = []
            try:
                timings, phases = build(server, building, size, notes, compute_statistics=record)
                t = time.perf_counter()
                _note("row counts and checksums against datasets/manifest.json ...")
                tables = _checksums(server, building, timings, everything=record)
                phases["checksums"] = time.perf_counter() - t
                t = time.perf_counter()
                _drop(admin, template)
                marker = {MARKER_KEY: size, "data_version": data_version(), "tables": tables}
                with admin.transaction():
                    admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                    admin.execute(f'ALTER DATABASE "{template}" IS_TEMPLATE true')
                    admin.execute(f"COMMENT ON DATABASE \"{template}\" IS {sql.quote(json.dumps(marker, sort_keys=True))}")
                _request_checkpoint(server)
                phases["template swap"] = time.perf_counter() - t
            except BaseException:
                try:
                    _drop(admin, building)
                except psycopg.Error:
                    pass  # the next run drops it
                _reporter.flush()
                raise
            report = SeedReport(size, template, seeded=True, rows={t: v["rows"] for t, v in tables.items()},
                                seconds=time.perf_counter() - started, tables=timings, phases=phases,
                                manifest_differences=manifest.differences(tables, manifest.expected(size)), notes=notes)
            if _reporter.mode == "notebook":  # the cell's only news: lab and the CLI print the summary themselves
                _note(report.summary())
            return report
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(size)])
