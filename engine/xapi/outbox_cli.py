"""Commands for delivery to external LRSs: status, dead letters, retry; and the statement export."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from ..cli_support import CONFIG_FILE, open_store
from ..settings import load_settings
from ..storage import outbox
from ..storage.clock import now


def add_commands(group: click.Group) -> None:
    """Add the delivery commands to the ``lrs`` group."""

    @group.command("status")
    @click.option("--db", "db_path", default="masterclass.db", show_default=True)
    @click.option("--config", default=None, type=CONFIG_FILE,
              help="Settings file (default: masterclass.yaml if present).")
    def status(db_path: str, config: str | None) -> None:
        """Queue depth, oldest undelivered statement and last error for each external LRS. Example:

            masterclass lrs status --db masterclass.db
        """
        names = [e["name"] for e in load_settings(config).lrs_endpoints]
        store = open_store(db_path, existing=True)
        known = {row[0] for row in store.conn.execute("SELECT DISTINCT endpoint FROM outbox UNION"
                                                      " SELECT endpoint FROM dead_letters")}
        rows = outbox.status(store.conn, names + sorted(known - set(names)))
        if not rows:
            click.echo("No external LRS is configured (setting lrs_endpoints).")
        for row in rows:
            click.echo(f"{row.endpoint}: {row.queued} queued (oldest stored {row.oldest_stored or '-'}), "
                       f"{row.dead} dead letters, last success {row.last_success_at or '-'}, "
                       f"last error {row.last_error_at or '-'} {row.last_error or ''}".rstrip())

    @group.command("dead-letters")
    @click.option("--db", "db_path", default="masterclass.db", show_default=True)
    @click.option("--endpoint", default=None)
    def dead_letters(db_path: str, endpoint: str | None) -> None:
        """Statements an external LRS refused for good, with its answer. Example:

            masterclass lrs dead-letters --endpoint lms
        """
        for row in outbox.dead_letters(open_store(db_path, existing=True).conn, endpoint):
            click.echo(f"{row['endpoint']}\t{row['statement_id']}\t{row['failed_at']}\t{row['status']}\t"
                       f"{row['error']}")

    @group.command("retry")
    @click.option("--db", "db_path", default="masterclass.db", show_default=True)
    @click.option("--endpoint", default=None, help="Only this endpoint's dead letters.")
    def retry(db_path: str, endpoint: str | None) -> None:
        """Queue dead letters again, e.g. after fixing the LRS's configuration. Example:

            masterclass lrs retry --endpoint lms
        """
        store = open_store(db_path, existing=True)
        with store.transaction() as conn:
            moved = outbox.retry_dead(conn, endpoint, now())
        click.echo(f"Queued {moved} statements again.")


@click.group("export")
def export() -> None:
    """Export records."""


@export.command("statements")
@click.option("--db", "db_path", default="masterclass.db", show_default=True)
@click.option("--since", default=None, help="Only statements stored after this ISO 8601 time (UTC without an "
              "offset).")
def export_statements(db_path: str, since: str | None) -> None:
    """Every stored statement as NDJSON (one per line), for a bulk import into an LRS or LMS. Example:

        masterclass export statements --since 2026-01-01T00:00:00+00:00 > statements.ndjson
    """
    after = None if since is None else _utc(since)
    out = sys.stdout
    for (body,) in outbox.export(open_store(db_path, existing=True).conn, after):
        out.write(body + "\n")


def _utc(text: str) -> str:
    """An ISO 8601 time as the store writes ``stored`` (UTC, to the millisecond), which it is compared with as
    text: another offset, or another form, compared as text would pick the wrong statements."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time, like 2026-01-01T00:00:00+00:00",
                                 param_hint="--since") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC).isoformat(timespec="milliseconds")
    except OverflowError:
        raise click.BadParameter(f"{text!r} is out of range", param_hint="--since") from None
