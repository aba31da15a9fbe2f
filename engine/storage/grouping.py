"""Group commit for the runtime (decision 0010): the actions of the web requests handled in one turn of the event
loop share one transaction, each in a savepoint of its own, committed at the start of the next turn; a request
that wrote is answered only after that commit.

This module also marks the span of a web request (``one_request``), which the store uses to ask SQLite once per
request whether another connection has committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

_request: ContextVar[dict[Any, Any] | None] = ContextVar("masterclass_request", default=None)
_in_flight = 0
"""Web requests under way on the event loop (``one_request``): a group waits for others only when there are any."""
"""Within a web request: each store's data_version as first asked (by id(store)), and "group", the group of
actions holding the request's writes, if it wrote."""


def one_request() -> _OneRequest:
    """Around a web request (the Guard middleware), as ``with one_request():``. Within it, writes on the event
    loop join groups, and a store asks SQLite whether another connection has committed once, not at every read
    (``PRAGMA data_version`` costs about 10 µs, and a lesson page read kept things three times).

    A commit by another process during the request is then noticed by the next request, as if this one had run
    a moment earlier. The store's own writes never change what it keeps from under it (``Store._amend``).
    """
    return _OneRequest()


class _OneRequest:
    """``one_request()``: a class rather than a generator, as every request enters one."""

    __slots__ = ("token",)

    def __enter__(self) -> None:
        global _in_flight
        self.token = _request.set({})
        _in_flight += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        global _in_flight
        _in_flight -= 1
        _request.reset(self.token)


def request_state() -> dict[Any, Any] | None:
    """What is noted for the web request running now, or None outside one."""
    return _request.get()


COMMIT_INTERVAL = 0.004
"""While other requests are under way, seconds from one group's commit to the next group's, at the least. Busy,
the loop turns every millisecond or so, and groups of one or two requests each committed about 500 times a second
at the benchmark's mixed load, each commit writing its pages (the tail of the statements table, the indexes' hot
pages) to the log again; held open this long, a group takes in the actions of several turns, and the server spent
5% less CPU at that load. A request on its own commits at the next turn, as ever: nobody else could join it."""


@dataclass
class Group:
    """Actions of several requests in one transaction, committed together."""

    done: asyncio.Future[BaseException | None]
    """Set at the commit: None, or the error that undid the whole group."""
    later: list[Any] = field(default_factory=list)
    """What the group's actions left to be written just before its commit (``GroupCommit.write_later``), in the
    order they left it: the store's xAPI statements."""


class GroupCommit:
    """The groups of one store's connection. The store calls it with its lock held (``Store.transaction``)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, forget: Callable[[], None],
                 after_commit: Callable[[], None], before_commit: Callable[[list[Any]], None]) -> None:
        self.conn = conn
        self.lock = lock
        self.forget = forget
        """Drops whatever the store keeps in memory: called when writes it may reflect are undone."""
        self.after_commit = after_commit
        """Called after each commit, with the lock still held (the store's, as after its own commits)."""
        self.before_commit = before_commit
        """Writes what the group's actions left for later (``Group.later``), in the group's transaction, just
        before its commit."""
        self.open: Group | None = None
        """The event loop's open group, if any. While there is one, the loop's thread holds the lock."""
        self._committed_at = float("-inf")
        """When the last group committed, by the loop's clock."""
        self._depth = 0
        self._task: asyncio.Task[Any] | None = None
        self._alone = False
        """Whether the open action is one statement, without a savepoint."""
        self._later_mark = 0
        """How much of the open group's ``later`` there was when the open action began: a failed action's part
        goes with it."""

    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The running event loop, when this is a web request on it: its writes may join a group."""
        if _request.get() is None:
            return None
        try:
            return asyncio.get_running_loop()
        except RuntimeError:  # a worker thread of the request (run_in_threadpool copies the context)
            return None

    def start(self, loop: asyncio.AbstractEventLoop) -> Group:
        self.conn.execute("BEGIN IMMEDIATE")
        group = Group(loop.create_future())
        # The lock stays held past the caller's block, until the group commits: another thread's transaction
        # waits for it, as it would for any transaction of this connection.
        self.lock.acquire()
        self.open = group
        wait = self._committed_at + COMMIT_INTERVAL - loop.time()
        if wait > 0 and _in_flight > 1:
            loop.call_later(wait, self.end, loop)
        else:
            loop.call_soon(self.end, loop)
        return group

    def enter(self, *, alone: bool = False) -> None:
        """Begin an action in the open group: a savepoint, undone alone if the action fails (``leave``). An
        action that is one statement (``alone``) needs none: SQLite undoes a failed statement by itself.

        A pair of calls rather than a context manager: the store's ``transaction`` is itself a small class, and a
        lesson view opens two transactions and an answer more (a generator-based pair cost about 10 µs)."""
        task = asyncio.current_task()
        if self._depth:
            # A transaction() inside an action: part of the same savepoint. Any other task here would mean an
            # await inside a transaction, which would interleave two requests' actions in one savepoint.
            if task is not self._task:
                raise RuntimeError("store.transaction() must not await: another request's action is open")
            self._depth += 1
            return
        if not self.conn.in_transaction:
            # SQLite undid the group's whole transaction (a full disk, an I/O error). An action now would run
            # outside it and commit on its own, and then be told, with the group, that nothing was saved.
            raise sqlite3.OperationalError("the group's transaction was undone: its commit will say so")
        if not alone:
            self.conn.execute("SAVEPOINT action")
        self._depth, self._task, self._alone = 1, task, alone
        self._later_mark = len(self.open.later) if self.open is not None else 0

    def write_later(self, item: Any) -> bool:
        """Leave ``item`` to the open group's ``before_commit``, when this is an action of it (on the loop's thread,
        inside ``enter``/``leave``); False when it is not, and the caller must write it now."""
        group = self.open
        if group is None or not self._depth or asyncio.current_task() is not self._task:
            return False
        group.later.append(item)
        return True

    def leave(self, group: Group, failed: bool) -> None:
        """End the action ``enter`` began: its savepoint released, or rolled back when it ``failed``. The request
        then waits for ``group``'s commit (``committed``)."""
        if self._depth > 1:
            self._depth -= 1  # the outer action's leave undoes it all should it fail
            return
        try:
            if failed:
                self.forget()
                del group.later[self._later_mark:]
                if not self._alone:
                    self.conn.execute("ROLLBACK TO action")
                    self.conn.execute("RELEASE action")
            else:
                if not self._alone:
                    self.conn.execute("RELEASE action")
                request = _request.get()
                if request is not None:
                    request["group"] = group
        finally:
            self._depth, self._task = 0, None

    def end(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Commit the open group (called by the loop: at its next turn, or ``COMMIT_INTERVAL`` after the last
        commit) and tell its requests how it went."""
        group, self.open = self.open, None
        if group is None:
            return
        try:
            if group.later:
                # Inside the try: should they fail, the group is undone as a whole, as when the commit fails.
                self.before_commit(group.later)
            self.conn.execute("COMMIT")
            failure: BaseException | None = None
        except BaseException as exc:  # e.g. the disk is full: nothing of the group is kept, and each request says so
            failure = exc
            self.forget()
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        else:
            self.after_commit()
        finally:
            self.lock.release()
            if loop is not None:
                self._committed_at = loop.time()
        if not group.done.done():
            group.done.set_result(failure)

    async def committed(self) -> BaseException | None:
        """Wait until the group holding this request's writes has committed; None, or why it could not."""
        request = _request.get()
        group = request.get("group") if request is not None else None
        if group is None:
            return None
        return await group.done  # type: ignore[no-any-return]
