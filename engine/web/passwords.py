"""Passwords (decision 0033): change yours while signed in; a page for a forgotten one; the link a facilitator or an
admin issues, which sets a new one. The service sends no email, so the link is handed over by a person."""

from __future__ import annotations

import dataclasses
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..access_log import SECRET_PATH
from ..accounts import MAX_PASSWORD, password_problems
from ..security import account_key, hash_password_off_loop, verify_password_off_loop
from ..storage.records import User
from ..storage.sessions import token_hash
from .auth import signed_in, trusted
from .context import SESSION_COOKIE, client_address, cookie, form_data, page, service
from .learning import require_user

log = logging.getLogger("masterclass")

CHANGED = "/my-data?changed=password"
"""Where a new password leads: the account's page, which says it has changed."""
GONE = ("This link to set a new password does not work. It may have been used, replaced by a newer link, or be "
        "more than 24 hours old. Ask a facilitator in your department or an admin for a new one.")


def private(response: Response) -> Response:
    """A page holding a link's token, or reached by one: kept by no cache, shared or the browser's."""
    response.headers["Cache-Control"] = "no-store"
    return response


def may_issue(issuer: User, person: User) -> bool:
    """Whether ``issuer`` may issue a link for ``person``: an admin for anyone; a facilitator for a learner of
    their own department (a link signs its holder in as the person, so no one gets one for an account with more
    access than a learner's but an admin)."""
    if issuer.role == "admin":
        return True
    return issuer.role == "facilitator" and person.role == "learner" and person.department == issuer.department


def link_for(request: Request, token: str) -> str:
    return f"{service(request).settings.base_url}{SECRET_PATH}{token}"


async def forgotten(request: Request) -> Response:
    return page(request, "password_forgotten.html", title="If you have forgotten your password", active="sign-in")


async def new_password(request: Request) -> Response:
    svc = service(request)
    token = request.path_params["token"]
    user = svc.store.password_link_user(token) if 0 < len(token) <= 100 else None
    if user is None:
        raise HTTPException(404, GONE)
    if request.method in ("GET", "HEAD"):
        return private(page(request, "password_new.html", title="Set a new password", account=user, token=token))
    form = await form_data(request)
    password = (form.get("password") or [""])[0]
    errors = password_problems(password)
    if errors:
        return private(page(request, "password_new.html", title="Set a new password", account=user, token=token,
                            errors=errors, status_code=422))
    changed = svc.store.set_password_by_link(token, await hash_password_off_loop(password))
    if changed is None:  # used, or replaced, while the password was being hashed
        raise HTTPException(404, GONE)
    # The person has proved they hold the link: whatever locked their account's sign-in is forgiven, and this
    # browser is trusted for the account from now on (``signed_in`` gives it the device cookie).
    svc.sign_in_limits.forgive(client_address(request), account_key(changed.email))
    log.info("account %s set a new password with a link", changed.public_id)
    signed_in_before = cookie(request, SESSION_COOKIE)
    if signed_in_before:  # as someone else, on a shared computer: that session ends here, not just its cookie
        svc.store.delete_session(signed_in_before)
    return signed_in(request, changed, CHANGED)


async def change(request: Request) -> Response:
    user = require_user(request)
    svc = service(request)
    if request.method in ("GET", "HEAD"):
        return page(request, "password_change.html", title="Change your password", active="my-data")
    form = await form_data(request)
    current = (form.get("current") or [""])[0]
    password = (form.get("password") or [""])[0]
    token = cookie(request, SESSION_COOKIE)
    assert token is not None  # require_user found its session
    # Guesses count per session: someone holding a signed-in browser may guess no faster than at the sign-in page,
    # and other people's failures (for the account, or from a shared address) cannot stop the owner here.
    guesses = svc.sign_in_limits.current_password
    session = "session:" + token_hash(token)
    checked = user.password_hash
    errors = []
    if not current:
        errors.append({"field": "current", "text": "Enter your current password"})
    elif guesses.blocked(session):
        errors.append({"field": "current", "text": "Too many wrong passwords. Wait 15 minutes, then try again"})
        return page(request, "password_change.html", title="Change your password", active="my-data",
                    errors=errors, status_code=429)
    elif len(current) > MAX_PASSWORD or not await verify_password_off_loop(checked, current):
        if guesses.fail(session):
            log.warning("password change in a session of account %s locked for 15 minutes after %d wrong "
                        "passwords", user.public_id, guesses.limit)
        errors.append({"field": "current", "text": "Your current password is not correct"})
    errors += password_problems(password)
    if not errors and password == current:
        errors.append({"field": "password", "text": "Your new password must be different from your current one"})
    if errors:
        return page(request, "password_change.html", title="Change your password", active="my-data",
                    errors=errors, status_code=422)
    guesses.reset(session)
    new_hash = await hash_password_off_loop(password)
    if not svc.store.change_password(user.id, new_hash, checked=checked, session=token):
        # The password was set with a link, or this session ended, while the new one was being hashed.
        raise HTTPException(409, "Your password was changed another way while you were changing it. Sign in "
                                 "again, then try again if you still need to.")
    # Every device cookie made for the old password is void now; this browser stays trusted.
    return trusted(request, RedirectResponse(CHANGED, status_code=303),
                   dataclasses.replace(user, password_hash=new_hash))


routes = [
    Route("/password/forgotten", forgotten),
    Route("/password/change", change, methods=["GET", "POST"]),
    Route(SECRET_PATH + "{token}", new_password, methods=["GET", "POST"]),
]
