"""Shared set-up for the capstone tests: a course with a capstone, the app with the capstone routes, and people."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from engine.security import csrf_token
from engine.storage.db import Store
from engine.web import capstone as capstone_web
from engine.xapi.validate import validate_statement
from helpers import make_course
from webhelpers import make_app, register

SECRET = b"s" * 32
COURSE = "/demo"
CAPSTONE_YAML = """\
id: https://learn.example.gov.uk/courses/demo
title: Demo course
language: en-GB
modules: [01-intro]
completion: {modules: all, capstone: true}
capstone:
  title: Your team's small change
  team_size: {min: 2, max: 3}
  stages:
    - {id: ideas, kind: ideas, title: Share ideas, guidance: Post at least one idea each.}
    - {id: agree, kind: decision, title: Agree your small change}
    - {id: plan, kind: plan, title: Plan the experiment}
    - {id: measure, kind: measurements, title: Try it and measure, complete_when: {measurements: 2}}
    - {id: reflect, kind: reflection, title: Reflect}
    - {id: share, kind: case_study, title: Share your case study}
"""


def mount(client: TestClient) -> None:
    """Put the capstone routes before the learning routes (whose /{course}/{module}/{lesson} would match first)."""
    starlette_app = client.app.app  # type: ignore[attr-defined]
    for route in reversed(capstone_web.routes):
        starlette_app.router.routes.insert(0, route)


@dataclass
class World:
    root: Path
    store: Store
    base: TestClient

    def person(self, email: str, name: str, department: str = "Cabinet Office", role: str = "learner"
               ) -> TestClient:
        client = TestClient(self.base.app, follow_redirects=False)
        register(client, email=email, name=name, department=department)
        if role != "learner":
            user = self.store.user_by_email(email)
            assert user is not None
            self.store.set_role(user.id, role)
        return client


def make_world(tmp_path: Path, course_yaml: str = CAPSTONE_YAML) -> World:
    root = make_course(tmp_path / "demo", course_yaml=course_yaml)
    client, store = make_app(root, tmp_path / "capstone.db")
    mount(client)
    return World(root, store, client)


def post(client: TestClient, path: str, **data: Any) -> Any:
    token = csrf_token(SECRET, client.cookies.get("mc_browser") or "")
    return client.post(path, data={"csrf_token": token, **data})


def team_id(store: Store, name: str) -> int:
    row = store.conn.execute("SELECT id FROM capstone_teams WHERE name = ?", (name,)).fetchone()
    assert row, name
    return int(row[0])


def stage_url(team: int, stage: str) -> str:
    return f"{COURSE}/capstone/teams/{team}/{stage}"


def capstone_statements(store: Store) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT body FROM statements ORDER BY seq").fetchall()
    every = [json.loads(body) for (body,) in rows]
    return [s for s in every if "team" in s.get("context", {})]


def check_statements(store: Store) -> list[dict[str, Any]]:
    """Every capstone statement is valid xAPI with context.team a Group of members and the course as grouping."""
    found = capstone_statements(store)
    for statement in found:
        validate_statement(statement)
        team = statement["context"]["team"]
        assert team["objectType"] == "Group" and team["member"], statement
        grouping = statement["context"]["contextActivities"]["grouping"]
        assert grouping[0]["id"] == "https://learn.example.gov.uk/courses/demo"
        assert statement["object"]["id"].startswith("https://learn.example.gov.uk/courses/demo/capstone")
    return found


def error_for(html: str, field: str, message: str) -> bool:
    """The GOV.UK error summary links to the field, and the message is shown."""
    return "govuk-error-summary" in html and f'href="#{field}"' in html and message in html


def rows(store: Store, table: str) -> int:
    return int(store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def tables(store: Store) -> dict[str, int]:
    names = [n for (n,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                              " AND name LIKE 'capstone_%'")]
    return {n: rows(store, n) for n in names}


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)
