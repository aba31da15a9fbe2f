"""A router that tries only the routes that can match a path's first two segments and its number of slashes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

DEPTH = 2
"""How many leading path segments route selection looks at."""

Signature = tuple[str | int | None, ...]
"""A route's first ``DEPTH`` segments (a literal, or None where any segment may match: a parameter, or none), then
the number of slashes in every path it matches (None where that varies)."""


def signature(route: BaseRoute) -> Signature:
    """What a route needs of a path's leading segments and slashes; None matches anything there."""
    if not isinstance(route, Route | Mount):
        return (None,) * (DEPTH + 1)  # anything else (a Host) is tried for every path
    # A route's parameters never match a slash, except a path parameter's: a route without one matches only
    # paths with as many slashes as its own. A mount matches any path under its prefix.
    slashes = route.path.count("/") if isinstance(route, Route) and ":path}" not in route.path else None
    segments = route.path.lstrip("/").split("/")
    if isinstance(route, Route) and route.path == "/":
        return ("", *(None,) * (DEPTH - 1), slashes)
    out: list[str | None] = []
    for segment in segments[:DEPTH]:
        if ":path}" in segment:
            break  # a path parameter spans segments: nothing after it is known
        out.append(None if "{" in segment else segment)
    # A route with fewer segments (or a mount's prefix) says nothing about the rest: a superset is safe.
    return (*out, *(None,) * (DEPTH - len(out)), slashes)


def first_segments(routes: list[BaseRoute]) -> set[str]:
    """The literal first path segments of the routes and mounts, e.g. ``reports`` for ``/reports/{course}/``: the
    addresses ``/{course}/...`` can never have to itself."""
    return {str(first) for first, *_ in map(signature, routes) if first}


def direct(route: BaseRoute) -> ASGIApp | None:
    """The route's endpoint as an ASGI app without the exception layer Starlette puts around each one, when it is
    a plain async function (no middleware of its own), else None.

    Starlette wraps every endpoint in a layer that hands its exceptions (HTTPException, Redirect) to the app's
    handlers, as the ExceptionMiddleware outside the router does again with the same handlers and the same scope:
    an exception from the endpoint reaches those handlers all the same. The layer makes three closures and a
    Request per request, and wraps every message sent.
    """
    if type(route) is not Route or not inspect.iscoroutinefunction(route.endpoint):
        return None
    if not (inspect.isfunction(route.app) and route.app.__qualname__.startswith("request_response.")):
        return None  # wrapped in middleware of its own, or a body limit: leave it as Starlette made it
    endpoint: Callable[[Request], Awaitable[Response]] = route.endpoint

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


MAX_KEPT_MATCHES = 4096
"""Route matches kept (``SegmentRouter._matched``); a lesson path is about 70 characters, and paths of up to
``MAX_KEPT_PATH`` are kept, so made-up paths hold at most about 4 MB."""
MAX_KEPT_PATH = 512


class SegmentRouter(Router):
    """Starlette's router, trying only the routes whose leading path segments can match the request's.

    Starlette tries every route in turn, and the lesson routes come last because they start with a parameter
    (``/{course}/...``) that would otherwise catch ``/reports/...`` and the like: a lesson page tried some forty
    patterns first. A route whose leading segments are other literals can never match, so leaving it out
    changes nothing, and the routes tried keep their order, so the route chosen (or the first partial match,
    which answers 405) is the one Starlette would choose, but for one case: a path that an earlier route
    beginning with a literal names for other methods (``/sign-out``, POST only) answers that route's 405, where
    Starlette lets a later route beginning with a parameter (``/{course}``) take it as a course's and answer
    404. What matches nothing goes to Starlette's own code (slash redirects, 404).
    """

    _buckets: dict[Signature, list[BaseRoute]]
    _literals: list[set[str | int]]
    _indexed: list[BaseRoute] | None = None
    _matched: dict[tuple[str, str], tuple[Route, dict[str, Any]]]
    """Full matches found, by method and path: a learner's browser asks for the same few paths again and again."""
    _direct: dict[int, ASGIApp | None]
    """Each indexed route's ``direct`` app, by the route's id() (a Route compares by value, so it is no key; the
    index holds the routes, so their ids stay theirs)."""
    _literal_first: dict[int, bool]
    """Whether each indexed route's first segment is a literal, by the route's id()."""

    def _index(self) -> None:
        """Index the routes, again whenever they have changed since."""
        if self._indexed == self.routes:
            return
        self._buckets, self._literals = {}, [set() for _ in range(DEPTH + 1)]
        self._signatures = [(route, signature(route)) for route in self.routes]
        self._direct = {id(route): direct(route) for route in self.routes}
        self._literal_first = {id(route): sig[0] is not None for route, sig in self._signatures}
        self._matched = {}
        for _, sig in self._signatures:
            for n, segment in enumerate(sig):
                if segment is not None:
                    self._literals[n].add(segment)
        self._indexed = list(self.routes)

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that could match ``path``, in the router's order."""
        self._index()
        segments = path.lstrip("/").split("/", DEPTH)
        # Segments and slash counts no route names share one bucket, so the buckets stay few whatever is asked.
        slashes = path.count("/")
        key = (*(segments[n] if n < len(segments) and segments[n] in self._literals[n] else None
                 for n in range(DEPTH)),
               slashes if slashes in self._literals[DEPTH] else None)
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = [
                route for route, sig in self._signatures
                if all(want is None or want == got for want, got in zip(sig, key, strict=True))
            ]
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        self._index()
        key = (scope["method"], scope["path"])
        kept = self._matched.get(key)
        if kept is not None:
            # What Route.matches gave this method and path before: the same route and parameters (its regex and
            # convertors depend on nothing else), in a dict of this request's own.
            known, params = kept
            path_params = dict(scope.get("path_params", {}))
            path_params.update(params)
            scope.update(route=known, endpoint=known.endpoint, path_params=path_params)
            app = self._direct[id(known)]
            if app is not None:
                await app(scope, receive, send)
            else:
                await known.handle(scope, receive, send)
            return
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.candidates(scope["path"]):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if partial is not None and self._literal_first[id(partial[0])] and not self._literal_first[id(route)]:
                    # A path an earlier route names for other methods is the service's own (``/sign-out``), never
                    # a course's: that route's 405 with ``Allow``, not the course routes' 404.
                    break
                scope["route"] = route
                scope.update(child_scope)
                if type(route) is Route and len(key[1]) <= MAX_KEPT_PATH:
                    if len(self._matched) >= MAX_KEPT_MATCHES:
                        self._matched.clear()
                    self._matched[key] = (route, dict(child_scope["path_params"]))
                app = self._direct[id(route)]
                if app is not None:  # a full match has the method already: what Route.handle checks
                    await app(scope, receive, send)
                else:
                    await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:  # the right path with another method: its route answers 405
            scope["route"] = partial[0]
            scope.update(partial[1])
            await partial[0].handle(scope, receive, send)
            return
        if self.redirect_slashes and await self._redirect_slash(scope, receive, send):
            return
        await self.default(scope, receive, send)  # 404, as Starlette does it

    async def _redirect_slash(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Starlette's slash redirect (the path with or without its last slash, if a route takes that), but to a
        relative address: Starlette's is absolute, from the request's Host header, which any client chooses."""
        path = scope["path"]
        if path == "/" or path.startswith(("//", "/\\")):  # "//host" as a Location is another site
            return False
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        if not other or not any(route.matches({**scope, "path": other})[0] is not Match.NONE
                                for route in self.candidates(other)):
            return False
        query = scope.get("query_string", b"").decode("latin-1")
        # RedirectResponse quotes the address as Starlette's does (a decoded path, the query as it came).
        await RedirectResponse(other + (f"?{query}" if query else ""))(scope, receive, send)
        return True
