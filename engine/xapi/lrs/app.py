"""The ASGI application: reads the request, checks version, credentials and parameters, and hands it to the
statement writes and queries, the documents or the activity and agent resources."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...security import RateLimiter, password_work
from ...settings import SETTINGS
from ...storage import lrs as storage
from ...storage import lrs_credentials
from ...storage.clock import now
from ...storage.db import Store
from ...storage.prefetch import READ_AHEAD_THREADS, ReadAhead
from ..validate import XAPIValidationError
from .auth import authenticate
from .documents import documents
from .protocol import (
    DOCUMENT_KINDS,
    MAX_BODY,
    MAX_LIMIT,
    METHODS,
    PARAMS,
    VERSIONS,
    LRSError,
    Req,
    _alternate,
    _head,
    _json,
    parse_params,
    version_of,
    whole_number,
)
from .queries import StatementQueries
from .writes import StaleCredential, StatementWrites, _GroupCommit

log = logging.getLogger("masterclass.lrs")

FAILED_ATTEMPTS: int = next(s.default for s in SETTINGS if s.name == "lrs_sign_in_attempts_per_address")
"""Failed credentials per address in 15 minutes when no setting says otherwise: the setting's own default."""
IDLE_READERS = 8
"""Read-only connections kept open between requests (more are opened while more requests read at once)."""
KEPT_WRITERS = 1_000
"""Authorization headers of statement writers remembered with their credential (see :meth:`LRS._store`)."""


LRS_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    # A document is served with the type its writer gave, from the service's own address: were it HTML opened
    # in a browser (a cross-site form can ask for one, with the alternate request syntax), the sandbox gives it
    # an origin of its own and no scripts, so it cannot act as the signed-in person.
    (b"content-security-policy", b"sandbox; default-src 'none'"),
    (b"x-frame-options", b"DENY"),
)
"""Headers on every response of the LRS, which the service's own (``SECURITY_HEADERS``) are not."""


class LRS(StatementWrites, StatementQueries):
    """The ASGI application; mount it at /xapi."""

    def __init__(self, store: Store, *, base_url: str, endpoints: Callable[[], list[str]] | list[str] | None = None,
                 on_saved: Callable[[], None] | None = None, max_body: int = MAX_BODY, max_limit: int = MAX_LIMIT,
                 failed_attempts: int = FAILED_ATTEMPTS, read_ahead_threads: int = READ_AHEAD_THREADS) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self._endpoints = endpoints
        self.on_saved = on_saved
        self.max_body = max_body
        self.max_limit = min(max_limit, MAX_LIMIT)
        self.failures = RateLimiter(failed_attempts)
        self._committer = _GroupCommit(self._write_group)
        self._preparer_limit: anyio.CapacityLimiter | None = None
        self._terms = store.terms.known  # one cache of term numbers per connection: the store's
        self._writers: dict[str, lrs_credentials.Credential] = {}
        """Statement writers' Authorization headers and their credential when last read (see :meth:`_store`)."""
        self._readers: deque[Any] = deque()
        """Idle read-only connections, the one used last at the right (see :meth:`_reader`)."""
        self._memory = store.path == ":memory:" or store.path.startswith("file::memory:")
        """An in-memory database cannot be opened twice: then reads use the store's connection."""
        self._read_ahead = (ReadAhead(store.path, threads=read_ahead_threads)
                            if read_ahead_threads > 0 and not self._memory else None)
        """Helpers that read a query's statements from the disk several at a time (decision 0014)."""

    def endpoints(self) -> list[str]:
        if self._endpoints is None:
            return []
        return list(self._endpoints() if callable(self._endpoints) else self._endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        resource = self._resource(scope)
        version = "1.0.3"
        method = str(scope["method"]).upper()
        head = method == "HEAD"
        try:
            req = await self._request(scope, receive, method, resource)
            head = req.method == "HEAD"
            if resource == "/about":
                version = version_of(req.headers.get("x-experience-api-version"), lenient=True)
            else:
                version = version_of(req.headers.get("x-experience-api-version"))
            req.version = version
            response = await self._dispatch(req)
            if req.saved and self.on_saved is not None:
                self.on_saved()  # back on the event loop, so it may set an asyncio.Event
        except LRSError as exc:
            response = exc.response()
        except XAPIValidationError as exc:
            response = LRSError.invalid(exc).response()
        except Exception:
            log.exception("LRS error on %s %s", method, scope["path"])
            response = LRSError(500, "The LRS could not complete the request.").response()
        response.raw_headers.append((b"x-experience-api-version", version.encode("latin-1")))
        response.raw_headers.extend(LRS_HEADERS)
        if resource == "/statements":
            response.raw_headers.append((b"x-experience-api-consistent-through", now().encode("latin-1")))
        if head:
            response = _head(response)
        await response(scope, receive, send)

    @staticmethod
    def _resource(scope: Scope) -> str:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        return path.rstrip("/") or "/"

    async def _request(self, scope: Scope, receive: Receive, method: str, resource: str) -> Req:
        """The request from the ASGI scope and messages (read directly: this is the hot path)."""
        path: str = scope["path"]
        if resource not in METHODS:
            raise LRSError(404, f"There is no xAPI resource at {path}.", rule="not-found")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = whole_number(headers.get("content-length", ""))
        if length is not None and length > self.max_body:
            raise LRSError(413, f"The body is larger than this LRS accepts ({self.max_body} bytes).", rule="size")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise LRSError(413, f"The body is larger than this LRS accepts ({self.max_body} bytes).",
                               rule="size")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        query: bytes = scope.get("query_string", b"")
        params = parse_params(query) if query else {}
        client = scope.get("client")
        req = Req(method=method, resource=resource, path=path, params=params, headers=headers,
                  body=chunks[0] if len(chunks) == 1 else b"".join(chunks), client=client[0] if client else "")
        if req.method == "POST" and "method" in params:
            _alternate(req)
        return req

    async def _dispatch(self, req: Req) -> Response:
        """Checks, then the request's work: statement writes on the event loop and the group committer,
        everything else in a worker thread."""
        allowed = METHODS[req.resource]
        if req.method not in allowed:
            raise LRSError(405, f"{req.method} is not allowed on {req.resource}", rule="method",
                           headers={"Allow": ", ".join(allowed)})
        if req.resource == "/about":
            return _json({"version": VERSIONS})
        method = "GET" if req.method == "HEAD" else req.method
        header = req.headers.get("authorization")
        if req.resource == "/statements" and method != "GET":
            return await self._store(req, method, header)
        await self._authorise(req, method, header)
        return await run_in_threadpool(self._handle, req, method)

    async def _authorise(self, req: Req, method: str, header: str | None) -> None:
        """Credentials (their row read now), scope and parameters, for ``req.credential``."""
        credential = self._authenticate(header, req.client, verify=False)
        if credential is None:  # not verified yet in this process: argon2, off the event loop, two at a time
            credential = await password_work(partial(self._authenticate, header, req.client), pool="lrs")
        assert credential is not None
        req.credential = credential
        self._permitted(req, method)

    @staticmethod
    def _permitted(req: Req, method: str) -> None:
        assert req.credential is not None
        needed = "read" if method == "GET" else "write"
        if req.credential.scope not in (needed, "all"):
            raise LRSError(403, f"these credentials may not {needed}", rule="scope")
        known = PARAMS[(req.resource, method)]
        for name in req.params:
            if name not in known:
                raise LRSError(400, f"{name} is not a parameter of {method} {req.resource}", field=name,
                               rule="unknown-parameter")

    async def _store(self, req: Req, method: str, header: str | None) -> Response:
        """A statement write. Credentials that wrote here before are taken as they were then, and the group
        committer checks their row in the transaction that stores the statements (one read for a whole group,
        on the writer's connection, instead of one per request): a credential removed or replaced meanwhile
        stores nothing, and the request is answered as if its row had been read first."""
        kept = self._writers.get(header) if header else None
        if kept is not None:
            req.credential = kept
            try:
                self._permitted(req, method)
                return await self.store_statements(req, confirm=True)
            except StaleCredential:
                self._writers.pop(header or "", None)
            except (LRSError, XAPIValidationError):
                # Refused: the answer a request would have had with its row read first, should it differ.
                await self._authorise(req, method, header)
                raise
            req.saved = False
        await self._authorise(req, method, header)
        if header and req.credential is not None:
            if len(self._writers) >= KEPT_WRITERS:
                self._writers.clear()
            self._writers[header] = req.credential
        return await self.store_statements(req, confirm=False)

    def _handle(self, req: Req, method: str) -> Response:
        if req.resource == "/statements":
            return self.get_statements(req)
        if req.resource in DOCUMENT_KINDS:
            return documents(self.store, req)
        if req.resource == "/activities":
            return self.get_activity(req)
        return self.get_person(req)

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A consistent snapshot for one request's reads, on a read-only connection of the LRS's own."""
        if self._memory:
            with self.store.transaction() as shared:
                yield shared
            return
        with self._reader() as reader, storage.snapshot(reader):
            yield reader

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """A read-only connection for this thread until the block ends: an idle one, or a new one."""
        # The connection used last, whose cache is warmest (decision 0020): after a burst of concurrent requests
        # the next ones do not fill every idle connection's cache in turn. (deque's append and pop are atomic.)
        try:
            reader = self._readers.pop()
        except IndexError:
            reader = storage.open_reader(self.store.path)
        try:
            yield reader
        finally:
            if len(self._readers) < IDLE_READERS:
                self._readers.append(reader)
            else:
                reader.close()

    def close(self) -> None:
        """Close the idle read-only connections and stop the read-ahead helpers (the store stays open)."""
        if self._read_ahead is not None:
            self._read_ahead.close()
        while True:
            try:
                self._readers.pop().close()
            except IndexError:
                return

    def _credential(self, key: str) -> lrs_credentials.Credential | None:
        # The row is read every time, so removing or replacing a credential takes effect at once.
        if self._memory:
            with self.store.transaction() as conn:
                return lrs_credentials.credential(conn, key)
        with self._reader() as reader:
            return lrs_credentials.credential(reader, key)

    def _authenticate(self, header: str | None, client: str, *,
                      verify: bool = True) -> lrs_credentials.Credential | None:
        return authenticate(header, client, self._credential, self.failures, verify=verify)


def make_app(store: Store, *, base_url: str, endpoints: Callable[[], list[str]] | list[str] | None = None,
             on_saved: Callable[[], None] | None = None, max_body: int = MAX_BODY, max_limit: int = MAX_LIMIT,
             failed_attempts: int = FAILED_ATTEMPTS) -> LRS:
    """The LRS as an ASGI app, e.g. ``Mount("/xapi", app=make_app(store, base_url=settings.base_url))``.

    ``endpoints`` lists (or returns) the outbox endpoint names each statement stored here is
    queued for (by default none: statements received here are not forwarded); ``on_saved`` is
    called on the event loop after statements were queued, e.g. to wake the deliverer.
    ``max_body`` bounds a request (attachments included), ``max_limit`` a page of statements,
    ``failed_attempts`` the failed sign-ins per address (an IPv6 /64) in 15 minutes, whatever the keys (the
    service passes its ``lrs_sign_in_attempts_per_address`` setting).
    """
    return LRS(store, base_url=base_url, endpoints=endpoints, on_saved=on_saved, max_body=max_body,
               max_limit=max_limit, failed_attempts=failed_attempts)
