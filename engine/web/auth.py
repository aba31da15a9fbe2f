"""Accounts: register, sign in, sign out."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import events
from ..accounts import account_problems
from ..security import address_key, hash_password, verify_password
from ..storage.db import EmailTaken
from .context import SESSION_COOKIE, cookie, current_user, form_data, page, service


def safe_next(value: str | None) -> str:
    """Only a path on this service: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def signed_in(request: Request, user_id: int, target: str) -> Response:
    svc = service(request)
    token = svc.store.create_session(user_id)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=svc.settings.secure_cookies,
                        max_age=60 * 60 * 24 * 30, path="/")
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
    if request.method == "GET":
        return _register_page(request)
    form = await form_data(request)
    values = {k: _one(form, k) for k in ("name", "email", "department")}
    password = (form.get("password") or [""])[0]
    errors = account_problems(svc.settings, name=values["name"], email=values["email"],
                              department=values["department"], password=password)
    if not errors:
        try:
            user = svc.store.create_user(name=values["name"], email=values["email"], department=values["department"],
                                         password_hash=hash_password(password))
        except EmailTaken:
            errors.append({"field": "email", "text": "There is already an account with this email address. "
                           "Sign in instead"})
        else:
            return signed_in(request, user.id, safe_next(_one(form, "next")))
    return _register_page(request, form=values, errors=errors, status_code=422)


async def sign_in(request: Request) -> Response:
    svc = service(request)
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if current_user(request):
            return RedirectResponse(next_url, status_code=303)
        return page(request, "sign_in.html", title="Sign in", active="sign-in", next=next_url)
    form = await form_data(request)
    email = _one(form, "email")
    password = (form.get("password") or [""])[0]
    next_url = safe_next(_one(form, "next"))
    address = address_key(request.client.host if request.client else "")
    account = f"email:{email.lower()}"
    errors = []
    if not email:
        errors.append({"field": "email", "text": "Enter your work email address"})
    if not password:
        errors.append({"field": "password", "text": "Enter your password"})
    if not errors and (svc.limiter.blocked(account) or svc.address_limiter.blocked(address)):
        errors.append({"field": "email",
                       "text": "Too many failed attempts to sign in. Wait 15 minutes, then try again"})
        return page(request, "sign_in.html", title="Sign in", form={"email": email}, errors=errors, next=next_url,
                    status_code=429)
    if not errors:
        user = svc.store.user_by_email(email)
        # Verifying against a dummy hash when there is no account keeps the timing the same.
        if verify_password(user.password_hash if user else None, password) and user is not None:
            svc.limiter.reset(account)
            return signed_in(request, user.id, next_url)
        svc.limiter.fail(account)
        svc.address_limiter.fail(address)
        errors.append({"field": "email", "text": "Enter a correct email address and password"})
    return page(request, "sign_in.html", title="Sign in", form={"email": email}, errors=errors, next=next_url,
                status_code=422)


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
