"""The built-in Learning Record Store: xAPI 1.0.3 (and 2.0.0 requests where they agree), mounted at /xapi.

Resources: ``about``, ``statements``, ``activities/state``, ``activities/profile``,
``agents/profile``, ``activities`` and ``agents``; HEAD wherever GET is; the
alternate request syntax (``POST ...?method=PUT`` with form fields) too.

Access is HTTP Basic with credentials made by ``masterclass lrs credentials add``.
Secrets are random (32 bytes) and stored as argon2 hashes. Verifying argon2 on every
request would cost tens of milliseconds, so a verified pair is remembered for the life
of the process, keyed by SHA-256 of key, secret and the stored hash: removing or
replacing a credential takes effect at once, because the row is still read per request.

All SQL is in :mod:`engine.storage.lrs`. Statement queries run in a worker thread on a read-only connection
of the LRS's own (a few are kept open), in one read transaction per request: in WAL mode they neither wait
for writes nor hold them up. Statement writes are parsed, checked and made complete on the event loop (a
large body in one worker thread), then written by a group committer: the statements of the requests that
arrive while a transaction is being written go into the next one together, in arrival order, checked as if
one request followed another (one commit and one insert per table for all of them). Documents are read and
written in one ``store.transaction()`` per request, as before.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import queue
import re
import secrets
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..security import RateLimiter, hash_password, verify_password
from ..storage import lrs as storage
from ..storage.db import Store, now
from ..storage.statements import IndexedStatement
from .keys import agent_key, index
from .validate import (
    IFIS,
    SIGNATURE_USAGE,
    VOIDED,
    XAPIValidationError,
    equivalent,
    loads_statements,
    parse_timestamp,
    utc_text,
    validate_activity_id,
    validate_actor,
    validate_statement,
    validate_uuid,
)

log = logging.getLogger("masterclass.lrs")

VERSIONS = ["1.0.3", "2.0.0"]
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_HEADER = "X-Experience-API-Consistent-Through"
MAX_LIMIT = 500
MAX_BODY = 16 * 1024 * 1024
CANONICAL_WINDOW = 200
"""How many of the latest statements mentioning an activity feed its canonical definition."""
INLINE_BODY = 32 * 1024
"""Statement bodies up to this size are checked on the event loop; larger ones in a worker thread."""
PREPARERS = 1
"""Large bodies checked at once in worker threads: with the GIL, more only take turns (measured slower)."""
IDLE_READERS = 8
"""Read-only connections kept open between requests (more are opened while more requests read at once)."""
GROUP_STATEMENTS = 5_000
"""The most statements the group committer writes in one transaction."""
SCOPES = ("read", "write", "all")
READ_METHODS = ("GET", "HEAD")

_STATEMENT_QUERY_PARAMS = {"statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
                           "related_activities", "related_agents", "since", "until", "limit", "format",
                           "attachments", "ascending", "more"}
PARAMS: dict[tuple[str, str], set[str]] = {
    ("/statements", "GET"): _STATEMENT_QUERY_PARAMS,
    ("/statements", "PUT"): {"statementId"},
    ("/statements", "POST"): set(),
    ("/activities/state", "GET"): {"activityId", "agent", "registration", "stateId", "since"},
    ("/activities/state", "PUT"): {"activityId", "agent", "registration", "stateId"},
    ("/activities/state", "POST"): {"activityId", "agent", "registration", "stateId"},
    ("/activities/state", "DELETE"): {"activityId", "agent", "registration", "stateId"},
    ("/activities/profile", "GET"): {"activityId", "profileId", "since"},
    ("/activities/profile", "PUT"): {"activityId", "profileId"},
    ("/activities/profile", "POST"): {"activityId", "profileId"},
    ("/activities/profile", "DELETE"): {"activityId", "profileId"},
    ("/agents/profile", "GET"): {"agent", "profileId", "since"},
    ("/agents/profile", "PUT"): {"agent", "profileId"},
    ("/agents/profile", "POST"): {"agent", "profileId"},
    ("/agents/profile", "DELETE"): {"agent", "profileId"},
    ("/activities", "GET"): {"activityId"},
    ("/agents", "GET"): {"agent"},
}
METHODS: dict[str, tuple[str, ...]] = {
    "/about": ("GET", "HEAD"),
    "/statements": ("GET", "HEAD", "PUT", "POST"),
    "/activities/state": ("GET", "HEAD", "PUT", "POST", "DELETE"),
    "/activities/profile": ("GET", "HEAD", "PUT", "POST", "DELETE"),
    "/agents/profile": ("GET", "HEAD", "PUT", "POST", "DELETE"),
    "/activities": ("GET", "HEAD"),
    "/agents": ("GET", "HEAD"),
}
DOCUMENT_KINDS = {"/activities/state": "state", "/activities/profile": "activity_profile",
                  "/agents/profile": "agent_profile"}
_ALTERNATE_HEADERS = {"authorization", "x-experience-api-version", "content-type", "content-length", "if-match",
                      "if-none-match"}
_V1 = re.compile(r"^1\.0(?:\.\d+)?$")
_V2 = re.compile(r"^2\.0(?:\.\d+)?$")
_HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}

# Verified (key, secret, stored hash) triples, as SHA-256 digests, for the life of the process.
_VERIFIED: set[str] = set()
_VERIFIED_LOCK = threading.Lock()


class LRSError(Exception):
    """An HTTP error answer: JSON ``{"error", "field", "rule"}`` with the status."""

    def __init__(self, status: int, message: str, *, field: str | None = None, rule: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.rule = rule
        self.headers = headers or {}

    @classmethod
    def invalid(cls, exc: XAPIValidationError) -> LRSError:
        return cls(400, exc.message, field=exc.field, rule=exc.rule)

    def response(self) -> Response:
        return _json({"error": self.message, "field": self.field, "rule": self.rule}, status=self.status,
                     headers=self.headers)


@dataclass
class Req:
    """One request after the alternate syntax is unwrapped: what every handler works from."""

    method: str
    resource: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    version: str = "1.0.3"
    credential: storage.Credential | None = None
    client: str = ""
    saved: bool = False
    """Set when statements were stored (and queued for the external endpoints)."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def mime(self) -> str:
        return self.content_type.split(";")[0].strip().lower()


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _raw_json(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status, headers=headers)


def _raw_json(text: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode("utf-8"), status_code=status, media_type="application/json", headers=headers)


def _http_date(stamp: str) -> str:
    moment = parse_timestamp(stamp)
    return format_datetime(moment.astimezone(UTC), usegmt=True) if moment else ""


def create_credential(store: Store, name: str, scope: str) -> tuple[str, str]:
    """Make an LRS credential; returns (key, secret). Only the argon2 hash of the secret is kept."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if name == "masterclass-engine":
        # The engine signs its own statements with this name: a credential must not pass for it.
        raise ValueError('"masterclass-engine" is the engine\'s own authority; choose another name')
    key = secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        storage.add_credential(conn, key=key, name=name, secret_hash=hash_password(secret), scope=scope,
                               created_at=now())
    return key, secret


# --- request parameters -------------------------------------------------------------------------

def _param_bool(params: dict[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise LRSError(400, f"{name} must be true or false", field=name, rule="boolean")
    return value == "true"


def _param_timestamp(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    moment = parse_timestamp(value)
    if moment is None:
        raise LRSError(400, f"{name} must be an ISO 8601 timestamp with a time zone", field=name, rule="timestamp")
    return utc_text(moment)


def _param_required(params: dict[str, str], name: str) -> str:
    if name not in params:
        raise LRSError(400, f"the {name} parameter is required", field=name, rule="required")
    return params[name]


def _param_iri(params: dict[str, str], name: str) -> str:
    value = _param_required(params, name)
    try:
        validate_activity_id(value, name)
    except XAPIValidationError as exc:
        raise LRSError.invalid(exc) from None
    return value


def _param_uuid(params: dict[str, str], name: str) -> str:
    value = params[name]
    try:
        validate_uuid(value, name)
    except XAPIValidationError as exc:
        raise LRSError.invalid(exc) from None
    return value


def _param_agent(params: dict[str, str], name: str, *, group: bool, version: str) -> dict[str, Any]:
    raw = _param_required(params, name)
    try:
        agent = json.loads(raw)
    except ValueError:
        raise LRSError(400, f"{name} must be an Agent as JSON", field=name, rule="json") from None
    try:
        validate_actor(agent, field=name, version=version, group=group)
    except XAPIValidationError as exc:
        raise LRSError.invalid(exc) from None
    return dict(agent)


# --- multipart/mixed ------------------------------------------------------------------------------

def _boundary(content_type: str) -> bytes:
    match = re.search(r';\s*boundary=(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    if not match:
        raise LRSError(400, "multipart/mixed needs a boundary", field="Content-Type", rule="multipart")
    return (match.group(1) or match.group(2)).encode("latin-1")


def parse_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/mixed body (RFC 2046): (lower-cased headers, raw content)."""
    delimiter = b"--" + _boundary(content_type)
    bad = LRSError(400, "the multipart/mixed body is malformed", field="body", rule="multipart")
    if body.startswith(delimiter):
        pos = 0
    else:
        pos = body.find(b"\r\n" + delimiter)
        if pos < 0:
            raise bad
        pos += 2
    parts: list[tuple[dict[str, str], bytes]] = []
    while True:
        pos += len(delimiter)
        if body.startswith(b"--", pos):
            return parts
        line_end = body.find(b"\r\n", pos)
        if line_end < 0 or body[pos:line_end].strip(b" \t"):
            raise bad
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise bad
        chunk = body[start:end]
        headers: dict[str, str] = {}
        if chunk.startswith(b"\r\n"):
            content = chunk[2:]
        else:
            split = chunk.find(b"\r\n\r\n")
            if split < 0:
                raise bad
            for line in chunk[:split].decode("latin-1").split("\r\n"):
                name, colon, value = line.partition(":")
                if not colon:
                    raise bad
                headers[name.strip().lower()] = value.strip()
            content = chunk[split + 4:]
        parts.append((headers, content))
        pos = end + 2


def build_multipart(first: bytes, attachments: Iterable[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed response: the JSON first, then each attachment's raw octets."""
    boundary = "xapi-" + secrets.token_hex(16)
    out = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), first]
    for sha2, content_type, data in attachments:
        out.append(f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                   f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode("latin-1"))
        out.append(data)
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out), f'multipart/mixed; boundary="{boundary}"'


# --- statement shapes --------------------------------------------------------------------------

def _is_voiding(statement: dict[str, Any]) -> bool:
    obj = statement.get("object") or {}
    return bool(statement.get("verb", {}).get("id") == VOIDED and obj.get("objectType") == "StatementRef")


def _attachment_objects(statement: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"{path}attachments[{i}]", a) for i, a in enumerate(statement.get("attachments") or [])]
    obj = statement.get("object") or {}
    if obj.get("objectType") == "SubStatement":
        found += [(f"{path}object.attachments[{i}]", a) for i, a in enumerate(obj.get("attachments") or [])]
    return found


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


def _unchanged(full: dict[str, Any], statement: dict[str, Any]) -> bool:
    """Whether the completed statement has the sent one's context (and SubStatement) as they were."""
    return full.get("context") is statement.get("context") and full.get("object") is statement.get("object")


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


def _activities_in(statement: dict[str, Any]) -> Iterable[dict[str, Any]]:
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        yield obj
    elif kind == "SubStatement":
        yield from _activities_in(obj)
    for group in ((statement.get("context") or {}).get("contextActivities") or {}).values():
        for activity in group if isinstance(group, list) else [group]:
            if isinstance(activity, dict):
                yield activity


def _agents_in(statement: dict[str, Any]) -> Iterable[dict[str, Any]]:
    context = statement.get("context") or {}
    obj = statement.get("object") or {}
    for part in (statement.get("actor"), obj if obj.get("objectType") in ("Agent", "Group") else None,
                 statement.get("authority"), context.get("instructor"), context.get("team")):
        if isinstance(part, dict):
            yield part
            yield from (m for m in part.get("member") or [] if isinstance(m, dict))
    if obj.get("objectType") == "SubStatement":
        yield from _agents_in(obj)


def _merge_definition(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old or {})
    for key, value in new.items():
        if key in ("name", "description", "extensions") and isinstance(merged.get(key), dict) \
                and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _accept_languages(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, i, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def pick_language(lang_map: dict[str, str], preferred: list[str]) -> dict[str, str]:
    """One entry of a language map: the best Accept-Language match, else the first."""
    if len(lang_map) <= 1:
        return dict(lang_map)
    for wanted in preferred:
        if wanted == "*":
            break
        for key, text in lang_map.items():
            low = key.lower()
            if low == wanted or low.startswith(wanted + "-"):
                return {key: text}
        for key, text in lang_map.items():
            if key.lower().split("-")[0] == wanted.split("-")[0]:
                return {key: text}
    key = next(iter(lang_map))
    return {key: lang_map[key]}


def _filter_definition(definition: dict[str, Any], preferred: list[str]) -> dict[str, Any]:
    out = dict(definition)
    for key in ("name", "description"):
        if isinstance(out.get(key), dict):
            out[key] = pick_language(out[key], preferred)
    for key in ("choices", "scale", "source", "target", "steps"):
        if isinstance(out.get(key), list):
            out[key] = [{**c, "description": pick_language(c["description"], preferred)}
                        if isinstance(c, dict) and isinstance(c.get("description"), dict) else c for c in out[key]]
    return out


def _ids_agent(agent: dict[str, Any]) -> dict[str, Any]:
    kind = agent.get("objectType", "Agent")
    out: dict[str, Any] = {"objectType": kind}
    ifis = {key: agent[key] for key in IFIS if key in agent}
    if ifis:
        out.update(ifis)
    elif kind == "Group":
        out["member"] = [_ids_agent(m) for m in agent.get("member") or [] if isinstance(m, dict)]
    return out


def _ids_activity(activity: dict[str, Any]) -> dict[str, Any]:
    return {"objectType": "Activity", "id": activity["id"]}


def _ids_statement(statement: dict[str, Any]) -> dict[str, Any]:
    out = dict(statement)
    out["actor"] = _ids_agent(statement["actor"])
    out["verb"] = {"id": statement["verb"]["id"]}
    obj = statement["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        out["object"] = _ids_activity(obj)
    elif kind in ("Agent", "Group"):
        out["object"] = _ids_agent(obj)
    elif kind == "SubStatement":
        out["object"] = {"objectType": "SubStatement", **_ids_statement(obj)}
    if isinstance(statement.get("authority"), dict):
        out["authority"] = _ids_agent(statement["authority"])
    if isinstance(statement.get("context"), dict):
        context = dict(statement["context"])
        for key in ("instructor", "team"):
            if isinstance(context.get(key), dict):
                context[key] = _ids_agent(context[key])
        if isinstance(context.get("contextActivities"), dict):
            context["contextActivities"] = {
                key: [_ids_activity(a) for a in (value if isinstance(value, list) else [value])]
                for key, value in context["contextActivities"].items()}
        if isinstance(context.get("contextAgents"), list):
            context["contextAgents"] = [{**c, "agent": _ids_agent(c["agent"])} for c in context["contextAgents"]]
        if isinstance(context.get("contextGroups"), list):
            context["contextGroups"] = [{**c, "group": _ids_agent(c["group"])} for c in context["contextGroups"]]
        out["context"] = context
    return out


class _Canonical:
    """Canonical activity definitions for one request, merged from the latest statements."""

    def __init__(self, conn: Any, preferred: list[str]) -> None:
        self.conn = conn
        self.preferred = preferred
        self.cache: dict[str, dict[str, Any] | None] = {}

    def definition(self, activity_id: str) -> dict[str, Any] | None:
        if activity_id not in self.cache:
            self.cache[activity_id] = canonical_definition(self.conn, activity_id)
        return self.cache[activity_id]

    def activity(self, activity: dict[str, Any]) -> dict[str, Any]:
        out = {"objectType": "Activity", "id": activity["id"]}
        definition = self.definition(activity["id"]) or activity.get("definition")
        if definition:
            out["definition"] = _filter_definition(definition, self.preferred)
        return out

    def statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        out = dict(statement)
        if isinstance(statement["verb"].get("display"), dict):
            out["verb"] = {**statement["verb"], "display": pick_language(statement["verb"]["display"],
                                                                         self.preferred)}
        obj = statement["object"]
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = self.activity(obj)
        elif kind == "SubStatement":
            out["object"] = self.statement(obj)
        if isinstance(statement.get("context"), dict) and isinstance(
                statement["context"].get("contextActivities"), dict):
            out["context"] = {**statement["context"], "contextActivities": {
                key: [self.activity(a) for a in (value if isinstance(value, list) else [value])]
                for key, value in statement["context"]["contextActivities"].items()}}
        return out


def canonical_definition(conn: Any, activity_id: str) -> dict[str, Any] | None:
    """The LRS's definition of an activity: the definitions in the latest statements, newer winning."""
    merged: dict[str, Any] | None = None
    for body in reversed(storage.statements_about_activity(conn, activity_id, CANONICAL_WINDOW)):
        if '"definition"' not in body:
            continue
        for activity in _activities_in(json.loads(body)):
            if activity.get("id") == activity_id and isinstance(activity.get("definition"), dict):
                merged = _merge_definition(merged, activity["definition"])
    return merged


# --- the more token -------------------------------------------------------------------------------

def encode_more(q: storage.StatementQuery, *, fmt: str, attachments: bool, limit: int, after: int) -> str:
    data = {"q": dataclasses.asdict(q), "f": fmt, "t": attachments, "l": limit, "c": after}
    raw = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_more(token: str) -> tuple[storage.StatementQuery, str, bool, int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(zlib.decompress(raw))
        q = storage.StatementQuery(**data["q"])
        fmt, attachments, limit, after = str(data["f"]), bool(data["t"]), int(data["l"]), int(data["c"])
    except (ValueError, TypeError, KeyError, binascii.Error, zlib.error):
        raise LRSError(400, "the more token is not one this LRS gave", field="more", rule="more") from None
    if fmt not in ("ids", "exact", "canonical") or not 0 < limit <= MAX_LIMIT:
        raise LRSError(400, "the more token is not one this LRS gave", field="more", rule="more")
    return q, fmt, attachments, limit, after


# --- the application ------------------------------------------------------------------------------

class LRS:
    """The ASGI application; mount it at /xapi."""

    def __init__(self, store: Store, *, base_url: str, endpoints: Callable[[], list[str]] | list[str] | None = None,
                 on_saved: Callable[[], None] | None = None, max_body: int = MAX_BODY, max_limit: int = MAX_LIMIT,
                 failed_attempts: int = 20) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self._endpoints = endpoints
        self.on_saved = on_saved
        self.max_body = max_body
        self.max_limit = min(max_limit, MAX_LIMIT)
        self.failures = RateLimiter(failed_attempts)
        self._committer = _GroupCommit(self._write_group)
        self._preparer_limit: anyio.CapacityLimiter | None = None
        self._readers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        """Idle read-only connections (see :meth:`_reader`)."""
        self._memory = store.path == ":memory:" or store.path.startswith("file::memory:")
        """An in-memory database cannot be opened twice: then reads use the store's connection."""

    def endpoints(self) -> list[str]:
        if self._endpoints is None:
            return []
        return list(self._endpoints() if callable(self._endpoints) else self._endpoints)

    # ASGI

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
                version = self._version(req.headers.get("x-experience-api-version"), lenient=True)
            else:
                version = self._version(req.headers.get("x-experience-api-version"))
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
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
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
        params: dict[str, str] = {}
        query = scope.get("query_string", b"")
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if query else ():
            if name in params:
                raise LRSError(400, f"the {name} parameter is given twice", field=name, rule="duplicate-parameter")
            params[name] = value
        client = scope.get("client")
        req = Req(method=method, resource=resource, path=path, params=params, headers=headers,
                  body=chunks[0] if len(chunks) == 1 else b"".join(chunks), client=client[0] if client else "")
        if req.method == "POST" and "method" in params:
            _alternate(req)
        return req

    @staticmethod
    def _version(value: str | None, *, lenient: bool = False) -> str:
        text = (value or "").strip()
        if _V2.match(text):
            return "2.0.0"
        if _V1.match(text) or (lenient and not _V2.match(text)):
            return "1.0.3"
        if not text:
            raise LRSError(400, f"the {VERSION_HEADER} header is required", field=VERSION_HEADER,
                           rule="version-required")
        raise LRSError(400, f"{VERSION_HEADER} {text} is not supported; this LRS accepts 1.0.x and 2.0.0",
                       field=VERSION_HEADER, rule="version")

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
        credential = self._authenticate(header, req.client, verify=False)
        if credential is None:  # not verified yet in this process: argon2, off the event loop
            credential = await run_in_threadpool(self._authenticate, header, req.client)
        assert credential is not None
        req.credential = credential
        needed = "read" if method == "GET" else "write"
        if credential.scope not in (needed, "all"):
            raise LRSError(403, f"these credentials may not {needed}", rule="scope")
        known = PARAMS[(req.resource, method)]
        for name in req.params:
            if name not in known:
                raise LRSError(400, f"{name} is not a parameter of {method} {req.resource}", field=name,
                               rule="unknown-parameter")
        if req.resource == "/statements" and method != "GET":
            return await self.store_statements(req)
        return await run_in_threadpool(self._handle, req, method)

    def _handle(self, req: Req, method: str) -> Response:
        if req.resource == "/statements":
            return self.get_statements(req)
        if req.resource in DOCUMENT_KINDS:
            return self.documents(req)
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
        try:
            reader = self._readers.get_nowait()
        except queue.Empty:
            reader = storage.open_reader(self.store.path)
        try:
            yield reader
        finally:
            if self._readers.qsize() < IDLE_READERS:
                self._readers.put(reader)
            else:
                reader.close()

    # authentication

    def _authenticate(self, header: str | None, client: str, *, verify: bool = True) -> storage.Credential | None:
        """The credential in an HTTP Basic header. Without ``verify``, None when argon2 would be needed."""
        refused = LRSError(401, "Give LRS credentials with HTTP Basic authentication.", rule="credentials",
                           headers={"WWW-Authenticate": 'Basic realm="xAPI"'})
        scheme, _, token = (header or "").strip().partition(" ")
        if scheme.lower() != "basic" or not token:
            raise refused
        try:
            key, colon, secret = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, binascii.Error):
            raise refused from None
        if not colon or not key:
            raise refused
        # The row is read every time, so removing or replacing a credential takes effect at once.
        if self._memory:
            with self.store.transaction() as conn:
                found = storage.credential(conn, key)
        else:
            with self._reader() as reader:
                found = storage.credential(reader, key)
        proof = hashlib.sha256(f"{key}\0{secret}\0{found.secret_hash if found else ''}".encode()).hexdigest()
        if found is not None:
            with _VERIFIED_LOCK:
                if proof in _VERIFIED:
                    return found
        if not verify:
            return None
        limits = (f"key:{key}", f"client:{client}")
        if self.failures.blocked(*limits):
            raise LRSError(429, "Too many failed sign-ins: wait 15 minutes.", rule="rate-limit")
        # argon2 work either way, so timing does not reveal which keys exist.
        if not verify_password(found.secret_hash if found else None, secret) or found is None:
            self.failures.fail(*limits)
            raise refused
        with _VERIFIED_LOCK:
            if len(_VERIFIED) > 10_000:
                _VERIFIED.clear()
            _VERIFIED.add(proof)
        return found

    # statements: store

    def _payload(self, req: Req) -> tuple[Any, list[str] | None, dict[str, tuple[str, bytes]]]:
        """The statements sent, the JSON text of each (None when not a statement or an array of them) and the
        attachment parts by SHA-2."""
        if req.mime == "application/json":
            return (*loads_statements(req.body), {})
        if req.mime != "multipart/mixed":
            raise LRSError(415, "statements must be sent as application/json or multipart/mixed",
                           field="Content-Type", rule="content-type")
        parts = parse_multipart(req.content_type, req.body)
        if not parts:
            raise LRSError(400, "the multipart/mixed body has no parts", field="body", rule="multipart")
        first_headers, first = parts[0]
        if first_headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise LRSError(400, "the first part must be the statements as application/json", field="body",
                           rule="multipart")
        attachments: dict[str, tuple[str, bytes]] = {}
        for i, (headers, content) in enumerate(parts[1:], start=1):
            declared = headers.get("x-experience-api-hash", "").strip().lower()
            if not declared:
                raise LRSError(400, f"part {i} has no X-Experience-API-Hash header", field=f"part[{i}]",
                               rule="attachment-hash")
            if headers.get("content-transfer-encoding", "").strip().lower() != "binary":
                raise LRSError(400, f"part {i} needs Content-Transfer-Encoding: binary", field=f"part[{i}]",
                               rule="content-transfer-encoding")
            algorithm = _HASHES.get(len(declared))
            if algorithm is None or algorithm(content).hexdigest() != declared:
                raise LRSError(400, f"part {i}'s content does not match its X-Experience-API-Hash",
                               field=f"part[{i}]", rule="attachment-hash")
            attachments[declared] = (headers.get("content-type") or "application/octet-stream", content)
        return (*loads_statements(first), attachments)

    @staticmethod
    def _check_attachments(statements: list[dict[str, Any]], parts: dict[str, tuple[str, bytes]],
                           prefix: Callable[[int], str]) -> None:
        used: set[str] = set()
        for i, statement in enumerate(statements):
            for where, attachment in _attachment_objects(statement, prefix(i)):
                sha2 = str(attachment["sha2"]).lower()
                if attachment["usageType"] == SIGNATURE_USAGE:
                    _check_signature(statement, attachment, parts.get(sha2), where)
                if sha2 in parts:
                    used.add(sha2)
                elif "fileUrl" not in attachment:
                    raise LRSError(400, f"{where}: no part carries this attachment and it has no fileUrl",
                                   field=f"{where}.sha2", rule="attachment-missing")
        unused = sorted(set(parts) - used)
        if unused:
            raise LRSError(400, f"an attachment part ({unused[0]}) belongs to no statement", field="body",
                           rule="attachment-unreferenced")

    async def store_statements(self, req: Req) -> Response:
        """PUT or POST statements: checked and made complete on the event loop (in a worker thread when the
        body is large), then written by the group committer with the statements of concurrent requests."""
        if len(req.body) <= INLINE_BODY:
            write = self._prepare(req)
        else:
            write = await anyio.to_thread.run_sync(self._prepare, req, limiter=self._preparers())
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
        payload, texts, parts = self._payload(req)
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
            texts = None
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
        self._check_attachments(statements, parts, prefix)
        seen: set[str] = set()
        for i, statement in enumerate(statements):
            if "id" in statement:
                if statement["id"] in seen:
                    raise LRSError(400, "the batch has two statements with the same id", field=f"{prefix(i)}id",
                                   rule="duplicate-id")
                seen.add(statement["id"])
        stamp = now()
        authority = {"objectType": "Agent", "account": {"homePage": self.base_url, "name": req.credential.name}}
        authority_text = json.dumps(authority, ensure_ascii=False, separators=(",", ":"))
        version = "2.0.0" if req.version.startswith("2.") else "1.0.0"
        completed = []
        indexed = []
        for i, statement in enumerate(statements):
            # A shallow copy: the statement as sent is kept unchanged, to compare with one already stored.
            full = _with_array_groups(statement)
            added = ""
            if "id" not in full:
                full["id"] = str(uuid.uuid4())
                added += f',"id":"{full["id"]}"'
            if "timestamp" not in full:
                full["timestamp"] = stamp
                added += f',"timestamp":"{stamp}"'
            if "version" not in full:
                full["version"] = version
                added += f',"version":"{version}"'
            full["stored"] = stamp
            full["authority"] = authority
            text = texts[i] if texts is not None else None
            if text is not None and "stored" not in statement and "authority" not in statement \
                    and _unchanged(full, statement):
                # The statement's own text with what the LRS adds appended: the same JSON as serialising
                # ``full`` again, without the cost (keys only appended, none replaced).
                body = f'{text[:-1]}{added},"stored":"{stamp}","authority":{authority_text}}}'
            else:
                body = json.dumps(full, ensure_ascii=False, separators=(",", ":"))
            completed.append(full)
            indexed.append(index(full, body))
        return _Write(sent=statements, completed=completed, indexed=indexed, parts=parts, batch=batch, stamp=stamp)

    def _write_group(self, writes: list[_Write]) -> list[BaseException | None]:
        """Store the statements of several requests in one transaction: one commit (one fsync with
        synchronous=FULL) and one insert per table for all of them. Runs in a worker thread; returns each
        request's error, or None. A refused request (a conflict, voiding a voiding statement) writes nothing
        and does not stop the others; should anything else fail, each request is tried again alone, in its
        own savepoint, so only the one at fault fails."""
        endpoints = self.endpoints()
        with self.store.transaction() as conn:
            try:
                with storage.savepoint(conn):
                    return self._write_together(conn, writes, endpoints)
            except Exception:
                if len(writes) == 1:
                    raise
            outcomes: list[BaseException | None] = []
            for write in writes:
                try:
                    with storage.savepoint(conn):
                        outcomes += self._write_together(conn, [write], endpoints)
                except Exception as exc:
                    outcomes.append(exc)
            return outcomes

    def _write_together(self, conn: Any, writes: list[_Write], endpoints: list[str]) -> list[BaseException | None]:
        """Check each request against what is stored and what earlier requests in the group add, as if they
        were written one after the other, then store every statement that passed at once."""
        existing = storage.statements_by_id(conn, [s["id"] for w in writes for s in w.sent if "id" in s])
        targets = [s["object"]["id"] for w in writes for s in w.completed if _is_voiding(s)]
        stored_targets = storage.statements_by_id(conn, targets) if targets else {}
        added: dict[str, dict[str, Any]] = {}
        """Statements accepted from earlier requests of this group, by id."""
        accepted: list[IndexedStatement] = []
        bodies: list[tuple[str, str, bytes]] = []
        outcomes: list[BaseException | None] = []
        for write in writes:
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
        storage.save_statements(conn, accepted, attachments=bodies, endpoints=endpoints, now=writes[-1].stamp)
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

    # statements: fetch

    def get_statements(self, req: Req) -> Response:
        params = req.params
        preferred = _accept_languages(req.headers.get("accept-language", ""))
        if "statementId" in params or "voidedStatementId" in params:
            return self._single(req, preferred)
        if "more" in params:
            if len(params) > 1:
                raise LRSError(400, "more cannot be combined with other parameters", field="more", rule="more")
            q, fmt, attachments, limit, after = decode_more(params["more"])
            cursor: int | None = after
        else:
            q, fmt, attachments, limit = self._query(req)
            cursor = None
        with self._reading() as conn:
            rows, more = storage.query_statements(conn, q, after=cursor, limit=limit)
            bodies = self._format(conn, [body for _, body in rows], fmt, preferred)
            files = storage.attachments_for(conn, [seq for seq, _ in rows]) if attachments else []
        link = ""
        if more:
            link = f"{req.path}?more=" + encode_more(q, fmt=fmt, attachments=attachments, limit=limit,
                                                      after=rows[-1][0])
        text = '{"statements":[' + ",".join(bodies) + '],"more":' + json.dumps(link) + "}"
        if attachments:
            body, content_type = build_multipart(text.encode("utf-8"), files)
            return Response(body, media_type=content_type)
        return _raw_json(text)

    def _query(self, req: Req) -> tuple[storage.StatementQuery, str, bool, int]:
        params = req.params
        agent = None
        if "agent" in params:
            agent = agent_key(_param_agent(params, "agent", group=True, version=req.version))
        verb = _param_iri(params, "verb") if "verb" in params else None
        activity = _param_iri(params, "activity") if "activity" in params else None
        registration = _param_uuid(params, "registration") if "registration" in params else None
        limit_text = params.get("limit", "0")
        if not limit_text.isdigit():
            raise LRSError(400, "limit must be a whole number (0 for the most allowed)", field="limit", rule="limit")
        limit = int(limit_text)
        limit = self.max_limit if limit == 0 else min(limit, self.max_limit)
        q = storage.StatementQuery(
            agent=agent, related_agents=_param_bool(params, "related_agents"), verb=verb, activity=activity,
            related_activities=_param_bool(params, "related_activities"), registration=registration,
            since=_param_timestamp(params, "since"), until=_param_timestamp(params, "until"),
            ascending=_param_bool(params, "ascending"))
        return q, self._format_param(params), _param_bool(params, "attachments"), limit

    @staticmethod
    def _format_param(params: dict[str, str]) -> str:
        fmt = params.get("format", "exact")
        if fmt not in ("ids", "exact", "canonical"):
            raise LRSError(400, "format must be ids, exact or canonical", field="format", rule="format")
        return fmt

    def _single(self, req: Req, preferred: list[str]) -> Response:
        params = req.params
        if "statementId" in params and "voidedStatementId" in params:
            raise LRSError(400, "give statementId or voidedStatementId, not both", field="voidedStatementId",
                           rule="parameters")
        name = "statementId" if "statementId" in params else "voidedStatementId"
        extra = sorted(set(params) - {name, "format", "attachments"})
        if extra:
            raise LRSError(400, f"{extra[0]} cannot be used with {name}", field=extra[0], rule="parameters")
        ident = _param_uuid(params, name)
        fmt = self._format_param(params)
        attachments = _param_bool(params, "attachments")
        with self._reading() as conn:
            found = storage.statement_by_id(conn, ident)
            if found is None or found.voided != (name == "voidedStatementId"):
                raise LRSError(404, f"no {'voided ' if name == 'voidedStatementId' else ''}statement has id "
                               f"{ident}", field=name, rule="not-found")
            body = self._format(conn, [found.body], fmt, preferred)[0]
            files = storage.attachments_for(conn, [found.seq]) if attachments else []
        headers = {"Last-Modified": _http_date(found.stored)}
        if attachments:
            data, content_type = build_multipart(body.encode("utf-8"), files)
            return Response(data, media_type=content_type, headers=headers)
        return _raw_json(body, headers=headers)

    @staticmethod
    def _format(conn: Any, bodies: list[str], fmt: str, preferred: list[str]) -> list[str]:
        if fmt == "exact":
            return bodies
        canonical = _Canonical(conn, preferred)
        out = []
        for body in bodies:
            statement = json.loads(body)
            shaped = _ids_statement(statement) if fmt == "ids" else canonical.statement(statement)
            out.append(json.dumps(shaped, ensure_ascii=False, separators=(",", ":")))
        return out

    # documents

    def documents(self, req: Req) -> Response:
        kind = DOCUMENT_KINDS[req.resource]
        params = req.params
        id_name = "stateId" if kind == "state" else "profileId"
        activity = _param_iri(params, "activityId") if kind != "agent_profile" else ""
        agent = ""
        if kind != "activity_profile":
            agent = agent_key(_param_agent(params, "agent", group=False, version=req.version))
        registration = _param_uuid(params, "registration") if "registration" in params else ""
        key = storage.DocumentKey(kind, activity, agent, registration)
        doc_id = params.get(id_name)
        method = "GET" if req.method == "HEAD" else req.method
        if method == "GET":
            since = _param_timestamp(params, "since")
            with self.store.transaction() as conn:
                if doc_id is None:
                    found = storage.document_ids(conn, key, since)
                    headers = {"Last-Modified": _http_date(max(u for _, u in found))} if found else {}
                    return _json([i for i, _ in found], headers=headers)
                doc = storage.document(conn, key, doc_id)
            if doc is None:
                raise LRSError(404, f"there is no document {doc_id!r} here", field=id_name, rule="not-found")
            return Response(doc.body, media_type=doc.content_type,
                            headers={"ETag": f'"{doc.etag}"', "Last-Modified": _http_date(doc.updated)})
        if doc_id is None and not (method == "DELETE" and kind == "state"):
            raise LRSError(400, f"the {id_name} parameter is required", field=id_name, rule="required")
        with self.store.transaction() as conn:
            if doc_id is None:
                storage.delete_documents(conn, key)
                return Response(status_code=204)
            existing = storage.document(conn, key, doc_id)
            _preconditions(req, existing, etag_required=method == "PUT" and kind != "state")
            if method == "DELETE":
                storage.delete_document(conn, key, doc_id)
                return Response(status_code=204)
            content_type = req.content_type or "application/octet-stream"
            body = req.body
            if method == "POST":
                content_type, body = _merge(req, existing)
            etag = hashlib.sha1(body, usedforsecurity=False).hexdigest()
            storage.put_document(conn, key, storage.Document(doc_id, content_type, body, etag, now()))
        return Response(status_code=204)

    # activities and agents

    def get_activity(self, req: Req) -> Response:
        activity_id = _param_iri(req.params, "activityId")
        with self._reading() as conn:
            definition = canonical_definition(conn, activity_id)
        out: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
        if definition:
            out["definition"] = definition
        return _json(out)

    def get_person(self, req: Req) -> Response:
        agent = _param_agent(req.params, "agent", group=False, version=req.version)
        key = agent_key(agent)
        names: list[str] = [agent["name"]] if isinstance(agent.get("name"), str) else []
        with self._reading() as conn:
            bodies = storage.statements_about_agent(conn, key, 100)
        for body in bodies:
            for seen in _agents_in(json.loads(body)):
                name = seen.get("name")
                if isinstance(name, str) and name not in names and agent_key(seen) == key:
                    names.append(name)
        person: dict[str, Any] = {"objectType": "Person"}
        if names:
            person["name"] = names
        for ifi in IFIS:
            if ifi in agent:
                person[ifi] = [agent[ifi]]
        return _json(person)


def _alternate(req: Req) -> None:
    """Unwrap the alternate request syntax (xAPI 1.0.3 part three, 1.3) in place."""
    if len(req.params) != 1:
        raise LRSError(400, "with the method parameter, every other parameter goes in the form body",
                       field="method", rule="alternate-syntax")
    method = req.params["method"].upper()
    if method not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
        raise LRSError(400, f"method {method} is not an xAPI method", field="method", rule="alternate-syntax")
    if req.mime != "application/x-www-form-urlencoded":
        raise LRSError(415, "the alternate request syntax needs an application/x-www-form-urlencoded body",
                       field="Content-Type", rule="content-type")
    try:
        form = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise LRSError(400, "the form must be UTF-8", field="body", rule="alternate-syntax") from None
    headers = {k: v for k, v in req.headers.items() if k not in ("content-type", "content-length")}
    params: dict[str, str] = {}
    body = b""
    for name, value in form:
        if name == "content":
            body = value.encode("utf-8")
        elif name.lower() in _ALTERNATE_HEADERS:
            headers[name.lower()] = value
        elif name in params:
            raise LRSError(400, f"the {name} parameter is given twice", field=name, rule="duplicate-parameter")
        else:
            params[name] = value
    if body and "content-type" not in headers:
        headers["content-type"] = "application/json"
    req.method, req.params, req.headers, req.body = method, params, headers, body


def _etags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def _preconditions(req: Req, existing: storage.Document | None, *, etag_required: bool) -> None:
    current = f'"{existing.etag}"' if existing else None
    if_match = req.headers.get("if-match")
    if_none = req.headers.get("if-none-match")
    if if_match is not None:
        tags = _etags(if_match)
        if current is None or not ("*" in tags or current in tags):
            raise LRSError(412, "If-Match does not match the document's current ETag", field="If-Match",
                           rule="precondition")
    if if_none is not None:
        tags = _etags(if_none)
        if current is not None and ("*" in tags or current in tags):
            raise LRSError(412, "If-None-Match: the document already exists", field="If-None-Match",
                           rule="precondition")
    if etag_required and existing is not None and if_match is None and if_none is None:
        raise LRSError(409, "This document already exists. Check its current state, then send If-Match with its "
                       "ETag to replace it.", field="If-Match", rule="etag-required")


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def _merge(req: Req, existing: storage.Document | None) -> tuple[str, bytes]:
    """POST: store a new document, or merge JSON objects' top-level properties into the existing one."""
    content_type = req.content_type or "application/octet-stream"
    posted: Any = None
    if _is_json(content_type):
        try:
            posted = json.loads(req.body)
        except ValueError:
            posted = None
        if not isinstance(posted, dict):
            raise LRSError(400, "a JSON document sent with POST must be a JSON object", field="body", rule="json")
    if existing is None:
        return content_type, req.body
    if posted is None or not _is_json(existing.content_type):
        raise LRSError(400, "POST merges JSON objects: both the stored and the sent document must be "
                       "application/json", field="Content-Type", rule="merge")
    try:
        stored = json.loads(existing.body)
    except ValueError:
        stored = None
    if not isinstance(stored, dict):
        raise LRSError(400, "the stored document is not a JSON object, so it cannot be merged", field="body",
                       rule="merge")
    stored.update(posted)
    return "application/json", json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_signature(statement: dict[str, Any], attachment: dict[str, Any], part: tuple[str, bytes] | None,
                     where: str) -> None:
    """A signed statement's JWS must be well formed and sign this very statement (part two, 2.6)."""

    def bad(why: str) -> LRSError:
        return LRSError(400, f"{where}: malformed signature: {why}", field=where, rule="signature")

    if str(attachment["contentType"]).split(";")[0].strip().lower() != "application/octet-stream":
        raise bad("the contentType must be application/octet-stream")
    if part is None:
        raise bad("the JWS must be sent as an attachment part")
    try:
        header_b64, payload_b64, signature_b64 = part[1].decode("ascii").strip().split(".")
        header = json.loads(_b64url(header_b64))
        payload = json.loads(_b64url(payload_b64))
        _b64url(signature_b64)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise bad("it is not a JWS in compact serialisation") from None
    if not isinstance(header, dict) or header.get("alg") not in ("RS256", "RS384", "RS512"):
        raise bad("the algorithm must be RS256, RS384 or RS512")
    unsigned = dict(statement)
    rest = [a for a in statement.get("attachments") or [] if a is not attachment]
    if rest:
        unsigned["attachments"] = rest
    else:
        unsigned.pop("attachments", None)
    if isinstance(payload, dict) and "attachments" in payload and not payload["attachments"]:
        payload.pop("attachments")
    if not isinstance(payload, dict) or not equivalent(payload, unsigned):
        raise bad("the signed payload is not this statement")


def _head(response: Response) -> Response:
    """A HEAD answer: the GET answer's headers (its length included) without the body."""
    length = len(response.body)
    out = Response(b"", status_code=response.status_code)
    out.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    if response.status_code not in (204, 304):
        out.raw_headers.append((b"content-length", str(length).encode()))
    return out


def make_app(store: Store, *, base_url: str, endpoints: Callable[[], list[str]] | list[str] | None = None,
             on_saved: Callable[[], None] | None = None, max_body: int = MAX_BODY, max_limit: int = MAX_LIMIT,
             failed_attempts: int = 20) -> LRS:
    """The LRS as an ASGI app, e.g. ``Mount("/xapi", app=make_app(store, base_url=settings.base_url))``.

    ``endpoints`` lists (or returns) the outbox endpoint names each statement stored here is
    queued for (by default none: statements received here are not forwarded); ``on_saved`` is
    called on the event loop after statements were queued, e.g. to wake the deliverer.
    ``max_body`` bounds a request (attachments included), ``max_limit`` a page of statements,
    ``failed_attempts`` the failed sign-ins per key or address in 15 minutes.
    """
    return LRS(store, base_url=base_url, endpoints=endpoints, on_saved=on_saved, max_body=max_body,
               max_limit=max_limit, failed_attempts=failed_attempts)
