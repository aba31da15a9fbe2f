"""Every ``masterclass`` command refuses bad input in one line with a non-zero exit, and leaves nothing half-done:
databases it cannot use, settings it cannot read, accounts and credentials the service would refuse."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli import cli
from engine.storage.db import Store

ADD = ["users", "add", "ada@example.gov.uk", "--name", "Ada", "--department", "Cabinet Office",
       "--password", "correct horse battery"]
READERS = [["export", "statements"], ["certificates", "list"], ["lrs", "status"], ["lrs", "dead-letters"],
           ["lrs", "retry"], ["lrs", "credentials", "list"], ["reports", "rebuild"]]


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def refused(result: Result, message: str) -> None:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert message in result.output, result.output


def test_a_database_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    for db, message in [(str(tmp_path), "cannot use"), (str(tmp_path / "no" / "such.db"), "cannot use"),
                        (str(text), "cannot use"), (str(newer), "schema version 99")]:
        refused(run(*ADD, "--db", db), message)
        for command in READERS:
            refused(run(*command, "--db", db), "database")
    assert text.read_text() == "not a database\n" * 100
    # A newer engine's database is refused before anything is written to it (WAL mode writes its header).
    assert sqlite3.connect(newer).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_commands_that_read_refuse_a_database_that_is_not_there(tmp_path: Path) -> None:
    for command in READERS:
        refused(run(*command, "--db", str(tmp_path / "typo.db")), "there is no database at")
    assert not (tmp_path / "typo.db").exists()


def test_a_database_another_process_is_writing_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "t.db"
    Store(db).close()
    monkeypatch.setattr(sqlite3, "connect", _quick(sqlite3.connect))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        refused(run(*ADD, "--db", str(db)), "database is locked")
        listed = run("lrs", "credentials", "list", "--db", str(db))  # a read does not wait for the writer
        assert listed.exit_code == 0 and "No LRS credentials" in listed.output
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _quick(connect: object) -> object:
    """sqlite3.connect with a short wait for the lock: the store waits 30 s, which a test need not."""
    def quick(*args: object, **kwargs: object) -> sqlite3.Connection:
        kwargs["timeout"] = 0.2
        conn = connect(*args, **kwargs)  # type: ignore[operator]
        if threading.current_thread() is threading.main_thread():
            conn.execute("PRAGMA busy_timeout = 200")
            conn.set_trace_callback(lambda sql: _no_long_waits(conn, sql))
        return conn  # type: ignore[no-any-return]
    return quick


def _no_long_waits(conn: sqlite3.Connection, sql: str) -> None:
    if sql.startswith("PRAGMA busy_timeout=30000"):
        conn.set_trace_callback(None)
        conn.execute("PRAGMA busy_timeout = 200")


@pytest.mark.parametrize(("args", "message"), [
    (["notanemail"], "Enter an email address in the correct format"),
    ([""], "Enter your work email address"),
    (["ada@example.gov.uk", "--name", ""], "Enter your full name"),
    (["ada@example.gov.uk", "--name", "A" * 201], "200 characters or fewer"),
    (["ada@example.gov.uk", "--department", "Ministry of Magic"], "Select your department"),
    (["ada@example.gov.uk", "--password", " " * 12], "10 characters or more"),
])
def test_users_add_refuses_what_the_registration_form_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    base = {"--name": "Ada", "--department": "Cabinet Office", "--password": "correct horse battery"}
    options = dict(zip(args[1::2], args[2::2], strict=True))
    argv = ["users", "add", args[0], *(x for k, v in {**base, **options}.items() for x in (k, v)),
            "--db", str(tmp_path / "t.db")]
    refused(run(*argv), message)
    assert not (tmp_path / "t.db").exists()


def test_users_add_takes_the_email_without_spaces_so_it_cannot_be_made_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    assert run(*ADD, "--db", db).exit_code == 0
    again = ["users", "add", " ADA@example.gov.uk ", *ADD[3:], "--db", db]
    refused(run(*again), "there is already an account")


@pytest.mark.parametrize("name", ["", "   ", "a\tb", "one\ntwo", "x" * 101])
def test_a_credential_name_that_list_could_not_show_is_refused(tmp_path: Path, name: str) -> None:
    refused(run("lrs", "credentials", "add", name, "--scope", "read", "--db", str(tmp_path / "t.db")),
            "1 to 100 characters")


def test_export_since_is_a_time_compared_in_utc(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    with store.transaction() as conn:
        for n, stored in enumerate(["2026-11-28T14:00:00.000+00:00", "2026-11-28T16:00:00.000+00:00"]):
            conn.execute("INSERT INTO statements (id, stored, timestamp, verb, actor, body) VALUES (?, ?, ?, ?, ?, ?)",
                         (f"id-{n}", stored, stored, "v", "a", f'{{"n": {n}}}'))
    store.close()

    def since(value: str) -> list[str]:
        result = run("export", "statements", "--db", str(db), "--since", value)
        assert result.exit_code == 0, result.output
        return result.output.splitlines()

    assert since("2026-11-28T15:00:00+00:00") == ['{"n": 1}']
    assert since("2026-11-28T20:00:00+05:00") == ['{"n": 1}']  # 15:00 in UTC
    assert since("2026-11-28T10:00:00-08:00") == []  # 18:00 in UTC
    assert since("2026-11-28") == ['{"n": 0}', '{"n": 1}']  # midnight, UTC
    for bad in ("yesterday", "2026-13-45T99:99:99", "-1"):
        refused(run("export", "statements", "--db", str(db), "--since", bad), "is not an ISO 8601 time")


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_body_bytes": ".inf"}, "max_body_bytes must be a whole number, 1024 or more"),
    ({"max_body_bytes": -5}, "max_body_bytes must be a whole number"),
    ({"max_body_bytes": 1.9}, "max_body_bytes must be a whole number"),
    ({"max_body_bytes": True}, "max_body_bytes must be a whole number"),
    ({"lrs_batch_size": 0}, "lrs_batch_size must be a whole number, 1 or more"),
    ({"sign_in_attempts": -1}, "sign_in_attempts must be a whole number, 1 or more"),
    ({"sign_in_attempts_per_address": 0}, "sign_in_attempts_per_address must be a whole number, 1 or more"),
    ({"sign_in_attempts": 20}, "sign_in_attempts_per_account (10) must be more than sign_in_attempts (20)"),
    ({"trusted_proxies": ["*"]}, "trusted_proxies must list the proxies' addresses, like 127.0.0.1, or their "
                                 "network, like 10.20.0.0/24, not '*'"),
    ({"trusted_proxies": ["proxy.internal"]}, "not 'proxy.internal'"),
    ({"trusted_proxies": ["10.0.0.0/33"]}, "not '10.0.0.0/33'"),
    ({"trusted_proxies": ["10.1.2.3/24"]}, "not '10.1.2.3/24'"),  # host bits: which network was meant?
    ({"trusted_proxies": ["10.0.0.0/8"]}, "trusted_proxies: 10.0.0.0/8 is wider than a proxy network (at most /16)"),
    ({"trusted_proxies": ["0.0.0.0/0"]}, "0.0.0.0/0 is wider than a proxy network"),
    ({"trusted_proxies": ["2001:db8::/32"]}, "2001:db8::/32 is wider than a proxy network (at most /48)"),
    ({"departments": []}, "departments must list at least one department"),
    ({"base_url": "not a url"}, "base_url must be an http or https address"),
    ({"base_url": "http://h:99999"}, "base_url has a port that cannot be"),
    ({"lrs_endpoints": [{"name": "lms", "url": "ftp://x"}]}, "lrs_endpoints (lms) must be an http or https"),
])
def test_settings_that_cannot_be_are_refused_in_one_line(tmp_path: Path, settings: dict[str, object],
                                                         message: str) -> None:
    config = tmp_path / "masterclass.yaml"
    config.write_text(yaml.safe_dump(settings).replace("'.inf'", ".inf"))
    refused(run(*ADD, "--db", str(tmp_path / "t.db"), "--config", str(config)), message)
    refused(run("lrs", "status", "--db", str(tmp_path / "t.db"), "--config", str(config)), message)


def test_a_settings_file_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"service_name: Caf\xe9\n")
    refused(run(*ADD, "--db", str(tmp_path / "t.db"), "--config", str(latin)), "not UTF-8")
    refused(run(*ADD, "--db", str(tmp_path / "t.db"), "--config", str(tmp_path / "typo.yaml")), "does not exist")
    refused(run(*ADD, "--db", str(tmp_path / "t.db"), "--config", str(tmp_path)), "is a directory")
    refused(run(*ADD, "--db", str(tmp_path / "t.db"), env={"MASTERCLASS_CONFIG": str(tmp_path / "typo.yaml")}),
            "there is no settings file here")


@pytest.mark.parametrize("port", ["-1", "65536", "99999"])
def test_serve_refuses_a_port_that_cannot_be(tmp_path: Path, port: str) -> None:
    refused(run("serve", "--db", str(tmp_path / "t.db"), "--port", port), "--port")
    assert not (tmp_path / "t.db").exists()


def test_new_quotes_the_title_and_build_says_where_it_cannot_write(tmp_path: Path) -> None:
    made = run("new", str(tmp_path / "c"), "--title", 'Risk: a "primer"')
    assert made.exit_code == 0, made.output
    assert yaml.safe_load((tmp_path / "c" / "course.yaml").read_text())["title"] == 'Risk: a "primer"'
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, where the output folder would be")
    refused(run("build", str(tmp_path / "c"), "-o", str(blocked / "out")), str(blocked))


def test_build_refuses_to_write_into_the_courses_media(tmp_path: Path) -> None:
    assert run("new", str(tmp_path / "c")).exit_code == 0
    refused(run("build", str(tmp_path / "c"), "-o", str(tmp_path / "c" / "media" / "out")),
            "is inside the course's media folder")
    assert not (tmp_path / "c" / "media" / "out").exists()


def test_a_build_whose_media_cannot_be_written_is_one_line_and_leaves_no_lessons(tmp_path: Path) -> None:
    assert run("new", str(tmp_path / "c")).exit_code == 0
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "media").write_text("a file, where the media folder would be")
    result = run("build", str(tmp_path / "c"), "-o", str(tmp_path / "out"))
    refused(result, f"not built: cannot write {tmp_path / 'out' / 'media'}")
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["media"]


def test_a_build_into_an_output_whose_media_is_a_link_is_one_line_and_writes_nothing_through_it(
        tmp_path: Path) -> None:
    assert run("new", str(tmp_path / "c")).exit_code == 0
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "media").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result = run("build", str(tmp_path / "c"), "-o", str(tmp_path / "out"))
    refused(result, f"{tmp_path / 'c'}: not built: cannot write {tmp_path / 'out' / 'media'}: it is a link (to "
                    f"{tmp_path / 'elsewhere'}), and a build writes nothing through a link: remove the link")
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not any((tmp_path / "elsewhere").iterdir())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["media"]
