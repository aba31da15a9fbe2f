"""The store's checkpoint thread keeps the write-ahead log from growing without end under continuous writes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine.storage import checkpoints
from engine.storage.db import Store

FRAME = 4096 + 24


def _write_for(store: Store, seconds: float) -> int:
    """Small transactions one after another, as a busy server makes them; returns the log frames they wrote."""
    deadline, frames = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        with store.transaction() as conn:
            conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 400,)] * 20)
        frames += 3  # at least: two table pages and the header page
        time.sleep(0.001)  # a server does other work between its commits
    return frames


@pytest.mark.parametrize("way", ["the writer catches up", "a RESTART checkpoint"])
def test_the_log_starts_again_under_continuous_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      way: str) -> None:
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    catching_up = way == "the writer catches up"
    monkeypatch.setattr(checkpoints, "CATCH_UP_FRAMES", 100 if catching_up else 10**9)
    monkeypatch.setattr(checkpoints, "RESTART_FRAMES", 10**9 if catching_up else 100)
    caught_up = []
    real_catch_up = checkpoints.Checkpointer.catch_up

    def catch_up(self: checkpoints.Checkpointer, conn: object) -> None:
        caught_up.append(self.catch_up_wanted)
        real_catch_up(self, conn)  # type: ignore[arg-type]

    monkeypatch.setattr(checkpoints.Checkpointer, "catch_up", catch_up)
    store = Store(tmp_path / "t.db")
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    written = _write_for(store, 3.0)
    log = os.path.getsize(tmp_path / "t.db-wal") / FRAME
    assert written > 1500  # enough writing that a log never started again would be far larger than the bound
    assert log < written / 3
    assert store.conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == written // 3 * 20
    assert any(caught_up) == catching_up
    store.close()


def test_a_quiet_log_starts_again_without_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between bursts of writes a PASSIVE checkpoint copies the whole log, and the next write starts it again:
    the log never reaches the RESTART threshold, so a quiet service never waits for a RESTART."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(checkpoints, "RESTART_FRAMES", 1_000_000)
    store = Store(tmp_path / "t.db")
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    for _ in range(10):
        with store.transaction() as conn:
            conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 400,)] * 2000)  # about 200 pages
        time.sleep(0.3)
    log = os.path.getsize(tmp_path / "t.db-wal") / FRAME
    assert 150 < log < 2 * 260  # one burst's frames (and the next one's), not ten
    store.close()


def test_the_thread_syncs_the_pages_it_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite syncs the database file only after a checkpoint that copies the whole log; under continuous writes
    the thread's checkpoints copy part of it, so the thread syncs the file itself. Otherwise the pages pile up
    unwritten and the writer's catch-up, on the event loop, waits for all of them (164 ms measured)."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(checkpoints, "CATCH_UP_FRAMES", 10**9)  # the log never starts again: partial copies only
    monkeypatch.setattr(checkpoints, "RESTART_FRAMES", 10**9)
    synced: list[str] = []
    real_sync = checkpoints._sync_data

    def sync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else "?")
        real_sync(fd)

    monkeypatch.setattr(checkpoints, "_sync_data", sync)
    store = Store(tmp_path / "t.db")
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    # Until five syncs, however long a busy disk makes them take: the test asserts that they happen, not how soon.
    deadline = time.monotonic() + 120
    while len(synced) < 5 and time.monotonic() < deadline:
        _write_for(store, 0.2)
    store.close()
    assert len(synced) >= 5
    assert set(synced) <= {str(tmp_path / "t.db"), "?"}
