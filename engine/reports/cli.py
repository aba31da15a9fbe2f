"""``masterclass reports``: upkeep of the report tallies."""

from __future__ import annotations

import time

import click


@click.group("reports")
def reports_group() -> None:
    """Reports for facilitators and admins (the pages are at /reports/)."""


@reports_group.command("rebuild")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def rebuild(db_path: str) -> None:
    """Count the report tallies again from the learning records, e.g. after restoring tables from a backup.
    The tallies are kept up to date as learners work, so this is never needed in normal running. Example:

        masterclass reports rebuild --db masterclass.db
    """
    from ..cli_support import open_store
    from ..storage.reports import rebuild as recount

    started = time.perf_counter()
    store = open_store(db_path, existing=True)
    recount(store)
    rows = store.conn.execute("SELECT COUNT(*) FROM report_days WHERE n != 0").fetchone()[0]
    click.echo(f"Counted the report tallies again: {rows:,} day tallies in {time.perf_counter() - started:.1f} s")
