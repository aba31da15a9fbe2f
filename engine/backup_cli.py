"""``masterclass backup``: a consistent copy of the live database, with its session secret."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from .cli_support import Stopped, stopped_by
from .storage.backup import Backup, BackupError, backup


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", "db_path", default="masterclass.db", show_default=True, type=click.Path(path_type=Path),
              help="The SQLite database file.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Read the whole copy back with SQLite's quick_check before keeping it.")
def backup_command(dest: Path, db_path: Path, check: bool) -> None:
    """Copy the database to DEST while the service runs (SQLite's online backup API: one snapshot; learners go
    on meanwhile), with its session secret and its record of erasures beside it as DEST.secret and
    DEST.erasures. DEST must not exist. Example:

        masterclass backup backups/2026-11-28.db --db masterclass.db

    To restore: stop the service, put the copy and its .secret in place of the database and its secret (owned by
    the service's user, mode 0600), remove the database's -wal and -shm files, keep the database's .erasures (or,
    if it was lost, put DEST.erasures in its place), and start the service: it deletes again the accounts erased
    since the backup (docs/operations.md).
    """
    made: Backup | None = None
    try:
        # The copy and its check are each one call into SQLite, which a signal does not interrupt: the backup
        # stops when the call returns, and removes what it wrote (a partial copy of the whole database).
        with stopped_by(signal.SIGTERM, signal.SIGHUP):
            made = backup(db_path, dest, check=check)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except Stopped as stop:
        # Before the copy had its name, what was written is gone; after, the copy is whole, and stays.
        kept = made is not None or dest.exists()
        click.echo(f"Stopped by {signal.Signals(stop.signum).name}: "
                   f"{f'{dest} was made, and is kept' if kept else 'nothing was kept'}", err=True)
        sys.exit(128 + stop.signum)
    assert made is not None
    checked = "checked" if made.checked else "not checked (--no-check)"
    secret = f", with {made.secret.name}" if made.secret else ", no session secret beside the database"
    secret += f" and {made.erasures.name}" if made.erasures else ""
    click.echo(f"Backed up {db_path} to {made.path}: {made.size / 1e6:,.1f} MB, schema {made.schema}, {checked}"
               f"{secret}, in {made.seconds:.1f} s")
