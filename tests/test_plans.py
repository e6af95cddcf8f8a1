"""EXPLAIN (FORMAT JSON) helpers: shapes read from a real server's plans."""

from __future__ import annotations

import pytest

from pgcourse.plans import Plan, explain


@pytest.fixture
def items(db):
    db.execute("CREATE TABLE items (id bigint PRIMARY KEY, kind text NOT NULL, n int NOT NULL)")
    db.execute("INSERT INTO items SELECT g, CASE WHEN g % 100 = 0 THEN 'rare' ELSE 'common' END, g % 7 FROM generate_series(1, 20000) g")
    db.execute("VACUUM ANALYZE items")
    return db


def test_a_primary_key_lookup_is_an_index_scan_on_that_index(items):
    plan = explain(items, "SELECT * FROM items WHERE id = 42")
    assert plan.uses_index("items_pkey")
    assert plan.node_types()[0] in ("Index Scan", "Index Only Scan")
    assert plan.seq_scanned() == set()


def test_a_filter_on_an_unindexed_column_is_a_seq_scan(items):
    plan = explain(items, "SELECT * FROM items WHERE kind = 'rare'")
    assert not plan.uses_index()
    assert plan.seq_scanned() == {"items"}
    assert plan.tree().startswith("Seq Scan on items")


def test_analyze_reports_rows_and_heap_fetches_and_rolls_back_writes(items):
    items.execute("CREATE INDEX items_kind_n ON items (kind) INCLUDE (n)")
    items.execute("VACUUM ANALYZE items")
    plan = explain(items, "SELECT kind, n FROM items WHERE kind = 'rare'", analyze=True, buffers=True)
    assert plan.has("Index Only Scan") and plan.heap_fetches() == 0
    assert int(plan.root.actual_rows) == 200
    assert plan.shared_buffers() > 0 and plan.execution_ms is not None
    explain(items, "DELETE FROM items", analyze=True)
    assert items.execute("SELECT count(*) FROM items").fetchone()[0] == 20000


def test_settings_apply_to_that_plan_only(items):
    forced = explain(items, "SELECT * FROM items WHERE id < 100", settings={"enable_indexscan": "off", "enable_bitmapscan": "off"})
    assert not forced.uses_index()
    assert explain(items, "SELECT * FROM items WHERE id < 100").uses_index("items_pkey")


def test_a_plan_parses_from_json_text():
    plan = Plan.from_json('[{"Plan": {"Node Type": "Limit", "Total Cost": 1.0, "Plans": [{"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 1.0}]}}]')
    assert plan.node_types() == ["Limit", "Seq Scan"]
    assert plan.tree() == "Limit\n  -> Seq Scan on t"
