"""The schema linter: each rule on DDL text (pglast), and the same rules on a live catalog."""

from __future__ import annotations

import pytest

from pgcourse.lint import RULES, Finding, lint_catalog, lint_sql, singular

GOOD = """
CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE TABLE categories (
    id        bigserial PRIMARY KEY,
    parent_id bigint REFERENCES categories (id)
);
CREATE TABLE roles (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id),
    role_id int NOT NULL REFERENCES roles (id),
    granted_by_user_id bigint REFERENCES users (id),
    PRIMARY KEY (user_id, role_id)
);
CREATE TABLE user_profiles (user_id bigint PRIMARY KEY REFERENCES users, bio text);
CREATE INDEX ON user_roles (role_id);
COMMENT ON TABLE users IS 'people';
"""


def rules(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.object, f.rule) for f in findings}


def test_a_schema_that_follows_the_conventions_has_no_findings():
    assert lint_sql(GOOD) == []


@pytest.mark.parametrize("word,plural", [("users", "user"), ("categories", "category"), ("addresses", "address"),
                                         ("order_items", "order_item"), ("boxes", "box"), ("people", "person"),
                                         ("statuses", "status"), ("status", "status"), ("news", "news")])
def test_singular(word, plural):
    assert singular(word) == plural


def test_each_naming_rule_fires_on_its_mistake():
    findings = lint_sql('''CREATE TABLE "OrderNote" (
        "noteID" bigint PRIMARY KEY,
        "order" bigint REFERENCES orders (id),
        created timestamp,
        pinned boolean);
        CREATE TABLE invoice (id bigint PRIMARY KEY, customer bigint REFERENCES customers, paid_at date)''')
    assert rules(findings) == {
        ("OrderNote", "snake-case"), ("OrderNote", "primary-key"), ("OrderNote.noteID", "snake-case"),
        ("OrderNote.order", "reserved-word"), ("OrderNote.order", "fk-name"), ("OrderNote.created", "timestamptz"),
        ("OrderNote.pinned", "boolean-prefix"), ("invoice", "plural-table"), ("invoice.customer", "fk-name"),
        ("invoice.paid_at", "timestamptz"),
    }
    assert all(f.rule in RULES for f in findings)
    assert findings == sorted(findings)
    assert "order_notes" in next(f.message for f in findings if f == Finding("OrderNote", "snake-case", f.message))


def test_created_at_needs_not_null_and_a_default():
    findings = lint_sql("CREATE TABLE notes (id bigint PRIMARY KEY, created_at timestamptz, updated_at timestamptz NOT NULL)")
    assert rules(findings) == {("notes.created_at", "timestamptz"), ("notes.updated_at", "timestamptz")}


def test_missing_and_composite_primary_keys():
    assert rules(lint_sql("CREATE TABLE notes (id bigint)")) == {("notes", "primary-key")}
    assert rules(lint_sql("CREATE TABLE notes (a int, b int, PRIMARY KEY (a, b))")) == {("notes", "primary-key")}


def test_role_named_foreign_keys_are_flagged_but_self_references_are_not():
    findings = lint_sql("""CREATE TABLE users (id bigint PRIMARY KEY, manager_id bigint REFERENCES users);
                           CREATE TABLE documents (id bigint PRIMARY KEY, owner_id bigint REFERENCES users,
                                                   author_user_id bigint REFERENCES users)""")
    assert rules(findings) == {("documents.owner_id", "fk-name")}


def test_findings_can_be_ignored_by_rule_or_by_object():
    ddl = "CREATE TABLE documents (id bigint PRIMARY KEY, owner_id bigint REFERENCES users, flag boolean)"
    assert rules(lint_sql(ddl, ignore={"fk-name"})) == {("documents.flag", "boolean-prefix")}
    assert rules(lint_sql(ddl, ignore={"documents.owner_id", "documents.flag"})) == set()


def test_alter_table_and_renames_are_followed():
    ddl = '''CREATE TABLE "OrderNote" ("noteID" bigint PRIMARY KEY, "order" bigint REFERENCES orders, created timestamp);
             ALTER TABLE "OrderNote" RENAME TO order_notes;
             ALTER TABLE order_notes RENAME COLUMN "noteID" TO id;
             ALTER TABLE order_notes RENAME "order" TO order_id;
             ALTER TABLE order_notes RENAME created TO created_at;
             ALTER TABLE order_notes ALTER created_at TYPE timestamptz, ALTER created_at SET NOT NULL,
                                     ALTER created_at SET DEFAULT now(), ADD COLUMN flag boolean'''
    assert rules(lint_sql(ddl)) == {("order_notes.flag", "boolean-prefix")}
    assert lint_sql(ddl + "; ALTER TABLE order_notes DROP COLUMN flag") == []


def test_syntax_errors_are_the_servers_own_messages():
    (finding,) = lint_sql("CREATE TABLE users (\n  email text,\n  CONSTRAINT uq UNIQUE (email) WHERE deleted_at IS NULL\n)")
    assert finding.rule == "syntax" and finding.message == 'syntax error at or near "WHERE"' and finding.object == "line 3"
    (finding,) = lint_sql("CREATE FUNCTION f() RETURNS trigger AS $ BEGIN RETURN NEW; END; $ LANGUAGE plpgsql")
    assert finding.message == 'syntax error at or near "$"'
    (finding,) = lint_sql("CREATE TABLE user (id bigint PRIMARY KEY)")
    assert finding.message == 'syntax error at or near "user"'


def test_quoted_keywords_parse_but_are_flagged():
    assert rules(lint_sql('CREATE TABLE "user" (id bigint PRIMARY KEY, "group" text)')) == {
        ("user", "reserved-word"), ("user", "plural-table"), ("user.group", "reserved-word")}


def test_the_catalog_gives_the_same_findings_as_the_ddl(db):
    ddl = GOOD + '''CREATE TABLE "OrderNote" ("noteID" bigint PRIMARY KEY, "order" bigint REFERENCES users,
                                            created timestamp, pinned boolean);
                    CREATE TABLE documents (id bigint PRIMARY KEY, owner_id bigint NOT NULL REFERENCES users (id))'''
    db.execute(ddl.replace("CREATE INDEX ON user_roles (role_id);", "CREATE INDEX ON user_roles (role_id);"))
    assert lint_catalog(db) == lint_sql(ddl)
    assert rules(lint_catalog(db, tables=["documents"])) == {("documents.owner_id", "fk-name")}
    assert lint_catalog(db, tables=["documents"], ignore={"fk-name"}) == []
