"""Reading ahead, several at a time, the statements a query is about to read (decision 0014).

In a large store the statements a filtered query returns lie scattered over the file: a learner's 500 are 500
pages far apart. When those pages are not in the operating system's page cache, SQLite reads each with one
synchronous ``pread``, one after another (a connection has one read in flight), and a virtual or solid-state
disk that answers a read in about 0.4 ms answers 16 or 32 at once in barely more. So while the request's own
connection runs its query, :class:`ReadAhead` has a few helper threads, each with a read-only connection of
its own, read the same rows: Python's sqlite3 lets go of the interpreter lock while SQLite steps, so their
reads are in flight together, and the request's connection then finds the pages in the page cache.

The helpers only bring pages into the page cache. What a query returns is decided by the request's
connection alone, on its snapshot, exactly as without them: a helper that reads a newer state, fails, is
interrupted or never runs changes how long the query takes, never what it returns.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

READ_AHEAD_THREADS = 16
"""Helper threads (and at most as many connections). The disk of the benchmark machine served 500 scattered
reads in about 25 ms from 16 threads and about as fast from 32; one thread took about 200 ms."""

HELPER_CACHE_KIB = 2 * 1024
"""Each helper connection's own page cache. A helper reads only the rows of its own spans (SPAN), so its cache
needs the interior pages of its share of the statements table (1/16 of about 1,260 for 1,000,000 statements) and
the leaves it reads meanwhile; it keeps them, so a helper reads one page per statement from the disk, not two.
A helper's read fills the operating system's page cache, which every connection shares; a page a helper happens to
hold already is not read again through it, and then the request's connection reads that page itself."""

SPAN = 1024
"""Statements (by ``seq``) per span: span ``seq // SPAN`` is read by helper ``span % threads``. One interior page
of the statements table holds about 400 leaves (800 to 4,000 statements, by their size), so each interior page is
walked by one or two helpers instead of all of them (decision 0020), and a query's rows still spread over every
helper unless they were stored within a few thousand statements of one another."""


def stripes(seqs: Sequence[int], threads: int) -> list[tuple[int, list[int]]]:
    """The helpers' shares of these ``seq`` numbers: (helper, its ``seq`` numbers in the given order), each
    number once. Each helper gets the rows of its own spans (SPAN): its connection then walks only its share of
    the table's interior pages, which stay in its cache while the file's pages may not be in memory. A helper
    with more than twice its share (rows stored close together) has the rest split off, for helpers whose
    connections are idle to read."""
    groups: dict[int, list[int]] = {}
    for seq in seqs:
        groups.setdefault(seq // SPAN % threads, []).append(seq)
    most = max(1, math.ceil(2 * len(seqs) / threads))
    out: list[tuple[int, list[int]]] = []
    for home, group in groups.items():
        parts = math.ceil(len(group) / most)
        out += [(home, group[n::parts]) for n in range(parts)]
    return out


class ReadAhead:
    """Helper threads that read statements by ``seq`` while a query reads them too.

    A query opens a :meth:`session` and asks it to read what it is about to read once a :class:`Probe` finds
    its rows coming from the disk; :meth:`close` when the store closes. Thread-safe.
    """

    def __init__(self, path: str, *, threads: int = READ_AHEAD_THREADS, slow_rows: float | None = None) -> None:
        self.path = path
        self.threads = max(1, threads)
        self.slow_rows = PROBE_SECONDS if slow_rows is None else slow_rows
        """Seconds for PROBE_ROWS rows above which a query asks for read-ahead (0: always; for tests)."""
        self.keys_read = 0
        """Keys the helpers have read to the end (for tests and diagnosis)."""
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="lrs-read-ahead")
        self._idle: list[list[sqlite3.Connection]] = [[] for _ in range(self.threads)]
        """Idle connections by the helper (span group) whose rows they read, and so whose pages they cache."""
        self._home: dict[sqlite3.Connection, int] = {}
        self._lock = threading.Lock()
        self._opened = 0
        """Connections open now (idle or in a helper's hands)."""
        self._closed = False
        self._pending: set[Future[None]] = set()
        """Helpers submitted and not yet finished (see :meth:`wait`)."""

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._opened

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Read-ahead for one query: what it asks for (:meth:`Session.read`) is read on the helper threads while
        the block runs; when the block ends, what is still running or waiting is stopped."""
        batch = Session(self)
        try:
            yield batch
        finally:
            batch.cancel()

    def _submit(self, session: Session, seqs: Sequence[int], descending: bool) -> list[Future[None]]:
        if self._closed or not seqs:
            return []
        submitted: list[Future[None]] = []
        try:
            for home, stripe in stripes(seqs, self.threads):
                future = self._executor.submit(self._read, session, home, stripe, descending)
                with self._lock:
                    self._pending.add(future)
                future.add_done_callback(self._done)
                submitted.append(future)
        except RuntimeError:  # closed meanwhile: the query goes on without help
            pass
        return submitted

    def wait(self, timeout: float | None = None) -> None:
        """Block until every helper submitted so far has finished or was cancelled (for tests)."""
        with self._lock:
            pending = list(self._pending)
        futures.wait(pending, timeout=timeout)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def close(self) -> None:
        """Stop the helpers (waiting for any still reading) and close their connections."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            idle = [conn for group in self._idle for conn in group]
            for group in self._idle:
                group.clear()
            self._opened -= len(idle)
            self._home.clear()
        for conn in idle:
            conn.close()

    # --- helpers --------------------------------------------------------------------------------

    def _read(self, batch: Session, home: int, seqs: Sequence[int], descending: bool) -> None:
        conn = self._take(home)
        try:
            if not batch.start(conn):
                return
            try:
                # fetchall: the statement runs to its end and is reset, so no read transaction stays open.
                sql = _BY_SEQ_DESC if descending else _BY_SEQ
                conn.execute(sql.format(marks=", ".join("?" * len(seqs))), list(seqs)).fetchall()
                with self._lock:
                    self.keys_read += len(seqs)
            except sqlite3.Error:
                pass  # interrupted (the query is done), busy or failing: this read was only ever a hint
            finally:
                batch.stop(conn)
        finally:
            self._give(conn)

    def _take(self, home: int) -> sqlite3.Connection:
        """The connection of this helper's spans (the first time, a new one, unless as many as there are threads
        are open). While it is busy (another query's rows, or more of this one's), an idle connection of another
        helper's (its cache does not hold these spans' pages: a few more to read), or else a new one, closed once
        back if this helper has one idle."""
        with self._lock:
            own = self._idle[home]
            if own:
                return own.pop()
            if home in self._home.values() or self._opened >= self.threads:
                for group in self._idle:
                    if group:
                        return group.pop()
        # A short busy timeout: a hint is not worth waiting for (SQLite's busy wait does not see an interrupt).
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0.1)
        conn.execute("PRAGMA query_only=ON")
        conn.execute(f"PRAGMA cache_size=-{HELPER_CACHE_KIB}")
        with self._lock:
            self._opened += 1
            self._home[conn] = home
        return conn

    def _give(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            home = self._home[conn]
            closing = self._closed or bool(self._idle[home])
            if closing:
                self._opened -= 1
                del self._home[conn]
            else:
                self._idle[home].append(conn)
        if closing:
            conn.close()


# Reading ``length(body)`` reads the whole row, overflow pages included (SQLite counts a text's characters). The
# ordered subquery runs as a co-routine in its order, and the sum keeps its rows inside SQLite: a helper takes the
# interpreter lock once per stripe, not once per row, so it hardly competes with the query's own thread for it.
_BY_SEQ = "SELECT sum(length(body)) FROM (SELECT body FROM statements WHERE seq IN ({marks}) ORDER BY seq)"
_BY_SEQ_DESC = "SELECT sum(length(body)) FROM (SELECT body FROM statements WHERE seq IN ({marks}) ORDER BY seq DESC)"


class Session:
    """The read-ahead of one query (see :meth:`ReadAhead.session`). Once the query is done, helpers not yet
    started skip their reads and those reading are interrupted (``sqlite3_interrupt`` is safe from another
    thread)."""

    def __init__(self, owner: ReadAhead) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._cancelled = False
        self._running: set[sqlite3.Connection] = set()
        self._futures: list[Future[None]] = []
        self.slow_rows = owner.slow_rows
        self.requested = 0
        """Keys asked for so far (for tests and diagnosis)."""

    def read(self, *, seqs: Sequence[int], descending: bool = False) -> None:
        """Have the helpers read the statements with these ``seq`` numbers (whole rows), now, while the query goes
        on; each helper reads its ``seq`` numbers in the query's order (``descending`` or not), so the query finds
        its next rows read first."""
        self.requested += len(seqs)
        futures = self._owner._submit(self, seqs, descending)
        with self._lock:
            self._futures += futures

    def start(self, conn: sqlite3.Connection) -> bool:
        with self._lock:
            if self._cancelled:
                return False
            self._running.add(conn)
            return True

    def stop(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._running.discard(conn)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            for conn in self._running:
                # A statement that has not started yet clears this flag when it does (SQLite resets it when no
                # statement runs): it then reads its stripe to the end, a bounded waste.
                conn.interrupt()
            futures, self._futures = self._futures, []
        for future in futures:
            future.cancel()


PROBE_ROWS = 8
PROBE_SECONDS = 0.001
"""A query asks for read-ahead once PROBE_ROWS rows in a row took longer than this: about 125 µs a row, where a row
from SQLite's or the system's cache takes a few µs and one from the disk takes one or two reads of 80 µs (a fast
NVMe disk) to 0.4 ms (this machine's). Queries whose pages are cached never start a helper."""


class Probe:
    """Times a query's rows and says, once, when they come from the disk (see PROBE_SECONDS)."""

    def __init__(self, session: Session | None) -> None:
        self._limit = session.slow_rows if session is not None else 0.0
        self._mark = time.perf_counter()
        self._fired = session is None

    def slow(self, rows: int) -> bool:
        """Call after each row with the number read so far: True the first time a run of PROBE_ROWS was slow."""
        if self._fired or rows % PROBE_ROWS:
            return False
        now = time.perf_counter()
        slow, self._mark = now - self._mark >= self._limit, now
        self._fired = slow
        return slow


# --- what a query will read ------------------------------------------------------------------------

def driven_seqs(conn: sqlite3.Connection, table: str, condition: str, params: Sequence[object], *,
                ascending: bool, after: int | None, count: int) -> list[int]:
    """The first ``count`` ``seq`` numbers past ``after`` of the index table that drives a query (``d``), in
    the query's order: the statements it reads first. The index table's pages are dense (a learner's entries
    sit together), so this costs a page or two where the statements cost one read each."""
    bound = f" AND d.seq {'>' if ascending else '<'} ?" if after is not None else ""
    return [seq for (seq,) in conn.execute(
        f"SELECT d.seq FROM {table} d WHERE {condition}{bound}"  # noqa: S608
        f" ORDER BY d.seq {'ASC' if ascending else 'DESC'} LIMIT ?",
        [*params, *([after] if after is not None else []), count])]

