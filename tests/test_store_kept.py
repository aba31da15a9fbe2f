"""What the store keeps between requests (records, sign-ins) always equals what a fresh read gives."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import astuple
from pathlib import Path

import pytest

from engine.storage import export
from engine.storage.db import Store
from engine.storage.grouping import one_request
from helpers import database_at


def fresh_user(store: Store, email: str = "ada@example.gov.uk", role: str = "learner") -> int:
    user = store.create_user(name="Ada", email=email, department="Cabinet Office", password_hash="x", role=role)
    return user.id


def test_a_first_view_goes_into_kept_records_as_a_fresh_read_would(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    enrolment, _ = store.enrol(fresh_user(store), "https://example.org/course")
    store.record_view(enrolment.id, "https://example.org/a")
    kept = store.records(enrolment.id)
    kept.derived["progress"] = "stale"
    assert store.record_view(enrolment.id, "https://example.org/b") is True
    assert store.records(enrolment.id) is kept  # taken in place, not read again
    assert kept.views == store._read_records(enrolment.id).views
    assert "progress" not in kept.derived  # what was worked out from the old records is gone
    assert store.record_view(enrolment.id, "https://example.org/b") is False  # a repeat view: nothing to add
    assert kept.views == store._read_records(enrolment.id).views


def test_attempts_responses_and_completions_go_into_kept_records_as_a_fresh_read_would(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    enrolment, _ = store.enrol(fresh_user(store), "https://example.org/course")
    lesson, question, poll = "https://example.org/a", "https://example.org/a/q", "https://example.org/a/p"
    store.record_view(enrolment.id, lesson)
    kept = store.records(enrolment.id)
    with store.transaction():
        store.add_attempt(enrolment.id, block_iri=question, lesson_iri=lesson, response=[1], score=0.0,
                          success=False, max_attempts=None)
        store.add_attempt(enrolment.id, block_iri=question, lesson_iri=lesson, response=[0, 2], score=1.0,
                          success=True, max_attempts=None)
        store.set_response(enrolment.id, block_iri=poll, lesson_iri=lesson, kind="poll", value=["agree"])
        store.set_response(enrolment.id, block_iri=poll, lesson_iri=lesson, kind="poll", value=["disagree"])
        assert store.add_completion(enrolment.id, lesson, "lesson", 1.0)
        assert not store.add_completion(enrolment.id, lesson, "lesson", 0.5)
    assert store.records(enrolment.id) is kept
    fresh = store._read_records(enrolment.id)
    assert kept == fresh  # every field the dataclass compares: views, responses, latest, attempts, completions
    assert kept.latest[question].response == (0, 2) and kept.attempts[question] == 2
    assert kept.responses[poll] == ["disagree"] and kept.touched == {lesson}


def test_a_rolled_back_first_view_leaves_no_kept_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    enrolment, _ = store.enrol(fresh_user(store), "https://example.org/course")
    store.records(enrolment.id)
    try:
        with store.transaction():
            store.record_view(enrolment.id, "https://example.org/a")
            raise RuntimeError("the rest of the action failed")
    except RuntimeError:
        pass
    assert store.records(enrolment.id).views == {}


def test_kept_sign_ins_follow_sign_out_role_changes_and_other_connections(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    user_id = fresh_user(store)
    token = store.create_session(user_id)
    user = store.session_user(token)
    assert user is not None and user.role == "learner"
    assert store.session_user(token) is user  # kept

    store.set_role(user_id, "facilitator")
    changed = store.session_user(token)
    assert changed is not None and changed.role == "facilitator"

    # Another process (here another connection) changes the account: the next request sees it.
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("UPDATE users SET name = 'Ada Lovelace' WHERE id = ?", (user_id,))
    other.close()
    renamed = store.session_user(token)
    assert renamed is not None and renamed.name == "Ada Lovelace"

    store.delete_session(token)
    assert store.session_user(token) is None

    second = store.create_session(user_id)
    assert store.session_user(second) is not None
    store.delete_user(user_id)
    assert store.session_user(second) is None


def _fresh_enrolment(store: Store, user_id: int, course: str) -> tuple[object, ...]:
    row = store.conn.execute("SELECT id, user_id, course_iri, registration, created_at FROM enrolments"
                             " WHERE user_id = ? AND course_iri = ?", (user_id, course)).fetchone()
    last = store.conn.execute("SELECT lesson_iri FROM lesson_views WHERE enrolment_id = ? ORDER BY last_at DESC"
                              " LIMIT 1", (row[0],)).fetchone()
    return (*row, last[0] if last else None)


def test_kept_enrolments_follow_views_rollbacks_deletions_and_other_connections(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    course = "https://example.org/course"
    user_id = fresh_user(store)
    enrolment, new = store.enrol(user_id, course)
    assert new and store.enrolment(user_id, course) is store.enrolment(user_id, course)  # kept

    store.record_view(enrolment.id, "https://example.org/a")
    kept = store.enrolment(user_id, course)
    assert kept is not None and kept.last_lesson_iri == "https://example.org/a"
    assert astuple(kept) == _fresh_enrolment(store, user_id, course)

    try:
        with store.transaction():
            store.record_view(enrolment.id, "https://example.org/b")
            raise RuntimeError("the rest of the action failed")
    except RuntimeError:
        pass
    after = store.enrolment(user_id, course)
    assert after is not None and after.last_lesson_iri == "https://example.org/a"  # the undone view is not kept

    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("INSERT INTO lesson_views (enrolment_id, lesson_iri, first_at, last_at)"
                  " VALUES (?, 'https://example.org/c', '2999-01-01T00:00:00.000+00:00', '2999-01-01T00:00:00.000+00:00')",
                  (enrolment.id,))
    other.close()
    moved = store.enrolment(user_id, course)
    assert moved is not None and moved.last_lesson_iri == "https://example.org/c"

    store.delete_enrolment(user_id, course)
    assert store.enrolment(user_id, course) is None
    again, new = store.enrol(user_id, course)
    assert new and again.registration != enrolment.registration
    store.delete_user(user_id)
    assert store.enrolment(user_id, course) is None


def test_the_last_lesson_is_the_one_viewed_last_as_the_database_says(tmp_path: Path) -> None:
    """The last lesson has no column of its own (migration 10): a repeat view moves it back, kept or read anew."""
    store = Store(tmp_path / "t.db")
    course = "https://example.org/course"
    user_id = fresh_user(store)
    enrolment, _ = store.enrol(user_id, course)
    assert enrolment.last_lesson_iri is None
    for lesson in ("a", "b", "c", "b"):
        time.sleep(0.002)  # views a millisecond apart at least, as a learner's are
        store.record_view(enrolment.id, f"https://example.org/{lesson}")
    kept = store.enrolment(user_id, course)
    assert kept is not None and kept.last_lesson_iri == "https://example.org/b"
    assert astuple(kept) == _fresh_enrolment(store, user_id, course)
    store.close()
    reopened = Store(tmp_path / "t.db")
    read = reopened.enrolment(user_id, course)
    assert read is not None and read.last_lesson_iri == "https://example.org/b"
    views = reopened.conn.execute("SELECT lesson_iri, views FROM lesson_views ORDER BY lesson_iri").fetchall()
    assert views == [("https://example.org/a", 1), ("https://example.org/b", 2), ("https://example.org/c", 1)]
    exported = export.user_data(reopened, user_id)["enrolments"][0]
    assert exported["last_lesson"] == "https://example.org/b"
    reopened.close()


def test_within_one_request_the_store_asks_once_whether_another_connection_committed(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    user_id = fresh_user(store)
    token = store.create_session(user_id)
    asked: list[str] = []
    store.conn.set_trace_callback(lambda sql: asked.append(sql) if "data_version" in sql else None)
    with one_request():
        first = store.session_user(token)
        other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
        other.execute("UPDATE users SET name = 'Ada Lovelace' WHERE id = ?", (user_id,))
        other.close()
        same = store.session_user(token)
        store.records(store.enrol(user_id, "https://example.org/course")[0].id)
        assert first is not None and same is first and same.name == "Ada"  # as if the request ran a moment earlier
    assert len(asked) == 1
    with one_request():  # the next request sees the other connection's commit
        later = store.session_user(token)
        assert later is not None and later.name == "Ada Lovelace"
    outside = store.session_user(token)  # outside a request, every call asks
    assert outside is later and len(asked) == 3


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files through /proc")
def test_an_action_s_savepoint_journal_stays_in_memory(tmp_path: Path) -> None:
    """An action of a group commit runs in a savepoint, and SQLite copies each page it changes to a sub-journal,
    which spills to a temporary file past 64 KB. The store keeps it in memory: no file is created for it."""
    store = Store(tmp_path / "t.db")
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    with store.transaction() as conn:
        conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 2000,)] * 400)  # about 200 pages

    def temporary_files() -> list[str]:
        names = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                names.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        return [n for n in names if "etilqs" in n]

    with store.transaction() as conn:
        conn.execute("SAVEPOINT action")  # as GroupCommit.action does
        conn.execute("UPDATE notes SET text = 'y' || text")  # every page changed in the savepoint
        assert temporary_files() == []
        conn.execute("RELEASE action")
    assert store.conn.execute("SELECT COUNT(*) FROM notes WHERE text LIKE 'y%'").fetchone() == (400,)
    store.close()


def test_migration_10_keeps_every_learner_s_last_lesson_and_last_seen_time(tmp_path: Path) -> None:
    """A schema-9 database, whose enrolments held both, upgrades with each one answered from lesson_views."""
    from engine.storage import reports
    from engine.storage.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    conn = database_at(path, 9)
    course = "https://example.org/course"
    conn.execute("INSERT INTO users (id, public_id, name, email, department, password_hash, created_at)"
                 " VALUES (1, 'p', 'Ada', 'ada@example.gov.uk', 'Cabinet Office', 'x', '2026-01-01T00:00:00+00:00')")
    conn.execute("INSERT INTO enrolments VALUES (1, 1, ?, '5b7c9e1e-2f0a-4c1e-9d3b-0a1b2c3d4e5f',"
                 " '2026-01-02T00:00:00.000+00:00', ?, '2026-01-05T00:00:00.000+00:00')", (course, f"{course}/b"))
    conn.executemany("INSERT INTO lesson_views VALUES (1, ?, ?, ?, ?)", [
        (f"{course}/a", "2026-01-03T00:00:00.000+00:00", "2026-01-04T00:00:00.000+00:00", 2),
        (f"{course}/b", "2026-01-04T12:00:00.000+00:00", "2026-01-05T00:00:00.000+00:00", 3),
    ])
    conn.close()

    store = Store(path)
    assert store.version == len(MIGRATIONS)
    columns = [row[1] for row in store.conn.execute("PRAGMA table_info(enrolments)")]
    assert "last_lesson_iri" not in columns and "last_seen_at" not in columns
    enrolment = store.enrolment(1, course)
    assert enrolment is not None and enrolment.last_lesson_iri == f"{course}/b"
    rows, more = reports.learners(store, reports.LearnerFilter(course_iri=course), offset=0, limit=10)
    assert not more and rows[0]["last_seen_at"] == "2026-01-05T00:00:00.000+00:00"
    assert rows[0]["enrolled_at"] == "2026-01-02T00:00:00.000+00:00"
    store.close()


def test_a_session_event_is_known_once_its_insert_commits_and_not_if_it_is_undone(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    token = store.create_session(fresh_user(store))
    lesson, other = "https://example.org/course/a", "https://example.org/course/b"
    queries: list[str] = []
    store.conn.set_trace_callback(lambda sql: queries.append(sql) if "session_events" in sql else None)
    with store.transaction():
        assert store.session_first(token, lesson) is True
        assert store.session_met(token, lesson) is False  # not committed yet
    assert store.session_met(token, lesson) is True  # committed: known without asking the database
    with store.transaction():
        assert store.session_first(token, lesson) is False
    assert len(queries) == 1
    with pytest.raises(ValueError), store.transaction():
        assert store.session_first(token, other) is True
        raise ValueError("the action failed: its event is undone")
    assert store.session_met(token, other) is False
    with store.transaction():
        assert store.session_first(token, other) is True  # stored now, as if never met

    async def grouped(fail: bool, iri: str) -> None:
        with one_request():
            try:
                with store.transaction():
                    store.session_first(token, iri)
                    if fail:
                        raise ValueError("undone")
            except ValueError:
                pass
            await store.committed()

    async def both() -> None:
        await asyncio.gather(grouped(False, "https://example.org/course/c"),
                             grouped(True, "https://example.org/course/d"))

    asyncio.run(both())
    assert store.session_met(token, "https://example.org/course/d") is False
    stored = {iri for (iri,) in store.conn.execute("SELECT object_iri FROM session_events")}
    # A failed action forgets what the group's others noted too (they are learned again on the next view).
    assert "https://example.org/course/c" in stored and "https://example.org/course/d" not in stored
