"""What a check function receives: read access to the chapter database and comparison helpers."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from ..plans import Plan, explain

#: Limit for any statement a check runs (learner answers included).
CHECK_STATEMENT_TIMEOUT_MS = 30_000


class CheckFailed(Exception):
    """Raised by a check: the answer is wrong (or missing). ``reason`` says why, ``hint`` what to try."""

    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class SavedAnswer:
    """What the learner saved with ``%%answer`` / ``pgcourse.answer``."""

    sql: str | None
    value: Any


class CheckContext:
    """Helpers for one check run on one chapter database (connections opened lazily, closed after)."""

    def __init__(self, chapter, exercise_id: str, *, timeout_ms: int | None = None):
        self.chapter = chapter
        self.exercise_id = exercise_id
        #: per-statement limit (the grader lowers it to its own statement timeout)
        self.timeout_ms = min(timeout_ms or CHECK_STATEMENT_TIMEOUT_MS, CHECK_STATEMENT_TIMEOUT_MS)
        self._admin: psycopg.Connection | None = None
        self._learner: psycopg.Connection | None = None
        self._sample: psycopg.Connection | None = None
        self._sample_admin: psycopg.Connection | None = None
        self._scratch: psycopg.Connection | None = None
        self._baseline: list[tuple[str, str]] | None = None
        self._extra: list[psycopg.Connection] = []

    # ---- connections -------------------------------------------------------------------------
    @property
    def admin(self) -> psycopg.Connection:
        """Read-only connection to the chapter database (catalog reads, reference queries), as the checker
        role: never a superuser, so a learner's function met in a view or a predicate cannot escalate."""
        if self._admin is None:
            self._admin = self.chapter.reader()
            self._admin.execute(f"SET statement_timeout = {self.timeout_ms}")
        return self._admin

    @property
    def learner(self) -> psycopg.Connection:
        """Connection as the learner role: learner SQL runs with the learner's rights only."""
        if self._learner is None:
            self._learner = self.chapter.connect()
            self._learner.execute(f"SET statement_timeout = {self.timeout_ms}")
            self._apply_planner_baseline(self._learner)
        return self._learner

    @property
    def sample(self) -> psycopg.Connection:
        """Connection as the learner to the second sample dataset (``pgcourse_sample``, read-only)."""
        if self._sample is None:
            from ..chapter import learner_url
            from ..server import connect
            from .sample import ensure_sample

            dbname = ensure_sample(self.chapter.server, self.chapter.role)
            self._sample = connect(learner_url(self.chapter.server, self.chapter.info, dbname, self.chapter.role,
                                               self.chapter.password or None))
            self._sample.execute(f"SET statement_timeout = {self.timeout_ms}")
            self._apply_planner_baseline(self._sample)
        return self._sample

    @property
    def sample_admin(self) -> psycopg.Connection:
        """Read-only connection to the sample dataset (reference queries there), as the checker role."""
        if self._sample_admin is None:
            from .sample import ensure_sample

            self._sample_admin = self.chapter.reader(ensure_sample(self.chapter.server, self.chapter.role))
            self._sample_admin.execute(f"SET statement_timeout = {self.timeout_ms}")
        return self._sample_admin

    @property
    def scratch(self) -> psycopg.Connection:
        """Read-only connection to the chapter's scratch database (what a learner restored there), as the checker role."""
        if self._scratch is None:
            from ..chapter import scratch_name

            self._scratch = self.chapter.reader(scratch_name(self.chapter.database))
            self._scratch.execute(f"SET statement_timeout = {self.timeout_ms}")
        return self._scratch

    def _apply_planner_baseline(self, conn: psycopg.Connection) -> None:
        """Give a learner session the server's own planner settings (and search_path).

        A learner can ``ALTER ROLE current_user SET enable_indexscan = off``; checks judge plans with
        the settings they assume, so every planner setting is set explicitly from the administrator's
        session (which the learner cannot change), whatever the role, the database or the session say.
        """
        if self._baseline is None:
            self._baseline = self.admin.execute(
                "SELECT name, reset_val FROM pg_settings WHERE (category LIKE 'Query Tuning%%' OR name = 'search_path')"
                " AND context = 'user' ORDER BY name").fetchall()
        conn.execute("SELECT set_config(name, value, false) FROM unnest(%s::text[], %s::text[]) AS s(name, value)",
                     [[n for n, _ in self._baseline], [v for _, v in self._baseline]])

    def connect_learner(self, *, search_path: str | None = None, lock_timeout_ms: int = 0, **kwargs: Any
                        ) -> psycopg.Connection:
        """Another autocommit learner connection (concurrency checks play several sessions), closed with the context."""
        options = f"-c statement_timeout={self.timeout_ms} -c lock_timeout={lock_timeout_ms}"
        if search_path:
            options += f" -c search_path={search_path}"
        kwargs.pop("autocommit", None)
        conn = self.chapter.connect(options=options, **kwargs)
        self._extra.append(conn)
        return conn

    @contextmanager
    def own_schema(self, *copies: str) -> Iterator[str]:
        """A schema of the check's own holding empty copies (``LIKE ... INCLUDING ALL``) of the learner's tables,
        dropped afterwards: concurrency checks commit there, never in the learner's tables."""
        import uuid

        name = f"pgcourse_check_{uuid.uuid4().hex[:8]}"
        conn = self.connect_learner()
        conn.execute(f"CREATE SCHEMA {name}")
        try:
            for table in copies:
                conn.execute(f"CREATE TABLE {name}.{table} (LIKE public.{table} INCLUDING ALL)")
            yield name
        finally:
            for other in self._extra:
                if other is not conn and not other.closed:
                    other.cancel_safe()
                    other.close()
            conn.execute(f"DROP SCHEMA {name} CASCADE")

    def close(self) -> None:
        for conn in (self._admin, self._learner, self._sample, self._sample_admin, self._scratch, *self._extra):
            if conn is not None and not conn.closed:
                conn.close()

    # ---- verdicts ----------------------------------------------------------------------------
    @staticmethod
    def fail(reason: str, hint: str = "") -> None:
        raise CheckFailed(reason, hint)

    def expect(self, condition: Any, reason: str, hint: str = "") -> None:
        if not condition:
            raise CheckFailed(reason, hint)

    # ---- reading the database ----------------------------------------------------------------
    def rows(self, query: str, params: Any = None) -> list[tuple]:
        cur = self.admin.execute(query, params)
        return cur.fetchall() if cur.description else []

    def value(self, query: str, params: Any = None) -> Any:
        row = self.admin.execute(query, params).fetchone()
        return row[0] if row else None

    def table_exists(self, name: str, schema: str = "public") -> bool:
        return self.value("SELECT to_regclass(%s) IS NOT NULL", [f"{schema}.{name}"])

    def columns(self, table: str, schema: str = "public") -> dict[str, dict]:
        """Column name -> {type, not_null, default, generated, identity, base_type, enum} from the catalog.

        ``base_type`` is the type under a domain (a domain over numeric(12,2) is numeric(12,2)); ``enum``
        says the type (or the domain's) is an enum."""
        rows = self.rows(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '', a.attidentity <> '',
                      format_type(b.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
                      b.typtype = 'e'
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               JOIN pg_type t ON t.oid = a.atttypid
               JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
               WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum""", [f"{schema}.{table}"])
        return {r[0]: {"type": r[1], "not_null": r[2], "default": r[3], "generated": r[4], "identity": r[5],
                       "base_type": r[6], "enum": r[7]} for r in rows}

    def indexes(self, table: str, schema: str = "public") -> list[dict]:
        """Indexes of a table: name, method, key columns/expressions, INCLUDE columns, unique, predicate, valid."""
        rows = self.rows(
            """SELECT i.relname, am.amname, x.indisunique, x.indisvalid, x.indisprimary,
                      pg_get_expr(x.indpred, x.indrelid), x.indnkeyatts,
                      ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true)
                            FROM generate_subscripts(x.indkey, 1) AS k ORDER BY k),
                      pg_get_indexdef(x.indexrelid)
               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
               WHERE x.indrelid = to_regclass(%s) ORDER BY i.relname""", [f"{schema}.{table}"])
        out = []
        for name, method, unique, valid, primary, predicate, nkey, cols, definition in rows:
            out.append({"name": name, "method": method, "unique": unique, "valid": valid, "primary": primary,
                        "predicate": predicate, "keys": list(cols[:nkey]), "include": list(cols[nkey:]),
                        "definition": definition})
        return out

    def constraints(self, table: str, schema: str = "public") -> list[dict]:
        """Constraints of a table: name, type letter (p, u, f, c, x, n), definition, deferrable, validated."""
        rows = self.rows(
            """SELECT conname, contype, pg_get_constraintdef(oid), condeferrable, condeferred, convalidated
               FROM pg_constraint WHERE conrelid = to_regclass(%s) ORDER BY conname""", [f"{schema}.{table}"])
        return [{"name": r[0], "type": r[1], "definition": r[2], "deferrable": r[3], "deferred": r[4], "validated": r[5]}
                for r in rows]

    # ---- learner answers ---------------------------------------------------------------------
    def answer(self, exercise_id: str | None = None) -> SavedAnswer:
        """The learner's saved answer for this exercise (``%%answer``), or a failure saying how to save one."""
        exercise_id = exercise_id or self.exercise_id
        row = self.rows("SELECT answer_sql, value FROM pgcourse.answers WHERE exercise = %s", [exercise_id])
        if not row or (row[0][0] is None and row[0][1] is None):
            raise CheckFailed(f"no answer saved for {exercise_id} yet",
                              f"write your answer in the exercise's answer cell (`%%answer {exercise_id}` or "
                              f"`pgcourse.answer(\"{exercise_id}\", ...)`) and run it")
        answer_sql, value = row[0]
        if answer_sql is not None and not _strip_sql(answer_sql):
            raise CheckFailed(f"the answer for {exercise_id} is empty", f"write your SQL in the `%%answer {exercise_id}` cell")
        return SavedAnswer(answer_sql, value)

    def saved_value(self) -> Any:
        """The value saved with ``pgcourse.answer(id, value)``, or a failure saying how to save one."""
        value = self.answer().value
        self.expect(value is not None, f"no value saved for {self.exercise_id} yet",
                    f'save your prediction with pgcourse.answer("{self.exercise_id}", ...)')
        return value

    def predicted_number(self, *, whole: bool = True) -> int | float:
        """The saved prediction as a number (20, 20.0, "20" and " 20.0 " all mean 20); a clear failure otherwise."""
        value = self.saved_value()
        number = as_number(value)
        if number is None or (whole and number != int(number)):
            kind = "a whole number" if whole else "a number"
            self.fail(f"your prediction {value!r} is not {'a number' if number is None else kind}",
                      f'save {kind}: pgcourse.answer("{self.exercise_id}", 7)')
        return int(number) if whole else number

    def judge_predictions(self, queries: dict[str, str], kinds: tuple[str, ...],
                          normal: Callable[[Any], str | None], actual: Callable[[str], str], hint: str,
                          *, did: str = "the planner chose") -> str:
        """Compare a saved dict of predictions (one per query key, each one of ``kinds`` in any spelling that
        ``normal`` accepts) with what the server does now (``actual(query)``); fail naming every wrong one."""
        saved = self.saved_value()
        example = ", ".join(f'"{k}": ...' for k in list(queries)[:2])
        self.expect(isinstance(saved, dict),
                    f'save the predictions as a dict: pgcourse.answer("{self.exercise_id}", {{{example}, ...}})',
                    f"one entry per query ({', '.join(queries)}), each one of: {', '.join(kinds)}")
        missing = [k for k in queries if normal(saved.get(k)) is None]
        self.expect(not missing, f"no usable prediction for {', '.join(missing)}", f"each value is one of: {', '.join(kinds)}")
        wrong = []
        for key, query in queries.items():
            happened = actual(query)
            if normal(saved[key]) != happened:
                wrong.append(f"{key}: you said {normal(saved[key])}, {did} {happened}")
        if wrong:
            self.fail(f"{len(queries) - len(wrong)} of {len(queries)} right; " + "; ".join(wrong), hint)
        return f"all {len(queries)} predictions match what the server does"

    def run_answer(self, answer_sql: str | None = None, *, settings: dict[str, str] | None = None
                   ) -> tuple[list[str], list[tuple]]:
        """Run the saved answer SQL as the learner, read-only, with transaction-local ``settings``;
        return (column names, rows)."""
        answer_sql = answer_sql if answer_sql is not None else self.answer().sql
        with self.learner.transaction(force_rollback=True):
            self.learner.execute("SET TRANSACTION READ ONLY")
            for key, value in (settings or {}).items():
                self.learner.execute("SELECT set_config(%s, %s, true)", [key, value])
            cur = self.learner.execute(answer_sql)
            if cur.description is None:
                raise CheckFailed("your answer returns no rows at all (is it a SELECT?)", "the answer should be a query")
            return [c.name for c in cur.description], cur.fetchall()

    def same_rows(self, answer_sql: str, reference_sql: str, *, ordered: bool = False, conn: psycopg.Connection | None = None,
                  what: str = "your query") -> None:
        """Fail unless the answer returns the same rows as the reference (as a multiset, or in order)."""
        columns, got = self.run_answer(answer_sql) if conn is None else _run_readonly(conn, answer_sql)
        expected = (conn or self.admin).execute(reference_sql).fetchall()
        compare_rows(got, expected, ordered=ordered, what=what, columns=columns)

    def same_rows_on_sample(self, answer_sql: str, reference_sql: str, *, ordered: bool = False) -> None:
        """Fail unless the answer also matches the reference on the second sample dataset (no hard-coding)."""
        columns, got = _run_readonly(self.sample, answer_sql)
        expected = self.sample_admin.execute(reference_sql).fetchall()
        compare_rows(got, expected, ordered=ordered, what="on a second sample dataset (other rows), your query",
                     columns=columns, hint="compute the result from the tables: numbers or ids typed in fit one dataset only")

    def same_result(self, answer_sql: str, reference_sql: str, *, ordered: bool = False,
                    normalize: Callable[[tuple], tuple] | None = None, hint: str | None = None,
                    settings: dict[str, str] | None = None) -> list[tuple]:
        """Fail unless the answer returns the reference's rows here and on the second sample dataset.

        Rows are compared in order only when ``ordered``; ``normalize`` maps each row (of both sides)
        first, e.g. a day given as a timestamp to a date; ``settings`` apply to the run here.
        Returns the reference's rows here.
        """
        norm = normalize or (lambda row: row)
        columns, got = self.run_answer(answer_sql, settings=settings)
        expected = self.admin.execute(reference_sql).fetchall()
        got, wanted = [norm(r) for r in got], [norm(r) for r in expected]
        difference = describe_difference(got, wanted, ordered=ordered, columns=columns) or ""
        if "wrong order" in difference or "column; expected" in difference or "columns; expected" in difference:
            hint = None  # compare_rows' own hint: ORDER BY, or the SELECT list
        compare_rows(got, wanted, ordered=ordered, columns=columns, hint=hint)
        columns, got = _run_readonly(self.sample, answer_sql)
        on_sample = self.sample_admin.execute(reference_sql).fetchall()
        compare_rows([norm(r) for r in got], [norm(r) for r in on_sample], ordered=ordered, columns=columns,
                     what="on a second sample dataset (other rows), your query",
                     hint="compute the result from the tables: numbers or ids typed in fit one dataset only")
        return expected

    def same_rows_after(self, change: Callable[[psycopg.Connection], Any], answer_sql: str, reference_sql: str, *,
                        what: str, hint: str, ordered: bool = False,
                        normalize: Callable[[tuple], tuple] | None = None) -> None:
        """Run ``change(conn)`` as the learner (rows at a boundary the data lack: a tie, a midnight), then the
        answer and the reference, compare them, and roll everything back: a query that is only right by luck fails."""
        norm = normalize or (lambda row: row)
        conn = self.learner
        with conn.transaction(force_rollback=True):
            change(conn)
            cur = conn.execute(answer_sql)
            got = cur.fetchall() if cur.description else []
            columns = [c.name for c in cur.description or []]
            expected = conn.execute(reference_sql).fetchall()
        compare_rows([norm(r) for r in got], [norm(r) for r in expected], ordered=ordered, what=what,
                     columns=columns, hint=hint)

    def explain(self, query: str, params: Any = None, *, analyze: bool = False, as_learner: bool = True,
                settings: dict[str, str] | None = None, buffers: bool = False) -> Plan:
        """The plan of a query (as the learner by default, so it sees the learner's indexes and settings);
        ``buffers`` adds the pages each node read (with ``analyze``)."""
        return explain(self.learner if as_learner else self.admin, query, params, analyze=analyze, settings=settings,
                       buffers=buffers)


@contextmanager
def rolled_back(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A transaction that is always rolled back: a check never changes the database."""
    with conn.transaction(force_rollback=True):
        yield conn


def attempt(conn: psycopg.Connection, query: Any, params: Any = None, *, immediate: bool = False) -> psycopg.Error | None:
    """Run one statement in a savepoint; return the error (rolled back to the savepoint) or None.

    ``immediate`` also fires deferred constraints (``SET CONSTRAINTS ALL IMMEDIATE``), as COMMIT would.
    """
    try:
        with conn.transaction():
            conn.execute(query, params)
            if immediate:
                conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except psycopg.Error as exc:
        return exc
    return None


def act_as(conn: psycopg.Connection, role: str) -> None:
    """Inside an open transaction, become ``role`` (``SET LOCAL ROLE``) to try what it can and cannot do.

    The learner created the role, so it holds ADMIN OPTION on it and may grant itself SET for this
    transaction only (rolled back with it). The session user stays the learner: a function met as
    the role never runs with more than the learner's rights.
    """
    from psycopg import sql

    conn.execute("RESET ROLE")
    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE").format(sql.Identifier(role)))
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))


_TX_START = re.compile(r"^\s*(begin|start\s+transaction)\b", re.I)
_TX_END = re.compile(r"^\s*(commit|end|rollback(?!\s+(and\s+chain\s+)?to\b)(?!\s+to\b)|abort)\b", re.I)


def transaction_control(statement: str) -> str | None:
    """``"start"`` for BEGIN/START TRANSACTION, ``"end"`` for COMMIT/END/ROLLBACK/ABORT (not ROLLBACK TO), else None:
    a check that replays an answer inside its own rolled-back transaction must not run these."""
    return "start" if _TX_START.match(statement) else "end" if _TX_END.match(statement) else None


def first_line(exc: BaseException) -> str:
    """The first line of an error message (the server's primary message)."""
    return str(exc).strip().splitlines()[0]


def is_violation(exc: psycopg.Error | None) -> bool:
    """A constraint said no (unique, exclusion, check, not-null or foreign key)."""
    e = psycopg.errors
    return isinstance(exc, (e.UniqueViolation, e.ExclusionViolation, e.CheckViolation,
                            e.NotNullViolation, e.ForeignKeyViolation, e.RestrictViolation))


def as_number(value: Any) -> int | float | None:
    """A number from a saved value: ints and floats as they are, numeric text parsed; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else float(value)
    try:
        number = float(str(value).strip().replace("_", ""))
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


def _strip_sql(text: str) -> str:
    """SQL without comments and whitespace (to tell an empty placeholder from an answer)."""
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return "".join(lines).strip().strip(";").strip()


def sql_words(text: str) -> str:
    """SQL as lower-case words, without comments, string literals or quoted names: to see a clause
    (ORDER BY, OFFSET) that a plan does not show."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"\$(\w*)\$.*?\$\1\$|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", " ? ", text, flags=re.S)
    return " ".join(text.lower().split())


def _run_readonly(conn: psycopg.Connection, query: str) -> tuple[list[str], list[tuple]]:
    with conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY")
        cur = conn.execute(query)
        if cur.description is None:
            raise CheckFailed("your answer returns no rows at all (is it a SELECT?)", "the answer should be a query")
        return [c.name for c in cur.description], cur.fetchall()


def _normal(value: Any) -> Any:
    """Values compared loosely where types differ but meaning does not (Decimal vs int, json text)."""
    from decimal import Decimal

    if isinstance(value, (Decimal, float)):
        if not math.isfinite(value):
            return float(value)
        return int(value) if value == int(value) else float(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def _value(value: Any) -> str:
    """A value as a learner reads it: strings quoted, dates, numbers and uuids as PostgreSQL prints them."""
    import datetime as dt
    import uuid
    from decimal import Decimal

    if isinstance(value, (dt.date, dt.time, dt.timedelta, Decimal, uuid.UUID)):
        return str(value)
    return repr(value)


def _show(row: tuple) -> str:
    """A row as the learner would write it: (14001, 50795), a single value without parentheses."""
    text = _value(row[0]) if len(row) == 1 else "(" + ", ".join(_value(v) for v in row) + ")"
    return text if len(text) <= 120 else text[:117] + "..."


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _column_label(columns: list[str] | None, index: int) -> str:
    return f"column {index + 1}" + (f" ({columns[index]})" if columns and index < len(columns) else "")


def describe_difference(got: list[tuple], expected: list[tuple], *, ordered: bool = False,
                        columns: list[str] | None = None) -> str | None:
    """What differs between two row lists, in words (None when they are the same).

    Says which of these it is: the number of columns, the order (the first row out of place),
    the values of one column (the first key whose value differs), missing and unexpected rows.
    Values are compared loosely where types differ but meaning does not (20 and 20.0, Decimal and int).
    """
    got_n = [tuple(_normal(v) for v in row) for row in got]
    exp_n = [tuple(_normal(v) for v in row) for row in expected]
    if got_n and exp_n and len(got_n[0]) != len(exp_n[0]):
        n = len(got_n[0])
        return f"returns {n} column{'' if n == 1 else 's'}; expected {len(exp_n[0])}"
    if (got_n == exp_n) if ordered else (Counter(got_n) == Counter(exp_n)):
        return None
    if Counter(got_n) == Counter(exp_n):
        i = next(i for i, (g, e) in enumerate(zip(got_n, exp_n)) if g != e)
        return (f"returns the right rows in the wrong order: row {i + 1} is {_show(got[i])}, "
                f"expected {_show(expected[i])} there")
    if len(got_n) == len(exp_n) == 1 and len(got_n[0]) == 1:  # one value: say both
        return f"returns {_value(got[0][0])}; expected {_value(expected[0][0])}"
    count = (f"returns {_rows(len(got_n))}; expected {len(exp_n)}" if len(got_n) != len(exp_n)
             else f"returns {_rows(len(got_n))}, as many as expected, but not the same ones")
    width = len((got_n or exp_n)[0])
    # one column differs for the same keys (first column): name the column and the first key
    if width > 1:
        got_by_key = {r[0]: r for r in got_n}
        exp_by_key = {r[0]: r for r in exp_n}
        if len(got_by_key) == len(got_n) and len(exp_by_key) == len(exp_n):
            for key, exp_row in exp_by_key.items():
                got_row = got_by_key.get(key)
                if got_row is not None and got_row != exp_row:
                    j = next(j for j in range(width) if got_row[j] != exp_row[j])
                    return (f"{count}: for {_show((key,))} in column 1, {_column_label(columns, j)} is "
                            f"{_value(got_row[j])}; expected {_value(exp_row[j])}")
    missing = list((Counter(exp_n) - Counter(got_n)).elements())
    extra = list((Counter(got_n) - Counter(exp_n)).elements())
    parts = [count]
    if missing:
        parts.append(f"{len(missing)} expected row{'s are' if len(missing) > 1 else ' is'} missing, "
                     f"e.g. {_show(missing[0])}")
    if extra:
        parts.append(f"{len(extra)} row{'s are' if len(extra) > 1 else ' is'} not expected, e.g. {_show(extra[0])}")
    return "; ".join(parts)


def compare_rows(got: list[tuple], expected: list[tuple], *, ordered: bool = False, what: str = "your query",
                 columns: list[str] | None = None, hint: str | None = None) -> None:
    """Fail, saying what differs (columns, order, a value, missing or unexpected rows), unless the rows match."""
    difference = describe_difference(got, expected, ordered=ordered, columns=columns)
    if difference is None:
        return
    if hint is None:
        hint = ("check the SELECT list against the exercise text" if ("column;" in difference or "columns;" in difference)
                else "check ORDER BY (and how ties are broken)" if "wrong order" in difference
                else "compare your filter, joins and grouping with the exercise text")
    raise CheckFailed(f"{what} {difference}", hint)
