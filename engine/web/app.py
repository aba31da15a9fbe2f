"""The Starlette application: middleware, error pages, static files and routes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..access_log import flush_access_log, redacted
from ..erasures import erase_again
from ..security import SignInLimits, load_secret
from ..settings import Settings
from ..storage.db import Store
from ..storage.grouping import one_request
from ..xapi import lrs
from ..xapi.delivery import Deliverer, Endpoint
from ..xapi.emit import Emitter
from . import (
    auth,
    capstone,
    certificates,
    learning,
    mydata,
    pages,
    passwords,
    preview_routes,
    progress_pages,
    reports,
)
from .context import BROWSER_COOKIE, TOO_LARGE, BodyTooLarge, Redirect, Service, error_response, wants_json
from .courses import CourseRuntime, check_addresses
from .errors import Application
from .files import ServedFile, StaticFolder
from .preview import PREVIEW_EMAIL, Preview
from .routing import SegmentRouter, first_segments
from .templating import DEFAULT_THEME

ROOT = Path(__file__).resolve().parents[2]
GOVUK_DIST = ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
log = logging.getLogger("masterclass")


SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),  # no page of ours is framed: no clickjacking of its forms
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # lesson links to other sites do not tell them which page
)
"""Headers on every response but the LRS's."""


class Guard:
    """Pure ASGI middleware: refuse oversized bodies, give every browser a random id for CSRF tokens, and add
    `SECURITY_HEADERS`."""

    def __init__(self, app: ASGIApp, *, store: Store, max_body: int, secure: bool,
                 service: Service | None = None) -> None:
        self.app = app
        self.store = store
        self.service = service
        self.max_body = max_body
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/xapi/"):
            # The LRS speaks its own protocol: its own body limit (attachments are large), no browser cookie.
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cookies = _cookies(headers.get(b"cookie", b""))
        scope["mc_cookies"] = cookies  # parsed once for the request (context.cookie), not per Request object
        browser = cookies.get(BROWSER_COOKIE, "")
        fresh = not browser or len(browser) > 64
        if fresh:
            browser = secrets.token_urlsafe(24)
        scope["mc_browser"] = browser
        if self.service is not None:
            scope["mc_service"] = self.service  # for context.service: app.state's lookup is Python code, six a page
        length = headers.get(b"content-length", b"0")
        if not length.isdigit():
            await self._refuse(scope, receive, send, 400, "The request's length could not be read.")
            return
        if int(length) > self.max_body:
            await self._refuse(scope, receive, send, 413, TOO_LARGE)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise BodyTooLarge
            return message

        replaced = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the rest of a response that the failed commit below replaced
            if message["type"] == "http.response.start":
                # Nothing is acknowledged before it is stored: wait for the commit holding this request's writes.
                failure = await self.store.committed()
                if failure is not None:
                    replaced = True
                    log.error("a group of actions could not be committed: %s", failure)
                    await _secured(error_response(Request(scope), 503, "Nothing you sent was saved. Try again."))(
                        scope, receive, send)
                    return
                # A new list: a response's headers may be one that others share.
                headers = [*message.get("headers", ()), *SECURITY_HEADERS]
                if fresh:
                    value = f"{BROWSER_COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000"
                    if self.secure:
                        value += "; Secure"
                    headers.append((b"set-cookie", value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            with one_request():
                await self.app(scope, limited_receive, send_with_cookie)
        except BodyTooLarge:  # a body read other than by ``form_data``, which says so itself
            await self._refuse(scope, receive, send, 413, TOO_LARGE)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        """Guard's own answer, as the app's error pages are: a GOV.UK page, or JSON to a script that asks for it."""
        if self.service is None:  # an app built without the service (tests of the middleware alone)
            response: Response = PlainTextResponse(message, status_code=status)
        else:
            response = error_response(Request(scope), status, message)
        await _secured(response)(scope, receive, send)


def _secured(response: Response) -> Response:
    """A response Guard sends itself, past ``send_with_cookie``, with the security headers."""
    response.raw_headers = [*response.raw_headers, *SECURITY_HEADERS]
    return response


_parsed_cookies: dict[bytes, dict[str, str]] = {}
MAX_PARSED_COOKIES = 10_000
"""Cookie headers kept parsed: a browser sends the same header with every request until a cookie changes, and
Starlette's parser is Python code, about 2% of a lesson page served. Headers of up to ``MAX_KEPT_COOKIE_HEADER``
bytes are kept (ours are about 120), so an attacker's made-up headers hold at most about 20 MB."""
MAX_KEPT_COOKIE_HEADER = 1024


def _cookies(header: bytes) -> dict[str, str]:
    """The cookies of a header, parsed as Request.cookies parses them (leniently: a malformed header is not a
    500). The dict is shared by every request that sends the same header: it is never changed."""
    found = _parsed_cookies.get(header)
    if found is None:
        found = cookie_parser(header.decode("latin-1"))
        if len(_parsed_cookies) >= MAX_PARSED_COOKIES:
            _parsed_cookies.clear()
        if len(header) <= MAX_KEPT_COOKIE_HEADER:
            _parsed_cookies[header] = found
    return found


async def _to_lrs(request: Request) -> Response:
    return RedirectResponse("/xapi/" + (f"?{request.url.query}" if request.url.query else ""), status_code=308)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(request, exc.status_code, exc.detail)
    if exc.headers:  # a 405's Allow, which HTTP asks for
        response.headers.update(exc.headers)
    return response


async def redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    if wants_json(request):
        return JSONResponse({"error": "Sign in first", "sign_in": exc.url}, status_code=401)
    return RedirectResponse(exc.url, status_code=303)


async def server_error(request: Request, exc: Exception) -> Response:
    # One line, without the traceback: ErrorPages raises the error on to the server, which logs it with its
    # traceback (two tracebacks a failure made the log hard to read). The path is the client's: at most 200
    # characters of it, with anything unprintable escaped.
    log.error("unhandled error on %s %s: %s", request.method, ascii(redacted(request.url.path)[:200])[1:-1],
              type(exc).__name__)
    return error_response(request, 500, "Try again later. Your answers so far are saved.")


async def health(request: Request) -> Response:
    svc: Service = request.app.state.service
    try:
        ok = svc.store.ping()
    except Exception:
        ok = False
    return JSONResponse({"status": "ok" if ok else "error", "database": "ok" if ok else "error",
                         "courses": len(svc.courses)}, status_code=200 if ok else 503)


def app_routes(lrs_app: ASGIApp, *, preview: bool, govuk: bool) -> list[BaseRoute]:
    """The service's routes and mounts, in order: its own, then the courses' (``/{course}/...``) last."""
    static: list[BaseRoute] = [Route("/health", health)]
    static.append(Mount("/static", app=StaticFolder(directory=DEFAULT_THEME / "static", check_dir=False),
                        name="static"))
    if govuk:  # the GOV.UK Frontend files, when npm has installed them
        static.append(Mount("/assets", app=StaticFolder(directory=GOVUK_DIST / "assets", check_dir=False),
                            name="assets"))
        static.append(Route("/govuk-frontend.min.js",
                            lambda request: _file(GOVUK_DIST / "govuk-frontend.min.js", "text/javascript")))
    # A tool given the LRS's address without its slash: on to the LRS, not the course pages' 404.
    static += [Route("/xapi", _to_lrs, methods=["GET", "HEAD", "POST", "PUT", "DELETE"]), Mount("/xapi", app=lrs_app)]
    return [*static, *auth.routes, *passwords.routes, *mydata.routes, *pages.routes,
            *(preview_routes.routes if preview else []),
            *progress_pages.routes, *capstone.routes, *certificates.routes, *reports.routes, *learning.routes]


@cache
def reserved_addresses() -> frozenset[str]:
    """The first path segments of the service's own routes and mounts (``reports``, ``sign-in``, ``xapi``...), in
    `masterclass serve` and `preview`, with the GOV.UK Frontend files installed or not: no course may have one
    for its slug, or the service's route would take its pages (``courses.check_addresses``)."""
    return frozenset(first_segments(app_routes(PlainTextResponse(""), preview=True, govuk=True)))


def create_app(*, settings: Settings, store: Store, courses: list[CourseRuntime], secret: bytes | None = None,
               preview: Preview | None = None) -> Starlette:
    addresses = [(rt.folder, rt.slug) for rt in courses]
    if preview is not None and preview.result is not None and preview.result.course is not None:
        addresses.append((preview.root, preview.result.course.slug))  # its slug, even before it first builds
    check_addresses(addresses, reserved_addresses())
    store.session_lifetime = settings.session_days * 24 * 3600.0
    again = erase_again(store)
    if again:
        log.warning("deleted %d account(s) again that were erased after the backup this database was restored from",
                    again)
    service = Service(
        settings=settings,
        store=store,
        secret=secret or load_secret(store.path),
        courses={rt.slug: rt for rt in courses},
        sign_in_limits=SignInLimits(attempts=settings.sign_in_attempts,
                                    per_account=settings.sign_in_attempts_per_account,
                                    per_address=settings.sign_in_attempts_per_address),
        emitter=Emitter(base_url=settings.base_url, endpoints=[e["name"] for e in settings.lrs_endpoints],
                        include_email=settings.xapi_include_email),
        preview=preview,
        preview_email=PREVIEW_EMAIL,
    )
    if preview is not None:
        preview.courses = service.courses
        if preview.runtime is not None:
            service.courses[preview.runtime.slug] = preview.runtime
    endpoints = [Endpoint.from_settings(e) for e in settings.lrs_endpoints]
    deliverer = Deliverer(store, endpoints, batch=settings.lrs_batch_size) if endpoints else None
    if deliverer is not None:
        service.emitter.on_saved = deliverer.wake.set

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(deliverer.run(stop)) if deliverer else None
        watcher = asyncio.create_task(preview.watch(stop)) if preview else None
        yield
        stop.set()
        if watcher is not None:
            await asyncio.wait([watcher], timeout=5)
        if task is not None:
            # Finish the batch in flight: the outbox keeps anything not yet confirmed for next start.
            await asyncio.wait([task], timeout=15)
        lrs_app.close()  # its read-only connections and read-ahead threads
        flush_access_log()

    lrs_app = lrs.make_app(store, base_url=settings.base_url,
                           on_saved=deliverer.wake.set if deliverer else None,
                           failed_attempts=settings.lrs_sign_in_attempts_per_address)
    app = Application(
        routes=app_routes(lrs_app, preview=preview is not None, govuk=GOVUK_DIST.is_dir()),
        exception_handlers={HTTPException: http_error, Redirect: redirect, Exception: server_error},
        lifespan=lifespan,
    )
    app.router = SegmentRouter(app.router.routes, lifespan=lifespan)
    app.state.service = service
    return Guard(app, store=store, max_body=settings.max_body_bytes, secure=settings.secure_cookies,  # type: ignore[return-value]
                 service=service)


def _file(path: Path, media_type: str) -> Response:
    return ServedFile(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
