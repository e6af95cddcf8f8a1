"""The dataset's DDL, read from ``datasets/schema/`` (the SQL a chapter author reads and edits)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DatasetError


def datasets_dir() -> Path:
    """The ``datasets/`` folder of the checkout: schema SQL, README, manifest."""
    from ..server import project_root

    here = Path(__file__).resolve().parents[2] / "datasets"
    return here if here.is_dir() else project_root() / "datasets"


def _read(name: str) -> str:
    path = datasets_dir() / "schema" / name
    try:
        return path.read_text()
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing.\n  what to do: restore it from git (`git checkout -- datasets/`).") from None


def setup_sql() -> str:
    """Extensions and types, run once before the tables."""
    return _read("setup.sql")


def table_sql() -> dict[str, str]:
    """CREATE TABLE (and COMMENT) statements per table, from the ``-- table: name`` sections."""
    text = _read("tables.sql")
    parts = re.split(r"^-- table: (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def constraint_statements() -> list[str]:
    """Keys, foreign keys and indexes, one statement each, in file order."""
    text = "\n".join(line for line in _read("constraints.sql").splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def sources() -> str:
    """All schema SQL as one string (part of the data version)."""
    return setup_sql() + _read("tables.sql") + _read("constraints.sql")
