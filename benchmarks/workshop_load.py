"""How many learners one server holds: N simulated learners open a chapter through the workshop broker at once.

    .venv/bin/python benchmarks/workshop_load.py [--size small] [--chapter 00] [--budget 900]

Not a test: timings belong here. A fresh embedded PostgreSQL 18 is made for the run, on a loop-mounted
XFS when run as root (clones are then reflinks: ``file_copy_method = clone``), else in the temp folder;
``--no-xfs`` forces the temp folder. The dataset is seeded there, ``pgcourse workshop broker`` runs as
its own process, and each round puts N new learners on the roster, then starts N threads together:
each opens the chapter (``POST /open`` and the first connection, what a notebook's first cell does)
and runs the chapter's first three queries. Reported per round: p50/p95 time to open and to the first
results, peak server memory (sum over the postgres processes of PSS, which shares shared_buffers fairly
among them, and of RSS, which counts them in every process), and disk per learner (free space of the
data directory's file system before and after, so shared reflinked blocks count once). N doubles from
``--start`` while p95 to open stays under ``--target`` seconds, then is bisected. Last line: ``learners N``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from pgcourse import datasets, disk  # noqa: E402
from pgcourse.server.embedded import EmbeddedCluster  # noqa: E402
from pgcourse.server.reflink import file_copy_method  # noqa: E402
from pgcourse.testing import xfs_folder  # noqa: E402
from pgcourse.workshop.broker import start_process  # noqa: E402

#: The first queries of chapter 00 (its first cells after open_chapter).
FIRST_QUERIES = [
    "SELECT current_user, current_setting('server_version_num')::int / 10000 AS major_version",
    "SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY status",
    "SELECT id, user_id, order_number, status, total_amount FROM orders ORDER BY id LIMIT 5",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def post(url: str, token: str, payload: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def server_memory(postmaster: int) -> tuple[int, int]:
    """(sum of PSS, sum of RSS) in bytes of the postmaster and its children (the server's processes)."""
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                pids.append(int(entry.name))
    pss = rss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return pss, rss


class Sampler(threading.Thread):
    """Peak server memory while a round runs (sampled every 0.2 s)."""

    def __init__(self, postmaster: int) -> None:
        super().__init__(daemon=True)
        self.postmaster, self.peak, self.stop = postmaster, (0, 0), threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            now = server_memory(self.postmaster)
            self.peak = max(self.peak, now)
            self.stop.wait(0.2)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@contextlib.contextmanager
def a_cluster(use_xfs: bool, max_connections: int) -> Iterator[tuple[EmbeddedCluster, Path, str]]:
    """A fresh embedded server for the run (on XFS when possible); deleted after."""
    with tempfile.TemporaryDirectory(prefix="pgcourse-workshop-bench-") as tmp:
        where = Path(tmp)
        with contextlib.ExitStack() as stack:
            mount = stack.enter_context(xfs_folder(where)) if use_xfs else None
            home = (mount or where) / "pg"
            cluster = EmbeddedCluster(home)
            stack.callback(cluster.destroy)
            server = cluster.start().server
            with server.connect() as conn:  # a class needs more than the default 100 connections
                conn.execute(f"ALTER SYSTEM SET max_connections = {int(max_connections)}")
            cluster.stop()
            cluster.start()
            yield cluster, home, ("loop-mounted XFS (reflink=1)" if mount else f"{where} (no XFS)")


def run_round(base: str, tokens: dict[str, str], chapter: str, postmaster: int, data_dir: Path) -> dict:
    """N learners (one thread each, released together) open the chapter and run its first queries."""
    names = sorted(tokens)
    barrier = threading.Barrier(len(names))
    opens: list[float] = []
    firsts: list[float] = []
    errors: list[str] = []
    created: list[bool] = []
    lock = threading.Lock()

    def learner(name: str) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            opened = post(f"{base}/open", tokens[name], {"chapter": chapter})
            with psycopg.connect(opened["url"], autocommit=True, connect_timeout=60) as conn:
                conn.execute("SELECT 1").fetchone()
                opened_at = time.perf_counter()
                for query in FIRST_QUERIES:
                    conn.execute(query).fetchall()
            done = time.perf_counter()
            with lock:
                opens.append(opened_at - started)
                firsts.append(done - started)
                created.append(bool(opened["created"]))
        except Exception as exc:  # a failed learner counts, and is said
            with lock:
                errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

    free_before = free_bytes(data_dir)
    sampler = Sampler(postmaster)
    sampler.start()
    threads = [threading.Thread(target=learner, args=(n,)) for n in names]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    sampler.stop.set()
    sampler.join()
    os.sync()
    used = free_before - free_bytes(data_dir)
    return {"n": len(names), "opens": opens, "firsts": firsts, "errors": errors, "wall": wall,
            "pss": sampler.peak[0], "rss": sampler.peak[1], "disk_per_learner": used / len(names),
            "cloned": sum(created)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=datasets.SIZES)
    parser.add_argument("--chapter", default="00")
    parser.add_argument("--start", type=int, default=5, help="learners in the first round")
    parser.add_argument("--max", type=int, default=120, help="never more learners than this")
    parser.add_argument("--target", type=float, default=5.0, help="p95 seconds to open a chapter")
    parser.add_argument("--budget", type=float, default=900, help="stop searching after this many seconds")
    parser.add_argument("--max-connections", type=int, default=300)
    parser.add_argument("--no-xfs", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start (shared with other work)")
    with a_cluster(not args.no_xfs, args.max_connections) as (cluster, home, where), \
            tempfile.TemporaryDirectory(prefix="pgcourse-workshop-state-") as state:
        server = cluster.server()
        t = time.monotonic()
        datasets.ensure(server, args.size)
        with server.connect() as conn:
            method = file_copy_method(conn)
            template = conn.execute("SELECT pg_database_size(%s)", [datasets.template_name(args.size)]).fetchone()[0]
            version = conn.execute("SHOW server_version").fetchone()[0]
            maxconn = conn.execute("SHOW max_connections").fetchone()[0]
        print(f"server: PostgreSQL {version}, data directory on {where}, max_connections {maxconn}")
        print(f"dataset {args.size}: template {disk.pretty(template)}, seeded in {time.monotonic() - t:.0f} s")
        print(f"clones: file_copy_method = {method} "
              + ("(reflinks: a chapter database shares the template's blocks until written)" if method == "clone"
                 else "(full copies: each chapter database costs the template's size)"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PGCOURSE_")}
        env.update(PGCOURSE_DATABASE_URL=server.url, PGCOURSE_WORKSHOP_DIR=str(Path(state) / "workshop"),
                   PGCOURSE_HOME=str(Path(state) / "home"), PGCOURSE_DATASET_SIZE=args.size)
        broker, base = start_process(env)
        try:
            postmaster = cluster.pid()
            idle_pss, idle_rss = server_memory(postmaster)
            print(f"idle server memory: PSS {disk.pretty(idle_pss)}, RSS {disk.pretty(idle_rss)}")
            good, bad, n, round_no = 0, None, args.start, 0
            print(f"{'N':>4} {'open p50':>9} {'open p95':>9} {'first p50':>10} {'first p95':>10} {'errors':>6} "
                  f"{'PSS peak':>9} {'RSS peak':>9} {'disk/learner':>12} {'logical/learner':>15}")
            while time.monotonic() - started < args.budget:
                round_no += 1
                names = [f"load{round_no}_{i:03d}" for i in range(n)]
                added = subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "add", *names],
                                       env=env, capture_output=True, text=True, check=True)
                tokens = {line.split("\t")[0]: line.split("\t")[1] for line in added.stdout.splitlines() if "\t" in line}
                r = run_round(base, tokens, args.chapter, postmaster, home)
                with server.connect() as conn:
                    logical = conn.execute("SELECT coalesce(avg(pg_database_size(datname)), 0) FROM pg_database "
                                           "WHERE datname LIKE %s", [f"load{round_no}\\_%"]).fetchone()[0]
                ok = not r["errors"] and r["opens"] and percentile(r["opens"], 0.95) < args.target
                p = (lambda xs, q: percentile(xs, q) if xs else float("nan"))
                print(f"{n:>4} {p(r['opens'], .5):>8.2f}s {p(r['opens'], .95):>8.2f}s {p(r['firsts'], .5):>9.2f}s "
                      f"{p(r['firsts'], .95):>9.2f}s {len(r['errors']):>6} {disk.pretty(r['pss']):>9} "
                      f"{disk.pretty(r['rss']):>9} {disk.pretty(max(0, r['disk_per_learner'])):>12} "
                      f"{disk.pretty(float(logical)):>15}", flush=True)
                for error in r["errors"][:3]:
                    print(f"     error: {error}")
                subprocess.run([sys.executable, "-m", "pgcourse", "workshop", "remove", *names],
                               env=env, capture_output=True, text=True)
                if ok:
                    good = max(good, n)
                else:
                    bad = n if bad is None else min(bad, n)
                if bad is None:
                    if n >= args.max:
                        break
                    n = min(args.max, n * 2)
                else:
                    step = max(1, good // 10)
                    if bad - good <= step:
                        break
                    n = (good + bad) // 2
        finally:
            broker.terminate()
            broker.wait(timeout=30)
    print(f"search took {time.monotonic() - started:.0f} s; target p95 to open < {args.target:g} s"
          + ("" if bad is not None else f" (never exceeded up to {good})"))
    print(f"learners {good}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
