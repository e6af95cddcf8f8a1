"""The dataset sizes and how many rows each table gets in each."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import DatasetError

SIZES: tuple[str, ...] = ("tiny", "small", "large")
DEFAULT_SIZE: str = "small"
SIZE_ENV = "PGCOURSE_DATASET_SIZE"


@dataclass(frozen=True)
class Spec:
    """Target counts for one size; tables not listed here follow from these (order_items, roles...)."""

    name: str
    users: int
    orders: int
    products: int
    category_fanout: tuple[int, ...]  # children per node, level by level (5 levels)
    events: int
    documents: int
    rooms: int
    bookings_per_room: int


SPECS: dict[str, Spec] = {
    "tiny": Spec("tiny", users=1_000, orders=10_000, products=300, category_fanout=(4, 3, 2, 2, 2),
                 events=30_000, documents=2_000, rooms=10, bookings_per_room=60),
    "small": Spec("small", users=100_000, orders=1_000_000, products=20_000, category_fanout=(8, 4, 3, 3, 2),
                  events=3_000_000, documents=50_000, rooms=100, bookings_per_room=300),
    "large": Spec("large", users=1_000_000, orders=4_000_000, products=100_000, category_fanout=(10, 5, 4, 3, 2),
                  events=12_000_000, documents=200_000, rooms=400, bookings_per_room=300),
}


def check_size(size: str) -> str:
    """``size`` if it is one of :data:`SIZES`, else a :class:`DatasetError` that lists them."""
    if size not in SIZES:
        raise DatasetError(f"unknown dataset size {size!r}.\n  what to do: use one of {', '.join(SIZES)}.")
    return size


def default_size() -> str:
    """The size chapters use: ``PGCOURSE_DATASET_SIZE`` if set, else :data:`DEFAULT_SIZE`."""
    value = os.environ.get(SIZE_ENV, "").strip()
    if not value:
        return DEFAULT_SIZE
    if value not in SIZES:
        raise DatasetError(f"{SIZE_ENV}={value!r} is not a dataset size.\n  what to do: set it to one of {', '.join(SIZES)} or unset it.")
    return value


#: How chapters clone each template. FILE_COPY copies files after a checkpoint (fastest for the
#: large ones); WAL_LOG copies block by block without one, several times faster for `tiny`,
#: whose clones the tests make by the dozen (measured: 0.37 s vs 0.8-1.7 s on a busy server).
CLONE_STRATEGY = {"tiny": "WAL_LOG", "small": "FILE_COPY", "large": "FILE_COPY"}


def template_name(size: str) -> str:
    """The template database chapters clone: ``pgcourse_<size>``."""
    return f"pgcourse_{check_size(size)}"
