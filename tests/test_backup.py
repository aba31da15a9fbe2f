"""``masterclass backup``: a consistent copy of a live database, made while it is written to, with its secret."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import cli
from engine.security import load_secret
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
    ("no folder", "there is no folder {dest_parent}"),
])
def test_what_cannot_be_backed_up_is_one_line_and_leaves_nothing(tmp_path: Path, setup: str, message: str) -> None:
    db, dest = tmp_path / "live.db", tmp_path / "copy.db"
    if setup != "missing":
        if setup == "not sqlite":
            db.write_bytes(b"this is not a database, " * 100)
        else:
            _service(db, people=1).close()
    if setup == "dest exists":
        dest.write_bytes(b"an earlier backup")
    if setup == "secret exists":
        Path(str(dest) + ".secret").write_text("an earlier secret")
    if setup == "no folder":
        dest = tmp_path / "absent" / "copy.db"
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("backup", str(dest), "--db", str(db))
    assert result.exit_code == 1
    assert result.output == "Error: " + message.format(db=db, dest=dest, dest_parent=dest.parent) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
