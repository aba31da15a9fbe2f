"""What the store holds about one learner, for the "my data" download (UK GDPR)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import capstone
from .db import Store
from .records import LAST_LESSON


def user_data(store: Store, user_id: int) -> dict[str, Any]:
    """Everything recorded about a learner, for the "my data" download: the account, each enrolment's learning
    records and the capstone (certificates: ``certificates.export_user``)."""
    user = store.user_by_id(user_id)
    if user is None:
        return {}
    conn = store.conn
    out: dict[str, Any] = {
        "account": {"name": user.name, "email": user.email, "department": user.department,
                    "role": user.role, "created_at": user.created_at, "learner_id": user.public_id},
        "enrolments": [],
    }
    for enrol_id, course, registration, created, last in conn.execute(
        f"SELECT e.id, e.course_iri, e.registration, e.created_at, {LAST_LESSON} FROM enrolments e"  # noqa: S608
        " WHERE e.user_id = ?",
        (user_id,),
    ):
        out["enrolments"].append({
            "course": course, "registration": registration, "enrolled_at": created, "last_lesson": last,
            "lesson_views": _rows(conn, "SELECT lesson_iri, first_at, last_at, views FROM lesson_views"
                                        " WHERE enrolment_id = ?", enrol_id),
            "attempts": [
                {**row, "response": json.loads(row["response"]), "success": bool(row["success"])}
                for row in _rows(conn, "SELECT block_iri, lesson_iri, attempt_no, response, score, success,"
                                       " created_at FROM attempts WHERE enrolment_id = ? ORDER BY id", enrol_id)
            ],
            "responses": [
                {**row, "value": json.loads(row["value"])}
                for row in _rows(conn, "SELECT block_iri, lesson_iri, kind, value, updated_at FROM responses"
                                       " WHERE enrolment_id = ?", enrol_id)
            ],
            "completions": _rows(conn, "SELECT object_iri, kind, completed_at, score FROM completions"
                                       " WHERE enrolment_id = ?", enrol_id),
        })
    out["capstone"] = capstone.export_user(conn, user_id)
    # A link's token is a credential, and only its hash is kept: when it was issued, and by whom, is theirs to see.
    out["password_links"] = _rows(
        conn, "SELECT p.issued_at, p.expires_at, COALESCE(u.name, '') AS issued_by FROM password_links p"
              " LEFT JOIN users u ON u.id = p.issued_by WHERE p.user_id = ? ORDER BY p.issued_at", user_id)
    return out


def _rows(conn: sqlite3.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
