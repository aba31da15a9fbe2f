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
"""Log frames after which the thread forces the log to start again with a RESTART checkpoint, should the
writer's catch-up not have managed it (another connection reading an old snapshot, say). A RESTART holds writers
back longer than the catch-up (300 to 370 ms here), as the writer's busy handler sleeps past its end."""


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

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)


def _checkpoints(path: str, owner: Callable[[], object | None], stop: threading.Event,
                 checkpointer: Checkpointer) -> None:
    """Copy the write-ahead log into the database now and then, until stopped or the owner is gone.

    PASSIVE copies what no reader still needs without blocking anyone, and the thread syncs the database file
    after it; that is nearly all the work. Once the log is long, the store's writer is asked to copy the rest
    itself (``Checkpointer.catch_up``); should the log grow on regardless, a RESTART starts it again, holding
    writers back while it does.
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=1)
    except sqlite3.Error:
        return
    try:
        database = os.open(path, os.O_RDONLY)
    except OSError:
        conn.close()
        return
    synced = 0
    try:
        while not stop.wait(CHECKPOINT_SECONDS) and owner() is not None:
            try:
                _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if copied not in (0, synced):
                    # SQLite syncs the database file only when a checkpoint copies the whole log. Until then the
                    # pages copied pile up unwritten in the OS's cache (about 100 MB by the time the log reaches
                    # CATCH_UP_FRAMES), and the writer's catch-up sync had to write them all out, on the event
                    # loop: 164 ms measured. Synced here, off the loop, that sync finds only the last few pages.
                    _sync_data(database)
                    synced = copied
                if frames >= RESTART_FRAMES:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)")
                elif frames >= CATCH_UP_FRAMES:
                    checkpointer.catch_up_wanted = True
            except (sqlite3.Error, OSError):  # busy, or the file is going away: try again next time
                pass
    finally:
        os.close(database)
        conn.close()
