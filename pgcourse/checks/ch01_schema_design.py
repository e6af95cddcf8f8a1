"""Checks for chapter 01, Schema design: naming, NOT NULL and defaults, the updated_at trigger,
comments, one-to-many, many-to-many and soft deletes.

Every check reads the chapter database only (catalog, plans, and behaviour tried as the learner
inside a transaction that is rolled back), so any correct answer passes however it is written.
"""

from __future__ import annotations

import psycopg
from psycopg import errors, sql

from ..lint import Finding, lint_catalog
from . import CheckContext, exercise
from .context import CheckFailed, attempt, compare_rows

# ---- shared helpers -----------------------------------------------------------------------------

#: What to do about each linter rule (used in hints).
RULE_HINTS: dict[str, str] = {
    "snake-case": 'rename with ALTER TABLE "OldName" RENAME TO new_name / RENAME COLUMN "oldName" TO new_name '
                  "(quotes around the old mixed-case name, none around the new one)",
    "plural-table": "table names are plural: ALTER TABLE ... RENAME TO <name>s",
    "reserved-word": 'a keyword such as "order" is only legal in quotes: rename the column (order_id)',
    "primary-key": "the single-column primary key is called id: ALTER TABLE ... RENAME COLUMN ... TO id",
    "fk-name": "a foreign key to orders is called order_id",
    "timestamptz": "ALTER TABLE ... ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC' "
                   "(and name instants *_at)",
    "boolean-prefix": "booleans read as questions: is_pinned, has_attachment, can_edit",
}


def _findings_failure(what: str, findings: list[Finding]) -> CheckFailed:
    first = findings[0]
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    return CheckFailed(f"the linter still reports on {what}: {first}{more}",
                       RULE_HINTS.get(first.rule, "run pgcourse.lint.lint_catalog(ch.admin()) to see every finding"))


def _relkind(ctx: CheckContext, name: str) -> str | None:
    return ctx.value("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(%s)", [f"public.{name}"])


def _single_fks(ctx: CheckContext, table: str, ref: str) -> list[tuple[str, str, str, bool]]:
    """Single-column foreign keys of ``table`` to ``ref``: (column, referenced column, on delete, column NOT NULL)."""
    return ctx.rows(
        """SELECT a.attname, ra.attname, con.confdeltype::text, a.attnotnull
           FROM pg_constraint con
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
           JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1]
           WHERE con.contype = 'f' AND con.conrelid = to_regclass(%s) AND con.confrelid = to_regclass(%s)
             AND cardinality(con.conkey) = 1
           ORDER BY con.conname""", [f"public.{table}", f"public.{ref}"])


def _leading_indexes(ctx: CheckContext, table: str, column: str) -> list[str]:
    """Valid indexes of ``table`` whose first key column is ``column`` (any method, partial excluded)."""
    return [ix["name"] for ix in ctx.indexes(table)
            if ix["valid"] and ix["keys"] and ix["keys"][0] == column and ix["predicate"] is None]


# ---- 1.1 naming ---------------------------------------------------------------------------------

@exercise("1.1", "Fix the names of the order-notes table")
def naming_fixed(ctx: CheckContext) -> str:
    """The notes table (the one table besides order_items that references orders) lints clean, data kept."""
    rows = ctx.rows(
        """SELECT DISTINCT c.relname FROM pg_constraint con
           JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE con.contype = 'f' AND con.confrelid = 'public.orders'::regclass
             AND n.nspname = 'public' AND c.relname <> 'order_items' ORDER BY 1""")
    ctx.expect(rows, "no table references orders apart from order_items",
               'run the setup cell that creates "OrderNote" first, then rename its parts')
    ctx.expect(len(rows) == 1, f"several tables reference orders ({', '.join(r[0] for r in rows)}); keep one notes table",
               "rename the table in place (ALTER TABLE ... RENAME) instead of creating a new one")
    name = rows[0][0]
    findings = lint_catalog(ctx.admin, tables=[name])
    if findings:
        raise _findings_failure(f"table {name}", findings)
    notes = ctx.value(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(name)))
    ctx.expect(notes == 3, f"{name} has {notes} rows; the 3 notes of the setup cell are gone",
               "rename (ALTER TABLE ... RENAME ...) rather than drop and recreate: renames keep the data")
    return f"{name} follows every naming convention and still holds its {notes} notes"


# ---- 1.2 NOT NULL and defaults: predict, then measure -------------------------------------------

#: The table the predictions are about (the notebook's setup cell creates the same one).
SIGNUPS_DDL = """CREATE TABLE signups (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    is_active  boolean NOT NULL DEFAULT true,
    referrer   text,
    created_at timestamptz NOT NULL DEFAULT now()
)"""

#: The six INSERTs whose fate the learner predicts, in the order of the notebook.
SIGNUP_INSERTS: list[tuple[str, str]] = [
    ("A", "INSERT INTO signups (email) VALUES ('ada@example.com')"),
    ("B", "INSERT INTO signups (email, is_active) VALUES ('bob@example.com', NULL)"),
    ("C", "INSERT INTO signups (email, is_active) VALUES ('cy@example.com', DEFAULT)"),
    ("D", "INSERT INTO signups (referrer) VALUES ('newsletter')"),
    ("E", "INSERT INTO signups (id, email) VALUES (1, 'eve@example.com')"),
    ("F", "INSERT INTO signups (email) VALUES ('')"),
]

_SIGNUP_HINTS = {
    "A": "a column left out of the INSERT gets its DEFAULT; a nullable column without one gets NULL",
    "B": "a DEFAULT is used only when the column is left out (or written DEFAULT): an explicit NULL is a value, "
         "and NOT NULL rejects it",
    "C": "the keyword DEFAULT asks for the column's default explicitly",
    "D": "email is NOT NULL and has no default: leaving it out means NULL, which is rejected",
    "E": "GENERATED ALWAYS AS IDENTITY refuses a hand-written id (OVERRIDING SYSTEM VALUE would force it)",
    "F": "an empty string is a value, not NULL: NOT NULL accepts it (a CHECK (email <> '') would not)",
}

_YES = {"ok", "succeeds", "success", "passes", "works", "accepted", "true", "yes"}
_NO = {"error", "fails", "fail", "rejected", "false", "no"}


def _prediction(value) -> list[bool]:
    """The learner's prediction as six booleans (True = the INSERT succeeds)."""
    if isinstance(value, dict):
        value = [value.get(letter, value.get(letter.lower())) for letter, _ in SIGNUP_INSERTS]
    if not isinstance(value, list) or len(value) != len(SIGNUP_INSERTS):
        raise CheckFailed(f"the prediction should be a list of {len(SIGNUP_INSERTS)} values, one per INSERT (A to F)",
                          'e.g. pgcourse.answer("1.2", [True, False, ...]): True where the INSERT succeeds')
    out = []
    for letter_value, (letter, _) in zip(value, SIGNUP_INSERTS):
        if isinstance(letter_value, bool):
            out.append(letter_value)
        elif isinstance(letter_value, str) and letter_value.strip().lower() in _YES | _NO:
            out.append(letter_value.strip().lower() in _YES)
        else:
            raise CheckFailed(f"prediction {letter} is {letter_value!r}; use True (succeeds) or False (fails)",
                              'e.g. pgcourse.answer("1.2", [True, False, ...])')
    return out


def signup_outcomes(conn: psycopg.Connection) -> list[bool]:
    """Run the six INSERTs as the learner on a throwaway copy of ``signups``; True where one succeeds."""
    outcomes = []
    with conn.transaction(force_rollback=True):
        conn.execute(SIGNUPS_DDL.replace("CREATE TABLE signups", "CREATE TEMPORARY TABLE signups", 1)
                     + " ON COMMIT DROP")
        for _, statement in SIGNUP_INSERTS:
            outcomes.append(attempt(conn, statement) is None)
    return outcomes


@exercise("1.2", "Predict which INSERTs NOT NULL and DEFAULT let through")
def not_null_defaults(ctx: CheckContext) -> str:
    """The saved prediction matches what the server does with each INSERT (measured here, not stored)."""
    predicted = _prediction(ctx.answer().value)
    actual = signup_outcomes(ctx.learner)
    wrong = [letter for (letter, _), p, a in zip(SIGNUP_INSERTS, predicted, actual) if p != a]
    if wrong:
        raise CheckFailed(f"{len(wrong)} of {len(SIGNUP_INSERTS)} predictions differ from the server: "
                          f"{', '.join(wrong)}", _SIGNUP_HINTS[wrong[0]])
    return f"all {len(SIGNUP_INSERTS)} predictions match the server ({sum(actual)} succeed, {len(actual) - sum(actual)} fail)"


# ---- 1.3 updated_at trigger ---------------------------------------------------------------------

@exercise("1.3", "Keep products.updated_at up to date with a trigger")
def updated_at_trigger(ctx: CheckContext) -> str:
    """An UPDATE that does not mention updated_at still sets it to the time of the change."""
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        target = conn.execute("SELECT min(id) FROM products").fetchone()[0]
        ctx.expect(target is not None, "products is empty", "reset the chapter: pgcourse.reset('01')")
        try:
            conn.execute("UPDATE products SET updated_at = '2000-01-01 00:00+00' WHERE id = %s", [target])
            row = conn.execute(
                "UPDATE products SET stock_quantity = stock_quantity WHERE id = %s RETURNING updated_at >= now()",
                [target]).fetchone()
        except psycopg.Error as exc:
            raise CheckFailed(f"UPDATE products failed: {exc.diag.message_primary}",
                              "fix the trigger function; try an UPDATE of one product and read the error") from None
    ctx.expect(row is not None, "the UPDATE changed no row: the trigger cancels it",
               "a BEFORE ROW trigger must RETURN NEW; returning NULL skips the row")
    ctx.expect(row[0], "an UPDATE of a product left updated_at at its old value",
               "CREATE TRIGGER ... BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION ...; "
               "the function sets NEW.updated_at = now() and RETURNs NEW (an AFTER trigger is too late to change the row)")
    return "every UPDATE of products now stamps updated_at"


# ---- 1.4 comments -------------------------------------------------------------------------------

@exercise("1.4", "Document orders.status and orders.total_amount")
def comments(ctx: CheckContext) -> str:
    """Both columns carry a comment in the catalog that says more than the column's name."""
    for column in ("status", "total_amount"):
        text = ctx.value(
            """SELECT col_description(a.attrelid, a.attnum) FROM pg_attribute a
               WHERE a.attrelid = 'public.orders'::regclass AND a.attname = %s""", [column])
        ctx.expect(text and text.strip(), f"orders.{column} has no comment",
                   f"COMMENT ON COLUMN orders.{column} IS '...'; read it back with col_description()")
        words = text.strip().lower().replace("_", " ")
        ctx.expect(len(words) >= 10 and words not in (column, column.replace("_", " ")),
                   f"the comment on orders.{column} ({text.strip()!r}) says no more than the name",
                   "say what a reader cannot guess: the allowed values, the unit or currency, how it is computed")
    return "orders.status and orders.total_amount are documented in the catalog"


# ---- 1.5 one-to-many ----------------------------------------------------------------------------

@exercise("1.5", "Create addresses: one user has many addresses")
def one_to_many(ctx: CheckContext) -> str:
    """addresses references users with a NOT NULL, cascading, indexed foreign key and lints clean."""
    kind = _relkind(ctx, "addresses")
    ctx.expect(kind is not None, "no table addresses yet", "CREATE TABLE addresses (id ..., user_id ... REFERENCES users ...)")
    fks = [fk for fk in _single_fks(ctx, "addresses", "users") if fk[1] == "id"]
    ctx.expect(fks, "addresses has no foreign key to users(id)",
               "user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE")
    column, _, on_delete, not_null = fks[0]
    ctx.expect(not_null, f"addresses.{column} accepts NULL: an address without a user",
               f"ALTER TABLE addresses ALTER COLUMN {column} SET NOT NULL")
    ctx.expect(on_delete == "c", "deleting a user would not delete their addresses",
               "the foreign key needs ON DELETE CASCADE (drop and re-add the constraint)")
    ctx.expect(_leading_indexes(ctx, "addresses", column),
               f"no index starts with addresses.{column}: finding a user's addresses reads the whole table",
               f"PostgreSQL indexes the referenced key (users.id), never the referencing column: "
               f"CREATE INDEX ON addresses ({column})")
    findings = lint_catalog(ctx.admin, tables=["addresses"])
    if findings:
        raise _findings_failure("addresses", findings)
    return f"addresses.{column} -> users.id: NOT NULL, ON DELETE CASCADE, indexed, and the names follow the conventions"


# ---- 1.6 / 1.7 many-to-many ---------------------------------------------------------------------

def _link_columns(ctx: CheckContext) -> tuple[str, str, str]:
    """(product column, tag column, tags key column) of product_tags, or a failure saying what is missing."""
    ctx.expect(_relkind(ctx, "tags") == "r", "no table tags yet", "CREATE TABLE tags (id ... PRIMARY KEY, name text NOT NULL UNIQUE)")
    ctx.expect(_relkind(ctx, "product_tags") == "r", "no table product_tags yet",
               "CREATE TABLE product_tags (product_id ... REFERENCES products, tag_id ... REFERENCES tags, PRIMARY KEY (...))")
    to_products = _single_fks(ctx, "product_tags", "products")
    to_tags = _single_fks(ctx, "product_tags", "tags")
    ctx.expect(to_products, "product_tags has no foreign key to products", "product_id bigint NOT NULL REFERENCES products (id)")
    ctx.expect(to_tags, "product_tags has no foreign key to tags", "tag_id bigint NOT NULL REFERENCES tags (id)")
    return to_products[0][0], to_tags[0][0], to_tags[0][1]


@exercise("1.6", "Turn products.tags into tags and product_tags")
def many_to_many(ctx: CheckContext) -> str:
    """Same (product, tag) pairs as the array column; a pair cannot be stored twice; tag names are unique."""
    pcol, tcol, tkey = _link_columns(ctx)
    ctx.expect("name" in ctx.columns("tags"), "tags has no name column", "CREATE TABLE tags (id ..., name text NOT NULL UNIQUE)")
    got = ctx.rows(sql.SQL("SELECT pt.{p}, t.name FROM product_tags pt JOIN tags t ON t.{k} = pt.{t}").format(
        p=sql.Identifier(pcol), t=sql.Identifier(tcol), k=sql.Identifier(tkey)))
    expected = ctx.rows("SELECT id, unnest(tags) FROM products")
    compare_rows(got, expected, what="product_tags joined to tags")
    unique_names = [ix for ix in ctx.indexes("tags") if ix["unique"] and ix["valid"] and ix["predicate"] is None
                    and ix["keys"] in (["name"], ["lower(name)"])]
    ctx.expect(unique_names, "two tags may have the same name", "tags.name needs a UNIQUE constraint (and NOT NULL)")
    names = ctx.rows("SELECT name FROM tags")
    compare_rows(names, ctx.rows("SELECT DISTINCT unnest(tags) FROM products"), what="tags")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        pair = conn.execute(sql.SQL("SELECT {p}, {t} FROM product_tags LIMIT 1").format(
            p=sql.Identifier(pcol), t=sql.Identifier(tcol))).fetchone()
        dup = attempt(conn, sql.SQL("INSERT INTO product_tags ({p}, {t}) VALUES (%s, %s)").format(
            p=sql.Identifier(pcol), t=sql.Identifier(tcol)), pair)
        ctx.expect(dup is not None, "the same tag could be attached to the same product twice",
                   f"make the pair the key: PRIMARY KEY ({pcol}, {tcol})")
        ctx.expect(isinstance(dup, errors.UniqueViolation),
                   f"inserting a pair failed for another reason: {getattr(dup, 'diag', None) and dup.diag.message_primary}",
                   "product_tags should need only its two foreign-key columns")
    return f"{len(got)} product-tag pairs over {len(names)} tags, each pair stored once"


@exercise("1.7", "Index product_tags for both directions")
def many_to_many_indexes(ctx: CheckContext) -> str:
    """Looking up by product and by tag each use an index that starts with that column."""
    pcol, tcol, _ = _link_columns(ctx)
    report = []
    for column, other in ((tcol, pcol), (pcol, tcol)):
        leading = _leading_indexes(ctx, "product_tags", column)
        value = ctx.value(sql.SQL("SELECT {c} FROM product_tags GROUP BY {c} ORDER BY count(*), {c} LIMIT 1").format(
            c=sql.Identifier(column)))
        ctx.expect(value is not None, "product_tags is empty", "fill it first (exercise 1.6)")
        plan = ctx.explain(sql.SQL("SELECT {o} FROM product_tags WHERE {c} = {v}").format(
            o=sql.Identifier(other), c=sql.Identifier(column), v=sql.Literal(value)).as_string(ctx.learner),
            settings={"enable_seqscan": "off"})
        used = plan.indexes_used()
        ctx.expect(leading and used & set(leading),
                   f"looking up product_tags by {column} has no index that starts with {column}"
                   + (f" (the plan can only walk {', '.join(sorted(used))})" if used else ""),
                   f"a composite key (a, b) serves lookups by a, not by b: CREATE INDEX ON product_tags ({column})")
        report.append(f"by {column}: {sorted(used & set(leading))[0]}")
    return "both directions use an index (" + "; ".join(report) + ")"


# ---- 1.8 / 1.9 soft deletes ---------------------------------------------------------------------

@exercise("1.8", "Let soft-deleted accounts register again")
def soft_delete_unique(ctx: CheckContext) -> str:
    """Live duplicates of email or username are rejected; after a soft delete both can be used again."""
    ctx.expect(_relkind(ctx, "accounts") == "r", "no table accounts", "run the setup cell that creates accounts")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        live = conn.execute("SELECT id, email, username FROM accounts WHERE deleted_at IS NULL ORDER BY id LIMIT 2").fetchall()
        ctx.expect(len(live) == 2, "accounts has fewer than two live rows", "re-run the setup cell that fills accounts")
        (_, email, username), (leaver, leaver_email, leaver_username) = live
        insert = "INSERT INTO accounts (email, username) VALUES (%s, %s)"
        twin_email = attempt(conn, insert, [email, "pgcourse_check_fresh_name"])
        ctx.expect(twin_email is not None, "a second live account with the same email was accepted",
                   "uniqueness must still hold among live rows: CREATE UNIQUE INDEX ... ON accounts (email) WHERE deleted_at IS NULL "
                   "(a UNIQUE (email, deleted_at) does not help: NULLs are distinct)")
        twin_name = attempt(conn, insert, ["pgcourse.check.fresh@example.com", username])
        ctx.expect(twin_name is not None, "a second live account with the same username was accepted",
                   "CREATE UNIQUE INDEX ... ON accounts (username) WHERE deleted_at IS NULL")
        conn.execute("UPDATE accounts SET deleted_at = now() WHERE id = %s", [leaver])
        comeback = attempt(conn, insert, [leaver_email, leaver_username])
        if comeback is not None:
            raise CheckFailed(f"after a soft delete the same email and username cannot register again: "
                              f"{comeback.diag.message_primary}",
                              "a plain UNIQUE counts deleted rows too: drop it (ALTER TABLE accounts DROP CONSTRAINT ...) "
                              "and CREATE UNIQUE INDEX ... WHERE deleted_at IS NULL")
    return "live emails and usernames stay unique, and a soft-deleted account's can be used again"


@exercise("1.9", "A view of the live accounts")
def active_view(ctx: CheckContext) -> str:
    """active_accounts is a view that shows exactly the rows whose deleted_at is NULL, now and after a soft delete."""
    kind = _relkind(ctx, "active_accounts")
    ctx.expect(kind is not None, "no view active_accounts yet", "CREATE VIEW active_accounts AS SELECT ... FROM accounts WHERE ...")
    ctx.expect(kind == "v", "active_accounts is not a view: a table or materialized view is a snapshot that misses the next soft delete",
               "DROP it and CREATE VIEW active_accounts AS ...")
    ctx.expect("id" in ctx.columns("active_accounts"), "active_accounts has no id column", "SELECT id, email, ... in the view")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        reference = "SELECT id FROM accounts WHERE deleted_at IS NULL"
        compare_rows(conn.execute("SELECT id FROM active_accounts").fetchall(), conn.execute(reference).fetchall(),
                     what="active_accounts")
        conn.execute("UPDATE accounts SET deleted_at = now() WHERE id = (SELECT min(id) FROM accounts WHERE deleted_at IS NULL)")
        try:
            compare_rows(conn.execute("SELECT id FROM active_accounts").fetchall(), conn.execute(reference).fetchall(),
                         what="active_accounts after a soft delete")
        except CheckFailed as failed:
            raise CheckFailed(failed.reason, "filter on deleted_at IS NULL inside the view") from None
    return "active_accounts shows exactly the live accounts, and follows every soft delete"
