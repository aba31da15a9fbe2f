"""The built-in LRS's statements: stored, read by id, and their attachments (queries: ``lrs_query``).

Every function takes the connection of an open ``store.transaction()``, so one HTTP
request reads a consistent snapshot and writes all or nothing.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..xapi.keys import agent_key
from .statements import IndexedStatement, term_ids, terms_of

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


# --- the SQL function the queries use (``lrs_query``), on every connection that runs them -----------

def _agent_direct(body: str, key: str) -> int:
    """SQL function: is the agent the statement's actor or object, or a member of either?"""
    try:
        statement = json.loads(body)
    except ValueError:
        return 0
    for part in (statement.get("actor"), statement.get("object")):
        if not isinstance(part, dict) or part.get("objectType", "Agent") not in ("Agent", "Group"):
            continue
        if agent_key(part) == key:
            return 1
        if any(agent_key(member) == key for member in part.get("member") or []):
            return 1
    return 0


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("xapi_agent_direct", 2, _agent_direct, deterministic=True)


# --- connections ----------------------------------------------------------------------------------

READER_CACHE_KIB = 32 * 1024
"""Each read-only connection's page cache (SQLite's default is 2 MB; decision 0020). A request's connection walks
the statements table's b-tree from its root for every statement it reads, and a page of 500 passes through about
400 of the table's interior pages (1,258 for 1,000,000 statements, 5 MB), among 500 leaves it reads once. With
8 MB the leaves pushed half of those interior pages out between two queries, and when the file was not in memory
each was a read from the disk on the request's own path, one after another; 32 MB keeps them for a store of
about that size (it fills only as pages are read, and a commit by the store empties it)."""


def open_reader(path: str) -> sqlite3.Connection:
    """A read-only connection of the LRS's own: in WAL mode its reads neither wait for writes nor hold them up.

    Use it from one thread at a time, and read inside :func:`snapshot` so a request sees one state.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
    register_functions(conn)
    return conn


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every query in it sees the database as it was at the first one."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


@contextmanager
def savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """A nested transaction: undone alone if its block raises, so one request cannot spoil others in a group."""
    conn.execute("SAVEPOINT lrs_write")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO lrs_write")
        conn.execute("RELEASE lrs_write")
        raise
    conn.execute("RELEASE lrs_write")


# --- statements -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredStatement:
    seq: int
    id: str
    stored: str
    verb: str
    object_statement: str | None
    voided: bool
    body: str


_STORED_COLUMNS = "seq, id, stored, verb, object_statement, voided, body"


def _stored(row: tuple[Any, ...]) -> StoredStatement:
    seq, ident, stored, verb, target, voided, body = row
    return StoredStatement(seq, ident, stored, verb, target, bool(voided), body)


def statements_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, StoredStatement]:
    found: dict[str, StoredStatement] = {}
    wanted = list(dict.fromkeys(ids))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {_STORED_COLUMNS} FROM statements WHERE id IN ({marks})", chunk):  # noqa: S608
            found[row[1]] = _stored(row)
    return found


def statement_by_id(conn: sqlite3.Connection, ident: str) -> StoredStatement | None:
    row = conn.execute(f"SELECT {_STORED_COLUMNS} FROM statements WHERE id = ?", (ident,)).fetchone()  # noqa: S608
    return _stored(row) if row else None


def save_statements(conn: sqlite3.Connection, statements: list[IndexedStatement], *,
                    attachments: Iterable[tuple[str, str, bytes]], endpoints: list[str], now: str,
                    known: dict[str, int] | None = None, learned: dict[str, int] | None = None) -> list[int]:
    """Store complete statements and their attachment bodies, voiding their targets and queueing each for
    every external endpoint; the caller holds the transaction. Returns their ``seq`` numbers.

    ``known`` and ``learned`` are the term numbers of :func:`engine.storage.statements.term_ids`.

    Writes the same rows as :func:`engine.storage.statements.insert_statements` (the engine's own statements), a
    table at a time, but many rows per INSERT, which costs far less for the LRS's batches of hundreds (for the
    handful of a group commit, one row per step of ``executemany`` costs less). The ``seq`` numbers are given
    explicitly, as SQLite would have chosen them (one more than the largest).

    A statement that arrives after a statement voiding it is stored voided, as xAPI
    requires ("voided if and only if the LRS contains a voiding statement for it").
    """
    assert conn.in_transaction, "save_statements must run inside store.transaction()"
    bodies = list(attachments)
    if bodies:
        conn.executemany("INSERT OR IGNORE INTO attachments (sha2, content_type, body) VALUES (?, ?, ?)", bodies)
    if not statements:
        return []
    first = int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM statements").fetchone()[0])
    seqs = list(range(first, first + len(statements)))
    pairs = list(zip(seqs, statements, strict=True))
    _insert(conn, "INSERT INTO statements (seq, id, stored, timestamp, verb, actor, object_activity,"
            " object_statement, registration, body)",
            [(seq, s.id, s.stored, s.timestamp, s.verb, s.actor, s.object_activity, s.object_statement,
              s.registration, s.body) for seq, s in pairs])
    number = term_ids(conn, terms_of(statements), known, learned)
    _insert(conn, "INSERT INTO statement_verbs (verb, seq)", sorted((number[s.verb], seq) for seq, s in pairs))
    _insert(conn, "INSERT INTO statement_objects (activity, seq)",
            sorted((number[s.object_activity], seq) for seq, s in pairs if s.object_activity is not None))
    _insert(conn, "INSERT INTO statement_registrations (registration, seq)",
            sorted((number[s.registration], seq) for seq, s in pairs if s.registration is not None))
    _insert(conn, "INSERT OR IGNORE INTO statement_activities (activity, seq)",
            sorted((number[a], seq) for seq, s in pairs for a in s.activities))
    _insert(conn, "INSERT OR IGNORE INTO statement_agents (agent, seq)",
            sorted((number[a], seq) for seq, s in pairs for a in s.agents))
    _insert(conn, "INSERT OR IGNORE INTO statement_actors (agent, verb, seq)",
            sorted((number[a], number[s.verb], seq) for seq, s in pairs for a in s.actors))
    _insert(conn, "INSERT OR IGNORE INTO statement_attachments (seq, sha2)",
            [(seq, sha2) for seq, s in pairs for sha2 in s.attachments])
    # A voiding statement cannot itself be voided: the specification says to ignore that.
    targets = [(s.object_statement,) for s in statements if s.voiding and s.object_statement]
    if targets:
        conn.executemany(f"UPDATE statements SET voided = 1 WHERE id = ? AND verb != '{VOIDED}'",  # noqa: S608
                         targets)
    _insert(conn, "INSERT INTO outbox (endpoint, seq, next_at)",
            [(endpoint, seq, now) for seq in seqs for endpoint in endpoints])
    references = [(seq, s.object_statement) for seq, s in pairs if s.object_statement is not None]
    if references:
        # Each StatementRef's target by seq (migration 11), found now if stored (in this batch too): NULL if not.
        found = _seqs_by_id(conn, [target for _, target in references])
        _insert(conn, "INSERT INTO statement_refs (seq, target)", [(seq, found.get(t)) for seq, t in references])
    # References stored earlier to the statements stored now: voiding ones void them (unless they are voiding
    # statements themselves), and every one learns its target's seq.
    voidable = {s.id for s in statements if not s.voiding}
    stored = {s.id: seq for seq, s in pairs}
    ids = list(stored)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        voided: set[str] = set()
        resolved: list[tuple[int, int]] = []
        for ref, target, verb in conn.execute(
            # INDEXED BY: without statistics SQLite might rather read every statement.
            "SELECT seq, object_statement, verb FROM statements INDEXED BY statements_target"  # noqa: S608
            f" WHERE object_statement IN ({marks})", chunk,
        ):
            if verb == VOIDED and target in voidable:
                voided.add(target)
            if ref < first:  # this batch's references were given their targets above
                resolved.append((stored[target], ref))
        if voided:
            conn.executemany("UPDATE statements SET voided = 1 WHERE id = ?", [(target,) for target in sorted(voided)])
        if resolved:
            conn.executemany("UPDATE statement_refs SET target = ? WHERE seq = ?", resolved)
    return seqs


def _seqs_by_id(conn: sqlite3.Connection, ids: list[str]) -> dict[str, int]:
    """id -> seq of the statements stored with these ids."""
    found: dict[str, int] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT id, seq FROM statements WHERE id IN ({marks})", chunk).fetchall())  # noqa: S608
    return found


_ROWS_PER_INSERT = 256


@functools.lru_cache(maxsize=256)
def _values(head: str, width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"{head} VALUES {', '.join([row] * rows)}"


def _insert(conn: sqlite3.Connection, head: str, rows: list[tuple[Any, ...]]) -> None:
    """``head VALUES (...), (...), ...``: many rows per statement, so one call into SQLite (and one release of
    the GIL, so a thread writing does not queue for it at every row) per chunk. Chunks are powers of two up to
    256 rows (fewer when SQLite allows fewer parameters), so a few statements cover every size and stay in the
    statement cache."""
    if not rows:
        return
    width = len(rows[0])
    most = max(1, min(_ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    most = 1 << (most.bit_length() - 1)
    done = 0
    while done < len(rows):
        left = len(rows) - done
        size = most if left >= most else 1 << (left.bit_length() - 1)
        chunk = rows[done:done + size]
        conn.execute(_values(head, width, size), [value for row in chunk for value in row])
        done += size


def attachments_for(conn: sqlite3.Connection, seqs: list[int]) -> list[tuple[str, str, bytes]]:
    """The stored attachment bodies of these statements: (sha2, content type, body), each once."""
    out: dict[str, tuple[str, str, bytes]] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for sha2, content_type, body in conn.execute(
            "SELECT a.sha2, a.content_type, a.body FROM statement_attachments sa"  # noqa: S608
            f" JOIN attachments a ON a.sha2 = sa.sha2 WHERE sa.seq IN ({marks}) ORDER BY sa.seq, sa.sha2",
            chunk,
        ):
            out.setdefault(sha2, (sha2, content_type, bytes(body)))
    return list(out.values())


def attachment_bodies(conn: sqlite3.Connection, sha2s: Iterable[str]) -> dict[str, tuple[str, bytes]]:
    out: dict[str, tuple[str, bytes]] = {}
    for sha2 in set(sha2s):
        row = conn.execute("SELECT content_type, body FROM attachments WHERE sha2 = ?", (sha2,)).fetchone()
        if row:
            out[sha2] = (row[0], bytes(row[1]))
    return out
