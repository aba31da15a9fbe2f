"""Attachments: multipart/mixed bodies in and out, the parts a request carries, and signed statements' JWS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from ..statement_json import equivalent, loads_strict
from ..validate import SIGNATURE_USAGE, XAPIValidationError
from .protocol import LRSError

_HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


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


def attachment_parts(content_type: str, body: bytes) -> tuple[bytes, dict[str, tuple[str, bytes]]]:
    """A multipart/mixed statement request: the statements' JSON (the first part) and the attachment parts by
    SHA-2, each checked against its X-Experience-API-Hash."""
    parts = parse_multipart(content_type, body)
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
    return first, attachments


def _attachment_objects(statement: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"{path}attachments[{i}]", a) for i, a in enumerate(statement.get("attachments") or [])]
    obj = statement.get("object") or {}
    if obj.get("objectType") == "SubStatement":
        found += [(f"{path}object.attachments[{i}]", a) for i, a in enumerate(obj.get("attachments") or [])]
    return found


def check_attachments(statements: list[dict[str, Any]], parts: dict[str, tuple[str, bytes]],
                      prefix: Callable[[int], str]) -> None:
    """Every attachment is sent as a part or has a fileUrl, every part belongs to a statement, signatures sign."""
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
        header_text, payload_text = _b64url(header_b64), _b64url(payload_b64)
        _b64url(signature_b64)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise bad("it is not a JWS in compact serialisation") from None
    try:
        # Read as strictly as statements: the payload is compared with the statement, recursively.
        header = loads_strict(header_text, field="header", subject="the JWS header")
        payload = loads_strict(payload_text, field="payload", subject="the JWS payload")
    except XAPIValidationError as exc:
        raise bad(exc.message) from None
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
