"""An admin gives an account a role from its page in the reports: route by route, who may, and what a refused
change says. Through the Starlette test client on a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from engine.security import csrf_token
from engine.storage.db import Store
from helpers import make_course
from webhelpers import csrf, make_app, register


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.client, self.store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
        self.browsers: dict[str, TestClient] = {}
        for name, department, role in (("ada", "Cabinet Office", "learner"), ("fay", "Cabinet Office", "facilitator"),
                                       ("alan", "Home Office", "admin")):
            browser = TestClient(self.client.app, follow_redirects=False)
            register(browser, email=f"{name}@example.gov.uk", name=name.title(), department=department)
            browser.get("/demo/")
            if role != "learner":
                self.store.set_role(self.user(name).id, role)
            self.browsers[name] = browser

    def user(self, name: str):  # type: ignore[no-untyped-def]
        found = self.store.user_by_email(f"{name}@example.gov.uk")
        assert found is not None
        return found

    def give(self, by: str, name: str, role: str, query: str = "") -> object:
        browser = self.browsers[by]
        path = f"/reports/demo/learners/{self.user(name).public_id}"
        return browser.post(f"{path}/role{query}", data={"csrf_token": csrf(browser, "/my-data"), "role": role})


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_an_admin_makes_a_learner_a_facilitator(world: World, caplog: pytest.LogCaptureFixture) -> None:
    page = world.browsers["alan"].get(f"/reports/demo/learners/{world.user('ada').public_id}")
    assert "Change role" in page.text and 'value="learner" checked' in page.text
    with caplog.at_level(logging.INFO, logger="masterclass"):
        done = world.give("alan", "ada", "facilitator", "?search=ad")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"].endswith("?search=ad&changed=role")  # type: ignore[attr-defined]
    assert world.user("ada").role == "facilitator"
    shown = world.browsers["alan"].get(done.headers["location"])  # type: ignore[attr-defined]
    assert "Ada is now a facilitator." in shown.text
    assert f"admin {world.user('alan').public_id} gave account {world.user('ada').public_id} the role " \
           "facilitator (was learner)" in caplog.text
    # Ada's next request sees it: her reports.
    assert world.browsers["ada"].get("/reports/demo/").status_code == 200


def test_only_an_admin_changes_roles(world: World) -> None:
    assert "Change role" not in world.browsers["fay"].get(
        f"/reports/demo/learners/{world.user('ada').public_id}").text
    assert world.give("fay", "ada", "admin").status_code == 403  # type: ignore[attr-defined]
    assert world.give("ada", "ada", "admin").status_code == 403  # type: ignore[attr-defined]
    anonymous = TestClient(world.client.app, follow_redirects=False)
    path = f"/reports/demo/learners/{world.user('ada').public_id}/role"
    refused = anonymous.post(path, data={"csrf_token": csrf(anonymous), "role": "admin"})
    assert refused.status_code in (302, 303) and "/sign-in" in refused.headers["location"]
    assert world.browsers["alan"].post(path, data={"csrf_token": "0" * 64, "role": "admin"}).status_code == 403
    assert world.browsers["alan"].get(path).status_code == 405
    assert world.user("ada").role == "learner"


@pytest.mark.parametrize(("name", "role", "message"), [
    ("alan", "learner", "alan@example.gov.uk is the only admin: make another account an admin first"),
    ("ada", "superuser", "Select a role"),
    ("ada", "", "Select a role"),
])
def test_a_refused_change_is_an_error_summary(world: World, name: str, role: str, message: str) -> None:
    refused = world.give("alan", name, role)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "govuk-error-summary" in refused.text and message in refused.text  # type: ignore[attr-defined]
    assert 'href="#role"' in refused.text  # type: ignore[attr-defined]
    assert world.user("alan").role == "admin" and world.user("ada").role == "learner"


def test_a_new_role_ends_a_link_to_set_the_password(world: World, tmp_path: Path) -> None:
    store: Store = world.store
    token = store.issue_password_link(world.user("ada").id, issued_by=world.user("fay").id)
    assert world.give("alan", "ada", "admin").status_code == 303  # type: ignore[attr-defined]
    assert store.password_link_user(token) is None
    assert world.give("alan", "alan", "learner").status_code == 303  # type: ignore[attr-defined]  # Ada is an admin now


# --- what a request acts on is read once its form has arrived ----------------------------------------------------

def _slow_post(app: object, path: str, token: str, browser: str, fields: str,
               meanwhile: Callable[[httpx.AsyncClient], Awaitable[None]]) -> httpx.Response:
    """POST ``fields`` as ``token``'s browser, its body held back until ``meanwhile`` has run: a form on a slow
    connection, while other requests change what it would act on."""
    async def run() -> httpx.Response:
        arrived = asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            await arrived.wait()
            yield f"csrf_token={csrf_token(b's' * 32, browser)}&{fields}".encode()

        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            sent = asyncio.create_task(http.post(path, content=body(), headers={
                "cookie": f"mc_session={token}; mc_browser={browser}",
                "content-type": "application/x-www-form-urlencoded"}))
            await asyncio.sleep(0.1)
            await meanwhile(http)
            arrived.set()
            return await sent

    return asyncio.run(run())


def test_an_admin_demoted_while_their_form_arrives_changes_nothing(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
    alan, bea, carl = (store.create_user(name=n, email=f"{n}@example.gov.uk", department="Cabinet Office",
                                         password_hash="x", role=r)
                       for n, r in (("alan", "admin"), ("bea", "admin"), ("carl", "learner")))

    async def demote_bea(http: httpx.AsyncClient) -> None:
        store.set_role(bea.id, "learner")

    answer = _slow_post(client.app, f"/reports/demo/learners/{carl.public_id}/role", store.create_session(bea.id),
                        "bea-browser", "role=admin", demote_bea)
    assert answer.status_code == 403
    assert store.user_by_id(carl.id).role == "learner"  # type: ignore[union-attr]
    del alan


def test_a_link_is_not_issued_for_an_account_made_admin_while_the_form_arrives(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
    fay = store.create_user(name="Fay", email="fay@example.gov.uk", department="Cabinet Office", password_hash="x",
                            role="facilitator")
    ada = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    store.create_user(name="Alan", email="alan@example.gov.uk", department="Cabinet Office", password_hash="x",
                      role="admin")

    async def promote_ada(http: httpx.AsyncClient) -> None:
        store.set_role(ada.id, "admin")

    answer = _slow_post(client.app, f"/reports/demo/learners/{ada.public_id}/password-link",
                        store.create_session(fay.id), "fay-browser", "", promote_ada)
    assert answer.status_code == 403
    assert store.conn.execute("SELECT COUNT(*) FROM password_links").fetchone() == (0,)


def test_the_store_keeps_an_admin_whatever_two_processes_do_at_once(tmp_path: Path) -> None:
    one = Store(tmp_path / "t.db")
    alan = one.create_user(name="Alan", email="alan@example.gov.uk", department="HM Treasury", password_hash="x",
                           role="admin")
    bea = one.create_user(name="Bea", email="bea@example.gov.uk", department="HM Treasury", password_hash="x",
                          role="admin")
    other = Store(tmp_path / "t.db")  # another process: both checked "two admins" before either wrote
    assert one.set_role(alan.id, "learner")
    assert not other.set_role(bea.id, "learner")
    assert other.count_role("admin") == 1 and other.user_by_id(bea.id).role == "admin"  # type: ignore[union-attr]


def test_a_sign_in_checked_against_a_password_set_again_meanwhile_makes_no_session(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    ada = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="old")
    link = store.issue_password_link(ada.id, issued_by=None)
    assert store.set_password_by_link(link, "new") is not None
    assert store.create_session(ada.id, password_hash="old") is None  # checked against the old one
    assert store.conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    assert store.create_session(ada.id, password_hash="new") is not None
