"""xAPI over HTTP: resources and their parameters, versions, error answers, request parameters, the alternate
request syntax and HEAD."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from starlette.responses import Response

from ...storage import lrs_credentials
from ..statement_json import loads_strict
from ..syntax import TIMESTAMP_RANGE, parse_timestamp, timestamp_out_of_range, utc_text
from ..validate import (
    XAPIValidationError,
    validate_activity_id,
    validate_actor,
    validate_uuid,
)

VERSIONS = ["1.0.3", "2.0.0"]
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_HEADER = "X-Experience-API-Consistent-Through"
MAX_LIMIT = 500
MAX_BODY = 16 * 1024 * 1024
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
_SURROGATE = re.compile("[\ud800-\udfff]")
_V1 = re.compile(r"^1\.0(?:\.\d+)?$")
_V2 = re.compile(r"^2\.0(?:\.\d+)?$")


class LRSError(Exception):
    """An HTTP error answer: JSON ``{"error", "field", "rule"}`` with the status."""

    def __init__(self, status: int, message: str, *, field: str | None = None, rule: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        message = _printable(message)
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = None if field is None else _printable(field)
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
    credential: lrs_credentials.Credential | None = None
    client: str = ""
    saved: bool = False
    """Set when statements were stored (and queued for the external endpoints)."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def mime(self) -> str:
        return self.content_type.split(";")[0].strip().lower()


def _printable(text: str) -> str:
    """Text with any lone surrogate written as its escape: an answer is UTF-8, which cannot carry one (a
    repeated property whose name holds one is named before the strict reader finds it)."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _raw_json(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status, headers=headers)


def _raw_json(text: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode("utf-8"), status_code=status, media_type="application/json", headers=headers)


def _http_date(stamp: str) -> str:
    moment = parse_timestamp(stamp)
    return format_datetime(moment.astimezone(UTC), usegmt=True) if moment else ""


def version_of(value: str | None, *, lenient: bool = False) -> str:
    """The xAPI version a request asks for, from its X-Experience-API-Version header."""
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


# --- request parameters -------------------------------------------------------------------------

def _form_pairs(data: bytes) -> list[tuple[bytes, bytes]]:
    """The names and values of a query string or form body (application/x-www-form-urlencoded), as the octets
    their %-escapes stand for: as ``urllib.parse.parse_qsl`` reads them, but not yet decoded, since it would
    replace octets that are not UTF-8 with U+FFFD and read raw non-ASCII octets as whatever it was told."""
    pairs = []
    for piece in data.split(b"&"):
        if piece:
            name, _, value = piece.partition(b"=")
            pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def _param_name(raw: bytes) -> str:
    """A parameter's name as text; one that is not UTF-8 (so no parameter of xAPI's) %-escaped as it was sent,
    to be named so in the error that it is unknown."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return quote_from_bytes(raw, safe="")


def _param_text(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LRSError(400, f"the {name} parameter is not UTF-8 text (once its %-escapes are decoded)", field=name,
                       rule="encoding") from None


def parse_params(data: bytes) -> dict[str, str]:
    """A query string's parameters; each at most once, each value UTF-8."""
    params: dict[str, str] = {}
    for raw_name, raw_value in _form_pairs(data):
        name = _param_name(raw_name)
        if name in params:
            raise LRSError(400, f"the {name} parameter is given twice", field=name, rule="duplicate-parameter")
        params[name] = _param_text(name, raw_value)
    return params


def whole_number(text: str) -> int | None:
    """ASCII digits as a number (10**18 for any larger), or None for anything else: ``str.isdigit`` takes every
    script's digits and superscripts, which ``int`` reads or refuses, and ``int`` refuses 4,300 digits or more."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) <= 18 else 10**18


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
        if timestamp_out_of_range(value):
            raise LRSError(400, f"{name} is out of range: {TIMESTAMP_RANGE}", field=name, rule="timestamp")
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
        agent = loads_strict(raw, field=name, subject=f"the {name} parameter")
    except XAPIValidationError as exc:
        if exc.rule == "json":
            raise LRSError(400, f"{name} must be an Agent as JSON", field=name, rule="json") from None
        if exc.rule == "duplicate-property":
            raise LRSError(400, f"{name}: {exc.message}", field=name, rule=exc.rule) from None
        raise LRSError.invalid(exc) from None
    try:
        validate_actor(agent, field=name, version=version, group=group)
    except XAPIValidationError as exc:
        raise LRSError.invalid(exc) from None
    return dict(agent)


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
        req.body.decode("utf-8")
    except UnicodeDecodeError:
        raise LRSError(400, "the form must be UTF-8", field="body", rule="alternate-syntax") from None
    headers = {k: v for k, v in req.headers.items() if k not in ("content-type", "content-length")}
    params: dict[str, str] = {}
    body = b""
    for raw_name, raw_value in _form_pairs(req.body):
        name = _param_name(raw_name)
        if name == "content":
            body = raw_value  # the octets sent: a document need not be text
        elif name.lower() in _ALTERNATE_HEADERS:
            headers[name.lower()] = _param_text(name, raw_value)
        elif name in params:
            raise LRSError(400, f"the {name} parameter is given twice", field=name, rule="duplicate-parameter")
        else:
            params[name] = _param_text(name, raw_value)
    if body and "content-type" not in headers:
        headers["content-type"] = "application/json"
    req.method, req.params, req.headers, req.body = method, params, headers, body


def _head(response: Response) -> Response:
    """A HEAD answer: the GET answer's headers (its length included) without the body."""
    length = len(response.body)
    out = Response(b"", status_code=response.status_code)
    out.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    if response.status_code not in (204, 304):
        out.raw_headers.append((b"content-length", str(length).encode()))
    return out
