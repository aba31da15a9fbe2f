"""The ids the engine gives statements: version 7 UUIDs that grow with time (decision 0018)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from engine.xapi import ids
from engine.xapi.ids import statement_id
from engine.xapi.syntax import is_uuid


def test_an_id_is_an_rfc_4122_variant_uuid_of_version_7_holding_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = statement_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(made)
    assert str(parsed) == made  # standard form, lower case
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert is_uuid(made)
    assert before <= parsed.int >> 80 <= after


def test_ids_sort_in_the_order_they_were_made_and_never_repeat() -> None:
    made = [statement_id() for _ in range(20_000)]  # many share a millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_made_in_the_same_millisecond_are_not_one_apart() -> None:
    # A step of one would let anyone who sees an id guess the next statement's.
    first, second = statement_id(), statement_id()
    if uuid.UUID(first).int >> 80 == uuid.UUID(second).int >> 80:
        assert uuid.UUID(second).int - uuid.UUID(first).int != 1


def test_a_clock_that_steps_back_does_not_make_an_id_smaller(monkeypatch: pytest.MonkeyPatch) -> None:
    made = statement_id()
    stepped_back = time.time_ns() - 5_000_000_000
    monkeypatch.setattr(ids.time, "time_ns", lambda: stepped_back)
    later = [statement_id() for _ in range(100)]
    assert [made, *later] == sorted([made, *later])
    assert all(uuid.UUID(i).version == 7 for i in later)


def test_the_counter_running_out_in_a_millisecond_moves_on_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = time.time_ns() + 10_000_000_000  # ahead of any id made so far
    monkeypatch.setattr(ids.time, "time_ns", lambda: frozen)
    first = statement_id()
    monkeypatch.setattr(ids, "_last_random", (1 << 74) - 1)
    following = statement_id()
    assert following > first
    assert uuid.UUID(following).int >> 80 == (frozen // 1_000_000) + 1
    assert uuid.UUID(following).version == 7 and uuid.UUID(following).variant == uuid.RFC_4122


def test_threads_making_ids_at_once_get_different_ones() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(n: int) -> None:
        made[n] = [statement_id() for _ in range(2_000)]

    threads = [threading.Thread(target=make, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for chunk in made for i in chunk]
    assert len(set(every)) == len(every) == 16_000
    assert all(chunk == sorted(chunk) for chunk in made)


# Learning Locker's check of a statement id (xapi-validation, regexValues/uuid.js): only the variant matters.
LEARNING_LOCKER_UUID = r"^\{?[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[89AB][A-F0-9]{3}-[A-F0-9]{12}\}?$"


def test_learning_locker_s_check_accepts_them() -> None:
    import re

    assert all(re.match(LEARNING_LOCKER_UUID, statement_id(), re.IGNORECASE) for _ in range(1_000))
