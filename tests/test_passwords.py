"""Passwords set again (decision 0033): a link a facilitator or an admin issues for a learner who has forgotten
theirs, and a change made while signed in. Through the Starlette test client on a real SQLite file; the command
line through click's runner on one."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from engine.cli import cli
from engine.erasures import erase
from engine.security import account_key
from engine.storage.db import Store
from helpers import database_at, make_course
from webhelpers import PASSWORD, csrf, make_app, register

ADA = "ada@example.gov.uk"
NEW = "a new password of mine"
LINK = re.compile(r"http://learn\.example\.gov\.uk(/password/new/[A-Za-z0-9_-]{43})")


class World:
    """A course, Ada (a learner in the Cabinet Office), and whoever else a test signs in."""

    def __init__(self, tmp_path: Path) -> None:
        self.client, self.store = make_app(make_course(tmp_path / "demo"), tmp_path / "test.db",
                                           base_url="http://learn.example.gov.uk")
        self.ada = self.person(ADA)

    def person(self, email: str, department: str = "Cabinet Office", role: str = "learner") -> TestClient:
        browser = TestClient(self.client.app, follow_redirects=False)
        register(browser, email=email, name=email.split("@")[0].title(), department=department)
        browser.get("/demo/")  # enrolled, so that the reports list them
        if role != "learner":
            user = self.store.user_by_email(email)
            assert user is not None
            self.store.set_role(user.id, role)
        return browser

    def public_id(self, email: str) -> str:
        user = self.store.user_by_email(email)
        assert user is not None
        return user.public_id

    def issue(self, issuer: TestClient, email: str = ADA) -> tuple[int, str]:
        """POST the reports' form for a link; the status and the link's path (or the page's text)."""
        page = f"/reports/demo/learners/{self.public_id(email)}"
        response = issuer.post(page + "/password-link", data={"csrf_token": csrf(issuer, "/my-data")})
        found = LINK.search(response.text)
        return response.status_code, found.group(1) if found else response.text


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def sign_in(browser: TestClient, password: str, email: str = ADA) -> int:
    return browser.post("/sign-in", data={"csrf_token": csrf(browser), "email": email,
                                          "password": password}).status_code


def stranger(world: World) -> TestClient:
    return TestClient(world.client.app, follow_redirects=False)


def set_password(browser: TestClient, path: str, password: str = NEW) -> object:
    return browser.post(path, data={"csrf_token": csrf(browser, path), "password": password})


# --- the store ---------------------------------------------------------------------------------------------------

def test_a_link_sets_the_password_once_and_ends_every_session(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    sessions = [store.create_session(ada.id) for _ in range(2)]
    token = store.issue_password_link(ada.id, issued_by=None)
    assert store.password_link_user(token) == ada
    assert store.set_password_by_link(token, "new") == dataclasses.replace(ada, password_hash="new")
    assert store.user_by_id(ada.id).password_hash == "new"  # type: ignore[union-attr]
    assert [store.session_user(s) for s in sessions] == [None, None]
    assert store.password_link_user(token) is None and store.set_password_by_link(token, "again") is None
    assert store.user_by_id(ada.id).password_hash == "new"  # type: ignore[union-attr]
    # Only the hash of a token is kept.
    assert token not in str(store.conn.execute("SELECT * FROM password_links").fetchall())


def test_a_newer_link_replaces_the_older_and_an_old_link_expires(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    first = store.issue_password_link(ada.id, issued_by=None)
    second = store.issue_password_link(ada.id, issued_by=None)
    assert store.password_link_user(first) is None and store.password_link_user(second) == ada
    expired = store.issue_password_link(ada.id, issued_by=None, lifetime=timedelta(milliseconds=-1))
    assert store.password_link_user(expired) is None and store.set_password_by_link(expired, "new") is None
    # An expired link is swept by the next one issued, for anyone.
    bob = store.create_user(name="Bob", email="bob@example.gov.uk", department="Cabinet Office", password_hash="x")
    store.issue_password_link(bob.id, issued_by=None)
    assert store.conn.execute("SELECT user_id FROM password_links").fetchall() == [(bob.id,)]


def test_a_change_keeps_this_session_only_and_the_links(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    link = store.issue_password_link(ada.id, issued_by=None)
    here, elsewhere = store.create_session(ada.id), store.create_session(ada.id)
    assert store.change_password(ada.id, "new", checked="old", session=here)
    assert store.session_user(here) is not None and store.session_user(elsewhere) is None
    # A link a facilitator issued still works: whoever changed the password may not be the owner.
    assert store.password_link_user(link) is not None


def test_a_change_is_made_only_if_nothing_moved_while_it_was_hashed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    link = store.issue_password_link(ada.id, issued_by=None)
    here = store.create_session(ada.id)
    # The owner set a new password with the link while this session's change was being hashed.
    assert store.set_password_by_link(link, "the owner's") is not None
    assert not store.change_password(ada.id, "the thief's", checked="old", session=here)
    assert store.user_by_id(ada.id).password_hash == "the owner's"  # type: ignore[union-attr]
    # Or the session ended (signed out everywhere), with the password as checked.
    gone = store.create_session(ada.id)
    store.delete_session(gone)
    assert not store.change_password(ada.id, "x", checked="the owner's", session=gone)
    assert store.user_by_id(ada.id).password_hash == "the owner's"  # type: ignore[union-attr]


def test_issuing_a_link_ends_every_session_and_a_new_role_ends_the_link(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    session = store.create_session(ada.id)
    link = store.issue_password_link(ada.id, issued_by=None)
    assert store.session_user(session) is None
    store.set_role(ada.id, "admin")  # a facilitator may issue a link for a learner: not for an admin
    assert store.password_link_user(link) is None


def test_links_go_with_their_account_and_outlive_their_issuer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    fay = store.create_user(name="Fay", email="fay@example.gov.uk", department="Cabinet Office",
                            password_hash="x", role="facilitator")
    for_ada = store.issue_password_link(ada.id, issued_by=fay.id)
    for_fay = store.issue_password_link(fay.id, issued_by=ada.id)
    erase(store, fay)
    assert store.password_link_user(for_fay) is None
    assert store.password_link_user(for_ada) == ada
    assert store.conn.execute("SELECT user_id, issued_by FROM password_links").fetchall() == [(ada.id, None)]


def test_migration_15_adds_the_links_to_a_database_of_14(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = database_at(path, 14)
    conn.execute("INSERT INTO users (id, public_id, name, email, department, password_hash, role, created_at)"
                 " VALUES (1, 'p1', 'Ada', ?, 'Cabinet Office', 'old', 'learner', '2026-01-01')", (ADA,))
    conn.commit()
    conn.close()
    store = Store(path)
    token = store.issue_password_link(1, issued_by=None)
    assert store.set_password_by_link(token, "new") is not None
    assert store.user_by_email(ADA).password_hash == "new"  # type: ignore[union-attr]


# --- a link, issued on the reports' learner page -----------------------------------------------------------------

def test_a_facilitator_issues_a_link_that_sets_the_password_and_signs_in(world: World) -> None:
    fay = world.person("fay@example.gov.uk", role="facilitator")
    page = fay.get(f"/reports/demo/learners/{world.public_id(ADA)}")
    assert "Create a link to set a new password" in page.text
    status, path = world.issue(fay)
    assert status == 200, path
    assert "has been signed out everywhere" in fay.post(
        f"/reports/demo/learners/{world.public_id(ADA)}/password-link",
        data={"csrf_token": csrf(fay, "/my-data")}).text
    status, path = world.issue(fay)  # the newest link is the one that works
    old_browser = world.ada  # signed in from registering, until the link was issued
    assert old_browser.get("/my-data").status_code in (302, 303)
    assert sign_in(old_browser, PASSWORD) == 303  # the password still works until the link is used

    holder = stranger(world)  # Ada, on another computer
    form = holder.get(path)
    assert form.status_code == 200 and ADA in form.text
    assert form.headers["cache-control"] == "no-store"
    head = form.text.split("</head>")[0]
    assert head.index('<meta name="referrer" content="no-referrer">') < head.index('rel="stylesheet"')
    assert holder.head(path).status_code == 200
    done = set_password(holder, path)
    assert done.status_code == 303 and done.headers["location"] == "/my-data?changed=password"  # type: ignore[attr-defined]
    assert "Your password has been changed" in holder.get("/my-data?changed=password").text
    # Signed out everywhere else; the old password is dead and the new one works.
    assert old_browser.get("/my-data").status_code in (302, 303)
    assert sign_in(stranger(world), PASSWORD) == 422
    assert sign_in(stranger(world), NEW) == 303
    # The link worked once.
    assert holder.get(path).status_code == 404
    assert "does not work" in stranger(world).get(path).text


def test_a_link_opened_where_someone_else_is_signed_in_ends_their_session(world: World) -> None:
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    bob = world.person("bob@example.gov.uk")
    bob_session = bob.cookies["mc_session"]
    _, path = world.issue(admin)
    assert set_password(bob, path).status_code == 303  # type: ignore[attr-defined]
    assert "Ada" in bob.get("/my-data").text
    assert world.store.session_user(bob_session) is None


def test_a_new_password_from_a_link_must_be_a_good_one(world: World) -> None:
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    _, path = world.issue(admin)
    browser = stranger(world)
    refused = set_password(browser, path, "short")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "govuk-error-summary" in refused.text and "Password must be 10 characters or more" in refused.text  # type: ignore[attr-defined]
    assert refused.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    assert sign_in(stranger(world), PASSWORD) == 303  # nothing changed, and the link still works
    assert set_password(browser, path).status_code == 303  # type: ignore[attr-defined]


def test_a_link_forgives_what_locked_the_account(world: World) -> None:
    attacker = stranger(world)
    for _ in range(5):  # every browser new to Ada's account at this address is stopped
        attacker.post("/sign-in", data={"csrf_token": csrf(attacker), "email": ADA, "password": "guess"})
    # And from everywhere: the account's own limit, reached from many addresses (the test client has one).
    limits = world.client.app.service.sign_in_limits  # type: ignore[attr-defined]
    for _ in range(limits.account.limit):
        limits.account.fail(account_key(ADA))
    assert limits.account.blocked(account_key(ADA))
    assert sign_in(stranger(world), PASSWORD) == 429
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    _, path = world.issue(admin)
    assert set_password(stranger(world), path).status_code == 303  # type: ignore[attr-defined]
    assert sign_in(stranger(world), NEW) == 303  # a new browser too: the account's lock is gone


def test_my_data_says_when_a_link_was_issued_and_by_whom_but_not_the_link(world: World) -> None:
    fay = world.person("fay@example.gov.uk", role="facilitator")
    _, path = world.issue(fay)
    ada = stranger(world)
    assert sign_in(ada, PASSWORD) == 303
    data = ada.get("/my-data/download").json()
    (issued,) = data["password_links"]
    assert issued["issued_by"] == "Fay" and issued["issued_at"] < issued["expires_at"]
    assert path.rsplit("/", 1)[1] not in str(data)


def test_only_the_newest_link_works(world: World) -> None:
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    _, first = world.issue(admin)
    _, second = world.issue(admin)
    assert stranger(world).get(first).status_code == 404
    assert stranger(world).get(second).status_code == 200


def test_who_may_issue_a_link(world: World) -> None:
    fay = world.person("fay@example.gov.uk", role="facilitator")
    cat = world.person("cat@example.gov.uk", role="facilitator")
    home = world.person("hal@example.gov.uk", "Home Office", role="facilitator")
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    bob = world.person("bob@example.gov.uk")
    anonymous = stranger(world)
    ada_page = f"/reports/demo/learners/{world.public_id(ADA)}/password-link"

    assert world.issue(fay)[0] == 200
    assert world.issue(bob)[0] == 403  # a learner
    assert world.issue(home)[0] == 404  # another department's facilitator cannot find Ada
    # Not for another facilitator: a link signs its holder in as the person. The page offers no form either.
    assert world.issue(fay, "cat@example.gov.uk")[0] == 403
    assert "Create a link" not in fay.get(f"/reports/demo/learners/{world.public_id('cat@example.gov.uk')}").text
    assert world.issue(admin, "cat@example.gov.uk")[0] == 200
    assert world.issue(admin, "alan@example.gov.uk")[0] == 200
    del cat
    refused = anonymous.post(ada_page, data={"csrf_token": csrf(anonymous)})
    assert refused.status_code in (302, 303) and "/sign-in" in refused.headers["location"]
    # A form from elsewhere, and a GET, issue nothing.
    assert fay.post(ada_page, data={"csrf_token": "0" * 64}).status_code == 403
    assert fay.post(ada_page).status_code == 403
    assert fay.get(ada_page).status_code == 405
    assert world.store.conn.execute("SELECT COUNT(*) FROM password_links").fetchone() == (3,)  # Ada's, Cat's, Alan's


def test_issuing_is_logged_without_the_link(world: World, caplog: pytest.LogCaptureFixture) -> None:
    fay = world.person("fay@example.gov.uk", role="facilitator")
    with caplog.at_level(logging.INFO, logger="masterclass"):
        _, path = world.issue(fay)
    issued = [r.getMessage() for r in caplog.records if "issued a link" in r.getMessage()]
    assert issued == [f"facilitator {world.public_id('fay@example.gov.uk')} issued a link to set a new password "
                      f"for account {world.public_id(ADA)}"]
    assert path.rsplit("/", 1)[1] not in caplog.text


@pytest.mark.parametrize("token", ["x", "a" * 43, "a" * 101, "%00", "..%2F..%2Fetc", "%E2%82%AC"])
def test_a_link_that_does_not_work_is_a_404_page(world: World, token: str) -> None:
    for method in ("GET", "POST"):
        response = stranger(world).request(method, f"/password/new/{token}")
        assert response.status_code in (403, 404), (method, token)  # a POST without a form: its CSRF check first
        if response.status_code == 404:
            assert "Traceback" not in response.text
            assert "does not work" in response.text or "%2F" in token  # a path of its own: the service's 404


def test_the_sign_in_page_says_what_to_do_without_a_password(world: World) -> None:
    assert 'href="/password/forgotten"' in stranger(world).get("/sign-in").text
    page = stranger(world).get("/password/forgotten")
    assert page.status_code == 200 and "Ask a facilitator in your department" in page.text


# --- a change while signed in ------------------------------------------------------------------------------------

def change(browser: TestClient, current: str, password: str) -> object:
    return browser.post("/password/change", data={"csrf_token": csrf(browser, "/password/change"),
                                                  "current": current, "password": password})


def test_a_change_needs_the_current_password_and_signs_out_everywhere_else(world: World) -> None:
    here = world.ada
    elsewhere = stranger(world)
    assert sign_in(elsewhere, PASSWORD) == 303
    assert 'href="/password/change"' in here.get("/my-data").text
    wrong = change(here, "not my password", NEW)
    assert wrong.status_code == 422 and "Your current password is not correct" in wrong.text  # type: ignore[attr-defined]
    done = change(here, PASSWORD, NEW)
    assert done.status_code == 303 and done.headers["location"] == "/my-data?changed=password"  # type: ignore[attr-defined]
    assert here.get("/my-data").status_code == 200
    assert elsewhere.get("/my-data").status_code in (302, 303)
    assert sign_in(stranger(world), PASSWORD) == 422 and sign_in(stranger(world), NEW) == 303


@pytest.mark.parametrize(("current", "password", "message"), [
    ("", NEW, "Enter your current password"),
    (PASSWORD, "short", "Password must be 10 characters or more"),
    (PASSWORD, "x" * 1001, "Password must be 1,000 characters or fewer"),
    (PASSWORD, PASSWORD, "must be different from your current one"),
    ("x" * 5000, NEW, "Your current password is not correct"),
])
def test_a_change_with_a_mistake_is_an_error_summary(world: World, current: str, password: str,
                                                     message: str) -> None:
    refused = change(world.ada, current, password)
    assert refused.status_code == 422 and "govuk-error-summary" in refused.text  # type: ignore[attr-defined]
    assert message in refused.text  # type: ignore[attr-defined]
    assert sign_in(stranger(world), PASSWORD) == 303


def test_guessing_the_current_password_is_limited_per_session(world: World,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    elsewhere = stranger(world)
    assert sign_in(elsewhere, PASSWORD) == 303
    with caplog.at_level(logging.WARNING, logger="masterclass"):
        for _ in range(5):
            assert change(elsewhere, "a guess at it", NEW).status_code == 422  # type: ignore[attr-defined]
    assert [r.getMessage() for r in caplog.records] == [
        f"password change in a session of account {world.public_id(ADA)} locked for 15 minutes after 5 wrong "
        "passwords"]
    locked = change(elsewhere, PASSWORD, NEW)
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.text  # type: ignore[attr-defined]
    # The owner's own session is not stopped by those guesses, nor by anyone's failed sign-ins.
    attacker = stranger(world)
    for _ in range(5):
        assert sign_in(attacker, "x") == 422
    limits = world.client.app.service.sign_in_limits  # type: ignore[attr-defined]
    for _ in range(limits.account.limit):
        limits.account.fail(account_key(ADA))
    assert sign_in(stranger(world), PASSWORD) == 429  # every browser new to the account is stopped...
    assert change(world.ada, PASSWORD, NEW).status_code == 303  # type: ignore[attr-defined]  # ...not the owner


def test_a_new_password_voids_the_device_cookies_made_for_the_old_one(world: World) -> None:
    """A browser that had the old password (perhaps someone else's) is trusted no more: counted with everyone's
    failures, not on its own. The browser that set the password stays trusted."""
    thief = stranger(world)
    assert sign_in(thief, PASSWORD) == 303  # now holds a device cookie for Ada
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    _, path = world.issue(admin)
    owner = stranger(world)
    assert set_password(owner, path).status_code == 303  # type: ignore[attr-defined]
    attacker = stranger(world)
    for _ in range(5):  # the pair limit: every untrusted browser at this address is stopped
        assert sign_in(attacker, "x") == 422
    assert sign_in(stranger(world), NEW) == 429
    assert sign_in(thief, NEW) == 429  # its old device cookie counts for nothing
    owner.post("/sign-out", data={"csrf_token": csrf(owner, "/my-data")})
    assert sign_in(owner, NEW) == 303  # the owner's browser was given one for the new password
    # And a change while signed in: this browser keeps its standing, others lose theirs.
    assert change(owner, NEW, "a third password here").status_code == 303  # type: ignore[attr-defined]
    owner.post("/sign-out", data={"csrf_token": csrf(owner, "/my-data")})
    assert sign_in(owner, "a third password here") == 303


def test_someone_who_took_over_an_account_cannot_outrun_the_owners_link(world: World) -> None:
    thief = stranger(world)
    assert sign_in(thief, PASSWORD) == 303
    admin = world.person("alan@example.gov.uk", "Home Office", role="admin")
    _, path = world.issue(admin)
    assert thief.get("/my-data").status_code in (302, 303)  # out as soon as the link exists
    assert sign_in(thief, PASSWORD) == 303  # back in with the old password, and changing it...
    assert change(thief, PASSWORD, "the thief's own password").status_code == 303  # type: ignore[attr-defined]
    owner = stranger(world)
    assert set_password(owner, path).status_code == 303  # type: ignore[attr-defined]  # ...kills no link
    assert thief.get("/my-data").status_code in (302, 303)
    assert sign_in(stranger(world), NEW) == 303


def test_the_change_form_answers_head_as_get(world: World) -> None:
    assert world.ada.head("/password/change").status_code == world.ada.get("/password/change").status_code == 200


def test_changing_needs_a_signed_in_person_and_a_form_from_here(world: World) -> None:
    refused = stranger(world).get("/password/change")
    assert refused.status_code in (302, 303) and "/sign-in" in refused.headers["location"]
    posted = world.ada.post("/password/change", data={"csrf_token": "0" * 64, "current": PASSWORD, "password": NEW})
    assert posted.status_code == 403
    assert sign_in(stranger(world), PASSWORD) == 303


# --- the command line --------------------------------------------------------------------------------------------

def test_the_command_line_prints_a_link(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = Store(db)
    store.create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    store.close()
    config = tmp_path / "masterclass.yaml"
    config.write_text("base_url: https://learn.example.gov.uk\n")
    result = CliRunner().invoke(cli, ["users", "password-link", "ADA@example.gov.uk", "--db", str(db),
                                      "--config", str(config)])
    assert result.exit_code == 0, result.output
    found = LINK.search(result.stdout.replace("https://", "http://"))
    assert found is not None and result.stdout.strip().count("\n") == 0
    assert "Send it to Ada <ada@example.gov.uk> only" in result.stderr
    store = Store(db)
    assert store.password_link_user(found.group(1).rsplit("/", 1)[1]) is not None


def test_the_command_line_says_when_base_url_is_unset_and_refuses_unknown_accounts(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    Store(db).create_user(name="Ada", email=ADA, department="Cabinet Office", password_hash="old")
    made = CliRunner().invoke(cli, ["users", "password-link", ADA, "--db", str(db)])
    assert made.exit_code == 0 and made.stdout.startswith("http://127.0.0.1:8000/password/new/")
    assert "base_url is not set" in made.stderr
    unknown = CliRunner().invoke(cli, ["users", "password-link", "bob@example.gov.uk", "--db", str(db)])
    assert unknown.exit_code == 1 and "there is no account for bob@example.gov.uk" in unknown.output
    missing = CliRunner().invoke(cli, ["users", "password-link", ADA, "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
