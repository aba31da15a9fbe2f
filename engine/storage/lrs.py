"""The built-in LRS's queries: statements, attachments, documents and credentials.

Every function takes the connection of an open ``store.transaction()``, so one HTTP
request reads a consistent snapshot and writes all or nothing.

Statement queries page by ``seq`` (the insertion order), never by offset: a page
starts after the last ``seq`` of the previous one, so statements stored while a
client pages cannot shift, repeat or skip results. Each filter is driven by an
index table (``statement_agents``, ``statement_actors``, ``statement_activities``, ``statement_objects``,
``statement_registrations``, ``statement_verbs``), so a query never scans the table. Those tables hold terms
by their number in ``lrs_terms`` (migration 9); a query looks the number up in SQL (no number: nothing
matches), and checks the exact text on each statement it reads.
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
from . import prefetch
from .prefetch import ReadAhead
from .statements import IndexedStatement, term_ids, terms_of

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


# --- connections ----------------------------------------------------------------------------------

READER_CACHE_KIB = 8 * 1024
"""Each read-only connection's page cache (SQLite's default is 2 MB): queries jump about a large file."""


def open_reader(path: str) -> sqlite3.Connection:
    """A read-only connection of the LRS's own: in WAL mode its reads neither wait for writes nor hold them up.

    Use it from one thread at a time, and read inside :func:`snapshot` so a request sees one state.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
    _functions(conn)
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

    Writes the same rows as :func:`engine.storage.statements.insert_statements`, but a table at a time, many
    rows per INSERT (link rows sorted by key), which costs far less for many statements. The ``seq`` numbers
    are given explicitly, as SQLite would have chosen them (one more than the largest).

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
    ids = [s.id for s in statements if not s.voiding]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        voided = [(target,) for (target,) in conn.execute(
            # INDEXED BY: without statistics SQLite would rather read every voiding statement by verb.
            "SELECT DISTINCT object_statement FROM statements INDEXED BY statements_target"  # noqa: S608
            f" WHERE object_statement IN ({marks})"
            " AND verb = ?", [*chunk, VOIDED])]
        if voided:
            conn.executemany("UPDATE statements SET voided = 1 WHERE id = ?", voided)
    return seqs


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


@dataclass(frozen=True)
class StatementQuery:
    """Filters of GET /statements; ``since``/``until`` are UTC text comparable with ``stored``."""

    agent: str | None = None
    """An agent key (see :func:`engine.xapi.keys.agent_key`)."""
    related_agents: bool = False
    verb: str | None = None
    activity: str | None = None
    related_activities: bool = False
    registration: str | None = None
    since: str | None = None
    until: str | None = None
    ascending: bool = False

    @property
    def filtered(self) -> bool:
        """Whether any filter other than time applies (so statements targeting matches match too)."""
        return bool(self.agent or self.verb or self.activity or self.registration)


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


def _functions(conn: sqlite3.Connection) -> None:
    conn.create_function("xapi_agent_direct", 2, _agent_direct, deterministic=True)


_TERM = "(SELECT id FROM lrs_terms WHERE term = ?)"
"""A term's number (migration 9), or NULL, which matches nothing."""


_Driver = tuple[str, str, list[Any]]
"""The index table that drives a query, its condition on ``d`` and that condition's parameters."""


def _conditions(q: StatementQuery, *, driving: bool) -> tuple[str, list[str], list[Any], _Driver | None]:
    """FROM clause, WHERE conditions and parameters for the non-time filters, and the driving index table.

    With ``driving`` the most selective filter's index is the outer loop (CROSS JOIN
    keeps SQLite from reordering), so rows come out in ``seq`` order straight from the
    index and LIMIT stops the scan early. Without it every filter is a condition on
    ``s`` (used to test one statement by id).
    """
    source = "statements s"
    conds: list[str] = []
    params: list[Any] = []
    order = "s.seq"
    drive = driving
    driver: _Driver | None = None
    if q.agent:
        if drive and q.verb and not q.related_agents:
            # Only the agent's entries with this verb, in seq order (statement_actors, migration 8).
            source = "statement_actors d CROSS JOIN statements s ON s.seq = d.seq"
            conds.append(f"d.agent = {_TERM} AND d.verb = {_TERM}")
            params += [q.agent, q.verb]
            driver = ("statement_actors", conds[-1], [q.agent, q.verb])
            order = "d.seq"
            drive = False
        elif drive:
            source = "statement_agents d CROSS JOIN statements s ON s.seq = d.seq"
            conds.append(f"d.agent = {_TERM}")
            params.append(q.agent)
            driver = ("statement_agents", conds[-1], [q.agent])
            order = "d.seq"
            drive = False
        else:
            conds.append(f"EXISTS (SELECT 1 FROM statement_agents a WHERE a.agent = {_TERM} AND a.seq = s.seq)")  # noqa: S608
            params.append(q.agent)
        if not q.related_agents:
            # CASE, not OR: SQLite evaluates both sides of an OR outside WHERE, and this one parses JSON.
            conds.append("CASE WHEN s.actor = ? THEN 1 ELSE xapi_agent_direct(s.body, ?) END")
            params += [q.agent, q.agent]
    if q.activity and q.related_activities:
        if drive:
            source = "statement_activities d CROSS JOIN statements s ON s.seq = d.seq"
            conds.append(f"d.activity = {_TERM}")
            order = "d.seq"
            drive = False
            driver = ("statement_activities", conds[-1], [q.activity])
        else:
            conds.append(
                f"EXISTS (SELECT 1 FROM statement_activities c WHERE c.activity = {_TERM} AND c.seq = s.seq)")  # noqa: S608
        params.append(q.activity)
    if drive:
        # The rest are checked on the statement's own text; one of them picks the statements to read, the one
        # likely to match fewest: a registration is one learner's, an object activity one of thousands.
        for table, column, value in (("statement_registrations", "registration", q.registration),
                                     ("statement_objects", "activity", q.activity),
                                     ("statement_verbs", "verb", q.verb)):
            if value:
                source = f"{table} d CROSS JOIN statements s ON s.seq = d.seq"
                conds.append(f"d.{column} = {_TERM}")
                params.append(value)
                order = "d.seq"
                driver = (table, conds[-1], [value])
                break
    if q.activity and not q.related_activities:
        conds.append("s.object_activity = ?")
        params.append(q.activity)
    if q.registration:
        conds.append("s.registration = ?")
        params.append(q.registration)
    if q.verb:
        conds.append("s.verb = ?")
        params.append(q.verb)
    return f"{source}|{order}", conds, params, driver


def _window(q: StatementQuery, order: str, after: int | None, before: int | None) -> tuple[list[str], list[Any]]:
    conds = ["s.voided = 0"]
    params: list[Any] = []
    if q.since:
        conds.append("s.stored > ?")
        params.append(q.since)
    if q.until:
        conds.append("s.stored <= ?")
        params.append(q.until)
    # ``after``/``before`` bound seq in the direction of travel: newer-first pages go down.
    if after is not None:
        conds.append(f"{order} {'>' if q.ascending else '<'} ?")
        params.append(after)
    if before is not None:
        conds.append(f"{order} {'<' if q.ascending else '>'} ?")
        params.append(before)
    return conds, params


def _direct_sql(q: StatementQuery, after: int | None) -> tuple[str, list[Any]]:
    source_order, conds, params, _ = _conditions(q, driving=True)
    source, order = source_order.split("|")
    window, window_params = _window(q, order, after, None)
    where = " AND ".join(conds + window)
    direction = "ASC" if q.ascending else "DESC"
    sql = f"SELECT s.seq, s.body FROM {source} WHERE {where} ORDER BY {order} {direction} LIMIT ?"  # noqa: S608
    return sql, params + window_params


def explain_query(conn: sqlite3.Connection, q: StatementQuery, *, after: int | None = None,
                  limit: int = 100) -> list[str]:
    """SQLite's query plan for a page of this query (for tests and diagnosis)."""
    _functions(conn)
    sql, params = _direct_sql(q, after)
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, [*params, limit])]


REFERENCE_DEPTH = 16
"""How far a chain of StatementRefs is followed to decide whether a statement matches."""


def _matching_targets(conn: sqlite3.Connection, q: StatementQuery, targets: set[str],
                      ahead: prefetch.Session | None = None) -> set[str]:
    """Which of these statement ids meet the non-time filters, directly or through a statement they target by
    StatementRef (recursively, at most REFERENCE_DEPTH further; a cycle of references matches nothing).

    One query per level of references (and per 500 ids) rather than one per statement. When the filters start
    with an index-table condition (the agent's or the related activity's entry), each reads the id index and,
    only for ids whose entries pass, the statement itself: SQLite seeks a row only when a column of it is
    wanted, so which id a reference targets comes from the ``statements_target`` index, not the row. (Reading
    every target's row cost a random disk read per StatementRef in the window, hundreds per query in a large
    store.) Otherwise the test reads every row anyway, and the row says what it targets.
    """
    _, conds, params, _ = _conditions(q, driving=False)
    # Nested CASE, not AND: SQLite evaluates every operand of an AND outside WHERE; this stops at the first
    # that fails (the agent's index entry is checked before the JSON body is parsed).
    test = "1"
    for cond in reversed(conds):
        test = f"CASE WHEN {cond} THEN {test} ELSE 0 END"
    facts: dict[str, tuple[str | None, bool]] = {}
    """id -> (the id it targets, whether it matches directly), for each id found."""
    references: dict[int, str] | None = None
    """seq -> the id it targets, for every StatementRef (read once, when an id does not match directly)."""
    index_first = bool(conds) and conds[0].startswith("EXISTS")
    second = "s.seq" if index_first else "s.object_statement"
    level = set(targets)
    for _ in range(REFERENCE_DEPTH + 1):
        wanted = sorted(level - facts.keys())
        if not wanted:
            break
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            probe = prefetch.Probe(ahead)
            found = []
            for found_row in conn.execute(
                f"SELECT s.id, {second}, {test} FROM statements s WHERE s.id IN ({marks})",  # noqa: S608
                [*params, *chunk],
            ):
                found.append(found_row)
                if probe.slow(len(found)) and ahead is not None:
                    # SQLite looks the ids up in sorted order: those past the last found are still to come.
                    ahead.read(ids=[ident for ident in wanted[start:] if ident > found_row[0]])
            for ident, key, direct in found:
                if index_first and not direct and references is None:
                    references = dict(conn.execute(
                        "SELECT seq, object_statement FROM statements INDEXED BY statements_target"
                        " WHERE object_statement IS NOT NULL").fetchall())
                target = key if not index_first else None if direct or references is None else references.get(key)
                facts[ident] = (target, bool(direct))
        level = {target for ident in wanted if ident in facts
                 for target, direct in [facts[ident]] if not direct and target is not None}

    seen: dict[str, bool] = {}

    def matches(ident: str, depth: int) -> bool:
        if ident in seen:
            return seen[ident]
        seen[ident] = False  # a cycle of references matches nothing
        target, direct = facts.get(ident, (None, False))
        result = direct or (target is not None and depth < REFERENCE_DEPTH and matches(target, depth + 1))
        seen[ident] = result
        return result

    return {ident for ident in targets if matches(ident, 0)}


def _targeting(conn: sqlite3.Connection, q: StatementQuery, after: int | None, before: int | None,
               limit: int, ahead: prefetch.Session | None = None) -> list[tuple[int, str]]:
    """Statements that match only because a statement they target matches (xAPI 1.0.3 part three, 2.1.3).

    StatementRefs are found from the ``statements_target`` index alone (it holds each one's ``seq``), their
    targets are tested a few hundred at a time, and only the references that match are read in full.
    """
    bounds: list[str] = []
    params: list[Any] = []
    if after is not None:
        bounds.append(f"seq {'>' if q.ascending else '<'} ?")
        params.append(after)
    if before is not None:
        bounds.append(f"seq {'<' if q.ascending else '>'} ?")
        params.append(before)
    refs = conn.execute(
        "SELECT seq, object_statement FROM statements INDEXED BY statements_target"  # noqa: S608
        f" WHERE object_statement IS NOT NULL{''.join(' AND ' + b for b in bounds)}", params).fetchall()
    if not refs:
        return []
    matching = _matching_targets(conn, q, {target for _, target in refs}, ahead)
    seqs = sorted((seq for seq, target in refs if target in matching), reverse=not q.ascending)
    window, window_params = _window(q, "s.seq", None, None)
    found: list[tuple[int, str]] = []
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT s.seq, s.body FROM statements s WHERE s.seq IN ({marks}) AND {' AND '.join(window)}",  # noqa: S608
            [*chunk, *window_params]).fetchall()
        found += sorted(((int(seq), body) for seq, body in rows), reverse=not q.ascending)
        if len(found) >= limit:
            break
    return found[:limit]


def _time_window(conn: sqlite3.Connection, q: StatementQuery, after: int | None, limit: int) -> list[tuple[int, str]]:
    """Statements stored in a closed time window (``until``, or ``since`` going forwards) and nothing else.

    The ``seq`` numbers come from the ``statements_stored`` index alone (it holds them), sorted as integers;
    only the page's statements are read in full. (Left to itself SQLite reads every statement of the window,
    body and all, to sort them.) Voided statements are skipped, reading on until the page is full.
    """
    conds: list[str] = []
    params: list[Any] = []
    if q.since:
        conds.append("stored > ?")
        params.append(q.since)
    if q.until:
        conds.append("stored <= ?")
        params.append(q.until)
    direction = "ASC" if q.ascending else "DESC"
    found: list[tuple[int, str]] = []
    cursor = after
    while len(found) < limit:
        bound = [f"seq {'>' if q.ascending else '<'} ?"] if cursor is not None else []
        want = limit - len(found)
        seqs = [seq for (seq,) in conn.execute(
            f"SELECT seq FROM statements INDEXED BY statements_stored WHERE {' AND '.join(conds + bound)}"  # noqa: S608
            f" ORDER BY seq {direction} LIMIT ?", [*params, *([cursor] if cursor is not None else []), want])]
        if not seqs:
            break
        marks = ", ".join("?" * len(seqs))
        rows = conn.execute(f"SELECT seq, body FROM statements WHERE seq IN ({marks}) AND voided = 0",  # noqa: S608
                            seqs).fetchall()
        found += sorted(((int(seq), body) for seq, body in rows), reverse=not q.ascending)
        if len(seqs) < want:
            break
        cursor = seqs[-1]
    return found


def query_statements(conn: sqlite3.Connection, q: StatementQuery, *, after: int | None,
                     limit: int, read_ahead: ReadAhead | None = None) -> tuple[list[tuple[int, str]], bool]:
    """One page: up to ``limit`` (seq, body) rows past ``after``, and whether more follow.

    With ``read_ahead``, a filtered query whose rows come from the disk has its helpers read the rest of its
    candidates (from its driving index table) meanwhile, and its StatementRef check the ids it has still to look
    up when those come from the disk (:mod:`engine.storage.prefetch`); the page is the same either way.
    """
    _functions(conn)
    if not q.filtered and (q.until or (q.since and q.ascending)):
        # Newest first with only ``since``, the plain scan from the newest finds the page at once.
        rows = _time_window(conn, q, after, limit + 1)
        return rows[:limit], len(rows) > limit
    if read_ahead is None or not q.filtered:
        return _page(conn, q, after, limit, None)
    with read_ahead.session() as ahead:
        return _page(conn, q, after, limit, ahead)


def _page(conn: sqlite3.Connection, q: StatementQuery, after: int | None, limit: int,
          ahead: prefetch.Session | None) -> tuple[list[tuple[int, str]], bool]:
    sql, params = _direct_sql(q, after)
    rows: list[tuple[int, str]] = []
    probe = prefetch.Probe(ahead)
    for seq, body in conn.execute(sql, [*params, limit + 1]):
        rows.append((int(seq), body))
        if probe.slow(len(rows)) and ahead is not None:
            _, _, _, driver = _conditions(q, driving=True)
            if driver:
                ahead.read(seqs=prefetch.driven_seqs(conn, *driver, ascending=q.ascending, after=rows[-1][0],
                                                     count=limit + 1 - len(rows)), descending=not q.ascending)
    if q.filtered:
        # Only statements between the cursor and the (limit+1)th direct match can change this page.
        bound = rows[limit][0] if len(rows) > limit else None
        extra = _targeting(conn, q, after, bound, limit + 1, ahead)
        if extra:
            merged = {seq: body for seq, body in rows}
            merged.update(extra)
            rows = sorted(merged.items(), reverse=not q.ascending)
    return rows[:limit], len(rows) > limit


def statements_about_activity(conn: sqlite3.Connection, activity: str, limit: int) -> list[str]:
    """The bodies of the latest statements that mention an activity anywhere, newest first."""
    return [body for (body,) in conn.execute(
        "SELECT s.body FROM statement_activities a CROSS JOIN statements s ON s.seq = a.seq"  # noqa: S608
        f" WHERE a.activity = {_TERM} ORDER BY a.seq DESC LIMIT ?", (activity, limit))]


def statements_about_agent(conn: sqlite3.Connection, key: str, limit: int) -> list[str]:
    """The bodies of the latest statements that mention an agent anywhere, newest first."""
    return [body for (body,) in conn.execute(
        "SELECT s.body FROM statement_agents a CROSS JOIN statements s ON s.seq = a.seq"  # noqa: S608
        f" WHERE a.agent = {_TERM} ORDER BY a.seq DESC LIMIT ?", (key, limit))]
