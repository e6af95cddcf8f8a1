"""Dataset commands: ``pgcourse seed`` and ``pgcourse datasets``."""

from __future__ import annotations

import argparse

from .. import datasets
from .. import server as pg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seed", help="seed a dataset size into its template database (idempotent)")
    p.add_argument("--size", choices=datasets.SIZES, default=None,
                   help=f"tiny, small or large (default: {datasets.DEFAULT_SIZE}, or PGCOURSE_DATASET_SIZE)")
    p.add_argument("--force", action="store_true", help="rebuild even if the template is complete")
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser("datasets", help="each dataset size: seeded or not, row counts, manifest match")
    p.add_argument("--verify", action="store_true", help="recount and re-checksum the seeded templates now")
    p.set_defaults(func=cmd_datasets)


def cmd_seed(args) -> int:
    size = args.size or datasets.default_size()
    server = pg.current()
    report = datasets.ensure(server, size, force=args.force)
    for note in report.notes:
        print(f"pgcourse: {note}")
    print(f"pgcourse: {report.summary()}")
    if report.seeded:
        for table, t in report.tables.items():
            print(f"  {table:<12} {t.rows:>12,} rows  {t.seconds:6.2f} s  {t.rows_per_second / 1e6:5.2f} M rows/s")
    if report.matches_manifest:
        print(f"pgcourse: {report.template} matches datasets/manifest.json")
        return 0
    print(f"pgcourse: {report.template} does NOT match datasets/manifest.json:")
    for line in report.manifest_differences:
        print(f"  {line}")
    return 1


def cmd_datasets(args) -> int:
    server = pg.current()
    bad = 0
    for size in datasets.SIZES:
        st = datasets.status(server, size)
        if not st.seeded:
            print(f"{size:<6} {st.template:<16} not seeded (`pgcourse seed --size {size}`)")
            continue
        differences = st.differences
        if args.verify:
            differences = datasets.verify(server, size).differences
        match = "matches the manifest" if not differences else "DOES NOT match the manifest"
        stale = "" if st.current else " (seeded by an older version: `pgcourse seed` rebuilds it)"
        print(f"{size:<6} {st.template:<16} seeded, {sum(st.rows.values()):,} rows, {match}{stale}")
        for table in sorted(st.rows):
            print(f"         {table:<12} {st.rows[table]:>12,}")
        for line in differences:
            print(f"         ! {line}")
        bad += bool(differences)
    return 1 if bad else 0
