"""One learner action's writes: a transaction of its own, or an action in the event loop's open group
(``grouping``, decision 0010). The store hands them out (``Store.transaction``)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .db import Store
    from .grouping import Group


class Transaction:
    """``Store.transaction()``: a class rather than a generator, as every write of every request opens one.

    ``alone``: the action is a single statement, so in a group it takes no savepoint of its own (``GroupCommit.enter``).
    Only the store's own methods that run exactly one statement in it ask for that."""

    __slots__ = ("alone", "group", "own", "store")

    def __init__(self, store: Store, *, alone: bool = False) -> None:
        self.store = store
        self.alone = alone
        self.group: Group | None = None
        """The group this transaction is an action of, when it is one."""
        self.own = False
        """True when it began a transaction of its own (BEGIN IMMEDIATE), to commit at its end."""

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        store._lock.acquire()
        try:
            groups = store._groups
            group = groups.open  # only the loop's thread gets here while a group is open
            if group is None and not store.conn.in_transaction:
                loop = groups.loop()
                if loop is None:
                    store.conn.execute("BEGIN IMMEDIATE")
                    self.own = True
                    return store.conn
                group = groups.start(loop)
            if group is not None:
                groups.enter(alone=self.alone)
                self.group = group
        except BaseException:
            store._lock.release()
            raise
        return store.conn

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        store = self.store
        try:
            if self.group is not None:
                store._groups.leave(self.group, kind is not None)
            elif self.own:
                if kind is not None:
                    store._forget_all()  # kept things may have been read with the writes now undone
                    store.conn.execute("ROLLBACK")
                else:
                    try:
                        store.conn.execute("COMMIT")
                    except BaseException:
                        # As a group's failed commit (``GroupCommit.end``): what is kept may hold the undone writes,
                        # and a transaction SQLite left open would swallow every later one without committing it.
                        store._forget_all()
                        if store.conn.in_transaction:
                            store.conn.execute("ROLLBACK")
                        raise
                    store._after_commit()
        finally:
            store._lock.release()
