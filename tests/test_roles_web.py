"""An admin gives an account a role from its page in the reports: route by route, who may, and what a refused
change says. Through the Starlette test client on a real SQLite file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

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
