"""The store's checkpoint thread: it copies the write-ahead log into the database file, off the event loop.

A checkpoint copies the log into the database file and syncs it: tens of milliseconds, sometimes seconds on a busy
disk. SQLite runs one after the commit that fills the log, which in the server is on the event loop, stalling every
request; so the store turns that off and a thread of its own does them, on its own connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

CHECKPOINT_SECONDS = 0.5
CATCH_UP_FRAMES = 32_768
"""Log frames (pages: 128 MB) after which the store's writer copies the last frames itself, between two of its
transactions (``Checkpointer.catch_up``), so that its next write starts the log again from its beginning. The
writer waits while it does: the copy is small, but syncing the log and the database file took 130 to 170 ms on
this machine's shared disk, every 3 to 4 s with one client answering questions flat out. A threshold of 262,144
frames made that rarer but the log file eight times larger, and a file that grows instead of being written over
cost the server more kernel time: under the benchmark's mixed load its p99 was worse, not better (351 against
896 ms in back-to-back runs). A long log does not make reads slower, because the thread's checkpoints keep it
copied and a reader searches only the frames not yet copied; and a quiet service's log stays short, because
between requests the thread copies all of it and the next write starts it again."""
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

    PASSIVE copies what no reader still needs and syncs the file without blocking anyone; it is nearly all the
    work. Once the log is long, the store's writer is asked to copy the rest itself (``Checkpointer.catch_up``);
    should the log grow on regardless, a RESTART starts it again, holding writers back while it does.
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=1)
    except sqlite3.Error:
        return
    try:
        while not stop.wait(CHECKPOINT_SECONDS) and owner() is not None:
            try:
                _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames >= RESTART_FRAMES:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)")
                elif frames >= CATCH_UP_FRAMES:
                    checkpointer.catch_up_wanted = True
            except sqlite3.Error:  # busy, or the file is going away: try again next time
                pass
    finally:
        conn.close()
