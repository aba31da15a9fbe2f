"""The store's checkpoint thread keeps the write-ahead log from growing without end under continuous writes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.storage import checkpoints
from engine.storage.db import Store
from helpers import grouped_action

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


@dataclass(frozen=True)
class Noted:
    """One checkpoint the thread ran: its mode, its connection's busy timeout (ms), what it returned (busy, log
    frames, frames copied), and whether the test's reader held its snapshot all the while."""

    mode: str
    timeout: int
    row: tuple[int, int, int]
    reading: bool


def _note_checkpoints(monkeypatch: pytest.MonkeyPatch, reading: threading.Event) -> list[Noted]:
    noted: list[Noted] = []
    real_connect = checkpoints._connect

    class Noting:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def execute(self, sql: str) -> sqlite3.Cursor:
            before = reading.is_set()
            timeout = self.conn.execute("PRAGMA busy_timeout").fetchone()[0]
            cursor = self.conn.execute(sql)
            row = cursor.fetchone()
            noted.append(Noted(sql.split("(")[1].rstrip(")"), timeout, row, before and reading.is_set()))
            return self.conn.execute("SELECT ?, ?, ?", row)  # what the thread reads, as SQLite gave it

        def close(self) -> None:
            self.conn.close()

    monkeypatch.setattr(checkpoints, "_connect", lambda path: Noting(real_connect(path)))
    return noted


def test_a_reader_s_snapshot_does_not_hold_the_writer_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A RESTART takes the write lock and then waits for readers; with a busy timeout, a reader holding one
    snapshot (``masterclass backup``) held every write back for that timeout, twice a second. While a snapshot is
    held the thread tries no RESTART; once it is gone, the RESTART it tries waits for nobody (busy timeout 0)."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(checkpoints, "CATCH_UP_FRAMES", 50)
    monkeypatch.setattr(checkpoints, "RESTART_FRAMES", 200)
    reading = threading.Event()
    noted = _note_checkpoints(monkeypatch, reading)
    path = tmp_path / "t.db"
    store = Store(path)
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM notes").fetchone()  # its snapshot, held until COMMIT
    reading.set()

    def long_log_seen() -> int:
        return sum(n.mode == "PASSIVE" and n.row[1] >= checkpoints.RESTART_FRAMES and n.reading for n in noted)

    # Until the thread has found the log past RESTART_FRAMES three times, however slow the machine: a guard only.
    deadline = time.monotonic() + 120
    while long_log_seen() < 3 and time.monotonic() < deadline:
        with store.transaction() as conn:
            conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 400,)] * 20)
    reading.clear()
    reader.execute("COMMIT")
    reader.close()
    assert long_log_seen() >= 3
    assert [n for n in noted if n.mode != "PASSIVE" and n.reading] == []
    # The writer idle and the reader gone, the thread's next RESTART starts the log again, waiting for nothing.
    while not any(n.mode == "RESTART" for n in noted) and time.monotonic() < deadline:
        time.sleep(0.02)
    restarts = [n for n in noted if n.mode == "RESTART"]
    assert restarts and {n.timeout for n in restarts} == {0} and restarts[-1].row[0] == 0
    store.close()


def _holds(path: Path, text: bytes) -> list[str]:
    """The files of the database at ``path`` whose bytes hold ``text``."""
    return [p.name for p in (path, Path(f"{path}-wal")) if p.exists() and text in p.read_bytes()]


@pytest.mark.parametrize("grouped", [False, True], ids=["alone", "in a group"])
def test_an_erased_account_is_gone_from_the_log_file_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         grouped: bool) -> None:
    """The log keeps every page as a commit wrote it, and a log that starts again is written over from its
    beginning, never shortened: the frames that wrote a deleted person's rows stayed in the file, in plain text,
    for as long as the service ran. After an erasure the thread empties the file (a TRUNCATE checkpoint)."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    path = tmp_path / "t.db"
    store = Store(path)
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    for n in range(50):
        store.create_user(name=f"Person {n}", email=f"person{n}@example.gov.uk", department="X", password_hash="h")
    gone = store.create_user(name="Zelda Secretname", email="zelda.secret@example.gov.uk", department="X",
                             password_hash="h")
    store.set_password_hash(gone.id, "h2")  # her row written again
    assert "t.db-wal" in _holds(path, b"zelda.secret")
    if grouped:
        assert asyncio.run(grouped_action(store, lambda: store.delete_user(gone.id))) is None
    else:
        store.delete_user(gone.id)

    def write() -> None:  # the service goes on: every write after the first starts the log again
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes VALUES ('a learner goes on')")
        time.sleep(0.01)

    deadline = time.monotonic() + 60  # a guard only: the files are looked at, not the time
    while _holds(path, b"zelda.secret") and time.monotonic() < deadline:
        write()
    assert _holds(path, b"zelda.secret") == []
    for _ in range(20):
        write()
    assert _holds(path, b"zelda.secret") == [] and _holds(path, b"Secretname") == []
    assert store.user_by_email("person49@example.gov.uk") is not None
    store.close()
