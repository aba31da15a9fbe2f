"""Repeat lesson views written later (decision 0024): a view that records nothing but its count and time needs no
transaction of its own; it is written with the next action of any request, within a second if none comes, and
before anything reads a view's count or time."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from course.model import Checklist, Poll, Question, Reflection, Video
from engine import events
from engine.storage import db
from engine.storage.db import Store
from engine.storage.grouping import one_request
from engine.storage.records import Records
from engine.web import learning
from engine.web.courses import CourseRuntime
from servers import free_port, start_engine, stop
from webhelpers import answer, make_app, register

COURSE_DIR = Path(__file__).parent.parent / "content" / "innovation-masterclass"


def _runtime(client: TestClient) -> CourseRuntime:
    service = client.app.app.state.service  # type: ignore[attr-defined]  # the Guard wraps the Starlette app
    return next(iter(service.courses.values()))  # type: ignore[no-any-return]


def _written(path: Path, lesson_iri: str) -> tuple[int, str] | None:
    """A view's count and time as another connection reads them: what is committed."""
    other = sqlite3.connect(path)
    try:
        row = other.execute("SELECT views, last_at FROM lesson_views WHERE lesson_iri = ?", (lesson_iri,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None
    finally:
        other.close()


def _writes(store: Store) -> list[str]:
    """Every statement the store's connection runs from now on that begins or writes something."""
    seen: list[str] = []
    store.conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.split()[0] in {"BEGIN", "SAVEPOINT", "INSERT", "UPDATE", "DELETE"}
        else None)
    return seen


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, Store, Path]:
    monkeypatch.setattr(db, "LATER_VIEWS_SECONDS", 3600.0)  # nothing written by the timer unless a test asks
    client, store = make_app(COURSE_DIR, tmp_path / "t.db")
    return client, store, tmp_path / "t.db"


def test_a_repeat_view_runs_no_write_and_the_next_action_writes_it(served: tuple[TestClient, Store, Path]) -> None:
    client, store, path = served
    with client:  # one event loop for the whole test, as a served process has
        register(client)
        rt = _runtime(client)
        lesson = rt.order[1]
        url = learning.lesson_url(rt, lesson)
        assert client.get(url).status_code == 200  # the first view: written at once
        first = _written(path, lesson.iri)
        assert first is not None and first[0] == 1
        writes = _writes(store)
        time.sleep(0.002)  # a later millisecond
        for _ in range(3):
            assert client.get(url).status_code == 200
        assert writes == []  # no transaction, no savepoint, no UPDATE for the repeat views
        assert _written(path, lesson.iri) == first
        # Any action writes them first, in its own transaction.
        question = next(b for lesson_ in rt.order for b in lesson_.blocks if isinstance(b, Question))
        owner = next(lesson_ for lesson_ in rt.order if question in lesson_.blocks)
        answer(client, learning.lesson_url(rt, owner), question.id, choice=[str(question.correct[0])])
        written = _written(path, lesson.iri)
        assert written is not None and written[0] == 4 and written[1] > first[1]
        assert writes[0].startswith("BEGIN")
        assert writes[1].startswith("UPDATE lesson_views SET views = views + 3,")  # one for the three, before the savepoint
        assert writes[2] == "SAVEPOINT action"


def test_repeat_views_are_written_within_the_delay_when_nothing_else_writes(
        served: tuple[TestClient, Store, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _store, path = served
    with client:
        register(client)
        rt = _runtime(client)
        lesson = rt.order[2]
        url = learning.lesson_url(rt, lesson)
        client.get(url)
        monkeypatch.setattr(db, "LATER_VIEWS_SECONDS", 0.05)
        client.get(url)
        client.get(url)
        deadline = time.monotonic() + 10
        while (_written(path, lesson.iri) or (0, ""))[0] != 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (_written(path, lesson.iri) or (0, ""))[0] == 3


def test_shutting_down_writes_repeat_views(served: tuple[TestClient, Store, Path]) -> None:
    client, _store, path = served
    with client:
        register(client)
        rt = _runtime(client)
        lesson = rt.order[3]
        for _ in range(3):
            client.get(learning.lesson_url(rt, lesson))
        assert (_written(path, lesson.iri) or (0, ""))[0] == 1
    # The lifespan's end, after the requests in flight: what `masterclass serve` does on SIGTERM.
    assert (_written(path, lesson.iri) or (0, ""))[0] == 3


def test_closing_the_store_writes_repeat_views(served: tuple[TestClient, Store, Path]) -> None:
    client, store, path = served
    register(client)  # without `with`: no lifespan, as a store used by a script
    rt = _runtime(client)
    lesson = rt.order[1]
    for _ in range(2):
        client.get(learning.lesson_url(rt, lesson))
    assert (_written(path, lesson.iri) or (0, ""))[0] == 1
    store.close()
    assert (_written(path, lesson.iri) or (0, ""))[0] == 2


def test_the_resume_point_and_my_data_include_repeat_views_not_yet_written(
        served: tuple[TestClient, Store, Path]) -> None:
    client, store, _path = served
    with client:
        register(client)
        rt = _runtime(client)
        first, second = rt.order[1], rt.order[2]
        client.get(learning.lesson_url(rt, first))
        time.sleep(0.002)
        client.get(learning.lesson_url(rt, second))
        time.sleep(0.002)
        client.get(learning.lesson_url(rt, first))  # noted for later: the learner is back at the first
        user = store.user_by_email("ada@example.gov.uk")
        assert user is not None
        store._forget_enrolments()  # as when another process commits: read from the database again
        enrolment = store.enrolment(user.id, rt.course.iri)
        assert enrolment is not None and enrolment.last_lesson_iri == first.iri
        data = json.loads(client.get("/my-data/download").text)
        views = {row["lesson_iri"]: row["views"] for row in data["enrolments"][0]["lesson_views"]}
        assert views[first.iri] == 2 and views[second.iri] == 1
        assert data["enrolments"][0]["last_lesson"] == first.iri


def test_a_view_that_records_anything_else_is_written_at_once(
        served: tuple[TestClient, Store, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Walk a learner through the whole course, viewing each lesson before and after answering it: whenever a
    view is noted for later, ``completions`` would have recorded nothing then."""
    client, store, _path = served
    checked: list[bool] = []
    original = events._nothing_to_record

    def nothing_to_record(learner: events.Learner, records: Records) -> bool:
        found = original(learner, records)
        if found:
            with store.transaction():  # what the full path would record, asked in its transaction
                assert events.completions(learner) == []
        checked.append(found)
        return found

    monkeypatch.setattr(events, "_nothing_to_record", nothing_to_record)
    with client:
        register(client)
        rt = _runtime(client)
        for lesson in rt.order:
            url = learning.lesson_url(rt, lesson)
            client.get(url)
            client.get(url)
            for block in lesson.blocks:
                if isinstance(block, Question):
                    answer(client, url, block.id, choice=[str(n) for n in block.correct])
                elif isinstance(block, Poll):
                    answer(client, url, block.id, choice=[str(block.scale.low) if block.scale else "0"])
                elif isinstance(block, Reflection):
                    answer(client, url, block.id, text=" ".join(["idea"] * max(1, block.min_words)))
                elif isinstance(block, Checklist):
                    answer(client, url, block.id, ticked=[str(n) for n in range(len(block.items))])
                elif isinstance(block, Video):
                    answer(client, url, block.id, watched="1")
            client.get(url)
        home = client.get(f"/{rt.slug}/").text
    assert "Course completed" in home or "capstone" in home.lower()
    assert True in checked and False in checked


def test_a_repeat_view_off_the_event_loop_is_written_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _new = store.enrol(user.id, "https://example.org/course")
    store.record_view(enrolment.id, "https://example.org/a")
    store.records(enrolment.id)
    assert store.view_again(enrolment.id, "https://example.org/a") is False  # no request on a loop: not noted
    store.close()


def test_masterclass_serve_writes_repeat_views_when_stopped(tmp_path: Path) -> None:
    """A real server under uvicorn, stopped as a service manager stops it (SIGTERM), well within the delay."""
    path = tmp_path / "served.db"
    port = free_port()
    server = start_engine(COURSE_DIR, path, port)
    base = f"http://127.0.0.1:{port}"
    lesson = "/innovation-masterclass/00-start/welcome"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/register").text)
            assert token
            response = client.post("/register", data={
                "csrf_token": token.group(1), "name": "Ada Lovelace", "email": "ada@example.gov.uk",
                "department": "Cabinet Office", "password": "a long password"})
            assert response.status_code == 303
            for _ in range(4):
                assert client.get(lesson).status_code == 200
    finally:
        stop(server)  # at once: the three repeat views are still noted, unless the machine took a second over them
    assert server.returncode in (0, -signal.SIGTERM)  # uvicorn raises the signal again once it has shut down
    written = _written(path, "https://learn.innovation-masterclass.example/courses/innovation-masterclass/00-start/welcome")
    assert written is not None and written[0] == 4


def test_many_repeat_views_are_written_a_chunk_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second of repeat views at a busy service's rate is written in chunks, one a turn of the event loop, so
    that writing them never stops the loop for long."""
    monkeypatch.setattr(db, "LATER_VIEWS_SECONDS", 0.0)
    store = Store(tmp_path / "t.db")
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    enrolment, _new = store.enrol(user.id, "https://example.org/course")
    lessons = [f"https://example.org/lesson/{n}" for n in range(150)]
    for iri in lessons:
        store.record_view(enrolment.id, iri)
    store.records(enrolment.id)
    trace: list[str] = []
    store.conn.set_trace_callback(lambda sql: trace.append(sql.split()[0]))

    async def main() -> None:
        with one_request():
            assert all(store.view_again(enrolment.id, iri) for iri in lessons)
        deadline = time.monotonic() + 10
        while (store._later_views or store._groups.open) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    asyncio.run(main())
    chunks = [part.count("UPDATE") for part in " ".join(trace).split("COMMIT") if "UPDATE" in part]
    assert chunks == [64, 64, 22]
    rows = store.conn.execute("SELECT views FROM lesson_views").fetchall()
    assert rows == [(2,)] * 150
    store.close()
