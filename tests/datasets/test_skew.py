"""The skew the planner lessons rely on is real, shown by plan shapes and statistics (never time)."""

from __future__ import annotations

import json


def _plan(conn, sql: str) -> dict:
    return conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()[0][0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _node_types(conn, sql: str) -> set[str]:
    return {n["Node Type"] for n in _nodes(_plan(conn, sql))}


def test_rare_status_uses_an_index_and_common_status_scans_the_table(tiny_clone):
    db = tiny_clone
    db.execute("CREATE INDEX orders_status_idx ON orders (status)")
    db.execute("ANALYZE orders")
    rare = _node_types(db, "SELECT * FROM orders WHERE status = 'pending'")
    common = _node_types(db, "SELECT * FROM orders WHERE status = 'completed'")
    assert rare & {"Index Scan", "Bitmap Index Scan", "Index Only Scan"}, rare
    assert "Seq Scan" in common and not common & {"Index Scan", "Bitmap Index Scan"}, common


def test_status_shares(tiny_clone):
    shares = dict(tiny_clone.execute("SELECT status, count(*)::float / sum(count(*)) OVER () FROM orders GROUP BY 1"))
    assert 0.85 < shares["completed"] < 0.95 and 0.003 < shares["pending"] < 0.02


def test_created_at_follows_id_for_brin(tiny_clone):
    rows = dict(tiny_clone.execute(
        "SELECT tablename, correlation FROM pg_stats WHERE (tablename, attname) IN "
        "(('orders', 'created_at'), ('events', 'occurred_at'), ('orders', 'id'))"))
    assert rows["orders"] > 0.99 and rows["events"] > 0.99
    first, last = tiny_clone.execute("SELECT min(created_at), max(created_at) FROM orders").fetchone()
    assert (first.year, last.year) == (2024, 2025)


def test_daily_and_weekly_rhythm(tiny_clone):
    by_hour = dict(tiny_clone.execute("SELECT extract(hour FROM occurred_at)::int, count(*) FROM events GROUP BY 1"))
    assert by_hour[20] > 5 * by_hour[3]
    by_dow = dict(tiny_clone.execute("SELECT extract(isodow FROM occurred_at)::int, count(*) FROM events GROUP BY 1"))
    assert by_dow[6] > 1.15 * by_dow[2]


def test_orders_per_user_are_heavy_tailed(tiny_clone):
    top, mean, without = tiny_clone.execute("""
        WITH per_user AS (SELECT u.id, count(o.id) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id)
        SELECT max(n), avg(n), count(*) FILTER (WHERE n = 0) FROM per_user""").fetchone()
    assert top > 30 * float(mean) and without > 0


def test_product_popularity_and_tags_are_skewed(tiny_clone):
    top_share = tiny_clone.execute("""
        SELECT sum(n) FILTER (WHERE rk <= 10)::float / sum(n) FROM (
            SELECT count(*) AS n, row_number() OVER (ORDER BY count(*) DESC) AS rk FROM order_items GROUP BY product_id) s
    """).fetchone()[0]
    assert top_share > 0.3  # ten products out of 300 sell a third of the lines
    tags = [n for _, n in tiny_clone.execute("SELECT tag, count(*) FROM products, unnest(tags) tag GROUP BY 1 ORDER BY 2 DESC")]
    assert tags[0] > 5 * tags[len(tags) // 2]


def test_primary_key_lookup_and_keyset_use_the_index(tiny_clone):
    assert "Index Scan" in _node_types(tiny_clone, "SELECT * FROM orders WHERE id = 42")
    keyset = _node_types(tiny_clone, "SELECT * FROM orders WHERE id > 9000 ORDER BY id LIMIT 20")
    assert "Index Scan" in keyset and "Sort" not in keyset


def test_emails_mixed_case_unique_among_live_users_and_reused_by_deleted_ones(tiny_clone):
    db = tiny_clone
    mixed, deleted = db.execute("SELECT count(*) FILTER (WHERE email <> lower(email)), avg((deleted_at IS NOT NULL)::int) FROM users").fetchone()
    assert mixed > 100 and 0.03 < float(deleted) < 0.07
    reused = db.execute("""SELECT count(*) FROM users d JOIN users l ON lower(l.email) = lower(d.email)
                           WHERE d.deleted_at IS NOT NULL AND l.deleted_at IS NULL""").fetchone()[0]
    assert reused > 0
    assert db.execute("SELECT count(*) FROM (SELECT lower(email) FROM users WHERE deleted_at IS NULL GROUP BY 1 HAVING count(*) > 1) d").fetchone()[0] == 0


def test_only_the_indexes_a_good_schema_has(tiny_clone):
    defs = [r[0] for r in tiny_clone.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")]
    assert not [d for d in defs if "USING brin" in d or "INCLUDE" in d]
    assert not [d for d in defs if " WHERE " in d and "users_email_live_key" not in d]
    assert any("USING gin (search_vector)" in d for d in defs)
    # every foreign key column is the leading column of some index
    unindexed = tiny_clone.execute("""
        SELECT c.conrelid::regclass, c.conname FROM pg_constraint c WHERE c.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])""").fetchall()
    assert unindexed == []


def test_categories_form_a_five_level_tree(tiny_clone):
    depth = tiny_clone.execute("""
        WITH RECURSIVE tree AS (SELECT id, 1 AS depth FROM categories WHERE parent_id IS NULL
            UNION ALL SELECT c.id, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id)
        SELECT max(depth) FROM tree""").fetchone()[0]
    assert depth == 5


def test_bookings_never_overlap_so_the_exclusion_constraint_can_be_added(tiny_clone):
    tiny_clone.execute("""ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap
        EXCLUDE USING gist (room_id WITH =, daterange(check_in, check_out) WITH &&)""")


def test_full_text_search_finds_products(tiny_clone):
    plan_sql = "SELECT id FROM products WHERE search_vector @@ websearch_to_tsquery('english', 'free shipping')"
    assert tiny_clone.execute(f"SELECT count(*) FROM ({plan_sql}) s").fetchone()[0] > 0
    assert tiny_clone.execute("SELECT count(*) FROM products WHERE metadata ? 'gift_wrap'").fetchone()[0] > 0
