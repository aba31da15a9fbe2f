"""Migration 9 (the LRS's index tables hold term numbers): a schema-8 database with statements in it is upgraded,
never recreated, and its statements answer every kind of query as new ones do; term numbers found in a write that
was undone are never reused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import ACTIVITY, VERB, agent, make_lrs, new_id, old_database, statement

from engine.storage.db import Store
from engine.storage.lrs import save_statements
from engine.storage.migrations import MIGRATIONS
from engine.storage.statements import term_ids
from engine.xapi.keys import index

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
COURSE = "https://learn.example.gov.uk/course"
OTHER = "https://learn.example.gov.uk/course/lesson-2"
REGISTRATION = "6e9b4c62-8c1d-4c5e-9d1e-3f0a2b1c4d5e"


def _statements_of_every_kind() -> list[dict[str, Any]]:
    parent = {"contextActivities": {"parent": [{"id": COURSE}]}}
    return [
        statement(actor=agent("ada")),                                                        # 0
        statement(actor=agent("ada"), verb={"id": COMPLETED}),                                # 1
        statement(actor=agent("bob"), context={"registration": REGISTRATION, **parent}),      # 2
        statement(actor=agent("bob"), object=agent("ada")),                                   # 3
        statement(actor={"objectType": "Group", "member": [agent("cy"), agent("ada")]}),       # 4
        statement(actor=agent("bob"), context={"instructor": agent("ada")}),                  # 5
        statement(actor=agent("cy"), object={"id": OTHER}, context=parent),                   # 6
        statement(actor=agent("cy"), object={"id": COURSE}, verb={"id": COMPLETED},
                  context={"registration": REGISTRATION}),                                    # 7
    ]


def _answers(x: Any) -> dict[str, set[str]]:
    """The ids each kind of query finds."""
    def found(**params: Any) -> set[str]:
        return {s["id"] for s in x.query(**params)["statements"]}

    ada, bob = json.dumps(agent("ada")), json.dumps(agent("bob"))
    return {
        "verb": found(verb=COMPLETED),
        "activity": found(activity=COURSE),
        "related activities": found(activity=COURSE, related_activities="true"),
        "registration": found(registration=REGISTRATION),
        "registration and verb": found(registration=REGISTRATION, verb=VERB),
        "activity and verb": found(activity=ACTIVITY, verb=VERB),
        "agent": found(agent=ada),
        "agent and verb": found(agent=ada, verb=VERB),
        "related agents": found(agent=ada, related_agents="true"),
        "agent and activity": found(agent=bob, activity=ACTIVITY),
        "agent and related activities": found(agent=bob, activity=COURSE, related_activities="true"),
        "unknown verb": found(verb="https://example.com/verbs/never-sent"),
        "unknown agent": found(agent=json.dumps(agent("nobody"))),
    }


def test_a_schema_8_database_is_upgraded_and_answers_as_a_new_one(tmp_path: Path) -> None:
    sent = _statements_of_every_kind()
    (tmp_path / "old").mkdir()
    old_ids = old_database(tmp_path / "old" / "x.db", 8, sent)
    old = make_lrs(tmp_path / "old")  # opens the store, which migrates it
    assert old.store.version == len(MIGRATIONS) >= 9
    conn = old.store.conn
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert {"lrs_terms", "statement_verbs", "statement_objects", "statement_registrations"} <= tables
    assert not {"statements_verb", "statements_activity", "statements_registration"} & tables
    assert conn.execute("SELECT COUNT(*) FROM statement_agents WHERE typeof(agent) != 'integer'").fetchone() == (0,)

    (tmp_path / "new").mkdir()
    new = make_lrs(tmp_path / "new")
    new_ids = new.store_statements([{**s, "id": i} for s, i in zip(sent, old_ids, strict=True)])
    assert new_ids == old_ids
    expected = _answers(new)
    assert _answers(old) == expected
    by_position = {i: n for n, i in enumerate(old_ids)}
    assert {k: sorted(by_position[i] for i in v) for k, v in expected.items()} == {
        "verb": [1, 7], "activity": [7], "related activities": [2, 6, 7], "registration": [2, 7],
        "registration and verb": [2], "activity and verb": [0, 2, 4, 5],
        "agent": [0, 1, 3, 4], "agent and verb": [0, 3, 4], "related agents": [0, 1, 3, 4, 5],
        "agent and activity": [2, 5], "agent and related activities": [2],
        "unknown verb": [], "unknown agent": []}

    # Statements stored after the upgrade are indexed the same way, with the terms already numbered.
    more = old.store_statements([statement(actor=agent("ada"), verb={"id": COMPLETED})])
    assert old.query(agent=json.dumps(agent("ada")), verb=COMPLETED)["statements"][0]["id"] == more[0]


def test_deleting_statements_deletes_their_index_rows(tmp_path: Path) -> None:
    learner = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "L-1"}}
    old_database(tmp_path / "x.db", 8, [statement(actor=learner, context={"registration": REGISTRATION}),
                                  statement(actor=agent("bob"), object=learner),
                                  statement(actor=agent("bob"))])
    store = Store(tmp_path / "x.db")
    store.delete_user(0, actor_keys=["account:https://learn.example.gov.uk|L-1"])
    left = [json.loads(body) for (body,) in store.conn.execute("SELECT body FROM statements")]
    # The statements it was the actor of go, and Bob's about it (decision 0019, amended); Bob's other one stays.
    assert [(s["actor"], s["object"]["objectType"]) for s in left] == [(agent("bob"), "Activity")]
    for table in ("statement_verbs", "statement_objects", "statement_registrations", "statement_activities",
                  "statement_agents", "statement_actors"):
        orphans = store.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE seq NOT IN"
                                     " (SELECT seq FROM statements)").fetchone()[0]
        assert orphans == 0, table
    assert store.conn.execute("SELECT COUNT(*) FROM statement_registrations").fetchone() == (0,)
    store.close()


def test_a_term_numbered_in_an_undone_write_is_not_remembered(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    known: dict[str, int] = {}
    ada = index({**statement(actor=agent("ada")), "id": new_id(), "stored": "2026-01-01T00:00:00.000Z",
                 "timestamp": "2026-01-01T00:00:00.000Z"})
    learned: dict[str, int] = {}
    with pytest.raises(RuntimeError), store.transaction() as conn:
        save_statements(conn, [ada], attachments=[], endpoints=[], now=ada.stored, known=known, learned=learned)
        raise RuntimeError("undone")
    assert learned  # numbered in the undone transaction: the caller keeps them only after a commit
    with store.transaction() as conn:
        # Another term now takes the first number; the undone ones were never stored.
        other = term_ids(conn, {"https://example.com/verbs/other"}, known)
        assert other["https://example.com/verbs/other"] in learned.values()
        assert conn.execute("SELECT COUNT(*) FROM lrs_terms").fetchone() == (1,)
    store.close()


def test_the_lrs_remembers_term_numbers_only_from_committed_writes(tmp_path: Path) -> None:
    x = make_lrs(tmp_path)
    x.store_statements([statement(actor=agent("ada"))])
    with x.store.transaction() as conn:
        stored = dict(conn.execute("SELECT term, id FROM lrs_terms").fetchall())
    assert x.lrs._terms == stored
    # A refused request (an id already stored with other content) keeps nothing new.
    [ident] = x.store_statements([statement(actor=agent("bob"))])
    refused = x.post("/statements", json={**statement(actor=agent("cy"), verb={"id": COMPLETED}), "id": ident})
    assert refused.status_code == 409
    with x.store.transaction() as conn:
        stored = dict(conn.execute("SELECT term, id FROM lrs_terms").fetchall())
    assert set(x.lrs._terms.items()) <= set(stored.items())
    assert "mbox:mailto:cy@example.gov.uk" not in x.lrs._terms
