"""Chapter 07 checks, both ways: correct answers (also written differently) pass; typical wrong ones fail with the intended reason.

Each test gets its own copy of the tiny dataset; migrations are applied with yoyo as the learner,
as the notebook does.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from pgcourse.checks import ch07_migrations as C
from pgcourse.magics import save_answer
from tests.checks.helpers import _normal, check, failed, passed, run

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "07_migrations.ipynb"


@pytest.fixture
def ch(make_chapter):
    chapter = make_chapter("07", size="tiny")
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()


@pytest.fixture(scope="module")
def answers_only(course_server):
    """One chapter database for the tests that only save answers (7.2, 7.3, 7.4): a fresh clone each is slow."""
    import uuid

    from pgcourse import chapter as chapter_db
    from pgcourse.chapters import get

    info = get("07")
    name = f"t_{info.database}_{uuid.uuid4().hex[:8]}"
    chapter_db.create_database(course_server, info, dbname=name, size="tiny")
    chapter = chapter_db.Chapter(info=info, server=course_server, database=name)
    yield chapter
    if chapter._learner_conn is not None:
        chapter._learner_conn.close()
    chapter_db.drop_database(course_server, name)


def test_the_notebook_shows_the_checks_migrations_and_statements():
    cells = [_normal("".join(c["source"])) for c in json.loads(SOLUTION.read_text())["cells"]]
    for text in (C.COUPONS_0001_UP, C.COUPONS_0001_DOWN, C.COUPONS_0002_UP, C.COUPONS_0002_DOWN, C.REWRITE_TABLE,
                 *C.REWRITE_STATEMENTS.values(), *C.CHAPTER_MIGRATION_IDS):
        assert any(_normal(text) in cell for cell in cells), text.splitlines()[0]


# ---- 7.1 migration pair ------------------------------------------------------------------------------

UP = """ALTER TABLE coupons ADD COLUMN min_order_amount numeric(10,2) NOT NULL DEFAULT 0
    CONSTRAINT coupons_min_order_amount_check CHECK (min_order_amount >= 0);
CREATE INDEX coupons_expires_at_idx ON coupons (expires_at);"""
DOWN = """DROP INDEX coupons_expires_at_idx;
ALTER TABLE coupons DROP COLUMN min_order_amount;"""


def migrate(ch, folder: Path, pairs: dict[str, tuple[str, str]]) -> None:
    """Write the pairs as yoyo files and apply every pending one, as the learner (the notebook's migrate())."""
    folder.mkdir(exist_ok=True)
    for name, (up, down) in pairs.items():
        (folder / f"{name}.sql").write_text(up + "\n")
        (folder / f"{name}.rollback.sql").write_text(down + "\n")
    backend = get_backend(ch.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(folder))))
    finally:
        backend.connection.close()


def chapter_migrations(ch, folder: Path) -> None:
    migrate(ch, folder, {C.CHAPTER_MIGRATION_IDS[0]: (C.COUPONS_0001_UP, C.COUPONS_0001_DOWN),
                         C.CHAPTER_MIGRATION_IDS[1]: (C.COUPONS_0002_UP, C.COUPONS_0002_DOWN)})


def pair(ch, tmp_path: Path, up: str, down: str, *, apply: bool = True) -> None:
    """The chapter's migrations, then the learner's pair: saved as the answer and (by default) applied with yoyo."""
    chapter_migrations(ch, tmp_path / "migrations")
    save_answer(ch, "7.1", value={"up": up, "down": down})
    if apply:
        migrate(ch, tmp_path / "migrations", {"0003_minimum": (up, down)})


def test_7_1_solution_passes_and_changes_nothing(ch, tmp_path):
    pair(ch, tmp_path, UP, DOWN)
    shape = "SELECT count(*), sum(min_order_amount), (SELECT count(*) FROM pg_indexes WHERE tablename = 'coupons') FROM coupons"
    before = ch.query(shape)
    result = check(ch, "7.1")
    passed(result)
    assert ch.query(shape) == before


def test_7_1_written_differently_passes(ch, tmp_path):
    up = """ALTER TABLE coupons ADD COLUMN min_order_amount numeric(10, 2) DEFAULT 0.00 NOT NULL;
ALTER TABLE coupons ADD CHECK (min_order_amount >= 0::numeric);
CREATE INDEX ON coupons USING btree (expires_at, id);"""
    down = """DROP INDEX IF EXISTS coupons_expires_at_id_idx;
ALTER TABLE coupons DROP COLUMN IF EXISTS min_order_amount;"""
    pair(ch, tmp_path, up, down)
    passed(check(ch, "7.1"))


def test_7_1_a_non_transactional_pair_with_concurrently_passes(ch, tmp_path):
    """The busy-table way (section 6): yoyo runs it outside a transaction; the check replays it inside one."""
    up = """-- transactional: false
ALTER TABLE coupons ADD COLUMN IF NOT EXISTS min_order_amount numeric(10,2) NOT NULL DEFAULT 0 CHECK (min_order_amount >= 0);
CREATE INDEX CONCURRENTLY IF NOT EXISTS coupons_expiry_idx ON coupons (expires_at);"""
    down = """-- transactional: false
DROP INDEX CONCURRENTLY IF EXISTS coupons_expiry_idx;
ALTER TABLE coupons DROP COLUMN IF EXISTS min_order_amount;"""
    pair(ch, tmp_path, up, down)
    passed(check(ch, "7.1"))


def test_7_1_a_pair_with_its_own_begin_and_commit_passes_and_commits_nothing(ch, tmp_path):
    pair(ch, tmp_path, f"BEGIN;\n{UP}\nCOMMIT;", f"START TRANSACTION;\n{DOWN}\nCOMMIT;")
    before = ch.query("SELECT count(*) FROM pg_indexes WHERE tablename = 'coupons'")
    passed(check(ch, "7.1"))
    assert ch.query("SELECT count(*) FROM pg_indexes WHERE tablename = 'coupons'") == before
    assert ch.query("SELECT count(*) FROM coupons WHERE min_order_amount <> 0") == [(0,)]


def test_7_1_a_down_with_a_syntax_error_fails_with_the_servers_error(ch, tmp_path):
    pair(ch, tmp_path, UP, DOWN, apply=True)
    save_answer(ch, "7.1", value={"up": UP, "down": "DROP INDEX coupons_expires_at_idx;\nALTER TABLE coupons DROP COLUM min_order_amount;"})
    failed(check(ch, "7.1"), "your down migration failed", "syntax error")


def test_7_1_unsolved_fails(ch, tmp_path):
    chapter_migrations(ch, tmp_path / "migrations")
    failed(check(ch, "7.1"), "no answer saved")


def test_7_1_empty_pair_fails(ch, tmp_path):
    pair(ch, tmp_path, "\n-- YOUR SQL HERE\n", "\n-- YOUR SQL HERE\n", apply=False)
    failed(check(ch, "7.1"), "up migration is empty")


def test_7_1_without_the_chapters_migrations_says_to_run_them(ch):
    save_answer(ch, "7.1", value={"up": UP, "down": DOWN})
    failed(check(ch, "7.1"), "no table coupons", "section 1")


def test_7_1_run_by_hand_instead_of_the_tool_fails(ch, tmp_path):
    pair(ch, tmp_path, UP, DOWN, apply=False)
    run(ch, UP)
    failed(check(ch, "7.1"), "not recorded in _yoyo_migration")


def test_7_1_down_that_forgets_the_index_fails(ch, tmp_path):
    pair(ch, tmp_path, UP.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"), "ALTER TABLE coupons DROP COLUMN min_order_amount;")
    failed(check(ch, "7.1"), "after down", "index coupons_expires_at_idx is there but should not be")


def test_7_1_down_that_cannot_run_twice_with_up_fails(ch, tmp_path):
    up = "CREATE TYPE money_floor AS (amount numeric);\n" + UP
    pair(ch, tmp_path, up, DOWN)
    failed(check(ch, "7.1"), "up, run again after down, failed", "already exists")


def test_7_1_down_that_deletes_rows_fails(ch, tmp_path):
    pair(ch, tmp_path, UP, "DELETE FROM coupons WHERE id % 2 = 0;\n" + DOWN)
    failed(check(ch, "7.1"), "after down, coupons has", "keep every row")


def test_7_1_down_that_breaks_fails(ch, tmp_path):
    pair(ch, tmp_path, UP, "DROP INDEX coupons_expires_at_idx;\nALTER TABLE coupons DROP COLUMN min_amount;")
    failed(check(ch, "7.1"), "your down migration failed", "does not exist")


@pytest.mark.parametrize(("up", "says"), [
    (UP.replace(" NOT NULL", ""), "may be null"),
    (UP.replace("numeric(10,2)", "numeric"), "not numeric(10,2)"),
    (UP.replace("DEFAULT 0", "DEFAULT 1"), "default is 1"),
    (UP.replace("CONSTRAINT coupons_min_order_amount_check CHECK (min_order_amount >= 0)", ""), "negative"),
    (UP.replace("CREATE INDEX coupons_expires_at_idx ON coupons (expires_at);", ""), "expires_at"),
    (UP.replace("(expires_at)", "(code, expires_at)"), "starts with expires_at"),
])
def test_7_1_up_that_misses_a_part_fails(ch, tmp_path, up, says):
    pair(ch, tmp_path, up, "DROP INDEX IF EXISTS coupons_expires_at_idx;\nALTER TABLE coupons DROP COLUMN min_order_amount;")
    failed(check(ch, "7.1"), says)


# ---- 7.2 predict the lock queue ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["waits", " Waits "])
def test_7_2_right_prediction_passes(answers_only, value):
    save_answer(answers_only, "7.2", value=value)
    assert "waits" in check(answers_only, "7.2").message


def test_7_2_wrong_prediction_fails_with_the_measurement(answers_only):
    save_answer(answers_only, "7.2", value="runs")
    failed(check(answers_only, "7.2"), "you predicted 'runs'", "measured: the new select waits", "queue order")


def test_7_2_not_a_choice_fails(answers_only):
    save_answer(answers_only, "7.2", value="maybe")
    failed(check(answers_only, "7.2"), "not one of waits, runs")


def test_7_2_leaves_no_session_or_column_behind(answers_only):
    save_answer(answers_only, "7.2", value="waits")
    passed(check(answers_only, "7.2"))
    probe = "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'pgcourse_probe'"
    assert answers_only.query(probe) == [(0,)]
    assert answers_only.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state <> 'idle'") == [(0,)]


# ---- 7.3 lock_timeout ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings", ["SET lock_timeout = '2s'", "SET lock_timeout = 500",
                                      "SELECT set_config('lock_timeout', '1s', false)"])
def test_7_3_short_lock_timeout_passes(answers_only, settings):
    save_answer(answers_only, "7.3", answer_sql=settings)
    passed(check(answers_only, "7.3"))


def test_7_3_unsolved_fails(ch):
    failed(check(ch, "7.3"), "no answer saved")


def test_7_3_statement_timeout_instead_fails(answers_only):
    save_answer(answers_only, "7.3", answer_sql="SET statement_timeout = '2s'")
    failed(check(answers_only, "7.3"), "lock_timeout is 0", "statement_timeout is something else")


def test_7_3_long_lock_timeout_fails(answers_only):
    save_answer(answers_only, "7.3", answer_sql="SET lock_timeout = '10s'")
    failed(check(answers_only, "7.3"), "10,000 ms", "at most 2 s")


def test_7_3_broken_settings_fail(answers_only):
    save_answer(answers_only, "7.3", answer_sql="SET lock_timeout = 'soon'")
    failed(check(answers_only, "7.3"), "your settings fail")


# ---- 7.4 predict rewrites ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [["c", "e"], "E, c", ["e", "C"]])
def test_7_4_right_prediction_passes(answers_only, value):
    save_answer(answers_only, "7.4", value=value)
    passed(check(answers_only, "7.4"))


@pytest.mark.parametrize(("value", "says"), [(["c"], "e rewrites the table"), (["a", "c", "e"], "a does not"),
                                             ([], "c, e rewrite"), (["c", "e", "z"], "unknown labels")])
def test_7_4_wrong_prediction_fails(answers_only, value, says):
    save_answer(answers_only, "7.4", value=value)
    failed(check(answers_only, "7.4"), says)


# ---- 7.5 currency without a rewrite --------------------------------------------------------------------------------

@pytest.mark.parametrize("sql", ["ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR'",
                                 "ALTER TABLE orders ADD COLUMN currency char(3) DEFAULT 'EUR' NOT NULL"])
def test_7_5_one_statement_passes(ch, sql):
    run(ch, sql)
    passed(check(ch, "7.5"))


def test_7_5_the_guides_backfill_fails(ch):
    run(ch, "ALTER TABLE orders ADD COLUMN currency text", "UPDATE orders SET currency = 'EUR'",
        "ALTER TABLE orders ALTER COLUMN currency SET DEFAULT 'EUR'", "ALTER TABLE orders ALTER COLUMN currency SET NOT NULL")
    failed(check(ch, "7.5"), "written again", "only records the default")


def test_7_5_a_rewrite_after_the_fast_default_fails(ch):
    run(ch, "ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR'", "VACUUM FULL orders")
    failed(check(ch, "7.5"), "written again")


@pytest.mark.parametrize(("sql", "says"), [
    ("SELECT 1", "no column currency"),
    ("ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR'", "may be null"),
    ("ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'USD'", "'usd', not 'eur'"),
])
def test_7_5_missing_parts_fail(ch, sql, says):
    run(ch, sql)
    failed(check(ch, "7.5"), says)


# ---- 7.6 NOT VALID then VALIDATE ---------------------------------------------------------------------------------------

CAP = """ALTER TABLE orders ADD CONSTRAINT orders_total_amount_cap CHECK (total_amount < 100000) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_amount_cap"""


def answer_7_6(ch, script: str) -> None:
    """What %%answer 7.6 does: save the script, run it."""
    save_answer(ch, "7.6", answer_sql=script)
    run(ch, script)


def test_7_6_solution_passes(ch):
    answer_7_6(ch, CAP)
    passed(check(ch, "7.6"))
    assert ch.query("SELECT convalidated FROM pg_constraint WHERE conname = 'orders_total_amount_cap'") == [(True,)]


def test_7_6_written_differently_passes(ch):
    answer_7_6(ch, """SET lock_timeout = '2s';
ALTER TABLE orders DROP CONSTRAINT IF EXISTS cap;
ALTER TABLE public.orders ADD CONSTRAINT cap CHECK (total_amount <= 99999.99) NOT VALID;
-- the long part, writers go on
ALTER TABLE public.orders VALIDATE CONSTRAINT cap;""")
    passed(check(ch, "7.6"))


def test_7_6_each_step_in_a_transaction_of_its_own_passes(ch):
    answer_7_6(ch, "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_total_amount_cap CHECK (total_amount < 100000) "
                   "NOT VALID;\nCOMMIT;\nBEGIN;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_amount_cap;\nCOMMIT;")
    passed(check(ch, "7.6"))


def test_7_6_both_steps_in_one_transaction_fail(ch):
    answer_7_6(ch, f"BEGIN;\n{CAP};\nCOMMIT;")
    failed(check(ch, "7.6"), "same transaction", "access exclusive")


def test_7_6_unsolved_fails(ch):
    failed(check(ch, "7.6"), "no answer saved")


def test_7_6_in_one_step_fails(ch):
    answer_7_6(ch, "ALTER TABLE orders ADD CONSTRAINT orders_total_amount_cap CHECK (total_amount < 100000)")
    failed(check(ch, "7.6"), "adds the constraint already validated", "not valid")


def test_7_6_never_validated_fails(ch):
    answer_7_6(ch, CAP.split(";")[0])
    failed(check(ch, "7.6"), "still not valid", "validate constraint")


def test_7_6_wrong_cap_fails(ch):
    answer_7_6(ch, CAP.replace("< 100000", "<= 100000"))
    failed(check(ch, "7.6"), "order of 100,000 is accepted")


def test_7_6_too_tight_cap_fails(ch):
    answer_7_6(ch, CAP.replace("< 100000", "< 50000"))
    failed(check(ch, "7.6"), "99,999.99 is refused")


def test_7_6_saved_statements_that_do_not_add_it_fail(ch):
    save_answer(ch, "7.6", answer_sql="SELECT 1")
    run(ch, CAP)
    failed(check(ch, "7.6"), "does not add the constraint")


# ---- 7.7 the interrupted index ---------------------------------------------------------------------------------------------

def interrupted_index(ch) -> None:
    """The notebook's set-up: CREATE INDEX CONCURRENTLY gives up behind a writer and leaves an invalid index."""
    writer, builder = ch.connect(autocommit=True), ch.connect(autocommit=True)
    try:
        writer.execute("BEGIN")
        writer.execute("UPDATE orders SET updated_at = updated_at WHERE id = 1")
        builder.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            builder.execute("CREATE INDEX CONCURRENTLY orders_updated_at_idx ON orders (updated_at)")
        writer.execute("ROLLBACK")
    finally:
        writer.close()
        builder.close()


def test_7_7_unsolved_fails(ch):
    interrupted_index(ch)
    failed(check(ch, "7.7"), "orders_updated_at_idx is still invalid")


@pytest.mark.parametrize("statements", [
    ("DROP INDEX CONCURRENTLY IF EXISTS orders_updated_at_idx",
     "CREATE INDEX CONCURRENTLY orders_updated_at_idx ON orders (updated_at)"),
    ("REINDEX INDEX CONCURRENTLY orders_updated_at_idx",),
    ("DROP INDEX orders_updated_at_idx", "CREATE INDEX orders_updated_recent ON orders (updated_at DESC, id)"),
])
def test_7_7_finished_passes(ch, statements):
    interrupted_index(ch)
    run(ch, *statements)
    passed(check(ch, "7.7"))


def test_7_7_dropped_only_fails(ch):
    interrupted_index(ch)
    run(ch, "DROP INDEX orders_updated_at_idx")
    failed(check(ch, "7.7"), "no index on orders leads with updated_at")


def test_7_7_a_second_index_beside_fails(ch):
    interrupted_index(ch)
    run(ch, "REINDEX INDEX orders_updated_at_idx", "CREATE INDEX orders_updated_at_idx2 ON orders (updated_at)")
    failed(check(ch, "7.7"), "2 indexes lead with updated_at")


# ---- 7.8 expand ------------------------------------------------------------------------------------------------------------

EXPAND = """ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name text;
CREATE OR REPLACE FUNCTION users_sync_display_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.display_name := coalesce(NEW.display_name, NEW.full_name);
        NEW.full_name := coalesce(NEW.full_name, NEW.display_name);
    ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
        NEW.full_name := NEW.display_name;
    ELSIF NEW.full_name IS DISTINCT FROM OLD.full_name THEN
        NEW.display_name := NEW.full_name;
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER users_sync_display_name BEFORE INSERT OR UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION users_sync_display_name();
UPDATE users SET display_name = full_name WHERE display_name IS DISTINCT FROM full_name"""

#: Two triggers, one per direction, written with CASE.
EXPAND_TWO_TRIGGERS = """ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = full_name;
CREATE FUNCTION sync_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.full_name := CASE WHEN NEW.full_name IS NULL THEN NEW.display_name ELSE NEW.full_name END;
    NEW.display_name := CASE WHEN NEW.display_name IS NULL THEN NEW.full_name ELSE NEW.display_name END;
    RETURN NEW;
END $$;
CREATE FUNCTION sync_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.full_name <> OLD.full_name THEN NEW.display_name := NEW.full_name;
    ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN NEW.full_name := NEW.display_name; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_sync_ins BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION sync_ins();
CREATE TRIGGER b_sync_upd BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION sync_upd();"""


@pytest.mark.parametrize("sql", [EXPAND, EXPAND_TWO_TRIGGERS])
def test_7_8_expand_passes(ch, sql):
    run(ch, sql)
    passed(check(ch, "7.8"))


def test_7_8_solution_runs_twice(ch):
    run(ch, EXPAND, EXPAND)
    passed(check(ch, "7.8"))


def test_7_8_unsolved_fails(ch):
    failed(check(ch, "7.8"), "no column display_name")


def test_7_8_plain_rename_fails(ch):
    run(ch, "ALTER TABLE users RENAME COLUMN full_name TO display_name")
    failed(check(ch, "7.8"), "no full_name any more", "expand first")


def test_7_8_without_backfill_fails(ch):
    run(ch, EXPAND.rsplit(";", 1)[0])
    failed(check(ch, "7.8"), "existing users have a display_name that differs", "backfill")


def test_7_8_one_way_trigger_fails_for_new_code(ch):
    run(ch, """ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = full_name;
CREATE FUNCTION one_way() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.display_name := NEW.full_name; RETURN NEW; END $$;
CREATE TRIGGER one_way BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION one_way();""")
    failed(check(ch, "7.8"), "insert by the new code", "fails")


def test_7_8_insert_only_trigger_fails_on_update(ch):
    run(ch, EXPAND.replace("BEFORE INSERT OR UPDATE", "BEFORE INSERT"))
    failed(check(ch, "7.8"), "after the old code updates full_name")


def test_7_8_update_that_prefers_full_name_fails_for_new_code(ch):
    run(ch, EXPAND.replace("""    ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
        NEW.full_name := NEW.display_name;
    ELSIF NEW.full_name IS DISTINCT FROM OLD.full_name THEN
        NEW.display_name := NEW.full_name;""", """    ELSE
        NEW.display_name := NEW.full_name;"""))
    failed(check(ch, "7.8"), "after the new code updates display_name")
