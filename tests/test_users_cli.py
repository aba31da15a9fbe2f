"""``masterclass users role`` and ``masterclass users list``: an operator gives an existing account a role, and sees
who has which, on a real SQLite file through click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.storage.db import Store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "m.db"
    store = Store(path)
    store.create_user(name="Ada Lovelace", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    store.create_user(name="Fay\tFacilitator\n", email="fay@example.gov.uk", department="Home Office",
                      password_hash="x", role="facilitator")
    store.create_user(name="Alan Admin", email="alan@example.gov.uk", department="HM Treasury", password_hash="x",
                      role="admin")
    store.close()
    return path


def run(*args: str) -> object:
    return CliRunner().invoke(cli, ["users", *args])


def role_of(db: Path, email: str) -> str:
    store = Store(db)
    try:
        user = store.user_by_email(email)
        assert user is not None
        return user.role
    finally:
        store.close()


def test_an_existing_account_is_given_a_role(db: Path) -> None:
    made = run("role", "ADA@example.gov.uk", "facilitator", "--db", str(db))
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    assert made.output == "ada@example.gov.uk is now a facilitator (was a learner)\n"  # type: ignore[attr-defined]
    assert role_of(db, "ada@example.gov.uk") == "facilitator"
    again = run("role", "ada@example.gov.uk", "facilitator", "--db", str(db))
    assert again.exit_code == 0 and "already a facilitator" in again.output  # type: ignore[attr-defined]
    assert run("role", "ada@example.gov.uk", "admin", "--db", str(db)).exit_code == 0  # type: ignore[attr-defined]
    assert role_of(db, "ada@example.gov.uk") == "admin"


def test_a_new_role_cancels_a_link_to_set_the_password(db: Path) -> None:
    store = Store(db)
    ada = store.user_by_email("ada@example.gov.uk")
    assert ada is not None
    token = store.issue_password_link(ada.id, issued_by=None)
    store.close()
    assert run("role", "ada@example.gov.uk", "admin", "--db", str(db)).exit_code == 0  # type: ignore[attr-defined]
    assert Store(db).password_link_user(token) is None


def test_the_only_admin_stays_one(db: Path) -> None:
    refused = run("role", "alan@example.gov.uk", "learner", "--db", str(db))
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert "alan@example.gov.uk is the only admin: make another account an admin first" in refused.output  # type: ignore[attr-defined]
    assert role_of(db, "alan@example.gov.uk") == "admin"
    assert run("role", "ada@example.gov.uk", "admin", "--db", str(db)).exit_code == 0  # type: ignore[attr-defined]
    assert run("role", "alan@example.gov.uk", "learner", "--db", str(db)).exit_code == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(("args", "message"), [
    (["role", "bob@example.gov.uk", "admin"], "there is no account for bob@example.gov.uk"),
    (["role", "ada@example.gov.uk", "superuser"], "'superuser' is not one of 'learner', 'facilitator', 'admin'"),
    (["list", "--role", "boss"], "'boss' is not one of"),
])
def test_bad_input_is_one_line_without_a_traceback(db: Path, args: list[str], message: str) -> None:
    result = run(*args, "--db", str(db))
    assert result.exit_code in (1, 2) and message in result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_a_missing_database_is_not_made(tmp_path: Path) -> None:
    for args in (["role", "ada@example.gov.uk", "admin"], ["list"]):
        result = run(*args, "--db", str(tmp_path / "typo.db"))
        assert result.exit_code == 1 and "no database" in result.output, result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "typo.db").exists()


def test_accounts_are_listed_one_a_line_by_email(db: Path) -> None:
    every = run("list", "--db", str(db))
    assert every.exit_code == 0  # type: ignore[attr-defined]
    lines = [line.split("\t") for line in every.output.splitlines()]  # type: ignore[attr-defined]
    assert [line[:4] for line in lines] == [
        ["ada@example.gov.uk", "Ada Lovelace", "Cabinet Office", "learner"],
        ["alan@example.gov.uk", "Alan Admin", "HM Treasury", "admin"],
        ["fay@example.gov.uk", "Fay Facilitator", "Home Office", "facilitator"],  # a tab and a newline typed
    ]
    assert all(len(line) == 5 and line[4].startswith("20") for line in lines)
    facilitators = run("list", "--role", "facilitator", "--db", str(db))
    assert facilitators.output.startswith("fay@example.gov.uk\t") and facilitators.output.count("\n") == 1  # type: ignore[attr-defined]
    cabinet = run("list", "--department", "Cabinet Office", "--db", str(db))
    assert cabinet.output.startswith("ada@example.gov.uk\t") and cabinet.output.count("\n") == 1  # type: ignore[attr-defined]
