"""The outbox: statements waiting for each external LRS, retries, and the dead-letter list."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointStatus:
    endpoint: str
    queued: int
    oldest_stored: str | None
    dead: int
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None


def due(conn: sqlite3.Connection, endpoint: str, at: str, limit: int) -> list[tuple[int, str, int]]:
    """(seq, statement JSON, attempts so far) of the oldest statements due for delivery."""
    return [(seq, body, attempts) for seq, body, attempts in conn.execute(
        "SELECT o.seq, s.body, o.attempts FROM outbox o JOIN statements s ON s.seq = o.seq"
        " WHERE o.endpoint = ? AND o.next_at <= ? ORDER BY o.seq LIMIT ?", (endpoint, at, limit))]


def next_due(conn: sqlite3.Connection, endpoint: str) -> str | None:
    row = conn.execute("SELECT MIN(next_at) FROM outbox WHERE endpoint = ?", (endpoint,)).fetchone()
    return row[0] if row else None


def delivered(conn: sqlite3.Connection, endpoint: str, seqs: list[int], at: str) -> None:
    conn.executemany("DELETE FROM outbox WHERE endpoint = ? AND seq = ?", [(endpoint, s) for s in seqs])
    conn.execute("INSERT INTO delivery_status (endpoint, last_success_at) VALUES (?, ?) ON CONFLICT (endpoint)"
                 " DO UPDATE SET last_success_at = excluded.last_success_at", (endpoint, at))


def retry_later(conn: sqlite3.Connection, endpoint: str, seqs: list[int], next_at: str, error: str, at: str) -> None:
    conn.executemany("UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?"
                     " WHERE endpoint = ? AND seq = ?", [(next_at, error, endpoint, s) for s in seqs])
    _error(conn, endpoint, error, at)


def dead(conn: sqlite3.Connection, endpoint: str, seq: int, status: int | None, error: str, at: str) -> None:
    conn.execute("DELETE FROM outbox WHERE endpoint = ? AND seq = ?", (endpoint, seq))
    conn.execute("INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?)", (endpoint, seq, at, status, error))
    _error(conn, endpoint, error, at)


def _error(conn: sqlite3.Connection, endpoint: str, error: str, at: str) -> None:
    conn.execute("INSERT INTO delivery_status (endpoint, last_error, last_error_at) VALUES (?, ?, ?)"
                 " ON CONFLICT (endpoint) DO UPDATE SET last_error = excluded.last_error,"
                 " last_error_at = excluded.last_error_at", (endpoint, error[:500], at))


def dead_letters(conn: sqlite3.Connection, endpoint: str | None = None, limit: int = 200
                 ) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT d.endpoint, d.seq, s.id, d.failed_at, d.status, d.error FROM dead_letters d"
        " JOIN statements s ON s.seq = d.seq WHERE (? IS NULL OR d.endpoint = ?) ORDER BY d.seq LIMIT ?",
        (endpoint, endpoint, limit))
    return [{"endpoint": e, "seq": seq, "statement_id": sid, "failed_at": at, "status": st, "error": err}
            for e, seq, sid, at, st, err in rows]


def retry_dead(conn: sqlite3.Connection, endpoint: str | None, at: str) -> int:
    """Put dead letters back in the outbox, due now."""
    moved = conn.execute(
        "INSERT OR IGNORE INTO outbox (endpoint, seq, next_at) SELECT endpoint, seq, ? FROM dead_letters"
        " WHERE (? IS NULL OR endpoint = ?)", (at, endpoint, endpoint)).rowcount
    conn.execute("DELETE FROM dead_letters WHERE (? IS NULL OR endpoint = ?)", (endpoint, endpoint))
    return moved


def status(conn: sqlite3.Connection, endpoints: list[str]) -> list[EndpointStatus]:
    out = []
    for endpoint in endpoints:
        queued, oldest = conn.execute(
            "SELECT COUNT(*), MIN(s.stored) FROM outbox o JOIN statements s ON s.seq = o.seq WHERE o.endpoint = ?",
            (endpoint,)).fetchone()
        dead_count = conn.execute("SELECT COUNT(*) FROM dead_letters WHERE endpoint = ?", (endpoint,)).fetchone()[0]
        row = conn.execute("SELECT last_success_at, last_error, last_error_at FROM delivery_status"
                           " WHERE endpoint = ?", (endpoint,)).fetchone() or (None, None, None)
        out.append(EndpointStatus(endpoint, queued, oldest, dead_count, *row))
    return out


def export(conn: sqlite3.Connection, since: str | None) -> sqlite3.Cursor:
    """Every stored statement (oldest first), for a bulk import: a cursor, so nothing is held in memory."""
    return conn.execute("SELECT body FROM statements WHERE (? IS NULL OR stored > ?) ORDER BY seq",
                        (since, since))
