"""``masterclass lrs``: credentials for the built-in Learning Record Store at /xapi/."""

from __future__ import annotations

import click

from ..cli_support import open_store


@click.group("lrs")
def lrs_group() -> None:
    """The built-in Learning Record Store at /xapi/."""


@lrs_group.group("credentials")
def credentials_group() -> None:
    """Manage the HTTP Basic credentials that learning tools use to reach /xapi/."""


@credentials_group.command("add")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write", "all"]), required=True,
              help="read: GET only; write: PUT, POST and DELETE only; all: both.")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def credentials_add(name: str, scope: str, db_path: str) -> None:
    """Make a credential called NAME and print its key and secret (shown only once). Example:

        masterclass lrs credentials add "Moodle reports" --scope read
    """
    from ..storage.lrs_credentials import CredentialExists
    from .lrs import create_credential

    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():  # `list` prints one credential a line, tab-separated
        raise click.BadParameter("give a name of 1 to 100 characters, without tabs or line breaks",
                                 param_hint="NAME")
    store = open_store(db_path)
    try:
        key, secret = create_credential(store, name, scope)
    except CredentialExists:
        raise click.ClickException(f"there is already a credential called {name!r}") from None
    finally:
        store.close()
    click.echo(f"Created {scope} credential {name!r}. The secret is shown only now: keep it safe.")
    click.echo(f"key: {key}")
    click.echo(f"secret: {secret}")


@credentials_group.command("list")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def credentials_list(db_path: str) -> None:
    """List credentials: name, key, scope and when each was made (never the secrets)."""
    from ..storage.lrs_credentials import credentials

    store = open_store(db_path, existing=True)
    try:
        found = credentials(store.conn)  # a read: no write transaction to wait for
    finally:
        store.close()
    if not found:
        click.echo("No LRS credentials. Make one with: masterclass lrs credentials add NAME --scope read|write|all")
    for item in found:
        click.echo(f"{item.name}\t{item.key}\t{item.scope}\t{item.created_at}")


@credentials_group.command("remove")
@click.argument("name")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def credentials_remove(name: str, db_path: str) -> None:
    """Remove the credential called NAME; requests using it are refused at once."""
    from ..storage.lrs_credentials import remove_credential

    store = open_store(db_path, existing=True)
    try:
        with store.transaction() as conn:
            removed = remove_credential(conn, name)
    finally:
        store.close()
    if not removed:
        raise click.ClickException(f"there is no credential called {name!r}")
    click.echo(f"Removed credential {name!r}")
