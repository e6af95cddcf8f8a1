"""A small schema linter: the guide's naming conventions, checked on DDL text or on a live catalog.

Two front ends build the same small model of tables (columns, primary key, foreign keys) and the
same rules judge it:

* :func:`lint_sql` parses DDL with pglast (PostgreSQL's own parser, so a statement the server
  would reject is reported as a ``syntax`` finding with the server's message);
* :func:`lint_catalog` reads an existing schema from ``pg_catalog``.

    >>> lint_sql("CREATE TABLE Customer (customerID serial PRIMARY KEY)")
    [Finding(rule='snake-case', ...), ...]

Rules (:data:`RULES`): snake_case names, plural table names, an ``id`` primary key, foreign keys
named ``<table_singular>_id``, ``*_at`` columns of type timestamptz (``created_at``/``updated_at``
also NOT NULL with a default), boolean names with ``is_``/``has_``/``can_``, and no SQL keywords
as names. Each finding names its rule, so a deliberate exception can be ignored by rule
(``ignore={"fk-name"}``) or by object (``ignore={"documents.owner_id"}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pglast import ast, enums, parse_sql
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS
from pglast.parser import ParseError

__all__ = ["RULES", "Column", "Finding", "ForeignKey", "Table", "lint_catalog", "lint_sql", "lint_tables",
           "singular"]

RULES: dict[str, str] = {
    "syntax": "the DDL must parse (pglast uses PostgreSQL's own grammar)",
    "snake-case": "tables and columns are lower snake_case (no quotes, capitals, spaces)",
    "plural-table": "table names are plural (users, order_items)",
    "reserved-word": "no SQL keyword as a name (user, order, group...): it needs quotes everywhere",
    "primary-key": "every table has a primary key; a single-column one is called id",
    "fk-name": "a foreign key column is <referenced table, singular>_id (user_id, order_id)",
    "timestamptz": "*_at columns are timestamptz; created_at/updated_at are NOT NULL with a default",
    "boolean-prefix": "boolean columns start with is_, has_ or can_",
}

#: Names the server only accepts quoted as table or column names.
KEYWORDS = frozenset(RESERVED_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS)

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
BOOLEAN_PREFIXES = ("is_", "has_", "can_")

#: Type aliases as the parser spells them -> the catalog's type name (pg_type.typname).
_TYPE_ALIASES = {
    "serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8", "smallserial": "int2",
    "serial2": "int2", "int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2",
    "boolean": "bool", "decimal": "numeric", "real": "float4", "float": "float8",
    "timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
    "character varying": "varchar", "varchar": "varchar",
}

_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman", "data": "datum",
              "media": "medium", "criteria": "criterion", "indices": "index", "analyses": "analysis"}
_UNCOUNTABLE = ("news", "series", "species", "metadata", "information", "equipment", "settings")


def singular(name: str) -> str:
    """The singular of a snake_case plural, by the last word: users -> user, categories -> category."""
    head, _, last = name.rpartition("_")
    prefix = head + "_" if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if last in _UNCOUNTABLE:
        return name
    if last.endswith("ies") and len(last) > 3:
        return prefix + last[:-3] + "y"
    if last.endswith(("sses", "shes", "ches", "xes", "zes", "uses")):
        return prefix + last[:-2]
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return prefix + last[:-1]
    return name


def is_plural(name: str) -> bool:
    last = name.rpartition("_")[2]
    return last in _IRREGULAR or last in _UNCOUNTABLE or singular(name) != name


# ---- the model both front ends build ------------------------------------------------------------
@dataclass
class Column:
    name: str
    type: str  # pg_type.typname: int8, text, timestamptz, bool, _int4 for int4[]...
    not_null: bool = False
    has_default: bool = False


@dataclass
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] = ()  # empty: the referenced table's primary key


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)


@dataclass(frozen=True, order=True)
class Finding:
    """One broken convention: which object (``table`` or ``table.column``), which rule, what to do."""

    object: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.object}: {self.message} [{self.rule}]"


# ---- rules --------------------------------------------------------------------------------------
def _name_findings(obj: str, name: str, what: str) -> list[Finding]:
    out = []
    if not SNAKE_CASE.match(name):
        suggestion = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace(" ", "_")
        if what == "table" and not is_plural(suggestion):
            suggestion += "s"
        out.append(Finding(obj, "snake-case", f"{what} name {name!r} is not snake_case (e.g. {suggestion})"))
    if name.lower() in KEYWORDS:
        out.append(Finding(obj, "reserved-word", f"{what} name {name!r} is an SQL keyword and must always be quoted"))
    return out


def _fk_name_ok(column: str, fk: ForeignKey, table: Table) -> bool:
    target = singular(fk.ref_table)
    if column == f"{target}_id" or column.endswith(f"_{target}_id"):
        return True
    return fk.ref_table == table.name and column.endswith("_id")  # self-reference: parent_id, manager_id


def lint_tables(tables: Iterable[Table], *, ignore: Iterable[str] = ()) -> list[Finding]:
    """Apply every rule to the model; sorted findings, minus those whose rule or object is ignored."""
    findings: list[Finding] = []
    for table in tables:
        t = table.name
        findings += _name_findings(t, t, "table")
        if SNAKE_CASE.match(t) and not is_plural(t):
            findings.append(Finding(t, "plural-table", f"table name {t!r} is singular (e.g. {t}s)"))
        fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
        if not table.primary_key:
            findings.append(Finding(t, "primary-key", "the table has no primary key"))
        elif len(table.primary_key) == 1 and table.primary_key[0] != "id" and table.primary_key[0] not in fk_columns:
            findings.append(Finding(t, "primary-key", f"the primary key is {table.primary_key[0]!r}; call it id"))
        elif len(table.primary_key) > 1 and not set(table.primary_key) <= fk_columns:
            findings.append(Finding(t, "primary-key", "a composite primary key is for link tables "
                                    "(all its columns foreign keys); give this table an id"))
        for col in table.columns.values():
            obj = f"{t}.{col.name}"
            findings += _name_findings(obj, col.name, "column")
            if col.name.endswith("_at") and col.type != "timestamptz":
                findings.append(Finding(obj, "timestamptz", f"{col.name} is {col.type}; use timestamptz "
                                        "(a point in time, stored in UTC, shown in the session's time zone)"))
            elif col.type == "timestamp":
                findings.append(Finding(obj, "timestamptz", f"{col.name} is timestamp without time zone; "
                                        "use timestamptz and name it *_at"))
            elif col.type == "timestamptz" and not col.name.endswith("_at") and SNAKE_CASE.match(col.name):
                findings.append(Finding(obj, "timestamptz", f"timestamp column {col.name!r} should end in _at"))
            if col.name in ("created_at", "updated_at") and not (col.not_null and col.has_default):
                findings.append(Finding(obj, "timestamptz", f"{col.name} should be NOT NULL DEFAULT now()"))
            if col.type == "bool" and not col.name.startswith(BOOLEAN_PREFIXES):
                findings.append(Finding(obj, "boolean-prefix", f"boolean {col.name!r} should read as a "
                                        f"yes/no question (e.g. is_{col.name})"))
        for fk in table.foreign_keys:
            if len(fk.columns) != 1:
                continue
            column = fk.columns[0]
            if not _fk_name_ok(column, fk, table):
                findings.append(Finding(f"{t}.{column}", "fk-name", f"foreign key to {fk.ref_table} should be "
                                        f"named {singular(fk.ref_table)}_id (or <role>_{singular(fk.ref_table)}_id)"))
    skip = set(ignore)
    return sorted({f for f in findings if f.rule not in skip and f.object not in skip})


# ---- front end 1: DDL text, parsed by pglast ----------------------------------------------------
def _type_name(type_name: ast.TypeName) -> str:
    names = [n.sval for n in type_name.names]
    name = names[-1]
    name = _TYPE_ALIASES.get(name, name)
    return "_" + name if type_name.arrayBounds else name


def _constraint(table: Table, con: ast.Constraint, column: str | None = None) -> None:
    kind = con.contype
    if kind == enums.ConstrType.CONSTR_PRIMARY:
        table.primary_key = (column,) if column else tuple(k.sval for k in con.keys)
        for name in table.primary_key:
            if name in table.columns:
                table.columns[name].not_null = True
    elif kind == enums.ConstrType.CONSTR_FOREIGN:
        cols = (column,) if column else tuple(a.sval for a in con.fk_attrs)
        refs = tuple(a.sval for a in con.pk_attrs or ())
        table.foreign_keys.append(ForeignKey(cols, con.pktable.relname, refs))
    elif column and kind == enums.ConstrType.CONSTR_NOTNULL:
        table.columns[column].not_null = True
    elif column and kind in (enums.ConstrType.CONSTR_DEFAULT, enums.ConstrType.CONSTR_IDENTITY,
                             enums.ConstrType.CONSTR_GENERATED):
        table.columns[column].has_default = True


def _add_column(table: Table, col: ast.ColumnDef) -> None:
    type_name = _type_name(col.typeName)
    serial = col.typeName.names[-1].sval in ("serial", "bigserial", "smallserial", "serial2", "serial4", "serial8")
    table.columns[col.colname] = Column(col.colname, type_name, bool(col.is_not_null) or serial, serial)
    for con in col.constraints or ():
        _constraint(table, con, col.colname)


def _sql_model(statements) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    at = enums.AlterTableType
    for raw in statements:
        stmt = raw.stmt
        if isinstance(stmt, ast.CreateStmt) and stmt.partbound is None:
            table = tables[stmt.relation.relname] = Table(stmt.relation.relname)
            for element in stmt.tableElts or ():
                if isinstance(element, ast.ColumnDef):
                    _add_column(table, element)
            for element in stmt.tableElts or ():
                if isinstance(element, ast.Constraint):
                    _constraint(table, element)
        elif isinstance(stmt, ast.AlterTableStmt) and stmt.relation.relname in tables:
            table = tables[stmt.relation.relname]
            for cmd in stmt.cmds:
                if cmd.subtype == at.AT_AddColumn:
                    _add_column(table, cmd.def_)
                elif cmd.subtype == at.AT_AddConstraint:
                    _constraint(table, cmd.def_)
                elif cmd.name not in table.columns:
                    continue
                elif cmd.subtype == at.AT_DropColumn:
                    del table.columns[cmd.name]
                elif cmd.subtype == at.AT_AlterColumnType:
                    table.columns[cmd.name].type = _type_name(cmd.def_.typeName)
                elif cmd.subtype == at.AT_SetNotNull:
                    table.columns[cmd.name].not_null = True
                elif cmd.subtype == at.AT_DropNotNull:
                    table.columns[cmd.name].not_null = False
                elif cmd.subtype == at.AT_ColumnDefault:
                    table.columns[cmd.name].has_default = cmd.def_ is not None
        elif isinstance(stmt, ast.RenameStmt) and stmt.relation is not None and stmt.relation.relname in tables:
            old = stmt.relation.relname
            if stmt.renameType == enums.ObjectType.OBJECT_TABLE:
                table = tables.pop(old)
                table.name = stmt.newname
                tables[stmt.newname] = table
                for other in tables.values():
                    for fk in other.foreign_keys:
                        if fk.ref_table == old:
                            fk.ref_table = stmt.newname
            elif stmt.renameType == enums.ObjectType.OBJECT_COLUMN and stmt.subname in tables[old].columns:
                table = tables[old]
                column = table.columns.pop(stmt.subname)
                column.name = stmt.newname
                table.columns[stmt.newname] = column
                rename = lambda cols: tuple(stmt.newname if c == stmt.subname else c for c in cols)  # noqa: E731
                table.primary_key = rename(table.primary_key)
                for fk in table.foreign_keys:
                    fk.columns = rename(fk.columns)
    return tables


def lint_sql(ddl: str, *, ignore: Iterable[str] = ()) -> list[Finding]:
    """Lint DDL text: CREATE TABLE, ALTER TABLE (columns, constraints, renames); other statements pass.

    A statement PostgreSQL cannot parse gives one ``syntax`` finding carrying the parser's message.
    """
    try:
        statements = parse_sql(ddl)
    except ParseError as exc:
        message, position = exc.args[0], exc.args[1] if len(exc.args) > 1 else None
        line = ddl[: position].count("\n") + 1 if isinstance(position, int) else None
        where = f"line {line}" if line else "DDL"
        return [Finding(where, "syntax", message)]
    return lint_tables(_sql_model(statements).values(), ignore=ignore)


# ---- front end 2: the catalog of a live database ------------------------------------------------
_CATALOG_TABLES = """
SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname"""

_CATALOG_COLUMNS = """
SELECT a.attrelid, a.attname, t.typname, a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum"""

_CATALOG_KEYS = """
SELECT con.conrelid, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       ref.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE con.conrelid = ANY(%s) AND con.contype IN ('p', 'f')
ORDER BY con.conrelid, con.conname"""


def lint_catalog(conn, *, schema: str = "public", tables: Iterable[str] | None = None,
                 ignore: Iterable[str] = ()) -> list[Finding]:
    """Lint the tables of a live schema (all of them, or only ``tables``) through a psycopg connection."""
    wanted = None if tables is None else set(tables)
    rows = conn.execute(_CATALOG_TABLES, [schema]).fetchall()
    model = {oid: Table(name) for oid, name in rows if wanted is None or name in wanted}
    oids = list(model)
    for oid, name, typname, not_null, has_default in conn.execute(_CATALOG_COLUMNS, [oids]).fetchall():
        model[oid].columns[name] = Column(name, typname, not_null, has_default)
    for oid, kind, cols, ref_table, ref_cols in conn.execute(_CATALOG_KEYS, [oids]).fetchall():
        if kind == "p":
            model[oid].primary_key = tuple(cols)
        else:
            model[oid].foreign_keys.append(ForeignKey(tuple(cols), ref_table, tuple(ref_cols)))
    return lint_tables(model.values(), ignore=ignore)
