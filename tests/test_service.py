"""Service plumbing: settings, migrations, the users command, template overrides, documented settings."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.settings import SETTINGS, SettingsError, load_settings
from engine.storage.db import SchemaTooNew, Store
from engine.storage.migrations import MIGRATIONS
from engine.web.courses import CourseLoadError, discover_courses
from helpers import make_course
from webhelpers import make_app, register

ROOT = Path(__file__).resolve().parents[1]


def test_settings_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "masterclass.yaml"
    config.write_text("service_name: Learn\nallowed_email_domains: [gov.uk]\nbase_url: https://learn.example/\n")
    settings = load_settings(config, {"MASTERCLASS_SERVICE_NAME": "From env", "MASTERCLASS_DEPARTMENTS": "A, B"})
    assert settings.service_name == "From env"
    assert settings.departments == ["A", "B"]
    assert settings.allowed_email_domains == ["gov.uk"]
    assert settings.base_url == "https://learn.example" and settings.secure_cookies


def test_lrs_sign_in_attempts_per_address_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "masterclass.yaml"
    assert load_settings(config, {}).lrs_sign_in_attempts_per_address == 20
    config.write_text("lrs_sign_in_attempts_per_address: 3\n")
    assert load_settings(config, {}).lrs_sign_in_attempts_per_address == 3
    environ = {"MASTERCLASS_LRS_SIGN_IN_ATTEMPTS_PER_ADDRESS": " 7 "}
    assert load_settings(config, environ).lrs_sign_in_attempts_per_address == 7


@pytest.mark.parametrize(("text", "env", "message"), [
    ("servce_name: x\n", {}, "unknown setting 'servce_name'"),
    ("max_body_bytes: lots\n", {}, "max_body_bytes must be a whole number"),
    ("[1, 2]\n", {}, "must be a mapping"),
    ("", {"MASTERCLASS_ACCESS_LOG": "maybe"}, "MASTERCLASS_ACCESS_LOG: access_log must be true or false"),
    ("", {"MASTERCLASS_LRS_ENDPOINTS": "[{\"name\": \"x\"}]"}, "lrs_endpoints[0] needs a name and a url"),
    ("support_email: help desk\n", {}, "support_email must be an email address"),
    ("", {"MASTERCLASS_SUPPORT_EMAIL": "help@desk"}, "MASTERCLASS_SUPPORT_EMAIL: support_email must be an email"),
    ("", {"MASTERCLASS_SUPPORT_EMAIL": '"><script>@x.uk'}, "support_email must be an email address"),
    ("lrs_sign_in_attempts_per_address: 0\n", {},
     "masterclass.yaml: lrs_sign_in_attempts_per_address must be a whole number, 1 or more"),
    ("lrs_sign_in_attempts_per_address: 2.5\n", {}, "lrs_sign_in_attempts_per_address must be a whole number"),
    ("lrs_sign_in_attempts_per_address: 5\n", {"MASTERCLASS_LRS_SIGN_IN_ATTEMPTS_PER_ADDRESS": "-1"},
     "MASTERCLASS_LRS_SIGN_IN_ATTEMPTS_PER_ADDRESS: lrs_sign_in_attempts_per_address must be a whole number, 1 or"),
])
def test_bad_settings_are_named(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    config = tmp_path / "masterclass.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(config, env)


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "settings.md").read_text()
    example = load_settings(ROOT / "masterclass.example.yaml", {})
    for setting in SETTINGS:
        assert f"`{setting.name}`" in docs and setting.env in docs and setting.doc in docs
        assert example.values[setting.name] == setting.default


def test_an_old_database_is_upgraded_never_recreated(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute("INSERT INTO users (public_id, name, email, department, password_hash, created_at)"
                 " VALUES ('p', 'Old', 'old@example.gov.uk', 'Other', 'x', '2026-01-01T00:00:00+00:00')")
    conn.commit()
    conn.close()
    store = Store(db)
    assert store.version == len(MIGRATIONS)
    assert store.user_by_email("old@example.gov.uk") is not None
    assert store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == 0
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew):
        Store(db)


def test_users_add_makes_an_admin(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "boss@example.gov.uk", "--name", "The Boss", "--department",
                                 "Cabinet Office", "--admin", "--password", "a very long password", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.gov.uk" in result.output
    user = Store(db).user_by_email("boss@example.gov.uk")
    assert user is not None and user.role == "admin" and user.password_hash.startswith("$argon2")
    again = runner.invoke(cli, ["users", "add", "boss@example.gov.uk", "--name", "X", "--department", "Other",
                                "--password", "a very long password", "--db", str(db)])
    assert again.exit_code == 1 and "already an account" in again.output


def test_the_accessibility_statement_gives_the_support_address(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    client, _ = make_app(root, tmp_path / "a.db", support_email=" help@learn.example.gov.uk ")
    page = client.get("/accessibility").text
    link = '<a class="govuk-link" href="mailto:help@learn.example.gov.uk">help@learn.example.gov.uk</a>'
    assert page.count(link) == 2  # a different format, and reporting a problem
    assert "contact the team that runs this service in your department" not in page
    unset, _ = make_app(root, tmp_path / "b.db")
    page = unset.get("/accessibility").text
    assert "mailto:" not in page and page.count("contact the team that runs this service in your department") == 2


def test_a_course_folder_overrides_a_template(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    (root / "theme").mkdir()
    (root / "theme" / "lesson.html").write_text(
        '{% extends "default:lesson.html" %}{% block breadcrumbs %}<p id="custom">Our own crumbs</p>{% endblock %}')
    client, _ = make_app(root, tmp_path / "t.db")
    register(client)
    page = client.get("/demo/01-intro/lesson").text
    assert '<p id="custom">Our own crumbs</p>' in page and "Hello." in page


def test_a_broken_course_stops_the_service_with_located_errors(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", lesson="---\ntitle: T\n---\n::: quiz id=q\n:::\n")
    with pytest.raises(CourseLoadError, match=r"modules/01-intro/010-lesson.md:4:5: error: unknown block type"):
        discover_courses(root)
    result = CliRunner().invoke(cli, ["serve", str(root), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "unknown block type" in result.output and "Traceback" not in result.output


def test_serving_a_compiled_course(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo")
    assert CliRunner().invoke(cli, ["build", str(root), "-o", str(tmp_path / "out" / "demo")]).exit_code == 0
    client, _ = make_app(tmp_path / "out", tmp_path / "c.db")
    register(client)
    assert "Hello." in client.get("/demo/01-intro/lesson").text


def test_the_session_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    from engine.security import load_secret

    db = tmp_path / "s.db"
    first = load_secret(db)
    assert load_secret(db) == first and len(first) == 32
    assert (tmp_path / "s.db.secret").stat().st_mode & 0o077 == 0
