"""The class at a glance: learners × exercises (passed / failed / saved / not tried), as text and as a page.

Read from what the course already keeps, never by running a notebook: the ``results`` rows the broker
writes at every ``pgcourse.check``, and the answers saved in each learner's chapter databases (an
answer saved but never checked counts as tried). "Stuck" is the exercise most learners tried and
have not passed.
"""

from __future__ import annotations

import html as html_lib
import threading
import time
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from .. import chapters
from .. import server as pg
from ..chapter import ANSWERS_SCHEMA, as_learner, database_for
from . import roster

PASSED, FAILED, SAVED, NOT_TRIED = "passed", "failed", "saved", "not tried"
MARKS = {PASSED: "✔", FAILED: "✘", SAVED: "s", NOT_TRIED: "·"}
#: The page refreshes itself this often (seconds).
REFRESH_SECONDS = 10
_answers_cache: dict[str, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


def record(server: pg.Server, learner: str, info: chapters.ChapterInfo, result) -> None:
    """Upsert a check's result for the board (a pass is remembered when a later check fails, as progress.json does)."""
    with roster.admin_connect(server) as conn:
        conn.execute(
            """INSERT INTO results (learner, chapter, exercise, status, points, max_points, message, checked_at, passed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, now(), CASE WHEN %s = 'passed' THEN now() END)
               ON CONFLICT (learner, chapter, exercise) DO UPDATE SET
                 status = EXCLUDED.status, points = EXCLUDED.points, max_points = EXCLUDED.max_points,
                 message = EXCLUDED.message, checked_at = EXCLUDED.checked_at,
                 passed_at = coalesce(results.passed_at, EXCLUDED.passed_at)""",
            [learner, info.number, result.exercise, result.status, result.points, result.max_points,
             result.message, result.status])


def _saved_answers(server: pg.Server, names: list[str], max_age: float) -> dict[tuple[str, str], set[str]]:
    """{(learner, chapter): exercise ids with a saved answer}, read from the learners' chapter databases."""
    key = server.url
    with _cache_lock:
        cached = _answers_cache.get(key)
        if cached and time.monotonic() - cached[0] < max_age:
            return cached[1]
    wanted: dict[str, tuple[str, str]] = {}
    for name in names:
        with as_learner(name):
            for info in chapters.CHAPTERS:
                wanted[database_for(info)] = (name, info.number)
    with server.connect() as conn:
        existing = [r for (r,) in conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [list(wanted)])]
    found: dict[tuple[str, str], set[str]] = {}
    for dbname in existing:
        try:
            with server.connect(dbname) as conn:
                conn.execute("SET search_path = pg_catalog")  # a learner's functions in public are never resolved here
                rows = conn.execute(sql.SQL("SELECT exercise FROM {}.answers WHERE answer_sql IS NOT NULL "
                                            "AND btrim(regexp_replace(answer_sql, '--[^\\n]*', '', 'g')) <> '' "
                                            "OR value IS NOT NULL").format(sql.Identifier(ANSWERS_SCHEMA))).fetchall()
        except psycopg.Error:  # being reset, or its answers table dropped by the learner
            continue
        found[wanted[dbname]] = {r[0] for r in rows}
    with _cache_lock:
        _answers_cache[key] = (time.monotonic(), found)
    return found


def collect(server: pg.Server, *, answers_max_age: float = 0.0) -> dict:
    """The board's data: exercises (by chapter), and per learner per exercise a status and the last message."""
    from ..checks import exercises_for

    names = [learner.name for learner in roster.learners(server)]
    rows: list[tuple] = []
    if names:
        with roster.admin_connect(server) as conn:
            rows = conn.execute("SELECT learner, chapter, exercise, status, message, checked_at, passed_at "
                                "FROM results").fetchall()
    saved = _saved_answers(server, names, answers_max_age) if names else {}
    exercises = [(info.number, ex.id, ex.title) for info in chapters.CHAPTERS for ex in exercises_for(info)]
    status: dict[str, dict[str, dict]] = {name: {} for name in names}
    for (learner, _chapter), ids in saved.items():
        for ex_id in ids:
            status[learner][ex_id] = {"status": SAVED, "message": "answer saved, not checked yet"}
    for learner, chapter, ex_id, last, message, checked_at, passed_at in rows:
        if learner not in status:
            continue
        state = PASSED if passed_at is not None else FAILED
        status[learner][ex_id] = {"status": state, "last": last, "message": message, "checked_at": checked_at}
    active = {ex_id for cells in status.values() for ex_id in cells}
    shown_chapters = sorted({chapter for chapter, ex_id, _ in exercises if ex_id in active}) or ["00"]
    shown = [e for e in exercises if e[0] in shown_chapters]
    summary = []
    for chapter, ex_id, title in shown:
        states = [status[n].get(ex_id, {}).get("status", NOT_TRIED) for n in names]
        stuck = [n for n in names if status[n].get(ex_id, {}).get("status") in (FAILED, SAVED)]
        summary.append({"exercise": ex_id, "title": title, "chapter": chapter,
                        "passed": states.count(PASSED), "failed": states.count(FAILED),
                        "saved": states.count(SAVED), "not_tried": states.count(NOT_TRIED), "stuck_learners": stuck})
    stuck = max((s for s in summary if s["stuck_learners"]), key=lambda s: len(s["stuck_learners"]), default=None)
    return {"generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"), "learners": names,
            "exercises": [{"chapter": c, "id": i, "title": t} for c, i, t in shown],
            "status": {n: {ex: cell["status"] for ex, cell in cells.items()} for n, cells in status.items()},
            "messages": {n: {ex: cell.get("message", "") for ex, cell in cells.items()} for n, cells in status.items()},
            "summary": summary, "stuck": stuck}


def text(data: dict) -> list[str]:
    """``pgcourse workshop progress``: one row per learner, one column per exercise, and where the class is stuck."""
    names, exercises = data["learners"], data["exercises"]
    if not names:
        return ["no learners yet: add them with `pgcourse workshop add NAMES...`"]
    width = max(7, *(len(n) for n in names))
    ids = [e["id"] for e in exercises]
    cols = [max(4, len(i)) for i in ids]
    lines = [f"{'learner':<{width}}  " + " ".join(f"{i:>{w}}" for i, w in zip(ids, cols)) + "  passed"]
    for name in names:
        cells = data["status"].get(name, {})
        marks = [MARKS[cells.get(i, NOT_TRIED)] for i in ids]
        done = sum(cells.get(i) == PASSED for i in ids)
        lines.append(f"{name:<{width}}  " + " ".join(f"{m:>{w}}" for m, w in zip(marks, cols)) + f"  {done}/{len(ids)}")
    lines.append(f"legend: {MARKS[PASSED]} passed, {MARKS[FAILED]} failed, {MARKS[SAVED]} saved not checked, "
                 f"{MARKS[NOT_TRIED]} not tried")
    stuck = data.get("stuck")
    if stuck:
        lines.append(f"stuck: {stuck['exercise']} ({stuck['title']}): {len(stuck['stuck_learners'])} of {len(names)} "
                     f"tried without passing ({', '.join(stuck['stuck_learners'])})")
    else:
        lines.append("stuck: nobody (no exercise tried without passing)")
    return lines


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:center}th.name,td.name{text-align:left}
td.passed{background:#c8f0c8}td.failed{background:#f6c6c6}td.saved{background:#fbe9b7}td.nottried{color:#999}
.stuck{font-size:1.2em;padding:.5em;background:#fff3cd;border:1px solid #e0c060;display:inline-block}
"""


def html(data: dict) -> str:
    """The board page: refreshes itself every few seconds; the stuck exercise first, then the grid."""
    esc = html_lib.escape
    names, exercises = data["learners"], data["exercises"]
    stuck = data.get("stuck")
    if stuck:
        head = (f"<p class='stuck'>Stuck: <b>{esc(stuck['exercise'])}</b> {esc(stuck['title'])} — "
                f"{len(stuck['stuck_learners'])} of {len(names)} learners tried without passing: "
                f"{esc(', '.join(stuck['stuck_learners']))}</p>")
    else:
        head = "<p class='stuck'>Nobody is stuck: no exercise was tried without passing.</p>"
    rows = ["<tr><th class='name'>learner</th>" + "".join(
        f"<th title='{esc(e['title'])}'>{esc(e['id'])}</th>" for e in exercises) + "<th>passed</th></tr>"]
    for name in names:
        cells, messages = data["status"].get(name, {}), data["messages"].get(name, {})
        tds = []
        for e in exercises:
            state = cells.get(e["id"], NOT_TRIED)
            tip = esc(f"{e['id']} {state}: {messages.get(e['id'], '')}", quote=True)
            tds.append(f"<td class='{state.replace(' ', '')}' title='{tip}'>{MARKS[state]}</td>")
        done = sum(cells.get(e["id"]) == PASSED for e in exercises)
        rows.append(f"<tr><td class='name'>{esc(name)}</td>{''.join(tds)}<td>{done}/{len(exercises)}</td></tr>")
    totals = "".join(f"<td>{s['passed']}✔ {s['failed']}✘</td>" for s in data["summary"])
    rows.append(f"<tr><td class='name'><i>class</i></td>{totals}<td></td></tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='{REFRESH_SECONDS}'>"
            f"<title>pgcourse workshop progress</title><style>{_STYLE}</style></head><body>"
            f"<h1>Workshop progress</h1>{head}<table>{''.join(rows)}</table>"
            f"<p>{MARKS[PASSED]} passed · {MARKS[FAILED]} failed · {MARKS[SAVED]} answer saved, not checked · "
            f"{MARKS[NOT_TRIED]} not tried. {len(names)} learners; updated {esc(data['generated_at'])} UTC, "
            f"every {REFRESH_SECONDS} s.</p></body></html>")
