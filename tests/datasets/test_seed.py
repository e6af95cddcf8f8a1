"""Seeding tiny: manifest match, idempotence, --force, and recovery from an interrupted seed."""

from __future__ import annotations

import pytest

from pgcourse import datasets
from pgcourse.datasets import manifest, seed
from pgcourse.datasets.tables import orders as orders_module
from pgcourse.errors import DatasetError


def test_tiny_matches_the_committed_manifest(pg_server, tiny):
    assert tiny.matches_manifest, tiny.manifest_differences
    report = datasets.verify(pg_server, "tiny")
    assert report.ok, report.differences
    assert report.rows == {t: v["rows"] for t, v in manifest.expected("tiny").items()}
    assert datasets.is_seeded(pg_server, "tiny")


def test_seeding_again_does_nothing(pg_server, tiny):
    again = datasets.ensure(pg_server, "tiny")
    assert not again.seeded and again.rows == tiny.rows and again.matches_manifest


def test_force_rebuilds_the_same_rows(pg_server, tiny):
    rebuilt = datasets.ensure(pg_server, "tiny", force=True)
    assert rebuilt.seeded and rebuilt.matches_manifest, rebuilt.manifest_differences
    assert rebuilt.rows == tiny.rows and rebuilt.phases.keys() >= {"load", "constraints", "vacuum", "checksums"}


def test_template_is_complete_and_clonable(pg_server, tiny, tiny_clone):
    with pg_server.connect() as conn:
        is_template, = conn.execute("SELECT datistemplate FROM pg_database WHERE datname = 'pgcourse_tiny'").fetchone()
        others = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'pgcourse_tiny'").fetchone()[0]
    assert is_template and others == 0
    extensions = {r[0] for r in tiny_clone.execute("SELECT extname FROM pg_extension")}
    assert {"btree_gist", "pg_trgm", "pgstattuple", "pg_stat_statements"} <= extensions
    schemas = {r[0] for r in tiny_clone.execute(
        "SELECT DISTINCT schemaname FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")}
    assert schemas == {"public"}


def test_interrupted_seed_never_looks_complete_and_the_next_run_recovers(pg_server, tiny, monkeypatch):
    real = orders_module._order_items

    def dies_midway(world):
        for i, chunk in enumerate(real(world)):
            yield chunk
            raise KeyboardInterrupt("simulated Ctrl-C in the middle of order_items")

    monkeypatch.setattr(orders_module, "_order_items", dies_midway)
    # a rebuild that dies keeps the previous complete template untouched
    with pytest.raises(KeyboardInterrupt):
        datasets.ensure(pg_server, "tiny", force=True)
    assert datasets.is_seeded(pg_server, "tiny") and datasets.verify(pg_server, "tiny").ok

    # a first seed that dies leaves nothing that looks complete
    with pg_server.connect() as conn:
        seed._drop(conn, "pgcourse_tiny")
    with pytest.raises(KeyboardInterrupt):
        datasets.ensure(pg_server, "tiny")
    assert not datasets.is_seeded(pg_server, "tiny")
    with pg_server.connect() as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'pgcourse_tiny%'")}
    assert "pgcourse_tiny" not in names
    with pytest.raises(DatasetError, match="pgcourse seed --size tiny"):
        datasets.verify(pg_server, "tiny")

    # a process killed outright leaves a half-filled __building database behind
    with pg_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{seed.building_name("tiny")}"')
    with pg_server.connect(seed.building_name("tiny")) as conn:
        conn.execute("CREATE TABLE users (id bigint)")
    assert not datasets.is_seeded(pg_server, "tiny")

    monkeypatch.setattr(orders_module, "_order_items", real)
    recovered = datasets.ensure(pg_server, "tiny")
    assert recovered.seeded and recovered.matches_manifest
    assert datasets.is_seeded(pg_server, "tiny")
    with pg_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                            [seed.building_name("tiny")]).fetchone()[0] == 0


def test_a_template_without_its_marker_is_not_seeded(pg_server, tiny):
    with pg_server.connect() as conn:
        conn.execute("COMMENT ON DATABASE pgcourse_tiny IS NULL")
    try:
        assert not datasets.is_seeded(pg_server, "tiny")
    finally:
        assert datasets.ensure(pg_server, "tiny").seeded  # rebuilt, marker back


def test_sizes_and_names(monkeypatch):
    assert datasets.SIZES == ("tiny", "small", "large")
    assert datasets.template_name("small") == "pgcourse_small"
    monkeypatch.delenv("PGCOURSE_DATASET_SIZE", raising=False)
    assert datasets.default_size() == datasets.DEFAULT_SIZE == "small"
    monkeypatch.setenv("PGCOURSE_DATASET_SIZE", "tiny")
    assert datasets.default_size() == "tiny"
    monkeypatch.setenv("PGCOURSE_DATASET_SIZE", "huge")
    with pytest.raises(DatasetError, match="tiny, small, large"):
        datasets.default_size()
    with pytest.raises(DatasetError):
        datasets.template_name("huge")


def test_every_size_has_a_committed_manifest_entry():
    for size in datasets.SIZES:
        entry = manifest.expected(size)
        assert entry and set(entry) == set(manifest.expected("tiny")), size
    assert max(v["rows"] for v in manifest.expected("large").values()) >= 10_000_000


def test_the_seed_checks_the_bytes_it_sent_and_reads_back_only_server_computed_tables(pg_server, tiny):
    """A seed hashes the COPY stream; only products (a generated tsvector) is checksummed on the server."""
    wanted = manifest.expected("tiny")
    assert all("stream" in v and "checksum" in v for v in wanted.values())  # the maintainer computed both
    with pg_server.connect() as conn:
        marker = seed.read_marker(conn, "pgcourse_tiny")
    assert {t for t, v in marker["tables"].items() if "checksum" in v} == {"products"}
    assert manifest.differences(marker["tables"], wanted) == []
    other = {t: dict(v, stream="0" * 16) if t == "orders" else v for t, v in wanted.items()}
    assert manifest.differences(other, wanted) == [
        f"orders: same row count but different content (stream {'0' * 16} != {wanted['orders']['stream']})"]
    rows_only = {t: {"rows": v["rows"]} for t, v in wanted.items()}
    assert "no checksum to compare" in manifest.differences(rows_only, wanted)[0]


def test_a_seeded_table_keeps_no_option_the_seed_set_while_loading(tiny_clone):
    """Autovacuum is off while the seed works on a table, and back to the schema's default after."""
    assert tiny_clone.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                              "AND reloptions IS NOT NULL").fetchone()[0] == 0
