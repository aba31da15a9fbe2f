"""The engine's xAPI statements in a group commit (decision 0028): the statements a group's actions save are written
together just before the group commits, outside the actions' savepoints."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from engine.storage.db import Store
from engine.storage.grouping import one_request
from engine.storage.statements import IndexedStatement
from engine.xapi.ids import statement_id
from engine.xapi.keys import index
from helpers import grouped_action, statement_ids

ENDPOINTS = ["locker"]


def _statement(learner: str, verb: str = "experienced") -> IndexedStatement:
    stamp = "2026-11-28T10:00:00.000+00:00"
    return index({
        "id": statement_id(), "stored": stamp, "timestamp": stamp,
        "actor": {"objectType": "Agent", "account": {"homePage": "https://example.org", "name": learner}},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
        "object": {"objectType": "Activity", "id": "https://example.org/course/lesson"},
        "context": {"registration": "6d4f2c1e-8a5b-4c3d-9e2f-1a2b3c4d5e6f",
                    "contextActivities": {"parent": [{"id": "https://example.org/course/module"}],
                                          "grouping": [{"id": "https://example.org/course"}]}},
        "authority": {"objectType": "Agent", "account": {"homePage": "https://example.org", "name": "engine"}},
    })


def _rows(store: Store, table: str) -> int:
    return int(store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_a_groups_statements_are_written_after_its_actions_in_the_order_saved_and_committed_once(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    sql: list[str] = []
    store.conn.set_trace_callback(sql.append)
    made = {name: [_statement(name), _statement(name, "completed")] for name in ("ada", "bo", "cy")}
    inside: list[int] = []

    async def request(name: str) -> BaseException | None:
        with one_request():
            with store.transaction():
                store.save_statements(made[name][:1], endpoints=ENDPOINTS, now="2026-11-28T10:00:00.000+00:00")
                store.save_statements(made[name][1:], endpoints=ENDPOINTS, now="2026-11-28T10:00:00.000+00:00")
                inside.append(_rows(store, "statements"))  # the same connection: none written yet
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request("ada"), request("bo"), request("cy"))

    assert asyncio.run(main()) == [None, None, None]
    assert inside == [0, 0, 0]
    assert statement_ids(tmp_path / "t.db") == [s.id for name in ("ada", "bo", "cy") for s in made[name]]
    # Written once each, after the last action's savepoint, with their index rows and outbox entries.
    assert sql.count("COMMIT") == 1
    first_insert = next(n for n, text in enumerate(sql) if text.startswith("INSERT INTO statements "))
    assert first_insert > max(n for n, text in enumerate(sql) if text == "RELEASE action")
    assert _rows(store, "statement_verbs") == _rows(store, "statement_registrations") == 6
    assert _rows(store, "statement_activities") == 6 * 3
    assert _rows(store, "statement_agents") == 6 * 2 and _rows(store, "statement_actors") == 6
    assert _rows(store, "outbox") == 6
    # Each index row belongs to its own statement: written for all the group's statements at once, sorted by key,
    # each row must still carry the seq of the statement it indexes.
    every = [s for name in ("ada", "bo", "cy") for s in made[name]]
    assert _indexed(store, "statement_actors", "agent") == {(s.id, a) for s in every for a in s.actors}
    assert _indexed(store, "statement_agents", "agent") == {(s.id, a) for s in every for a in s.agents}
    assert _indexed(store, "statement_activities", "activity") == {(s.id, a) for s in every for a in s.activities}
    assert _indexed(store, "statement_verbs", "verb") == {(s.id, s.verb) for s in every}
    store.close()


def _indexed(store: Store, table: str, column: str) -> set[tuple[str, str]]:
    """(statement id, term) of every row of an index table."""
    return set(store.conn.execute(
        f"SELECT s.id, t.term FROM {table} x JOIN statements s ON s.seq = x.seq"
        f" JOIN lrs_terms t ON t.id = x.{column}"))


def test_a_failing_action_takes_its_statements_with_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    kept, undone, later = _statement("ada"), _statement("bo"), _statement("bo", "completed")

    async def request(statement: IndexedStatement, fail: bool) -> BaseException | None:
        with one_request():
            try:
                with store.transaction():
                    with store.transaction():  # nested: part of the same action
                        store.save_statements([statement], endpoints=[], now=statement.stored)
                    if fail:
                        raise ValueError("the rest of the action failed")
            except ValueError:
                with store.transaction():  # the request's next action saves again, and that is kept
                    store.save_statements([later], endpoints=[], now=later.stored)
            return await store.committed()

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request(kept, False), request(undone, True))

    assert asyncio.run(main()) == [None, None]
    assert statement_ids(tmp_path / "t.db") == [kept.id, later.id]
    assert _rows(store, "statement_verbs") == 2
    store.close()


def test_statements_that_cannot_be_written_undo_the_whole_group_and_each_request_is_told(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _ = store.enrol(user.id, "https://example.org/course")
    clash = _statement("ada")
    with store.transaction():
        store.save_statements([clash], endpoints=[], now=clash.stored)  # off the loop: written at once
    fine = _statement("bo")

    async def request(statement: IndexedStatement, lesson: str) -> BaseException | None:
        with one_request():
            with store.transaction():
                store.record_view(enrolment.id, lesson)
                store.save_statements([statement], endpoints=[], now=statement.stored)
            return await store.committed()

    async def main() -> list[BaseException | None]:
        # The second saves a statement whose id is taken: nothing of either action is kept.
        return await asyncio.gather(request(fine, "https://example.org/a"), request(clash, "https://example.org/b"))

    outcomes = asyncio.run(main())
    assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes)
    assert statement_ids(tmp_path / "t.db") == [clash.id]
    assert store.records(enrolment.id).views == {}  # what was kept went with the undone writes
    assert not store.conn.in_transaction
    again = _statement("cy")

    async def next_group() -> BaseException | None:
        with one_request():
            with store.transaction():
                store.save_statements([again], endpoints=[], now=again.stored)
            return await store.committed()

    assert asyncio.run(next_group()) is None  # and the store goes on working
    assert statement_ids(tmp_path / "t.db") == [clash.id, again.id]
    store.close()


def test_outside_a_group_statements_are_written_in_the_callers_transaction_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    first, second = _statement("ada"), _statement("bo")
    seen: list[Any] = []
    with store.transaction():
        store.save_statements([first], endpoints=ENDPOINTS, now=first.stored)
        seen.append(_rows(store, "statements"))

    async def in_request_in_a_thread() -> None:
        def work() -> None:
            with store.transaction():
                store.save_statements([second], endpoints=ENDPOINTS, now=second.stored)
                seen.append(_rows(store, "statements"))

        with one_request():
            await asyncio.to_thread(work)
            seen.append(await store.committed())

    asyncio.run(in_request_in_a_thread())
    assert seen == [1, 2, None]
    assert statement_ids(tmp_path / "t.db") == [first.id, second.id]
    store.close()


def test_the_delivery_worker_is_woken_once_the_statements_are_committed_and_not_when_they_are_undone(
        tmp_path: Path) -> None:
    """It reads the outbox, which holds only what is committed: woken earlier, it finds nothing and sleeps."""
    store = Store(tmp_path / "t.db")
    seen: list[int] = []

    def committed_outbox() -> int:
        with sqlite3.connect(tmp_path / "t.db") as other:
            return int(other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def wake() -> None:
        seen.append(committed_outbox())

    def request(name: str, fail: bool = False) -> Coroutine[Any, Any, BaseException | None]:
        return grouped_action(store, lambda: store.save_statements(
            [_statement(name)], endpoints=ENDPOINTS, now="2026-11-28T10:00:00.000+00:00", saved=wake), fail=fail)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request("ada"), request("bo"), request("cy", fail=True))

    assert asyncio.run(main()) == [None, None, None]
    assert seen == [2]  # once for the group, after its commit

    with store.transaction():  # outside a group: after the caller's commit
        store.save_statements([_statement("dee")], endpoints=ENDPOINTS, now="2026-11-28T10:00:00.000+00:00",
                              saved=wake)
        assert seen == [2]
    assert seen == [2, 3]
    try:
        with store.transaction():
            store.save_statements([_statement("eve")], endpoints=ENDPOINTS, now="2026-11-28T10:00:00.000+00:00",
                                  saved=wake)
            raise ValueError("undone")
    except ValueError:
        pass
    with store.transaction():
        store.create_user(name="Fay", email="fay@example.gov.uk", department="Cabinet Office", password_hash="x")
    assert seen == [2, 3]  # the undone save's wake-up went with it, not to the next commit
    store.close()
