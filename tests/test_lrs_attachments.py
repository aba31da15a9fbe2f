"""Attachments: multipart/mixed upload with hash checks, fileUrl-only attachments, downloads, signatures."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import (
    XAPI,
    make_lrs,
    multipart,
    new_id,
    parse_multipart_response,
    sha256,
    statement,
)

CERTIFICATE = b"%PDF-1.4 pretend certificate \x00\x01\x02\xff binary bytes\r\n--not-a-boundary"
USAGE = "https://learn.example.gov.uk/attachments/certificate"
SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


def attachment(data: bytes = CERTIFICATE, **changes: Any) -> dict[str, Any]:
    item = {"usageType": USAGE, "display": {"en": "Certificate"}, "contentType": "application/pdf",
            "length": len(data), "sha2": sha256(data)}
    item.update(changes)
    return item


def part(data: bytes = CERTIFICATE, **headers: str) -> tuple[bytes, dict[str, str]]:
    sent = {"Content-Type": "application/pdf", "Content-Transfer-Encoding": "binary",
            "X-Experience-API-Hash": sha256(data)}
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return data, {k: v for k, v in sent.items() if v}


def count(x: XAPI) -> int:
    with x.store.transaction() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0])


def test_upload_and_download(x: XAPI) -> None:
    body, headers = multipart(statement(attachments=[attachment()]), [part()])
    response = x.post("/statements", content=body, headers=headers)
    assert response.status_code == 200, response.text
    [ident] = response.json()
    plain = x.get("/statements", params={"statementId": ident})
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["attachments"][0]["sha2"] == sha256(CERTIFICATE)
    single = x.get("/statements", params={"statementId": ident, "attachments": "true"})
    assert single.headers["content-type"].startswith("multipart/mixed")
    parts = parse_multipart_response(single)
    assert json.loads(parts[0][1])["id"] == ident
    assert parts[1][1] == CERTIFICATE
    assert parts[1][0]["x-experience-api-hash"] == sha256(CERTIFICATE)
    assert parts[1][0]["content-transfer-encoding"] == "binary"
    assert parts[1][0]["content-type"] == "application/pdf"
    listed = x.get("/statements", params={"attachments": "true"})
    parts = parse_multipart_response(listed)
    assert [s["id"] for s in json.loads(parts[0][1])["statements"]] == [ident]
    assert [p[1] for p in parts[1:]] == [CERTIFICATE]


def test_put_with_an_attachment(x: XAPI) -> None:
    sid = new_id()
    body, headers = multipart(statement(attachments=[attachment()]), [part()])
    assert x.put("/statements", params={"statementId": sid}, content=body, headers=headers).status_code == 204
    assert x.get("/statements", params={"statementId": sid}).status_code == 200


def test_one_part_shared_by_a_batch(x: XAPI) -> None:
    body, headers = multipart([statement(attachments=[attachment()]), statement(attachments=[attachment()])],
                              [part()])
    response = x.post("/statements", content=body, headers=headers)
    assert response.status_code == 200, response.text
    listed = parse_multipart_response(x.get("/statements", params={"attachments": "true"}))
    assert len(listed) == 2  # the statements, and the attachment once


def test_hash_must_match_the_content(x: XAPI) -> None:
    body, headers = multipart(statement(attachments=[attachment()]),
                              [part(CERTIFICATE + b"tampered", X_Experience_API_Hash=sha256(CERTIFICATE))])
    response = x.post("/statements", content=body, headers=headers)
    assert (response.status_code, response.json()["rule"]) == (400, "attachment-hash")
    assert count(x) == 0


@pytest.mark.parametrize(("headers", "rule"), [
    ({"X_Experience_API_Hash": ""}, "attachment-hash"),
    ({"Content_Transfer_Encoding": ""}, "content-transfer-encoding"),
    ({"Content_Transfer_Encoding": "base64"}, "content-transfer-encoding"),
])
def test_part_headers_are_required(x: XAPI, headers: dict[str, str], rule: str) -> None:
    body, sent = multipart(statement(attachments=[attachment()]), [part(**headers)])
    response = x.post("/statements", content=body, headers=sent)
    assert (response.status_code, response.json()["rule"]) == (400, rule)


def test_an_attachment_without_data_or_file_url_is_rejected(x: XAPI) -> None:
    body, headers = multipart(statement(attachments=[attachment()]), [])
    response = x.post("/statements", content=body, headers=headers)
    assert (response.status_code, response.json()["rule"], response.json()["field"]) == (
        400, "attachment-missing", "attachments[0].sha2")
    as_json = x.post("/statements", json=[statement(), statement(attachments=[attachment()])])
    assert (as_json.status_code, as_json.json()["field"]) == (400, "[1].attachments[0].sha2")
    assert count(x) == 0


def test_a_part_no_statement_mentions_is_rejected(x: XAPI) -> None:
    body, headers = multipart(statement(), [part()])
    response = x.post("/statements", content=body, headers=headers)
    assert (response.status_code, response.json()["rule"]) == (400, "attachment-unreferenced")


def test_file_url_attachments_need_no_part(x: XAPI) -> None:
    remote = attachment(fileUrl="https://files.example.gov.uk/certificate.pdf")
    assert x.post("/statements", json=statement(attachments=[remote])).status_code == 200
    body, headers = multipart(statement(attachments=[remote]), [])
    assert x.post("/statements", content=body, headers=headers).status_code == 200


def test_multipart_needs_json_first_and_a_boundary(x: XAPI) -> None:
    body, headers = multipart(statement(), [])
    wrong = body.replace(b"Content-Type: application/json", b"Content-Type: text/plain", 1)
    assert x.post("/statements", content=wrong, headers=headers).json()["rule"] == "multipart"
    no_boundary = x.post("/statements", content=body, headers={"Content-Type": "multipart/mixed"})
    assert no_boundary.json()["rule"] == "multipart"
    truncated = x.post("/statements", content=body[:-20], headers=headers)
    assert truncated.json()["rule"] == "multipart"


def test_statements_need_a_json_or_multipart_body(x: XAPI) -> None:
    response = x.post("/statements", content=json.dumps(statement()), headers={"Content-Type": "text/plain"})
    assert (response.status_code, response.json()["rule"]) == (415, "content-type")
    garbage = x.post("/statements", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (garbage.status_code, garbage.json()["rule"]) == (400, "json")


def jws(payload: dict[str, Any], alg: str = "RS256") -> bytes:
    def enc(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = enc(json.dumps({"alg": alg}).encode())
    return f"{header}.{enc(json.dumps(payload).encode())}.{enc(b'not-a-real-signature')}".encode()


def signed(payload: dict[str, Any], signature: bytes) -> dict[str, Any]:
    item = {"usageType": SIGNATURE, "display": {"en": "Signature"}, "contentType": "application/octet-stream",
            "length": len(signature), "sha2": hashlib.sha256(signature).hexdigest()}
    return {**payload, "attachments": [item]}


def test_signed_statements(x: XAPI) -> None:
    original = statement(id=new_id())
    token = jws(original)
    body, headers = multipart(signed(original, token), [part(token, Content_Type="application/octet-stream")])
    assert x.post("/statements", content=body, headers=headers).status_code == 200
    # A signature over a different statement, a wrong algorithm or a non-JWS part is malformed.
    makers = (lambda s: jws(statement(verb={"id": "https://example.com/other"})), lambda s: jws(s, "HS256"),
              lambda s: b"garbage")
    for make in makers:
        other = statement(id=new_id())
        bad = make(other)
        body, headers = multipart(signed(other, bad), [part(bad, Content_Type="application/octet-stream")])
        response = x.post("/statements", content=body, headers=headers)
        assert (response.status_code, response.json()["rule"]) == (400, "signature")
    assert count(x) == 1
