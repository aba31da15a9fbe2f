"""What a request that fails is answered with: one layer between the application and its router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Handler = Callable[[Request, Exception], Awaitable[Response]]


class ErrorPages:
    """Pure ASGI middleware: an exception with a handler (``HTTPException``, a redirect) is answered by it; any
    other is answered by ``server_error`` and raised again, so the server logs it.

    It stands in for the two layers Starlette puts around every request (``ServerErrorMiddleware`` outside the
    user's middleware, ``ExceptionMiddleware`` inside), which made three closures and a ``Request`` a request and
    wrapped every message sent twice: about 5% of a lesson page's work in the application, for an exception a
    few requests in a thousand raise. What a client gets is the same:
    - a handled exception before the response started: the handler's response;
    - after it started: nothing more is sent (the response is cut short), and the exception is raised;
    - any other exception: ``server_error``'s response if none started, and the exception is raised.
    Routes that Starlette wraps in its own exception layer find the same handlers in the scope, as before.
    """

    def __init__(self, app: ASGIApp, *, handlers: Mapping[type[Exception], Handler],
                 status_handlers: Mapping[int, Handler], server_error: Handler) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.status_handlers = dict(status_handlers)
        self.server_error = server_error
        self._in_scope = (self.handlers, self.status_handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # the lifespan
            return
        scope["starlette.exception_handlers"] = self._in_scope
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is not None and not started:
                response = await handler(Request(scope, receive), exc)
                await response(scope, receive, sender)
                exc.__traceback__ = None  # a reused exception would gather tracebacks from request to request
                return
            response = await self.server_error(Request(scope), exc)
            if not started:
                await response(scope, receive, send)
            raise

    def _handler(self, exc: Exception) -> Handler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self.status_handlers:
            return self.status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            found = self.handlers.get(cls)
            if found is not None:
                return found
        return None


class Application(Starlette):
    """Starlette, with ``ErrorPages`` in place of its two exception layers; it takes no middleware of its own
    (the service's is outside it: ``Guard``)."""

    def build_middleware_stack(self) -> ASGIApp:
        if self.user_middleware or self.debug or self.max_body_size is not None:
            return super().build_middleware_stack()
        handlers: dict[type[Exception], Handler] = {}
        status_handlers: dict[int, Handler] = {}
        server_error: Handler | None = None
        for key, value in self.exception_handlers.items():
            handler: Any = value
            if key in (500, Exception):
                server_error = handler
            elif isinstance(key, int):
                status_handlers[key] = handler
            else:
                handlers[key] = handler
        if server_error is None:
            return super().build_middleware_stack()
        return ErrorPages(self.router, handlers=handlers, status_handlers=status_handlers, server_error=server_error)
