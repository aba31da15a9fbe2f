"""Migration 8 (the LRS's agent index by verb): a schema-7 database with statements in it is upgraded, never
recreated, and its statements answer agent and agent+verb queries as new ones do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_lrs_helpers import VERB, agent, make_lrs, old_database, statement

from engine.storage.db import Store
from engine.storage.lrs_query import StatementQuery, explain_query
from engine.storage.migrations import MIGRATIONS

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ADA = {"mbox": "mailto:ada@example.gov.uk"}


def _old_statements() -> list[dict[str, Any]]:
    return [
        statement(actor=agent("ada")),                                                   # 0: ada, experienced
        statement(actor=agent("ada"), verb={"id": COMPLETED}),                           # 1: ada, completed
        statement(actor=agent("bob")),                                                   # 2: bob
        statement(actor=agent("bob"), object=agent("ada")),                              # 3: ada as the object
        statement(actor={"objectType": "Group", "member": [agent("cy"), agent("ada")]}),  # 4: ada in a group
        statement(actor=agent("bob"), context={"instructor": agent("ada")}),             # 5: related only
        statement(actor=agent("bob"), object={"objectType": "Group", "member": [agent("ada")]}),  # 6: object member
    ]


def test_a_schema_7_database_with_statements_is_upgraded(tmp_path: Path) -> None:
    old = _old_statements()
    old_database(tmp_path / "x.db", 7, old)
    x = make_lrs(tmp_path)  # opens the store, which migrates it
    conn = x.store.conn
    assert x.store.version == len(MIGRATIONS) >= 8
    assert conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == len(old)
    indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "statements_actor" not in indexes
    ids = [row[0] for row in conn.execute("SELECT id FROM statements ORDER BY seq")]

    def found(**params: Any) -> set[str]:
        return {s["id"] for s in x.query(**params)["statements"]}

    ada = json.dumps(ADA)
    assert found(agent=ada) == {ids[i] for i in (0, 1, 3, 4, 6)}
    assert found(agent=ada, verb=VERB) == {ids[i] for i in (0, 3, 4, 6)}
    assert found(agent=ada, verb=COMPLETED) == {ids[1]}
    assert found(agent=ada, verb=VERB, related_agents="true") == {ids[i] for i in (0, 3, 4, 5, 6)}
    assert found(agent=json.dumps(agent("bob")), verb=VERB) == {ids[i] for i in (2, 3, 5, 6)}

    # Statements stored after the upgrade are indexed as they arrive, the same way.
    new = x.store_statements([statement(actor=agent("ada")), statement(actor=agent("bob"), object=agent("ada"))])
    assert found(agent=ada, verb=VERB) == {ids[i] for i in (0, 3, 4, 6)} | set(new)


def test_agent_and_verb_queries_read_only_that_verb(tmp_path: Path) -> None:
    x = make_lrs(tmp_path)
    x.store_statements([statement(actor=agent(f"learner{i % 5}"), verb={"id": f"https://example.com/verbs/{i % 7}"})
                        for i in range(300)])
    with x.store.transaction() as conn:
        plan = " ".join(explain_query(conn, StatementQuery(agent="mbox:mailto:learner1@example.gov.uk",
                                                            verb="https://example.com/verbs/3")))
        related = " ".join(explain_query(conn, StatementQuery(agent="mbox:mailto:learner1@example.gov.uk",
                                                               verb="https://example.com/verbs/3",
                                                               related_agents=True)))
    # The plans name tables by alias: the agent's index by verb drives, not the agent's entries of every verb.
    assert "PRIMARY KEY (agent=? AND verb=?)" in plan and "SCAN" not in plan
    assert "PRIMARY KEY (agent=?)" in related and "verb=?" not in related
    found = x.query(agent=json.dumps(agent("learner1")), verb="https://example.com/verbs/3", limit=100)
    # i % 5 == 1 and i % 7 == 3: i = 31, 66, ... (one in 35 of 300)
    assert len(found["statements"]) == len([i for i in range(300) if i % 5 == 1 and i % 7 == 3])
    assert {s["verb"]["id"] for s in found["statements"]} == {"https://example.com/verbs/3"}


def test_deleting_an_account_deletes_its_statements_after_the_upgrade(tmp_path: Path) -> None:
    learner = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "L-1"}}
    old_database(tmp_path / "x.db", 7, [statement(actor=learner), statement(actor=agent("bob"), object=learner),
                                        statement(actor=agent("bob"))])
    store = Store(tmp_path / "x.db")
    store.delete_user(0, actor_keys=["account:https://learn.example.gov.uk|L-1"])
    left = [json.loads(body) for (body,) in store.conn.execute("SELECT body FROM statements")]
    # Its own statements go, and Bob's about it (decision 0019, amended); Bob's other one stays.
    assert [(s["actor"], s["object"]["objectType"]) for s in left] == [(agent("bob"), "Activity")]
    assert store.conn.execute("SELECT COUNT(*) FROM statement_actors WHERE seq NOT IN (SELECT seq FROM statements)"
                              ).fetchone()[0] == 0
