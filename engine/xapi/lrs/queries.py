"""Reading statements (single, filtered pages, the more token), activities and agents."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from starlette.responses import Response

from ...storage import lrs as storage
from ...storage import lrs_query
from ...storage.prefetch import ReadAhead
from ..keys import agent_key
from ..statement_json import loads_strict
from ..syntax import is_iri, is_uuid, parse_timestamp
from ..validate import IFIS
from .attachments import build_multipart
from .formats import _accept_languages, _agents_in, canonical_definition, format_bodies
from .protocol import (
    MAX_LIMIT,
    LRSError,
    Req,
    _http_date,
    _json,
    _param_agent,
    _param_bool,
    _param_iri,
    _param_timestamp,
    _param_uuid,
    _raw_json,
    whole_number,
)

FORMATS = ("ids", "exact", "canonical")
MORE_TOKEN_JSON = 1 << 20
"""The most a more token may inflate to: a token is compressed, so a short one could otherwise inflate to
gigabytes. A token's JSON is about as long as the query that began it, far less than this."""
MAX_SEQ = 2**63 - 1
"""The largest cursor a token may carry: SQLite's largest integer (a larger one cannot be bound)."""
_TOKEN_KEYS = frozenset(("q", "f", "t", "l", "c"))
_FLAGS = frozenset(f.name for f in dataclasses.fields(lrs_query.StatementQuery) if f.default is False)
"""The query's true-or-false filters; every other one is text or None."""
_FILTER_CHECKS: dict[str, Callable[[str], bool]] = {
    "verb": is_iri, "activity": is_iri, "registration": is_uuid,
    "since": lambda v: parse_timestamp(v) is not None, "until": lambda v: parse_timestamp(v) is not None,
}


def encode_more(q: lrs_query.StatementQuery, *, fmt: str, attachments: bool, limit: int, after: int) -> str:
    data = {"q": dataclasses.asdict(q), "f": fmt, "t": attachments, "l": limit, "c": after}
    raw = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_more(token: str) -> tuple[lrs_query.StatementQuery, str, bool, int, int]:
    """What :func:`encode_more` put in a token. Tokens are not signed, so a client may make its own: every field
    is checked for its type and range here, as the query's own parameters are, before it reaches SQL."""
    data = _token_data(token)
    q = _token_query(data.get("q")) if isinstance(data, dict) and set(data) == _TOKEN_KEYS else None
    if q is None:
        raise _bad_token()
    fmt, attachments, limit, after = data["f"], data["t"], data["l"], data["c"]
    if (fmt not in FORMATS or type(attachments) is not bool or type(limit) is not int or not 0 < limit <= MAX_LIMIT
            or type(after) is not int or not 0 <= after <= MAX_SEQ):
        raise _bad_token()
    return q, fmt, attachments, limit, after


def _bad_token() -> LRSError:
    return LRSError(400, "the more token is not one this LRS gave", field="more", rule="more")


def _token_data(token: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(raw, MORE_TOKEN_JSON)
        if not inflater.eof or inflater.unconsumed_tail:  # cut short, or more than MORE_TOKEN_JSON
            raise _bad_token()
        return loads_strict(text, field="more", subject="the more token")
    except (ValueError, binascii.Error, zlib.error):  # XAPIValidationError is a ValueError
        raise _bad_token() from None


def _token_query(data: Any) -> lrs_query.StatementQuery | None:
    """The query in a token, or None unless it has every filter, each of its type and form."""
    if not isinstance(data, dict) or set(data) != {f.name for f in dataclasses.fields(lrs_query.StatementQuery)}:
        return None
    for name, value in data.items():
        if name in _FLAGS:
            if type(value) is not bool:
                return None
        elif value is not None:
            check = _FILTER_CHECKS.get(name)
            if not isinstance(value, str) or (check is not None and not check(value)):
                return None
    return lrs_query.StatementQuery(**data)


class StatementQueries:
    """GET of statements, activities and agents, for :class:`engine.xapi.lrs.app.LRS`."""

    max_limit: int
    _read_ahead: ReadAhead | None

    def _reading(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

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
            rows, more = lrs_query.query_statements(conn, q, after=cursor, limit=limit, read_ahead=self._read_ahead)
            bodies = format_bodies(conn, [body for _, body in rows], fmt, preferred)
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

    def _query(self, req: Req) -> tuple[lrs_query.StatementQuery, str, bool, int]:
        params = req.params
        agent = None
        if "agent" in params:
            agent = agent_key(_param_agent(params, "agent", group=True, version=req.version))
        verb = _param_iri(params, "verb") if "verb" in params else None
        activity = _param_iri(params, "activity") if "activity" in params else None
        registration = _param_uuid(params, "registration") if "registration" in params else None
        limit = whole_number(params.get("limit", "0"))
        if limit is None:
            raise LRSError(400, "limit must be a whole number in ASCII digits (0 for the most allowed)",
                           field="limit", rule="limit")
        limit = self.max_limit if limit == 0 else min(limit, self.max_limit)
        q = lrs_query.StatementQuery(
            agent=agent, related_agents=_param_bool(params, "related_agents"), verb=verb, activity=activity,
            related_activities=_param_bool(params, "related_activities"), registration=registration,
            since=_param_timestamp(params, "since"), until=_param_timestamp(params, "until"),
            ascending=_param_bool(params, "ascending"))
        return q, self._format_param(params), _param_bool(params, "attachments"), limit

    @staticmethod
    def _format_param(params: dict[str, str]) -> str:
        fmt = params.get("format", "exact")
        if fmt not in FORMATS:
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
            body = format_bodies(conn, [found.body], fmt, preferred)[0]
            files = storage.attachments_for(conn, [found.seq]) if attachments else []
        headers = {"Last-Modified": _http_date(found.stored)}
        if attachments:
            data, content_type = build_multipart(body.encode("utf-8"), files)
            return Response(data, media_type=content_type, headers=headers)
        return _raw_json(body, headers=headers)

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
            bodies = lrs_query.statements_about_agent(conn, key, 100)
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
