"""The store's checkpoint thread: it copies the write-ahead log into the database file, off the event loop.

A checkpoint copies the log into the database file and syncs it: tens of milliseconds, sometimes seconds on a busy
disk. SQLite runs one after the commit that fills the log, which in the server is on the event loop, stalling every
request; so the store turns that off and a thread of its own does them, on its own connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
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
"""Log frames after which the thread tries to start the log again with a RESTART checkpoint, should the writer's
catch-up not have managed it. A RESTART holds writers back longer than the catch-up (300 to 370 ms here), as the
writer's busy handler sleeps past its end. It is tried only when the thread's PASSIVE checkpoint copied the whole
log, and it never waits (decision 0013, amended): see ``_checkpoints``."""


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
        self.erasures = 0
        """Commits that erased someone (``erased``): the thread empties the log file after each (``_checkpoints``)."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=_checkpoints, args=(path, owner, self._stopping, self),
                                        name="sqlite-checkpoints", daemon=True)
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
        succeeds (``_checkpoints``)."""
        self.erasures += 1

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)


def _checkpoints(path: str, owner: Callable[[], object | None], stop: threading.Event,
                 checkpointer: Checkpointer) -> None:
    """Copy the write-ahead log into the database now and then, until stopped or the owner is gone.

    PASSIVE copies what no reader still needs without blocking anyone, and the thread syncs the database file
    after it; that is nearly all the work. Once the log is long, the store's writer is asked to copy the rest
    itself (``Checkpointer.catch_up``); should the log grow on regardless, a RESTART starts it again, holding
    writers back while it does. After an erasure, a TRUNCATE empties the log file (``Checkpointer.erased``).

    RESTART and TRUNCATE take the write lock, then wait for readers of the log to finish, and every writer waits
    behind them: with a busy timeout, a reader holding one snapshot for minutes (``masterclass backup``, a long
    report) held the service's writes back for the whole timeout at every try, twice a second. So this
    connection has no busy timeout: either checkpoint gives up at once when the writer or a reader is in its way,
    and is tried again at the next turn. Neither is tried while the PASSIVE checkpoint could not copy the whole
    log, since a reader of an older snapshot is then in the way, and taking the write lock would only make the
    writer wait for nothing.
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
    # checkpointer.erasures as read before the last TRUNCATE that succeeded: every erasure counted by then had
    # committed before it, so is out of the log file. One counted while it ran asks for another.
    truncated = 0
    try:
        while not stop.wait(CHECKPOINT_SECONDS) and owner() is not None:
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
                erasures = checkpointer.erasures
                if erasures != truncated and whole:
                    if _restart(conn, "TRUNCATE"):
                        truncated, synced = erasures, 0
                        continue
                elif frames >= RESTART_FRAMES and whole and _restart(conn, "RESTART"):
                    synced = 0
                    continue
                if frames >= CATCH_UP_FRAMES:
                    # Also past RESTART_FRAMES: a RESTART that finds the writer in a transaction gives up.
                    checkpointer.catch_up_wanted = True
            except (sqlite3.Error, OSError):  # the file is going away, say: try again next time
                pass
    finally:
        os.close(database)
        conn.close()


def _connect(path: str) -> sqlite3.Connection:
    # timeout=0: no busy handler, so a RESTART or TRUNCATE never holds the write lock while it waits (above).
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)


def _restart(conn: sqlite3.Connection, mode: str) -> bool:
    """A RESTART or TRUNCATE checkpoint; True when it started the log again (TRUNCATE: emptied the file)."""
    busy, _frames, _copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return not busy
