"""xAPI over HTTP: resources and their parameters, versions, error answers, request parameters, the alternate
request syntax and HEAD."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from ...storage import lrs_credentials
from ..syntax import parse_timestamp, utc_text
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
_V1 = re.compile(r"^1\.0(?:\.\d+)?$")
_V2 = re.compile(r"^2\.0(?:\.\d+)?$")


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


def _head(response: Response) -> Response:
    """A HEAD answer: the GET answer's headers (its length included) without the body."""
    length = len(response.body)
    out = Response(b"", status_code=response.status_code)
    out.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    if response.status_code not in (204, 304):
        out.raw_headers.append((b"content-length", str(length).encode()))
    return out
