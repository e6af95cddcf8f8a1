"""Time `pgcourse reset` (a ready spare renamed into place) against a plain clone of the same template, in one run.

    .venv/bin/python benchmarks/reset.py [--size small] [--resets 7]   # the course server, else an ephemeral one

Not a test: timings belong here. Each round resets one chapter as `pgcourse reset` does (the
learner waits for that), then waits for the background process that drops the old database and
builds the next spare (timed too: the learner reads meanwhile), then times a plain
``CREATE DATABASE ... TEMPLATE pgcourse_<size> STRATEGY FILE_COPY`` (what every reset cost before)
and drops it. The last line, `reset ratio X`, is plain clone p50 / reset p50.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pgcourse import chapter as chapter_db  # noqa: E402
from pgcourse import chapters, datasets, disk, spare  # noqa: E402
from pgcourse.server.reflink import file_copy_method  # noqa: E402

from seed_vs_pgbench import a_server  # noqa: E402

PLAIN = "pgcourse_bench_plain_clone"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def folder_bytes(path: Path) -> int:
    """Bytes allocated under ``path`` (what `du` counts)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def open_every_chapter(server, size: str, started: list) -> str:
    """Open all fourteen chapters one after another, as a learner going through the course; the disk afterwards."""
    for info in chapters.CHAPTERS:
        started.clear()
        chapter_db.put_fresh(server, info, chapter_db.database_for(info), size)
        for proc in started:
            proc.wait()
    with server.connect() as conn:
        used = disk.usage(conn)
        data = Path(conn.execute("SELECT current_setting('data_directory')").fetchone()[0])
    on_disk = folder_bytes(data) if data.is_dir() else used.total
    limit = disk.budget()
    return (f"all {len(chapters.CHAPTERS)} chapters opened: data directory {disk.pretty(on_disk)} "
            f"(databases {disk.pretty(sum(used.databases.values()))}, WAL {disk.pretty(used.wal)}), "
            f"budget {disk.pretty(limit) if limit else 'off'}: {'within' if limit and on_disk <= limit else 'OVER'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=datasets.SIZES)
    parser.add_argument("--resets", type=int, default=7)
    args = parser.parse_args()
    os.environ[spare.SPARE_ENV] = "1"
    os.environ["PGCOURSE_LEARNER"] = "bench"
    os.environ.pop(chapter_db.CHAPTER_DB_ENV, None)
    info = chapters.get("00")
    with a_server() as server, tempfile.TemporaryDirectory(prefix="pgcourse-bench-") as home:
        os.environ["PGCOURSE_DATABASE_URL"] = server.url
        os.environ["PGCOURSE_HOME"] = home  # parked answers and opening times of the bench learner only
        print(f"server: PostgreSQL {server.version()} ({server.backend}); dataset {args.size}")
        datasets.ensure(server, args.size)
        dbname = chapter_db.database_for(info)
        with server.connect() as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", [datasets.template_name(args.size)]).fetchone()[0]
            print(f"template {datasets.template_name(args.size)}: {size}; file_copy_method: {file_copy_method(conn)}")
        resets, backgrounds, plains = [], [], []
        with spare.watched() as started:
            chapter_db.put_fresh(server, info, dbname, args.size)  # the chapter is open, its spare being built
            for proc in started:
                proc.wait()
            for _ in range(args.resets):
                started.clear()
                t0 = time.perf_counter()
                chapter_db.reset(info.number, server=server, size=args.size)
                resets.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                for proc in started:
                    proc.wait()
                backgrounds.append(time.perf_counter() - t0)
                with server.connect() as conn:
                    t0 = time.perf_counter()
                    conn.execute(f"CREATE DATABASE {PLAIN} TEMPLATE {datasets.template_name(args.size)} STRATEGY FILE_COPY")
                    plains.append(time.perf_counter() - t0)
                    conn.execute(f"DROP DATABASE {PLAIN}")
            opened = open_every_chapter(server, args.size, started)
        with server.connect() as conn:
            for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'").fetchall():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        ms = lambda values, q: f"{percentile(values, q) * 1000:.0f} ms"  # noqa: E731
        print(f"reset (spare renamed into place), {args.resets} resets: p50 {ms(resets, .5)}, p95 {ms(resets, .95)}")
        print(f"  then in the background (old database dropped, next spare built): p50 {ms(backgrounds, .5)}")
        print(f"plain CREATE DATABASE ... STRATEGY FILE_COPY: p50 {ms(plains, .5)}, p95 {ms(plains, .95)}")
        print(opened)
        print(f"reset ratio {statistics.median(plains) / statistics.median(resets):.1f}")


if __name__ == "__main__":
    main()
