"""EXPLAIN (FORMAT JSON) as Python objects: node types, indexes used, rows, buffers, heap fetches.

Checks and tests assert plan shapes with these helpers, never timings. Notebooks may print the
timings these plans carry; tests must not compare them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

SCAN_WITH_INDEX = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


@dataclass
class PlanNode:
    """One node of a plan tree, with the raw JSON kept for anything not wrapped here."""

    raw: dict[str, Any]
    children: list[PlanNode] = field(default_factory=list)

    @property
    def node_type(self) -> str:
        return self.raw["Node Type"]

    @property
    def relation(self) -> str | None:
        return self.raw.get("Relation Name")

    @property
    def index_name(self) -> str | None:
        return self.raw.get("Index Name")

    @property
    def actual_rows(self) -> float | None:
        return self.raw.get("Actual Rows")

    @property
    def heap_fetches(self) -> int | None:
        return self.raw.get("Heap Fetches")

    def walk(self) -> Iterator[PlanNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PlanNode:
        return cls(raw, [cls.from_json(child) for child in raw.get("Plans", [])])


@dataclass
class Plan:
    """A whole plan: the root node plus planning/execution totals."""

    root: PlanNode
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, doc: list | dict | str) -> Plan:
        if isinstance(doc, str):
            doc = json.loads(doc)
        top = doc[0] if isinstance(doc, list) else doc
        return cls(PlanNode.from_json(top["Plan"]), top)

    def nodes(self) -> list[PlanNode]:
        return list(self.root.walk())

    def node_types(self) -> list[str]:
        return [n.node_type for n in self.nodes()]

    def find(self, node_type: str) -> list[PlanNode]:
        return [n for n in self.nodes() if n.node_type == node_type]

    def has(self, node_type: str) -> bool:
        return bool(self.find(node_type))

    def indexes_used(self) -> set[str]:
        """Names of the indexes any node scans."""
        return {n.index_name for n in self.nodes() if n.index_name}

    def uses_index(self, name: str | None = None) -> bool:
        """True if the plan scans an index (``name`` given: that index)."""
        used = self.indexes_used()
        return bool(used) if name is None else name in used

    def seq_scanned(self) -> set[str]:
        """Relations read by a sequential scan."""
        return {n.relation for n in self.nodes() if n.node_type in ("Seq Scan", "Parallel Seq Scan") and n.relation}

    def heap_fetches(self) -> int:
        """Total heap fetches of the index-only scans (0 when the visibility map covers every page)."""
        return sum(n.heap_fetches or 0 for n in self.nodes())

    def shared_buffers(self) -> int:
        """Shared buffers hit + read at the root (needs EXPLAIN with BUFFERS)."""
        return int(self.root.raw.get("Shared Hit Blocks", 0)) + int(self.root.raw.get("Shared Read Blocks", 0))

    @property
    def execution_ms(self) -> float | None:
        """Server-side execution time (ANALYZE only): for display, never for tests."""
        return self.raw.get("Execution Time")

    @property
    def total_cost(self) -> float:
        return self.root.raw["Total Cost"]

    def tree(self, *, show_rows: bool = False) -> str:
        """A compact, deterministic text tree: node types, relations and indexes (no timings)."""
        lines: list[str] = []

        def visit(node: PlanNode, depth: int) -> None:
            label = node.node_type
            if node.index_name:
                label += f" using {node.index_name}"
            if node.relation:
                label += f" on {node.relation}"
            if show_rows and node.actual_rows is not None:
                label += f" (rows={int(node.actual_rows)})"
            lines.append("  " * depth + ("-> " if depth else "") + label)
            for child in node.children:
                visit(child, depth + 1)

        visit(self.root, 0)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.tree()


def explain(conn: psycopg.Connection, query: str, params: Any = None, *, analyze: bool = False,
            buffers: bool = False, settings: dict[str, str] | None = None) -> Plan:
    """EXPLAIN a query on ``conn`` and parse the JSON.

    With ``analyze`` the query really runs, inside a transaction that is rolled back, so an
    EXPLAIN ANALYZE of an INSERT or DELETE changes nothing. ``settings`` are SET LOCAL first
    (e.g. ``{"enable_seqscan": "off"}`` to show what the planner would do otherwise).
    """
    options = ["FORMAT JSON"]
    if analyze:
        options.append("ANALYZE")
    if buffers:
        options.append("BUFFERS")
    text = f"EXPLAIN ({', '.join(options)}) {query}"
    with conn.transaction(force_rollback=True):
        for key, value in (settings or {}).items():
            conn.execute("SELECT set_config(%s, %s, true)", [key, value])
        doc = conn.execute(text, params).fetchone()[0]
    return Plan.from_json(doc)

