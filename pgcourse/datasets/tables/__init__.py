"""One generator module per group of tables; each returns :class:`TableLoad` objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..world import CHUNK, World


@dataclass
class TableLoad:
    """How to fill one table: its COPY column list, an estimate for the progress bar, and a
    function yielding (rows, binary COPY bytes) chunk by chunk."""

    table: str
    columns: list[str]
    estimate: int
    chunks: Callable[[], Iterator[tuple[int, memoryview | bytes]]]


def slices(n: int, size: int = CHUNK) -> Iterator[tuple[int, int]]:
    """(start, stop) pairs covering range(n) in steps of ``size``."""
    for start in range(0, n, size):
        yield start, min(n, start + size)


def all_loads(world: World) -> list[TableLoad]:
    """Every table of the dataset, in the order they are loaded."""
    from . import catalog, events, extras, orders, users

    return [*users.loads(world), *catalog.loads(world), *orders.loads(world), *extras.loads(world),
            *events.loads(world)]
