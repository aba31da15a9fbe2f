"""Bad input the LRS must refuse with a 4xx JSON error, storing nothing and logging no traceback: JSON nested too
deep, numbers JSON cannot hold, lone surrogates, timestamps beyond UTC's range, non-ASCII digits, hand-made
``more`` tokens and parameters that are not UTF-8."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from test_lrs_attachments import part, signed
from test_lrs_helpers import ACTIVITY, XAPI, agent, make_lrs, multipart, new_id, statement
from test_statement_json import same_as_strict

from engine.xapi.keys import index, index_stored
from engine.xapi.statement_json import equivalent, loads_statements
from engine.xapi.validate import XAPIValidationError

AGENT = json.dumps({"mbox": "mailto:ada@example.gov.uk"})
EXTENSION = "https://example.com/extensions/x"
DEPTH = 100
"""The documented limit: a value may sit inside at most this many arrays and objects."""
FAR_FUTURE = "9999-12-31T23:59:59-23:59"
"""A well-formed timestamp whose UTC time is after the year 9999."""
FAR_PAST = "0001-01-01T00:00:00+14:00"
"""A well-formed timestamp whose UTC time is before the year 1."""


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


@pytest.fixture(autouse=True)
def no_traceback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A refusal is an answer, not a failure: the LRS logs no error for any request here."""
    with caplog.at_level(logging.ERROR, logger="masterclass.lrs"):
        yield
    assert [r.getMessage() for r in caplog.records if r.name.startswith("masterclass.lrs")] == []


def refused(response: Any, rule: str, field: str | None = None, status: int = 400) -> dict[str, Any]:
    """The answer is the LRS's JSON error with this status, rule and (when given) field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "field", "rule"}
    assert body["rule"] == rule, body
    if field is not None:
        assert body["field"] == field, body
    return dict(body)


def rows(x: XAPI, table: str) -> int:
    with x.store.transaction() as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def nothing_stored(x: XAPI) -> None:
    assert (rows(x, "statements"), rows(x, "documents"), rows(x, "attachments")) == (0, 0, 0)


def with_extension(raw: str, **changes: Any) -> str:
    """A valid statement as text whose context extension is the raw JSON text given (nested 3 deep in it)."""
    text = json.dumps(statement(context={"extensions": {EXTENSION: "@@"}}, **changes))
    return text.replace('"@@"', raw)


def nested(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


def post_json(x: XAPI, path: str, text: str | bytes, **kwargs: Any) -> Any:
    body = text.encode() if isinstance(text, str) else text
    return x.post(path, content=body, headers={"Content-Type": "application/json"}, **kwargs)


def state(**extra: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s", **extra}


def strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity (json.loads would read them)."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=constant)


# --- 1. deep nesting --------------------------------------------------------------------------------

def test_a_body_of_brackets_a_hundred_thousand_deep_is_refused(x: XAPI) -> None:
    body = refused(post_json(x, "/statements", nested(100_000, "")), "depth", "statement")
    assert str(DEPTH) in body["error"]
    nothing_stored(x)


@pytest.mark.parametrize("levels", [DEPTH - 2, 300, 900, 2000])
def test_a_statement_nested_too_deep_is_refused(x: XAPI, levels: int) -> None:
    # The extension sits in 3 objects (statement, context, extensions): its 1 is inside levels + 3.
    refused(post_json(x, "/statements", with_extension(nested(levels))), "depth", "statement")
    refused(x.put("/statements", params={"statementId": new_id()}, content=with_extension(nested(levels)),
                  headers={"Content-Type": "application/json"}), "depth", "statement")
    nothing_stored(x)


def test_a_statement_at_the_depth_limit_is_stored_and_served(x: XAPI) -> None:
    ident = new_id()
    text = with_extension(nested(DEPTH - 3), id=ident)
    assert post_json(x, "/statements", text).status_code == 200
    got = x.get("/statements", params={"statementId": ident})
    assert got.status_code == 200
    assert got.json()["context"]["extensions"][EXTENSION] == json.loads(nested(DEPTH - 3))
    # The same in a batch is one level deeper: too deep.
    refused(post_json(x, "/statements", "[" + with_extension(nested(DEPTH - 3)) + "]"), "depth", "statement")


@pytest.mark.parametrize("levels", [DEPTH - 1, DEPTH, DEPTH + 1, 254, 255, 1024, 1025])
@pytest.mark.parametrize(("inner", "extra"), [("1", 0), ("[]", 0), ("{}", 0), ('{"a":[]}', 1)])
def test_both_readers_draw_the_depth_line_in_the_same_place(levels: int, inner: str, extra: int) -> None:
    # orjson reads 1,024 levels and writes 254: the strict reader decides what it cannot. ``extra``: how many
    # more arrays and objects the innermost value is inside than ``levels``.
    text = nested(levels, inner).encode()
    same_as_strict(text)
    try:
        loads_statements(text)
        too_deep = False
    except XAPIValidationError as exc:
        assert exc.rule == "depth"
        too_deep = True
    assert too_deep == (levels + extra > DEPTH)


def test_a_multipart_statement_nested_too_deep_is_refused(x: XAPI) -> None:
    body, headers = multipart({"placeholder": 1}, [])
    body = body.replace(b'{"placeholder": 1}', with_extension(nested(900)).encode())
    refused(x.post("/statements", content=body, headers=headers), "depth", "statement")
    nothing_stored(x)


@pytest.mark.parametrize("levels", [300, 5000])
def test_an_agent_parameter_nested_too_deep_is_refused(x: XAPI, levels: int) -> None:
    deep = '{"mbox":"mailto:ada@example.gov.uk","name":' + nested(levels, '"x"') + "}"
    refused(x.get("/statements", params={"agent": deep}), "depth", "agent")
    refused(x.get("/agents", params={"agent": deep}), "depth", "agent")
    refused(x.put("/activities/state", params=state(agent=deep), content=b"1"), "depth", "agent")
    nothing_stored(x)


@pytest.mark.parametrize("levels", [300, 100_000])
def test_a_document_post_nested_too_deep_is_refused(x: XAPI, levels: int) -> None:
    refused(post_json(x, "/activities/state", '{"a":' + nested(levels) + "}", params=state()), "depth", "body")
    nothing_stored(x)
    # Merged into a stored document, the same.
    assert post_json(x, "/activities/state", '{"b":1}', params=state()).status_code == 204
    refused(post_json(x, "/activities/state", '{"a":' + nested(levels) + "}", params=state()), "depth", "body")
    assert x.get("/activities/state", params=state()).json() == {"b": 1}


def _jws_with_payload(payload: bytes) -> bytes:
    def enc(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join((enc(b'{"alg":"RS256"}'), enc(payload), enc(b"sig"))).encode()


@pytest.mark.parametrize("payload", [nested(900).encode(), b'{"a":' + nested(100_000).encode() + b"}",
                                     b'{"a":1e400}', b'{"a":"\\ud800"}', b'{"a":' + b"9" * 5000 + b"}"],
                         ids=["900-deep", "100000-deep", "infinity", "surrogate", "long-integer"])
def test_a_signature_whose_payload_is_bad_json_is_malformed(x: XAPI, payload: bytes) -> None:
    original = statement(id=new_id())
    token = _jws_with_payload(payload)
    body, headers = multipart(signed(original, token), [part(token, Content_Type="application/octet-stream")])
    body_json = refused(x.post("/statements", content=body, headers=headers), "signature", "attachments[0]")
    assert "malformed signature" in body_json["error"]
    nothing_stored(x)


# --- 2. integers longer than Python reads ---------------------------------------------------------

def test_an_integer_of_five_thousand_digits_is_refused(x: XAPI) -> None:
    body = refused(post_json(x, "/statements", with_extension("9" * 5000)), "number", "statement")
    assert "5000 digits" in body["error"]
    refused(post_json(x, "/statements", with_extension("-" + "9" * 5000)), "number", "statement")
    nothing_stored(x)


def test_a_score_beyond_floating_point_range_is_refused(x: XAPI) -> None:
    # 400 digits: an integer JSON may hold, but no score can be compared as a number.
    text = json.dumps(statement(result={"score": {"raw": "@@", "min": 0}})).replace('"@@"', "1" + "0" * 400)
    refused(post_json(x, "/statements", text), "number", "result.score.raw")
    nothing_stored(x)


def test_a_long_integer_within_the_limit_is_kept_exactly(x: XAPI) -> None:
    ident = new_id()
    assert post_json(x, "/statements", with_extension("1" + "0" * 400, id=ident)).status_code == 200
    got = x.get("/statements", params={"statementId": ident})
    assert json.loads(got.text)["context"]["extensions"][EXTENSION] == 10**400


def test_a_stored_statement_with_a_long_integer_can_be_indexed_again() -> None:
    # delete_user finds a statement's index rows from its body: orjson reads 400 digits as an infinity.
    full = {**statement(id=new_id(), context={"extensions": {EXTENSION: 10**400}}),
            "stored": "2026-01-01T00:00:00.000Z", "timestamp": "2026-01-01T00:00:00.000Z"}
    body = json.dumps(full, separators=(",", ":"))
    assert index_stored(body) == index(full, body)


# --- 3. lone surrogates -----------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"result": {"response": "\ud800"}}, "result.response"),
    ({"result": {"response": "a\udc00b"}}, "result.response"),
    ({"context": {"extensions": {EXTENSION: ["ok", {"k": "\udfff"}]}}}, "context.extensions"),
    ({"actor": {"objectType": "Agent", "account": {"homePage": "https://a.example", "name": "\ud83d"}}},
     "actor.account.name"),
])
def test_a_lone_surrogate_in_a_statement_is_refused(x: XAPI, change: dict[str, Any], field: str) -> None:
    text = json.dumps(statement(**change))  # ensure_ascii: the surrogate is written \udXXX
    body = refused(post_json(x, "/statements", text), "unicode")
    assert body["field"].startswith(field)
    refused(x.put("/statements", params={"statementId": new_id()}, content=text,
                  headers={"Content-Type": "application/json"}), "unicode")
    nothing_stored(x)


def test_a_lone_surrogate_in_a_property_name_is_refused(x: XAPI) -> None:
    text = json.dumps(statement(context={"extensions": {EXTENSION: {"\ud800": 1}}}))
    body = refused(post_json(x, "/statements", text), "unicode")
    body["error"].encode("utf-8")  # the answer itself is UTF-8
    nothing_stored(x)


def test_a_repeated_property_name_with_a_lone_surrogate_is_refused(x: XAPI) -> None:
    text = with_extension('{"\\ud800":1,"\\ud800":2}')
    assert post_json(x, "/statements", text).status_code == 400
    nothing_stored(x)


def test_a_valid_surrogate_pair_is_a_character(x: XAPI) -> None:
    ident = new_id()
    text = json.dumps(statement(id=ident, result={"response": "\U0001f600"}))
    assert "\\ud83d\\ude00" in text
    assert post_json(x, "/statements", text).status_code == 200
    assert x.get("/statements", params={"statementId": ident}).json()["result"]["response"] == "\U0001f600"


def test_a_lone_surrogate_in_an_agent_parameter_is_refused(x: XAPI) -> None:
    who = json.dumps({"account": {"homePage": "https://a.example", "name": "\ud800"}})
    refused(x.get("/statements", params={"agent": who}), "unicode", "agent.account.name")
    refused(x.get("/activities/state", params=state(agent=who)), "unicode", "agent.account.name")
    refused(x.put("/activities/state", params=state(agent=who), content=b"1"), "unicode", "agent.account.name")
    refused(x.get("/agents/profile", params={"agent": who}), "unicode", "agent.account.name")
    nothing_stored(x)


def test_a_lone_surrogate_in_a_document_post_is_refused(x: XAPI) -> None:
    refused(post_json(x, "/activities/state", '{"a":"\\ud800"}', params=state()), "unicode", "body.a")
    nothing_stored(x)
    assert post_json(x, "/activities/state", '{"b":1}', params=state()).status_code == 204
    refused(post_json(x, "/activities/state", '{"a":"\\ud800"}', params=state()), "unicode", "body.a")
    refused(post_json(x, "/activities/profile", '{"\\udc00":1}',
                      params={"activityId": ACTIVITY, "profileId": "p"}), "unicode", "body")
    assert x.get("/activities/state", params=state()).json() == {"b": 1}


# --- 4. timestamps beyond UTC's range ---------------------------------------------------------------

@pytest.mark.parametrize("stamp", [FAR_FUTURE, FAR_PAST, "9999-12-31T23:30:00-01:00", "0001-01-01T00:59:00+01:00"])
def test_query_timestamps_beyond_utc_range_are_refused(x: XAPI, stamp: str) -> None:
    for name in ("since", "until"):
        body = refused(x.get("/statements", params={name: stamp}), "timestamp", name)
        assert "range" in body["error"]
    refused(x.get("/activities/state", params={"activityId": ACTIVITY, "agent": AGENT, "since": stamp}),
            "timestamp", "since")
    refused(x.get("/activities/profile", params={"activityId": ACTIVITY, "since": stamp}), "timestamp", "since")
    refused(x.get("/agents/profile", params={"agent": AGENT, "since": stamp}), "timestamp", "since")


def test_the_extreme_timestamps_within_range_are_accepted(x: XAPI) -> None:
    for stamp in ("9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59Z",
                  "0001-01-01T00:00:00Z"):
        assert x.get("/statements", params={"since": stamp}).status_code == 200, stamp
    ident = new_id()
    assert x.put("/statements", params={"statementId": ident},
                 json=statement(timestamp="9999-12-31T10:00:00-13:00")).status_code == 204


@pytest.mark.parametrize("stamp", [FAR_FUTURE, FAR_PAST])
def test_a_statement_timestamp_beyond_utc_range_is_never_stored(x: XAPI, stamp: str) -> None:
    ident = new_id()
    body = refused(x.put("/statements", params={"statementId": ident}, json=statement(timestamp=stamp)),
                   "timestamp", "timestamp")
    assert "range" in body["error"]
    refused(x.post("/statements", json=[statement(), statement(timestamp=stamp)]), "timestamp", "[1].timestamp")
    sub = {"objectType": "SubStatement", "actor": agent("bob"), "verb": {"id": EXTENSION},
           "object": {"id": ACTIVITY}, "timestamp": stamp}
    refused(x.post("/statements", json=statement(object=sub)), "timestamp", "object.timestamp")
    nothing_stored(x)
    # The id is still free, and a later write of it is answered normally.
    assert x.put("/statements", params={"statementId": ident}, json=statement()).status_code == 204
    assert x.put("/statements", params={"statementId": ident}, json=statement()).status_code == 204


def test_statements_stored_earlier_with_such_a_timestamp_still_compare() -> None:
    # Stored before this check existed: comparing a resent statement with it must not overflow.
    a = statement(timestamp=FAR_FUTURE)
    assert equivalent(a, dict(a))
    assert not equivalent(a, statement(timestamp="2024-01-01T00:00:00Z"))


# --- 5. integers in parameters are ASCII digits -----------------------------------------------------

@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "\uff11", "1\u00b9", "-1", "1.0", " 1", ""])
def test_limit_must_be_ascii_digits(x: XAPI, limit: str) -> None:
    refused(x.get("/statements", params={"limit": limit}), "limit", "limit")


def test_a_limit_of_many_digits_is_the_most_allowed(x: XAPI) -> None:
    x.store_statements([statement() for _ in range(3)])
    for limit in ("9" * 5000, "0" * 5000 + "2"):
        response = x.get("/statements", params={"limit": limit, "format": "ids"})
        assert response.status_code == 200, response.text
    assert len(x.get("/statements", params={"limit": "0" * 5000 + "2"}).json()["statements"]) == 2


def _raw_request(x: XAPI, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> tuple[int, bytes]:
    """A request straight to the LRS's ASGI app, with headers no HTTP client would send."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/statements", "root_path": "", "query_string": b"",
             "client": ("testclient", 1),
             "headers": [(b"authorization", x.auth.encode()), (b"x-experience-api-version", b"1.0.3"),
                         (b"content-type", b"application/json"), *headers]}
    asyncio.run(x.lrs(scope, receive, send))
    return int(sent[0]["status"]), b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("length", ["\u00b2".encode("latin-1"), b"9" * 5000])
def test_a_content_length_that_is_not_a_small_ascii_number_is_no_failure(x: XAPI, length: bytes) -> None:
    status, body = _raw_request(x, [(b"content-length", length)], json.dumps(statement()).encode())
    assert status in (200, 400, 413), body
    assert json.loads(body) is not None


# --- 6. the more token ------------------------------------------------------------------------------

def _token(data: Any) -> str:
    raw = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _good_token(x: XAPI) -> dict[str, Any]:
    x.store_statements([statement() for _ in range(3)])
    more = x.query(limit=1)["more"]
    token = more.split("more=")[1]
    data = json.loads(zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))
    assert x.get("/statements", params={"more": _token(data)}).status_code == 200
    return dict(data)


BAD_TOKENS: list[tuple[str, Any]] = [
    ("cursor 1e20", lambda d: {**d, "c": 1e20}),
    ("cursor 2**63", lambda d: {**d, "c": 2**63}),
    ("cursor negative", lambda d: {**d, "c": -1}),
    ("cursor float", lambda d: {**d, "c": 1.5}),
    ("cursor text", lambda d: {**d, "c": "1"}),
    ("cursor true", lambda d: {**d, "c": True}),
    ("limit 1e3", lambda d: {**d, "l": 1e3}),
    ("limit true", lambda d: {**d, "l": True}),
    ("attachments text", lambda d: {**d, "t": "yes"}),
    ("format list", lambda d: {**d, "f": ["ids"]}),
    ("agent object", lambda d: {**d, "q": {**d["q"], "agent": {"mbox": "mailto:a@b.c"}}}),
    ("verb number", lambda d: {**d, "q": {**d["q"], "verb": 5}}),
    ("verb not an IRI", lambda d: {**d, "q": {**d["q"], "verb": "not an iri"}}),
    ("registration not a UUID", lambda d: {**d, "q": {**d["q"], "registration": "x"}}),
    ("since not a timestamp", lambda d: {**d, "q": {**d["q"], "since": "yesterday"}}),
    ("ascending text", lambda d: {**d, "q": {**d["q"], "ascending": "true"}}),
    ("related_agents null", lambda d: {**d, "q": {**d["q"], "related_agents": None}}),
    ("unknown filter", lambda d: {**d, "q": {**d["q"], "color": "red"}}),
    ("query a list", lambda d: {**d, "q": []}),
    ("token a list", lambda d: [d]),
    ("extra field", lambda d: {**d, "z": 1}),
    ("surrogate", lambda d: {**d, "q": {**d["q"], "agent": "\ud800"}}),
]


@pytest.mark.parametrize("change", [c for _, c in BAD_TOKENS], ids=[n for n, _ in BAD_TOKENS])
def test_hand_made_more_tokens_are_refused(x: XAPI, change: Any) -> None:
    token = _token(change(_good_token(x)))
    refused(x.get("/statements", params={"more": token}), "more", "more")


def test_a_more_token_that_inflates_without_end_is_refused(x: XAPI) -> None:
    bomb = base64.urlsafe_b64encode(zlib.compress(b'{"q":{},"f":"' + b"a" * 50_000_000 + b'"}', 9))
    refused(x.get("/statements", params={"more": bomb.rstrip(b"=").decode()}), "more", "more")


def test_a_more_token_of_deep_or_infinite_json_is_refused(x: XAPI) -> None:
    for text in (nested(5000).encode(), b'{"c":1e400}', b'{"c":NaN}'):
        token = base64.urlsafe_b64encode(zlib.compress(text)).rstrip(b"=").decode()
        refused(x.get("/statements", params={"more": token}), "more", "more")


# --- 7. numbers JSON has no room for ----------------------------------------------------------------

NON_FINITE = [("1e400", "number"), ("-1e400", "number"), ("1.5E+309", "number"), ("NaN", "json"),
              ("Infinity", "json"), ("-Infinity", "json")]
"""Numbers JSON cannot hold: those that overflow a double (rule number), and the names JSON does not have."""


@pytest.mark.parametrize(("number", "rule"), NON_FINITE)
def test_a_non_finite_score_is_refused_and_pages_stay_json(x: XAPI, number: str, rule: str) -> None:
    text = json.dumps(statement(result={"score": {"raw": "@@"}})).replace('"@@"', number)
    refused(post_json(x, "/statements", text), rule, "statement")
    refused(post_json(x, "/statements", with_extension(number)), rule, "statement")
    nothing_stored(x)
    x.store_statements(statement())
    assert len(strict_json(x.get("/statements").text)["statements"]) == 1


@pytest.mark.parametrize(("number", "rule"), NON_FINITE)
def test_a_non_finite_number_in_a_document_post_is_refused(x: XAPI, number: str, rule: str) -> None:
    refused(post_json(x, "/activities/state", '{"a":' + number + "}", params=state()), rule, "body")
    nothing_stored(x)
    assert post_json(x, "/activities/state", '{"b":1}', params=state()).status_code == 204
    refused(post_json(x, "/activities/state", '{"a":' + number + "}", params=state()), rule, "body")
    assert strict_json(x.get("/activities/state", params=state()).text) == {"b": 1}


def test_a_stored_document_that_is_not_strict_json_is_not_merged(x: XAPI) -> None:
    # PUT stores a document as sent (xAPI documents are opaque): merging needs it to be JSON without NaN.
    assert x.put("/activities/state", params=state(), content=b'{"a":NaN}',
                 headers={"Content-Type": "application/json"}).status_code == 204
    refused(post_json(x, "/activities/state", '{"b":1}', params=state()), "merge", "body")
    assert x.get("/activities/state", params=state()).content == b'{"a":NaN}'


# --- 8. smaller ones ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "named"), [
    ("%FF=1", "%FF"),
    ("caf%E9=1", "caf%E9"),
    ("caf%C3%A9=1", "caf\u00e9"),
    (quote("caf\u00e9") + "=1", "caf\u00e9"),
])
def test_unknown_parameters_are_named_as_sent(x: XAPI, query: str, named: str) -> None:
    response = x.client.get(f"/xapi/statements?{query}",
                            headers={"Authorization": x.auth, "X-Experience-API-Version": "1.0.3"})
    body = refused(response, "unknown-parameter", named)
    assert named in body["error"] and "\ufffd" not in body["error"]


def test_parameters_sent_as_raw_utf8_bytes_are_read_as_utf8(x: XAPI) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for raw, named in ((b"caf\xc3\xa9=1", "caf\u00e9"), (b"caf\xe9=1", "caf%E9")):
        scope = {"type": "http", "method": "GET", "path": "/statements", "root_path": "", "query_string": raw,
                 "client": ("testclient", 1),
                 "headers": [(b"authorization", x.auth.encode()), (b"x-experience-api-version", b"1.0.3")]}
        sent.clear()
        asyncio.run(x.lrs(scope, receive, send))
        body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        assert (sent[0]["status"], body["rule"], body["field"]) == (400, "unknown-parameter", named)


def test_parameter_values_that_are_not_utf8_are_refused(x: XAPI) -> None:
    response = x.client.get(f"/xapi/activities/state?activityId={quote(ACTIVITY)}&agent={quote(AGENT)}&stateId=%FF",
                            headers={"Authorization": x.auth, "X-Experience-API-Version": "1.0.3"})
    refused(response, "encoding", "stateId")
    response = x.client.put(f"/xapi/activities/state?activityId={quote(ACTIVITY)}&agent={quote(AGENT)}&stateId=a%E9",
                            content=b"1", headers={"Authorization": x.auth, "X-Experience-API-Version": "1.0.3"})
    refused(response, "encoding", "stateId")
    nothing_stored(x)


def test_alternate_syntax_form_fields_that_are_not_utf8_are_refused(x: XAPI) -> None:
    form = f"activityId={quote(ACTIVITY)}&agent={quote(AGENT)}&stateId=%FF&content=1".encode()
    response = x.client.post("/xapi/activities/state?method=PUT", content=form,
                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                      "Authorization": x.auth, "X-Experience-API-Version": "1.0.3"})
    refused(response, "encoding", "stateId")
    nothing_stored(x)


def test_a_state_post_with_a_huge_integer_says_so(x: XAPI) -> None:
    body = refused(post_json(x, "/activities/state", '{"n":' + "7" * 5000 + "}", params=state()), "number", "body")
    assert "5000 digits" in body["error"] and "JSON object" not in body["error"]
    nothing_stored(x)
    assert x.get("/activities/state", params=state()).status_code == 404


def test_a_state_post_that_is_not_json_says_so(x: XAPI) -> None:
    body = refused(post_json(x, "/activities/state", "{not json", params=state()), "json", "body")
    assert "not valid JSON" in body["error"]
    nothing_stored(x)


def test_the_strict_reader_names_its_limits() -> None:
    from engine.xapi import statement_json

    assert statement_json.MAX_DEPTH == DEPTH


@pytest.mark.parametrize("stamp", ["\u0662\u0660\u0662\u0664-01-01T00:00:00Z", "2024-01-01T00:00:00+\uff10\uff11:00"])
def test_timestamps_in_other_scripts_digits_are_refused(x: XAPI, stamp: str) -> None:
    # int() reads any script's digits; ISO 8601 has only 0-9.
    refused(x.get("/statements", params={"since": stamp}), "timestamp", "since")
    refused(x.post("/statements", json=statement(timestamp=stamp)), "timestamp", "timestamp")
    refused(x.post("/statements", json=statement(result={"duration": "PT\u0661S"})), "duration", "result.duration")
    nothing_stored(x)
