"""Passwords set again (decision 0033): a new one chosen while signed in, and links that let a person who has
forgotten theirs choose one. The service sends no email, so a facilitator or an admin issues the link and hands it
over; the link is a credential, so only its SHA-256 is stored, it works once, and for ``LINK_LIFETIME``."""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .clock import now
from .records import USER_COLUMNS, User, user_from_row
from .sessions import token_hash

if TYPE_CHECKING:
    from .transactions import Transaction

LINK_LIFETIME = timedelta(hours=24)
"""How long a link to set a new password works: long enough to reach someone on another shift, short enough that
one found in a chat history a week later is dead."""

_LINK_USER = (f"SELECT {', '.join('u.' + c.strip() for c in USER_COLUMNS.split(','))} FROM password_links p"  # noqa: S608
              " JOIN users u ON u.id = p.user_id WHERE p.token_hash = ? AND p.expires_at > ?")


class Passwords:
    """The store's password changes: part of ``Store``, which holds the connection and what it keeps."""

    conn: sqlite3.Connection

    if TYPE_CHECKING:
        def transaction(self) -> Transaction: ...
        def _current(self) -> int: ...
        def _forget_sessions(self) -> None: ...

    def issue_password_link(self, user_id: int, *, issued_by: int | None,
                            lifetime: timedelta = LINK_LIFETIME) -> str:
        """A new link's token for the account, which replaces any link issued to it before: only the newest one
        works, so a link handed to the wrong person can be killed by issuing another.

        Every sign-in session of the account ends too. A link is issued because the account cannot be used, or
        should not be: whoever holds a session of it (someone who took it over, and could otherwise keep a step
        ahead of the owner) is out before the owner opens the link."""
        token = secrets.token_urlsafe(32)
        issued = now()
        expires = (datetime.now(UTC) + lifetime).isoformat(timespec="milliseconds")
        with self.transaction() as conn:
            conn.execute("DELETE FROM password_links WHERE user_id = ? OR expires_at <= ?", (user_id, issued))
            conn.execute("INSERT INTO password_links VALUES (?, ?, ?, ?, ?)",
                         (token_hash(token), user_id, issued_by, issued, expires))
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            self._forget_sessions()
        return token

    def password_link_user(self, token: str) -> User | None:
        """Whose password the link sets, or None when it never existed, was used, was replaced or has expired."""
        self._current()
        return user_from_row(self.conn.execute(_LINK_USER, (token_hash(token), now())).fetchone())

    def set_password_by_link(self, token: str, password_hash: str) -> User | None:
        """Set the account's password if the link still works, and use the link up: the account as it is now, or
        None if the link does not work.

        Every sign-in session of the account ends: whoever knew the old password, or kept a browser signed in,
        is out. So do the account's other links."""
        with self.transaction() as conn:
            user = user_from_row(conn.execute(_LINK_USER, (token_hash(token), now())).fetchone())
            if user is None:
                return None
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user.id))
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))
            conn.execute("DELETE FROM password_links WHERE user_id = ?", (user.id,))
            self._forget_sessions()
        return dataclasses.replace(user, password_hash=password_hash)

    def change_password(self, user_id: int, password_hash: str, *, checked: str, session: str) -> bool:
        """A new password chosen while signed in, if the password is still the one checked (``checked``, its hash)
        and the session still exists; False, changing nothing, if either moved while the new one was hashed (a
        link used meanwhile, or a sign-out everywhere). Every other sign-in session of the account ends: a
        browser left signed in elsewhere, or someone who had the old password.

        Links stay: one issued by a facilitator is how the owner gets back an account someone else has taken,
        and that someone, with a session and the old password, must not be able to kill it by changing it."""
        key = token_hash(session)
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?"
                " AND EXISTS (SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ?)",
                (password_hash, user_id, checked, key, user_id)).rowcount == 1
            if changed:
                conn.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?", (user_id, key))
                self._forget_sessions()
        return changed
