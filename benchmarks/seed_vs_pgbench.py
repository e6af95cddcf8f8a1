"""Seed `small` and run the bundled `pgbench -i` on the same server, in one run; print rows/s.

    .venv/bin/python benchmarks/seed_vs_pgbench.py [--rounds N]   # the course server, else an ephemeral one

Not a test: timings belong here. pgbench -i -s N loads 100,000 * N accounts (+ N branches,
10 * N tellers), then vacuums and adds primary keys; N is chosen so that it loads about as many
rows as `small`. The two alternate for ``--rounds`` rounds (default 2: the machine is shared, so
each side's best round is compared), each after a CHECKPOINT that is not timed (neither side
pays for the other's dirty pages). Before each seed the template is dropped, untimed: the seed
timed is a first seed, the one a learner waits for (a re-seed also drops the old template, and
DROP DATABASE forces a checkpoint that flushes the new one: seconds that are no part of seeding).
Ours is timed two ways: the whole `datasets.ensure()` (load, keys and indexes, VACUUM, statistics,
foreign keys, checksums, template swap), and the phases pgbench also does (load, keys, indexes and
foreign keys, vacuum): the like-for-like ratio. The last line, `ratio <ours/pgbench>`, is the whole
seed's. On the embedded server it also prints the CPU each side used (the server's processes and the
client's) and the best ratio that CPU allows on this machine's cores: the seed cannot finish before
its CPU divided by the cores, however well it keeps them busy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import subprocess
import time

import psutil

from pgcourse import datasets
from pgcourse.datasets import seed
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


def server_cpu(server: Server) -> float | None:
    """CPU seconds used so far by the server's processes (the postmaster, its children and the
    children it reaped); None where they are not this machine's processes (Docker, a URL)."""
    if server.backend != "embedded":
        return None
    with server.connect() as conn:
        postmaster = psutil.Process(psutil.Process(conn.info.backend_pid).ppid())
    t = postmaster.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            c = child.cpu_times()
            total += c.user + c.system
    return total


def client_cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """The CPU a step used: the server's (when measurable) and this client's or its children's."""

    def __init__(self, server: Server, who: int) -> None:
        self.server, self.who = server, who

    def __enter__(self) -> "CpuMeter":
        self.s0, self.c0 = server_cpu(self.server), client_cpu(self.who)
        return self

    def __exit__(self, *exc) -> None:
        s1 = server_cpu(self.server)
        self.server_seconds = None if s1 is None or self.s0 is None else s1 - self.s0
        self.client_seconds = client_cpu(self.who) - self.c0

    @property
    def total(self) -> float | None:
        return None if self.server_seconds is None else self.server_seconds + self.client_seconds

    def describe(self) -> str:
        server = "n/a" if self.server_seconds is None else f"{self.server_seconds:.1f} s"
        return f"cpu: server {server}, client {self.client_seconds:.1f} s"


def checkpoint(server: Server) -> None:
    """Flush what the previous step left dirty, untimed, so it does not slow down the next one."""
    with server.connect() as conn:
        conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    with a_server() as server:
        print(f"server: PostgreSQL {server.version()} ({server.backend})")
        ours, theirs, our_cpu, their_cpu = [], [], [], []
        for n in range(1, rounds + 1):
            with server.connect() as conn:
                seed._drop(conn, datasets.template_name("small"))
            checkpoint(server)
            with CpuMeter(server, resource.RUSAGE_SELF) as cpu:
                report = datasets.ensure(server, "small")
            ours.append(report)
            our_cpu.append(cpu.total)
            print(f"round {n}: pgcourse seed small: {report.total_rows:,} rows in {report.seconds:.1f} s "
                  f"= {report.rows_per_second / 1e6:.2f} M rows/s")
            print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()))
            print(f"  manifest match: {report.matches_manifest}; {cpu.describe()}")
            checkpoint(server)
            with CpuMeter(server, resource.RUSAGE_CHILDREN) as cpu:
                rows, seconds, detail = run_pgbench(server, report.total_rows)
            theirs.append((rows, seconds))
            their_cpu.append(cpu.total)
            print(f"round {n}: {detail}; {cpu.describe()}")
            print(f"round {n}: pgbench -i: {rows:,} rows in {seconds:.1f} s = {rows / seconds / 1e6:.2f} M rows/s")
        best = min(ours, key=lambda r: r.seconds)
        rows, seconds = min(theirs, key=lambda t: t[1])
        ours_rate, theirs_rate = best.rows_per_second, rows / seconds
        like = best.total_rows / sum(best.phases.get(k, 0) for k in ("load", "constraints", "vacuum", "foreign keys"))
        print(f"best of {rounds}: pgcourse seed small {best.seconds:.1f} s = {ours_rate / 1e6:.2f} M rows/s "
              f"(phases: {', '.join(f'{k} {v:.1f} s' for k, v in best.phases.items())}); "
              f"pgbench -i {seconds:.1f} s = {theirs_rate / 1e6:.2f} M rows/s")
        print(f"like-for-like ratio (load + keys, indexes, foreign keys + vacuum only, {like / 1e6:.2f} M rows/s): {like / theirs_rate:.2f}")
        if None not in our_cpu:
            cores = os.cpu_count() or 1
            least = min(our_cpu) / cores  # no seed on these cores can take less wall time than this
            print(f"cpu: seed small {min(our_cpu):.1f} s, pgbench -i {min(their_cpu):.1f} s (server + client, "
                  f"least of the rounds): {min(our_cpu) / best.total_rows / (min(their_cpu) / rows):.1f}x the CPU per row; "
                  f"on {cores} cores the seed cannot take under {least:.1f} s, so against pgbench's "
                  f"{seconds:.1f} s here the ratio cannot exceed {best.total_rows / least / theirs_rate:.2f}")
        print(f"ratio {ours_rate / theirs_rate:.2f}")


if __name__ == "__main__":
    main()
