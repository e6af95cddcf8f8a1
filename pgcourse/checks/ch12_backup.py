"""Checks for chapter 12, Backup and recovery.

What a check reads: the dump files themselves (a path the learner saves with ``pgcourse.answer``;
a plain dump is read as text, an archive through the bundled ``pg_restore -l``), the chapter
database (a table restored over an accident, a table copied back from a point-in-time recovery)
and the scratch database (what a restore put there), as the read-only checker role. No check
trusts a number the learner typed: row counts and checksums are computed on the server.

The parts each exercise's task statement names (each is checked, and each failure says which):

- 12.1 a plain-format dump file of ``categories`` and ``rooms``: (a) a saved path to a file that
  exists; (b) plain SQL (pg_dump's header; gzip-compressed accepted); (c) both tables' definitions
  (``CREATE TABLE``); (d) both tables' rows, as many as the tables hold (COPY or INSERT, one row or
  many rows per INSERT, with or without ON CONFLICT DO NOTHING); (e) no other table.
- 12.2 a prediction: can ``pg_restore`` restore a plain-format dump? ("yes"/"no"); the truth is
  measured by running pg_restore on a plain file.
- 12.3 a custom-format dump of ``categories``, ``rooms`` and ``price_list``: (a) a file that exists;
  (b) pg_restore reads it as format CUSTOM; (c) a TABLE and a TABLE DATA entry for each of the three;
  (d) no other table's data.
- 12.4 a directory-format dump of the same three tables: (a) a directory that exists; (b) format
  DIRECTORY; (c) TABLE and TABLE DATA for each; (d) no other table's data; (e) a data file for each
  table in the directory. (Parallel jobs leave no trace in the result, so ``-j`` is shown, not asked.)
- 12.5 ``price_list`` in the chapter database restored from a dump after the accident: (a) the table
  exists with the columns product_id, sku, price; (b) its rows equal ``products``' (id, sku, price),
  row for row.
- 12.6 a restore from a list into the scratch database: (a) ``categories`` and ``rooms`` exist there;
  (b) with the same rows as the chapter's (row count and checksum); (c) with all their constraints
  and (d) indexes (as in the chapter database); (e) ``price_list`` is not there.
- 12.7 a query that verifies a restore: per table (``categories``, ``rooms``) its name, row count and
  ``md5(string_agg(t::text, ',' ORDER BY t.id))``; checked against the reference on the chapter
  database and on a second sample dataset (so no typed-in numbers).
- 12.8 a dump of the cluster's roles made as the learner: (a) a file that exists; (b) pg_dumpall's
  output (its header); (c) roles only or globals only (no database contents); (d) it holds the
  learner's own role (``CREATE ROLE``).
- 12.9 point-in-time recovery: ``rooms_recovered`` in the chapter database holds the lab's rooms as
  they were just before the accidental DELETE: (a) the table exists with id, name, capacity; (b) no
  room is missing (the target is before the DELETE); (c) the renovation made after the base backup
  is there (the target is after it, not at the backup); (d) nothing made after the DELETE is there.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from . import CheckContext, exercise
from .context import compare_rows

#: The tables every dump exercise is about (small: the chapter's dumps take a second).
PLAIN_TABLES = ("categories", "rooms")
ARCHIVE_TABLES = ("categories", "rooms", "price_list")
LIST_TABLES = ("categories", "rooms")

#: 12.5: a copy of the catalogue's prices, dumped, then overwritten by an accident.
PRICE_LIST_SETUP = """DROP TABLE IF EXISTS price_list;
CREATE TABLE price_list AS SELECT id AS product_id, sku, price FROM products ORDER BY id;
ALTER TABLE price_list ADD PRIMARY KEY (product_id);"""
PRICE_LIST_ACCIDENT = "UPDATE price_list SET price = 0"

#: 12.7: the checksum of a table's rows (all columns, in primary-key order).
CHECKSUM = "md5(string_agg(t::text, ',' ORDER BY t.id))"
VERIFY_REFERENCE = " UNION ALL ".join(
    f"SELECT '{table}' AS table_name, count(*) AS row_count, {CHECKSUM} AS checksum FROM {table} t"
    for table in LIST_TABLES)

#: 12.9: the throwaway cluster's story: the chapter's rooms restored into it, a base backup, then these, in order.
LAB_RENOVATION = "UPDATE rooms SET capacity = capacity + 2 WHERE id % 10 = 0"
LAB_ACCIDENT = "DELETE FROM rooms"
LAB_AFTER = "INSERT INTO rooms (id, name, capacity) OVERRIDING SYSTEM VALUE VALUES (1001, 'Annex', 4)"
#: the rooms as they were just before the DELETE, computed from the chapter's own rooms
PITR_EXPECTED = ("SELECT id, name, capacity + CASE WHEN id % 10 = 0 THEN 2 ELSE 0 END FROM rooms ORDER BY id")
PITR_AT_BACKUP = "SELECT id, name, capacity FROM rooms ORDER BY id"


def bundled(program: str) -> str:
    """Path of a bundled PostgreSQL 18 program (the checks use the same ones as the notebook)."""
    from ..server.base import client_bin_dir

    return str(client_bin_dir() / program)


def saved_path(ctx: CheckContext, *, directory: bool = False) -> Path:
    """The path the learner saved for this exercise, which must exist (a file, or a directory)."""
    value = ctx.saved_value()
    ctx.expect(isinstance(value, str) and value.strip(), f"the saved answer {value!r} is not a path",
               f'save the path as text: pgcourse.answer("{ctx.exercise_id}", str(backups / "..."))')
    path = Path(value.strip()).expanduser()
    ctx.expect(path.is_absolute(), f"the saved path {value!r} is relative: the check cannot tell where it is",
               f'save the full path: pgcourse.answer("{ctx.exercise_id}", str(backups / "..."))')
    ctx.expect(path.exists(), f"there is no file or directory at the saved path ({path.name})",
               "run the cell that writes the dump again, then save its path")
    if directory:
        ctx.expect(path.is_dir(), f"{path.name} is a file, not a directory: that is not the directory format",
                   "pg_dump -Fd -f <directory> writes a directory (toc.dat and one file per table)")
    else:
        ctx.expect(path.is_file(), f"{path.name} is a directory, not a dump file", "save the path of the file pg_dump wrote")
    return path


def toc(path: Path) -> tuple[str | None, list[tuple[str, str, str]], str]:
    """``pg_restore -l`` of an archive: (its format or None, [(kind, schema, name)], pg_restore's error)."""
    proc = subprocess.run([bundled("pg_restore"), "-l", str(path)], capture_output=True, text=True, timeout=120,
                          env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        return None, [], proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
    fmt = re.search(r"^;\s+Format:\s+(\w+)", proc.stdout, re.M)
    entries = []
    for line in proc.stdout.splitlines():
        match = re.match(r"^\d+;\s+\d+\s+\d+\s+(.+?)\s+(\S+)\s+(\S+)\s+\S+$", line)
        if match:
            entries.append((match[1], match[2], match[3]))
    return (fmt[1] if fmt else None), entries, ""


def table_rows(ctx: CheckContext, table: str) -> int:
    return ctx.value(f"SELECT count(*) FROM public.{table}")  # names from this module only


def check_archive(ctx: CheckContext, path: Path, wanted_format: str) -> str:
    """An archive of ARCHIVE_TABLES in the wanted format, with no other table's data."""
    fmt, entries, error = toc(path)
    ctx.expect(fmt is not None, f"pg_restore cannot read {path.name} as an archive ({error})",
               "write it with pg_dump -F" + wanted_format[0].lower() + " (plain SQL files are for psql)")
    ctx.expect(fmt == wanted_format, f"{path.name} is a {fmt} archive; the task asks for the {wanted_format.lower()} format",
               f"pg_dump -F{wanted_format[0].lower()}")
    tables = {name for kind, schema, name in entries if kind == "TABLE" and schema == "public"}
    data = {name for kind, schema, name in entries if kind == "TABLE DATA" and schema == "public"}
    for table in ARCHIVE_TABLES:
        ctx.expect(table in tables, f"the dump holds no definition of {table} (no TABLE entry)",
                   "dump each table with -t (and without --data-only)")
        ctx.expect(table in data, f"the dump holds no rows of {table} (no TABLE DATA entry)",
                   "dump each table with -t (and without --schema-only)")
    others = sorted({name for kind, _, name in entries if kind == "TABLE DATA"} - set(ARCHIVE_TABLES))
    ctx.expect(not others, f"the dump also holds the rows of {', '.join(others)}: only "
               f"{', '.join(ARCHIVE_TABLES)} were asked for", "name the tables with -t, one -t per table")
    return f"a {fmt.lower()}-format dump of {', '.join(ARCHIVE_TABLES)}"


# ---- 12.1 -------------------------------------------------------------------------------------------
_LAST_ROW = re.compile(r"\)(?: ON CONFLICT DO NOTHING)?;$")
_DATA_START = re.compile(r'^(COPY|INSERT INTO) (?:"?public"?\.)?"?([a-z_0-9]+)"?[ (]')


def plain_dump_rows(text: str) -> tuple[set[str], Counter]:
    """(tables created, rows of data per table) in a plain-format dump: COPY blocks, one- and many-row INSERTs."""
    created = set(re.findall(r'^CREATE (?:UNLOGGED )?TABLE (?:"?public"?\.)?"?([a-z_0-9]+)"? \(', text, re.M))
    rows: Counter = Counter()
    lines = iter(text.splitlines())
    for line in lines:
        match = _DATA_START.match(line)
        if not match:
            continue
        kind, table = match[1], match[2]
        if kind == "COPY":
            for row in lines:
                if row == "\\.":
                    break
                rows[table] += 1
        elif line.rstrip().endswith("VALUES"):  # --rows-per-insert: one row per following line
            for row in lines:
                rows[table] += 1
                if _LAST_ROW.search(row.rstrip()):  # "...);" or, with --on-conflict-do-nothing, "...) ON CONFLICT DO NOTHING;"
                    break
        else:
            rows[table] += 1
    return created, rows


@exercise("12.1", "A plain-format dump of two tables")
def plain_dump(ctx: CheckContext) -> str:
    path = saved_path(ctx)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8", "replace")
    ctx.expect("-- PostgreSQL database dump" in text[:2000] and not raw.startswith(b"PGDMP"),
               f"{path.name} is not a plain-format dump (no pg_dump SQL header)",
               "pg_dump -Fp (the default) writes SQL text; -Fc writes an archive")
    created, rows = plain_dump_rows(text)
    for table in PLAIN_TABLES:
        ctx.expect(table in created, f"the dump does not create {table} (no CREATE TABLE): is it --data-only, "
                   "or is the table missing?", f"add -t {table}, without --data-only")
        expected = table_rows(ctx, table)
        ctx.expect(rows[table] > 0 or expected == 0, f"the dump holds no rows of {table}: is it --schema-only?",
                   "dump the data too (leave out --schema-only)")
        ctx.expect(rows[table] == expected, f"the dump holds {rows[table]} rows of {table}; the table has {expected}",
                   "dump it again from the chapter database as it is now")
    others = sorted((created | set(rows)) - set(PLAIN_TABLES))
    ctx.expect(not others, f"the dump also holds {', '.join(others)}: only {' and '.join(PLAIN_TABLES)} were asked for",
               "name the tables with -t, one -t per table")
    return f"a plain dump: {', '.join(f'{t} ({rows[t]} rows)' for t in PLAIN_TABLES)}"


# ---- 12.2 -------------------------------------------------------------------------------------------
def pg_restore_reads_plain() -> bool:
    """Measured: does pg_restore accept a plain-format (SQL text) dump?"""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.sql"
        plain.write_text("--\n-- PostgreSQL database dump\n--\n\nSELECT 1;\n")
        proc = subprocess.run([bundled("pg_restore"), "-l", str(plain)], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


@exercise("12.2", "Predict: can pg_restore read a plain dump?")
def predict_plain_restore(ctx: CheckContext) -> str:
    value = ctx.saved_value()
    said = str(value).strip().lower() if isinstance(value, (str, bool)) else None
    said = {"true": "yes", "false": "no"}.get(said, said)
    ctx.expect(said in ("yes", "no"), f"your prediction {value!r} is neither \"yes\" nor \"no\"",
               'pgcourse.answer("12.2", "yes") or pgcourse.answer("12.2", "no")')
    truth = "yes" if pg_restore_reads_plain() else "no"
    ctx.expect(said == truth, f"you predicted {said!r}; pg_restore answered {truth!r}",
               "run the measuring cell and read pg_restore's message")
    return f"right: {truth} (a plain dump is SQL for psql)"


# ---- 12.3, 12.4 -------------------------------------------------------------------------------------
@exercise("12.3", "A custom-format dump")
def custom_dump(ctx: CheckContext) -> str:
    return check_archive(ctx, saved_path(ctx), "CUSTOM")


@exercise("12.4", "A directory-format dump")
def directory_dump(ctx: CheckContext) -> str:
    path = saved_path(ctx, directory=True)
    ctx.expect((path / "toc.dat").is_file(), f"{path.name} has no toc.dat: it is not a directory-format dump",
               "pg_dump -Fd -f <directory> (the directory must not exist beforehand)")
    done = check_archive(ctx, path, "DIRECTORY")
    data_files = [p for p in path.iterdir() if re.fullmatch(r"\d+\.dat(\.\w+)?", p.name)]
    ctx.expect(len(data_files) >= len(ARCHIVE_TABLES),
               f"the directory holds {len(data_files)} data files; a dump of {len(ARCHIVE_TABLES)} tables has one each",
               "dump again into a new directory")
    return done + f", {len(data_files)} data files"


# ---- 12.5 -------------------------------------------------------------------------------------------
@exercise("12.5", "Restore one table over an accident")
def restore_one_table(ctx: CheckContext) -> str:
    ctx.expect(ctx.table_exists("price_list"), "there is no table price_list in the chapter database",
               "restore it from your custom dump: pg_restore -d ... --clean -t price_list")
    columns = ctx.columns("price_list")
    missing = [c for c in ("product_id", "sku", "price") if c not in columns]
    ctx.expect(not missing, f"price_list has no column {', '.join(missing)}", "restore the table from the dump, as it was")
    got = ctx.rows("SELECT product_id, sku, price FROM price_list")
    expected = ctx.rows("SELECT id, sku, price FROM products")
    zeros = sum(1 for row in got if row[2] == 0)
    ctx.expect(not (got and zeros == len(got)), f"all {zeros} prices in price_list are 0: the accident is still there",
               "restore price_list from the dump made before the UPDATE (pg_restore --clean -t price_list)")
    compare_rows(got, expected, what="price_list", columns=["product_id", "sku", "price"],
                 hint="restore price_list from the dump made before the accident (pg_restore --clean -t price_list)")
    return f"price_list is back: {len(got)} rows, equal to the products' prices"


# ---- 12.6 -------------------------------------------------------------------------------------------
def table_fingerprint(conn, table: str) -> tuple[int, str]:
    """(row count, md5 of every row in primary-key order) of a table: equal on both sides means equal data."""
    return tuple(conn.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) "
                              f"FROM public.{table} t").fetchone())


def definitions(conn, table: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(constraints, indexes) of a table as (name, definition) pairs."""
    constraints = set(conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) "
        "AND contype <> 'n'", [f"public.{table}"]).fetchall())
    indexes = set(conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = to_regclass(%s)",
        [f"public.{table}"]).fetchall())
    return constraints, indexes


@exercise("12.6", "Restore from a list: two tables, complete")
def restore_from_list(ctx: CheckContext) -> str:
    scratch = ctx.scratch
    there = lambda table: scratch.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{table}"]).fetchone()[0]
    for table in LIST_TABLES:
        ctx.expect(there(table), f"there is no table {table} in the scratch database",
                   "pg_restore -L <your list> -d <the scratch database's URL> <your custom dump>")
        got, expected = table_fingerprint(scratch, table), table_fingerprint(ctx.admin, table)
        ctx.expect(got[0] == expected[0], f"{table} in the scratch database has {got[0]} rows; the chapter's has {expected[0]}",
                   "restore the data too (the TABLE DATA entry)")
        ctx.expect(got == expected, f"{table} in the scratch database has as many rows as the chapter's but not the same "
                   "ones (the checksums differ)", "restore it from a dump of the chapter database as it is")
        constraints, indexes = definitions(scratch, table)
        want_constraints, want_indexes = definitions(ctx.admin, table)
        lost = sorted(name for name, _ in want_constraints - constraints)
        ctx.expect(not lost, f"{table} in the scratch database has no constraint {', '.join(lost)}",
                   "pg_restore -t restores a table and its rows only; a list (-l, then -L) keeps its "
                   "CONSTRAINT and FK CONSTRAINT entries too")
        lost = sorted(name for name, _ in want_indexes - indexes)
        ctx.expect(not lost, f"{table} in the scratch database has no index {', '.join(lost)}",
                   "keep the table's INDEX entries in the list")
    ctx.expect(not there("price_list"), "price_list is in the scratch database too: the task restores only "
               f"{' and '.join(LIST_TABLES)}", "comment out price_list's lines in the list (a ; in front)")
    return f"{' and '.join(LIST_TABLES)} restored with their rows, constraints and indexes, price_list left out"


# ---- 12.7 -------------------------------------------------------------------------------------------
@exercise("12.7", "A query that verifies a restore")
def verify_query(ctx: CheckContext) -> str:
    sql = ctx.answer().sql
    ctx.expect(sql, "no query saved for 12.7", "write it in the %%answer 12.7 cell")
    ctx.same_rows(sql, VERIFY_REFERENCE)
    ctx.same_rows_on_sample(sql, VERIFY_REFERENCE)
    return "row counts and checksums, computed from the tables"


# ---- 12.8 -------------------------------------------------------------------------------------------
@exercise("12.8", "The cluster's roles, dumped as the learner")
def roles_dump(ctx: CheckContext) -> str:
    path = saved_path(ctx)
    text = path.read_text(errors="replace")
    ctx.expect("-- PostgreSQL database cluster dump" in text[:2000],
               f"{path.name} is not pg_dumpall's output (no cluster dump header)", "use pg_dumpall, not pg_dump")
    ctx.expect(not re.search(r"^(CREATE DATABASE|CREATE TABLE|COPY )", text, re.M),
               f"{path.name} holds databases' contents: the task asks for the roles only",
               "pg_dumpall --globals-only (or --roles-only)")
    role = ctx.chapter.role
    ctx.expect(re.search(rf'^CREATE ROLE "?{re.escape(role)}"?;', text, re.M),
               f"{path.name} does not create your role {role}", "dump the roles of the server the chapter runs on")
    return "a dump of the server's roles, yours included"  # how many depends on the server, not the answer


# ---- 12.9 -------------------------------------------------------------------------------------------
@exercise("12.9", "Point-in-time recovery to just before a DELETE")
def point_in_time(ctx: CheckContext) -> str:
    ctx.expect(ctx.table_exists("rooms_recovered"), "there is no table rooms_recovered in the chapter database",
               "copy the rooms you recovered into rooms_recovered (the exercise's last lines)")
    columns = ctx.columns("rooms_recovered")
    missing = [c for c in ("id", "name", "capacity") if c not in columns]
    ctx.expect(not missing, f"rooms_recovered has no column {', '.join(missing)}", "columns id, name, capacity")
    got = ctx.rows("SELECT id, name, capacity FROM rooms_recovered ORDER BY id")
    expected = ctx.rows(PITR_EXPECTED)
    ctx.expect(got, "rooms_recovered is empty: the recovery replayed the DELETE",
               "set recovery_target_time (or recovery_target_lsn) to a moment before the DELETE")
    ctx.expect(not any(row[0] == 1001 for row in got), "rooms_recovered holds the Annex, inserted after the DELETE: "
               "the recovery went past its target", "stop before the DELETE: recovery_target_time = the time you noted")
    if got == ctx.rows(PITR_AT_BACKUP):
        ctx.fail("the rooms are as they were at the base backup: the renovation made after it (capacity + 2 for every "
                 "tenth room) is missing", "replay the archived WAL up to just before the DELETE, not only the backup")
    compare_rows(got, expected, ordered=True, what="rooms_recovered", columns=["id", "name", "capacity"],
                 hint="recover to the moment you noted just before the DELETE")
    return f"{len(got)} rooms, as they were just before the DELETE"
