"""What every request handler shares: the service context, the current user, and page rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..security import SignInLimits, address_key, csrf_ok, csrf_token
from ..settings import Settings
from ..storage.db import Store
from ..storage.records import User
from ..xapi.emit import Emitter

if TYPE_CHECKING:
    from .preview import Preview
from .courses import CourseRuntime
from .templating import render

SESSION_COOKIE = "mc_session"
BROWSER_COOKIE = "mc_browser"


class Redirect(Exception):
    """Raised to send the browser elsewhere, e.g. to sign in first."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass
class Service:
    settings: Settings
    store: Store
    secret: bytes
    courses: dict[str, CourseRuntime]
    sign_in_limits: SignInLimits
    """Failed sign-ins, per trusted browser, per address and account, per account and per address (decision
    0031). In this process's memory: a restart clears every lockout."""
    emitter: Emitter
    preview: Preview | None = None
    preview_email: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def service(request: Request) -> Service:
    found = request.scope.get("mc_service")  # put there by the Guard middleware
    return found if found is not None else request.app.state.service  # type: ignore[no-any-return]


def cookie(request: Request, name: str) -> str | None:
    """A cookie's value, from the cookies the Guard middleware parsed once for the request."""
    cookies = request.scope.get("mc_cookies")
    return (cookies if cookies is not None else request.cookies).get(name)


def current_user(request: Request) -> User | None:
    """The signed-in user, looked up once per request (kept in the ASGI scope that every Request shares)."""
    scope = request.scope
    if "mc_user" not in scope:
        token = cookie(request, SESSION_COOKIE)
        svc = service(request)
        user = svc.store.session_user(token) if token else None
        if user is None and svc.preview is not None:
            # The preview has one learner, always signed in: the author.
            user = svc.store.user_by_email(svc.preview_email)
        scope["mc_user"] = user
    return scope["mc_user"]  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    """The client's address as the limits count it (``security.address_key``: an IPv6 address by its /64)."""
    return address_key(request.client.host if request.client else "")


def browser_id(request: Request) -> str:
    return request.scope.get("mc_browser", "")  # type: ignore[no-any-return]


def wants_json(request: Request) -> bool:
    """Whether the client asks for JSON before HTML (the page's script asks for JSON alone)."""
    accept = request.headers.get("accept", "")
    if "application/json" not in accept:
        return False
    ranks = {"application/json": 0.0, "text/html": 0.0}
    for part in accept.split(","):
        kind, _, params = part.partition(";")
        kind = kind.strip().lower()
        if kind in ranks:
            ranks[kind] = _quality(params)
    return ranks["application/json"] > 0 and ranks["application/json"] >= ranks["text/html"]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


class BodyTooLarge(Exception):
    """A request body past ``max_body_bytes``, found while reading it (``Guard``)."""


TOO_LARGE = ("What you sent is more than this service accepts in one go. Go back, make it shorter, and send it "
             "again.")

_CONTROLS = dict.fromkeys([*range(32), 127])
del _CONTROLS[9], _CONTROLS[10], _CONTROLS[13]
"""Control characters that no one types (a NUL, an escape) are dropped from what a form sends: tab and line
breaks stay."""

MAX_FORM_FIELDS = 200
URLENCODED = "application/x-www-form-urlencoded"


async def form_data(request: Request) -> dict[str, list[str]]:
    """The posted form as lists of values, after checking its CSRF token."""
    values: dict[str, list[str]] = {}
    try:
        if request.headers.get("content-type", "").partition(";")[0].strip().lower() == URLENCODED:
            # What every form of the service posts: parsed in one call by the standard library's parser, a third
            # of the cost of Starlette's streaming parser for an answer. A browser percent-encodes every byte past
            # ASCII, in UTF-8: anything else was not sent by a form, and is refused (where Starlette reads it).
            body = (await request.body()).decode("ascii")
            pairs: list[tuple[str, Any]] = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                                                     errors="strict")
        else:
            pairs = list((await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)).multi_items())
    except BodyTooLarge:  # sent without a length (chunked), so found only while reading it
        raise HTTPException(413, TOO_LARGE) from None
    except Exception:  # malformed multipart or urlencoded body, or too many fields
        raise HTTPException(400, "The form could not be read.") from None
    for key, value in pairs:
        if isinstance(value, str):
            values.setdefault(key, []).append(value.translate(_CONTROLS) if not value.isprintable() else value)
    token = (values.get("csrf_token") or [request.headers.get("x-csrf-token", "")])[0]
    if not csrf_ok(service(request).secret, browser_id(request), token):
        raise HTTPException(403, "This form has expired or did not come from this service. Go back, reload the "
                                 "page and try again.")
    return values


def page(request: Request, template: str, *, status_code: int = 200, course_folder: Path | None = None,
         **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, page_context(request, **context), course_folder=course_folder),
                        status_code=status_code)


def page_context(request: Request, **context: Any) -> dict[str, Any]:
    """What every page template gets, with the page's own ``context`` on top."""
    svc = service(request)
    base = {
        "request": request,
        "service_name": svc.settings.service_name,
        "user": current_user(request),
        "csrf_token": csrf_token(svc.secret, browser_id(request)),
        "static_url": "/static",
        "assets_url": "/assets",
        "errors": [],
        "field_errors": {},
        "form": {},
        "lang": "en-GB",
        "preview": preview_context(request, svc) if svc.preview is not None else None,
    }
    base.update(context)
    if base["errors"] and not base["field_errors"]:
        base["field_errors"] = {e["field"]: e["text"] for e in base["errors"]}
    return base


def preview_context(request: Request, svc: Service) -> dict[str, Any]:
    """What the preview's tool bar needs: every lesson (locks do not apply), and this lesson's tools."""
    runtime = svc.preview.runtime if svc.preview is not None else None
    lessons = []
    if runtime is not None:
        for module in runtime.course.modules:
            lessons += [{"module": module.title, "title": lesson.title,
                         "url": f"/{runtime.slug}/{lesson.module}/{lesson.id}"} for lesson in module.lessons]
    parts = request.url.path.strip("/").split("/")
    on_lesson = runtime is not None and len(parts) == 3 and (parts[1], parts[2]) in runtime.lessons
    showing = request.query_params.get("answers") == "1"
    return {
        "lessons": lessons,
        "json_url": f"/preview/lessons/{parts[1]}/{parts[2]}.json" if on_lesson else "",
        "answers_url": (request.url.path + ("" if showing else "?answers=1")) if on_lesson else "",
        "showing_answers": showing,
    }


def error_response(request: Request, status: int, message: str) -> Response:
    titles = {400: "There is a problem with your request", 403: "You cannot do that",
              404: "Page not found", 405: "You cannot do that here", 409: "That changed while you were doing it",
              413: "That is too much to send",
              416: "That part of the file is not there",
              422: "There is a problem", 429: "Too many attempts", 500: "Sorry, there is a problem with the service",
              503: "Sorry, that could not be saved"}
    title = titles.get(status, "There is a problem")
    if wants_json(request) or request.url.path.startswith("/api/"):
        return JSONResponse({"error": title, "detail": message}, status_code=status)
    try:
        return page(request, "error.html", status_code=status, title=title, message=message)
    except Exception:  # the error page itself must never fail into a traceback
        return HTMLResponse(f"<h1>{title}</h1>", status_code=status)


def json_dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
