"""ErrorPages answers a failing request as Starlette's two exception layers did, and the service's pages use it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from engine.web import learning
from engine.web.errors import Application, ErrorPages
from webhelpers import make_app, register

ROOT = Path(__file__).resolve().parents[1]


class GoElsewhere(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class Teapot(HTTPException):
    pass


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(f"handled {exc.status_code}: {exc.detail}", status_code=exc.status_code)


async def go_elsewhere(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GoElsewhere)
    return RedirectResponse(exc.url, status_code=303)


async def gone(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("status handler for 410", status_code=410)


async def server_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"sorry: {type(exc).__name__}", status_code=500)


async def ok(request: Request) -> Response:
    return PlainTextResponse("fine")


async def not_found(request: Request) -> Response:
    raise HTTPException(404, "no such thing")


async def teapot(request: Request) -> Response:
    raise Teapot(418, "short and stout")


async def elsewhere(request: Request) -> Response:
    raise GoElsewhere("/ok")


async def gone_route(request: Request) -> Response:
    raise HTTPException(410, "gone")


async def broken(request: Request) -> Response:
    raise ValueError("a bug")


async def broken_midway(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"half"
        raise HTTPException(400, "too late to say so")

    return StreamingResponse(body())


def sync_not_found(request: Request) -> Response:  # Starlette wraps a sync endpoint in its own exception layer
    raise HTTPException(404, "sync")


ROUTES = [Route("/ok", ok), Route("/missing", not_found), Route("/teapot", teapot), Route("/elsewhere", elsewhere),
          Route("/gone", gone_route), Route("/broken", broken), Route("/midway", broken_midway),
          Route("/sync", sync_not_found), Route("/post-only", ok, methods=["POST"]),
          Mount("/inner", app=Starlette(routes=[Route("/missing", not_found)]))]
HANDLERS = {HTTPException: http_error, GoElsewhere: go_elsewhere, 410: gone, Exception: server_error}


def both(**kwargs: object) -> list[TestClient]:
    return [TestClient(cls(routes=ROUTES, exception_handlers=HANDLERS), **kwargs)  # type: ignore[arg-type]
            for cls in (Starlette, Application)]


def test_the_layer_replaces_starlettes_two() -> None:
    app = Application(routes=ROUTES, exception_handlers=HANDLERS)
    assert isinstance(app.build_middleware_stack(), ErrorPages)


@pytest.mark.parametrize("path", ["/ok", "/missing", "/teapot", "/elsewhere", "/gone", "/sync", "/post-only",
                                  "/inner/missing", "/nowhere", "/ok/"])
def test_a_handled_exception_gets_the_same_answer_as_from_starlette(path: str) -> None:
    starlette, ours = both(follow_redirects=False)
    expected, got = starlette.get(path), ours.get(path)
    assert (got.status_code, got.text, got.headers.get("location")) == (
        expected.status_code, expected.text, expected.headers.get("location"))
    assert got.status_code != 500


def test_an_unhandled_exception_gets_the_server_error_page_and_is_raised_for_the_server_to_log() -> None:
    for client in both(raise_server_exceptions=False):
        response = client.get("/broken")
        assert (response.status_code, response.text) == (500, "sorry: ValueError")
    for client in both():
        with pytest.raises(ValueError, match="a bug"):
            client.get("/broken")


def test_an_exception_after_the_response_started_cuts_it_short_and_is_raised() -> None:
    for client in both():
        with pytest.raises(Exception, match=r"too late|response already started"):
            client.get("/midway")
    _, ours = both(raise_server_exceptions=False)
    response = ours.get("/midway")
    assert response.status_code == 200 and response.text == "half"  # nothing else was sent after the start


def test_a_handled_exceptions_traceback_is_dropped() -> None:
    shared = HTTPException(404, "the same object every time")

    async def reused(request: Request) -> Response:
        raise shared

    client = TestClient(Application(routes=[Route("/r", reused)], exception_handlers=HANDLERS))
    assert client.get("/r").status_code == 404
    assert shared.__traceback__ is None


def test_the_lifespan_passes_through() -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        seen.append("start")
        yield
        seen.append("stop")

    with TestClient(Application(routes=ROUTES, exception_handlers=HANDLERS, lifespan=lifespan)) as client:
        assert client.get("/ok").text == "fine"
    assert seen == ["start", "stop"]


def test_with_middleware_of_its_own_it_is_starlette_as_it_comes() -> None:
    class Tag(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            response.headers["x-tag"] = "1"
            return response

    app = Application(routes=ROUTES, exception_handlers=HANDLERS, middleware=[Middleware(Tag)])
    assert not isinstance(app.build_middleware_stack(), ErrorPages)
    response = TestClient(app).get("/missing")
    assert (response.status_code, response.headers["x-tag"]) == (404, "1")
    assert not isinstance(Application(routes=ROUTES).build_middleware_stack(), ErrorPages)  # no 500 handler


def test_a_bug_in_a_lesson_page_gets_the_services_error_page_and_is_logged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    client, _store = make_app(ROOT / "content", tmp_path / "t.db")
    register(client)
    lesson = "/innovation-masterclass/00-start/welcome"
    assert client.get(lesson).status_code == 200

    def bug(*args: object, **kwargs: object) -> Response:
        raise RuntimeError("a bug in the lesson page")

    monkeypatch.setattr(learning, "render_lesson", bug)
    quiet = TestClient(client.app, raise_server_exceptions=False, cookies=client.cookies)
    with caplog.at_level(logging.ERROR, logger="masterclass"):
        response = quiet.get(lesson)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "Traceback" not in response.text and "a bug in the lesson page" not in response.text
    assert [r.getMessage() for r in caplog.records if "unhandled" in r.getMessage()] == [
        f"unhandled error on GET {lesson}: RuntimeError"]
    assert not any(record.exc_info for record in caplog.records)  # the server logs the traceback, once
    with pytest.raises(RuntimeError):  # and on to the server, which logs it with its traceback
        client.get(lesson)
