"""``masterclass users``: accounts made, listed, given a role, deleted, or given a link to set a new password."""

from __future__ import annotations

import click

from .accounts import ROLES, only_admin, role_problem
from .cli_support import CONFIG_FILE, open_store


@click.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--department", required=True)
@click.option("--admin", "role", flag_value="admin", help="Make an admin.")
@click.option("--facilitator", "role", flag_value="facilitator", help="Make a facilitator.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@click.option("--db", "db_path", default="masterclass.db", show_default=True)
@click.option("--config", "config", default=None, type=CONFIG_FILE,
              help="Settings file, for its departments and email domains.")
def users_add(email: str, name: str, department: str, role: str | None, password: str, db_path: str,
              config: str | None) -> None:
    """Create an account, e.g. the first admin. Example:

        masterclass users add admin@example.gov.uk --name "Ada Admin" --department "Cabinet Office" --admin
    """
    from .accounts import account_problems
    from .security import hash_password
    from .settings import load_settings
    from .storage.db import EmailTaken

    email, name, department = email.strip(), name.strip(), department.strip()
    problems = account_problems(load_settings(config), name=name, email=email, department=department,
                                password=password)
    if problems:
        raise click.ClickException("; ".join(problem["text"] for problem in problems))
    store = open_store(db_path)
    try:
        user = store.create_user(name=name, email=email, department=department,
                                 password_hash=hash_password(password), role=role or "learner")
    except EmailTaken:
        raise click.ClickException(f"there is already an account for {email}") from None
    click.echo(f"Created {user.role} {user.email}")


@users_group.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask to confirm.")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def users_delete(email: str, yes: bool, db_path: str) -> None:
    """Delete an account and everything recorded about it, as "My data" does for its owner (UK GDPR erasure): for
    a learner who asks by other means. It cannot be undone, and is recorded beside the database so that a
    restore from an older backup does not bring the account back. Example:

        masterclass users delete ada@example.gov.uk --db masterclass.db
    """
    from .erasures import erase

    store = open_store(db_path, existing=True)
    try:
        user = store.user_by_email(email.strip())
        if user is None:
            raise click.ClickException(f"there is no account for {email.strip()}")
        if not yes:
            click.confirm(f"Delete {user.name} <{user.email}> and everything recorded about them?", abort=True)
        erase(store, user)
    finally:
        store.close()
    click.echo(f"Deleted {user.email}")


@users_group.command("password-link")
@click.argument("email")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
@click.option("--config", "config", default=None, type=CONFIG_FILE, help="Settings file, for its base_url.")
def users_password_link(email: str, db_path: str, config: str | None) -> None:
    """Print a link for an account to set a new password, for someone who has forgotten theirs: the service sends
    no email. The link works once, for 24 hours, and replaces any link made for the account before. Send it to
    that person only: anyone with it can sign in as them. Facilitators and admins can also make one on a learner's
    page of the reports. Example:

        masterclass users password-link ada@example.gov.uk --db masterclass.db
    """
    from .access_log import SECRET_PATH
    from .settings import load_settings

    settings = load_settings(config)
    store = open_store(db_path, existing=True)
    try:
        user = store.user_by_email(email.strip())
        if user is None:
            raise click.ClickException(f"there is no account for {email.strip()}")
        token = store.issue_password_link(user.id, issued_by=None)
    finally:
        store.close()
    if "base_url" not in settings.given:
        click.echo(f"base_url is not set: the link below assumes {settings.base_url}; if learners reach the service "
                   "at another address, put that before /password/new/ instead (docs/settings.md)", err=True)
    click.echo(f"{settings.base_url}{SECRET_PATH}{token}")
    click.echo(f"Send it to {user.name} <{user.email}> only. It works once, until 24 hours from now.", err=True)


@users_group.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def users_role(email: str, role: str, db_path: str) -> None:
    """Give an existing account a role: a learner; a facilitator, who sees their department's reports, facilitates
    its teams and can give its learners a link to set a forgotten password; or an admin, who can do everything for
    every department. A running service applies it from the account's next request. Any link to set the account's
    password is cancelled, since it was issued for the access the account had. Example:

        masterclass users role fay@example.gov.uk facilitator --db masterclass.db
    """
    store = open_store(db_path, existing=True)
    try:
        user = store.user_by_email(email.strip())
        if user is None:
            raise click.ClickException(f"there is no account for {email.strip()}")
        if user.role == role:
            click.echo(f"{user.email} is already {_a(role)}")
            return
        problem = role_problem(store, user, role)
        if problem is None and not store.set_role(user.id, role):
            problem = only_admin(user)  # after all: another admin was demoted meanwhile
        if problem:
            raise click.ClickException(problem)
    finally:
        store.close()
    click.echo(f"{user.email} is now {_a(role)} (was {_a(user.role)})")


@users_group.command("list")
@click.option("--role", type=click.Choice(ROLES), default=None, help="Only accounts with this role.")
@click.option("--department", default=None, help="Only accounts of this department.")
@click.option("--db", "db_path", default="masterclass.db", show_default=True, help="The SQLite database file.")
def users_list(role: str | None, department: str | None, db_path: str) -> None:
    """List accounts as tab-separated lines: email, name, department, role, created. With neither option, every
    account (470,000 in a whole-service database: pipe it). Example:

        masterclass users list --role facilitator --db masterclass.db
    """
    store = open_store(db_path, existing=True)
    try:
        for user in store.users(role=role, department=department):
            click.echo("\t".join((user.email, _one_line(user.name), _one_line(user.department), user.role,
                                   user.created_at)))
    finally:
        store.close()


def _a(role: str) -> str:
    return ("an " if role[0] in "aeiou" else "a ") + role


def _one_line(text: str) -> str:
    """A name as typed may hold a tab or a line break, which would break a line of the list apart."""
    return " ".join(text.split())
