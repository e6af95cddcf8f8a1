"""Chapter 12 checks, both ways, on the tiny dataset: dumps written with the bundled pg_dump in other
forms pass, typical mistakes (another format, a table missing or extra, schema or data only, a stale
dump, a restore with -t alone, a recovery to the wrong moment) fail with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgcourse.backup import run
from pgcourse.chapter import scratch_name
from pgcourse.checks import ch12_backup as C
from pgcourse.checks import run_check
from pgcourse.magics import save_answer
from pgcourse.server import with_database

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "12_backup.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("12", size="tiny")
    with chapter.connect() as conn:
        for statement in C.PRICE_LIST_SETUP.split(";\n"):
            conn.execute(statement)
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


def dump(ch, folder: Path, *args: str) -> None:
    """Run the bundled pg_dump (or another program) as the learner, in ``folder``."""
    program, *rest = args if args[0].startswith("pg_") or args[0] == "psql" else ("pg_dump", *args)
    run(program, *rest, url=ch.url, cwd=folder, show=False)


def sql(ch, *statements: str, database: str | None = None) -> None:
    url = with_database(ch.url, database) if database else ch.url
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def passes(ch, exercise: str, value=None) -> None:
    if value is not None:
        save_answer(ch, exercise, value=value)
    result = run_check(exercise, ch)
    assert result.passed, result.line()


def fails(ch, exercise: str, *words: str, value=None) -> None:
    if value is not None:
        save_answer(ch, exercise, value=value)
    result = run_check(exercise, ch)
    assert result.status == "failed", result.line()
    assert result.hint, result.line()
    for word in words:
        assert word in result.message + " " + result.hint, result.line()


def test_the_notebook_shows_the_sql_the_checks_use():
    nb = json.loads(SOLUTION.read_text())
    text = "\n".join("".join(cell["source"]) for cell in nb["cells"])
    for shown in (C.PRICE_LIST_SETUP, C.PRICE_LIST_ACCIDENT, C.LAB_RENOVATION, C.LAB_ACCIDENT, C.LAB_AFTER, C.CHECKSUM):
        assert shown in text


# ---- 12.1 plain dump ----------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    ["-t", "categories", "-t", "rooms"],
    ["--table=rooms", "--table=categories", "--inserts"],
    ["-t", "categories", "-t", "rooms", "--rows-per-insert=7", "--no-owner"],
    ["-t", "categories", "-t", "rooms", "--column-inserts", "--quote-all-identifiers"],
    ["-t", "categories", "-t", "rooms", "-Z", "5"],  # a gzip-compressed plain dump
])
def test_12_1_plain_dumps_of_both_tables_pass(ch, tmp_path, options):
    dump(ch, tmp_path, *options, "-f", "out.sql")
    passes(ch, "12.1", str(tmp_path / "out.sql"))


@pytest.mark.parametrize("options, words", [
    (["-Fc", "-t", "categories", "-t", "rooms"], ["not a plain-format dump"]),
    (["-t", "categories", "-t", "rooms", "--schema-only"], ["no rows of categories", "schema-only"]),
    (["-t", "categories", "-t", "rooms", "--data-only"], ["does not create categories"]),
    (["-t", "rooms"], ["does not create categories"]),
    (["-t", "categories", "-t", "rooms", "-t", "roles"], ["also holds roles"]),
])
def test_12_1_wrong_dumps_fail_saying_what_is_wrong(ch, tmp_path, options, words):
    dump(ch, tmp_path, *options, "-f", "out.sql")
    fails(ch, "12.1", *words, value=str(tmp_path / "out.sql"))


def test_12_1_a_dump_older_than_the_table_fails_with_both_counts(ch, tmp_path):
    dump(ch, tmp_path, "-t", "categories", "-t", "rooms", "-f", "out.sql")
    sql(ch, "INSERT INTO rooms (name, capacity) VALUES ('Room X', 3)")
    fails(ch, "12.1", "rows of rooms; the table has", value=str(tmp_path / "out.sql"))


def test_12_1_paths_that_are_missing_relative_or_not_saved_fail(ch, tmp_path):
    fails(ch, "12.1", "no answer saved")
    fails(ch, "12.1", "relative", value="catalog.sql")
    fails(ch, "12.1", "no file", value=str(tmp_path / "nothing.sql"))
    fails(ch, "12.1", "not a path", value=12)


# ---- 12.2 prediction ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["no", " No ", False])
def test_12_2_predicting_no_passes(ch, value):
    passes(ch, "12.2", value)


@pytest.mark.parametrize("value, words", [("yes", ["pg_restore answered 'no'"]), ("maybe", ["neither"])])
def test_12_2_other_predictions_fail(ch, value, words):
    fails(ch, "12.2", *words, value=value)


# ---- 12.3 / 12.4 archives -------------------------------------------------------------------------------
THREE = ["-t", "categories", "-t", "rooms", "-t", "price_list"]


@pytest.mark.parametrize("options", [["-Fc", *THREE], ["--format=custom", "-Z", "0", "--table=price_list",
                                                       "--table=rooms", "--table=categories"]])
def test_12_3_custom_dumps_pass(ch, tmp_path, options):
    dump(ch, tmp_path, *options, "-f", "out.dump")
    passes(ch, "12.3", str(tmp_path / "out.dump"))


@pytest.mark.parametrize("options, words", [
    (["-Ft", *THREE], ["TAR archive", "custom format"]),
    (THREE, ["cannot read", "as an archive"]),
    (["-Fc", "-t", "categories", "-t", "rooms"], ["no definition of price_list"]),
    (["-Fc", *THREE, "--schema-only"], ["no rows of categories"]),
    (["-Fc", *THREE, "-t", "roles"], ["also holds the rows of roles"]),
])
def test_12_3_wrong_archives_fail(ch, tmp_path, options, words):
    dump(ch, tmp_path, *options, "-f", "out.dump")
    fails(ch, "12.3", *words, value=str(tmp_path / "out.dump"))


def test_12_3_a_directory_is_not_a_custom_dump(ch, tmp_path):
    dump(ch, tmp_path, "-Fd", *THREE, "-f", "out.dir")
    fails(ch, "12.3", "is a directory", value=str(tmp_path / "out.dir"))


@pytest.mark.parametrize("options", [["-Fd", *THREE], ["-Fd", "-j", "2", *THREE], ["-Fd", "-Z", "0", *THREE]])
def test_12_4_directory_dumps_pass_with_or_without_jobs(ch, tmp_path, options):
    dump(ch, tmp_path, *options, "-f", "out.dir")
    passes(ch, "12.4", str(tmp_path / "out.dir"))


@pytest.mark.parametrize("options, name, words", [
    (["-Fc", *THREE], "out.dump", ["is a file, not a directory"]),
    (["-Fd", "-t", "categories", "-t", "rooms"], "out.dir", ["no definition of price_list"]),
    (["-Fd", *THREE, "-t", "roles"], "out.dir", ["also holds the rows of roles"]),
])
def test_12_4_wrong_dumps_fail(ch, tmp_path, options, name, words):
    dump(ch, tmp_path, *options, "-f", name)
    fails(ch, "12.4", *words, value=str(tmp_path / name))


def test_12_4_a_directory_without_a_toc_fails(ch, tmp_path):
    (tmp_path / "empty.dir").mkdir()
    fails(ch, "12.4", "no toc.dat", value=str(tmp_path / "empty.dir"))


# ---- 12.5 one table over an accident ------------------------------------------------------------------
def test_12_5_restoring_price_list_with_clean_passes(ch, tmp_path):
    dump(ch, tmp_path, "-Fc", *THREE, "-f", "out.dump")
    sql(ch, C.PRICE_LIST_ACCIDENT)
    fails(ch, "12.5", "accident is still there")
    dump(ch, tmp_path, "pg_restore", "--clean", "--if-exists", "-t", "price_list", "-d", ch.database, "out.dump")
    passes(ch, "12.5")


def test_12_5_a_restore_by_psql_or_by_sql_passes_too(ch, tmp_path):
    dump(ch, tmp_path, "-t", "price_list", "-f", "prices.sql")
    sql(ch, C.PRICE_LIST_ACCIDENT, "DROP TABLE price_list")
    dump(ch, tmp_path, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", ch.database, "-f", "prices.sql")
    passes(ch, "12.5")
    sql(ch, C.PRICE_LIST_ACCIDENT, "UPDATE price_list p SET price = s.price FROM products s WHERE s.id = p.product_id")
    passes(ch, "12.5")


@pytest.mark.parametrize("statements, words", [
    (["DROP TABLE price_list"], ["no table price_list"]),
    (["ALTER TABLE price_list RENAME COLUMN price TO amount"], ["no column price"]),
    (["DELETE FROM price_list WHERE product_id = 7"], ["1 expected row is missing"]),
    (["UPDATE price_list SET price = price + 1 WHERE product_id = 3"], ["for 3", "price"]),
])
def test_12_5_a_table_not_as_it_was_fails(ch, statements, words):
    sql(ch, *statements)
    fails(ch, "12.5", *words)


# ---- 12.6 restore from a list ---------------------------------------------------------------------------
@pytest.fixture
def archive(ch, tmp_path) -> Path:
    dump(ch, tmp_path, "-Fc", *THREE, "-f", "out.dump")
    return tmp_path


def test_12_6_a_list_without_price_list_passes(ch, archive):
    dump(ch, archive, "pg_restore", "-l", "-f", "out.list", "out.dump")
    lines = (archive / "out.list").read_text().splitlines()
    (archive / "out.list").write_text("\n".join(line for line in lines if "price_list" not in line) + "\n")
    dump(ch, archive, "pg_restore", "-L", "out.list", "-d", scratch_name(ch.database), "out.dump")
    passes(ch, "12.6")


def test_12_6_a_plain_dump_run_by_psql_passes_too(ch, tmp_path):
    dump(ch, tmp_path, "-t", "categories", "-t", "rooms", "-f", "two.sql")
    dump(ch, tmp_path, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", scratch_name(ch.database), "-f", "two.sql")
    passes(ch, "12.6")


def test_12_6_restoring_with_t_alone_fails_naming_the_lost_constraint(ch, archive):
    dump(ch, archive, "pg_restore", "-t", "categories", "-t", "rooms", "-d", scratch_name(ch.database), "out.dump")
    fails(ch, "12.6", "no constraint categories_", "-l")


def test_12_6_restoring_everything_fails_because_of_price_list(ch, archive):
    dump(ch, archive, "pg_restore", "-d", scratch_name(ch.database), "out.dump")
    fails(ch, "12.6", "price_list is in the scratch database")


def test_12_6_an_empty_scratch_or_missing_rows_fail(ch, archive):
    fails(ch, "12.6", "no table categories")
    dump(ch, archive, "pg_restore", "-l", "-f", "out.list", "out.dump")
    lines = (archive / "out.list").read_text().splitlines()
    kept = [line for line in lines if "price_list" not in line and not ("TABLE DATA" in line and " rooms " in line)]
    (archive / "out.list").write_text("\n".join(kept) + "\n")
    dump(ch, archive, "pg_restore", "-L", "out.list", "-d", scratch_name(ch.database), "out.dump")
    fails(ch, "12.6", "rooms in the scratch database has 0 rows")


def test_12_6_a_missing_index_is_named(ch, archive):
    dump(ch, archive, "pg_restore", "-l", "-f", "out.list", "out.dump")
    sql(ch, "CREATE INDEX rooms_capacity_idx ON rooms (capacity)")
    lines = (archive / "out.list").read_text().splitlines()
    (archive / "out.list").write_text("\n".join(line for line in lines if "price_list" not in line) + "\n")
    dump(ch, archive, "pg_restore", "-L", "out.list", "-d", scratch_name(ch.database), "out.dump")
    fails(ch, "12.6", "no index rooms_capacity_idx")


# ---- 12.7 the verification query ------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    C.VERIFY_REFERENCE,
    """WITH c AS (SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY t.id)) AS h FROM categories t),
            r AS (SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY t.id)) AS h FROM rooms t)
       SELECT 'rooms', r.n, r.h FROM r UNION ALL SELECT 'categories', c.n, c.h FROM c""",
])
def test_12_7_verification_queries_pass(ch, query):
    save_answer(ch, "12.7", answer_sql=query)
    passes(ch, "12.7")


@pytest.mark.parametrize("query, words", [
    ("SELECT 'categories', count(*), md5(string_agg(t::text, ',' ORDER BY t.name)) FROM categories t "
     "UNION ALL SELECT 'rooms', count(*), md5(string_agg(t::text, ',' ORDER BY t.id)) FROM rooms t", ["categories"]),
    ("SELECT 'rooms', count(*), md5(string_agg(t::text, ',' ORDER BY t.id)) FROM rooms t", ["returns 1 row; expected 2"]),
])
def test_12_7_wrong_queries_fail(ch, query, words):
    save_answer(ch, "12.7", answer_sql=query)
    fails(ch, "12.7", *words)


def test_12_7_numbers_typed_in_fail_on_the_second_dataset(ch):
    sql(ch, "INSERT INTO rooms (name, capacity) VALUES ('Room X', 3)")  # the test's chapter is tiny, as the sample
    rows = ch.query(C.VERIFY_REFERENCE)
    typed = " UNION ALL ".join(f"SELECT '{a}', {b}, '{c}'" for a, b, c in rows)
    save_answer(ch, "12.7", answer_sql=typed)
    fails(ch, "12.7", "second sample dataset")


# ---- 12.8 roles ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [["--roles-only", "--no-role-passwords"], ["-g", "--no-role-passwords"]])
def test_12_8_roles_or_globals_dumped_as_the_learner_pass(ch, tmp_path, options):
    dump(ch, tmp_path, "pg_dumpall", *options, "-l", ch.database, "-f", "roles.sql")
    passes(ch, "12.8", str(tmp_path / "roles.sql"))


def test_12_8_other_files_fail(ch, tmp_path):
    dump(ch, tmp_path, "-t", "rooms", "-f", "rooms.sql")
    fails(ch, "12.8", "not pg_dumpall's output", value=str(tmp_path / "rooms.sql"))
    header = "--\n-- PostgreSQL database cluster dump\n--\n\n"
    (tmp_path / "other.sql").write_text(header + "CREATE ROLE someone_else;\n")
    fails(ch, "12.8", f"does not create your role {ch.role}", value=str(tmp_path / "other.sql"))
    (tmp_path / "all.sql").write_text(header + f"CREATE ROLE {ch.role};\nCREATE DATABASE shop;\n")
    fails(ch, "12.8", "databases' contents", value=str(tmp_path / "all.sql"))


# ---- 12.9 point-in-time recovery ------------------------------------------------------------------------
RECOVERED = "CREATE TABLE rooms_recovered (id bigint PRIMARY KEY, name text NOT NULL, capacity integer NOT NULL)"


def test_12_9_the_rooms_as_before_the_delete_pass(ch):
    sql(ch, RECOVERED, f"INSERT INTO rooms_recovered {C.PITR_EXPECTED}")
    passes(ch, "12.9")


def test_12_9_other_column_types_and_extra_columns_pass(ch):
    sql(ch, "CREATE TABLE rooms_recovered AS SELECT id::int AS id, name, capacity::bigint AS capacity, now() AS at "
            f"FROM ({C.PITR_EXPECTED}) AS s(id, name, capacity)")
    passes(ch, "12.9")


@pytest.mark.parametrize("fill, words", [
    (f"INSERT INTO rooms_recovered {C.PITR_AT_BACKUP}", ["base backup", "renovation"]),
    ("SELECT 1", ["empty", "replayed the DELETE"]),
    ("INSERT INTO rooms_recovered VALUES (1001, 'Annex', 4)", ["Annex", "past its target"]),
    (f"INSERT INTO rooms_recovered {C.PITR_EXPECTED} OFFSET 1", ["missing"]),
])
def test_12_9_recoveries_to_the_wrong_moment_fail(ch, fill, words):
    sql(ch, RECOVERED, fill)
    if "Annex" in fill:
        sql(ch, f"INSERT INTO rooms_recovered {C.PITR_EXPECTED}")
    fails(ch, "12.9", *words)


def test_12_9_no_table_fails(ch):
    fails(ch, "12.9", "no table rooms_recovered")


# ---- the audit's answers in other shapes (issue 14) ------------------------------------------------------
@pytest.mark.parametrize("options", [
    ["-t", "categories", "-t", "rooms", "--rows-per-insert=7", "--on-conflict-do-nothing"],
    ["-t", "categories", "-t", "rooms", "--inserts", "--on-conflict-do-nothing"],
    ["--table=public.rooms", "--table=public.categories", "--clean", "--if-exists", "--no-privileges"],
])
def test_12_1_inserts_with_on_conflict_qualified_names_and_clean_pass(ch, tmp_path, options):
    dump(ch, tmp_path, *options, "-f", "out.sql")
    passes(ch, "12.1", str(tmp_path / "out.sql"))


def test_12_1_a_table_dumped_without_its_rows_fails(ch, tmp_path):
    dump(ch, tmp_path, "-t", "categories", "-t", "rooms", "--exclude-table-data=rooms", "-f", "out.sql")
    fails(ch, "12.1", "no rows of rooms", value=str(tmp_path / "out.sql"))


def test_12_3_qualified_names_and_no_owner_pass(ch, tmp_path):
    dump(ch, tmp_path, "-Fc", "-t", "public.price_list", "-t", "public.rooms", "-t", "categories", "--no-owner",
         "-f", "out.dump")
    passes(ch, "12.3", str(tmp_path / "out.dump"))


def test_12_3_one_table_without_rows_fails(ch, tmp_path):
    dump(ch, tmp_path, "-Fc", *THREE, "--exclude-table-data=price_list", "-f", "out.dump")
    fails(ch, "12.3", "no rows of price_list", value=str(tmp_path / "out.dump"))


def test_12_5_a_data_only_restore_after_truncate_passes(ch, tmp_path):
    dump(ch, tmp_path, "-Fc", *THREE, "-f", "out.dump")
    sql(ch, C.PRICE_LIST_ACCIDENT, "TRUNCATE price_list")
    dump(ch, tmp_path, "pg_restore", "--data-only", "-t", "price_list", "-d", ch.database, "out.dump")
    passes(ch, "12.5")


def test_12_6_everything_restored_then_price_list_dropped_passes(ch, archive):
    dump(ch, archive, "pg_restore", "-d", scratch_name(ch.database), "out.dump")
    sql(ch, "DROP TABLE price_list", database=scratch_name(ch.database))
    passes(ch, "12.6")


@pytest.mark.parametrize("query", [
    """select x.table_name, x.row_count, x.checksum  -- one row per table
       from (select 'categories' as table_name, count(*) as row_count,
                    md5(string_agg(t::text, ',' order by t.id)) as checksum from categories as t) x
       union all
       select 'rooms', count(*), md5(string_agg(t::text, ',' order by t.id)) from public.rooms t
       order by 1;""",
])
def test_12_7_lower_case_a_subquery_and_a_trailing_semicolon_pass(ch, query):
    save_answer(ch, "12.7", answer_sql=query)
    passes(ch, "12.7")


def test_12_7_rows_joined_without_a_separator_fail(ch):
    save_answer(ch, "12.7", answer_sql=C.VERIFY_REFERENCE.replace("string_agg(t::text, ','", "string_agg(t::text, ''"))
    fails(ch, "12.7", "checksum")
