"""The course dataset: an e-commerce store seeded into one template database per size.

    from pgcourse import datasets
    datasets.ensure(server, "small")      # seed pgcourse_small once (idempotent)
    datasets.verify(server, "small")      # row counts and checksums vs datasets/manifest.json

Chapters clone ``pgcourse_<size>`` with :func:`clone` (``CREATE DATABASE ... TEMPLATE ...``).
The schema is in ``datasets/schema/``; what each table holds and why is in ``datasets/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DatasetError
from ..server import Server
from . import manifest, portable
from .seed import SeedReport, data_version, ensure, is_seeded, read_marker
from .sizes import CLONE_STRATEGY, DEFAULT_SIZE, SIZES, check_size, default_size, template_name

__all__ = [
    "DEFAULT_SIZE", "SIZES", "SeedReport", "Status", "VerifyReport", "clone", "default_size", "ensure",
    "is_seeded", "status", "template_name", "verify",
]


def clone(conn, size: str, dbname: str) -> None:
    """``CREATE DATABASE dbname`` from the seeded template of ``size`` (no one may be connected to the template).

    The clone keeps the template's fixed locale; its per-database settings (time zone, planner
    costs...) are not copied by PostgreSQL, so they are set again here (see :mod:`.portable`).
    """
    from psycopg import sql

    from ..server.reflink import file_copy_method

    strategy = CLONE_STRATEGY[check_size(size)]
    if file_copy_method(conn) == "clone":  # a reflink copy: instant, and no disk until written
        strategy = "FILE_COPY"
        conn.execute("SET file_copy_method = clone")
    try:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
            sql.Identifier(dbname), sql.Identifier(template_name(size)), sql.SQL(strategy)))
    finally:
        conn.execute("RESET file_copy_method")
    portable.apply_settings(conn, dbname)


@dataclass
class VerifyReport:
    """Rows and checksums read from the template now, against the committed manifest."""

    size: str
    template: str
    tables: dict[str, dict]
    expected: dict[str, dict] | None
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def rows(self) -> dict[str, int]:
        return {t: v["rows"] for t, v in self.tables.items()}


def verify(server: Server, size: str) -> VerifyReport:
    """Recompute row counts and checksums in ``pgcourse_<size>`` and compare with the manifest.

    It connects to the template for a few seconds: a clone started meanwhile would wait or fail.
    """
    template = template_name(size)
    with server.connect() as conn:
        marker = read_marker(conn, template)
    if marker is None:
        raise DatasetError(f"{template} is not seeded.\n  what to do: run `pgcourse seed --size {size}`.")
    tables = manifest.compute(server, template, sorted(marker.get("tables", {})))
    wanted = manifest.expected(size)
    return VerifyReport(size, template, tables, wanted, manifest.differences(tables, wanted))


@dataclass
class Status:
    """What the server holds for one size, read from the completion marker (no table scans)."""

    size: str
    template: str
    seeded: bool
    current: bool  # seeded by this version of the generators
    rows: dict[str, int]
    differences: list[str]


def status(server: Server, size: str) -> Status:
    """Seeded or not, row counts and manifest match, from the checksums taken at seed time."""
    template = template_name(size)
    with server.connect() as conn:
        marker = read_marker(conn, template)
    if marker is None:
        return Status(size, template, False, False, {}, [])
    tables = marker.get("tables", {})
    return Status(size, template, True, marker.get("data_version") == data_version(),
                  {t: v["rows"] for t, v in tables.items()}, manifest.differences(tables, manifest.expected(size)))
