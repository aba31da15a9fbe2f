"""The store's timestamps: ISO 8601 in UTC to the millisecond, the same text datetime would give."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from engine.storage import clock
from engine.storage.clock import now


def _expected(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=rest // 1_000_000)
    return moment.isoformat(timespec="milliseconds")


@pytest.mark.parametrize("ns", [
    0,  # the epoch
    1_795_800_000_000_000_000,
    1_795_800_000_999_999_999,  # the last nanosecond of a second: still .999
    1_795_800_001_000_000_000,  # the next second
    1_798_761_599_999_000_000,  # the last millisecond of 2026
    1_798_761_600_000_000_000,  # new year
    1_709_164_800_123_456_789,  # 29 February 2024
])
def test_now_is_the_text_datetime_gives(monkeypatch: pytest.MonkeyPatch, ns: int) -> None:
    monkeypatch.setattr(clock.time, "time_ns", lambda: ns)
    assert now() == _expected(ns)


def test_now_follows_the_clock_back_and_forth_across_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    base = 1_795_800_000_000_000_000
    moments = sorted(base + rng.randrange(5_000_000_000) for _ in range(500))
    moments += [base - 7_000_000_000, base + 86_400_000_000_000]  # the clock set back; a day later
    for ns in moments:
        monkeypatch.setattr(clock.time, "time_ns", lambda ns=ns: ns)
        assert now() == _expected(ns)


def test_now_is_the_real_time() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    stamp = datetime.fromisoformat(now())
    assert stamp.utcoffset() == timedelta(0)
    assert before <= stamp <= datetime.now(UTC)
