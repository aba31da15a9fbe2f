"""The report triggers of learner actions (migration 14, decision 0029) count what migration 5's counted, on a
database that an older engine started: the tallies stay equal to a recount of the records."""

from __future__ import annotations

from pathlib import Path

from engine.storage import reports
from engine.storage.db import Store
from helpers import database_at

COURSE = "https://learn.example.gov.uk/courses/demo"
LESSON = COURSE + "/01-intro/lesson"
OTHER = COURSE + "/01-intro/other"
QUESTION = LESSON + "/q"
POLL = LESSON + "/poll"
DAY = "2026-11-20T09:00:00.000+00:00"


def _tallies(store: Store) -> dict[tuple[str, ...], int]:
    rows = store.conn.execute(
        "SELECT 'day', course_iri, department, period, key, n FROM report_days WHERE n != 0"
        " UNION ALL SELECT 'month', course_iri, department, period, key, n FROM report_months WHERE n != 0"
        " UNION ALL SELECT 'total', course_iri, department, '', key, n FROM report_totals WHERE n != 0")
    return {tuple(r[:5]): r[5] for r in rows}


def test_tallies_made_before_and_after_migration_14_equal_a_recount(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = database_at(path, 13)  # migration 5's triggers count these
    old.execute("INSERT INTO users (id, public_id, name, email, department, password_hash, created_at)"
                " VALUES (1, 'p1', 'Ada', 'ada@example.gov.uk', 'Cabinet Office', 'x', ?)", (DAY,))
    old.execute("INSERT INTO enrolments (id, user_id, course_iri, registration, created_at)"
                " VALUES (1, 1, ?, '6d4f2c1e-8a5b-4c3d-9e2f-1a2b3c4d5e6f', ?)", (COURSE, DAY))
    old.execute("INSERT INTO lesson_views (enrolment_id, lesson_iri, first_at, last_at) VALUES (1, ?, ?, ?)",
                (LESSON, DAY, DAY))
    old.execute("INSERT INTO attempts (enrolment_id, block_iri, lesson_iri, attempt_no, response, score, success,"
                " created_at) VALUES (1, ?, ?, 1, '[0]', 0, 0, ?)", (QUESTION, LESSON, DAY))
    old.execute("INSERT INTO responses (enrolment_id, block_iri, lesson_iri, kind, value, updated_at)"
                " VALUES (1, ?, ?, 'poll', '\"2\"', ?)", (POLL, LESSON, DAY))
    old.execute("INSERT INTO completions VALUES (1, ?, 'lesson', ?, NULL)", (LESSON, DAY))
    old.close()

    store = Store(path)  # migration 14: the new triggers count from here on
    user = store.create_user(name="Bo", email="bo@example.gov.uk", department="Home Office", password_hash="x")
    enrolment, _ = store.enrol(user.id, COURSE)
    with store.transaction():
        store.record_view(1, OTHER)  # Ada has started already: no second 'started'
        store.record_view(enrolment.id, LESSON)  # Bo starts
        store.record_view(enrolment.id, OTHER)
        store.add_attempt(1, block_iri=QUESTION, lesson_iri=LESSON, response=[1], score=1.0, success=True,
                          max_attempts=None)  # a second attempt: counts nothing
        store.add_attempt(enrolment.id, block_iri=QUESTION, lesson_iri=LESSON, response=[1], score=1.0, success=True,
                          max_attempts=None)  # right first time: 'first' only
        store.add_attempt(enrolment.id, block_iri=QUESTION + "2", lesson_iri=LESSON, response=[0], score=0.0,
                          success=False, max_attempts=None)  # wrong first time: 'first' and 'wrong'
        store.set_response(1, block_iri=POLL, lesson_iri=LESSON, kind="poll", value="4")  # moves Ada's answer
        store.set_response(enrolment.id, block_iri=POLL, lesson_iri=LESSON, kind="poll", value="4")
        store.add_completion(1, COURSE + "/01-intro", "module", 0.5)
        store.add_completion(1, COURSE, "course", 0.5)  # and its days
        store.add_completion(enrolment.id, COURSE + "/01-intro", "module", 1.0)  # no days: not the course
    live = _tallies(store)
    totals = {(department, key): n for (kind, _course, department, _period, key), n in live.items() if kind == "total"}
    assert totals == {
        ("Cabinet Office", "enrolled"): 1, ("Cabinet Office", "started"): 1,
        ("Cabinet Office", "first:" + QUESTION): 1, ("Cabinet Office", "wrong:" + QUESTION): 1,
        ("Cabinet Office", f"poll:{POLL}=4"): 1, ("Cabinet Office", "lesson:" + LESSON): 1,
        ("Cabinet Office", f"module:{COURSE}/01-intro"): 1, ("Cabinet Office", "course:" + COURSE): 1,
        ("Cabinet Office", f"days:{totals_days(store)}"): 1,
        ("Home Office", "enrolled"): 1, ("Home Office", "started"): 1,
        ("Home Office", "first:" + QUESTION): 1, ("Home Office", "first:" + QUESTION + "2"): 1,
        ("Home Office", "wrong:" + QUESTION + "2"): 1, ("Home Office", f"poll:{POLL}=4"): 1,
        ("Home Office", f"module:{COURSE}/01-intro"): 1,
    }
    reports.rebuild(store)
    assert _tallies(store) == live
    store.close()


def totals_days(store: Store) -> int:
    """Days from Ada's enrolment to her course completion, as SQLite counts them."""
    (days,) = store.conn.execute(
        "SELECT CAST(julianday(c.completed_at) - julianday(e.created_at) AS INTEGER) FROM completions c"
        " JOIN enrolments e ON e.id = c.enrolment_id WHERE c.kind = 'course'").fetchone()
    return int(days)
