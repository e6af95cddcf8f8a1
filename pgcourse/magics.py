"""IPython glue: the %sql magic connected as the chapter's learner, and the %%answer cell magic.

``%%answer 4.2`` saves the cell's SQL as the learner's answer to exercise 4.2 (in the chapter
database, where checks and the grader read it), then runs it like ``%%sql`` so the learner sees
the result.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
from typing import Any

from IPython.core.magic import no_var_expand
from sql.run import ResultSet

from .server import sqlalchemy_url

_SQL_CONFIG = {
    "displaycon": False,   # no per-cell connection banner (differs by machine, breaks nbval)
    "feedback": False,     # no "Done." / "N rows affected." chatter
    "short_errors": False, # a broken statement raises, so a learner (and the grader) sees the error
    "autopandas": False,
    "displaylimit": 50,
    # The driver is in autocommit (see connect_sql_magic): a statement outside a transaction commits by itself.
    # ipython-sql's own COMMIT after every statement would also end a transaction the cell opened with
    # START TRANSACTION, so a ROLLBACK in the same cell undid nothing.
    "autocommit": False,
}

#: ipython-sql 0.5.0 refuses a cell whose first word is BEGIN (``run.run``): what to write instead.
BEGIN_REFUSED = ("ipython-sql refuses a cell that starts with BEGIN.\n"
                 "  what to do: write START TRANSACTION (the SQL standard's spelling of the same command), and end the "
                 "transaction in the same cell with COMMIT or ROLLBACK; for transactions that span cells, "
                 "use live sessions: lab = ch.sessions('alice', 'bob')")

#: Printed when a cell ends inside a transaction (ipython-sql would roll it back silently at the next cell).
LEFT_OPEN = ("(pgcourse: this cell ended inside a transaction{failed}; it was rolled back. In %%sql a transaction "
             "starts and ends in one cell; use ch.sessions(...) for transactions across cells)")


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


class SqlError(Exception):
    """A statement the server rejected, shown as the server's message alone (no Python traceback).

    It is still an exception, so the cell fails visibly and nbval and the grader see the error.
    """

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"\x1b[31mSQL error:\x1b[0m {self.args[0]}"]


def _server_message(exc: BaseException) -> str:
    """The server's own words from a SQLAlchemy/psycopg error, without SQLAlchemy's decorations."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    import psycopg

    if isinstance(orig, psycopg.errors.QueryCanceled) and "statement timeout" in text:
        text += "\n(the chapter's statement timeout stopped it: does the query run forever? try it with a LIMIT first)"
    return text


@contextlib.contextmanager
def _sql_as_written(ip):
    """Stop ipython-sql from expanding ``{...}`` and ``$...`` as Python inside SQL.

    Unchecked, a regex quantifier ``{2,}`` became ``(2,)`` and a ``$$``-quoted function body
    lost a dollar (the guide's own bug, reintroduced by the tool). Python values still reach SQL
    as bind parameters: ``:name``.
    """
    ip.var_expand = lambda cmd, depth=0, formatter=None: cmd
    try:
        yield
    finally:
        del ip.var_expand  # back to the class's method


#: Printed once when a statement met a connection the server had ended (``pgcourse reset NN``) and ran again.
RECONNECTED = "(pgcourse: the server had closed this notebook's connection, e.g. after `pgcourse reset`; reconnected and ran it again)"


def is_disconnect(exc: BaseException) -> bool:
    """True when an error means the server ended the connection (a reset's DROP DATABASE ... FORCE, a restart).

    Not for errors on a live connection: a statement timeout (also an OperationalError) stays an error.
    """
    import psycopg

    if getattr(exc, "connection_invalidated", False):  # SQLAlchemy saw a disconnect
        return True
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, psycopg.errors.AdminShutdown):
        return True
    if isinstance(orig, psycopg.OperationalError):
        conn = getattr(orig, "pgconn", None)
        text = str(orig)
        return ("server closed the connection" in text or "connection is closed" in text
                or "consuming input failed" in text or (conn is not None and conn.status != 0))
    return False


def _reconnect_sql_magic() -> None:
    """Give ipython-sql's current connection a new server session (autocommit again), dropping the dead one."""
    from sql.connection import Connection

    current = Connection.current
    old = current.internal_connection
    with contextlib.suppress(Exception):
        old.invalidate()
        old.close()
    old.engine.dispose()  # no pooled connection to the dropped database survives
    current.internal_connection = old.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


#: What MathJax (JupyterLab's LaTeX) reads as the start of math in an HTML output.
_MATH_DELIMITERS = ("$", "\\(", "\\[")


class QueryResult(ResultSet):
    """A result table whose HTML shows ``$`` as a dollar (bcrypt hashes, prices), never as LaTeX."""

    def _repr_html_(self):
        table = super()._repr_html_()
        if table is None or not any(d in table for d in _MATH_DELIMITERS):
            return table  # as ipython-sql writes it
        # JupyterLab typesets $...$ and \(...\) in HTML outputs; MathJax skips elements of class mathjax_ignore
        return table.replace("$", "&#36;").replace("<table>", '<table class="mathjax_ignore tex2jax_ignore">', 1)


class QueryPlan(QueryResult):
    """A one-column ``QUERY PLAN`` result: shown as the plan's text, left-aligned, as psql prints it."""

    def text(self) -> str:
        return "\n".join(str(row[0]) for row in self)

    def __repr__(self) -> str:
        return self.text()

    __str__ = __repr__

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        body = html.escape(self.text()).replace("$", "&#36;")
        return f'<pre class="mathjax_ignore tex2jax_ignore" style="text-align: left">{body}</pre>'


def _presented(result: Any) -> Any:
    """What a cell shows: nothing for a statement without rows (DDL), a plan as text, tables with plain dollars."""
    if not isinstance(result, ResultSet):
        return result
    if result.pretty is None:  # CREATE, INSERT, VACUUM...: ipython-sql would show "[]"
        return None
    plan = list(result.keys) == ["QUERY PLAN"] and all(isinstance(row[0], str) for row in result)
    result.__class__ = QueryPlan if plan else QueryResult
    return result


def _execute(ip, original, line: str, cell: str) -> Any:
    captured = io.StringIO()
    # ipython-sql prints a full traceback before raising: keep the server's message only
    try:
        with _sql_as_written(ip), contextlib.redirect_stdout(captured):
            result = original.execute(line, cell)
    except Exception as exc:
        if str(exc) == "ipython_sql does not support transactions":
            raise SqlError(BEGIN_REFUSED) from None
        raise
    finally:
        _end_open_transaction()
    print(captured.getvalue(), end="")
    return result


def _end_open_transaction() -> None:
    """Roll back a transaction the cell left open, and say so (no session stays in a transaction after a cell)."""
    from psycopg.pq import TransactionStatus
    from sql.connection import Connection

    current = Connection.current
    try:
        raw = current.internal_connection.connection.driver_connection
        status = raw.info.transaction_status
    except Exception:  # no connection yet, or a dead one (the reconnect path handles that)
        return
    if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        raw.rollback()
        print(LEFT_OPEN.format(failed=" (aborted by an error)" if status == TransactionStatus.INERROR else ""))


@no_var_expand
def sql_magic(line: str, cell: str | None = None):
    """%sql / %%sql from ipython-sql, sent as written, raising :class:`SqlError` with the server's message.

    A connection the server ended (the chapter was reset) is replaced once and the SQL run again.
    """
    from sqlalchemy.exc import DBAPIError, StatementError

    ip = _ipython()
    original = ip.magics_manager.registry["SqlMagic"]
    try:
        try:
            result = _execute(ip, original, line, cell or "")
        except StatementError as exc:
            if not is_disconnect(exc):
                raise
            try:
                _reconnect_sql_magic()
            except DBAPIError as gone:
                raise SqlError(f"{_server_message(gone)}\n(the chapter's database is not there: run the notebook's first "
                               "cell again, which creates it, or `pgcourse reset NN` in a terminal)") from None
            print(RECONNECTED)
            result = _execute(ip, original, line, cell or "")
    except DBAPIError as exc:
        raise SqlError(_server_message(exc)) from None
    except StatementError as exc:  # e.g. an unbound :word; SQLAlchemy's text would list every notebook variable
        message = str(getattr(exc, "orig", None) or exc).split("\n")[0].split(" [SQL:")[0].split(" (Background on")[0]
        raise SqlError(f"{message}\n(`:word` in SQL is a bind parameter: it takes the Python variable `word`; "
                       "write ': word' or '\\:word' where you mean the text)") from None
    return _presented(result)


def connect_sql_magic(chapter) -> None:
    """Load ipython-sql, configure it, connect it to the chapter as the learner; register %%answer."""
    ip = _ipython()
    if ip is None:
        return
    if "SqlMagic" not in ip.magics_manager.registry:
        ip.run_line_magic("load_ext", "sql")
    for key, value in _SQL_CONFIG.items():
        ip.run_line_magic("config", f"SqlMagic.{key} = {value!r}")
    ip.register_magic_function(sql_magic, magic_kind="line_cell", magic_name="sql")
    ip.register_magic_function(answer_magic, magic_kind="cell", magic_name="answer")
    from .sessions import session_magic

    ip.register_magic_function(no_var_expand(session_magic), magic_kind="cell", magic_name="session")
    from sql.connection import Connection

    known = set(Connection.connections)
    ip.run_line_magic("sql", sqlalchemy_url(chapter.url))
    if set(Connection.connections) == known and Connection.current is not None:
        # the first cell run again (after a reset, say): ipython-sql kept its old session; start a new one
        _reconnect_sql_magic()
    # Each statement on its own, as psql sends it: VACUUM and CREATE INDEX CONCURRENTLY work in a
    # cell (SQLAlchemy would otherwise wrap them in a transaction, which they refuse).
    Connection.current.internal_connection.execution_options(isolation_level="AUTOCOMMIT")


def save_answer(chapter, exercise_id: str, *, answer_sql: str | None = None, value: Any = None) -> None:
    """Store an answer in the chapter database (upsert), as the learner; refuse a misplaced one."""
    from .answers import validate

    validate(chapter, exercise_id)
    with chapter.connect() as conn:
        conn.execute(
            "INSERT INTO pgcourse.answers (exercise, answer_sql, value) VALUES (%s, %s, %s::jsonb) "
            "ON CONFLICT (exercise) DO UPDATE SET answer_sql = EXCLUDED.answer_sql, value = EXCLUDED.value, saved_at = now()",
            [exercise_id, answer_sql, None if value is None else json.dumps(value)],
        )


@no_var_expand
def answer_magic(line: str, cell: str):
    """%%answer EXERCISE_ID: save this cell's SQL as your answer, then run it."""
    from .chapter import current_chapter

    exercise_id = line.strip()
    if not exercise_id:
        raise ValueError("usage: %%answer 4.2 (the exercise number) on the first line of the cell")
    save_answer(current_chapter(), exercise_id, answer_sql=cell)
    ip = _ipython()
    body = "\n".join(l for l in cell.splitlines() if l.split("--", 1)[0].strip())
    if not body.strip():
        print(f"(answer {exercise_id} is still empty: write your SQL in this cell)")
        return None
    return ip.run_cell_magic("sql", "", cell)
