"""Course databases carry their own locale and settings: a clone prints the same whatever the server says."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from pgcourse import extensions
from pgcourse.datasets import portable


def _settings(conn) -> dict[str, str]:
    row = conn.execute("SELECT setconfig FROM pg_db_role_setting WHERE setrole = 0 "
                       "AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()
    return dict(item.split("=", 1) for item in (row[0] if row else []))


def test_a_clone_has_the_builtin_locale_and_the_fixed_settings(tiny_clone):
    name = tiny_clone.info.dbname
    assert portable.has_fixed_locale(tiny_clone, name)
    fixed = _settings(tiny_clone)
    assert {k: fixed[k] for k in ("TimeZone", "DateStyle", "IntervalStyle", "jit", "random_page_cost",
                                  "effective_cache_size", "work_mem")} == {
        "TimeZone": "UTC", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres", "jit": "off",
        "random_page_cost": "4", "effective_cache_size": "524288", "work_mem": "4096"}
    # what a session in the clone sees, whatever the server's postgresql.conf says
    assert tiny_clone.execute("SELECT current_setting('TimeZone'), '2024-03-10 12:00+00'::timestamptz::text").fetchone() == (
        "UTC", "2024-03-10 12:00:00+00")


def test_a_superuser_seed_has_both_optional_extensions_and_needs_says_nothing(tiny_clone):
    out = io.StringIO()
    with redirect_stdout(out):
        usable = [extensions.needs(name, tiny_clone) for name in extensions.OPTIONAL_EXTENSIONS]
    assert usable == [True, True] and out.getvalue() == ""
