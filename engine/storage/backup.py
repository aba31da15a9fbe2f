"""A consistent copy of a live database, for backups (``masterclass backup``).

Copying the file (``cp``, ``rsync``) while the service runs is not a backup: in WAL mode the latest commits are in
``-wal`` until a checkpoint copies them, and a file read while a checkpoint writes it can mix two states. SQLite's
online backup API reads the database as one snapshot, in a single read transaction: the service goes on writing
meanwhile (WAL readers and the writer never wait for each other), and its checkpoints copy no further than the
snapshot until the copy ends, so the log grows for as long as it runs.

The copy is made in one step (``pages=-1``). Copied a few pages at a time, it would start again after every commit
of another connection, and a service commits every few milliseconds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path


class BackupError(Exception):
    """The copy could not be made; the message says why, in one line. Nothing is left at the destination."""


@dataclass(frozen=True, kw_only=True)
class Backup:
    """What ``backup`` wrote."""

    path: Path
    size: int
    """Bytes of the copy."""
    schema: int
    """The copy's schema version (``PRAGMA user_version``): the engine that can open it runs this or later."""
    seconds: float
    checked: bool
    """Whether SQLite's ``quick_check`` read the whole copy and found it sound."""
    secret: Path | None
    """The session secret copied beside it, if the database had one."""


def backup(source: Path, dest: Path, *, check: bool = True) -> Backup:
    """Copy the database at ``source`` to ``dest`` (which must not exist), with its session secret.

    The copy is written to a temporary file beside ``dest`` and renamed into place once complete and checked, so
    ``dest`` is either the whole copy or not there."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} is there already: give a new name (a backup never overwrites one)")
    if not dest.parent.is_dir():
        raise BackupError(f"there is no folder {dest.parent}")
    started = time.monotonic()
    temporary = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    secret: Path | None = None
    try:
        schema = _copy(source, temporary)
        checked = False
        if check:
            _check(temporary)
            checked = True
        secret = _copy_secret(source, dest)
        os.replace(temporary, dest)
    except BaseException:
        temporary.unlink(missing_ok=True)
        if secret is not None:
            secret.unlink(missing_ok=True)
        raise
    return Backup(path=dest, size=dest.stat().st_size, schema=schema, seconds=time.monotonic() - started,
                  checked=checked, secret=secret)


def _copy(source: Path, temporary: Path) -> int:
    try:
        # Read-write, not ``mode=ro``: a read-only connection cannot open a WAL database whose ``-shm`` file is
        # not there yet. Nothing here writes to the source.
        src = sqlite3.connect(source, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from None
    try:
        try:
            schema = int(src.execute("PRAGMA user_version").fetchone()[0])
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a file that is not SQLite fails here
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"cannot back up {source}: {exc}") from None
        dst = sqlite3.connect(temporary)
        try:
            src.backup(dst, pages=-1)
            # The copy is one file: the service opens it in WAL mode again, as it does any database it is given.
            dst.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as exc:
            raise BackupError(f"cannot write {temporary}: {exc}") from None
        finally:
            dst.close()
    finally:
        src.close()
    return schema


def _check(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        found = [row[0] for row in conn.execute("PRAGMA quick_check")]
    finally:
        conn.close()
    if found != ["ok"]:
        raise BackupError(f"the copy failed SQLite's check, and was not kept: {found[0]}")


def _copy_secret(source: Path, dest: Path) -> Path | None:
    """The session secret (``security.load_secret``), owner-only as the original: without it, a restored service
    makes a new one, and every open form's CSRF token stops working."""
    secret = Path(str(source) + ".secret")
    if not secret.is_file():
        return None
    target = Path(str(dest) + ".secret")
    if target.exists():
        raise BackupError(f"{target} is there already: give a new name (a backup never overwrites one)")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, secret.open("rb") as original:
        shutil.copyfileobj(original, out)
    return target
