"""Your own server: a stock PostgreSQL 18 (en_US.UTF-8, another time zone, no preload) and a non-superuser role.

A second cluster is started from the embedded binaries as an instructor's or a managed service's
would be: initdb's libc ``en_US.UTF-8`` locale, PostgreSQL's default settings, the clock in New
York. The course's databases there must sort, compare and print as on the course's own server,
and a CREATEDB/CREATEROLE role must seed and grade after the administrator's SQL
(``pgcourse admin-sql``), and fail with one clear line before it.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from contextlib import redirect_stdout
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgcourse import chapter as chapter_db
from pgcourse import datasets
from pgcourse import extensions
from pgcourse.extensions import ASK_ADMIN
from pgcourse.server import Server, client_bin_dir, settings
from pgcourse.server.embedded import EmbeddedCluster, tail

LOCALE = "en_US.UTF-8"
ROLE = "course_admin"
ROLE_PASSWORD = "own-server-" + uuid.uuid4().hex[:12]
PROJECT = Path(__file__).resolve().parents[2]


def _has_locale() -> bool:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    return "en_us.utf8" in out


def ensure_locale() -> str | None:
    """Make en_US.UTF-8 available (localedef, else apt-get install locales, as root); why not, or None."""
    if _has_locale():
        return None
    if os.geteuid() != 0:
        return (f"{LOCALE} is not installed and the tests are not root "
                f"(apt-get install locales; localedef -i en_US -f UTF-8 {LOCALE})")
    if shutil.which("localedef") is None or not Path("/usr/share/i18n/locales/en_US").exists():
        subprocess.run(["apt-get", "install", "-y", "locales"], capture_output=True, timeout=300)
    if shutil.which("localedef"):
        subprocess.run(["localedef", "-i", "en_US", "-f", "UTF-8", LOCALE], capture_output=True, timeout=120)
    return None if _has_locale() else f"could not generate {LOCALE} (no locales package?)"


class StockCluster(EmbeddedCluster):
    """An embedded cluster initialised and configured like a stock server: libc en_US.UTF-8, default settings."""

    def _run(self, program: str, *args: str, **kwargs):
        if program == "initdb":
            args = (*(a for a in args if a not in settings.INITDB_ARGS), "--encoding=UTF8",
                    "--locale-provider=libc", f"--locale={LOCALE}")
        return super()._run(program, *args, **kwargs)

    def _write_conf(self, port: int) -> None:
        super()._write_conf(port)
        conf = self.data_dir / "pgcourse.conf"
        # no shared_preload_libraries, no jit off, track_io_timing off: only where to listen, and a zone
        conf.write_text(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                        "timezone = 'America/New_York'\nrandom_page_cost = 1.1\neffective_cache_size = '64MB'\n")


@pytest.fixture(scope="module")
def stock() -> Server:
    """The stock server, as its superuser.

    In a folder of its own, not pytest's tmp_path: pytest deletes all but the newest three of its
    temporary folders, and another pytest run on the machine could remove a running cluster's files.
    """
    why = ensure_locale()
    if why:
        pytest.skip(why)
    home = Path(tempfile.mkdtemp(prefix="pgcourse-stock-"))
    cluster = StockCluster(home / "cluster")
    try:
        server = cluster.start().server
        yield server
    finally:
        print(tail(cluster.log_file, 40))  # shown when a test failed
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tmp_path() -> Path:
    """A private temporary folder (see :func:`stock` for why not pytest's)."""
    path = Path(tempfile.mkdtemp(prefix="pgcourse-own-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _role_url(server: Server) -> str:
    return server.url.replace(f"{settings.SUPERUSER}:{server.password}@", f"{ROLE}:{ROLE_PASSWORD}@", 1)


@pytest.fixture(scope="module")
def course_role(stock: Server) -> Server:
    """A role with CREATEDB and CREATEROLE only: what README says is enough, and what managed services give."""
    with stock.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
            sql.Identifier(ROLE), sql.Literal(ROLE_PASSWORD)))
    return Server(backend="url", url=_role_url(stock))


def reset(stock: Server) -> None:
    """Undo the administrator's SQL: the role is back to CREATEDB and CREATEROLE only (tests run in any order)."""
    with stock.connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(ROLE)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'pgcourse_base'").fetchone():
            conn.execute("ALTER DATABASE pgcourse_base IS_TEMPLATE false")
            conn.execute("DROP DATABASE pgcourse_base")


def pgcourse_cli(*args: str, url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGCOURSE_")}
    env.update(PGCOURSE_DATABASE_URL=url, PGCOURSE_HOME=str(tmp_path / "home"), PGCOURSE_PROJECT=str(PROJECT))
    return subprocess.run([sys.executable, "-m", "pgcourse", *args], capture_output=True, text=True, env=env, timeout=600)


def psql(server: Server, script: str) -> subprocess.CompletedProcess:
    """Run a script with the bundled psql as the server's administrator, stopping at the first error."""
    return subprocess.run([str(client_bin_dir() / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-q"], input=script,
                          capture_output=True, text=True, env=server.client_env(), timeout=120)


def test_a_role_without_the_administrators_sql_fails_with_one_line(stock, course_role, tmp_path):
    reset(stock)
    done = pgcourse_cli("seed", "--size", "tiny", url=course_role.url, tmp_path=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"pgcourse: the role {ROLE} lacks what the course needs: createrole_self_grant")
    assert "`pgcourse admin-sql`" in last
    doctor = pgcourse_cli("doctor", url=course_role.url, tmp_path=tmp_path)
    assert "[FAIL] privileges: missing: createrole_self_grant = 'set, inherit'" in doctor.stdout


def test_after_the_required_sql_seed_skips_untrusted_extensions_in_one_line(stock, course_role, tmp_path):
    reset(stock)
    printed = pgcourse_cli("admin-sql", url=course_role.url, tmp_path=tmp_path)
    assert printed.returncode == 0, printed.stderr
    required = [line for line in printed.stdout.splitlines() if line.startswith("ALTER ROLE")]
    assert len(required) == 2
    ran = psql(stock, "\n".join(required) + "\n")
    assert ran.returncode == 0, ran.stderr
    done = pgcourse_cli("seed", "--size", "tiny", url=course_role.url, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (f"pgcourse: pgstattuple is not installed: chapter 11's bloat measurements will be skipped; {ASK_ADMIN}"
            in done.stdout.splitlines())
    assert "pgcourse: pgcourse_tiny matches datasets/manifest.json" in done.stdout
    assert any(line.startswith("pgcourse: pg_stat_statements is not installed: chapter 11's query statistics")
               for line in done.stdout.splitlines())
    with stock.connect("pgcourse_tiny") as conn:
        assert conn.execute("SELECT datlocprovider, datlocale FROM pg_database WHERE datname = current_database()"
                            ).fetchone() == ("b", "C.UTF-8")


def test_after_all_the_administrators_sql_seed_and_grade_work_as_the_role(stock, course_role, tmp_path):
    from tests.grading.conftest import solved_ch00
    import nbformat

    from pgcourse.grading import grade_notebook

    reset(stock)
    printed = pgcourse_cli("admin-sql", url=course_role.url, tmp_path=tmp_path)
    for _ in range(2):  # the administrator may run it twice
        ran = psql(stock, printed.stdout)
        assert ran.returncode == 0, ran.stderr
    doctor = pgcourse_cli("doctor", url=course_role.url, tmp_path=tmp_path)
    assert "FAIL" not in doctor.stdout
    assert "missing: pg_stat_statements is not in shared_preload_libraries" in doctor.stdout  # a restart is the admin's
    done = pgcourse_cli("seed", "--size", "tiny", "--force", url=course_role.url, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pgstattuple" not in done.stdout
    assert "pg_stat_statements is installed but not preloaded" in done.stdout
    assert "pgcourse_tiny matches datasets/manifest.json" in done.stdout
    out = io.StringIO()
    with course_role.connect("pgcourse_tiny") as conn, redirect_stdout(out):
        assert extensions.has_extension("pgstattuple", conn)
        assert not extensions.needs("pg_stat_statements", conn)
    assert out.getvalue() == ("pg_stat_statements is installed but not preloaded (shared_preload_libraries): "
                              f"chapter 11's query statistics will be skipped; {ASK_ADMIN}\n")

    path = tmp_path / "00_getting_started.ipynb"
    nb = solved_ch00()
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    nbformat.write(nb, path)
    grade = grade_notebook(path, course_role, size="tiny", cell_timeout=120)
    assert not grade.incidents, grade.incidents
    assert grade.exercises and all(e.status == "passed" for e in grade.exercises), [
        (e.exercise, e.message) for e in grade.exercises]


#: A table of our own, so a database made the plain way can be probed too.
SKU_TABLE = ("CREATE TABLE probe_skus (sku text PRIMARY KEY, note text); "
             "INSERT INTO probe_skus SELECT 'SKU-' || lpad(g::text, 6, '0'), repeat('x', 50) FROM generate_series(1, 20000) g; "
             "ANALYZE probe_skus")

#: Queries whose output depends on the locale, the time zone or the planner's settings.
PROBES = {
    "mixed-case sort": "SELECT string_agg(w, ' ' ORDER BY w) "
                       "FROM unnest(ARRAY['linda_b', 'LINDA_A', 'Linda_c', 'éa', 'eb', '_x']) w",
    "compare": "SELECT 'Straße' < 'strasse', upper('straße'), 'a' < 'B'",
    "timestamptz text": "SELECT '2024-03-10 12:00:00+00'::timestamptz::text, current_setting('TimeZone')",
    "now() prints UTC": "SELECT right(now()::text, 3)",
    "LIKE prefix plan": "EXPLAIN (COSTS OFF) SELECT * FROM probe_skus WHERE sku LIKE 'SKU-0001%'",
    "numbers and money": "SELECT 1234567.891::numeric::money::text, to_char(1234.5, '9G999D99'), 0.1::float8 + 0.2",
    "interval": "SELECT interval '1 day 2 hours', '2024-01-31'::date + interval '1 month'",
}

#: Plans on the dataset itself (only in course databases).
DATASET_PROBES = {
    "products LIKE plan": "EXPLAIN (COSTS OFF) SELECT * FROM products WHERE sku LIKE 'DEMO-%'",
    "join plan": "EXPLAIN (COSTS OFF) SELECT u.email, count(*) FROM users u JOIN orders o ON o.user_id = u.id "
                 "WHERE o.status = 'cancelled' GROUP BY u.email",
    "sorted names": "SELECT string_agg(name, '|' ORDER BY name) FROM (SELECT name FROM products ORDER BY id LIMIT 40) p",
}


def _outputs(server: Server, dbname: str, probes: dict[str, str]) -> dict[str, list]:
    with server.connect(dbname) as conn:
        conn.execute(SKU_TABLE)
        return {name: conn.execute(query).fetchall() for name, query in probes.items()}


@pytest.fixture
def databases(pg_server, stock):
    """A clone of tiny on each server, and a database made the plain way on the stock server (the 'before')."""
    datasets.ensure(pg_server, "tiny")
    datasets.ensure(stock, "tiny")
    name = f"t_own_{uuid.uuid4().hex[:8]}"
    plain = f"{name}_plain"
    with pg_server.connect() as ours, stock.connect() as theirs:
        datasets.clone(ours, "tiny", name)
        datasets.clone(theirs, "tiny", name)
        theirs.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(plain)))
    yield name, plain
    with pg_server.connect() as ours, stock.connect() as theirs:
        ours.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        for n in (name, plain):
            theirs.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(n)))


def test_course_databases_sort_compare_and_print_the_same_on_both_servers(pg_server, stock, databases):
    name, plain = databases
    probes = PROBES | DATASET_PROBES
    ours, theirs = _outputs(pg_server, name, probes), _outputs(stock, name, probes)
    assert theirs == ours
    assert ours["timestamptz text"] == [("2024-03-10 12:00:00+00", "UTC")]
    assert ours["mixed-case sort"] == [("LINDA_A Linda_c _x eb linda_b éa",)]
    # the same probes in a database made the plain way on that server: what the fixed locale and settings prevent
    before = _outputs(stock, plain, PROBES)
    differ = {k for k in PROBES if before[k] != ours[k]}
    print({k: (before[k], ours[k]) for k in sorted(differ)})
    assert {"mixed-case sort", "compare", "timestamptz text", "LIKE prefix plan"} <= differ, (before, ours)


#: The solutions whose outputs differed on a stock server before databases got a fixed locale and settings
#: (sort order in 02 and 03, time stamps in 02, plans in 03).
STOCK_NBVAL = ("00_getting_started.ipynb", "02_data_types.ipynb", "03_constraints.ipynb")


@pytest.mark.slow
def test_the_solutions_reproduce_their_outputs_on_a_stock_server(stock, tmp_path):
    """nbval of the solutions against the stock en_US.UTF-8 server, as the suite runs them against its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGCOURSE_")}
    env.update(PGCOURSE_DATABASE_URL=stock.url, PGCOURSE_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           *(str(PROJECT / "solutions" / name) for name in STOCK_NBVAL)],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-4000:]
