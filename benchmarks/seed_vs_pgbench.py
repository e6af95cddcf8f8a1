"""Seed `small` and run the bundled `pgbench -i` on the same server, in one run; print rows/s.

    .venv/bin/python benchmarks/seed_vs_pgbench.py      # the course server, else an ephemeral one

Not a test: timings belong here. pgbench -i -s N loads 100,000 * N accounts (+ N branches,
10 * N tellers), then vacuums and adds primary keys; N is chosen so that it loads about as many
rows as `small`. Ours is timed two ways: the whole `datasets.ensure(force=True)` (load,
keys/FKs/indexes, VACUUM, whole-table statistics, checksums, template swap), and the phases
pgbench also does (load + keys/indexes + vacuum). The last line, `ratio <ours/pgbench>`, is the
like-for-like one. Two phases pgbench has no counterpart for are left out of it: the checksums,
and the statistics read from whole tables so that plans are the same on every machine (pgbench's
vacuum samples at the default target, a fraction of a second).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time

from pgcourse import datasets
from pgcourse.errors import ServerUnavailable
from pgcourse.server import Server, client_bin_dir, current
from pgcourse.server.ephemeral import ephemeral_server

BENCH_DB = "pgcourse_bench_pgbench"


@contextlib.contextmanager
def a_server():
    try:
        server = current()
        server.version()
        yield server
    except ServerUnavailable:
        with ephemeral_server() as server:
            yield server


def run_pgbench(server: Server, rows_wanted: int) -> tuple[int, float, str]:
    scale = max(1, round(rows_wanted / 100_000))
    with server.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    try:
        started = time.perf_counter()
        proc = subprocess.run([str(client_bin_dir() / "pgbench"), "-i", "-s", str(scale), "-q"],
                              env=server.client_env(BENCH_DB), capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
    finally:
        with server.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    done = re.search(r"done in .*", proc.stderr)
    rows = scale * (100_000 + 10 + 1)
    return rows, seconds, f"pgbench -i -s {scale}: {done.group(0) if done else ''}"


def main() -> None:
    with a_server() as server:
        print(f"server: PostgreSQL {server.version()} ({server.backend})")
        report = datasets.ensure(server, "small", force=True)
        ours = report.rows_per_second
        print(f"pgcourse seed small: {report.total_rows:,} rows in {report.seconds:.1f} s = {ours / 1e6:.2f} M rows/s")
        print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()))
        print(f"  manifest match: {report.matches_manifest}")
        rows, seconds, detail = run_pgbench(server, report.total_rows)
        theirs = rows / seconds
        print(f"{detail}")
        print(f"pgbench -i: {rows:,} rows in {seconds:.1f} s = {theirs / 1e6:.2f} M rows/s")
        like = report.total_rows / sum(report.phases[k] for k in ("load", "constraints", "vacuum"))
        print(f"pgcourse load + constraints + vacuum only: {like / 1e6:.2f} M rows/s")
        print(f"ratio of the whole seed (with statistics, checksums and template swap): {ours / theirs:.2f}")
        print(f"ratio {like / theirs:.2f}")


if __name__ == "__main__":
    main()
