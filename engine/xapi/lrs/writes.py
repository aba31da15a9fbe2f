"""Storing statements: parse, check and complete each request's statements, then write them with those of
concurrent requests in one transaction (group commit).

Statements are parsed, checked and made complete on the event loop (a large body in one worker thread), then
written by the group committer: the statements of the requests that arrive while a transaction is being
written go into the next one together, in arrival order, checked as if one request followed another (one
commit and one insert per table for all of them). A request is answered only once its transaction has
committed; a request refused (invalid, a conflict) writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...storage import lrs as storage
from ...storage import lrs_credentials
from ...storage.clock import now
from ...storage.db import Store
from ...storage.statements import IndexedStatement
from ..ids import statement_id
from ..keys import index
from ..statement_json import dumps_compact, equivalent, loads_statements
from ..validate import VOIDED, XAPIValidationError, validate_statement
from .attachments import _attachment_objects, attachment_parts, check_attachments
from .protocol import LRSError, Req, _param_uuid, _raw_json

INLINE_BODY = 32 * 1024
"""Statement bodies up to this size are checked on the event loop; larger ones in a worker thread."""
PREPARERS = 1
"""Large bodies checked at once in worker threads: with the GIL, more only take turns (measured slower)."""
GROUP_STATEMENTS = 5_000
"""The most statements the group committer writes in one transaction."""


def _is_voiding(statement: dict[str, Any]) -> bool:
    obj = statement.get("object") or {}
    return bool(statement.get("verb", {}).get("id") == VOIDED and obj.get("objectType") == "StatementRef")


def _array_groups(part: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy whose contextActivities values are all arrays (xAPI 1.0.3 part two, 2.4.6.2).

    Only what changes is copied: the statement as sent stays as it was.
    """
    out = dict(part)
    context = part.get("context")
    groups = context.get("contextActivities") if isinstance(context, dict) else None
    if isinstance(groups, dict) and any(isinstance(value, dict) for value in groups.values()):
        assert isinstance(context, dict)
        out["context"] = {**context, "contextActivities": {
            key: [value] if isinstance(value, dict) else value for key, value in groups.items()}}
    return out


def _with_array_groups(statement: dict[str, Any]) -> dict[str, Any]:
    out = _array_groups(statement)
    obj = out.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        out["object"] = _array_groups(obj)
    return out


def _dumps(statement: dict[str, Any]) -> str:
    return json.dumps(statement, ensure_ascii=False, separators=(",", ":"))


class StaleCredential(Exception):
    """The remembered credential a write was made with has been removed or replaced: nothing was stored."""


def _batch_prefix(i: int) -> str:
    return f"[{i}]."


def _no_prefix(i: int) -> str:
    return ""


@dataclass
class _Write:
    """One request's statements, checked and complete, waiting for the group committer."""

    sent: list[dict[str, Any]]
    """As sent (to compare with a statement already stored under the same id)."""
    completed: list[dict[str, Any]]
    """With id, stored, timestamp, version and authority."""
    indexed: list[IndexedStatement]
    parts: dict[str, tuple[str, bytes]]
    batch: bool
    stamp: str
    credential: lrs_credentials.Credential | None = None
    """The credential to find unchanged in the transaction (remembered, not read for this request)."""
    saved: bool = False

    @property
    def ids(self) -> list[str]:
        return [s["id"] for s in self.completed]


class _GroupCommit:
    """Group commit: writes that arrive while a transaction is being written wait, then go in the next one together.

    One transaction for many requests costs one commit (one fsync with synchronous=FULL, and one write of
    each changed page) instead of one each, and writes stay in arrival order. The transaction runs in a
    worker thread, so the event loop goes on checking the next requests while SQLite writes and syncs (it
    releases the GIL meanwhile; :func:`engine.storage.lrs.save_statements` makes few calls, so the thread
    seldom waits to take it back). State belongs to one event loop at a time (a test client may start a
    new loop per request); it is only touched on that loop.
    """

    def __init__(self, write_group: Callable[[list[_Write]], list[BaseException | None]]) -> None:
        self.write_group = write_group
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: list[tuple[_Write, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, write: _Write) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop, self.pending, self.task = loop, [], None
        future: asyncio.Future[None] = loop.create_future()
        self.pending.append((write, future))
        if self.task is None:
            self.task = loop.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                group: list[tuple[_Write, asyncio.Future[None]]] = []
                size = 0
                while self.pending and (not group or size + len(self.pending[0][0].indexed) <= GROUP_STATEMENTS):
                    group.append(self.pending.pop(0))
                    size += len(group[-1][0].indexed)
                writes = [write for write, _ in group]
                try:
                    outcomes = await run_in_threadpool(self.write_group, writes)
                except asyncio.CancelledError:  # the loop is stopping: nobody is waiting any more
                    for _, future in group + self.pending:
                        future.cancel()
                    self.pending = []
                    raise
                except Exception as exc:  # the transaction failed as a whole
                    outcomes = [exc] * len(group)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if outcome is None:
                        future.set_result(None)
                    else:
                        future.set_exception(outcome)
        finally:
            self.task = None


class StatementWrites:
    """PUT and POST of statements, for :class:`engine.xapi.lrs.app.LRS`."""

    store: Store
    base_url: str
    _committer: _GroupCommit
    _preparer_limit: anyio.CapacityLimiter | None
    _terms: dict[str, int]
    """Term numbers found in committed transactions: most writes need no lookup in ``lrs_terms``."""

    def endpoints(self) -> list[str]:
        raise NotImplementedError

    def _payload(self, req: Req) -> tuple[Any, bool, dict[str, tuple[str, bytes]]]:
        """The statements sent, whether orjson may write them back (see :func:`loads_statements`) and the
        attachment parts by SHA-2."""
        if req.mime == "application/json":
            return (*loads_statements(req.body), {})
        if req.mime != "multipart/mixed":
            raise LRSError(415, "statements must be sent as application/json or multipart/mixed",
                           field="Content-Type", rule="content-type")
        first, attachments = attachment_parts(req.content_type, req.body)
        return (*loads_statements(first), attachments)

    async def store_statements(self, req: Req, *, confirm: bool = False) -> Response:
        """PUT or POST statements: checked and made complete on the event loop (in a worker thread when the
        body is large), then written by the group committer with the statements of concurrent requests.
        With ``confirm``, the transaction first finds ``req.credential`` unchanged (else StaleCredential)."""
        if len(req.body) <= INLINE_BODY:
            write = self._prepare(req)
        else:
            write = await anyio.to_thread.run_sync(self._prepare, req, limiter=self._preparers())
        if confirm:
            write.credential = req.credential
        await self._committer.submit(write)
        req.saved = write.saved
        if req.method == "PUT":
            return Response(status_code=204)
        # Ids are UUIDs (checked, or made here): nothing in them needs escaping.
        return _raw_json('["' + '","'.join(write.ids) + '"]' if write.ids else "[]")

    def _preparers(self) -> anyio.CapacityLimiter:
        """At most PREPARERS large bodies are checked at once: more threads would only take turns with the GIL."""
        if self._preparer_limit is None:
            self._preparer_limit = anyio.CapacityLimiter(PREPARERS)
        return self._preparer_limit

    def _prepare(self, req: Req) -> _Write:
        """Everything about a write that needs no database: parse, validate, complete and index the statements."""
        assert req.credential is not None
        payload, compact, parts = self._payload(req)
        if req.method == "PUT":
            ident = _param_uuid(req.params, "statementId") if "statementId" in req.params else None
            if ident is None:
                raise LRSError(400, "PUT needs the statementId parameter", field="statementId", rule="required")
            if not isinstance(payload, dict):
                raise LRSError(400, "PUT takes one statement (a JSON object)", field="statement", rule="type")
            if "id" in payload and payload["id"] != ident:
                raise LRSError(400, "the statement's id differs from the statementId parameter", field="id",
                               rule="statement-id")
            statements = [{"id": ident, **payload}]
            batch = False
        elif isinstance(payload, list):
            statements, batch = payload, True
        elif isinstance(payload, dict):
            statements, batch = [payload], False
        else:
            raise LRSError(400, "POST takes a statement or an array of statements", field="statement", rule="type")
        prefix = _batch_prefix if batch else _no_prefix
        for i, statement in enumerate(statements):
            try:
                validate_statement(statement, version=req.version, path=f"[{i}]" if batch else "")
            except XAPIValidationError as exc:
                raise LRSError.invalid(exc) from None
        check_attachments(statements, parts, prefix)
        seen: set[str] = set()
        for i, statement in enumerate(statements):
            if "id" in statement:
                if statement["id"] in seen:
                    raise LRSError(400, "the batch has two statements with the same id", field=f"{prefix(i)}id",
                                   rule="duplicate-id")
                seen.add(statement["id"])
        stamp = now()
        authority = {"objectType": "Agent", "account": {"homePage": self.base_url, "name": req.credential.name}}
        version = "2.0.0" if req.version.startswith("2.") else "1.0.0"
        dumps = dumps_compact if compact else _dumps
        completed = []
        indexed = []
        for statement in statements:
            # A shallow copy: the statement as sent is kept unchanged, to compare with one already stored.
            full = _with_array_groups(statement)
            if "id" not in full:
                full["id"] = statement_id()
            if "timestamp" not in full:
                full["timestamp"] = stamp
            if "version" not in full:
                full["version"] = version
            full["stored"] = stamp
            full["authority"] = authority
            completed.append(full)
            indexed.append(index(full, dumps(full)))
        return _Write(sent=statements, completed=completed, indexed=indexed, parts=parts, batch=batch, stamp=stamp)

    def _write_group(self, writes: list[_Write]) -> list[BaseException | None]:
        """Store the statements of several requests in one transaction: one commit (one fsync with
        synchronous=FULL) and one insert per table for all of them. Runs in a worker thread; returns each
        request's error, or None. A refused request (a conflict, voiding a voiding statement) writes nothing
        and does not stop the others; should anything else fail, each request is tried again alone, in its
        own savepoint, so only the one at fault fails."""
        endpoints = self.endpoints()
        learned: dict[str, int] = {}
        """Term numbers looked up in savepoints that were kept: known once the transaction commits."""
        with self.store.transaction() as conn:
            outcomes = self._write_savepoints(conn, writes, endpoints, learned)
            # Kept at the commit, under the store's lock (``Store._after_commit``), or dropped if it fails: kept
            # after the lock is let go, an account erased in between (``erasure.erase_term``) would have its
            # forgotten number kept again.
            self.store.terms.pending.update(learned)
        return outcomes

    def _write_savepoints(self, conn: Any, writes: list[_Write], endpoints: list[str],
                          learned: dict[str, int]) -> list[BaseException | None]:
        try:
            with storage.savepoint(conn):
                looked_up: dict[str, int] = {}
                outcomes = self._write_together(conn, writes, endpoints, looked_up)
            learned.update(looked_up)
            return outcomes
        except Exception:
            if len(writes) == 1:
                raise
        outcomes = []
        for write in writes:
            try:
                with storage.savepoint(conn):
                    looked_up = {}
                    outcomes += self._write_together(conn, [write], endpoints, looked_up)
                learned.update(looked_up)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _write_together(self, conn: Any, writes: list[_Write], endpoints: list[str],
                        learned: dict[str, int]) -> list[BaseException | None]:
        """Check each request against what is stored and what earlier requests in the group add, as if they
        were written one after the other, then store every statement that passed at once."""
        kept = {w.credential.key for w in writes if w.credential is not None}
        current = lrs_credentials.credentials_by_key(conn, kept) if kept else {}
        existing = storage.statements_by_id(conn, [s["id"] for w in writes for s in w.sent if "id" in s])
        targets = [s["object"]["id"] for w in writes for s in w.completed if _is_voiding(s)]
        stored_targets = storage.statements_by_id(conn, targets) if targets else {}
        added: dict[str, dict[str, Any]] = {}
        """Statements accepted from earlier requests of this group, by id."""
        accepted: list[IndexedStatement] = []
        bodies: list[tuple[str, str, bytes]] = []
        outcomes: list[BaseException | None] = []
        for write in writes:
            if write.credential is not None and current.get(write.credential.key) != write.credential:
                outcomes.append(StaleCredential())
                continue
            try:
                fresh = self._fresh(write, existing, added, stored_targets)
            except LRSError as exc:
                outcomes.append(exc)
                continue
            for i in fresh:
                added[write.completed[i]["id"]] = write.completed[i]
                accepted.append(write.indexed[i])
            if write.parts:
                wanted = {str(a["sha2"]).lower() for i in fresh for _, a in _attachment_objects(write.completed[i], "")}
                bodies += [(sha2, content_type, data) for sha2, (content_type, data) in write.parts.items()
                           if sha2 in wanted]
            write.saved = bool(fresh and endpoints)
            outcomes.append(None)
        storage.save_statements(conn, accepted, attachments=bodies, endpoints=endpoints, now=writes[-1].stamp,
                                known=self._terms, learned=learned)
        return outcomes

    @staticmethod
    def _fresh(write: _Write, existing: dict[str, storage.StoredStatement], added: dict[str, dict[str, Any]],
               stored_targets: dict[str, storage.StoredStatement]) -> list[int]:
        """The positions of the request's statements that are new; LRSError when the request must be refused."""
        prefix = _batch_prefix if write.batch else _no_prefix
        statements, completed = write.sent, write.completed
        fresh: list[int] = []
        for i, (sent, full) in enumerate(zip(statements, completed, strict=True)):
            ident = full["id"]
            earlier = added.get(ident)
            if earlier is None and ident in existing:
                earlier = json.loads(existing[ident].body)
            if earlier is None:
                fresh.append(i)
            elif not equivalent(sent, earlier):
                raise LRSError(409, f"a different statement with id {ident} is already stored",
                               field=f"{prefix(i)}id", rule="conflict")
        by_id = {completed[i]["id"]: completed[i] for i in fresh}
        for i, statement in enumerate(completed):
            if statement["id"] not in by_id or not _is_voiding(statement):
                continue
            target = statement["object"]["id"]
            stored_target = stored_targets.get(target)
            if (target in by_id and _is_voiding(by_id[target])) or (target in added and _is_voiding(added[target])) \
                    or (stored_target is not None and stored_target.verb == VOIDED
                        and stored_target.object_statement is not None):
                raise LRSError(400, "a voiding statement cannot be voided", field=f"{prefix(i)}object.id",
                               rule="void-voiding")
        return fresh
