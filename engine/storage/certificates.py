"""Certificates: every SQL statement about them, and their verification codes.

A code is 12 characters of Crockford's base32 (60 random bits), stored bare and shown as ``MC-7K3P-Q9XD-2FHM``.
Crockford's alphabet has no I, L, O or U, so a code read aloud or typed from paper survives the usual slips:
lookups ignore case, spaces and dashes, and read I and L as 1 and O as 0.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from .clock import now
from .db import Store

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
PREFIX = "MC"
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")  # spaces, hyphens and the dashes word processors make
_SLIPS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_COLUMNS = ("id, code, user_id, course_iri, name, course_title, title, signed_by, issued_at, revoked_at, revoked_by,"
            " revoked_reason")


@dataclass(frozen=True)
class Certificate:
    id: int
    code: str
    """Bare: 12 characters, no prefix or dashes (see :func:`display`)."""
    user_id: int
    course_iri: str
    name: str
    course_title: str
    title: str
    signed_by: str | None
    issued_at: str
    revoked_at: str | None
    revoked_by: str | None
    revoked_reason: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def display_code(self) -> str:
        return display(self.code)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    return "-".join([PREFIX, code[0:4], code[4:8], code[8:12]])


def normalise(text: str) -> str | None:
    """The bare code someone typed, or None when it cannot be one (so it is never looked up)."""
    bare = _SEPARATORS.sub("", text or "").upper()
    if len(bare) == LENGTH + len(PREFIX) and bare.startswith(PREFIX):
        bare = bare[len(PREFIX):]
    bare = bare.translate(_SLIPS)
    if len(bare) != LENGTH or any(c not in ALPHABET for c in bare):
        return None
    return bare


def _certificate(row: tuple[Any, ...] | None) -> Certificate | None:
    return Certificate(*row) if row else None


def _in_tx(store: Store) -> sqlite3.Connection:
    assert store.conn.in_transaction, "certificate writes run inside store.transaction()"
    return store.conn


def for_user(store: Store, user_id: int, course_iri: str) -> Certificate | None:
    return _certificate(store.conn.execute(
        f"SELECT {_COLUMNS} FROM certificates WHERE user_id = ? AND course_iri = ?",  # noqa: S608
        (user_id, course_iri)).fetchone())


def by_code(store: Store, code: str) -> Certificate | None:
    """The certificate with this bare code (see :func:`normalise`)."""
    return _certificate(store.conn.execute(
        f"SELECT {_COLUMNS} FROM certificates WHERE code = ?", (code,)).fetchone())  # noqa: S608


def course_completed(store: Store, enrolment_id: int, course_iri: str) -> bool:
    return store.conn.execute("SELECT 1 FROM completions WHERE enrolment_id = ? AND object_iri = ?",
                              (enrolment_id, course_iri)).fetchone() is not None


def issue(store: Store, *, user_id: int, course_iri: str, name: str, course_title: str, title: str,
          signed_by: str | None) -> Certificate | None:
    """Issue the learner's certificate for a course; None when they already have one. Caller holds the
    transaction, so the certificate commits with the completion that earned it."""
    conn = _in_tx(store)
    for _ in range(5):
        try:
            inserted = conn.execute(
                "INSERT INTO certificates (code, user_id, course_iri, name, course_title, title, signed_by,"
                " issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, course_iri) DO NOTHING",
                (new_code(), user_id, course_iri, name, course_title, title, signed_by, now())).rowcount == 1
        except sqlite3.IntegrityError:  # the random code is taken: one chance in 2^60 per certificate
            continue
        return for_user(store, user_id, course_iri) if inserted else None
    raise RuntimeError("could not make a unique certificate code")


def revoke(store: Store, code: str, *, by: str, reason: str) -> bool:
    """Revoke a certificate; False when there is none with this code or it is already revoked."""
    with store.transaction() as conn:
        return conn.execute(
            "UPDATE certificates SET revoked_at = ?, revoked_by = ?, revoked_reason = ?"
            " WHERE code = ? AND revoked_at IS NULL", (now(), by, reason, code)).rowcount == 1


def search(store: Store, query: str = "", *, limit: int = 100) -> list[tuple[Certificate, str]]:
    """Certificates with their learner's email, newest first: all, or those whose code is ``query`` or whose
    learner's email contains it."""
    columns = ", ".join("c." + c.strip() for c in _COLUMNS.split(","))
    sql = f"SELECT {columns}, u.email FROM certificates c JOIN users u ON u.id = c.user_id"  # noqa: S608
    args: list[Any] = []
    if query:
        code = normalise(query)
        pattern = "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += " WHERE c.code = ? OR u.email LIKE ? ESCAPE '\\'"
        args += [code or "", pattern]
    sql += " ORDER BY c.issued_at DESC, c.id DESC LIMIT ?"
    args.append(limit)
    return [(Certificate(*row[:-1]), str(row[-1])) for row in store.conn.execute(sql, args)]


def export_user(store: Store, user_id: int) -> list[dict[str, Any]]:
    """A learner's certificates, for their "my data" download."""
    cursor = store.conn.execute(
        "SELECT code, course_iri, name, course_title, title, signed_by, issued_at, revoked_at, revoked_reason"
        " FROM certificates WHERE user_id = ? ORDER BY id", (user_id,))
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor]
    for row in rows:
        row["code"] = display(row["code"])
    return rows
