"""What an account must be, wherever it is made: the registration form and ``masterclass users add``; and what a
new password must be, wherever it is chosen."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from .storage.db import Store
    from .storage.records import User

EMAIL = re.compile(r"^[^@\s]+@([^@\s]+\.[^@\s]+)$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1000
MAX_NAME = 200
ROLES = ("learner", "facilitator", "admin")
"""An account's roles: a facilitator sees their department's reports and facilitates its teams; an admin can do
everything, for every department."""


def account_problems(settings: Settings, *, name: str, email: str, department: str, password: str
                     ) -> list[dict[str, str]]:
    """Each problem with a new account's details, as the error summary lists them (field and text); none when it
    may be made. The values are as typed, with surrounding spaces already taken off."""
    errors = []
    if not name:
        errors.append({"field": "name", "text": "Enter your full name"})
    elif len(name) > MAX_NAME:
        errors.append({"field": "name", "text": f"Full name must be {MAX_NAME} characters or fewer"})
    match = EMAIL.match(email)
    if not email:
        errors.append({"field": "email", "text": "Enter your work email address"})
    elif not match or len(email) > 254:
        errors.append({"field": "email",
                       "text": "Enter an email address in the correct format, like name@example.gov.uk"})
    elif settings.allowed_email_domains and not any(
        match.group(1).lower() == d.lower() or match.group(1).lower().endswith("." + d.lower())
        for d in settings.allowed_email_domains
    ):
        errors.append({"field": "email", "text": "Enter your work email address, ending in "
                       + " or ".join(settings.allowed_email_domains)})
    if department not in settings.departments:
        errors.append({"field": "department", "text": "Select your department"})
    return errors + password_problems(password)


def password_problems(password: str, field: str = "password") -> list[dict[str, str]]:
    """What is wrong with a new password, wherever it is chosen: registration, a change, a link to set one."""
    if len(password) < MIN_PASSWORD or not password.strip():
        return [{"field": field, "text": f"Password must be {MIN_PASSWORD} characters or more"}]
    if len(password) > MAX_PASSWORD:
        return [{"field": field, "text": f"Password must be {MAX_PASSWORD:,} characters or fewer"}]
    return []


def role_problem(store: Store, user: User, role: str) -> str | None:
    """Why ``user`` cannot be given ``role``, wherever it is given (``masterclass users role``, an admin's form), or
    None: the service always keeps an admin, who can give roles back."""
    if role not in ROLES:
        return "Select a role"
    if user.role == "admin" and role != "admin" and store.count_role("admin") == 1:
        return only_admin(user)
    return None


def only_admin(user: User) -> str:
    """What is said when a change would leave no admin (``Store.set_role`` refuses it in the write, too)."""
    return f"{user.email} is the only admin: make another account an admin first"
