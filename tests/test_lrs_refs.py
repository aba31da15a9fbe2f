"""Migration 11 (each StatementRef's target by seq in ``statement_refs``): a schema-9 database with references of
every kind is upgraded in place and answers every query as before, page by page; new writes keep each reference's
target right (a target stored later, in the same batch, voided, deleted), and queries still find what a reference
targets when its target is not known by seq."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import ACTIVITY, VERB, XAPI, agent, make_lrs, new_id, old_database, statement

from engine.storage.db import Store
from engine.storage.lrs import VOIDED
from engine.storage.lrs_query import StatementQuery, _prefilters
from engine.storage.migrations import MIGRATIONS
from engine.storage.statements import insert_statements
from engine.xapi.keys import index

COMMENTED = "http://adlnet.gov/expapi/verbs/commented"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
OTHER = "https://learn.example.gov.uk/course/lesson-2"
COURSE = "https://learn.example.gov.uk/course"
REGISTRATION = "6e9b4c62-8c1d-4c5e-9d1e-3f0a2b1c4d5e"
LEARNER = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "L-1"}}
LEARNER_KEY = "account:https://learn.example.gov.uk|L-1"


def ref(target: str, *, actor: str = "bob", verb: str = COMMENTED) -> dict[str, Any]:
    return statement(actor=agent(actor), verb={"id": verb}, object={"objectType": "StatementRef", "id": target})


def _statements_with_references() -> list[dict[str, Any]]:
    """Statements and StatementRefs of every kind, with fixed ids so references can point forwards."""
    ids = [new_id() for _ in range(16)]
    parent = {"contextActivities": {"parent": [{"id": COURSE}]}}
    sent = [
        statement(actor=agent("ada")),                                                         # 0
        ref(ids[0]),                                                                           # 1: -> 0
        ref(ids[1], actor="cy"),                                                               # 2: -> 1 -> 0
        ref(ids[9], actor="cy"),                                                               # 3: -> 9, stored later
        statement(actor=agent("bob"), object={"id": OTHER}, context={"registration": REGISTRATION, **parent}),  # 4
        ref(ids[4], actor="ada", verb=COMPLETED),                                              # 5: -> 4
        ref(new_id()),                                                                         # 6: never stored
        statement(actor=agent("cy"), verb={"id": COMPLETED}),                                  # 7
        ref(ids[7], actor="ada", verb=VOIDED),                                                 # 8: voids 7
        statement(actor=agent("ada"), object={"id": OTHER}),                                   # 9
        ref(ids[11]),                                                                          # 10: a cycle
        ref(ids[10]),                                                                          # 11: a cycle
        statement(actor=agent("bob"), verb={"id": COMPLETED}),                                 # 12
        ref(ids[12], actor="cy", verb=VOIDED),                                                 # 13: voids 12
        ref(ids[12], actor="cy"),                                                              # 14: -> voided 12
        ref(ids[13], actor="bob"),                                                             # 15: -> voiding 13
    ]
    return [{**s, "id": i} for s, i in zip(sent, ids, strict=True)]


def _queries() -> dict[str, dict[str, Any]]:
    ada, bob, cy = (json.dumps(agent(name)) for name in ("ada", "bob", "cy"))
    return {
        "agent": {"agent": ada}, "agent bob": {"agent": bob}, "agent cy": {"agent": cy},
        "agent and verb": {"agent": ada, "verb": VERB}, "bob and verb": {"agent": bob, "verb": VERB},
        "cy completed": {"agent": cy, "verb": COMPLETED},
        "related agents": {"agent": ada, "related_agents": "true"},
        "related agents and verb": {"agent": bob, "related_agents": "true", "verb": COMMENTED},
        "verb": {"verb": VERB}, "verb completed": {"verb": COMPLETED}, "verb voided": {"verb": VOIDED},
        "activity": {"activity": ACTIVITY}, "activity other": {"activity": OTHER},
        "related activities": {"activity": COURSE, "related_activities": "true"},
        "registration": {"registration": REGISTRATION},
        "agent and activity": {"agent": bob, "activity": OTHER},
        "ascending": {"agent": ada, "ascending": "true"},
        "unknown agent": {"agent": json.dumps(agent("nobody"))},
    }


def _answers(x: XAPI, **extra: Any) -> dict[str, list[str]]:
    """Each query's ids in order, read page by page (``more``) with the page size in ``extra``."""
    out = {}
    for name, params in _queries().items():
        page = x.query(**params, **extra)
        found = [s["id"] for s in page["statements"]]
        while page["more"]:
            page = x.get(page["more"]).json()
            found += [s["id"] for s in page["statements"]]
        out[name] = found
    return out


def _targets(x: XAPI) -> dict[str, str | None]:
    """Each StatementRef's id -> the id of the statement its ``statement_refs`` row points at (None: NULL)."""
    return dict(x.store.conn.execute(
        "SELECT s.id, t.id FROM statement_refs r JOIN statements s ON s.seq = r.seq"
        " LEFT JOIN statements t ON t.seq = r.target").fetchall())


def test_a_schema_9_database_is_upgraded_and_answers_as_before(tmp_path: Path) -> None:
    sent = _statements_with_references()
    ids = [s["id"] for s in sent]
    (tmp_path / "old").mkdir()
    assert old_database(tmp_path / "old" / "x.db", 9, sent) == ids
    old = make_lrs(tmp_path / "old")  # opens the store, which migrates it
    assert old.store.version == len(MIGRATIONS) >= 11
    # Every reference has its row; a target stored after its reference is found too, one never stored is not.
    assert _targets(old) == {ids[1]: ids[0], ids[2]: ids[1], ids[3]: ids[9], ids[5]: ids[4], ids[6]: None,
                             ids[8]: ids[7], ids[10]: ids[11], ids[11]: ids[10], ids[13]: ids[12],
                             ids[14]: ids[12], ids[15]: ids[13]}

    (tmp_path / "new").mkdir()
    new = make_lrs(tmp_path / "new")
    assert new.store_statements(sent) == ids
    assert _targets(new) == _targets(old)
    expected = _answers(new)
    assert _answers(old) == expected
    for limit in (1, 2, 3):
        assert _answers(old, limit=limit) == _answers(new, limit=limit) == expected

    # What xAPI 1.0.3 asks for, by position: references match through their targets, recursively; voided
    # statements (7 and 12) are left out, the references to them are not; a cycle or an unknown target matches
    # nothing of its own.
    at = {i: n for n, i in enumerate(ids)}
    assert {name: [at[i] for i in found] for name, found in expected.items()} == {
        "agent": [9, 8, 5, 3, 2, 1, 0], "agent bob": [15, 14, 13, 11, 10, 6, 5, 4, 2, 1],
        "agent cy": [15, 14, 13, 8, 3, 2],
        "agent and verb": [9, 3, 2, 1, 0], "bob and verb": [5, 4], "cy completed": [8],
        "related agents": [9, 8, 5, 3, 2, 1, 0],
        "related agents and verb": [15, 11, 10, 6, 2, 1],
        "verb": [9, 5, 4, 3, 2, 1, 0], "verb completed": [15, 14, 13, 8, 5],
        "verb voided": [15, 13, 8], "activity": [15, 14, 13, 8, 2, 1, 0], "activity other": [9, 5, 4, 3],
        "related activities": [5, 4], "registration": [5, 4], "agent and activity": [5, 4],
        "ascending": [0, 1, 2, 3, 5, 8, 9], "unknown agent": []}


def test_references_learn_their_targets_as_they_arrive(tmp_path: Path) -> None:
    x = make_lrs(tmp_path)
    [original] = x.store_statements(statement(actor=agent("ada")))
    [comment] = x.store_statements(ref(original))
    later, voided_later, in_batch = new_id(), new_id(), new_id()
    [early, voiding] = x.store_statements([ref(later), ref(voided_later, actor="ada", verb=VOIDED)])
    # A reference and its target in the same batch, the reference first.
    [first, _] = x.store_statements([ref(in_batch), {**statement(actor=agent("cy")), "id": in_batch}])
    assert _targets(x) == {comment: original, early: None, voiding: None, first: in_batch}

    # The targets arrive: the references learn their seqs, and the voided one is stored voided.
    x.store_statements([{**statement(actor=agent("cy"), object={"id": OTHER}), "id": later},
                        {**statement(actor=agent("dee")), "id": voided_later}])
    assert _targets(x) == {comment: original, early: later, voiding: voided_later, first: in_batch}
    assert x.get("/statements", params={"statementId": voided_later}).status_code == 404
    assert x.get("/statements", params={"voidedStatementId": voided_later}).status_code == 200

    def found(**params: Any) -> list[str]:
        return [s["id"] for s in x.query(**params)["statements"]]

    assert found(agent=json.dumps(agent("cy"))) == [later, in_batch, first, early]
    assert found(activity=OTHER) == [later, early]
    # The voided statement is left out; the voiding statement still matches through it.
    assert found(agent=json.dumps(agent("dee"))) == [voiding]


def test_a_reference_whose_target_is_not_known_by_seq_still_matches(tmp_path: Path) -> None:
    """A NULL target (a reference written by the store's own path before its target, say) is looked up by id."""
    x = make_lrs(tmp_path)
    target = new_id()
    early = index({**ref(target), "id": new_id(), "stored": "2026-01-01T00:00:00.000Z",
                   "timestamp": "2026-01-01T00:00:00.000Z"})
    with x.store.transaction() as conn:
        insert_statements(conn, [early], endpoints=[], now=early.stored)
    later = index({**statement(actor=agent("cy")), "id": target, "stored": "2026-01-01T00:00:01.000Z",
                   "timestamp": "2026-01-01T00:00:01.000Z"})
    with x.store.transaction() as conn:
        insert_statements(conn, [later], endpoints=[], now=later.stored)
    assert _targets(x) == {early.id: None}  # the store's own path does not look for earlier references
    assert [s["id"] for s in x.query(agent=json.dumps(agent("cy")))["statements"]] == [target, early.id]
    # The store's path fills in a target that is stored already.
    with x.store.transaction() as conn:
        again = index({**ref(target), "id": new_id(), "stored": "2026-01-01T00:00:02.000Z",
                       "timestamp": "2026-01-01T00:00:02.000Z"})
        insert_statements(conn, [again], endpoints=[], now=again.stored)
    assert _targets(x)[again.id] == target


def test_deleting_a_target_forgets_its_seq(tmp_path: Path) -> None:
    """SQLite gives the largest seq again once that statement is deleted: a reference must not then match
    through whatever statement takes it."""
    x = make_lrs(tmp_path)
    target = new_id()
    [early] = x.store_statements(ref(target))
    x.store_statements({**statement(actor=LEARNER), "id": target})  # the newest statement
    assert _targets(x) == {early: target}
    x.store.delete_user(0, actor_keys=[LEARNER_KEY])
    assert _targets(x) == {early: None}
    [newest] = x.store_statements(statement(actor=agent("ada")))
    seqs = dict(x.store.conn.execute("SELECT id, seq FROM statements").fetchall())
    assert seqs[newest] == seqs[early] + 1  # it took the deleted statement's seq
    assert [s["id"] for s in x.query(agent=json.dumps(agent("ada")))["statements"]] == [newest]
    # Deleting a reference deletes its row.
    x.store.delete_user(0, actor_keys=["mbox:mailto:bob@example.gov.uk"])
    assert _targets(x) == {}


@pytest.mark.parametrize("query", [
    StatementQuery(agent="mbox:mailto:ada@example.gov.uk"),
    StatementQuery(agent="mbox:mailto:ada@example.gov.uk", verb=VERB),
    StatementQuery(agent="mbox:mailto:ada@example.gov.uk", verb=VERB, related_agents=True),
    StatementQuery(activity=ACTIVITY, related_activities=True, registration=REGISTRATION),
    StatementQuery(activity=ACTIVITY, verb=VERB),
], ids=["agent", "agent-verb", "related-agents-verb", "related-activities-registration", "activity-verb"])
def test_the_reference_check_tests_index_entries_by_key(tmp_path: Path, query: StatementQuery) -> None:
    """Each index table is searched by its whole key (the term and the seq), never scanned; the window's
    references by a range of seq."""
    store = Store(tmp_path / "x.db")
    conn = store.conn
    for table, condition, values in _prefilters(query):
        plan = " ".join(row[3] for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT seq FROM {table} WHERE {condition} AND seq IN (?, ?)", [*values, 1, 2]))
        assert "SCAN" not in plan and "seq=?" in plan, (table, plan)
    plan = " ".join(row[3] for row in conn.execute(
        "EXPLAIN QUERY PLAN SELECT seq, target FROM statement_refs WHERE seq < ? AND seq > ?", (10, 2)))
    assert "SCAN" not in plan and "INTEGER PRIMARY KEY" in plan, plan
    store.close()
