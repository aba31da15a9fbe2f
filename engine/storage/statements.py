"""Statements in the built-in LRS, and the outbox that delivers them to external LRSs."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field


@dataclass
class IndexedStatement:
    """A complete statement (``body`` is its JSON) with the values queries filter on."""

    id: str
    stored: str
    timestamp: str
    verb: str
    actor: str
    object_activity: str | None
    object_statement: str | None
    registration: str | None
    voiding: bool
    body: str
    activities: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    """Every agent the statement mentions (related_agents)."""
    attachments: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    """The agents the ``agent`` query parameter matches: the actor, an Agent or Group object, and their members."""


def insert_statements(conn: sqlite3.Connection, statements: list[IndexedStatement], *,
                      endpoints: list[str], now: str) -> list[int]:
    """Store statements, void their targets, and queue each for every external endpoint.

    The caller holds the transaction, so a learner action and its statements are
    written together or not at all.
    """
    assert conn.in_transaction, "insert_statements must run inside a transaction"
    seqs = []
    for s in statements:
        cursor = conn.execute(
            "INSERT INTO statements (id, stored, timestamp, verb, actor, object_activity, object_statement,"
            " registration, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.stored, s.timestamp, s.verb, s.actor, s.object_activity, s.object_statement,
             s.registration, s.body),
        )
        seq = int(cursor.lastrowid or 0)
        seqs.append(seq)
        conn.executemany("INSERT OR IGNORE INTO statement_activities VALUES (?, ?)", [(a, seq) for a in s.activities])
        conn.executemany("INSERT OR IGNORE INTO statement_agents VALUES (?, ?)", [(a, seq) for a in s.agents])
        conn.executemany("INSERT OR IGNORE INTO statement_actors VALUES (?, ?, ?)",
                         [(a, s.verb, seq) for a in s.actors])
        conn.executemany("INSERT OR IGNORE INTO statement_attachments VALUES (?, ?)",
                         [(seq, sha2) for sha2 in s.attachments])
        if s.voiding and s.object_statement:
            # A voiding statement cannot itself be voided: the spec says to ignore that.
            conn.execute(
                "UPDATE statements SET voided = 1 WHERE id = ? AND verb != 'http://adlnet.gov/expapi/verbs/voided'",
                (s.object_statement,),
            )
        conn.executemany("INSERT INTO outbox (endpoint, seq, next_at) VALUES (?, ?, ?)",
                         [(endpoint, seq, now) for endpoint in endpoints])
    return seqs
