"""Statements in the built-in LRS, and the outbox that delivers them to external LRSs.

The index tables (``statement_verbs``, ``statement_objects``, ``statement_registrations``,
``statement_activities``, ``statement_agents``, ``statement_actors``) refer to verbs, activities, agents and
registrations by their number in ``lrs_terms`` (migration 9); the statements table keeps the text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
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


def terms_of(statements: list[IndexedStatement]) -> set[str]:
    """Every term the index tables refer to for these statements."""
    terms: set[str] = set()
    for s in statements:
        terms.add(s.verb)
        if s.object_activity is not None:
            terms.add(s.object_activity)
        if s.registration is not None:
            terms.add(s.registration)
        terms.update(s.activities)
        terms.update(s.agents)
        terms.update(s.actors)
    return terms


KNOWN_TERMS = 200_000
"""The most term numbers a store keeps in memory (see :class:`TermNumbers`); then they start again."""


class TermNumbers:
    """The numbers of ``lrs_terms`` that committed transactions gave, kept by the store for every writer on its
    connection (the runtime's statements and the LRS's): most writes then need no lookup (``term_ids``).

    A number is only known once the transaction that found it has committed: one given in a transaction that
    is undone may be given to another term later. ``pending`` holds what the store's own actions found, until
    the store commits (``commit``) or undoes (``undo``) them.
    """

    def __init__(self, limit: int = KNOWN_TERMS) -> None:
        self.known: dict[str, int] = {}
        self.pending: dict[str, int] = {}
        self.limit = limit

    def keep(self, learned: dict[str, int]) -> None:
        """Numbers found in a transaction that has now committed."""
        if len(self.known) + len(learned) > self.limit:
            self.known.clear()
        self.known.update(learned)

    def commit(self) -> None:
        self.keep(self.pending)
        self.pending.clear()

    def undo(self) -> None:
        self.pending.clear()

    def forget(self, term: str) -> None:
        """A term erased (``erasure.erase_term``): its number no longer stands for it."""
        self.known.pop(term, None)
        self.pending.pop(term, None)


def term_ids(conn: sqlite3.Connection, terms: set[str], known: dict[str, int] | None = None,
             learned: dict[str, int] | None = None) -> dict[str, int]:
    """The numbers of these terms in ``lrs_terms`` (migration 9), numbering the new ones; the caller holds the
    transaction.

    ``known`` holds numbers found in committed transactions (a term is never renumbered, and an erased one is
    forgotten: ``erasure.erase_term``); only the others are looked up. Those are added to ``learned``, which the
    caller may add to ``known`` once this transaction has committed: a number given in a transaction that is
    undone may be given to another term later.
    """
    found: dict[str, int] = {}
    missing: list[str] = []
    for term in terms:
        number = known.get(term) if known is not None else None
        if number is None:
            missing.append(term)
        else:
            found[term] = number
    if not missing:
        return found
    numbered = _known_terms(conn, missing)
    new = sorted(term for term in missing if term not in numbered)
    if new:
        # Most terms are numbered already: numbering the new ones is a second and third call, not every time.
        for start in range(0, len(new), _PER_QUERY):
            chunk = new[start:start + _PER_QUERY]
            values = ", ".join(["(?)"] * len(chunk))
            conn.execute(f"INSERT OR IGNORE INTO lrs_terms (term) VALUES {values}", chunk)  # noqa: S608
        numbered.update(_known_terms(conn, new))
    found.update(numbered)
    if learned is not None:
        learned.update(numbered)
    return found


_PER_QUERY = 500
"""Values in one IN list or VALUES clause (SQLite allows 32,766 parameters; fewer keep each statement small)."""


def insert_statements(conn: sqlite3.Connection, statements: list[IndexedStatement], *,
                      endpoints: list[str], now: str, terms: TermNumbers | None = None) -> list[int]:
    """Store statements, void their targets, and queue each for every external endpoint; returns their ``seq``
    numbers, in order.

    The caller holds the transaction, so a learner action and its statements are
    written together or not at all. With ``terms`` (the store's), numbers known are not looked up again, and
    those found go to ``terms.pending`` until the store commits.

    The statements' rows go first, then each index table's rows for all of them, sorted by key: a group commit
    writes the statements of all its actions in one call (``Store.save_statements``, decision 0028), and each
    table is then visited once, in order, rather than once a statement.
    """
    assert conn.in_transaction, "insert_statements must run inside a transaction"
    if terms is None:
        ids = term_ids(conn, terms_of(statements))
    else:
        ids = term_ids(conn, terms_of(statements), terms.known, terms.pending)
    seqs = []
    for s in statements:
        cursor = conn.execute(
            "INSERT INTO statements (id, stored, timestamp, verb, actor, object_activity, object_statement,"
            " registration, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.stored, s.timestamp, s.verb, s.actor, s.object_activity, s.object_statement,
             s.registration, s.body),
        )
        seqs.append(int(cursor.lastrowid or 0))
    pairs = list(zip(seqs, statements, strict=True))
    conn.executemany("INSERT INTO statement_verbs VALUES (?, ?)", sorted((ids[s.verb], seq) for seq, s in pairs))
    conn.executemany("INSERT INTO statement_objects VALUES (?, ?)",
                     sorted((ids[s.object_activity], seq) for seq, s in pairs if s.object_activity is not None))
    conn.executemany("INSERT INTO statement_registrations VALUES (?, ?)",
                     sorted((ids[s.registration], seq) for seq, s in pairs if s.registration is not None))
    conn.executemany("INSERT OR IGNORE INTO statement_activities VALUES (?, ?)",
                     sorted((ids[a], seq) for seq, s in pairs for a in s.activities))
    conn.executemany("INSERT OR IGNORE INTO statement_agents VALUES (?, ?)",
                     sorted((ids[a], seq) for seq, s in pairs for a in s.agents))
    conn.executemany("INSERT OR IGNORE INTO statement_actors VALUES (?, ?, ?)",
                     sorted((ids[a], ids[s.verb], seq) for seq, s in pairs for a in s.actors))
    attachments = [(seq, sha2) for seq, s in pairs for sha2 in s.attachments]
    if attachments:
        conn.executemany("INSERT OR IGNORE INTO statement_attachments VALUES (?, ?)", attachments)
    for seq, s in pairs:
        if s.object_statement is None:
            continue
        # The target's seq (migration 11), or NULL when it is not stored yet: a query then looks its id up.
        conn.execute("INSERT INTO statement_refs VALUES (?, (SELECT seq FROM statements WHERE id = ?))",
                     (seq, s.object_statement))
        if s.voiding:
            # A voiding statement cannot itself be voided: the spec says to ignore that.
            conn.execute(
                "UPDATE statements SET voided = 1 WHERE id = ? AND verb != 'http://adlnet.gov/expapi/verbs/voided'",
                (s.object_statement,),
            )
    if endpoints:
        conn.executemany("INSERT INTO outbox (endpoint, seq, next_at) VALUES (?, ?, ?)",
                         [(endpoint, seq, now) for seq in seqs for endpoint in endpoints])
    return seqs


def delete_statements(conn: sqlite3.Connection, seqs: list[int],
                      indexed: Callable[[str], IndexedStatement]) -> int:
    """Delete these statements and every index row that refers to them; the caller holds the transaction.
    Returns how many there were.

    The activity, agent and actor tables have no foreign key (migration 13): SQLite would read each whole to
    find the rows of every statement deleted. Their rows are deleted by key instead, from what ``indexed``
    (``engine.xapi.keys.index_stored``: what made them, from the stored body) gives for each statement; a
    trigger deletes the verb, object, registration and reference rows, and the foreign keys the rest.
    """
    assert conn.in_transaction, "delete_statements must run inside a transaction"
    deleted = 0
    for start in range(0, len(seqs), _PER_QUERY):
        chunk = seqs[start:start + _PER_QUERY]
        marks = ", ".join("?" * len(chunk))
        found = [(seq, indexed(body)) for seq, body in
                 conn.execute(f"SELECT seq, body FROM statements WHERE seq IN ({marks})", chunk)]  # noqa: S608
        if not found:
            continue
        numbers = _known_terms(conn, terms_of([s for _seq, s in found]))
        conn.executemany("DELETE FROM statement_activities WHERE activity = ? AND seq = ?",
                         [(numbers[a], seq) for seq, s in found for a in s.activities if a in numbers])
        conn.executemany("DELETE FROM statement_agents WHERE agent = ? AND seq = ?",
                         [(numbers[a], seq) for seq, s in found for a in s.agents if a in numbers])
        # Every agent, not only the actors: migration 8 filled in the statements stored before it with a superset
        # (every agent of a statement whose object is an Agent or Group), so a row may name any of them.
        conn.executemany("DELETE FROM statement_actors WHERE agent = ? AND verb = ? AND seq = ?",
                         [(numbers[a], numbers[s.verb], seq) for seq, s in found for a in {*s.actors, *s.agents}
                          if a in numbers and s.verb in numbers])
        conn.executemany("DELETE FROM statements WHERE seq = ?", [(seq,) for seq, _s in found])
        deleted += len(found)
    return deleted


def _known_terms(conn: sqlite3.Connection, terms: Iterable[str]) -> dict[str, int]:
    """The numbers these terms have in ``lrs_terms``; a term not there has none (and no index rows)."""
    found: dict[str, int] = {}
    ordered = sorted(terms)
    for start in range(0, len(ordered), _PER_QUERY):
        chunk = ordered[start:start + _PER_QUERY]
        marks = ", ".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT term, id FROM lrs_terms WHERE term IN ({marks})", chunk))  # noqa: S608
    return found
