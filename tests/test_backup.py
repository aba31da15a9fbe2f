"""``masterclass backup``: a consistent copy of a live database, made while it is written to, with its secret."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import cli
from engine.security import load_secret
from engine.storage import backup as backup_module
from engine.storage.db import Store
from engine.storage.migrations import MIGRATIONS


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _service(path: Path, people: int = 20) -> Store:
    store = Store(path)
    load_secret(path)
    for n in range(people):
        store.create_user(name=f"Person {n}", email=f"p{n}@example.gov.uk", department="X", password_hash="h")
    return store


def test_a_backup_is_the_committed_database_with_its_secret(tmp_path: Path) -> None:
    store = _service(tmp_path / "live.db")
    # A write in progress on the service's connection is not in the copy; everything committed is, though
    # still in the -wal file (the service checkpoints later).
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.execute("UPDATE users SET name = 'not yet' WHERE id = 1")
    result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"))
    store.conn.execute("ROLLBACK")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backed up {tmp_path / 'live.db'} to {tmp_path / 'copy.db'}: ")
    assert f"schema {len(MIGRATIONS)}, checked, with copy.db.secret" in result.output
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT COUNT(*) FROM users WHERE name LIKE 'Person %'").fetchone() == (20,)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, nothing beside it
    copy.close()
    assert not list(tmp_path.glob("copy.db-*")) and not list(tmp_path.glob(".copy.db*"))
    assert load_secret(tmp_path / "copy.db") == load_secret(tmp_path / "live.db")
    assert stat.S_IMODE(os.stat(tmp_path / "copy.db.secret").st_mode) == 0o600
    # The engine opens the copy as it is: same schema, nothing to migrate.
    restored = Store(tmp_path / "copy.db")
    assert restored.user_by_email("p19@example.gov.uk") is not None
    restored.close()
    store.close()


def test_a_backup_made_while_the_service_commits_is_one_snapshot(tmp_path: Path) -> None:
    """A copy made a few pages at a time starts again at every commit of another connection; this one is made
    in one read transaction, so it ends however busy the writer is, and holds a state the writer committed."""
    store = _service(tmp_path / "live.db", people=0)
    store.conn.execute("CREATE TABLE ticks (n INTEGER PRIMARY KEY, pad TEXT)")
    with store.transaction() as conn:
        conn.executemany("INSERT INTO ticks VALUES (?, ?)", [(n, "x" * 500) for n in range(20_000)])
    stop = threading.Event()
    commits = []

    def writer() -> None:
        conn = sqlite3.connect(tmp_path / "live.db", timeout=30, check_same_thread=False)
        n = 20_000
        while not stop.is_set():
            with conn:  # two rows a commit: a copy with an odd count would be torn
                conn.execute("INSERT INTO ticks VALUES (?, 'a')", (n,))
                conn.execute("INSERT INTO ticks VALUES (?, 'b')", (n + 1,))
            n += 2
            commits.append(n)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(commits) < 20:
            pass
        before = len(commits)
        result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"))
        during = len(commits)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert during > before  # the writer went on while the copy was made
    copy = sqlite3.connect(tmp_path / "copy.db")
    count = copy.execute("SELECT COUNT(*) FROM ticks").fetchone()[0]
    assert count % 2 == 0 and 20_040 <= count <= 20_000 + 2 * len(commits)
    assert copy.execute("SELECT MAX(n) FROM ticks").fetchone()[0] == count - 1  # no gaps: one snapshot
    copy.close()
    store.close()


def test_a_database_without_a_secret_is_copied_and_says_so(tmp_path: Path) -> None:
    Store(tmp_path / "live.db").close()
    result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"), "--no-check")
    assert result.exit_code == 0, result.output
    assert "not checked (--no-check), no session secret beside the database" in result.output
    assert not (tmp_path / "copy.db.secret").exists()


@pytest.mark.parametrize(("setup", "message"), [
    ("missing", "there is no database at {db}"),
    ("not sqlite", "cannot back up {db}: file is not a database"),
    ("dest exists", "{dest} is there already: give a new name (a backup never overwrites one)"),
    ("secret exists", "{dest}.secret is there already: give a new name (a backup never overwrites one)"),
    ("secret is a dangling link", "{dest}.secret is there already: give a new name (a backup never overwrites one)"),
    ("secret exists, none to copy", "{dest}.secret is there already: give a new name (a backup never overwrites one)"),
    ("secret unreadable", "cannot read {db}.secret: Permission denied (run the backup as the service's user)"),
    ("no folder", "there is no folder {dest_parent}"),
])
def test_what_cannot_be_backed_up_is_one_line_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 setup: str, message: str) -> None:
    """Refused before the copy, which takes minutes on a large database, but for a file that is not one."""
    db, dest = tmp_path / "live.db", tmp_path / "copy.db"
    if setup != "missing":
        if setup == "not sqlite":
            db.write_bytes(b"this is not a database, " * 100)
        else:
            _service(db, people=1).close()
    if setup == "dest exists":
        dest.write_bytes(b"an earlier backup")
    if setup.startswith("secret exists"):
        Path(str(dest) + ".secret").write_text("an earlier secret")
    if setup == "secret exists, none to copy":
        Path(str(db) + ".secret").unlink()  # a secret there would be taken for this backup's at a restore
    if setup == "secret is a dangling link":
        Path(str(dest) + ".secret").symlink_to(tmp_path / "nowhere")
    if setup == "secret unreadable":
        # As a user who can read the database but not its 0600 secret (root reads anything, so it is faked).
        real_read = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.name == "live.db.secret":
                raise PermissionError(13, "Permission denied", str(self))
            return real_read(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    if setup == "no folder":
        dest = tmp_path / "absent" / "copy.db"
    copies = []
    real_copy = backup_module._copy
    monkeypatch.setattr(backup_module, "_copy", lambda *args: copies.append(args) or real_copy(*args))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("backup", str(dest), "--db", str(db))
    assert result.exit_code == 1
    assert result.output == "Error: " + message.format(db=db, dest=dest, dest_parent=dest.parent) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert bool(copies) == (setup == "not sqlite")


@pytest.mark.parametrize("links", [True, False], ids=["hard links", "no hard links"])
def test_a_file_made_at_dest_during_the_backup_is_not_written_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   links: bool) -> None:
    """DEST is looked for before the copy, which takes minutes; one made meanwhile (an earlier backup under the
    same name, from another run) stays as it is, and this backup is not kept."""
    _service(tmp_path / "live.db", people=1).close()
    dest = tmp_path / "copy.db"
    real_check = backup_module._check

    def check_then_dest_appears(path: Path) -> None:
        real_check(path)
        dest.write_bytes(b"an earlier backup")

    monkeypatch.setattr(backup_module, "_check", check_then_dest_appears)
    if not links:
        monkeypatch.setattr(os, "link", _no_hard_links)
    result = run("backup", str(dest), "--db", str(tmp_path / "live.db"))
    assert result.exit_code == 1
    assert result.output == f"Error: {dest} is there already: give a new name (a backup never overwrites one)\n"
    assert dest.read_bytes() == b"an earlier backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "live.db", "live.db.secret"]


def _no_hard_links(source: object, dest: object) -> None:
    raise PermissionError(errno.EPERM, "Operation not permitted")  # what FAT or exFAT answers


def test_without_hard_links_the_copy_is_written_into_a_new_file(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _service(tmp_path / "live.db", people=3).close()
    monkeypatch.setattr(os, "link", _no_hard_links)
    result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"))
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT COUNT(*) FROM users").fetchone() == (3,)
    assert copy.execute("PRAGMA quick_check").fetchone() == ("ok",)
    copy.close()
    assert stat.S_IMODE(os.stat(tmp_path / "copy.db").st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "copy.db.secret", "live.db", "live.db.secret"]


def test_the_database_and_its_copies_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """They hold personal data. SQLite creates a file 0644 under the usual umask, readable by every account on
    the machine, and gives the -wal and -shm files the database file's mode."""
    umask = os.umask(0o022)
    try:
        store = _service(tmp_path / "live.db", people=1)
        result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"))
        assert result.exit_code == 0, result.output
        for name in ("live.db", "live.db-wal", "live.db-shm", "live.db.secret", "copy.db", "copy.db.secret"):
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
        store.close()
        # A database that is there already keeps the mode its operator gave it.
        (tmp_path / "shared.db").touch(mode=0o640)
        os.chmod(tmp_path / "shared.db", 0o640)
        Store(tmp_path / "shared.db").close()
        assert stat.S_IMODE(os.stat(tmp_path / "shared.db").st_mode) == 0o640
    finally:
        os.umask(umask)


def test_a_link_planted_where_the_copy_is_written_is_not_written_through(tmp_path: Path) -> None:
    """The copy was written at ``.DEST.<pid>.partial``, a name anyone who can write the folder could guess: a
    link planted there sent the whole database wherever it pointed."""
    _service(tmp_path / "live.db", people=1).close()
    victim = tmp_path / "victim"
    victim.touch()  # empty: SQLite would take it for a new database, and write the copy into it
    (tmp_path / f".copy.db.{os.getpid()}.partial").symlink_to(victim)
    result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"))
    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == b""
    assert not (tmp_path / "copy.db").is_symlink()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT COUNT(*) FROM users").fetchone() == (1,)
    copy.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_backup_stopped_by_a_signal_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     signum: signal.Signals) -> None:
    """As for Ctrl+C: a stop (systemd's, a closed terminal's) removes the partial copy, a whole database's
    personal data under a hidden name. The signal comes as the check ends; the copy and the check are each one
    call into SQLite, which it cannot interrupt."""
    _service(tmp_path / "live.db", people=1).close()
    real_check = backup_module._check

    def check_then_stop(path: Path) -> None:
        real_check(path)
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(backup_module, "_check", check_then_stop)
    before = sorted(p.name for p in tmp_path.iterdir())
    caught: list[int] = []

    def note(number: int, frame: object) -> None:  # the test's own: a backup that lets it through goes on
        caught.append(number)

    previous = signal.signal(signum, note)
    try:
        result = run("backup", str(tmp_path / "copy.db"), "--db", str(tmp_path / "live.db"))
        after = signal.getsignal(signum)
    finally:
        signal.signal(signum, previous)
    assert caught == []
    assert result.exit_code == 128 + signum
    assert result.output == f"Stopped by {signum.name}: nothing was kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert after is note  # the backup's handler was there for the backup only
