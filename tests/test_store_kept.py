"""What the store keeps between requests (records, sign-ins) always equals what a fresh read gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.storage.db import Store


def fresh_user(store: Store, email: str = "ada@example.gov.uk", role: str = "learner") -> int:
    user = store.create_user(name="Ada", email=email, department="Cabinet Office", password_hash="x", role=role)
    return user.id


def test_a_first_view_goes_into_kept_records_as_a_fresh_read_would(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    enrolment, _ = store.enrol(fresh_user(store), "https://example.org/course")
    store.record_view(enrolment.id, "https://example.org/a")
    kept = store.records(enrolment.id)
    kept.derived["progress"] = "stale"
    assert store.record_view(enrolment.id, "https://example.org/b") is True
    assert store.records(enrolment.id) is kept  # taken in place, not read again
    assert kept.views == store._read_records(enrolment.id).views
    assert "progress" not in kept.derived  # what was worked out from the old records is gone
    assert store.record_view(enrolment.id, "https://example.org/b") is False  # a repeat view: nothing to add
    assert kept.views == store._read_records(enrolment.id).views


def test_a_rolled_back_first_view_leaves_no_kept_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    enrolment, _ = store.enrol(fresh_user(store), "https://example.org/course")
    store.records(enrolment.id)
    try:
        with store.transaction():
            store.record_view(enrolment.id, "https://example.org/a")
            raise RuntimeError("the rest of the action failed")
    except RuntimeError:
        pass
    assert store.records(enrolment.id).views == {}


def test_kept_sign_ins_follow_sign_out_role_changes_and_other_connections(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    user_id = fresh_user(store)
    token = store.create_session(user_id)
    user = store.session_user(token)
    assert user is not None and user.role == "learner"
    assert store.session_user(token) is user  # kept

    store.set_role(user_id, "facilitator")
    changed = store.session_user(token)
    assert changed is not None and changed.role == "facilitator"

    # Another process (here another connection) changes the account: the next request sees it.
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("UPDATE users SET name = 'Ada Lovelace' WHERE id = ?", (user_id,))
    other.close()
    renamed = store.session_user(token)
    assert renamed is not None and renamed.name == "Ada Lovelace"

    store.delete_session(token)
    assert store.session_user(token) is None

    second = store.create_session(user_id)
    assert store.session_user(second) is not None
    store.delete_user(user_id)
    assert store.session_user(second) is None
