"""The store keeps the LRS term numbers (``lrs_terms``) that committed transactions gave, for the engine's own
statements as for the LRS's: a statement whose terms are known looks none of them up, and a number found in a
write that was undone (a plain transaction, an action of a group, a group whose commit failed) is never kept,
because SQLite may give it to another term later."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import ACTIVITY, VERB, agent, new_id, statement

from engine.storage.db import Store
from engine.storage.grouping import one_request
from engine.storage.statements import IndexedStatement, TermNumbers, insert_statements
from engine.xapi.keys import index
from helpers import grouped_action

STAMP = "2026-01-01T00:00:00.000Z"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "engine"}}


def _indexed(**changes: Any) -> IndexedStatement:
    return index({**statement(**changes), "id": new_id(), "stored": STAMP, "timestamp": STAMP,
                  "authority": AUTHORITY, "version": "1.0.0"})


def _save(store: Store, s: IndexedStatement) -> None:
    with store.transaction() as conn:
        insert_statements(conn, [s], endpoints=[], now=STAMP, terms=store.terms)


def _stored_terms(path: Path) -> dict[str, int]:
    other = sqlite3.connect(path)
    try:
        return dict(other.execute("SELECT term, id FROM lrs_terms").fetchall())
    finally:
        other.close()


def _verb_of(path: Path, statement_id: str) -> str:
    """The verb the index table gives a statement, through its number: what a ?verb= query relies on."""
    other = sqlite3.connect(path)
    try:
        row = other.execute(
            "SELECT t.term FROM statements s JOIN statement_verbs v ON v.seq = s.seq JOIN lrs_terms t ON t.id = v.verb"
            " WHERE s.id = ?", (statement_id,)).fetchone()
        return str(row[0])
    finally:
        other.close()


def test_known_terms_are_not_looked_up_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    _save(store, _indexed(actor=agent("ada")))
    assert store.terms.known == _stored_terms(tmp_path / "t.db")
    assert store.terms.pending == {}
    lookups: list[str] = []
    store.conn.set_trace_callback(lambda sql: lookups.append(sql) if "lrs_terms" in sql else None)
    _save(store, _indexed(actor=agent("ada")))
    assert lookups == []
    _save(store, _indexed(actor=agent("bob")))  # a new agent: only what is new is looked up
    assert any("bob@example.gov.uk" in sql for sql in lookups)
    assert not any("ada@example.gov.uk" in sql or VERB in sql or ACTIVITY in sql for sql in lookups)
    store.conn.set_trace_callback(None)
    assert store.terms.known == _stored_terms(tmp_path / "t.db")
    store.close()


def test_numbers_from_an_undone_transaction_are_not_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    undone = _indexed(actor=agent("ada"), verb={"id": "https://example.com/verbs/undone"})
    with pytest.raises(RuntimeError), store.transaction() as conn:
        insert_statements(conn, [undone], endpoints=[], now=STAMP, terms=store.terms)
        assert store.terms.pending  # found in the transaction, not yet known
        raise RuntimeError("the rest of the action failed")
    assert store.terms.known == {} and store.terms.pending == {}
    # The numbers go to other terms now; statements still index the right ones.
    later = _indexed(actor=agent("bob"), verb={"id": "https://example.com/verbs/later"})
    _save(store, later)
    assert _verb_of(tmp_path / "t.db", later.id) == "https://example.com/verbs/later"
    assert store.terms.known == _stored_terms(tmp_path / "t.db")
    store.close()


def test_an_undone_action_of_a_group_keeps_no_numbers_from_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    kept = _indexed(actor=agent("ada"), verb={"id": "https://example.com/verbs/kept"})
    undone = _indexed(actor=agent("bob"), verb={"id": "https://example.com/verbs/undone"})

    def request(s: IndexedStatement, fail: bool) -> Coroutine[Any, Any, BaseException | None]:
        return grouped_action(store, lambda: insert_statements(store.conn, [s], endpoints=[], now=STAMP,
                                                               terms=store.terms), fail=fail)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(request(kept, False), request(undone, True))

    assert asyncio.run(main()) == [None, None]
    stored = _stored_terms(tmp_path / "t.db")
    assert "https://example.com/verbs/undone" not in stored and "mbox:mailto:bob@example.gov.uk" not in stored
    assert set(store.terms.known.items()) <= set(stored.items())
    assert "https://example.com/verbs/undone" not in store.terms.known
    later = _indexed(actor=agent("cy"), verb={"id": "https://example.com/verbs/later"})
    _save(store, later)
    assert _verb_of(tmp_path / "t.db", later.id) == "https://example.com/verbs/later"
    assert _verb_of(tmp_path / "t.db", kept.id) == "https://example.com/verbs/kept"
    store.close()


def test_a_group_whose_commit_fails_keeps_no_numbers(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    # A foreign key checked only at COMMIT: the one way to make a commit fail on purpose.
    store.conn.execute("CREATE TABLE notes (user_id INTEGER REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED)")
    failing = _indexed(actor=agent("ada"), verb={"id": "https://example.com/verbs/lost"})

    async def request() -> BaseException | None:
        with one_request():
            with store.transaction() as conn:
                insert_statements(conn, [failing], endpoints=[], now=STAMP, terms=store.terms)
                conn.execute("INSERT INTO notes VALUES (999)")  # no such user: refused at COMMIT
            return await store.committed()

    assert isinstance(asyncio.run(request()), sqlite3.IntegrityError)
    assert store.terms.known == {} and store.terms.pending == {}
    assert _stored_terms(tmp_path / "t.db") == {}
    store.close()


def test_the_lrs_and_the_engine_share_the_store_s_numbers(tmp_path: Path) -> None:
    from test_lrs_helpers import make_lrs

    x = make_lrs(tmp_path)
    x.store_statements([statement(actor=agent("ada"))])
    assert x.lrs._terms is x.store.terms.known
    assert {VERB, ACTIVITY, "mbox:mailto:ada@example.gov.uk"} <= set(x.store.terms.known)


def test_term_numbers_start_again_past_their_limit() -> None:
    terms = TermNumbers(limit=3)
    terms.keep({"a": 1, "b": 2})
    terms.keep({"c": 3})
    assert terms.known == {"a": 1, "b": 2, "c": 3}
    terms.keep({"d": 4})
    assert terms.known == {"d": 4}


def _agent_terms_of(path: Path, statement_id: str) -> set[str]:
    """The agents' keys as the agent index gives them, through their numbers: what an ?agent= query relies on."""
    other = sqlite3.connect(path)
    try:
        return {term for (term,) in other.execute(
            "SELECT t.term FROM statements s JOIN statement_agents a ON a.seq = s.seq JOIN lrs_terms t ON t.id = a.agent"
            " WHERE s.id = ?", (statement_id,))}
    finally:
        other.close()


ADA = "mbox:mailto:ada@example.gov.uk"


def test_an_erased_agent_s_key_leaves_the_term_table_and_comes_back_with_a_new_number(tmp_path: Path) -> None:
    """UK GDPR erasure: with ``xapi_include_email`` an agent's key is their email address. Once their statements
    are gone, nothing of it stays in ``lrs_terms``; its number is kept (never given to another term), and the
    same address, registered again, is numbered afresh."""
    store = Store(tmp_path / "t.db")
    _save(store, _indexed(actor=agent("ada")))
    _save(store, _indexed(actor=agent("bob")))
    old = store.terms.known[ADA]
    store.delete_user(0, actor_keys=[ADA])
    stored = _stored_terms(tmp_path / "t.db")
    assert not [term for term in stored if "ada" in term]
    assert old in stored.values()  # the number stays taken
    assert "mbox:mailto:bob@example.gov.uk" in stored

    again = _indexed(actor=agent("ada"))
    _save(store, again)
    assert ADA in _agent_terms_of(tmp_path / "t.db", again.id)
    assert store.terms.known[ADA] != old
    store.close()


def test_a_key_erased_by_another_process_is_not_used_from_this_one_s_numbers(tmp_path: Path) -> None:
    """The command line may delete an account while the service runs: the service's kept numbers go with the
    other connection's commit, as its kept records do (``Store._current``)."""
    service = Store(tmp_path / "t.db")
    _save(service, _indexed(actor=agent("ada")))
    assert ADA in service.terms.known
    command_line = Store(tmp_path / "t.db")
    command_line.delete_user(0, actor_keys=[ADA])
    command_line.close()

    service._current()  # what every web request does first
    again = _indexed(actor=agent("ada"))
    _save(service, again)
    assert ADA in _agent_terms_of(tmp_path / "t.db", again.id)
    service.close()


def test_a_key_that_still_indexes_statements_is_not_erased(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    kept = _indexed(actor=agent("bob"), object=agent("ada"))
    _save(store, kept)
    store.delete_user(0, actor_keys=["mbox:mailto:nobody@example.gov.uk"])
    assert ADA in _stored_terms(tmp_path / "t.db")
    store.close()


def test_a_deleted_account_leaves_nothing_of_itself_in_the_database_file(tmp_path: Path) -> None:
    """Deleted rows are overwritten (``PRAGMA secure_delete``), whatever the SQLite build's default."""
    path = tmp_path / "t.db"
    store = Store(path)
    assert store.conn.execute("PRAGMA secure_delete").fetchone() == (1,)
    for n in range(50):
        store.create_user(name=f"Person {n}", email=f"person{n}@example.gov.uk", department="X", password_hash="h")
    gone = store.create_user(name="Zelda Secretname", email="zelda.secret@example.gov.uk", department="X",
                             password_hash="h")
    store.delete_user(gone.id)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = path.read_bytes()
    assert b"zelda.secret" not in data and b"Secretname" not in data
