"""What makes a course database sort, compare and print the same on every server.

A server the course does not run (a managed service, an instructor's own) has its own initdb
locale and its own postgresql.conf. So the dataset templates are created from ``template0`` with
a fixed locale (PostgreSQL 17+'s builtin provider, ``C.UTF-8``: code-point order, the same
everywhere), and every course database gets fixed per-database settings for what outputs depend
on: the clock zone and date styles, number formats, planner costs and memory. ``ALTER DATABASE
... SET`` is not copied by ``CREATE DATABASE ... TEMPLATE``: :func:`apply_settings` runs for the
template and again for each clone.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

#: libc locale for LC_COLLATE/LC_CTYPE (the text search parser still reads LC_CTYPE), else "C".
LIBC_LOCALES = ("C.UTF-8", "C")

#: Settings fixed in every course database: the course's server values (pgcourse/server/settings.py
#: and PostgreSQL's defaults), whatever the server's postgresql.conf or initdb locale says.
FIXED_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",  # timestamps print +00 / UTC, not the server's zone
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "lc_monetary": "C.UTF-8",  # lc_*: C.UTF-8, or C where the server has no C.UTF-8 (see libc_locale)
    "lc_numeric": "C.UTF-8",
    "lc_time": "C.UTF-8",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "standard_conforming_strings": "on",
    "default_text_search_config": "pg_catalog.english",  # initdb picks it from the locale
    "default_toast_compression": "pglz",  # pg_column_size() of compressed values
    "jit": "off",  # no JIT sections in plans
    "lc_messages": "C.UTF-8",  # English errors; superuser-only unless granted (GRANT SET ON PARAMETER)
    "track_io_timing": "on",  # I/O Timings lines in EXPLAIN (ANALYZE, BUFFERS); superuser-only unless granted
}

#: Settings outside "Query Tuning" that change plans or what EXPLAIN prints: fixed to their defaults too.
PLAN_SETTINGS = ("work_mem", "hash_mem_multiplier", "max_parallel_workers_per_gather", "max_parallel_workers",
                 "max_parallel_maintenance_workers", "effective_io_concurrency", "maintenance_io_concurrency",
                 "temp_buffers")

#: Settings a non-superuser may not set unless an administrator granted SET on them: skipped quietly.
PRIVILEGED_SETTINGS = ("lc_messages", "track_io_timing")


def planner_defaults(conn: psycopg.Connection) -> dict[str, str]:
    """PostgreSQL's built-in value of every planner setting (random_page_cost, effective_cache_size...).

    A managed service tunes them to its machines (RDS sizes effective_cache_size from memory): a
    plan shown in a chapter then changes. The values are in each setting's own unit.
    """
    rows = conn.execute(
        "SELECT name, boot_val FROM pg_settings WHERE context = 'user' AND boot_val IS NOT NULL "
        "AND (category LIKE 'Query Tuning%%' OR name = ANY(%s)) ORDER BY name", [list(PLAN_SETTINGS)])
    return {name: value for name, value in rows}


def database_settings(conn: psycopg.Connection) -> dict[str, str]:
    """Every per-database setting a course database gets: planner defaults, then :data:`FIXED_SETTINGS`."""
    libc = libc_locale(conn)
    fixed = {k: (libc if k.startswith("lc_") else v) for k, v in FIXED_SETTINGS.items()}
    return planner_defaults(conn) | fixed


def apply_settings(conn: psycopg.Connection, dbname: str) -> list[str]:
    """``ALTER DATABASE dbname SET`` every :func:`database_settings`; returns the privileged ones skipped."""
    statements, skipped = [], []
    for name, value in database_settings(conn).items():
        statement = sql.SQL("ALTER DATABASE {} SET {} = {}").format(
            sql.Identifier(dbname), sql.Identifier(name), sql.Literal(value))
        if name not in PRIVILEGED_SETTINGS:
            statements.append(statement)
            continue
        try:
            with conn.transaction():
                conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            skipped.append(name)
    conn.execute(sql.SQL("; ").join(statements))  # one round trip: clones are made by the dozen in tests
    return skipped


def libc_locale(conn: psycopg.Connection) -> str:
    """The first of :data:`LIBC_LOCALES` the server knows (``C.UTF-8`` on Debian, RDS and the image)."""
    known = {r[0].lower().replace("-", "") for r in conn.execute(
        "SELECT collcollate FROM pg_collation WHERE collprovider = 'c' AND collcollate IS NOT NULL")}
    for name in LIBC_LOCALES[:-1]:
        if name.lower().replace("-", "") in known:
            return name
    return LIBC_LOCALES[-1]


def locale_clause(conn: psycopg.Connection) -> sql.Composed:
    """``CREATE DATABASE`` options for the course's fixed locale (from template0 only)."""
    libc = libc_locale(conn)
    return sql.SQL("ENCODING 'UTF8' LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LC_COLLATE {0} LC_CTYPE {0}").format(
        sql.Literal(libc))


def has_fixed_locale(conn: psycopg.Connection, dbname: str) -> bool:
    """True when ``dbname`` uses the builtin C.UTF-8 locale in UTF8 (what the course creates)."""
    row = conn.execute(
        "SELECT datlocprovider = 'b' AND datlocale = 'C.UTF-8' AND pg_encoding_to_char(encoding) = 'UTF8' "
        "FROM pg_database WHERE datname = %s", [dbname]).fetchone()
    return bool(row and row[0])


def create_empty(conn: psycopg.Connection, dbname: str, *, template: str | None = None) -> None:
    """``CREATE DATABASE dbname`` with the fixed locale, from template0 (or ``template``, already fixed), settings applied."""
    if template:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(dbname), sql.Identifier(template)))
    else:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 {}").format(sql.Identifier(dbname), locale_clause(conn)))
    apply_settings(conn, dbname)
