"""The progress board: from results and saved answers (no notebook is run), as JSON and as a self-refreshing page."""

from __future__ import annotations

import psycopg

from pgcourse.workshop import board

LEARNERS = ["bd_lena", "bd_mo", "bd_nia"]


def test_the_board_shows_passed_failed_saved_and_not_tried_and_where_the_class_is_stuck(workshop):
    for name in LEARNERS[:2]:
        workshop.open(name, "00")
        status, _ = workshop.call(name, "POST", "/check", {"chapter": "00", "exercise": "0.2"})
        assert status == 200
    lena = workshop.open("bd_lena", "00")
    with psycopg.connect(lena["url"], autocommit=True) as conn:  # what %%answer does: saved, never checked
        conn.execute("INSERT INTO pgcourse.answers (exercise, answer_sql) VALUES "
                     "('0.1', 'SELECT count(*) FROM orders WHERE status = ''cancelled''')")
    status, body = workshop.call("bd_lena", "POST", "/check", {"chapter": "00", "exercise": "0.1"})
    assert body["status"] == "passed"
    with psycopg.connect(lena["url"], autocommit=True) as conn:
        conn.execute("INSERT INTO pgcourse.answers (exercise, value) VALUES ('0.4', '\"Seq Scan\"')")
    data = board.collect(workshop.server)
    assert data["learners"] == LEARNERS
    assert data["status"]["bd_lena"] == {"0.1": "passed", "0.2": "failed", "0.4": "saved"}
    assert data["status"]["bd_mo"] == {"0.2": "failed"} and data["status"]["bd_nia"] == {}
    assert data["stuck"]["exercise"] == "0.2" and data["stuck"]["stuck_learners"] == ["bd_lena", "bd_mo"]
    lines = board.text(data)
    assert lines[1].split()[:5] == ["bd_lena", "✔", "✘", "·", "s"] and lines[1].endswith("1/4")
    assert lines[-1].startswith("stuck: 0.2")


def test_the_board_page_needs_the_instructor_token_and_refreshes_itself(workshop):
    instructor = (workshop.folder / "instructor.token").read_text().strip()
    status, page = workshop.call(None, "GET", f"/progress.html?token={instructor}", token="")
    assert status == 200 and "http-equiv='refresh'" in page and "bd_mo" in page and "Stuck" in page
    status, data = workshop.call(None, "GET", "/progress", token=instructor)
    assert status == 200 and data["learners"] == LEARNERS
    for token in ("", workshop.tokens["bd_lena"], instructor + "x"):
        status, body = workshop.call(None, "GET", f"/progress.html?token={token}", token="")
        assert status == 401 and set(body) == {"error"}
