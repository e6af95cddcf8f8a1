"""Checks for chapter 03, Constraints.

Every check tests behaviour as the learner, inside a transaction that is rolled back: it inserts,
updates and deletes rows that should be accepted or rejected and looks at what the server did.
So any correct answer passes (other constraint names, other column order, a unique index instead
of a UNIQUE constraint where that is equivalent) and the database is left as it was.

Rows a check inserts into identity tables consume sequence values (sequences are not
transactional); nothing else survives a check.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import errors

from . import CheckContext, exercise
from .context import attempt, first_line, is_violation, rolled_back

# ---- helpers -------------------------------------------------------------------------------------

#: The guide's constraint from its "Constraints" section, which 3.4 asks about.
GUIDE_DISCOUNT_CHECK = "CHECK (discount_amount >= 0 AND discount_amount <= total_amount)"

#: The rows of exercise 3.4: label -> (total_amount, discount_amount); None is NULL.
DISCOUNT_ROWS: dict[str, tuple[Any, Any]] = {
    "a": (100, 10),
    "b": (100, None),
    "c": (100, 150),
    "d": (100, -5),
    "e": (50, 50),
}

#: Exercise 3.5: addresses a correct e-mail CHECK must reject / accept.
BAD_EMAILS = ("user@example.c|m", "user@example.||", "user@example", "user@example.c", "no-at-sign.example.com",
              "user name@example.com", "user@@example.com")
GOOD_EMAILS = ("first.last+tag@mail.example.co.uk", "A_B%c-d@EXAMPLE.ORG", "x@y.io")
#: A reference pattern for "every row left in the table is valid".
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"

#: Exercise 3.10: the rule for new order numbers.
ORDER_NUMBER_PATTERN = r"^ORD-[0-9]{8}$"
LEGACY_PREFIX = "LEGACY-"


def foreign_keys(ctx: CheckContext, table: str) -> list[dict]:
    """Foreign keys of a table: columns, referenced table and columns, ON DELETE action, deferrable."""
    rows = ctx.rows(
        """SELECT c.conname,
                  ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
                  c.confrelid::regclass::text,
                  ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i),
                  c.confdeltype, c.condeferrable
           FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = to_regclass(%s)""", [f"public.{table}"])
    return [{"name": r[0], "columns": list(r[1]), "references": r[2], "ref_columns": list(r[3]),
             "on_delete": r[4], "deferrable": r[5]} for r in rows]


def fk_on(ctx: CheckContext, table: str, column: str, parent: str) -> dict | None:
    for fk in foreign_keys(ctx, table):
        if fk["columns"] == [column] and fk["references"] in (parent, f"public.{parent}"):
            return fk
    return None


def require_table(ctx: CheckContext, table: str) -> None:
    ctx.expect(ctx.table_exists(table), f"there is no table {table}",
               "run the set-up cell above the exercise (it creates the table); "
               "`pgcourse reset 03` gives you a fresh chapter database if it got lost")


def scans(conn: psycopg.Connection, table: str) -> tuple[int, int]:
    """(sequential scans, index scans) of a table so far in this session, pending ones included."""
    row = conn.execute("SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relid = to_regclass(%s)",
                       [f"public.{table}"]).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def new_user(conn: psycopg.Connection, tag: str) -> int:
    """A fresh user with no orders (so RESTRICT on orders does not stop its deletion)."""
    return conn.execute(
        "INSERT INTO users (email, username, password_hash, full_name, country_code) "
        "VALUES (%s, %s, 'x', 'Check User', 'NL') RETURNING id",
        [f"check.{tag}@example.com", f"check_{tag}"]).fetchone()[0]


def new_products(conn: psycopg.Connection, tag: str, n: int = 1) -> list[int]:
    """Fresh products that nobody ordered (so order_items' RESTRICT does not stop their deletion)."""
    rows = conn.execute(
        "INSERT INTO products (category_id, sku, name, price) "
        "SELECT (SELECT min(id) FROM categories), %s || '-' || g, 'Check product', 1 FROM generate_series(1, %s) g "
        "RETURNING id", [f"CHECK-{tag}", n]).fetchall()
    return [r[0] for r in rows]


# ---- 3.1 foreign key actions -----------------------------------------------------------------------

@exercise("3.1", "Foreign keys on reviews: anonymise on user delete, cascade on product delete")
def review_foreign_keys(ctx: CheckContext) -> str:
    """Parts of the task: (1) a foreign key reviews.user_id -> users; (2) deleting a user keeps their
    reviews with user_id NULL (SET NULL); (3) a foreign key reviews.product_id -> products; (4) deleting
    a product deletes its reviews (CASCADE)."""
    require_table(ctx, "reviews")
    hint_user = "ALTER TABLE reviews ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE ..."
    hint_product = "ALTER TABLE reviews ADD FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE ..."
    ctx.expect(fk_on(ctx, "reviews", "user_id", "users"), "reviews.user_id has no foreign key to users yet", hint_user)
    ctx.expect(fk_on(ctx, "reviews", "product_id", "products"), "reviews.product_id has no foreign key to products yet",
               hint_product)
    conn = ctx.learner
    with rolled_back(conn):
        uid = new_user(conn, "3-1")
        (pid,) = new_products(conn, "3-1")
        other_product = conn.execute("SELECT min(id) FROM products WHERE id <> %s", [pid]).fetchone()[0]
        other_user = conn.execute("SELECT min(id) FROM users WHERE id <> %s", [uid]).fetchone()[0]
        kept = conn.execute(
            "INSERT INTO reviews (user_id, product_id, rating, body) VALUES (%s, %s, 4, 'check 3.1') RETURNING id",
            [uid, other_product]).fetchone()[0]
        conn.execute("INSERT INTO reviews (user_id, product_id, rating, body) VALUES (%s, %s, 5, 'check 3.1'), "
                     "(%s, %s, 3, 'check 3.1')", [uid, pid, other_user, pid])

        err = attempt(conn, "DELETE FROM users WHERE id = %s", [uid], immediate=True)
        ctx.expect(err is None, f"deleting a user who wrote reviews was refused ({first_line(err) if err else ''})",
                   "the reviews should stay, anonymised: ON DELETE SET NULL on reviews.user_id")
        row = conn.execute("SELECT user_id FROM reviews WHERE id = %s", [kept]).fetchone()
        ctx.expect(row is not None, "deleting a user also deleted their reviews (CASCADE)",
                   "the reviews should stay, with user_id set to NULL: ON DELETE SET NULL")
        ctx.expect(row[0] is None, "after deleting a user, their review still points to the deleted id", hint_user)

        err = attempt(conn, "DELETE FROM products WHERE id = %s", [pid], immediate=True)
        ctx.expect(err is None, f"deleting a product that has reviews was refused ({first_line(err) if err else ''})",
                   "RESTRICT and NO ACTION refuse; the reviews should go with their product: ON DELETE CASCADE")
        left = conn.execute("SELECT count(*) FROM reviews WHERE product_id = %s", [pid]).fetchone()[0]
        ctx.expect(left == 0, f"after deleting a product, {left} of its reviews are still there", hint_product)
    return "deleting a user anonymises their reviews (SET NULL); deleting a product removes its reviews (CASCADE)"


# ---- 3.2 predict: scans of an unindexed child --------------------------------------------------------

#: How many products 3.2 deletes in one statement.
PRODUCTS_DELETED = 20


def measure_child_scans(conn: psycopg.Connection, n: int) -> int:
    """Sequential scans of an unindexed child table caused by deleting ``n`` parents in ONE statement.

    Runs in the caller's (rolled-back) transaction on a table of its own, so the learner's
    indexes do not change the answer.
    """
    conn.execute("CREATE TABLE pgcourse_check_wishlist (product_id bigint NOT NULL REFERENCES products ON DELETE CASCADE)")
    ids = new_products(conn, "3-2", n)
    conn.execute("INSERT INTO pgcourse_check_wishlist SELECT p FROM unnest(%s::bigint[]) p, generate_series(1, 3)", [ids])
    before, _ = scans(conn, "pgcourse_check_wishlist")
    conn.execute("DELETE FROM products WHERE id = ANY(%s)", [ids])
    after, _ = scans(conn, "pgcourse_check_wishlist")
    return after - before


@exercise("3.2", "Predict: sequential scans of the child per parent DELETE")
def predict_child_scans(ctx: CheckContext) -> str:
    """Part of the task: one number, the sequential scans of the unindexed child caused by one DELETE of
    20 parents (20.0 and "20" mean 20); the check measures it on a throwaway child table of its own."""
    predicted = ctx.predicted_number()
    with rolled_back(ctx.learner) as conn:
        measured = measure_child_scans(conn, PRODUCTS_DELETED)
    ctx.expect(predicted == measured,
               f"you predicted {predicted}; deleting {PRODUCTS_DELETED} products in one statement scanned the "
               f"unindexed child {measured} times",
               "the foreign key is enforced by one query on the child per deleted parent row, not one per statement")
    return f"{measured} sequential scans for {PRODUCTS_DELETED} deleted products: one per parent row"


# ---- 3.3 index the foreign key ---------------------------------------------------------------------

def leading_indexes(ctx: CheckContext, table: str, column: str) -> list[dict]:
    """Valid, non-partial indexes of ``table`` whose first key is ``column`` (any access method)."""
    return [ix for ix in ctx.indexes(table)
            if ix["valid"] and ix["predicate"] is None and ix["keys"] and ix["keys"][0] == column]


@exercise("3.3", "Find the foreign key of wishlist_items that has no index, and index it")
def wishlist_fk_index(ctx: CheckContext) -> str:
    """Parts of the task: (1) both foreign keys stay; (2) the primary key stays; (3) some index leads
    with product_id (the unindexed key); (4) deleting a product and (5) deleting a user read
    wishlist_items through an index, never sequentially (normal planner: any index type that really
    serves the lookup passes: B-tree, hash...)."""
    require_table(ctx, "wishlist_items")
    for column, parent in (("user_id", "users"), ("product_id", "products")):
        ctx.expect(fk_on(ctx, "wishlist_items", column, parent),
                   f"the foreign key wishlist_items.{column} -> {parent} is gone",
                   "keep the constraint: the fix is an index on the referencing column, not fewer rules")
    ctx.expect(any(i["unique"] and i["valid"] and i["predicate"] is None and sorted(i["keys"]) == ["product_id", "user_id"]
                   for i in ctx.indexes("wishlist_items")),
               "wishlist_items lost its primary key (user_id, product_id)",
               "keep the primary key: it stops a product being wished twice, and it already serves user_id")
    leading = leading_indexes(ctx, "wishlist_items", "product_id")
    if not leading:
        later = [ix["name"] for ix in ctx.indexes("wishlist_items") if "product_id" in ix["keys"][1:]]
        ctx.fail("no index starts with product_id: deleting a product still reads all of wishlist_items"
                 + (f" ({', '.join(later)} has product_id, but not as its first column)" if later else ""),
                 "the primary key (user_id, product_id) serves lookups by user_id, its leading column, but not by "
                 "product_id alone: CREATE INDEX ON wishlist_items (product_id)")
    conn = ctx.learner
    with rolled_back(conn):
        uid = new_user(conn, "3-3")
        (pid,) = new_products(conn, "3-3")
        conn.execute("INSERT INTO wishlist_items (user_id, product_id) VALUES (%s, %s)", [uid, pid])
        for what, query, key in (("a product", "DELETE FROM products WHERE id = %s", pid),
                                 ("a user", "DELETE FROM users WHERE id = %s", uid)):
            before, _ = scans(conn, "wishlist_items")
            conn.execute(query, [key])
            after, _ = scans(conn, "wishlist_items")
            ctx.expect(after == before, f"deleting {what} still read wishlist_items sequentially "
                                        f"(the index{'es' if len(leading) > 1 else ''} "
                                        f"{', '.join(ix['name'] for ix in leading)} did not serve the lookup)",
                       "each foreign key column needs an index that starts with it and answers = (a B-tree or a hash "
                       "index; a BRIN index on an unordered column does not help)")
    names = ", ".join(f"{ix['name']} ({ix['method']})" for ix in leading)
    return f"both foreign keys are served by an index ({names} for product_id); parent deletes use them"


# ---- 3.4 predict: NULL and CHECK ---------------------------------------------------------------------

def _labels(value: Any) -> set[str]:
    if isinstance(value, str):
        parts = re.split(r"[\s,;]+", value)
    elif isinstance(value, (list, tuple, set)):
        parts = [str(v) for v in value]
    else:
        parts = [str(value)]
    return {p.strip().strip("'\"").lower() for p in parts if p.strip()}


def discount_truth(conn: psycopg.Connection) -> set[str]:
    """Which rows of :data:`DISCOUNT_ROWS` the guide's CHECK accepts, measured on a temporary table."""
    conn.execute("CREATE TEMP TABLE pgcourse_check_discount (label text, total_amount numeric(10,2) NOT NULL, "
                 f"discount_amount numeric(10,2) DEFAULT 0, {GUIDE_DISCOUNT_CHECK}) ON COMMIT DROP")
    accepted = set()
    for label, (total, discount) in DISCOUNT_ROWS.items():
        if attempt(conn, "INSERT INTO pgcourse_check_discount VALUES (%s, %s, %s)", [label, total, discount]) is None:
            accepted.add(label)
    return accepted


@exercise("3.4", "Predict: which rows does the guide's discount CHECK accept?")
def predict_check_null(ctx: CheckContext) -> str:
    """Part of the task: the set of labels of the accepted rows (a list or a string of labels, any case
    and order); the check measures the truth on a temporary table."""
    predicted = _labels(ctx.saved_value())
    unknown = predicted - set(DISCOUNT_ROWS)
    ctx.expect(not unknown, f"unknown row labels {sorted(unknown)}",
               f"use the labels {', '.join(DISCOUNT_ROWS)}: pgcourse.answer(\"3.4\", [\"a\", ...])")
    with rolled_back(ctx.learner) as conn:
        truth = discount_truth(conn)
    if predicted != truth:
        missed = sorted(truth - predicted)
        wrong = sorted(predicted - truth)
        reason = "your prediction differs from what the server does"
        if missed:
            reason += f"; accepted but not predicted: {', '.join(missed)}"
        if wrong:
            reason += f"; predicted but rejected: {', '.join(wrong)}"
        hint = "run the measurement cell below the exercise and compare; "
        hint += ("a CHECK rejects a row only when its expression is FALSE: NULL >= 0 is NULL, not FALSE"
                 if "b" in missed else "compare each row with both halves of the AND")
        ctx.fail(reason, hint)
    return f"accepted: {', '.join(sorted(truth))}; a CHECK passes when its expression is NULL (row b)"


# ---- 3.5 the guide's e-mail regex ---------------------------------------------------------------------

@exercise("3.5", "Fix the guide's e-mail CHECK ([A-Z|a-z] accepts a pipe)")
def email_check(ctx: CheckContext) -> str:
    """Parts of the task: (1) the malformed row is gone from newsletter_signups; (2) c|m and every other
    domain not ending in a dot and two letters is rejected (BAD_EMAILS); (3) every valid address is
    accepted (GOOD_EMAILS and 200 of the dataset's)."""
    require_table(ctx, "newsletter_signups")
    conn = ctx.learner
    with rolled_back(conn):
        for email in BAD_EMAILS:
            err = attempt(conn, "INSERT INTO newsletter_signups (email) VALUES (%s)", [email])
            if err is None:
                hint = ("inside a bracket expression | is an ordinary character: [A-Z|a-z] also matches '|'; "
                        "write [A-Za-z]" if "|" in email else "the domain must end in a dot and two or more letters")
                ctx.fail(f"'{email}' is still accepted", hint)
            ctx.expect(is_violation(err), f"inserting '{email}' failed for another reason: {first_line(err)}",
                       "the table should keep its columns: id (identity) and email")
        samples = [r[0] for r in conn.execute(
            "SELECT email FROM users ORDER BY id LIMIT 200").fetchall()]
        for email in (*GOOD_EMAILS, *samples):
            err = attempt(conn, "INSERT INTO newsletter_signups (email) VALUES (%s)", [email])
            ctx.expect(err is None, f"the valid address '{email}' is rejected ({first_line(err) if err else ''})",
                       "the pattern is too strict now: letters of both cases, digits and ._%+- before the @, "
                       "and a domain ending in a dot and two or more letters ({2,})")
    bad = ctx.value("SELECT count(*) FROM newsletter_signups WHERE email !~ %s", [EMAIL_PATTERN])
    ctx.expect(bad == 0, f"{bad} malformed address(es) are still in newsletter_signups",
               "delete (or correct) the row the old CHECK let in, then add the new CHECK")
    return f"{len(BAD_EMAILS)} malformed addresses rejected, {len(GOOD_EMAILS) + len(samples)} valid ones accepted"


# ---- 3.6 composite unique ------------------------------------------------------------------------------

@exercise("3.6", "One review per user and product (composite UNIQUE)")
def reviews_unique(ctx: CheckContext) -> str:
    """Parts of the task: (1) a second review by the same user of the same product is refused; (2) the
    same user may review another product and (3) another user the same product; (4) any number of
    anonymised reviews (user_id NULL) of one product are accepted."""
    require_table(ctx, "reviews")
    conn = ctx.learner
    with rolled_back(conn):
        pair = conn.execute("SELECT user_id, product_id FROM reviews WHERE user_id IS NOT NULL ORDER BY id LIMIT 1").fetchone()
        ctx.expect(pair, "reviews has no review with a user", "run the set-up cell that fills reviews")
        uid, pid = pair
        other_product = conn.execute("SELECT min(p.id) FROM products p WHERE NOT EXISTS (SELECT 1 FROM reviews r "
                                     "WHERE r.user_id = %s AND r.product_id = p.id)", [uid]).fetchone()[0]
        other_user = conn.execute("SELECT min(u.id) FROM users u WHERE NOT EXISTS (SELECT 1 FROM reviews r "
                                  "WHERE r.product_id = %s AND r.user_id = u.id)", [pid]).fetchone()[0]
        insert = "INSERT INTO reviews (user_id, product_id, rating, body) VALUES (%s, %s, 5, 'check 3.6')"
        err = attempt(conn, insert, [uid, pid])
        ctx.expect(err is not None, "a second review by the same user of the same product was accepted",
                   "UNIQUE (user_id, product_id): the pair is unique, not each column")
        ctx.expect(is_violation(err), f"the duplicate review failed for another reason: {first_line(err)}")
        err = attempt(conn, insert, [uid, other_product])
        ctx.expect(err is None, f"the same user could not review another product ({first_line(err) if err else ''})",
                   "only the pair (user_id, product_id) must be unique, not user_id alone")
        err = attempt(conn, insert, [other_user, pid])
        ctx.expect(err is None, f"another user could not review the same product ({first_line(err) if err else ''})",
                   "only the pair (user_id, product_id) must be unique, not product_id alone")
        err = attempt(conn, "INSERT INTO reviews (user_id, product_id, rating, body) "
                            "VALUES (NULL, %s, 4, 'anonymised'), (NULL, %s, 3, 'anonymised')", [pid, pid])
        if isinstance(err, errors.NotNullViolation):
            ctx.fail("reviews.user_id no longer accepts NULL, so reviews of deleted users cannot be anonymised",
                     "a PRIMARY KEY makes its columns NOT NULL: use UNIQUE (user_id, product_id) instead")
        ctx.expect(err is None, f"two anonymised reviews (user_id NULL) of the same product collide ({first_line(err) if err else ''})",
                   "keep the default NULLS DISTINCT: with NULLS NOT DISTINCT, NULL users count as the same user")
    return "a user reviews a product at most once; anonymised reviews (NULL user) do not collide"


# ---- 3.7 partial unique index ---------------------------------------------------------------------------

@exercise("3.7", "At most one default address per user (partial unique index)")
def one_default_address(ctx: CheckContext) -> str:
    """Parts of the task: (1) a second default address of a user is refused; (2) any number of
    non-default addresses is accepted; (3) the rule holds for every user (a new user gets one default,
    not two)."""
    require_table(ctx, "user_addresses")
    conn = ctx.learner
    with rolled_back(conn):
        uid = conn.execute("SELECT user_id FROM user_addresses GROUP BY user_id "
                           "HAVING bool_or(is_default) AND bool_or(NOT is_default) ORDER BY user_id LIMIT 1").fetchone()
        ctx.expect(uid, "no user has both a default and another address", "run the set-up cell that fills user_addresses")
        uid = uid[0]
        fresh = conn.execute("SELECT min(u.id) FROM users u WHERE NOT EXISTS "
                             "(SELECT 1 FROM user_addresses a WHERE a.user_id = u.id)").fetchone()[0]
        insert = "INSERT INTO user_addresses (user_id, label, city, is_default) VALUES (%s, %s, 'Utrecht', %s)"
        err = attempt(conn, insert, [uid, "second home", True])
        ctx.expect(err is not None, "a user can still get a second default address",
                   "CREATE UNIQUE INDEX ... ON user_addresses (user_id) WHERE is_default")
        ctx.expect(is_violation(err), f"the second default failed for another reason: {first_line(err)}")
        err = attempt(conn, insert, [uid, "holiday", False])
        ctx.expect(err is None, f"a user with a default address cannot add another non-default one ({first_line(err) if err else ''})",
                   "only default addresses must be unique per user: UNIQUE (user_id, is_default) also allows only one "
                   "non-default; a partial unique index (... WHERE is_default) leaves the others alone")
        err = attempt(conn, insert, [uid, "office", False])
        ctx.expect(err is None, f"a user cannot have several non-default addresses ({first_line(err) if err else ''})",
                   "index only the rows that must be unique: ... WHERE is_default")
        err = attempt(conn, insert, [fresh, "home", True])
        ctx.expect(err is None, f"a user without addresses cannot add a default one ({first_line(err) if err else ''})",
                   "the rule is per user: the index key is user_id")
        err = attempt(conn, insert, [fresh, "home again", True])
        ctx.expect(is_violation(err), "the new user could then add a second default address",
                   "the index must cover every user: (user_id) WHERE is_default")
    return "one default address per user; any number of other addresses"


# ---- 3.8 exclusion constraint -----------------------------------------------------------------------------

@exercise("3.8", "No overlapping bookings of a room (exclusion constraint)")
def bookings_no_overlap(ctx: CheckContext) -> str:
    """Parts of the task: (1) an overlapping booking of the same room is refused; (2) a back-to-back stay
    is accepted; (3) the same dates in another room are accepted; (4) it is a constraint (safe under
    concurrency), not a trigger."""
    require_table(ctx, "bookings")
    conn = ctx.learner
    with rolled_back(conn):
        rooms = [r[0] for r in conn.execute("SELECT id FROM rooms ORDER BY id LIMIT 2").fetchall()]
        ctx.expect(len(rooms) == 2, "the chapter database has fewer than two rooms", "`pgcourse reset 03`")
        user = conn.execute("SELECT min(id) FROM users").fetchone()[0]
        insert = "INSERT INTO bookings (room_id, user_id, check_in, check_out) VALUES (%s, %s, %s::date, %s::date)"
        err = attempt(conn, insert, [rooms[0], user, "2031-03-01", "2031-03-05"])
        ctx.expect(err is None, f"a booking in a free period was refused ({first_line(err) if err else ''})")
        err = attempt(conn, insert, [rooms[0], user, "2031-03-04", "2031-03-06"])
        ctx.expect(err is not None, "two overlapping bookings of the same room were both accepted",
                   "ALTER TABLE bookings ADD CONSTRAINT ... EXCLUDE USING gist (room_id WITH =, "
                   "daterange(check_in, check_out) WITH &&)")
        ctx.expect(is_violation(err), f"the overlapping booking failed for another reason: {first_line(err)}")
        err = attempt(conn, insert, [rooms[0], user, "2031-03-05", "2031-03-07"])
        ctx.expect(err is None, f"a back-to-back booking (check-in on the previous check-out day) was refused "
                                f"({first_line(err) if err else ''})",
                   "the check-out day is free again: use the default half-open range daterange(check_in, check_out), "
                   "i.e. '[)', not '[]'")
        err = attempt(conn, insert, [rooms[1], user, "2031-03-01", "2031-03-05"])
        ctx.expect(err is None, f"another room could not be booked for the same dates ({first_line(err) if err else ''})",
                   "only bookings of the same room may not overlap: add room_id WITH =")
    kinds = ctx.rows("SELECT contype, conperiod FROM pg_constraint WHERE conrelid = 'public.bookings'::regclass "
                     "AND (contype = 'x' OR conperiod)")
    ctx.expect(kinds, "overlaps are refused, but not by a constraint on bookings",
               "only a constraint (EXCLUDE USING gist ...) is safe when two sessions book at the same time")
    return "overlapping stays in one room are rejected; back-to-back stays and other rooms are fine"


# ---- 3.9 deferred unique constraint ---------------------------------------------------------------------

@exercise("3.9", "Swap two room names in two statements (deferred UNIQUE)")
def rooms_swap(ctx: CheckContext) -> str:
    """Parts of the task: (1) a swap in two UPDATE statements works without SET CONSTRAINTS; (2) a
    duplicate name left at COMMIT is still refused."""
    require_table(ctx, "rooms")
    conn = ctx.learner
    with rolled_back(conn):
        rows = conn.execute("SELECT id, name FROM rooms ORDER BY id LIMIT 3").fetchall()
        ctx.expect(len(rows) == 3, "the chapter database has fewer than three rooms", "`pgcourse reset 03`")
        (a, name_a), (b, name_b), (_, name_c) = rows
        err = attempt(conn, "UPDATE rooms SET name = %s WHERE id = %s", [name_b, a])
        ctx.expect(err is None, f"the first UPDATE of the swap fails at once ({first_line(err) if err else ''})",
                   "the uniqueness check must wait for COMMIT: a UNIQUE constraint DEFERRABLE INITIALLY DEFERRED "
                   "(a unique index cannot be deferred; ALTER CONSTRAINT cannot change a UNIQUE: drop and re-add it)")
        conn.execute("UPDATE rooms SET name = %s WHERE id = %s", [name_a, b])
        err = attempt(conn, "SET CONSTRAINTS ALL IMMEDIATE")
        ctx.expect(err is None, f"the swapped names failed the check at commit ({first_line(err) if err else ''})")
        err = attempt(conn, "UPDATE rooms SET name = %s WHERE id = %s", [name_c, a], immediate=True)
        ctx.expect(err is not None, "two rooms with the same name are accepted at commit: rooms.name is no longer unique",
                   "keep the rule, change only when it is checked: UNIQUE (name) DEFERRABLE INITIALLY DEFERRED")
        ctx.expect(is_violation(err), f"the duplicate name failed for another reason: {first_line(err)}")
    return "a two-statement swap commits; a duplicate name is still rejected at commit"


# ---- 3.10 NOT VALID ---------------------------------------------------------------------------------------

#: 3.10: new order numbers the rule must refuse, and what each one tests.
BAD_ORDER_NUMBERS = {
    "WEB-12345678": "another prefix",
    "ORD-1234": "too few digits",
    "ORD-1234567X": "a letter among the digits",
    "ORD-123456789": "nine digits: is the pattern anchored at the end ($) and exactly {8}?",
    "XORD-12345678": "text before ORD-: is the pattern anchored at the start (^)?",
    "ord-12345678": "lower case: ~* ignores case, the rule is ORD- in capitals (use ~)",
    "LEGACY-99999999": "a new legacy-style number: only the old orders may keep one",
}
#: 3.10: new order numbers the rule must accept (not used by the dataset, which numbers up to ORD-01000000).
GOOD_ORDER_NUMBERS = ("ORD-99999999", "ORD-98765432")


@exercise("3.10", "A rule for new order numbers that spares the legacy ones (NOT VALID)")
def order_number_not_valid(ctx: CheckContext) -> str:
    """Parts of the task: (1) the legacy orders keep their LEGACY-... numbers; (2) a new order must be
    numbered ORD- and exactly eight digits (anchored, case-sensitive; see BAD_ORDER_NUMBERS);
    (3) well-formed numbers are accepted; (4) changed rows are checked too (an UPDATE to a bad
    number is refused); (5) the rule is a CHECK constraint on orders added NOT VALID (not validated
    against the old rows)."""
    require_table(ctx, "orders")
    legacy = ctx.value("SELECT count(*) FROM orders WHERE order_number LIKE %s", [LEGACY_PREFIX + "%"])
    ctx.expect(legacy and legacy >= 1, "the legacy orders (order_number LEGACY-...) are gone or renumbered",
               "they must keep their numbers (printed invoices carry them): run the set-up cell again, "
               "then add the rule without rewriting old rows")
    hint = "ALTER TABLE orders ADD CONSTRAINT ... CHECK (order_number ~ '^ORD-[0-9]{8}$') NOT VALID"
    conn = ctx.learner
    with rolled_back(conn):
        user = conn.execute("SELECT min(user_id) FROM orders").fetchone()[0]
        insert = "INSERT INTO orders (user_id, order_number, total_amount) VALUES (%s, %s, 10)"
        for number, why in BAD_ORDER_NUMBERS.items():
            err = attempt(conn, insert, [user, number])
            ctx.expect(err is not None, f"a new order numbered '{number}' is accepted ({why})", hint)
            ctx.expect(is_violation(err), f"the order '{number}' failed for another reason: {first_line(err)}")
        for number in GOOD_ORDER_NUMBERS:
            err = attempt(conn, insert, [user, number])
            ctx.expect(err is None, f"a well-formed new order number '{number}' is rejected "
                                    f"({first_line(err) if err else ''})",
                       "the pattern is ORD- followed by exactly eight digits: '^ORD-[0-9]{8}$'")
        regular = conn.execute("SELECT id FROM orders WHERE order_number LIKE 'ORD-%' ORDER BY id LIMIT 1").fetchone()
        if regular:
            err = attempt(conn, "UPDATE orders SET order_number = 'WEB-12345678' WHERE id = %s", [regular[0]])
            ctx.expect(err is not None, "changing an existing order's number to 'WEB-12345678' is accepted",
                       "the rule must apply to changed rows too: a CHECK constraint does (a trigger on INSERT only "
                       "does not)")
    checks = [c for c in ctx.constraints("orders") if c["type"] == "c" and "order_number" in c["definition"]]
    ctx.expect(checks, "no CHECK constraint on orders mentions order_number",
               "the rule belongs in a CHECK constraint, so that every writer is held to it: " + hint)
    not_valid = [c for c in checks if not c["validated"]]
    ctx.expect(not_valid, f"{', '.join(c['name'] for c in checks)} is validated: the exercise asks for a constraint "
                          "added NOT VALID, checked for new and changed rows only",
               "the old rows stay unchecked until VALIDATE CONSTRAINT: " + hint)
    return (f"new orders must be numbered ORD-<8 digits>; the {legacy} legacy orders are kept "
            f"({not_valid[0]['name']} is NOT VALID)")
