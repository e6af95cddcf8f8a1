"""A second, differently seeded dataset (``pgcourse_sample``, cloned once from the ``tiny`` template).

Checks run the learner's query there too, read-only and as the learner, and compare it with the
reference query there: an answer that hard-codes numbers seen in the chapter database fails.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

#: The sample database every chapter's checks share (read-only for learners).
SAMPLE_DB = "pgcourse_sample"
#: Its dataset size: different from the chapters' default, so the data differ.
SAMPLE_SIZE = "tiny"


def ensure_sample(server, role: str) -> str:
    """Create the sample database once and let ``role`` read it (idempotent, safe against races)."""
    from .. import datasets
    from ..chapter import CHECKER_ROLE, ensure_checker_role

    with server.connect() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [SAMPLE_DB]).fetchone() is None:
            datasets.ensure(server, SAMPLE_SIZE)
            try:
                datasets.clone(conn, SAMPLE_SIZE, SAMPLE_DB)
            except psycopg.errors.DuplicateDatabase:
                pass  # another check made it meanwhile
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(SAMPLE_DB)))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(SAMPLE_DB), sql.Literal(f"pgcourse: second sample for checks, dataset {SAMPLE_SIZE}")))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(SAMPLE_DB), sql.Identifier(role)))
        if ensure_checker_role(server):
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(SAMPLE_DB), sql.Identifier(CHECKER_ROLE)))
    with server.connect(SAMPLE_DB) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {0}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {0}").format(
            sql.Identifier(role)))
    return SAMPLE_DB
