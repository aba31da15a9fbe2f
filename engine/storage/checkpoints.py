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
RESTART_FRAMES = 262_144
"""Log frames (pages: 1 GiB at most) after which the log is started again from its beginning. A RESTART checkpoint
holds writers back while it copies the frames written since the last PASSIVE one and syncs the log and the
database file: 150 to 270 ms on this machine's shared disk, whatever the threshold, and the event loop's next
write waits that long. The rarer the restarts, the fewer requests wait: at SQLite's default of 1,000 frames that
was every half second under load; at 32,768 every 4 s with one client answering questions (p99 157 ms) and
every 8 s under the benchmark's mixed load; at this threshold about once a minute under that load. Reads do not
get slower as the log grows, because the PASSIVE checkpoints keep it copied: a reader searches only the frames
not yet copied. A quiet service's log stays short: between requests a PASSIVE checkpoint copies all of it, and
the next write starts it again."""


class Checkpointer:
    """A daemon thread checkpointing ``path`` until ``stop`` or until ``owner()`` (a weak reference) is gone."""

    def __init__(self, path: str, owner: Callable[[], object | None]) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=_checkpoints, args=(path, owner, self._stopping),
                                        name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)


def _checkpoints(path: str, owner: Callable[[], object | None], stop: threading.Event) -> None:
    """Copy the write-ahead log into the database now and then, until stopped or the owner is gone.

    PASSIVE copies what no reader still needs and syncs the file without blocking anyone; it is nearly all the
    work. But with writes arriving all the time the log would never be found fully copied, so it would grow
    without end: once it is long, RESTART copies the few frames written meanwhile, holding writers back for
    that moment only, so the next write starts the log again.
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
            except sqlite3.Error:  # busy, or the file is going away: try again next time
                pass
    finally:
        conn.close()
