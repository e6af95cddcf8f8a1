"""The mermaid ER diagram and the table reference of datasets/README.md, generated from the
catalog of a seeded template, so the documentation cannot drift from the schema.

    python -m pgcourse.datasets.tools readme   # rewrite the generated part of the README
"""

from __future__ import annotations

import re

import psycopg

BEGIN = "<!-- BEGIN GENERATED: python -m pgcourse.datasets.tools readme -->"
END = "<!-- END GENERATED -->"

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p' AND a.attnum = ANY (k.conkey)),
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND a.attnum = ANY (k.conkey))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND c.relkind = 'r'
ORDER BY c.relname, a.attnum
"""
_FKS = """
SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f' AND n.nspname = 'public' ORDER BY 1, 3
"""
_CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE n.nspname = 'public' AND c.contype IN ('c', 'u', 'x') ORDER BY 1, 2
"""
_INDEXES = """
SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' ORDER BY 1, 2
"""
_COMMENTS = """
SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1
"""


def _mermaid_type(t: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", t.replace("[]", "_array").replace("timestamp with time zone", "timestamptz"))


def mermaid(conn: psycopg.Connection) -> str:
    """An ``erDiagram`` of every table: columns with PK/FK marks, one line per foreign key."""
    lines = ["erDiagram"]
    current = None
    for table, col, typ, _notnull, _default, _ident, _gen, pk, fk in conn.execute(_COLUMNS):
        if table != current:
            if current:
                lines.append("    }")
            lines.append(f"    {table} {{")
            current = table
        keys = ",".join(k for k, on in (("PK", pk), ("FK", fk)) if on)
        lines.append(f"        {_mermaid_type(typ)} {col}{' ' + keys if keys else ''}")
    if current:
        lines.append("    }")
    for child, parent, name, definition in conn.execute(_FKS):
        column = re.search(r"FOREIGN KEY \((\w+)\)", definition).group(1)
        nullable = conn.execute("SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
                                [child, column]).fetchone()[0]
        lines.append(f'    {parent} {"|o" if nullable else "||"}--o{{ {child} : "{column}"')
    return "\n".join(lines)


def reference(conn: psycopg.Connection) -> str:
    """Markdown per table: comment, columns (type, null, default), constraints and indexes."""
    comments = dict(conn.execute(_COMMENTS).fetchall())
    columns: dict[str, list] = {}
    for table, col, typ, notnull, default, ident, gen, _pk, _fk in conn.execute(_COLUMNS):
        if ident:
            default = f"generated {'always' if ident == 'a' else 'by default'} as identity"
        elif gen:
            default = f"generated always as ({default}) stored"
        columns.setdefault(table, []).append((col, typ, "not null" if notnull else "null", default or ""))
    constraints: dict[str, list] = {}
    for table, name, _kind, definition in conn.execute(_CONSTRAINTS):
        constraints.setdefault(table, []).append(f"`{name}`: `{definition}`")
    for table, _parent, name, definition in conn.execute(_FKS):
        constraints.setdefault(table, []).append(f"`{name}`: `{definition}`")
    indexes: dict[str, list] = {}
    for table, name, definition in conn.execute(_INDEXES):
        indexes.setdefault(table, []).append(f"`{re.sub(r' ON public.', ' ON ', definition)}`")
    out = []
    for table in sorted(columns):
        out.append(f"### {table}\n\n{comments.get(table) or ''}\n")
        out.append("| column | type | null | default |\n|---|---|---|---|")
        for col, typ, null, default in columns[table]:
            out.append(f"| {col} | {typ} | {null} | {default.replace('|', '&#124;')} |")
        out.append("\nConstraints: " + ("; ".join(sorted(constraints.get(table, []))) or "none") + "\n")
        out.append("Indexes:\n" + "\n".join(f"- {i}" for i in indexes.get(table, [])) + "\n")
    return "\n".join(out)


def generated_section(conn: psycopg.Connection, row_table: str) -> str:
    """Everything between the README's BEGIN/END markers."""
    return "\n".join([BEGIN, "", "## Diagram", "", "```mermaid", mermaid(conn), "```", "",
                      "## Row counts (from datasets/manifest.json)", "", row_table, "",
                      "## Tables, columns, constraints and indexes", "", reference(conn), END])


def replace_section(readme: str, section: str) -> str:
    if BEGIN not in readme:
        return readme.rstrip() + "\n\n" + section + "\n"
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + section + tail


def extract_section(readme: str) -> str:
    return BEGIN + readme.split(BEGIN, 1)[1].split(END, 1)[0] + END
