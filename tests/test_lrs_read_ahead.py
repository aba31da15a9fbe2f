"""Read-ahead of a query's statements on helper threads (engine/storage/prefetch.py, decisions 0014 and 0020).

Every page read with the helpers must be exactly the page read without them. A real SQLite file of a few
thousand statements spread over many pages, with voided, voiding and deleted statements; the helpers are made to
start on every query (``slow_rows=0``), since a small file in the page cache would never ask for them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import make_lrs, statement

from engine.storage import prefetch
from engine.storage.db import Store
from engine.storage.lrs import open_reader, save_statements, snapshot
from engine.storage.lrs_query import StatementQuery, query_statements
from engine.storage.prefetch import PROBE_ROWS, SPAN, Probe, ReadAhead, stripes
from engine.xapi.keys import agent_key, index

HOME = "https://learn.example.gov.uk"
VERBS = [f"http://adlnet.gov/expapi/verbs/{v}" for v in ("experienced", "answered", "completed", "progressed")]
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
COURSE = "https://learn.example.gov.uk/course"
LESSONS = [f"{COURSE}/lesson-{n}" for n in range(6)]


def learner(n: int) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": HOME, "name": f"L-{n}"}}


def stamp(n: int) -> str:
    return f"2026-01-{1 + n // 200:02d}T{(n // 10) % 24:02d}:{n % 60:02d}:00.000Z"


def build(path: Path, count: int = 3000) -> dict[str, Any]:
    """A store of ``count`` statements by 12 learners (one far busier), a registration each, with bodies long
    enough to spread them over many pages; every 97th statement voids an earlier one, every 211th refers to an
    earlier one without voiding it, and some statements are deleted afterwards."""
    rng = random.Random(5)
    store = Store(path)
    registrations = {n: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for n in range(12)}
    ids: list[str] = []
    statements = []
    for n in range(count):
        who = 0 if rng.random() < 0.3 else rng.randrange(1, 12)
        ident = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body: dict[str, Any] = {"id": ident, "actor": learner(who), "timestamp": stamp(n), "stored": stamp(n),
                                "authority": learner(99), "version": "1.0.0"}
        if n % 97 == 96 and ids:
            body |= {"verb": {"id": VOIDED}, "object": {"objectType": "StatementRef", "id": rng.choice(ids)}}
        elif n % 211 == 210 and ids:
            body |= {"verb": {"id": VERBS[0]}, "object": {"objectType": "StatementRef", "id": rng.choice(ids)}}
        else:
            body |= {"verb": {"id": rng.choice(VERBS)},
                     "object": {"id": rng.choice(LESSONS), "definition": {"description": {"en": "x" * 700}}},
                     "context": {"registration": registrations[who],
                                 "contextActivities": {"parent": [{"id": COURSE}]}}}
        ids.append(ident)
        statements.append(index(body))
    for start in range(0, count, 500):
        with store.transaction() as conn:
            save_statements(conn, statements[start:start + 500], attachments=[], endpoints=[],
                            now=statements[start].stored)
    with store.transaction() as conn:
        # Deleted rows leave holes in seq and in the pages (as an account's removal does).
        conn.execute("DELETE FROM statements WHERE seq IN (SELECT seq FROM statements WHERE seq % 53 = 0)")
    store.close()
    return {"registrations": registrations}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("read-ahead") / "lrs.db"
    return path, build(path)


@pytest.fixture
def helpers(db: tuple[Path, dict[str, Any]]) -> Iterator[ReadAhead]:
    read_ahead = ReadAhead(str(db[0]), threads=4, slow_rows=0)
    yield read_ahead
    read_ahead.close()
    assert read_ahead.open_connections == 0


def pages(path: Path, q: StatementQuery, limit: int, read_ahead: ReadAhead | None) -> list[tuple[list[int], bool]]:
    """Every page of the query, paged as the LRS pages (after the last seq of the previous page)."""
    conn = open_reader(str(path))
    try:
        out: list[tuple[list[int], bool]] = []
        after = None
        while True:
            with snapshot(conn):
                rows, more = query_statements(conn, q, after=after, limit=limit, read_ahead=read_ahead)
            out.append(([seq for seq, _ in rows], more))
            assert all(isinstance(body, str) and body for _, body in rows)
            if not more:
                return out
            after = rows[-1][0]
    finally:
        conn.close()


def queries(meta: dict[str, Any]) -> list[StatementQuery]:
    busy, quiet = agent_key(learner(0)), agent_key(learner(7))
    return [
        StatementQuery(agent=busy),
        StatementQuery(agent=quiet),
        StatementQuery(agent=busy, ascending=True),
        StatementQuery(agent=busy, verb=VERBS[1]),
        StatementQuery(agent=quiet, related_agents=True),
        StatementQuery(agent=agent_key(learner(99))),  # the authority: in the index, never the actor
        StatementQuery(agent=agent_key(learner(99)), related_agents=True),
        StatementQuery(verb=VERBS[2]),
        StatementQuery(verb=VERBS[0], ascending=True),
        StatementQuery(activity=LESSONS[3]),
        StatementQuery(activity=COURSE, related_activities=True),
        StatementQuery(registration=meta["registrations"][0]),
        StatementQuery(agent=busy, since=stamp(1000), until=stamp(2200)),
        StatementQuery(verb=VERBS[3], since=stamp(2500)),
        StatementQuery(agent=agent_key(learner(404))),  # never stored: nothing matches
    ]


@pytest.mark.parametrize("limit", [1, PROBE_ROWS - 1, PROBE_ROWS, PROBE_ROWS + 1, 100, 500])
def test_pages_with_helpers_are_the_pages_without(db: tuple[Path, dict[str, Any]], helpers: ReadAhead,
                                                   limit: int) -> None:
    path, meta = db
    for q in queries(meta):
        if limit == 1 and q.agent is None:
            continue  # a page of one over a whole verb is thousands of pages: covered by the larger limits
        serial = pages(path, q, limit, None)
        ahead = pages(path, q, limit, helpers)
        assert ahead == serial, q
    helpers.wait(timeout=30)
    if limit >= PROBE_ROWS:
        assert helpers.keys_read > 0  # the helpers did read (the comparison is not of two serial runs)
    assert helpers.open_connections <= helpers.threads


def test_pages_hold_what_they_should(db: tuple[Path, dict[str, Any]], helpers: ReadAhead) -> None:
    """Not only equal to the serial path: newest first, no repeats, no voided statement, the busy learner's
    page across many database pages."""
    path, _ = db
    got = pages(path, StatementQuery(agent=agent_key(learner(0))), 100, helpers)
    seqs = [seq for page, _ in got for seq in page]
    assert len(seqs) > 500 and len(got) > 5
    assert seqs == sorted(set(seqs), reverse=True)
    assert all(seq % 53 for seq in seqs)  # deleted rows are not found
    assert [more for _, more in got] == [True] * (len(got) - 1) + [False]
    conn = open_reader(str(path))
    try:
        marks = ", ".join("?" * len(seqs))
        voided = conn.execute(f"SELECT count(*) FROM statements WHERE voided = 1 AND seq IN ({marks})",
                              seqs).fetchone()[0]
        assert voided == 0
        assert conn.execute("SELECT count(*) FROM statements WHERE voided = 1").fetchone()[0] > 10
    finally:
        conn.close()


def test_a_snapshot_is_not_changed_by_writes_the_helpers_see(tmp_path: Path) -> None:
    """Helpers read outside the request's snapshot (they may see newer rows); the page is the snapshot's."""
    path = tmp_path / "lrs.db"
    build(path, count=1200)
    read_ahead = ReadAhead(str(path), threads=3, slow_rows=0)
    q = StatementQuery(agent=agent_key(learner(0)))
    conn = open_reader(str(path))
    store = Store(path)
    try:
        with snapshot(conn):
            before = query_statements(conn, q, after=None, limit=50, read_ahead=read_ahead)
            with store.transaction() as writer:
                newest = [index({"id": str(uuid.uuid4()), "actor": learner(0), "verb": {"id": VERBS[0]},
                                 "object": {"id": LESSONS[0]}, "timestamp": stamp(2999), "stored": stamp(2999),
                                 "authority": learner(99), "version": "1.0.0"}) for _ in range(20)]
                newest.append(index({"id": str(uuid.uuid4()), "actor": learner(0), "verb": {"id": VOIDED},
                                     "object": {"objectType": "StatementRef", "id": _id_of(writer, before[0][3][0])},
                                     "timestamp": stamp(2999), "stored": stamp(2999), "authority": learner(99),
                                     "version": "1.0.0"}))
                save_statements(writer, newest, attachments=[], endpoints=[], now=stamp(2999))
            again = query_statements(conn, q, after=None, limit=50, read_ahead=read_ahead)
            read_ahead.wait(timeout=30)
            assert again == before
        with snapshot(conn):
            after = query_statements(conn, q, after=None, limit=50, read_ahead=read_ahead)
        assert after != before  # the new statements (and the voiding) show once a new snapshot starts
        assert after[0][0][0] > before[0][0][0]
    finally:
        conn.close()
        store.close()
        read_ahead.close()
    assert read_ahead.open_connections == 0


def _id_of(conn: Any, seq: int) -> str:
    return str(conn.execute("SELECT id FROM statements WHERE seq = ?", (seq,)).fetchone()[0])


def test_a_session_ended_early_stops_its_helpers_and_returns_their_connections(
        db: tuple[Path, dict[str, Any]]) -> None:
    path, _ = db
    read_ahead = ReadAhead(str(path), threads=4, slow_rows=0)
    conn = open_reader(str(path))
    try:
        seqs = [seq for (seq,) in conn.execute("SELECT seq FROM statements ORDER BY seq DESC")]
        for _ in range(20):
            with read_ahead.session() as session:
                session.read(seqs=seqs)
                assert session.requested == len(seqs)
            # Left at once: the helpers still waiting never start, those reading are interrupted.
        read_ahead.wait(timeout=30)
        assert 0 < read_ahead.open_connections <= 4
        # The interrupted connections are reused and read as before.
        assert pages(path, StatementQuery(verb=VERBS[1]), 100, read_ahead) == pages(
            path, StatementQuery(verb=VERBS[1]), 100, None)
    finally:
        conn.close()
        read_ahead.close()
    assert read_ahead.open_connections == 0
    with read_ahead.session() as session:  # closed: asks for nothing, the query goes on alone
        session.read(seqs=[1, 2, 3] * 10)
    assert read_ahead.open_connections == 0


def test_the_probe_asks_only_when_rows_are_slow() -> None:
    fast = Probe(None)
    assert not any(fast.slow(n) for n in range(1, 100))  # no session: never
    read_ahead = ReadAhead(":unused:", threads=1, slow_rows=3600.0)
    try:
        with read_ahead.session() as session:
            patient = Probe(session)
            assert not any(patient.slow(n) for n in range(1, 100))
    finally:
        read_ahead.close()
    eager = ReadAhead(":unused:", threads=1, slow_rows=0)
    try:
        with eager.session() as session:
            probe = Probe(session)
            fired = [n for n in range(1, 100) if probe.slow(n)]
            assert fired == [PROBE_ROWS]  # once, after the first run of rows
    finally:
        eager.close()


def test_the_lrs_closes_its_readers_and_helpers(tmp_path: Path) -> None:
    x = make_lrs(tmp_path)
    x.store_statements([statement() for _ in range(30)])
    assert len(x.query(verb=VERBS[0])["statements"]) == 30
    read_ahead = x.lrs._read_ahead
    assert read_ahead is not None
    x.lrs.close()
    assert read_ahead.open_connections == 0
    assert not x.lrs._readers


def test_each_span_is_read_by_one_helper_in_the_query_order() -> None:
    seqs = [seq for seq in range(50_000, 0, -37)]
    shares = stripes(seqs, 16)
    assert sorted(seq for _, share in shares for seq in share) == sorted(seqs)  # each once
    for home, share in shares:
        assert all(seq // SPAN % 16 == home for seq in share)
        assert share == sorted(share, reverse=True)  # as the query reads them
    assert len({home for home, _ in shares}) == 16
    assert stripes([], 4) == []


def test_a_helper_with_far_more_than_its_share_passes_some_on() -> None:
    crowded = list(range(SPAN, SPAN + 300))  # stored one after another: all in one span
    seqs = [*crowded, 1, 2, 3]
    shares = stripes(seqs, 4)
    assert {home for home, _ in shares} == {0, 1}
    assert [len(share) for home, share in shares if home == 1] == [150, 150]
    assert sorted(seq for _, share in shares for seq in share) == sorted(seqs)


def test_each_helper_keeps_its_own_connection(db: tuple[Path, dict[str, Any]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Spans of 16 statements, so this small store has many per helper; pages are the same as without helpers,
    and after each query there is at most one connection per helper, so each keeps its spans' pages."""
    monkeypatch.setattr(prefetch, "SPAN", 16)
    path, meta = db
    read_ahead = ReadAhead(str(path), threads=4, slow_rows=0)
    try:
        for q in queries(meta):
            assert pages(path, q, 100, read_ahead) == pages(path, q, 100, None)
            read_ahead.wait(timeout=30)
            homes = list(read_ahead._home.values())
            assert len(homes) == len(set(homes)) == read_ahead.open_connections <= 4
        assert read_ahead.keys_read > 0
    finally:
        read_ahead.close()
    assert read_ahead.open_connections == 0


def test_the_reader_used_last_is_used_next(tmp_path: Path) -> None:
    """Its cache is the warmest (decision 0020): after a burst, the next requests do not fill every idle one's."""
    lrs = make_lrs(tmp_path).lrs
    try:
        with lrs._reader() as first, lrs._reader() as second:
            assert first is not second
        for _ in range(3):  # ``first`` went back last
            with lrs._reader() as again:
                assert again is first
    finally:
        lrs.close()
