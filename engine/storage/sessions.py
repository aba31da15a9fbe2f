"""Sign-in sessions, as the store keeps them: the cookie holds a random token and only its hash is stored; who a
session signs in, and which courses and lessons it has met, are kept between requests."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, overload

from .clock import now
from .records import USER_COLUMNS, User, user_from_row

if TYPE_CHECKING:
    from .transactions import Transaction

MAX_MET = 100_000
"""(session, course or lesson) pairs a store remembers as already met (see ``session_first``)."""
MAX_SIGNED_IN = 20_000
"""Sessions (and enrolments) a store keeps between requests."""

SESSION_LIFETIME = 30 * 24 * 3600.0
"""Seconds a sign-in lasts from its start, unless the service says otherwise (the ``session_days`` setting)."""

_SESSION_USER = (f"SELECT {', '.join('u.' + c.strip() for c in USER_COLUMNS.split(','))}, s.created_at"  # noqa: S608
                 " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?")


class Sessions:
    """The store's sessions: part of ``Store``, which holds the connection and what it keeps."""

    conn: sqlite3.Connection
    _kept_lock: threading.Lock
    _met: set[tuple[str, str]]
    _met_pending: set[tuple[str, str]]
    _signed_in: dict[str, tuple[User, float]]
    """Kept sign-ins: each session's user, and when the session ends (Unix time)."""
    session_lifetime: float = SESSION_LIFETIME

    if TYPE_CHECKING:
        def transaction(self) -> Transaction: ...
        def _current(self) -> int: ...
        def _forget_sessions(self) -> None: ...

    @overload
    def create_session(self, user_id: int) -> str: ...
    @overload
    def create_session(self, user_id: int, *, password_hash: str) -> str | None: ...

    def create_session(self, user_id: int, *, password_hash: str | None = None) -> str | None:
        """A new sign-in session's token; None, making none, if ``password_hash`` is given and is no longer the
        account's (the password was set again while the one typed was being checked: decision 0033 ends every
        session of someone who had the old one). The account's sessions that have ended go (their rows, and what
        they met): a learner who signs in every day would otherwise leave a row a day behind for ever."""
        token = secrets.token_urlsafe(32)
        stamp = now()
        ended = datetime.fromtimestamp(time.time() - self.session_lifetime, UTC).isoformat(timespec="milliseconds")
        with self.transaction() as conn:
            made = conn.execute("INSERT INTO sessions SELECT ?, id, ?, ? FROM users WHERE id = ?"
                                " AND (?5 IS NULL OR password_hash = ?5)",
                                (token_hash(token), stamp, stamp, user_id, password_hash)).rowcount == 1
            if made:
                conn.execute("DELETE FROM sessions WHERE user_id = ? AND created_at <= ?", (user_id, ended))
        return token if made else None

    def session_user(self, token: str) -> User | None:
        """Who the session signs in, or None (no such session, or one older than ``session_lifetime``); kept
        between requests like records, as every request asks."""
        key = token_hash(token)
        self._current()
        found = self._signed_in.get(key)
        if found is not None:
            return found[0] if time.time() < found[1] else None
        row = self.conn.execute(_SESSION_USER, (key,)).fetchone()
        user = user_from_row(row[:-1]) if row else None
        if user is None:
            return None
        ends = datetime.fromisoformat(row[-1]).timestamp() + self.session_lifetime
        if time.time() >= ends:
            return None
        with self._kept_lock:
            if len(self._signed_in) >= MAX_SIGNED_IN:
                del self._signed_in[next(iter(self._signed_in))]  # the oldest
            self._signed_in[key] = (user, ends)
        return user

    def session_met(self, token: str, object_iri: str) -> bool:
        """True when this sign-in session is known to have met ``object_iri`` already (no query: may say False)."""
        return (token_hash(token), object_iri) in self._met

    def session_first(self, token: str, object_iri: str) -> bool:
        """True the first time this sign-in session meets ``object_iri`` (a course or lesson)."""
        key = (token_hash(token), object_iri)
        if key in self._met:
            return False
        first = self.conn.execute(
            "INSERT OR IGNORE INTO session_events SELECT token_hash, ? FROM sessions WHERE token_hash = ?",
            (object_iri, key[0]),
        ).rowcount == 1
        # Met from the commit on (``_after_commit``): until then the transaction could still be undone. So could
        # the row found here, when another action of the same group inserted it (two tabs of one session).
        self._met_pending.add(key)
        return first

    def _know_met(self, keys: Iterable[tuple[str, str]]) -> None:
        for key in keys:
            if len(self._met) >= MAX_MET:
                self._met.clear()
            self._met.add(key)

    def session_objects(self, token: str) -> list[str]:
        return [iri for (iri,) in self.conn.execute(
            "SELECT object_iri FROM session_events WHERE token_hash = ?", (token_hash(token),))]

    def end_other_sessions(self, user_id: int, keep: str) -> int:
        """End every sign-in session of the account but ``keep`` (a browser left signed in elsewhere); how many."""
        with self.transaction() as conn:
            ended = conn.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?",
                                 (user_id, token_hash(keep))).rowcount
            self._forget_sessions()
        return int(ended)

    def delete_session(self, token: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))
            self._forget_sessions()


@lru_cache(maxsize=65536)  # a request hashes its cookie up to three times, and the same tokens come back all day
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
