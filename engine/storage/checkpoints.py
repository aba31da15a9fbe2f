"""The store's checkpoint thread: it copies the write-ahead log into the database file, off the event loop.

A checkpoint copies the log into the database file and syncs it: tens of milliseconds, sometimes seconds on a busy
disk. SQLite runs one after the commit that fills the log, which in the server is on the event loop, stalling every
request; so the store turns that off and a thread of its own does them, on its own connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable

CHECKPOINT_SECONDS = 0.5
CATCH_UP_FRAMES = 32_768
"""Log frames (pages: 128 MB) after which the store's writer copies the last frames itself, between two of its
transactions (``Checkpointer.catch_up``), so that its next write starts the log again from its beginning. The
writer waits while it does: 4 to 11 ms under the benchmark's mixed load, now that the thread syncs the pages it
copies as it goes (126 to 228 ms before, when the catch-up's sync wrote them all). A threshold of 262,144
frames made that rarer but the log file eight times larger, and a file that grows instead of being written over
cost the server more kernel time: under the benchmark's mixed load its p99 was worse, not better (351 against
896 ms in back-to-back runs). A long log does not make reads slower, because the thread's checkpoints keep it
copied and a reader searches only the frames not yet copied; and a quiet service's log stays short, because
between requests the thread copies all of it and the next write starts it again."""
_sync_data = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
RESTART_FRAMES = 4 * CATCH_UP_FRAMES
"""Log frames after which the thread starts the log again with a RESTART checkpoint, should the writer's catch-up
not have managed it (readers of older snapshots in its way, say). A RESTART holds writers back while it copies the
last frames and syncs, and while it waits for readers (at most ``RESTART_WAIT``): see ``_checkpoints``."""
RESTART_WAIT = 0.1
"""Seconds a RESTART or TRUNCATE checkpoint may wait for readers of the log to finish. It holds the write lock all
the while, so this bounds how long it holds the store's writer (the event loop) back, besides its copy and syncs.
Readers that each hold a snapshot for a few milliseconds, overlapping, are done well within it; a reader holding
one for longer (a backup, a long report) is not, and the checkpoint gives up (decision 0013, amended)."""
RETRY_TURNS = 1
"""Turns after a checkpoint that waited and failed before the next may wait; doubled after each failure, up to
``MAX_RETRY_TURNS``, and back to this after a success. A reader holding one snapshot for minutes then costs the
writer a wait of ``RESTART_WAIT`` every 8 seconds, not one every turn."""
MAX_RETRY_TURNS = 16


class Checkpointer:
    """A daemon thread checkpointing ``path`` until ``stop`` or until ``owner()`` (a weak reference) is gone.

    With writes arriving all the time, the thread's PASSIVE checkpoints never find the log fully copied, and a
    log starts again only when it is. SQLite's answer, a RESTART checkpoint, holds every writer back while it
    copies and syncs, and the writer's busy handler sleeps past its end: 300 to 370 ms on this machine, a stall
    of the event loop each time. Instead, once the log is long, the thread asks the store's writer to copy the
    last frames itself, between two of its transactions (``catch_up``): with the writer idle for that moment,
    the copy is complete, so the writer's next transaction starts the log again. The writer waits only for the
    frames written since the thread's last checkpoint, and the syncs.
    """

    def __init__(self, path: str, owner: Callable[[], object | None]) -> None:
        self.catch_up_wanted = False
        record = erasures_record(path)
        # One TRUNCATE at start when anyone was ever erased: a process that ended before emptying the log after an
        # erasure (a crash, a kill) left the person's old pages in it.
        self.erasures = 1 if os.path.exists(record) else 0
        """Commits that erased someone (``erased``): the thread empties the log file after each (``_checkpoints``)."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=_checkpoints, name="sqlite-checkpoints", daemon=True,
                                        args=(path, owner, self._stopping, self, record, _stat(record)))
        self._thread.start()

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """Called by the store right after a commit, with its lock held: copy the rest of a long log on the
        writer's own connection, so the next write starts it again."""
        if not self.catch_up_wanted:
            return
        self.catch_up_wanted = False
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:  # busy, say: the thread asks again at its next checkpoint
            pass

    def erased(self) -> None:
        """Called by the store after a commit that erased personal data (``Store.delete_user``).

        Deleted rows are overwritten in the database file (``secure_delete``), but the log keeps the pages as
        they were before, in the frames that wrote them: a log that starts again is written over from its
        beginning, and is never made shorter, so frames past the point new writes reach stay in the file for as
        long as the service runs. The thread empties the file with a TRUNCATE checkpoint, retried until one
        succeeds, and tried a few times more when the store closes first (``_checkpoints``). An erasure by
        another process (``masterclass users delete``) is learnt of from the record of erasures beside the
        database (``engine.erasures``)."""
        self.erasures += 1

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)


Seen = tuple[int, int, int] | None
"""The record of erasures as a turn found it (inode, size, modification time), or None when it is not there."""


def erasures_record(path: str) -> str:
    """The record of erasures beside the database at ``path`` (``engine.erasures``). Every erasure, by this
    process or another, appends to it just before it deletes. A TRUNCATE that the change prompts before the
    deletion commits still takes the person's old pages out of the log (the deletion's own frames hold their
    rows overwritten: ``secure_delete``), and the erasing store empties the log again after its commit
    (``erased``) and as it closes."""
    return path + ".erasures"


def _stat(record: str) -> Seen:
    try:
        found = os.stat(record)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


def _checkpoints(path: str, owner: Callable[[], object | None], stop: threading.Event,
                 checkpointer: Checkpointer, record: str, seen: Seen) -> None:
    """Copy the write-ahead log into the database now and then, until stopped or the owner is gone.

    PASSIVE copies what no reader still needs without blocking anyone, and the thread syncs the database file
    after it; that is nearly all the work. Once the log is long, the store's writer is asked to copy the rest
    itself (``Checkpointer.catch_up``); should the log grow on regardless, a RESTART starts it again, holding
    writers back while it does. After an erasure, a TRUNCATE empties the log file (``Checkpointer.erased``): one
    of this store's, or one another process recorded beside the database since the last turn (``record``, whose
    state is ``seen``).

    RESTART and TRUNCATE take the write lock, copy the rest of the log, then wait for every reader of the log to
    finish, and every writer waits behind them. Readers that overlap, each for a few milliseconds (the LRS's
    queries, reports), are never all gone at once unless writes stop, so a checkpoint that never waits for them
    never succeeds, and the log grew without end; one that waits as long as a reader may take (a backup holds one
    snapshot for minutes) held every write back that long. So the connection has no busy timeout, and each of
    these checkpoints waits at most ``RESTART_WAIT`` (the write lock held, new readers read the copied database
    file and are not waited for, so only the readers already there are). After one that waited and failed, the
    next may wait ``RETRY_TURNS`` turns later, then twice as many after each failure, up to ``MAX_RETRY_TURNS``;
    meanwhile one is still tried without waiting whenever the PASSIVE checkpoint copied the whole log, since it
    then has nobody to wait for unless a reader has just begun (decision 0013, amended).
    """
    try:
        conn = _connect(path)
    except sqlite3.Error:
        return
    try:
        database = os.open(path, os.O_RDONLY)
    except OSError:
        conn.close()
        return
    synced = 0
    # Erasures counted as read before the last TRUNCATE that succeeded: every one counted by then had committed
    # before it, so is out of the log file. One counted while it ran asks for another. ``outside``: erasures by
    # other processes, known from their record (appended to just before they delete: see ``erasures_record``)
    # having changed since a turn.
    truncated = outside = 0
    turn = wait_from = 0
    retry = RETRY_TURNS
    try:
        while not stop.wait(CHECKPOINT_SECONDS) and owner() is not None:
            turn += 1
            try:
                busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if copied not in (0, synced):
                    # SQLite syncs the database file only when a checkpoint copies the whole log. Until then the
                    # pages copied pile up unwritten in the OS's cache (about 100 MB by the time the log reaches
                    # CATCH_UP_FRAMES), and the writer's catch-up sync had to write them all out, on the event
                    # loop: 164 ms measured. Synced here, off the loop, that sync finds only the last few pages.
                    _sync_data(database)
                    synced = copied
                whole = not busy and copied == frames  # no reader of an older snapshot in the way
                now_seen = _stat(record)
                if now_seen != seen:
                    seen, outside = now_seen, outside + 1
                erasures = checkpointer.erasures + outside
                mode = ("TRUNCATE" if erasures != truncated else
                        "RESTART" if frames >= RESTART_FRAMES else None)
                may_wait = turn >= wait_from
                if mode is not None and (may_wait or whole):
                    if _restart(conn, mode, RESTART_WAIT if may_wait else 0):
                        if mode == "TRUNCATE":
                            truncated = erasures
                        synced, wait_from, retry = 0, 0, RETRY_TURNS
                        continue
                    if may_wait:
                        wait_from, retry = turn + retry, min(2 * retry, MAX_RETRY_TURNS)
                if frames >= CATCH_UP_FRAMES:
                    # Also past RESTART_FRAMES: a RESTART that gives up does not start the log again.
                    checkpointer.catch_up_wanted = True
            except (sqlite3.Error, OSError):  # the file is going away, say: try again next time
                pass
        if checkpointer.erasures + outside != truncated:
            _truncate_before_close(conn)
    finally:
        os.close(database)
        conn.close()


CLOSING_TRIES = 5
"""TRUNCATEs tried, 20 ms apart, when the store closes with an erasure still in the log file."""


def _truncate_before_close(conn: sqlite3.Connection) -> None:
    """The store closes with an erasure not yet out of the log file (a command such as ``masterclass users
    delete`` closes its store before the thread's first turn): a few quick TRUNCATEs that never wait. Should
    they all fail, a service running on the same database empties the file, having seen the record of erasures
    change. Without another connection, closing the store's own empties it anyway."""
    for n in range(CLOSING_TRIES):
        if n:
            time.sleep(0.02)
        try:
            if _restart(conn, "TRUNCATE", 0):
                return
        except sqlite3.Error:
            pass


def _connect(path: str) -> sqlite3.Connection:
    # timeout=0: no busy handler, but for the moment of a RESTART or TRUNCATE that may wait (``_restart``).
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)


def _restart(conn: sqlite3.Connection, mode: str, wait: float) -> bool:
    """A RESTART or TRUNCATE checkpoint waiting up to ``wait`` seconds for the writer and readers in its way;
    True when it started the log again (TRUNCATE: emptied the file)."""
    conn.execute(f"PRAGMA busy_timeout={round(wait * 1000)}")
    try:
        busy, _frames, _copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    finally:
        conn.execute("PRAGMA busy_timeout=0")
    return not busy
