"""The document resources: activity state, activity profiles and agent profiles, with their ETag
preconditions and JSON merging."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.responses import Response

from ...storage import documents as storage
from ...storage.clock import now
from ...storage.db import Store
from ..keys import agent_key
from ..statement_json import loads_strict
from ..validate import XAPIValidationError
from .protocol import (
    DOCUMENT_KINDS,
    LRSError,
    Req,
    _http_date,
    _json,
    _param_agent,
    _param_iri,
    _param_timestamp,
    _param_uuid,
)


def documents(store: Store, req: Req) -> Response:
    """GET, HEAD, PUT, POST or DELETE a document (or, for GET without an id, list the ids), in one transaction."""
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
        with store.transaction() as conn:
            if doc_id is None:
                found = storage.document_ids(conn, key, since)
                headers = {"Last-Modified": _http_date(max(u for _, u in found))} if found else {}
                return _json([i for i, _ in found], headers=headers)
            doc = storage.document(conn, key, doc_id)
        if doc is None:
            raise LRSError(404, f"there is no document {doc_id!r} here", field=id_name, rule="not-found")
        # As a download, should a browser be sent to it: a script's request for it is not changed by this.
        return Response(doc.body, media_type=doc.content_type,
                        headers={"ETag": f'"{doc.etag}"', "Last-Modified": _http_date(doc.updated),
                                 "Content-Disposition": "attachment"})
    if doc_id is None and not (method == "DELETE" and kind == "state"):
        raise LRSError(400, f"the {id_name} parameter is required", field=id_name, rule="required")
    with store.transaction() as conn:
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
        # Read strictly, as statements are: what is stored is served as JSON, and merged with json.dumps.
        try:
            posted = loads_strict(req.body, field="body", subject="the document")
        except XAPIValidationError as exc:
            raise LRSError.invalid(exc) from None
        if not isinstance(posted, dict):
            raise LRSError(400, "a JSON document sent with POST must be a JSON object", field="body", rule="json")
    if existing is None:
        return content_type, req.body
    if posted is None or not _is_json(existing.content_type):
        raise LRSError(400, "POST merges JSON objects: both the stored and the sent document must be "
                       "application/json", field="Content-Type", rule="merge")
    try:
        stored = loads_strict(existing.body, field="body", subject="the stored document")
    except XAPIValidationError as exc:  # a PUT stores a document as sent
        raise LRSError(400, f"{exc.message}, so it cannot be merged", field="body", rule="merge") from None
    if not isinstance(stored, dict):
        raise LRSError(400, "the stored document is not a JSON object, so it cannot be merged", field="body",
                       rule="merge")
    stored.update(posted)
    return "application/json", json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
