"""Protocol rules: the version header, About, credentials and scopes, errors, HEAD, alternate syntax, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from test_lrs_helpers import ACTIVITY, XAPI, basic, make_lrs, new_id, statement

from engine.storage.db import Store
from engine.xapi.cli import lrs_group


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


def test_about_needs_no_credentials_or_version(x: XAPI) -> None:
    response = x.get("/about", version=None, auth=None)
    assert response.status_code == 200
    assert response.json() == {"version": ["1.0.3", "2.0.0"]}
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert x.head("/about", version=None, auth=None).status_code == 200
    assert x.get("/about", version="0.9", auth=None).status_code == 200
    assert x.post("/about", auth=None).status_code == 405


@pytest.mark.parametrize("version", ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0", "2.0.0"])
def test_supported_versions(x: XAPI, version: str) -> None:
    response = x.get("/statements", version=version)
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == ("2.0.0" if version == "2.0.0" else "1.0.3")


@pytest.mark.parametrize("version", [None, "", "0.95", "1.1.0", "3.0.0", "latest"])
def test_missing_or_unsupported_version_is_400(x: XAPI, version: str | None) -> None:
    response = x.get("/statements", version=version)
    assert response.status_code == 400
    assert response.json()["field"] == "X-Experience-API-Version"
    assert response.json()["rule"] in ("version", "version-required")
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    for path in ("/activities/state", "/activities", "/agents"):
        assert x.get(path, version=version).status_code == 400


def test_every_response_has_the_version_header(x: XAPI) -> None:
    responses = [
        x.get("/statements"), x.post("/statements", json=statement()), x.get("/statements", auth=None),
        x.get("/nowhere"), x.delete("/statements"), x.get("/activities", params={"activityId": ACTIVITY}),
        x.put("/statements", params={"statementId": new_id()}, json={"bad": 1}),
    ]
    assert [r.headers.get("X-Experience-API-Version") for r in responses] == ["1.0.3"] * len(responses)
    assert [r.status_code for r in responses] == [200, 200, 401, 404, 405, 200, 400]


def test_statement_responses_say_how_consistent_they_are(x: XAPI) -> None:
    for response in (x.get("/statements"), x.post("/statements", json=statement())):
        assert response.headers["X-Experience-API-Consistent-Through"].endswith("+00:00")
    assert "X-Experience-API-Consistent-Through" not in x.get("/activities/state",
                                                              params={"activityId": ACTIVITY}).headers


@pytest.mark.parametrize("auth", [None, "Bearer abc", "Basic !!!", basic("unknown-key", "secret"),
                                  basic("test-key", "wrong secret"), "Basic Og=="])
def test_missing_or_unknown_credentials_are_401(x: XAPI, auth: str | None) -> None:
    response = x.get("/statements", auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="xAPI"'
    assert x.post("/statements", json=statement(), auth=auth).status_code == 401


def test_scopes(x: XAPI) -> None:
    reader = x.credential("reports", "read")
    writer = x.credential("course", "write")
    assert x.get("/statements", auth=reader).status_code == 200
    forbidden = x.post("/statements", json=statement(), auth=reader)
    assert (forbidden.status_code, forbidden.json()["rule"]) == (403, "scope")
    assert x.put("/activities/state", params={"activityId": ACTIVITY, "agent": json.dumps(
        {"mbox": "mailto:a@example.gov.uk"}), "stateId": "s"}, content=b"x", auth=reader).status_code == 403
    [ident] = x.post("/statements", json=statement(), auth=writer).json()
    assert x.get("/statements", params={"statementId": ident}, auth=writer).status_code == 403
    # The authority is the credential that stored the statement.
    stored = x.get("/statements", params={"statementId": ident}, auth=reader).json()
    assert stored["authority"]["account"]["name"] == "course"


def test_a_removed_credential_stops_working_at_once(x: XAPI) -> None:
    auth = x.credential("temporary", "all")
    assert x.get("/statements", auth=auth).status_code == 200
    result = CliRunner().invoke(lrs_group, ["credentials", "remove", "temporary", "--db", x.store.path])
    assert result.exit_code == 0, result.output
    assert x.get("/statements", auth=auth).status_code == 401


def test_a_writer_removed_or_changed_after_writing_stops_at_once(x: XAPI) -> None:
    """Statement writers' credentials are remembered and checked in the writing transaction, not read per
    request: removing or changing one still takes effect at once, and answers as before."""
    removed = x.credential("gone", "write")
    assert x.post("/statements", json=statement(), auth=removed).status_code == 200
    result = CliRunner().invoke(lrs_group, ["credentials", "remove", "gone", "--db", x.store.path])
    assert result.exit_code == 0, result.output
    sent = statement(id=new_id())
    refused = x.post("/statements", json=sent, auth=removed)
    assert (refused.status_code, refused.json()["rule"]) == (401, "credentials")
    assert x.get("/statements", params={"statementId": sent["id"]}).status_code == 404
    # A bad statement with it is a 401 too, as when the row is read before the statement is looked at.
    assert x.post("/statements", json={"actor": {}}, auth=removed).status_code == 401
    assert x.put("/statements", params={"statementId": new_id()}, json=statement(), auth=removed).status_code == 401

    narrowed = x.credential("narrowed", "all")
    assert x.post("/statements", json=statement(), auth=narrowed).status_code == 200
    with x.store.transaction() as conn:
        conn.execute("UPDATE lrs_credentials SET scope = 'read' WHERE name = 'narrowed'")
    sent = statement(id=new_id())
    forbidden = x.post("/statements", json=sent, auth=narrowed)
    assert (forbidden.status_code, forbidden.json()["rule"]) == (403, "scope")
    assert x.get("/statements", params={"statementId": sent["id"]}).status_code == 404
    with x.store.transaction() as conn:
        conn.execute("UPDATE lrs_credentials SET scope = 'write', name = 'renamed' WHERE name = 'narrowed'")
    [ident] = x.post("/statements", json=statement(), auth=narrowed).json()
    assert x.get("/statements", params={"statementId": ident}).json()["authority"]["account"]["name"] == "renamed"


def test_repeated_failures_are_rate_limited(tmp_path: Path) -> None:
    x = make_lrs(tmp_path, failed_attempts=2)
    assert x.get("/statements").status_code == 200
    wrong = basic("test-key", "wrong")
    assert [x.get("/statements", auth=wrong).status_code for _ in range(3)] == [401, 401, 429]
    assert x.get("/statements").status_code == 200  # verified before: the right secret still works


def test_body_too_large_is_413(tmp_path: Path) -> None:
    x = make_lrs(tmp_path, max_body=2000)
    big = statement(result={"response": "x" * 3000})
    assert x.post("/statements", json=big).status_code == 413
    assert x.post("/statements", json=statement()).status_code == 200


def test_unknown_resources_and_methods(x: XAPI) -> None:
    assert x.get("/statement").status_code == 404
    not_allowed = x.request("PATCH", "/activities/state")
    assert not_allowed.status_code == 405
    assert "PUT" in not_allowed.headers["Allow"]
    assert x.delete("/activities").status_code == 405


def test_trailing_slash_and_head(x: XAPI) -> None:
    assert x.get("/statements/").status_code == 200
    head = x.head("/statements")
    assert head.status_code == 200 and head.content == b""
    assert x.head("/activities", params={"activityId": ACTIVITY}).status_code == 200
    assert x.head("/agents", params={"agent": json.dumps({"mbox": "mailto:a@example.gov.uk"})}).status_code == 200


def test_alternate_request_syntax(x: XAPI) -> None:
    """Cross-origin clients POST with ?method= and put headers, parameters and content in the form."""
    sid = new_id()
    form = {"X-Experience-API-Version": "1.0.3", "Authorization": x.auth, "Content-Type": "application/json",
            "statementId": sid, "content": json.dumps(statement())}
    response = x.client.post("/xapi/statements?method=PUT", content=urlencode(form),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 204, response.text
    fetched = x.client.post("/xapi/statements?method=GET", content=urlencode(
        {"X-Experience-API-Version": "1.0.3", "Authorization": x.auth, "statementId": sid}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert fetched.status_code == 200 and fetched.json()["id"] == sid
    mixed = x.client.post(f"/xapi/statements?method=GET&statementId={sid}", content=urlencode(
        {"X-Experience-API-Version": "1.0.3", "Authorization": x.auth}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (mixed.status_code, mixed.json()["rule"]) == (400, "alternate-syntax")
    unauthenticated = x.client.post("/xapi/statements?method=GET", content=urlencode(
        {"X-Experience-API-Version": "1.0.3"}), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unauthenticated.status_code == 401


def test_cli_credentials(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    added = runner.invoke(lrs_group, ["credentials", "add", "Moodle", "--scope", "read", "--db", db])
    assert added.exit_code == 0, added.output
    lines = dict(line.split(": ", 1) for line in added.output.splitlines() if line.startswith(("key:", "secret:")))
    assert set(lines) == {"key", "secret"}
    again = runner.invoke(lrs_group, ["credentials", "add", "Moodle", "--scope", "all", "--db", db])
    assert again.exit_code != 0 and "already" in again.output
    assert runner.invoke(lrs_group, ["credentials", "add", "x", "--scope", "admin", "--db", db]).exit_code != 0
    listed = runner.invoke(lrs_group, ["credentials", "list", "--db", db])
    assert "Moodle" in listed.output and lines["key"] in listed.output and lines["secret"] not in listed.output
    store = Store(db)
    with store.transaction() as conn:
        secret_hash, scope = conn.execute("SELECT secret_hash, scope FROM lrs_credentials").fetchone()
    store.close()
    assert secret_hash.startswith("$argon2") and scope == "read"
    assert runner.invoke(lrs_group, ["credentials", "remove", "nobody", "--db", db]).exit_code != 0
    assert runner.invoke(lrs_group, ["credentials", "remove", "Moodle", "--db", db]).exit_code == 0
    assert "No LRS credentials" in runner.invoke(lrs_group, ["credentials", "list", "--db", db]).output


def test_a_credential_made_by_the_cli_works(tmp_path: Path) -> None:
    x = make_lrs(tmp_path)
    added = CliRunner().invoke(lrs_group, ["credentials", "add", "Course", "--scope", "write", "--db", x.store.path])
    lines = dict(line.split(": ", 1) for line in added.output.splitlines() if line.startswith(("key:", "secret:")))
    auth = basic(lines["key"], lines["secret"])
    assert x.post("/statements", json=statement(), auth=auth).status_code == 200
    assert x.get("/statements", auth=auth).status_code == 403
