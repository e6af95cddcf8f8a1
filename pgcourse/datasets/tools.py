"""Maintainer commands (not for learners):

    python -m pgcourse.datasets.tools manifest tiny   # seed tiny, record it in datasets/manifest.json
                                                      # and its statistics in datasets/statistics/
    python -m pgcourse.datasets.tools streams large   # only the COPY stream digests (generators, no server)
    python -m pgcourse.datasets.tools readme          # regenerate the README's diagram and reference

Both use the running course server (``pgcourse up``) or PGCOURSE_DATABASE_URL.
"""

from __future__ import annotations

import sys

from ..server import Server, current
from . import diagram, manifest, seed, statistics
from .schema import datasets_dir
from .sizes import SIZES, check_size, template_name


def row_table() -> str:
    """Markdown table of row counts per size, from the committed manifest."""
    sizes = manifest.load().get("sizes", {})
    names = [s for s in SIZES if s in sizes]
    tables = sorted({t for s in names for t in sizes[s]["tables"]})
    lines = ["| table | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for t in tables:
        lines.append(f"| {t} | " + " | ".join(f"{sizes[s]['tables'][t]['rows']:,}" for s in names) + " |")
    lines.append("| **total** | " + " | ".join(f"{sum(v['rows'] for v in sizes[s]['tables'].values()):,}" for s in names) + " |")
    return "\n".join(lines)


def readme_section(server: Server, size: str = "tiny") -> str:
    """The generated part of datasets/README.md, read from the catalog of a seeded template."""
    seed.ensure(server, size)
    with server.connect(template_name(size)) as conn:
        return diagram.generated_section(conn, row_table())


def record_streams(size: str) -> None:
    """Add the stream digests of ``size`` to its manifest entry, from the generators alone (no server).

    For a size whose server-side checksums are recorded but which is too big to re-seed just for this.
    """
    from .tables import all_loads
    from .world import World

    entry = manifest.entry(size)
    tables = entry["tables"]
    for load in all_loads(World(size)):
        h, rows = manifest.stream_hash(), 0
        for n, data in load.chunks():
            h.update(data)
            rows += n
        if rows != tables[load.table]["rows"]:
            raise SystemExit(f"{load.table}: the generators give {rows:,} rows, the manifest says {tables[load.table]['rows']:,}")
        tables[load.table]["stream"] = manifest.stream_digest(h)
    manifest.write(size, tables, entry.get("statistics"), entry.get("plans"))


def record(server: Server, size: str) -> int:
    """Seed ``size`` computing everything (ANALYZE, server checksums), store its statistics and
    manifest entry, then seed it again the learners' way and check that it gives the same."""
    report = seed.ensure(server, size, force=True, record=True)
    print(report.summary())
    with server.connect() as conn:
        marker = seed.read_marker(conn, template_name(size))
    with server.connect(template_name(size)) as conn:
        stats = statistics.export(conn, {t: v["stream"] for t, v in marker["tables"].items()})
        plans = statistics.plans(conn)
    print(f"wrote {statistics.write(size, stats)}")
    manifest.write(size, marker["tables"], statistics.digests(stats), plans)
    print(f"recorded {size} in {manifest.manifest_path()}")
    again = seed.ensure(server, size, force=True)  # statistics restored this time
    print(again.summary())
    with server.connect(template_name(size)) as conn:
        restored = statistics.digests(statistics.export(conn)) == statistics.digests(stats)
        same_plans = statistics.plans(conn) == plans
    if not (again.matches_manifest and restored and same_plans):
        print(f"the restored seed differs: manifest {again.manifest_differences}, statistics same: {restored}, "
              f"plans same: {same_plans}")
        return 1
    return 0


def main(argv: list[str]) -> int:
    server = current()
    if argv[:1] == ["streams"]:
        record_streams(check_size(argv[1]))
        print(f"recorded the stream digests of {argv[1]} in {manifest.manifest_path()}")
        return 0
    if argv[:1] == ["manifest"]:
        return record(server, check_size(argv[1]))
    if argv[:1] == ["readme"]:
        path = datasets_dir() / "README.md"
        path.write_text(diagram.replace_section(path.read_text(), readme_section(server)))
        print(f"rewrote the generated section of {path}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
