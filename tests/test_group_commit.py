"""Group commit (decision 0010): the actions of requests handled in one turn of the event loop share a transaction,
each in its own savepoint, and a request is answered only after that transaction commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from engine.storage.db import Store
from engine.storage.grouping import one_request
from engine.storage.records import Enrolment
from engine.web.app import Guard


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "t.db")
    # A foreign key checked only at COMMIT: the one way to make a commit fail on purpose.
    store.conn.execute("CREATE TABLE notes (text TEXT, user_id INTEGER REFERENCES users(id)"
                       " DEFERRABLE INITIALLY DEFERRED)")
    return store


def _count(path: Path) -> int:
    other = sqlite3.connect(path)
    try:
        return int(other.execute("SELECT COUNT(*) FROM notes").fetchone()[0])
    finally:
        other.close()


def test_actions_of_one_loop_turn_commit_together_and_are_answered_after_the_commit(tmp_path: Path) -> None:
    store = _store(tmp_path)
    commits: list[str] = []
    store.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    seen_before: list[int] = []

    async def request(text: str) -> BaseException | None:
        with one_request():
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
                with store.transaction():  # nested: part of the same action
                    conn.execute("INSERT INTO notes (text) VALUES (?)", (text + " again",))
            seen_before.append(_count(tmp_path / "t.db"))  # another connection: not yet committed
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request("a"), request("b"), request("c"))

    assert asyncio.run(main()) == [None, None, None]
    assert seen_before == [0, 0, 0]
    assert commits == ["COMMIT"]  # one commit for the three requests
    assert _count(tmp_path / "t.db") == 6


@pytest.mark.parametrize("nested", [False, True], ids=["in-the-action", "in-a-nested-transaction"])
def test_a_failing_action_is_undone_alone_and_the_next_action_starts_afresh(tmp_path: Path, nested: bool) -> None:
    store = _store(tmp_path)

    async def request(text: str, fail: bool) -> BaseException | None:
        with one_request():
            try:
                with store.transaction() as conn:
                    conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
                    if nested:  # part of the same action: its failure undoes the whole action
                        with store.transaction():
                            conn.execute("INSERT INTO notes (text) VALUES (?)", (text + " nested",))
                            if fail:
                                raise ValueError("the nested part failed")
                    elif fail:
                        raise ValueError("the rest of the action failed")
            except ValueError:
                pass
            with store.transaction() as conn:  # a second action of the same request, at depth one again
                conn.execute("INSERT INTO notes (text) VALUES (?)", (text + " later",))
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request("kept", False), request("undone", True), request("kept too", False))

    assert asyncio.run(main()) == [None, None, None]
    kept = ["kept", "kept later", "kept too", "kept too later", "undone later"]
    if nested:
        kept += ["kept nested", "kept too nested"]
    assert sorted(t for (t,) in store.conn.execute("SELECT text FROM notes")) == sorted(kept)


def test_off_the_loop_a_nested_failure_rolls_back_the_transaction_and_lets_the_lock_go(tmp_path: Path) -> None:
    import threading

    store = _store(tmp_path)
    with pytest.raises(ValueError), store.transaction() as conn:
        conn.execute("INSERT INTO notes (text) VALUES ('outer')")
        with store.transaction():
            conn.execute("INSERT INTO notes (text) VALUES ('inner')")
            raise ValueError("undo it all")
    assert not store.conn.in_transaction
    assert _count(tmp_path / "t.db") == 0

    def other_thread() -> None:  # would wait forever on a lock left held
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('from another thread')")

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    assert _count(tmp_path / "t.db") == 1


def test_a_failed_commit_undoes_the_group_and_tells_each_request(tmp_path: Path) -> None:
    store = _store(tmp_path)
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _ = store.enrol(user.id, "https://example.org/course")
    kept = store.records(enrolment.id)

    async def request(user_id: int) -> BaseException | None:
        with one_request():
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text, user_id) VALUES ('x', ?)", (user_id,))
                store.record_view(enrolment.id, "https://example.org/a")
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request(user.id), request(999))  # 999: no such user, refused at COMMIT

    outcomes = asyncio.run(main())
    assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes)
    assert _count(tmp_path / "t.db") == 0
    assert store.records(enrolment.id) is not kept  # what was kept went with the undone writes
    assert store.records(enrolment.id).views == {}
    with store.transaction() as conn:  # and the store goes on working
        conn.execute("INSERT INTO notes (text) VALUES ('after')")
    assert _count(tmp_path / "t.db") == 1


def test_outside_a_request_or_off_the_loop_each_transaction_commits_at_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.transaction() as conn:
        conn.execute("INSERT INTO notes (text) VALUES ('no loop')")
    assert _count(tmp_path / "t.db") == 1

    async def in_loop_without_request() -> None:
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('no request')")
        assert _count(tmp_path / "t.db") == 2

    async def in_request_in_a_thread() -> None:
        def work() -> None:
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('worker thread')")
            assert _count(tmp_path / "t.db") == 3

        with one_request():
            await asyncio.to_thread(work)  # the context goes with it; the loop does not
            assert await store.committed() is None

    asyncio.run(in_loop_without_request())
    asyncio.run(in_request_in_a_thread())


def test_an_await_inside_a_transaction_is_refused_when_another_request_acts_meanwhile(tmp_path: Path) -> None:
    store = _store(tmp_path)

    async def slow() -> None:
        with one_request(), store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('slow')")
            await asyncio.sleep(0)

    async def quick() -> None:
        with one_request(), store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('quick')")

    async def main() -> None:
        await asyncio.gather(slow(), quick())

    with pytest.raises(RuntimeError, match="must not await"):
        asyncio.run(main())


def test_the_guard_answers_only_after_the_commit_and_503_when_it_fails(tmp_path: Path) -> None:
    store = _store(tmp_path)
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")

    async def note(request: Request) -> Response:
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (text, user_id) VALUES ('x', ?)", (int(request.path_params["user"]),))
        return PlainTextResponse("saved")

    app = Guard(Starlette(routes=[Route("/note/{user}", note, methods=["POST"])]), store=store, max_body=1000,
                secure=False)
    with TestClient(app) as client:  # type: ignore[arg-type]
        saved = client.post(f"/note/{user.id}")
        assert (saved.status_code, saved.text) == (200, "saved")
        assert _count(tmp_path / "t.db") == 1  # committed before the answer
        refused = client.post("/note/999")
        assert refused.status_code == 503 and "could not be saved" in refused.text
        assert saved.headers["x-frame-options"] == refused.headers["x-frame-options"] == "DENY"
    assert _count(tmp_path / "t.db") == 1


def test_while_others_are_under_way_a_group_stays_open_to_take_in_later_turns(tmp_path: Path) -> None:
    """Busy, groups commit at most once per COMMIT_INTERVAL, so one group takes the actions of several turns of the
    loop; a request alone commits at the next turn (nobody else could join its group)."""
    store = _store(tmp_path)
    commits: list[str] = []
    store.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    waited: list[float] = []

    async def request(text: str, turns: int) -> BaseException | None:
        with one_request():
            for _ in range(turns):  # this request's action comes this many turns of the loop later
                await asyncio.sleep(0)
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
            return await store.committed()

    def watch_waits() -> None:
        loop = asyncio.get_running_loop()
        call_later = loop.call_later

        def recorded(delay: float, *args: Any) -> asyncio.TimerHandle:
            waited.append(delay)
            return call_later(delay, *args)

        loop.call_later = recorded  # type: ignore[method-assign,assignment]

    async def alone() -> None:
        watch_waits()
        for n in range(3):  # each within the interval of the last commit, but nobody else is under way
            assert await request(f"alone {n}", 0) is None

    asyncio.run(alone())
    assert len(commits) == 3 and waited == []  # one group each, each committed at the next turn

    commits.clear()

    async def busy() -> list[BaseException | None]:
        watch_waits()
        await request("first", 0)  # a commit just now
        # Six requests under way together, whose actions come over six turns of the loop.
        return await asyncio.gather(*(request(f"busy {n}", n + 1) for n in range(6)))

    assert asyncio.run(busy()) == [None] * 6
    assert len(commits) == 2 and len(waited) == 1  # "first", then one group for the six, held open once
    assert _count(tmp_path / "t.db") == 3 + 1 + 6


def test_data_version_is_asked_once_per_open_group_and_again_after_it(tmp_path: Path) -> None:
    """While a group is open it holds the write lock, so no other connection can commit: requests handled under
    it need not ask SQLite again. Once it has committed, another connection's commit is noticed."""
    store = _store(tmp_path)
    asked: list[str] = []
    store.conn.set_trace_callback(lambda sql: asked.append(sql) if sql == "PRAGMA data_version" else None)
    user = store.create_user(name="A", email="a@example.org", department="D", password_hash="x")
    enrolment, _ = store.enrol(user.id, "https://example.org/course")

    async def request(text: str) -> BaseException | None:
        with one_request():
            store.records(enrolment.id)  # asks data_version (or finds it asked under the open group)
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
            store.records(enrolment.id)
            return await store.committed()

    async def main() -> None:
        await asyncio.gather(request("a"), request("b"), request("c"))

    asked.clear()
    asyncio.run(main())
    # One turn of the loop: "a" asked before its write opened the group, "b" under the open group, and "c" found
    # the answer "b" had; the group commits at the next turn.
    assert len(asked) == 2

    kept = store.records(enrolment.id)
    other = sqlite3.connect(tmp_path / "t.db")
    other.execute("INSERT INTO lesson_views (enrolment_id, lesson_iri, first_at, last_at) VALUES (?, ?, ?, ?)",
                  (enrolment.id, "https://example.org/course/lesson", "2026-01-01", "2026-01-01"))
    other.commit()
    other.close()

    async def later() -> list[str]:
        with one_request():
            return list(store.records(enrolment.id).views)

    assert store.records(enrolment.id) is not kept
    assert asyncio.run(later()) == ["https://example.org/course/lesson"]


def _views(path: Path, enrolment_id: int) -> dict[str, int]:
    other = sqlite3.connect(path)
    try:
        return dict(other.execute("SELECT lesson_iri, views FROM lesson_views WHERE enrolment_id = ?",
                                  (enrolment_id,)).fetchall())
    finally:
        other.close()


def test_a_repeat_view_is_one_statement_in_the_group_without_a_savepoint(tmp_path: Path) -> None:
    store = _store(tmp_path)
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _ = store.enrol(user.id, "https://example.org/course")
    lesson, unseen = "https://example.org/course/a", "https://example.org/course/b"
    assert store.view_again(enrolment.id, lesson) is False  # records not yet kept: the row is not known
    store.records(enrolment.id)
    assert store.view_again(enrolment.id, lesson) is False  # kept, and no view of it: record_view's work
    assert store.record_view(enrolment.id, lesson) is True
    traced: list[str] = []

    async def request(iri: str) -> tuple[bool, BaseException | None]:
        with one_request():
            again = store.view_again(enrolment.id, iri)
            with store.transaction() as conn:  # another action of the same group, with its savepoint
                conn.execute("INSERT INTO notes (text) VALUES (?)", (iri,))
            return again, await store.committed()

    async def main() -> list[tuple[bool, BaseException | None]]:
        return await asyncio.gather(request(lesson), request(unseen))

    store.conn.set_trace_callback(traced.append)
    assert asyncio.run(main()) == [(True, None), (False, None)]
    store.conn.set_trace_callback(None)
    assert [sql.split()[0] for sql in traced] == [
        "BEGIN", "UPDATE", "SAVEPOINT", "INSERT", "RELEASE", "SAVEPOINT", "INSERT", "RELEASE", "COMMIT"]
    assert _views(tmp_path / "t.db", enrolment.id) == {lesson: 2}
    assert store.enrolment(user.id, "https://example.org/course").last_lesson_iri == lesson  # type: ignore[union-attr]


def _viewed_once(tmp_path: Path) -> tuple[Store, Enrolment, str]:
    """A store whose learner has viewed a lesson once, with their records kept (a repeat view's start)."""
    store = _store(tmp_path)
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _ = store.enrol(user.id, "https://example.org/course")
    lesson = "https://example.org/course/a"
    store.records(enrolment.id)
    store.record_view(enrolment.id, lesson)
    return store, enrolment, lesson


def test_a_repeat_view_that_fails_undoes_itself_alone(tmp_path: Path) -> None:
    store, enrolment, lesson = _viewed_once(tmp_path)
    # A statement that fails part-way: the trigger's own insert is undone with the statement.
    store.conn.executescript("""
        CREATE TABLE audit (n INTEGER);
        CREATE TRIGGER refuse AFTER UPDATE ON lesson_views WHEN NEW.views > 2 BEGIN
            INSERT INTO audit VALUES (NEW.views);
            SELECT RAISE(ABORT, 'refused');
        END;
    """)

    async def viewer() -> BaseException | None:
        with one_request():
            try:
                store.view_again(enrolment.id, lesson)  # the second view: fine
                store.records(enrolment.id)  # kept again (a failure forgets what is kept)
                store.view_again(enrolment.id, lesson)  # the third: refused
            except sqlite3.IntegrityError:
                pass
            return await store.committed()

    async def other() -> BaseException | None:
        with one_request():
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('kept')")
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(viewer(), other())

    assert asyncio.run(main()) == [None, None]
    assert _views(tmp_path / "t.db", enrolment.id) == {lesson: 2}
    assert _count(tmp_path / "t.db") == 1
    assert store.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0


@pytest.mark.parametrize("alone", [False, True], ids=["with-a-savepoint", "one-statement"])
def test_after_sqlite_undoes_the_groups_transaction_no_later_action_commits_on_its_own(tmp_path: Path,
                                                                                      alone: bool) -> None:
    """Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction. The group's later
    actions must not then run outside it, each committing on its own while its request is told nothing was saved."""
    store, enrolment, lesson = _viewed_once(tmp_path)
    refused: list[BaseException] = []

    async def first() -> BaseException | None:
        with one_request():
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('first')")
            store.conn.execute("ROLLBACK")  # as SQLite does after such an error
            return await store.committed()

    async def later() -> BaseException | None:
        with one_request():
            try:
                if alone:
                    store.records(enrolment.id)
                    store.view_again(enrolment.id, lesson)
                else:
                    with store.transaction() as conn:
                        conn.execute("INSERT INTO notes (text) VALUES ('later')")
            except sqlite3.OperationalError as exc:
                refused.append(exc)
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(first(), later())

    outcome, _ = asyncio.run(main())
    assert isinstance(outcome, sqlite3.OperationalError)  # the group's commit found nothing to commit: told
    assert len(refused) == 1 and "undone" in str(refused[0])
    assert _count(tmp_path / "t.db") == 0
    assert _views(tmp_path / "t.db", enrolment.id) == {lesson: 1}
    with store.transaction() as conn:  # and the store goes on working
        conn.execute("INSERT INTO notes (text) VALUES ('after')")
    assert _count(tmp_path / "t.db") == 1


def test_a_session_met_in_a_group_whose_commit_fails_is_met_again_afterwards(tmp_path: Path) -> None:
    store = _store(tmp_path)
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="CO", password_hash="x")
    token = store.create_session(user.id)
    course = "https://example.org/course"

    async def request(poison: bool) -> BaseException | None:
        # Two tabs of one session in one turn: the second finds the first one's row, not yet committed.
        with one_request():
            if not store.session_met(token, course):
                with store.transaction() as conn:
                    store.session_first(token, course)
                    if poison:
                        conn.execute("INSERT INTO notes VALUES ('x', 999)")
            return await store.committed()

    async def both() -> list[BaseException | None]:
        return await asyncio.gather(request(False), request(True))

    assert all(isinstance(told, sqlite3.IntegrityError) for told in asyncio.run(both()))
    assert store.conn.execute("SELECT COUNT(*) FROM session_events").fetchone()[0] == 0
    # The row was undone with the group, so the session has not met the course: its next request records it.
    assert not store.session_met(token, course)
    with store.transaction():
        assert store.session_first(token, course)
    assert store.conn.execute("SELECT COUNT(*) FROM session_events").fetchone()[0] == 1


def test_a_failed_commit_of_a_transaction_of_its_own_is_undone_and_forgotten(tmp_path: Path) -> None:
    store = _store(tmp_path)
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="CO", password_hash="x")
    enrolment, _ = store.enrol(user.id, "https://example.org/course")
    assert not store.records(enrolment.id).views  # kept from here on
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:  # off the loop: a transaction of its own
        store.record_view(enrolment.id, "https://example.org/a")
        conn.execute("INSERT INTO notes VALUES ('x', 999)")
    assert not store.records(enrolment.id).views  # the kept records were forgotten with the write
    assert not store.conn.in_transaction  # SQLite left it open: rolled back

    async def request() -> BaseException | None:
        with one_request():
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('later')")
            return await store.committed()

    # Else the next request's write joined the failed transaction, was never committed, and was acknowledged.
    assert asyncio.run(request()) is None
    assert _count(tmp_path / "t.db") == 1
