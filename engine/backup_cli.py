"""``masterclass backup``: a consistent copy of the live database, with its session secret."""

from __future__ import annotations

from pathlib import Path

import click

from .storage.backup import BackupError, backup


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", "db_path", default="masterclass.db", show_default=True, type=click.Path(path_type=Path),
              help="The SQLite database file.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Read the whole copy back with SQLite's quick_check before keeping it.")
def backup_command(dest: Path, db_path: Path, check: bool) -> None:
    """Copy the database to DEST while the service runs (SQLite's online backup API: one snapshot; learners go
    on meanwhile), with its session secret beside it as DEST.secret. DEST must not exist. Example:

        masterclass backup backups/2026-11-28.db --db masterclass.db

    To restore: stop the service, put the copy and its .secret in place of the database and its secret, remove
    the database's -wal and -shm files, and start the service (docs/operations.md).
    """
    try:
        made = backup(db_path, dest, check=check)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    checked = "checked" if made.checked else "not checked (--no-check)"
    secret = f", with {made.secret.name}" if made.secret else ", no session secret beside the database"
    click.echo(f"Backed up {db_path} to {made.path}: {made.size / 1e6:,.1f} MB, schema {made.schema}, {checked}"
               f"{secret}, in {made.seconds:.1f} s")
