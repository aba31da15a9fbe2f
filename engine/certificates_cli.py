"""``masterclass certificates``: list the certificates issued, and revoke one."""

from __future__ import annotations

import getpass

import click

from .cli_support import open_store
from .dates import govuk_date as date_text
from .storage import certificates as db


@click.group("certificates")
def certificates_group() -> None:
    """Certificates learners earned: list them, or revoke one."""


@certificates_group.command("list")
@click.option("--search", "query", default="", help="A verification code, or part of a learner's email address.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def list_certificates(query: str, limit: int, db_path: str) -> None:
    """List certificates, newest first, one a line: code, status, date issued, name, email, course. Example:

        masterclass certificates list --search ada@example.gov.uk
    """
    store = open_store(db_path, existing=True)
    try:
        found = db.search(store, query, limit=limit)
    finally:
        store.close()
    for certificate, email in found:
        status = f"revoked {date_text(certificate.revoked_at)}" if certificate.revoked else "valid"
        click.echo("\t".join([certificate.display_code, status, date_text(certificate.issued_at), certificate.name,
                              email, certificate.course_title]))
    if not found:
        click.echo("No certificates found.", err=True)


def _login() -> str:
    try:
        return f"command line ({getpass.getuser()})"
    except (OSError, KeyError):  # no login name, e.g. in a container run under a bare user id
        return "command line"


@certificates_group.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why: the learner and anyone who checks the code will see it.")
@click.option("--by", "by", default=None, help="Who is revoking it (default: your login name on this machine).")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def revoke(code: str, reason: str, by: str | None, db_path: str) -> None:
    """Revoke the certificate with verification code CODE. It cannot be undone. Example:

        masterclass certificates revoke MC-7K3P-Q9XD-2FHM --reason "Completed on someone else's account"
    """
    reason = " ".join(reason.split())
    if not reason:
        raise click.ClickException("give a reason with --reason")
    bare = db.normalise(code)
    store = open_store(db_path, existing=True)
    try:
        found = db.by_code(store, bare) if bare else None
        if found is None:
            raise click.ClickException(f"no certificate has the code {code}")
        if found.revoked:
            raise click.ClickException(f"{found.display_code} was already revoked on {date_text(found.revoked_at)}")
        db.revoke(store, found.code, by=by or _login(), reason=reason)
    finally:
        store.close()
    click.echo(f"Revoked {found.display_code} ({found.name}, {found.course_title})")
