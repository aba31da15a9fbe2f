"""The LRS's documents: the State, Activity Profile and Agent Profile resources, each addressed by its kind,
context (activity, agent, registration) and id."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DocumentKey:
    kind: str
    activity: str = ""
    agent: str = ""
    registration: str = ""


@dataclass(frozen=True)
class Document:
    doc_id: str
    content_type: str
    body: bytes
    etag: str
    updated: str


def document(conn: sqlite3.Connection, key: DocumentKey, doc_id: str) -> Document | None:
    row = conn.execute(
        "SELECT doc_id, content_type, body, etag, updated FROM documents"
        " WHERE kind = ? AND activity = ? AND agent = ? AND registration = ? AND doc_id = ?",
        (key.kind, key.activity, key.agent, key.registration, doc_id),
    ).fetchone()
    if row is None:
        return None
    doc_id, content_type, body, etag, updated = row
    return Document(doc_id, content_type, bytes(body), etag, updated)


def document_ids(conn: sqlite3.Connection, key: DocumentKey, since: str | None) -> list[tuple[str, str]]:
    """(id, updated) of every document in this context, optionally only those updated after ``since``."""
    sql = ("SELECT doc_id, updated FROM documents"
           " WHERE kind = ? AND activity = ? AND agent = ? AND registration = ?")
    params: list[Any] = [key.kind, key.activity, key.agent, key.registration]
    if since:
        sql += " AND updated > ?"
        params.append(since)
    return [(doc_id, updated) for doc_id, updated in conn.execute(sql + " ORDER BY doc_id", params)]


def put_document(conn: sqlite3.Connection, key: DocumentKey, doc: Document) -> None:
    conn.execute(
        "INSERT INTO documents (kind, activity, agent, registration, doc_id, content_type, body, etag, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, activity, agent, registration, doc_id) DO UPDATE SET"
        " content_type = excluded.content_type, body = excluded.body, etag = excluded.etag, updated = excluded.updated",
        (key.kind, key.activity, key.agent, key.registration, doc.doc_id, doc.content_type, doc.body, doc.etag,
         doc.updated),
    )


def delete_document(conn: sqlite3.Connection, key: DocumentKey, doc_id: str) -> None:
    conn.execute("DELETE FROM documents WHERE kind = ? AND activity = ? AND agent = ? AND registration = ?"
                 " AND doc_id = ?", (key.kind, key.activity, key.agent, key.registration, doc_id))


def delete_documents(conn: sqlite3.Connection, key: DocumentKey) -> None:
    conn.execute("DELETE FROM documents WHERE kind = ? AND activity = ? AND agent = ? AND registration = ?",
                 (key.kind, key.activity, key.agent, key.registration))

