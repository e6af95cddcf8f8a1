"""Checks for chapter 01, Schema design: naming, NOT NULL and defaults, the updated_at trigger,
comments, one-to-many, many-to-many and a soft-delete view.

Every check reads the chapter database only (catalog, plans, and behaviour tried as the learner
inside a transaction that is rolled back), so any correct answer passes however it is written.

The parts of each task statement, and how the check tests each one:

1.1 Fix every finding of the linter on "OrderNote" in place; the 3 notes stay.
    - a plural snake_case table name, an id key, order_id, is_/has_ boolean: lint_catalog on the table
    - created becomes a timestamptz called created_at: the catalog
    - converted as UTC wall-clock times: every created_at is the instant 2025-06-01 12:00 UTC
    - in place, data kept: 3 rows, still pointing at the same 3 orders, their text unchanged
1.2 Predict which of six INSERTs succeed (a list of six booleans, A to F).
    - each prediction: compared with what the server does, measured here as the learner
1.3 Make every UPDATE of a product stamp updated_at.
    - an UPDATE of each kind of column (text, number, enum, array, jsonb, foreign key) that does
      not mention updated_at sets it to the transaction's time (or later); the row is still updated
1.4 Comments on orders.status and orders.total_amount that say what the names do not.
    - a comment on each column, different from each other
    - status: names the allowed values (at least three of the six statuses) or the CHECK that lists them
    - total_amount: says how it is computed, its unit or currency, or its range (words looked for)
1.5 addresses: id bigint GENERATED ALWAYS AS IDENTITY primary key; the user's key NOT NULL,
    referencing users(id) ON DELETE CASCADE; line1, city, country_code text NOT NULL; created_at
    timestamptz NOT NULL DEFAULT now(); names that follow the conventions.
    - each column's type, NOT NULL, identity, the primary key: the catalog
    - the foreign key, NOT NULL, ON DELETE CASCADE: the catalog
    - created_at's default: an INSERT without it (rolled back) gets the transaction's time
    - the names: lint_catalog
1.6 tags (id key, name NOT NULL UNIQUE) and product_tags (a NOT NULL foreign key to each side,
    the pair as primary key), filled from products.tags.
    - the same (product, tag name) pairs and the same tag names as the array column
    - names unique, a pair cannot be stored twice (tried, rolled back)
1.7 Make both directions of product_tags index lookups.
    - the rarest tag and the product with the fewest tags, each looked up with the planner's
      normal settings (statistics refreshed), use an index that starts with that column; an index
      the planner would not choose (a BRIN on tag_id, say) does not pass
1.8 A view active_accounts of the live accounts, with their id.
    - a view (not a snapshot): pg_class.relkind
    - exactly the rows whose deleted_at is NULL, now and after a soft delete (rolled back)
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

#: What the setup cell of 1.1 stores in each note (created is a UTC wall-clock time).
NOTE_TEXT = "gift wrap, please"
NOTE_CREATED_AT = "2025-06-01 12:00:00+00"


def _fk_column(ctx: CheckContext, table: str, ref: str) -> str:
    """The column of ``table``'s single-column foreign key to ``ref``."""
    fks = _single_fks(ctx, table, ref)
    ctx.expect(fks, f"{table} has no foreign key to {ref} any more", "rename the column; keep its REFERENCES")
    return fks[0][0]


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
    table = sql.Identifier(name)
    notes = ctx.value(sql.SQL("SELECT count(*) FROM public.{}").format(table))
    ctx.expect(notes == 3, f"{name} has {notes} rows; the 3 notes of the setup cell are gone",
               "rename (ALTER TABLE ... RENAME ...) rather than drop and recreate: renames keep the data")
    cols = ctx.columns(name)
    ctx.expect("created_at" in cols, f"{name} has no column created_at (the setup's created, renamed)",
               "ALTER TABLE ... RENAME COLUMN created TO created_at")
    ctx.expect(cols["created_at"]["type"] == "timestamp with time zone",
               f"{name}.created_at is {cols['created_at']['type']}", RULE_HINTS["timestamptz"])
    wrong = ctx.rows(sql.SQL("SELECT created_at FROM public.{} WHERE created_at IS DISTINCT FROM %s").format(table),
                     [NOTE_CREATED_AT])
    ctx.expect(not wrong, f"{len(wrong)} of the notes' created_at are no longer 2025-06-01 12:00 UTC "
               f"(e.g. {wrong[0][0] if wrong else ''}): the conversion moved the instant",
               "the stored wall-clock times were UTC: USING created_at AT TIME ZONE 'UTC'")
    fk = _fk_column(ctx, name, "orders")
    kept = ctx.rows(sql.SQL("SELECT {} FROM public.{} ORDER BY 1").format(sql.Identifier(fk), table))
    compare_rows(kept, ctx.rows("SELECT id FROM orders ORDER BY id LIMIT 3"), ordered=True,
                 what=f"the notes' {fk}", hint="rename the column; its values must stay the orders they were about")
    ctx.expect(any(ctx.value(sql.SQL("SELECT count(*) = 3 AND bool_and({}::text = %s) FROM public.{}").format(
                   sql.Identifier(c), table), [NOTE_TEXT]) for c in cols),
               f"no text column of {name} still holds the notes' text ({NOTE_TEXT!r})",
               'rename "Text" (RENAME COLUMN "Text" TO body); do not retype or recompute it')
    return f"{name} follows every naming convention and still holds its {notes} notes, their instants unchanged"


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

#: Why each INSERT succeeds or fails (hints of the check, and the notebook's measurement prints them).
SIGNUP_WHY = {
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
        elif isinstance(letter_value, (int, float)) and letter_value in (0, 1):
            out.append(bool(letter_value))
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
                          f"{', '.join(wrong)}", SIGNUP_WHY[wrong[0]])
    return f"all {len(SIGNUP_INSERTS)} predictions match the server ({sum(actual)} succeed, {len(actual) - sum(actual)} fail)"


# ---- 1.3 updated_at trigger ---------------------------------------------------------------------

#: An UPDATE of each kind of products column (none mentions updated_at); %s is the product's id.
PRODUCT_UPDATES: dict[str, str] = {
    "name": "name = name || ' (edited)'",
    "description": "description = coalesce(description, '') || ' (edited)'",
    "price": "price = price + 1",
    "stock_quantity": "stock_quantity = stock_quantity + 1",
    "status": "status = (CASE WHEN status::text = 'archived' THEN 'draft' ELSE 'archived' END)::product_status",
    "tags": "tags = tags || 'edited'::text",
    "metadata": "metadata = metadata || jsonb_build_object('edited', true)",
    "category_id": "category_id = (SELECT min(id) FROM categories WHERE id <> products.category_id)",
}


@exercise("1.3", "Keep products.updated_at up to date with a trigger")
def updated_at_trigger(ctx: CheckContext) -> str:
    """An UPDATE of any column that does not mention updated_at still sets it to the time of the change."""
    conn = ctx.learner
    target = conn.execute("SELECT min(id) FROM products").fetchone()[0]
    ctx.expect(target is not None, "products is empty", "reset the chapter: pgcourse reset 01 (in a terminal)")
    stale = []
    for column, assignment in PRODUCT_UPDATES.items():
        with conn.transaction(force_rollback=True):  # each in its own transaction: now() is its start
            try:
                row = conn.execute(f"UPDATE products SET {assignment} WHERE id = %s RETURNING updated_at >= now()",
                                   [target]).fetchone()
            except psycopg.Error as exc:
                raise CheckFailed(f"UPDATE products SET {column} = ... failed: {exc.diag.message_primary}",
                                  "fix the trigger function; try an UPDATE of one product and read the error") from None
        ctx.expect(row is not None, f"an UPDATE of products.{column} changed no row: the trigger cancels it",
                   "a BEFORE ROW trigger must RETURN NEW; returning NULL skips the row")
        if not row[0]:
            stale.append(column)
    if stale:
        every = len(stale) == len(PRODUCT_UPDATES)
        raise CheckFailed(
            f"an UPDATE of {'any column' if every else 'products.' + ', '.join(stale)} left updated_at at its old value",
            "CREATE TRIGGER ... BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION ...; the function sets "
            "NEW.updated_at = now() and RETURNs NEW (an AFTER trigger is too late to change the row)" if every else
            "every UPDATE must stamp it: BEFORE UPDATE ON products (an UPDATE OF column list fires for those columns only)")
    return f"an UPDATE of any of {len(PRODUCT_UPDATES)} kinds of column stamps updated_at"


# ---- 1.4 comments -------------------------------------------------------------------------------

#: The statuses orders.status allows (the CHECK constraint orders_status_check).
ORDER_STATUSES = ("pending", "processing", "shipped", "completed", "cancelled", "refunded")

#: Words that show a comment on total_amount says how it is computed, its unit or its range.
TOTAL_AMOUNT_WORDS = ("order_items", "order items", "item", "line", "quantity", "unit_price", "price", "sum", "total of",
                      "currency", "eur", "usd", "gbp", "dollar", "euro", "cent", "$", "€", "£", "tax", "vat", "shipping",
                      "discount", "negative", ">= 0", "≥ 0", "zero", "decimal", "two decimals", "computed", "calculated")


def _column_comment(ctx: CheckContext, column: str) -> str:
    text = ctx.value("""SELECT col_description(a.attrelid, a.attnum) FROM pg_attribute a
                        WHERE a.attrelid = 'public.orders'::regclass AND a.attname = %s""", [column])
    ctx.expect(text and text.strip(), f"orders.{column} has no comment",
               f"COMMENT ON COLUMN orders.{column} IS '...'; read it back with col_description()")
    return text.strip()


@exercise("1.4", "Document orders.status and orders.total_amount")
def comments(ctx: CheckContext) -> str:
    """Both columns carry a comment that says what the name does not: status's values, total_amount's meaning."""
    status, total = _column_comment(ctx, "status"), _column_comment(ctx, "total_amount")
    ctx.expect(status.lower() != total.lower(), "orders.status and orders.total_amount have the same comment",
               "each comment documents its own column")
    named = [s for s in ORDER_STATUSES if s in status.lower()]
    ctx.expect(len(named) >= 3 or "orders_status_check" in status,
               f"the comment on orders.status ({status!r}) does not say which values it takes"
               + (f" (it names only {', '.join(named)})" if named else ""),
               "list the statuses (pending, processing, shipped, completed, cancelled, refunded) and how an order "
               "moves between them; the CHECK constraint orders_status_check has them")
    words = total.lower()
    ctx.expect(any(w in words for w in TOTAL_AMOUNT_WORDS),
               f"the comment on orders.total_amount ({total!r}) says neither how it is computed, nor its unit or "
               "currency, nor its range",
               "say what a reader cannot guess: the sum of which lines, in which currency, tax included or not, never negative")
    return "orders.status and orders.total_amount are documented in the catalog"


# ---- 1.5 one-to-many ----------------------------------------------------------------------------

#: The columns 1.5 asks for besides id and the user's key: name -> type (all NOT NULL).
ADDRESS_COLUMNS = {"line1": "text", "city": "text", "country_code": "text", "created_at": "timestamp with time zone"}


@exercise("1.5", "Create addresses: one user has many addresses")
def one_to_many(ctx: CheckContext) -> str:
    """addresses has the asked columns (types, NOT NULL, identity, default) and a NOT NULL cascading key to users."""
    kind = _relkind(ctx, "addresses")
    ctx.expect(kind is not None, "no table addresses yet", "CREATE TABLE addresses (id ..., user_id ... REFERENCES users ...)")
    cols = ctx.columns("addresses")
    identity = ctx.value("SELECT attidentity::text FROM pg_attribute WHERE attrelid = 'public.addresses'::regclass "
                         "AND attname = 'id' AND NOT attisdropped")
    ctx.expect("id" in cols and cols["id"]["type"] == "bigint",
               f"addresses.id is {cols.get('id', {}).get('type', 'missing')}; expected bigint",
               "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    ctx.expect(identity == "a", "addresses.id is not GENERATED ALWAYS AS IDENTITY"
               + (" (it is BY DEFAULT: a hand-written id is accepted)" if identity == "d" else ""),
               "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY (bigserial is a sequence default, not an identity)")
    pk = [c["definition"] for c in ctx.constraints("addresses") if c["type"] == "p"]
    ctx.expect(pk == ["PRIMARY KEY (id)"], f"the primary key of addresses is {pk[0] if pk else 'missing'}; expected (id)",
               "id ... PRIMARY KEY")
    fks = [fk for fk in _single_fks(ctx, "addresses", "users") if fk[1] == "id"]
    ctx.expect(fks, "addresses has no foreign key to users(id)",
               "user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE")
    column, _, on_delete, not_null = fks[0]
    ctx.expect(cols[column]["type"] == "bigint", f"addresses.{column} is {cols[column]['type']}; users.id is bigint",
               "a foreign key column has the type of the key it references: bigint")
    ctx.expect(not_null, f"addresses.{column} accepts NULL: an address without a user",
               f"ALTER TABLE addresses ALTER COLUMN {column} SET NOT NULL")
    ctx.expect(on_delete == "c", "deleting a user would not delete their addresses",
               "the foreign key needs ON DELETE CASCADE (drop and re-add the constraint)")
    for name, want in ADDRESS_COLUMNS.items():
        ctx.expect(name in cols, f"addresses has no column {name}", f"{name} {want} NOT NULL")
        ctx.expect(cols[name]["type"] == want, f"addresses.{name} is {cols[name]['type']}; expected {want}",
                   f"ALTER TABLE addresses ALTER COLUMN {name} TYPE {'timestamptz' if name == 'created_at' else want}")
        ctx.expect(cols[name]["not_null"], f"addresses.{name} accepts NULL", f"ALTER TABLE addresses ALTER COLUMN {name} SET NOT NULL")
    conn = ctx.learner
    with conn.transaction(force_rollback=True):
        failure = attempt(conn, sql.SQL("INSERT INTO addresses ({}, line1, city, country_code) "
                                        "SELECT min(id), '1 Main St', 'Springfield', 'US' FROM users").format(sql.Identifier(column)))
        stamped = None if failure else conn.execute(
            "SELECT created_at BETWEEN now() AND clock_timestamp() FROM addresses ORDER BY id DESC LIMIT 1").fetchone()
    ctx.expect(failure is None, f"an address with only its user, line1, city and country_code is refused: "
               f"{failure.diag.message_primary if failure else ''}", "created_at DEFAULT now(); no other NOT NULL column")
    ctx.expect(stamped and stamped[0], "a new address does not get the time of its insertion (now()) as created_at by default",
               "created_at timestamptz NOT NULL DEFAULT now()")
    findings = lint_catalog(ctx.admin, tables=["addresses"])
    if findings:
        raise _findings_failure("addresses", findings)
    return (f"addresses.{column} -> users.id: NOT NULL, ON DELETE CASCADE; every column typed, NOT NULL, and named "
            "by the conventions")


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
    """Looking up by product and by tag each use an index that starts with that column, as the planner chooses."""
    pcol, tcol, _ = _link_columns(ctx)
    conn = ctx.learner
    report = []
    with conn.transaction(force_rollback=True):
        conn.execute("ANALYZE product_tags")  # the planner judges with fresh statistics (rolled back with the rest)
        for column, other in ((tcol, pcol), (pcol, tcol)):
            leading = _leading_indexes(ctx, "product_tags", column)
            value = conn.execute(sql.SQL("SELECT {c} FROM product_tags GROUP BY {c} ORDER BY count(*), {c} LIMIT 1").format(
                c=sql.Identifier(column))).fetchone()
            ctx.expect(value is not None, "product_tags is empty", "fill it first (exercise 1.6)")
            plan = ctx.explain(sql.SQL("SELECT {o} FROM product_tags WHERE {c} = {v}").format(
                o=sql.Identifier(other), c=sql.Identifier(column), v=sql.Literal(value[0])).as_string(conn))
            used = plan.indexes_used()
            if not leading:
                ctx.fail(f"looking up product_tags by {column} has no index that starts with {column}"
                         + (f" (the plan can only walk {', '.join(sorted(used))})" if used else ""),
                         f"a composite key (a, b) serves lookups by a; for lookups by b: CREATE INDEX ON product_tags ({column})")
            ctx.expect(used & set(leading),
                       f"looking up product_tags by {column} reads the whole table: the planner does not choose "
                       f"{', '.join(leading)} (plan: {plan.root.node_type})",
                       f"a B-tree (or hash) index on ({column}) serves an equality lookup; a BRIN index only helps "
                       "when the column's values follow the table's physical order")
            report.append(f"by {column}: {sorted(used & set(leading))[0]}")
    return "both directions use an index (" + "; ".join(report) + ")"


# ---- 1.8 soft deletes -------------------------------------------------------------------------

@exercise("1.8", "A view of the live accounts")
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
