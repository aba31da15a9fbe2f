"""The store's checkpoint thread keeps the write-ahead log from growing without end under continuous writes."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.erasures import record_of
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
            if "wal_checkpoint" not in sql:  # setting the busy timeout
                return self.conn.execute(sql)
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


def test_a_reader_s_snapshot_holds_the_writer_back_briefly_and_seldom(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A RESTART takes the write lock and then waits for readers; with a busy timeout of a second, a reader holding
    one snapshot (``masterclass backup``) held every write back for that second, twice a second. While a snapshot
    is held, the thread's RESTARTs wait ``RESTART_WAIT`` at most, and less and less often: after each that failed,
    twice as many turns pass before the next may wait (up to ``MAX_RETRY_TURNS``). Once the reader is gone, the
    log starts again."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(checkpoints, "CATCH_UP_FRAMES", 50)
    monkeypatch.setattr(checkpoints, "RESTART_FRAMES", 200)
    monkeypatch.setattr(checkpoints, "RETRY_TURNS", 1)
    monkeypatch.setattr(checkpoints, "MAX_RETRY_TURNS", 4)
    reading = threading.Event()
    noted = _note_checkpoints(monkeypatch, reading)
    path = tmp_path / "t.db"
    store = Store(path)
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM notes").fetchone()  # its snapshot, held until COMMIT
    reading.set()

    def tried() -> list[Noted]:
        return [n for n in noted if n.mode != "PASSIVE"]

    # Until the thread has tried six RESTARTs, however slow the machine: a guard only.
    deadline = time.monotonic() + 120
    while len(tried()) < 6 and time.monotonic() < deadline:
        with store.transaction() as conn:
            conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 400,)] * 20)
    reading.clear()
    reader.execute("COMMIT")
    reader.close()
    held = [n for n in tried() if n.reading]  # not one the reader ended while it waited
    assert len(held) >= 6
    # Each waited at most RESTART_WAIT, and gave up: no checkpoint gets past a snapshot in use.
    assert {(n.mode, n.timeout, n.row[0]) for n in held} == {("RESTART", round(checkpoints.RESTART_WAIT * 1000), 1)}
    # Turns between one and the next: one, then twice as many after each failure, up to MAX_RETRY_TURNS.
    turn, at = 0, []  # the thread's turn at each
    for n in noted:
        turn += n.mode == "PASSIVE"
        if n.mode != "PASSIVE" and n.reading:
            at.append(turn)
    assert [later - earlier for earlier, later in itertools.pairwise(at)][:5] == [1, 2, 4, 4, 4]
    assert {n.timeout for n in noted if n.mode == "PASSIVE"} == {0}  # the busy timeout back to 0 after each
    # The writer idle and the reader gone, the thread's next RESTART starts the log again.
    while tried()[-1].row[0] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tried()[-1].mode == "RESTART" and tried()[-1].row[0] == 0
    store.close()


class Readers:
    """Two connections reading in turn, each beginning its read before the other ends its own, 5 ms later: as
    long as it runs some reader is always reading, as a busy service's LRS queries and reports can be."""

    def __init__(self, path: Path) -> None:
        self._conns = [sqlite3.connect(path, isolation_level=None, check_same_thread=False) for _ in range(2)]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read)
        self.reads = 0

    def __enter__(self) -> Readers:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        self._thread.join()
        for conn in self._conns:
            conn.close()

    def _begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the read begins: its snapshot
        self.reads += 1

    def _read(self) -> None:
        held, other = self._conns
        self._begin(held)
        while not self._stopping.wait(0.005):
            self._begin(other)
            held.execute("COMMIT")
            held, other = other, held
        held.execute("COMMIT")


def _beside_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Store, list[Noted]]:
    """A store whose thread turns every 20 ms, its checkpoints noted, for ``Readers`` of 5 ms: its RESTARTs and
    TRUNCATEs may wait as long as a slow machine may take to end one (the wait's bound is tested above)."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(checkpoints, "RESTART_WAIT", 10.0)
    noted = _note_checkpoints(monkeypatch, threading.Event())
    path = tmp_path / "t.db"
    return path, Store(path), noted


def test_overlapping_readers_do_not_let_the_log_grow_without_end(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers that overlap never leave the log free: no RESTART that never waits ever succeeds, the writer's
    catch-up never completes, and the log grew by every write (60,346 frames in 24 s, measured). Past
    RESTART_FRAMES the thread's RESTART waits for the readers already reading, each for a few milliseconds: every
    one succeeds, so the log never holds more than RESTART_FRAMES and one turn's writes."""
    monkeypatch.setattr(checkpoints, "CATCH_UP_FRAMES", 100)
    monkeypatch.setattr(checkpoints, "RESTART_FRAMES", 200)
    path, store, noted = _beside_readers(tmp_path, monkeypatch)
    store.conn.execute("CREATE TABLE counter (n INTEGER)")
    store.conn.execute("INSERT INTO counter VALUES (0)")
    turns_at: list[int] = []  # for each commit, the thread's turns before it
    largest = 0

    def turns() -> int:
        return sum(n.mode == "PASSIVE" for n in noted)

    deadline = time.monotonic() + 120  # a guard only: the run is counted in the thread's turns
    with Readers(path) as readers:
        while turns() < 100 and time.monotonic() < deadline:
            with store.transaction() as conn:
                conn.execute("UPDATE counter SET n = n + 1")  # one page: one frame
            turns_at.append(turns())
            largest = max(largest, os.path.getsize(f"{path}-wal"))
            time.sleep(0.001)
    store.close()
    most = max(Counter(turns_at).values())  # the most commits between two of the thread's turns
    bound = checkpoints.RESTART_FRAMES + 2 * most
    assert readers.reads > 100
    assert len(turns_at) > 2 * bound  # a log never started again would be well past the bound
    long_log = [i for i, n in enumerate(noted) if n.mode == "PASSIVE" and n.row[1] >= checkpoints.RESTART_FRAMES]
    assert len(long_log) >= 2
    # Each time a turn found the log past RESTART_FRAMES, its RESTART started it again.
    assert all(noted[i + 1].mode == "RESTART" and noted[i + 1].row[0] == 0 for i in long_log)
    assert (largest - 32) / FRAME <= bound


def _holds(path: Path, text: bytes) -> list[str]:
    """The files of the database at ``path`` whose bytes hold ``text``."""
    return [p.name for p in (path, Path(f"{path}-wal")) if p.exists() and text in p.read_bytes()]


def _people(store: Store) -> int:
    """Fifty accounts, then Zelda's, written twice: the frames that hold her are far into the log, past the point
    a few writes after it starts again reach. Returns her id."""
    for n in range(50):
        store.create_user(name=f"Person {n}", email=f"person{n}@example.gov.uk", department="X", password_hash="h")
    gone = store.create_user(name="Zelda Secretname", email="zelda.secret@example.gov.uk", department="X",
                             password_hash="h")
    store.set_password_hash(gone.id, "h2")
    return gone.id


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
    gone = _people(store)
    assert "t.db-wal" in _holds(path, b"zelda.secret")
    if grouped:
        assert asyncio.run(grouped_action(store, lambda: store.delete_user(gone))) is None
    else:
        store.delete_user(gone)

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


def test_an_erasure_empties_the_log_file_while_readers_overlap(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With readers that never leave the log free, a TRUNCATE that never waits never succeeds, and a deleted
    email address stayed in the log file. The thread's TRUNCATE waits for the readers already reading."""
    path, store, noted = _beside_readers(tmp_path, monkeypatch)
    store.conn.execute("CREATE TABLE notes (text TEXT)")
    gone = _people(store)
    assert "t.db-wal" in _holds(path, b"zelda.secret")

    def write() -> None:
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes VALUES ('a learner goes on')")
        time.sleep(0.001)

    with Readers(path):
        for _ in range(20):
            write()
        erased_at = len(noted)
        store.delete_user(gone)
        deadline = time.monotonic() + 60  # a guard only: the thread's turns are counted, not the time
        while (_holds(path, b"zelda.secret") and time.monotonic() < deadline
               and sum(n.mode == "PASSIVE" for n in noted[erased_at:]) < 50):
            write()
        for _ in range(20):
            write()
        assert _holds(path, b"zelda.secret") == [] and _holds(path, b"Secretname") == []
    store.close()
    truncates = [n for n in noted[erased_at:] if n.mode == "TRUNCATE"]
    assert truncates[0].row[0] == 0  # the first it tried, readers or not


def test_an_erasure_by_another_process_empties_the_service_s_log_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``masterclass users delete`` runs in a process of its own, whose store the service's thread knows nothing
    of. The command tries to empty the log file as it closes, but a reader may be in its way (here, one held
    until the command is done); the service's thread sees the record of erasures beside the database change,
    and empties it then."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.chdir(tmp_path)  # no settings file: the default base_url
    path = tmp_path / "t.db"
    service = Store(path)
    service.conn.execute("CREATE TABLE notes (text TEXT)")
    _people(service)
    assert checkpoints.erasures_record(service.path) == str(record_of(service))
    # A reader of a snapshot the thread cannot have copied all of: the first, on whatever snapshot, keeps the
    # checkpoints from copying the write after it, which the second reads. Neither lets a TRUNCATE through.
    readers = [sqlite3.connect(path, isolation_level=None) for _ in range(2)]
    readers[0].execute("BEGIN")
    readers[0].execute("SELECT COUNT(*) FROM notes").fetchone()
    with service.transaction() as conn:
        conn.execute("INSERT INTO notes VALUES ('after the first reader')")
    readers[1].execute("BEGIN")
    readers[1].execute("SELECT COUNT(*) FROM notes").fetchone()
    done = CliRunner().invoke(cli, ["users", "delete", "zelda.secret@example.gov.uk", "--db", str(path), "--yes"])
    assert done.exit_code == 0, done.output
    assert "t.db-wal" in _holds(path, b"zelda.secret")
    for reader in readers:
        reader.execute("COMMIT")
        reader.close()

    deadline = time.monotonic() + 60  # a guard only: the files are looked at, not the time
    n = 0
    while _holds(path, b"zelda.secret") and time.monotonic() < deadline and n < 200:
        with service.transaction() as conn:  # the service goes on, its log started again by these writes
            conn.execute("INSERT INTO notes VALUES ('a learner goes on')")
        time.sleep(0.01)
        n += 1
    assert _holds(path, b"zelda.secret") == [] and _holds(path, b"Secretname") == []
    service.close()


def test_a_command_that_erased_empties_the_log_file_as_it_closes(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's store closes before its thread's first turn. While another connection has the database open
    (the service), closing the command's connection leaves the log file as it is, so the store empties it first."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", 60.0)  # the thread never has a turn
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "t.db"
    other = sqlite3.connect(path, isolation_level=None)  # open, as the service's connections are
    setup = Store(path)
    _people(setup)
    other.execute("SELECT COUNT(*) FROM users").fetchone()
    setup.close()
    assert "t.db-wal" in _holds(path, b"zelda.secret")
    done = CliRunner().invoke(cli, ["users", "delete", "zelda.secret@example.gov.uk", "--db", str(path), "--yes"])
    assert done.exit_code == 0, done.output
    assert os.path.exists(f"{path}-wal")  # the other connection kept it
    assert _holds(path, b"zelda.secret") == [] and _holds(path, b"Secretname") == []
    other.close()


def test_a_store_opened_where_anyone_was_erased_empties_the_log_once(tmp_path: Path) -> None:
    """A process that ended before emptying the log after an erasure (a crash, a kill) left the person's old pages
    in it: the next store to open the database empties it."""
    path = tmp_path / "t.db"
    left = sqlite3.connect(path)
    left.execute("PRAGMA journal_mode=WAL")
    left.execute("PRAGMA wal_autocheckpoint=0")
    left.execute("CREATE TABLE gone (email TEXT)")
    left.execute("INSERT INTO gone VALUES ('zelda.secret@example.gov.uk')")
    left.commit()
    left.execute("DELETE FROM gone")
    left.commit()
    assert _holds(path, b"zelda.secret")  # the log still has the page as it was before
    Path(str(path) + ".erasures").write_text('{"public_id":"x","at":"2026-11-28T00:00:00.000Z"}\n')
    store = Store(path)  # while the other connection is still open: its log is not removed as it closes
    deadline = time.monotonic() + 10
    while _holds(path, b"zelda.secret") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _holds(path, b"zelda.secret")
    store.close()
    left.close()
