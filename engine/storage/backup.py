"""A consistent copy of a live database, for backups (``masterclass backup``).

Copying the file (``cp``, ``rsync``) while the service runs is not a backup: in WAL mode the latest commits are in
``-wal`` until a checkpoint copies them, and a file read while a checkpoint writes it can mix two states. SQLite's
online backup API reads the database as one snapshot, in a single read transaction: the service goes on writing
meanwhile (WAL readers and the writer never wait for each other), and its checkpoints copy no further than the
snapshot until the copy ends, so the log grows for as long as it runs.

The copy is made in one step (``pages=-1``). Copied a few pages at a time, it would start again after every commit
of another connection, and a service commits every few milliseconds. That step is one call into SQLite, which a
signal cannot interrupt: Ctrl+C (or SIGTERM, SIGHUP: ``backup_cli``) takes effect when it returns, and the
partial copy is removed then.

The copy holds personal data: it and its secret are readable and writable by their owner only (0600), whatever
the umask.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


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
    erasures: Path | None = None
    """The record of erasures (``engine.erasures``) copied beside it, if the database had one."""


def backup(source: Path, dest: Path, *, check: bool = True) -> Backup:
    """Copy the database at ``source`` to ``dest`` (which must not exist), with its session secret.

    The copy is written to a temporary file beside ``dest`` and linked into place once complete and checked, so
    ``dest`` is either the whole copy or not there, and a file that appears at ``dest`` meanwhile is never
    written over (see ``_put_in_place``)."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    target = Path(str(dest) + ".secret")
    record = Path(str(dest) + ".erasures")
    # DEST.secret even when the database has no secret to copy: at a restore it would be taken for this backup's.
    for path in (dest, target, record):
        if path.exists() or path.is_symlink():
            raise _there(path)
    if not dest.parent.is_dir():
        raise BackupError(f"there is no folder {dest.parent}")
    # Read before the copy, which takes minutes on a large database: a secret this user cannot read fails now.
    secret = _read_beside(source, ".secret")
    started = time.monotonic()
    try:
        # O_EXCL, O_NOFOLLOW, 0600, under a name nobody can guess: nothing planted beside DEST is written through,
        # and SQLite gives the copy's journal the mode of the file it opens.
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    except OSError as exc:
        raise BackupError(f"cannot write in {dest.parent}: {exc.strerror}") from None
    temporary = Path(name)
    written: list[Path] = []
    try:
        os.close(fd)
        schema = _copy(source, temporary)
        checked = False
        if check:
            _check(temporary)
            checked = True
        if secret is not None:
            _create(target, written, lambda out: out.write(secret))
        # After the copy: erasures made while it ran are in it too (applied again at a restore, they are right), so
        # a restore that lost the live record with the disk brings back no account erased before the copy ended.
        erased = _read_beside(source, ".erasures")
        if erased is not None:
            _create(record, written, lambda out: out.write(erased))
        _put_in_place(temporary, dest, written)
    except BaseException:
        for path in (temporary, *(Path(name + end) for end in ("-journal", "-wal", "-shm")), *written):
            path.unlink(missing_ok=True)
        raise
    return Backup(path=dest, size=dest.stat().st_size, schema=schema, seconds=time.monotonic() - started,
                  checked=checked, secret=target if secret is not None else None,
                  erasures=record if erased is not None else None)


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
        try:
            dst = sqlite3.connect(temporary)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot write {temporary}: {exc}") from None
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


def _read_beside(source: Path, suffix: str) -> bytes | None:
    """A file kept beside the database, if it has one: its session secret (``security.load_secret``; without it,
    a restored service makes a new one, and every open form's token stops working) or its record of erasures."""
    kept = Path(str(source) + suffix)
    if not kept.is_file():
        return None
    try:
        return kept.read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read {kept}: {exc.strerror} (run the backup as the service's user)") from None


def _create(path: Path, written: list[Path], fill: Callable[[BinaryIO], object]) -> None:
    """A new file at ``path``, owner-only, filled by ``fill`` and synced; never a file or link that is there."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise _there(path) from None
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc.strerror}") from None
    written.append(path)
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            os.fsync(out.fileno())
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc.strerror}") from None


def _there(path: Path) -> BackupError:
    return BackupError(f"{path} is there already: give a new name (a backup never overwrites one)")


_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}
"""What ``link`` fails with on a file system that has no hard links (FAT, exFAT, some network shares)."""


def _put_in_place(temporary: Path, dest: Path, written: list[Path]) -> None:
    """Give the finished copy its name, unless something took the name since ``backup`` looked.

    A rename would write over a file made at DEST meanwhile (an earlier backup, say); a hard link fails instead.
    Where the file system has no hard links, DEST is created (failing if it is there) and the copy written into
    it: then a crash part-way through that leaves a partial DEST, which ``quick_check`` would show."""
    try:
        os.link(temporary, dest)
    except FileExistsError:
        raise _there(dest) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise BackupError(f"cannot write {dest}: {exc.strerror}") from None

        def fill(out: BinaryIO) -> None:
            with temporary.open("rb") as copy:
                shutil.copyfileobj(copy, out, 1 << 20)

        _create(dest, written, fill)
    else:
        written.append(dest)
    temporary.unlink(missing_ok=True)
    _sync_folder(dest.parent)


def _sync_folder(folder: Path) -> None:
    """Sync the folder, so that DEST's name (and its secret's) survives a power cut that follows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the files themselves are synced
        pass
    finally:
        os.close(fd)
