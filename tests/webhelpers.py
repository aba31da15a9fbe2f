"""Helpers for tests of the web layer: a real SQLite file, a test client, and form tokens."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from course import build
from engine.settings import load_settings
from engine.storage.db import Store
from engine.web import create_app
from engine.web.courses import CourseRuntime, discover_courses

PASSWORD = "correct horse battery"


def make_app(course_roots: list[Path] | Path, db: Path, **settings: str) -> tuple[TestClient, Store]:
    roots = course_roots if isinstance(course_roots, list) else [course_roots]
    runtimes: list[CourseRuntime] = []
    for root in roots:
        runtimes.extend(discover_courses(root))
    env = {f"MASTERCLASS_{k.upper()}": v for k, v in settings.items()}
    store = Store(db)
    app = create_app(settings=load_settings(Path("/nonexistent.yaml"), env), store=store, courses=runtimes,
                     secret=b"s" * 32)
    return TestClient(app, follow_redirects=False), store


def csrf(client: TestClient, path: str = "/sign-in") -> str:
    html = client.get(path).text
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def register(client: TestClient, email: str = "ada@example.gov.uk", name: str = "Ada Lovelace",
             department: str = "Cabinet Office") -> None:
    token = csrf(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "name": name, "email": email,
                                              "department": department, "password": PASSWORD})
    assert response.status_code == 303, response.text


def answer(client: TestClient, lesson_path: str, block: str, **fields: str | list[str]) -> object:
    token = csrf(client, lesson_path)
    return client.post(f"{lesson_path}/blocks/{block}", data={"csrf_token": token, **fields})


__all__ = ["PASSWORD", "answer", "build", "csrf", "make_app", "register"]
