"""Deleting an account (UK GDPR erasure), and keeping it deleted when the database is restored from a backup.

An account is deleted from "My data" or by ``masterclass users delete``: its records, its own xAPI statements
and its place in other people's (``Store.delete_user``). A backup made before then still holds it, and a restore
would bring it back. So every erasure is also recorded outside the database, in ``<db>.erasures`` beside it:
one line per account, its opaque public id and the time, never its name or email address. A restore replaces
the database and its secret but leaves that file, and every command that opens the database (``masterclass
serve`` at start) deletes again any account the file names (``erase_again``). A backup copies the file beside
itself, for a restore that lost it with the disk; it never takes the place of a newer one.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from .storage.checkpoints import erasures_record
from .storage.clock import now
from .storage.db import Store
from .storage.records import User
from .xapi.keys import agent_key


def agent_keys(store: Store, user: User) -> list[str]:
    """Every key the LRS may hold the user's statements under: their email address (``xapi_include_email``) and
    their account under every home page it has had (``base_url`` may have changed), whichever the service used
    when each statement was made."""
    return [agent_key({"mbox": "mailto:" + user.email}), *store.account_terms(user.public_id)]


def record_of(store: Store) -> Path | None:
    """The file of erasures kept beside the database; None for a database in memory."""
    path = str(store.path)
    return None if path in ("", ":memory:") else Path(erasures_record(path))


def erase(store: Store, user: User) -> None:
    """Record that the account is erased, then delete it and everything about it.

    The record comes first, flushed to the disk: if it cannot be written, nothing is deleted (the learner is told
    it failed); if the deletion fails after it, the next start carries the erasure out (``erase_again``), as the
    learner asked. The other way round, a record lost after the deletion would let a restore bring them back."""
    record = record_of(store)
    if record is not None:
        line = json.dumps({"public_id": user.public_id, "at": now()}, separators=(",", ":")) + "\n"
        # One write, O_APPEND: two erasures at once do not mix their lines. Owner-only, as the database is.
        fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    store.delete_user(user.id, actor_keys=agent_keys(store, user))


def erased(store: Store) -> list[str]:
    """The public ids of every account recorded as erased, oldest first. A line that cannot be read (a write cut
    short by a crash) is skipped: it names nothing the database could still hold with certainty."""
    record = record_of(store)
    if record is None or not (record.exists() or record.is_symlink()):
        return []
    if not record.is_file():  # a folder, a broken link: erasures that cannot be read must not pass unseen
        raise OSError(errno.EINVAL, "the record of erasures is not a file", str(record))
    ids = []
    for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("public_id"), str):
            ids.append(entry["public_id"])
    return ids


def erase_again(store: Store) -> int:
    """Delete every account the record names that the database holds (it was restored from a backup made before
    the erasure); returns how many. Not recorded again: they are in the record already."""
    count = 0
    for public_id in dict.fromkeys(erased(store)):
        user = store.user_by_public_id(public_id)
        if user is not None:
            store.delete_user(user.id, actor_keys=agent_keys(store, user))
            count += 1
    return count
