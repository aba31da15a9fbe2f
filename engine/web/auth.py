"""Accounts: register, sign in, sign out."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import events
from ..accounts import account_problems
from ..security import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE,
    account_key,
    device_cookie,
    device_nonce,
    hash_password_off_loop,
    verify_password_off_loop,
)
from ..storage.db import EmailTaken
from ..storage.records import User
from .context import SESSION_COOKIE, Service, client_address, cookie, current_user, form_data, page, service

log = logging.getLogger("masterclass")


def safe_next(value: str | None) -> str:
    """Only a path on this service: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def signed_in(request: Request, user: User, target: str) -> Response:
    svc = service(request)
    token = svc.store.create_session(user.id, password_hash=user.password_hash)
    if token is None:  # set again (with a link) while the password typed was being checked: it is not the one now
        raise HTTPException(409, "The password for this account was changed while you were signing in. Sign in "
                                 "again with the new one.")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=svc.settings.secure_cookies,
                        max_age=svc.settings.session_days * 24 * 3600, path="/")
    return trusted(request, response, user)


def trusted(request: Request, response: Response, user: User) -> Response:
    """``response``, making its browser trusted for the account (decision 0031): its own device cookie, kept when
    it had a valid one (its failure count goes with its nonce), for the account's password as it is now (``user``
    as stored), sent to the sign-in page alone."""
    svc = service(request)
    nonce = device_nonce(svc.secret, cookie(request, DEVICE_COOKIE), user.public_id,
                         password_hash=user.password_hash) or secrets.token_hex(16)
    response.set_cookie(DEVICE_COOKIE, device_cookie(svc.secret, user.public_id, nonce,
                                                     password_hash=user.password_hash),
                        httponly=True, samesite="lax", secure=svc.settings.secure_cookies, max_age=DEVICE_MAX_AGE,
                        path="/sign-in")
    return response


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def _register_page(request: Request, **context: Any) -> Response:
    svc = service(request)
    chosen = context.get("form", {}).get("department", "")
    items = [{"value": d, "text": d, "selected": d == chosen} for d in svc.settings.departments]
    return page(request, "register.html", title="Create an account", active="register", departments_items=items,
                allowed_domains=svc.settings.allowed_email_domains,
                next=safe_next(request.query_params.get("next")), **context)


async def register(request: Request) -> Response:
    svc = service(request)
    if request.method in ("GET", "HEAD"):
        return _register_page(request)
    form = await form_data(request)
    values = {k: _one(form, k) for k in ("name", "email", "department")}
    password = (form.get("password") or [""])[0]
    errors = account_problems(svc.settings, name=values["name"], email=values["email"],
                              department=values["department"], password=password)
    if not errors:
        try:
            user = svc.store.create_user(name=values["name"], email=values["email"], department=values["department"],
                                         password_hash=await hash_password_off_loop(password))
        except EmailTaken:
            errors.append({"field": "email", "text": "There is already an account with this email address. "
                           "Sign in instead"})
        else:
            return signed_in(request, user, safe_next(_one(form, "next")))
    return _register_page(request, form=values, errors=errors, status_code=422)


async def sign_in(request: Request) -> Response:
    svc = service(request)
    next_url = safe_next(request.query_params.get("next"))
    if request.method in ("GET", "HEAD"):
        if current_user(request):
            return RedirectResponse(next_url, status_code=303)
        return page(request, "sign_in.html", title="Sign in", active="sign-in", next=next_url)
    form = await form_data(request)
    email = _one(form, "email")
    password = (form.get("password") or [""])[0]
    next_url = safe_next(_one(form, "next"))
    address = client_address(request)
    account = account_key(email)
    errors = []
    if not email:
        errors.append({"field": "email", "text": "Enter your work email address"})
    if not password:
        errors.append({"field": "password", "text": "Enter your password"})
    if errors:
        return page(request, "sign_in.html", title="Sign in", form={"email": email}, errors=errors, next=next_url,
                    status_code=422)
    limits = svc.sign_in_limits
    user = svc.store.user_by_email(email)
    # A browser that has signed in to this account before is counted on its own: no one else's failures, for
    # this account or from this address, stop it (decision 0031).
    device = device_nonce(svc.secret, cookie(request, DEVICE_COOKIE), user.public_id,
                          password_hash=user.password_hash) if user else None
    trusted = limits.trusted(device)
    if not trusted and limits.blocked(address, account):
        errors.append({"field": "email",
                       "text": "Too many failed attempts to sign in. Wait 15 minutes, then try again"})
        return page(request, "sign_in.html", title="Sign in", form={"email": email}, errors=errors, next=next_url,
                    status_code=429)
    # Verifying against a dummy hash when there is no account keeps the timing the same.
    if await verify_password_off_loop(user.password_hash if user else None, password) and user is not None:
        limits.succeeded(address, account, device, trusted=trusted)
        return signed_in(request, user, next_url)
    for kind, failures in limits.failed(address, account, device if trusted else None):
        _log_lockout(svc, kind, failures, user, email, address)
    errors.append({"field": "email", "text": "Enter a correct email address and password"})
    return page(request, "sign_in.html", title="Sign in", form={"email": email}, errors=errors, next=next_url,
                status_code=422)


def _log_lockout(svc: Service, kind: str, failures: int, user: User | None, email: str, address: str) -> None:
    """One line when a limit locks, so that operators can see an attack: the account by its public id (what the
    reports' learner pages are addressed by), never its email; an email with no account by a keyed hash, which
    tells two apart without telling what they are."""
    who = (f"account {user.public_id}" if user else
           f"unknown email {hmac.digest(svc.secret, b'log:' + email.lower().encode(), 'sha256').hex()[:12]}")
    where = address.removeprefix("ip:")
    lines = {
        "device": f"sign-in to {who} in a browser that had signed in to it before: trusted no more for 15 minutes",
        "pair": f"sign-in to {who} from {where} locked for 15 minutes",
        "account": f"sign-in to {who} locked for 15 minutes in browsers that have not signed in to it before",
        "address": f"sign-in from {where} locked for 15 minutes",
    }
    log.warning("%s after %d failures", lines[kind], failures)


async def sign_out(request: Request) -> Response:
    await form_data(request)
    token = cookie(request, SESSION_COOKIE)
    user = current_user(request)
    svc = service(request)
    if token and user:
        events.signed_out(svc.store, svc.emitter, user, {rt.course.iri: rt.course for rt in svc.courses.values()},
                          token)
    if token:
        svc.store.delete_session(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/register", register, methods=["GET", "POST"]),
    Route("/sign-in", sign_in, methods=["GET", "POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
]
