"""The LRS's credentials: key, secret hash and scope of each client allowed to read or write statements."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass


class CredentialExists(Exception):
    pass


@dataclass(frozen=True)
class Credential:
    key: str
    name: str
    secret_hash: str
    scope: str
    created_at: str


def add_credential(conn: sqlite3.Connection, *, key: str, name: str, secret_hash: str, scope: str,
                   created_at: str) -> None:
    try:
        conn.execute("INSERT INTO lrs_credentials (key, name, secret_hash, scope, created_at) VALUES (?, ?, ?, ?, ?)",
                     (key, name, secret_hash, scope, created_at))
    except sqlite3.IntegrityError:
        raise CredentialExists(name) from None


def credential(conn: sqlite3.Connection, key: str) -> Credential | None:
    row = conn.execute("SELECT key, name, secret_hash, scope, created_at FROM lrs_credentials WHERE key = ?",
                       (key,)).fetchone()
    return Credential(*row) if row else None


def credentials_by_key(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, Credential]:
    wanted = sorted(set(keys))
    marks = ", ".join("?" * len(wanted))
    return {row[0]: Credential(*row) for row in conn.execute(
        f"SELECT key, name, secret_hash, scope, created_at FROM lrs_credentials WHERE key IN ({marks})",  # noqa: S608
        wanted)}


def credentials(conn: sqlite3.Connection) -> list[Credential]:
    return [Credential(*row) for row in conn.execute(
        "SELECT key, name, secret_hash, scope, created_at FROM lrs_credentials ORDER BY name")]


def remove_credential(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("DELETE FROM lrs_credentials WHERE name = ?", (name,)).rowcount == 1
