"""Delivery to a real external LRS (Learning Locker's statements service) through outages and crashes."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from engine.storage import outbox
from engine.storage.clock import now
from engine.storage.db import Store
from engine.storage.statements import insert_statements
from engine.xapi.delivery import Deliverer, Endpoint
from engine.xapi.keys import index
from helpers import make_course, statement_ids
from servers import all_statements, endpoints_env, free_port, learning_locker, start_engine, stop
from test_build import LESSON

LESSON_PATH = "/demo/01-intro/lesson"


def learner_session(base: str, n: int) -> None:
    """One learner's work over HTTP: register, open lessons, answer, reflect, sign out."""
    with httpx.Client(base_url=base, timeout=30) as client:
        token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/register").text)
        assert token
        csrf = token.group(1)
        response = client.post("/register", data={"csrf_token": csrf, "name": f"Learner {n}",
                                                   "email": f"learner{n}@example.gov.uk",
                                                   "department": "Cabinet Office", "password": "a long password"})
        assert response.status_code == 303
        client.get(LESSON_PATH)
        for block, data in [("define-small-change", {"choice": "0"}), ("define-small-change", {"choice": "1"}),
                            ("pick-two", {"choice": ["0", "2"]}), ("confidence-start", {"choice": "4"}),
                            ("channel", {"choice": ["1"]}),
                            ("first-thoughts", {"text": "a small change to the way we hand over cases each day"})]:
            assert client.post(f"{LESSON_PATH}/blocks/{block}", data={"csrf_token": csrf, **data}).status_code == 303
        client.get("/demo/01-intro/other")
        assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 303


def queued(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()


def wait_until(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for delivery")


def test_every_statement_arrives_exactly_once_through_an_outage_and_a_crash(tmp_path: Path) -> None:
    course = make_course(tmp_path / "demo", lesson=LESSON)
    db = tmp_path / "engine.db"
    with learning_locker() as (lrs, lrs_process):
        env = endpoints_env("locker", lrs, batch=5)
        port = free_port()
        engine = start_engine(course, db, port, env)
        base = f"http://127.0.0.1:{port}"
        try:
            learner_session(base, 1)
            wait_until(lambda: queued(db) == 0)
            assert len(all_statements(lrs)) == len(statement_ids(db))

            # The LRS stops answering while learners keep working: nothing is lost, it waits in the outbox.
            lrs_process.send_signal(signal.SIGSTOP)
            for n in range(2, 6):
                learner_session(base, n)
            assert queued(db) > 0
            lrs_process.send_signal(signal.SIGCONT)

            # The engine is killed mid-delivery, then restarted: the rest arrives, nothing twice.
            wait_until(lambda: queued(db) < len(statement_ids(db)) // 2 or queued(db) == 0, seconds=120)
            engine.send_signal(signal.SIGKILL)
            engine.wait()
            left = queued(db)
            engine = start_engine(course, db, port, env)
            for n in range(6, 8):
                learner_session(base, n)
            wait_until(lambda: queued(db) == 0, seconds=180)
        finally:
            stop(engine)
        received = [s["id"] for s in all_statements(lrs)]
    ids = statement_ids(db)
    assert len(ids) > 100
    assert sorted(received) == sorted(ids)  # every statement, each exactly once
    assert left >= 0


def test_permanent_rejection_goes_to_dead_letters_and_can_be_retried(tmp_path: Path) -> None:
    store = Store(tmp_path / "dead.db")
    stamp = now()
    good = {"id": "6f3e1c1e-6a0b-4b5e-8d0c-0f7c1e2a3b4c", "actor": {"mbox": "mailto:a@example.gov.uk"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": {"id": "https://x.example/a"},
            "timestamp": stamp, "stored": stamp}
    # Learning Locker refuses a registration that is not an RFC 4122 UUID: a permanent rejection.
    bad = {**good, "id": "7f3e1c1e-6a0b-4b5e-8d0c-0f7c1e2a3b4c", "context": {"registration": "not-a-uuid"}}
    with store.transaction() as conn:
        insert_statements(conn, [index(good), index(bad)], endpoints=["locker"], now=stamp)
    with learning_locker() as (lrs, _process):
        deliverer = Deliverer(store, [Endpoint("locker", lrs, "test", "test")], batch=10)

        async def round_trip() -> int:
            async with httpx.AsyncClient(timeout=10) as client:
                return await deliverer.deliver_once(client, deliverer.endpoints[0])

        assert asyncio.run(round_trip()) == 2
        dead = outbox.dead_letters(store.conn)
        assert [d["statement_id"] for d in dead] == [bad["id"]] and dead[0]["status"] == 400
        assert [s["id"] for s in all_statements(lrs)] == [good["id"]]
        status = outbox.status(store.conn, ["locker"])[0]
        assert (status.queued, status.dead) == (0, 1) and status.last_error and "400" in status.last_error
        with store.transaction() as conn:
            assert outbox.retry_dead(conn, "locker", now()) == 1
        assert outbox.status(store.conn, ["locker"])[0].queued == 1


def test_an_unreachable_lrs_is_retried_with_backoff(tmp_path: Path) -> None:
    store = Store(tmp_path / "down.db")
    stamp = now()
    statement = {"id": "8f3e1c1e-6a0b-4b5e-8d0c-0f7c1e2a3b4c", "actor": {"mbox": "mailto:a@example.gov.uk"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                 "object": {"id": "https://x.example/a"}, "timestamp": stamp, "stored": stamp}
    with store.transaction() as conn:
        insert_statements(conn, [index(statement)], endpoints=["nowhere"], now=stamp)
    deliverer = Deliverer(store, [Endpoint("nowhere", f"http://127.0.0.1:{free_port()}/xAPI")], base_delay=30)

    async def attempt() -> int:
        async with httpx.AsyncClient(timeout=2) as client:
            return await deliverer.deliver_once(client, deliverer.endpoints[0])

    assert asyncio.run(attempt()) == 0
    row = store.conn.execute("SELECT attempts, next_at, last_error FROM outbox").fetchone()
    assert row[0] == 1 and row[1] > now() and "ConnectError" in row[2]
    assert asyncio.run(attempt()) == 0  # not due yet: nothing is sent again before the backoff ends
    assert store.conn.execute("SELECT attempts FROM outbox").fetchone()[0] == 1


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
