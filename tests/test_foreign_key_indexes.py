"""Deleting a statement or an account reads no table whole (migration 13, decision 0021).

Deleting a row makes SQLite find the rows that refer to it, to cascade or set them to NULL; without an index
that starts with the referring column it reads the whole table, once per row deleted. In the LRS's activity,
agent and actor tables that made deleting an account of 76 statements take 126 s in a store of 1.7 million
statements. Those tables now have no foreign key, and their rows are deleted by key; every other reference
leads an index.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from test_lrs_helpers import agent, make_lrs, statement

from engine.storage.db import Store
from engine.storage.migrations import MIGRATIONS
from engine.xapi.keys import agent_key
from helpers import database_at

INDEX_TABLES = ("statement_activities", "statement_agents", "statement_actors", "statement_verbs",
                "statement_objects", "statement_registrations", "statement_refs", "statement_attachments", "outbox")


def _leading_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The first column of each index of ``table``, its primary key's included; not a partial index's, which
    holds only some rows and so cannot find every row that refers to another."""
    leads = set()
    for _seq, name, _unique, _origin, partial in conn.execute(f"PRAGMA index_list('{table}')"):
        if partial:
            continue
        columns = [row[2] for row in conn.execute(f"PRAGMA index_info('{name}')")]
        if columns:
            leads.add(columns[0])
    primary = sorted((row[5], row[1]) for row in conn.execute(f"PRAGMA table_info('{table}')") if row[5])
    if primary:
        leads.add(primary[0][1])
    return leads


def _unindexed_references(conn: sqlite3.Connection) -> list[str]:
    found = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        leads = _leading_columns(conn, table)
        for fk in conn.execute(f"PRAGMA foreign_key_list('{table}')").fetchall():
            if fk[3] not in leads:
                found.append(f"{table}.{fk[3]} -> {fk[2]}")
    return found


def test_every_reference_leads_an_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    assert _unindexed_references(store.conn) == []


def test_before_migration_13_the_statement_index_tables_were_unindexed_by_seq(tmp_path: Path) -> None:
    """The check above finds what it is for: schema 12 as it shipped."""
    conn = database_at(tmp_path / "old.db", 12)
    missing = _unindexed_references(conn)
    for reference in ("statement_activities.seq -> statements", "statement_agents.seq -> statements",
                      "statement_actors.seq -> statements", "outbox.seq -> statements",
                      "capstone_votes.user_id -> users"):
        assert reference in missing


def _plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (1,))]


def test_deleting_a_statement_or_an_account_reads_no_table_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    for sql in ("DELETE FROM statements WHERE seq = ?", "DELETE FROM users WHERE id = ?",
                "DELETE FROM capstone_teams WHERE id = ?"):
        plan = _plan(store.conn, sql)
        assert plan, sql
        assert not [step for step in plan if step.startswith("SCAN")], (sql, plan)


def _statement(actor: dict[str, object], n: int) -> dict[str, object]:
    return {"actor": actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"objectType": "Activity", "id": f"https://learn.example.gov.uk/a/{n}"},
            "context": {"registration": "6d3b9c1e-2f4a-4b8c-9d0e-1f2a3b4c5d6e",
                        "contextActivities": {"parent": [{"id": "https://learn.example.gov.uk/m"}]}}}


def test_a_schema_12_store_upgrades_and_an_account_still_deletes_cleanly(tmp_path: Path) -> None:
    database_at(tmp_path / "x.db", 12).close()
    store = Store(tmp_path / "x.db")
    assert store.version == len(MIGRATIONS) >= 13
    from engine.xapi.keys import index

    learner = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "L-1"}}
    other = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "L-2"}}
    stamp = "2026-11-27T10:00:00.000Z"
    rows = []
    for n, actor in enumerate([learner, other, learner, learner, other]):
        statement = {**_statement(actor, n), "id": f"00000000-0000-4000-8000-00000000000{n}", "stored": stamp,
                     "timestamp": stamp, "authority": other, "version": "1.0.0"}
        rows.append(index(statement, json.dumps(statement)))
    from engine.storage.statements import insert_statements

    with store.transaction() as conn:
        insert_statements(conn, rows, endpoints=["lrs-a"], now=stamp, terms=store.terms)
    store.delete_user(0, actor_keys=["account:https://learn.example.gov.uk|L-1"])

    conn = store.conn
    left = [json.loads(body)["actor"] for (body,) in conn.execute("SELECT body FROM statements ORDER BY seq")]
    assert left == [other, other]
    for table in INDEX_TABLES:
        orphans = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE seq NOT IN (SELECT seq FROM statements)")
        assert orphans.fetchone()[0] == 0, table
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _rows(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in INDEX_TABLES}


def test_deleting_an_account_leaves_no_index_row_of_its_statements_however_they_were_shaped(tmp_path: Path) -> None:
    """Statements POSTed to the LRS with every kind of agent and activity the index tables hold, then the
    account of their actor deleted: the index rows go with them by key, and only theirs."""
    x = make_lrs(tmp_path)
    other = "https://learn.example.gov.uk/course/other"
    sub = {"objectType": "SubStatement", "actor": agent("bob"), "verb": {"id": "http://adlnet.gov/expapi/verbs/planned"},
           "object": {"id": other}, "context": {"contextActivities": {"category": [{"id": other + "/sub-category"}]}}}
    context = {"registration": "6d3b9c1e-2f4a-4b8c-9d0e-1f2a3b4c5d6e", "instructor": agent("cy"),
               "team": {"objectType": "Group", "member": [agent("dee"), agent("eve")]},
               "contextActivities": {"parent": [{"id": other + "/parent"}], "grouping": [{"id": other + "/grouping"}],
                                     "category": [{"id": other + "/category"}], "other": [{"id": other + "/other"}]}}
    before = _rows(x.store.conn)
    x.store_statements(statement(actor=agent("bob")))  # another actor's: stays
    kept = _rows(x.store.conn)
    mine = x.store_statements([statement(), statement(object=sub), statement(context=context),
                               statement(object=agent("bob")), statement(context=context, object=sub)])
    target = x.store_statements(statement(object={"objectType": "StatementRef", "id": mine[0]}))
    assert len(mine) == 5 and target
    assert _rows(x.store.conn) != kept

    x.store.delete_user(0, actor_keys=[agent_key(agent("ada"))])

    conn = x.store.conn
    assert _rows(conn) == kept != before
    assert conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == 1
    for table in INDEX_TABLES:
        orphans = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE seq NOT IN (SELECT seq FROM statements)")
        assert orphans.fetchone()[0] == 0, table
