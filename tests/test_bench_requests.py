"""The runtime benchmark's lesson views (bench/runtime_bench.py): learners who stay where they had reached, or who
move on through the course (``--journeys``), and new sign-ins that forget which lessons a session met."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import runtime_bench as rb

from engine.storage.db import Store


def pool(lessons: int, size: int = 40) -> list[rb.Client]:
    rng = random.Random(3)
    return [rb.Client(n, f"token{n}", f"browser{n}", rng.randint(-1, lessons - 1)) for n in range(size)]


def steps_of(lines: list[str], plan: rb.CoursePlan) -> dict[str, list[int]]:
    index = {lp.path: lp.index for lp in plan.lessons}
    out: dict[str, list[int]] = {}
    for line in lines:
        method, path, cookie, body = line.split("\t")
        assert (method, body) == ("GET", "")
        out.setdefault(cookie, []).append(index[path])
    return out


def test_by_default_every_view_is_taken_from_where_the_learner_had_reached() -> None:
    plan, _course = rb.load_plan()
    clients = pool(len(plan.lessons))
    lines = rb.lesson_requests(plan, clients, random.Random(1))
    assert len(lines) == 8 * len(clients)
    last = len(plan.lessons) - 1
    for client in clients:
        for step in steps_of(lines, plan)[client.cookie]:
            assert client.reached == last or step <= max(client.reached + 1, 0)


def test_journeys_move_on_in_order_and_their_first_views_keep_coming() -> None:
    plan, _course = rb.load_plan()
    clients = pool(len(plan.lessons))
    lines = rb.lesson_requests(plan, clients, random.Random(1), 30, journeys=True)
    assert len(lines) == 30 * len(clients)
    # A round of every learner's next step at a time: each learner's n-th view is in the n-th round.
    for n in range(30):
        assert {line.split("\t")[2] for line in lines[n * len(clients):(n + 1) * len(clients)]} == {
            c.cookie for c in clients}
    last = len(plan.lessons) - 1
    steps = steps_of(lines, plan)
    for client in clients:
        reached = client.reached
        for step in steps[client.cookie]:
            assert reached == last or step <= reached + 1  # never more than one lesson ahead
            reached = max(reached, step)
    moved = [max(steps[c.cookie]) - max(c.reached, 0) for c in clients if c.reached < last - 5]
    assert moved and min(moved) >= 3  # each learner not near the end got well on
    seen: set[tuple[str, str]] = set()
    later_firsts = 0
    for line in lines[len(lines) // 2:]:
        key = (line.split("\t")[2], line.split("\t")[1])
        later_firsts += key not in seen
        seen.add(key)
    assert later_firsts > 0


def test_new_sign_ins_forget_the_lessons_a_session_met(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    user = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    client = rb.Client(user.id, store.create_session(user.id), "browser", 0)
    other = store.create_session(user.id)
    with store.transaction():
        assert store.session_first(client.token, "https://example.org/a")
        assert store.session_first(other, "https://example.org/a")
    store.close()
    rb.new_sign_ins(tmp_path / "t.db", [client])
    restarted = Store(tmp_path / "t.db")  # the benchmark restarts the server before each measure
    with restarted.transaction():
        assert restarted.session_first(client.token, "https://example.org/a") is True  # met afresh
        assert restarted.session_first(other, "https://example.org/a") is False  # another session: untouched
    restarted.close()
