"""An erased account stays erased: recorded beside the database, deleted again when a backup from before is
restored, under every key the LRS may hold it by, and by `masterclass users delete` as by "My data"."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from engine.cli import cli
from engine.erasures import erased
from engine.storage.backup import backup
from engine.storage.db import Store
from helpers import make_course
from test_build import LESSON
from webhelpers import PASSWORD, csrf, make_app, register

LESSON_PATH = "/demo/01-intro/lesson"
NAMING = "SELECT COUNT(*) FROM statements WHERE body LIKE '%ada@example%' OR body LIKE ?"


def _ada(store: Store) -> tuple[int, str]:
    user = store.user_by_email("ada@example.gov.uk")
    assert user is not None
    return user.id, user.public_id


@dataclass
class Learner:
    """Ada, registered in a course served from a real database file, having opened its lesson."""

    root: Path
    db: Path
    client: TestClient
    store: Store
    public_id: str


def _learner(tmp_path: Path, **settings: str) -> Learner:
    root = make_course(tmp_path / "demo", lesson=LESSON)
    db = tmp_path / "live.db"
    client, store = make_app(root, db, **settings)
    register(client)
    assert client.get(LESSON_PATH).status_code == 200
    _user_id, public_id = _ada(store)
    return Learner(root, db, client, store, public_id)


def _delete_from_my_data(client: object) -> None:
    token = csrf(client, "/my-data")  # type: ignore[arg-type]
    response = client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"})  # type: ignore[attr-defined]
    assert response.status_code == 303


def test_an_account_erased_after_a_backup_is_erased_again_when_the_backup_is_restored(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ada = _learner(tmp_path)
    root, db, client, store, public_id = ada.root, ada.db, ada.client, ada.store, ada.public_id
    assert store.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0] > 0
    backup(db, tmp_path / "before.db")

    _delete_from_my_data(client)
    record = Path(str(db) + ".erasures")
    assert erased(store) == [public_id]
    text = record.read_text()
    assert "ada" not in text.lower() and "Lovelace" not in text  # an opaque id and a time, nothing more
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    store.close()

    # The restore as docs/operations.md says: the backup in the database's place, its log files gone.
    shutil.copyfile(tmp_path / "before.db", db)
    for name in ("live.db-wal", "live.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    assert Store(db).user_by_public_id(public_id) is not None  # she is back in the file
    with caplog.at_level(logging.WARNING, logger="masterclass"):
        _client, restored = make_app(root, db)
    assert restored.user_by_public_id(public_id) is None
    assert restored.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0] == 0
    assert "deleted 1 account(s) again" in caplog.text
    assert erased(restored) == [public_id]  # recorded once, not again
    restored.close()


def test_statements_under_either_key_go_whichever_the_service_used_when_they_were_made(tmp_path: Path) -> None:
    ada = _learner(tmp_path, xapi_include_email="true")  # statements name her email
    root, db, client, store, public_id = ada.root, ada.db, ada.client, ada.store, ada.public_id
    store.close()
    client, store = make_app(root, db)  # then by account: the setting was changed
    client.cookies.clear()
    token = csrf(client)
    assert client.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk",
                                         "password": PASSWORD}).status_code == 303
    assert client.get("/demo/").status_code == 200
    before = store.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0]
    assert before > 0
    _delete_from_my_data(client)
    assert store.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0] == 0
    store.close()


def test_users_delete_erases_an_account_asked_for_by_other_means(tmp_path: Path) -> None:
    ada = _learner(tmp_path)
    db, store, public_id = ada.db, ada.store, ada.public_id
    store.close()
    runner = CliRunner()

    kept = runner.invoke(cli, ["users", "delete", "ada@example.gov.uk", "--db", str(db)], input="n\n")
    assert kept.exit_code == 1 and "Aborted" in kept.output
    assert Store(db).user_by_public_id(public_id) is not None

    missing = runner.invoke(cli, ["users", "delete", "nobody@example.gov.uk", "--db", str(db)])
    assert (missing.exit_code, missing.output) == (1, "Error: there is no account for nobody@example.gov.uk\n")

    done = runner.invoke(cli, ["users", "delete", "ada@example.gov.uk", "--db", str(db), "--yes"])
    assert (done.exit_code, done.output) == (0, "Deleted ada@example.gov.uk\n")
    after = Store(db)
    assert after.user_by_public_id(public_id) is None
    assert after.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0] == 0
    assert erased(after) == [public_id]
    after.close()


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    store = Store(tmp_path / "live.db")
    Path(str(tmp_path / "live.db") + ".erasures").write_text('{"public_id":"a","at":"x"}\n{"public_id":"b"')
    assert erased(store) == ["a"]
    store.close()


def test_statements_under_an_earlier_base_url_go_too(tmp_path: Path) -> None:
    """The account key names the home page: base_url may have changed since the statements were made."""
    ada = _learner(tmp_path, base_url="http://old.example.gov.uk")  # http: the test client keeps no Secure cookies
    db, store, public_id = ada.db, ada.store, ada.public_id
    assert store.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0] > 0
    store.close()
    done = CliRunner().invoke(cli, ["users", "delete", "ada@example.gov.uk", "--db", str(db), "--yes"])
    assert done.exit_code == 0, done.output
    after = Store(db)
    assert after.conn.execute(NAMING, (f"%{public_id}%",)).fetchone()[0] == 0
    after.close()


def test_an_erasure_that_cannot_be_recorded_deletes_nothing(tmp_path: Path) -> None:
    ada = _learner(tmp_path)
    db, client, store = ada.db, ada.client, ada.store
    Path(str(db) + ".erasures").mkdir()  # say, a record the service's user may not write
    token = csrf(client, "/my-data")
    with pytest.raises(IsADirectoryError):  # the test client raises what the learner sees as the 500 page
        client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"})
    assert store.user_by_email("ada@example.gov.uk") is not None
    store.close()
    # Nor does the service start on a record it cannot read: erasures in it would pass unseen.
    refused = CliRunner().invoke(cli, ["users", "delete", "ada@example.gov.uk", "--db", str(db), "--yes"])
    assert refused.exit_code == 1
    assert refused.output == f"Error: the record of erasures is not a file: {db}.erasures\n"


def test_every_command_on_a_restored_database_erases_again_first(tmp_path: Path) -> None:
    ada = _learner(tmp_path)
    db, client, store, public_id = ada.db, ada.client, ada.store, ada.public_id
    backup(db, tmp_path / "before.db")
    _delete_from_my_data(client)
    store.close()
    shutil.copyfile(tmp_path / "before.db", db)
    for name in ("live.db-wal", "live.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    listed = CliRunner().invoke(cli, ["certificates", "list", "--db", str(db)])
    assert "Deleted again 1 account(s) erased after the backup" in listed.output
    assert Store(db).user_by_public_id(public_id) is None


def test_a_backup_keeps_a_copy_of_the_record_for_a_restore_that_lost_it(tmp_path: Path) -> None:
    ada = _learner(tmp_path)
    db, client, store = ada.db, ada.client, ada.store
    _delete_from_my_data(client)
    made = backup(db, tmp_path / "after.db")
    assert made.erasures is not None
    assert made.erasures == Path(str(tmp_path / "after.db") + ".erasures")
    assert made.erasures.read_bytes() == Path(str(db) + ".erasures").read_bytes()
    assert stat.S_IMODE(os.stat(made.erasures).st_mode) == 0o600
    store.close()


def test_serve_refuses_a_record_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    ada = _learner(tmp_path)
    ada.store.close()
    Path(str(ada.db) + ".erasures").mkdir()
    refused = CliRunner().invoke(cli, ["serve", str(ada.root), "--db", str(ada.db), "--port", "0"])
    assert refused.exit_code == 1
    assert refused.output.endswith(f"Error: the record of erasures is not a file: {ada.db}.erasures\n")
