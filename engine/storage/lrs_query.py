"""The built-in LRS's statement queries (GET /statements with filters, and the About/Agents resources' lookups).

Every function takes the connection of an open ``store.transaction()`` or a reader's snapshot (``lrs.snapshot``).
Queries page by ``seq`` (the insertion order), never by offset: a page starts after the last ``seq`` of the
previous one, so statements stored while a client pages cannot shift, repeat or skip results. Each filter is
driven by an index table (``statement_agents``, ``statement_actors``, ``statement_activities``,
``statement_objects``, ``statement_registrations``, ``statement_verbs``), so a query never scans the table. Those
tables hold terms by their number in ``lrs_terms`` (migration 9); a query looks the number up in SQL (no number:
nothing matches), and checks the exact text on each statement it reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import prefetch
from .lrs import register_functions
from .prefetch import ReadAhead


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


def _stored_within(q: StatementQuery, column: str) -> tuple[list[str], list[Any]]:
    """Conditions on ``column`` (a statement's ``stored``) for the query's ``since`` and ``until``."""
    conds: list[str] = []
    params: list[Any] = []
    if q.since:
        conds.append(f"{column} > ?")
        params.append(q.since)
    if q.until:
        conds.append(f"{column} <= ?")
        params.append(q.until)
    return conds, params


def _seq_bounds(q: StatementQuery, column: str, after: int | None, before: int | None
                ) -> tuple[list[str], list[Any]]:
    """Conditions on ``column`` (a seq) past ``after`` and short of ``before``, in the direction of travel:
    newer-first pages go down."""
    conds: list[str] = []
    params: list[Any] = []
    if after is not None:
        conds.append(f"{column} {'>' if q.ascending else '<'} ?")
        params.append(after)
    if before is not None:
        conds.append(f"{column} {'<' if q.ascending else '>'} ?")
        params.append(before)
    return conds, params


def _window(q: StatementQuery, order: str, after: int | None, before: int | None) -> tuple[list[str], list[Any]]:
    conds, params = _stored_within(q, "s.stored")
    bounds, bound_params = _seq_bounds(q, order, after, before)
    return ["s.voided = 0", *conds, *bounds], [*params, *bound_params]


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
    register_functions(conn)
    sql, params = _direct_sql(q, after)
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, [*params, limit])]


REFERENCE_DEPTH = 16
"""How far a chain of StatementRefs is followed to decide whether a statement matches."""


def _prefilters(q: StatementQuery) -> list[_Driver]:
    """The index tables that hold every statement meeting the non-time filters (and perhaps more), the most
    selective first: (table, condition, parameters). A statement's entries in them are found by key, next to
    the entries the query has just read (a learner's are together), where its row lies anywhere in the file."""
    tables: list[_Driver] = []
    if q.agent:
        if q.verb and not q.related_agents:
            tables.append(("statement_actors", f"agent = {_TERM} AND verb = {_TERM}", [q.agent, q.verb]))
        else:
            tables.append(("statement_agents", f"agent = {_TERM}", [q.agent]))
    if q.activity and q.related_activities:
        tables.append(("statement_activities", f"activity = {_TERM}", [q.activity]))
    if q.registration:
        tables.append(("statement_registrations", f"registration = {_TERM}", [q.registration]))
    if q.activity and not q.related_activities:
        tables.append(("statement_objects", f"activity = {_TERM}", [q.activity]))
    if q.verb and not (q.agent and not q.related_agents):
        tables.append(("statement_verbs", f"verb = {_TERM}", [q.verb]))
    return tables


def _chunks(values: list[Any], size: int = 500) -> Iterator[tuple[list[Any], str]]:
    """Runs of at most ``size`` values, each with its ``?, ?, ...`` for an IN list."""
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ", ".join("?" * len(chunk))


def _direct_matches(conn: sqlite3.Connection, q: StatementQuery, seqs: list[int],
                    ahead: prefetch.Session | None) -> set[int]:
    """Which of these statements meet the non-time filters themselves (not through a statement they target).

    Their entries in the index tables are tested first (:func:`_prefilters`), and the full test, the same as a
    page's, runs only on the rows of those that pass: SQLite reads a row from the disk for each statement it
    tests, so testing every target's row cost a random read per StatementRef in the window.
    """
    candidates = sorted(seqs)
    for table, condition, values in _prefilters(q):
        passed: list[int] = []
        for chunk, marks in _chunks(candidates):
            passed += [seq for (seq,) in conn.execute(
                f"SELECT seq FROM {table} WHERE {condition} AND seq IN ({marks})", [*values, *chunk])]  # noqa: S608
        candidates = sorted(passed)
    _, conds, params, _ = _conditions(q, driving=False)
    # Nested CASE, not AND: SQLite evaluates every operand of an AND outside WHERE; this stops at the first
    # that fails (the agent's index entry is checked before the JSON body is parsed).
    test = "1"
    for cond in reversed(conds):
        test = f"CASE WHEN {cond} THEN {test} ELSE 0 END"
    matched: set[int] = set()
    for chunk, marks in _chunks(candidates):
        probe = prefetch.Probe(ahead)
        tested = 0
        for seq, direct in conn.execute(
            f"SELECT s.seq, {test} FROM statements s WHERE s.seq IN ({marks})", [*params, *chunk],  # noqa: S608
        ):
            tested += 1
            if direct:
                matched.add(seq)
            if probe.slow(tested) and ahead is not None:
                # SQLite reads an IN list's rows in ascending order: those past this one are still to come.
                ahead.read(seqs=[later for later in chunk if later > seq])
    return matched


def _resolved(conn: sqlite3.Connection, references: list[tuple[int, int | None]]) -> dict[int, int]:
    """seq -> the seq of the statement it targets, for these rows of ``statement_refs`` whose target is stored.

    A NULL target was not stored when the reference was (or was deleted since): its id is looked up, as the
    reference's own row holds it.
    """
    targets = {seq: target for seq, target in references if target is not None}
    unknown = [seq for seq, target in references if target is None]
    for chunk, marks in _chunks(unknown):
        targets.update(conn.execute(
            "SELECT r.seq, t.seq FROM statements r CROSS JOIN statements t ON t.id = r.object_statement"  # noqa: S608
            f" WHERE r.seq IN ({marks})", chunk).fetchall())
    return targets


def _matching_targets(conn: sqlite3.Connection, q: StatementQuery, targets: set[int],
                      ahead: prefetch.Session | None = None) -> set[int]:
    """Which of these statements (by seq) meet the non-time filters, directly or through a statement they target
    by StatementRef (recursively, at most REFERENCE_DEPTH further; a cycle of references matches nothing).

    One round of queries per level of references (and per 500 statements) rather than one per statement; which
    statement a reference targets comes from ``statement_refs`` (migration 11), not from its row.
    """
    facts: dict[int, tuple[int | None, bool]] = {}
    """seq -> (the seq it targets, whether it matches directly), for each statement tested."""
    level = set(targets)
    for _ in range(REFERENCE_DEPTH + 1):
        wanted = sorted(level - facts.keys())
        if not wanted:
            break
        direct = _direct_matches(conn, q, wanted, ahead)
        undecided = [seq for seq in wanted if seq not in direct]
        following: dict[int, int] = {}
        for chunk, marks in _chunks(undecided):
            following.update(_resolved(conn, conn.execute(
                f"SELECT seq, target FROM statement_refs WHERE seq IN ({marks})", chunk).fetchall()))  # noqa: S608
        for seq in wanted:
            facts[seq] = (following.get(seq), seq in direct)
        level = set(following.values())

    seen: dict[int, bool] = {}

    def matches(seq: int, depth: int) -> bool:
        if seq in seen:
            return seen[seq]
        seen[seq] = False  # a cycle of references matches nothing
        target, direct = facts.get(seq, (None, False))
        result = direct or (target is not None and depth < REFERENCE_DEPTH and matches(target, depth + 1))
        seen[seq] = result
        return result

    return {seq for seq in targets if matches(seq, 0)}


def _targeting(conn: sqlite3.Connection, q: StatementQuery, after: int | None, before: int | None,
               limit: int, ahead: prefetch.Session | None = None) -> list[tuple[int, str]]:
    """Statements that match only because a statement they target matches (xAPI 1.0.3 part three, 2.1.3).

    The window's StatementRefs and their targets come from ``statement_refs`` (one range of it, in seq order),
    their targets are tested a few hundred at a time, and only the references that match are read in full.
    """
    bounds, params = _seq_bounds(q, "seq", after, before)
    where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
    refs = _resolved(conn, conn.execute(f"SELECT seq, target FROM statement_refs{where}", params).fetchall())  # noqa: S608
    if not refs:
        return []
    matching = _matching_targets(conn, q, set(refs.values()), ahead)
    seqs = sorted((seq for seq, target in refs.items() if target in matching), reverse=not q.ascending)
    window, window_params = _window(q, "s.seq", None, None)
    found: list[tuple[int, str]] = []
    for chunk, marks in _chunks(seqs):
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
    conds, params = _stored_within(q, "stored")
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
    candidates (from its driving index table) meanwhile, and its StatementRef check the targets' rows it has
    still to test when those come from the disk (:mod:`engine.storage.prefetch`); the page is the same either way.
    """
    register_functions(conn)
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
