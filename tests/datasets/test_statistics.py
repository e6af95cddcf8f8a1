"""After a seed, pg_stats and plans are the manifest's: restored statistics are exactly what ANALYZE computes."""

from __future__ import annotations

from pgcourse.datasets import manifest, seed, statistics


def _differing(actual: dict[str, str], recorded: dict[str, str]) -> list[str]:
    return sorted(r for r in set(actual) | set(recorded) if actual.get(r) != recorded.get(r))


def test_a_seeded_template_has_the_statistics_the_manifest_records(tiny_clone):
    recorded = manifest.entry("tiny")["statistics"]
    actual = statistics.digests(statistics.export(tiny_clone))
    assert _differing(actual, recorded) == []
    assert {"orders", "events", "users_email_live_key"} <= set(recorded)  # tables, and an expression index


def test_reference_plans_are_the_manifests(tiny_clone):
    recorded = manifest.entry("tiny")["plans"]
    assert set(recorded) == set(statistics.PLANS)
    assert statistics.plans(tiny_clone) == recorded


def test_the_stored_statistics_are_what_a_whole_table_analyze_computes(pg_server, tiny_clone):
    """The maintainer's way (ANALYZE reading whole tables) run again in a clone gives the same pg_stats."""
    sampled, whole = seed._statistics_jobs(pg_server, tiny_clone.info.dbname)
    for statement in sampled + whole:
        tiny_clone.execute(statement)
    assert _differing(statistics.digests(statistics.export(tiny_clone)), manifest.entry("tiny")["statistics"]) == []


def test_restoring_over_other_statistics_leaves_exactly_the_stored_ones(tiny_clone):
    tiny_clone.execute("SET default_statistics_target = 10")
    tiny_clone.execute("ANALYZE")  # a small random sample: other MCV lists and histograms
    assert _differing(statistics.digests(statistics.export(tiny_clone)), manifest.entry("tiny")["statistics"]) != []
    statistics.restore(tiny_clone, statistics.load("tiny"))
    assert _differing(statistics.digests(statistics.export(tiny_clone)), manifest.entry("tiny")["statistics"]) == []
    mcv = tiny_clone.execute("SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'orders' "
                             "AND attname = 'status'").fetchone()[0]
    assert mcv.startswith("{completed,")  # what the planner reads: the skew chapter 04 relies on


def test_the_statistics_file_matches_the_manifest_for_every_recorded_size():
    for size in ("tiny", "small", "large"):
        stored = statistics.load(size)
        assert stored is not None, f"datasets/statistics/{size}.json.gz is missing"
        assert statistics.digests(stored) == manifest.entry(size)["statistics"], size
        # taken from the very bytes the manifest records: the seed restores them only onto those
        assert stored["streams"] == {t: v["stream"] for t, v in manifest.expected(size).items()}, size


def test_statistics_recorded_from_other_data_are_computed_instead(pg_server, tiny, monkeypatch):
    import uuid

    from pgcourse.datasets import portable

    stale = statistics.load("tiny")
    stale["streams"] = dict(stale["streams"], orders="0" * 16)
    monkeypatch.setattr(statistics, "load", lambda size: stale)
    name = f"t_stats_{uuid.uuid4().hex[:8]}"
    with pg_server.connect() as conn:
        portable.create_empty(conn, name)
    try:
        notes: list[str] = []
        seed.build(pg_server, name, "tiny", notes)
        assert any("recorded from other data" in n and "statistics computed by ANALYZE" in n for n in notes), notes
        with pg_server.connect(name) as conn:  # for tiny, ANALYZE of whole tables gives the stored numbers
            assert _differing(statistics.digests(statistics.export(conn)), manifest.entry("tiny")["statistics"]) == []
    finally:
        with pg_server.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
