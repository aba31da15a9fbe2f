"""Shared helpers for the LRS tests: an app with the LRS mounted at /xapi, a client, and statements.

(No tests here: the name only keeps it among the LRS's own files.)
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from engine.security import hash_password
from engine.storage.clock import now
from engine.storage.db import Store
from engine.storage.lrs import VOIDED
from engine.storage.lrs_credentials import add_credential
from engine.storage.statements import term_ids, terms_of
from engine.xapi.keys import index
from engine.xapi.lrs import LRS, create_credential, make_app
from helpers import database_at

BASE_URL = "https://learn.example.gov.uk"
VERB = "http://adlnet.gov/expapi/verbs/experienced"
ACTIVITY = "https://learn.example.gov.uk/course/lesson-1"


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class XAPI:
    """A test client that sends the version header and credentials unless told not to."""

    def __init__(self, client: TestClient, store: Store, lrs: LRS, auth: str) -> None:
        self.client = client
        self.store = store
        self.lrs = lrs
        self.auth = auth

    def request(self, method: str, path: str, *, version: str | None = "1.0.3", auth: str | None = "default",
                headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        sent = dict(headers or {})
        if version is not None:
            sent.setdefault("X-Experience-API-Version", version)
        if auth == "default":
            sent.setdefault("Authorization", self.auth)
        elif auth is not None:
            sent.setdefault("Authorization", auth)
        url = path if path.startswith("/xapi") else "/xapi" + path
        return self.client.request(method, url, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Any:
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def credential(self, name: str, scope: str) -> str:
        return basic(*create_credential(self.store, name, scope))

    def store_statements(self, statements: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
        response = self.post("/statements", json=statements)
        assert response.status_code == 200, response.text
        return list(response.json())

    def query(self, **params: Any) -> Any:
        response = self.get("/statements", params=params)
        assert response.status_code == 200, response.text
        return response.json()


# argon2 takes about a second here: every test LRS shares one credential, hashed once, and the
# LRS's process-wide cache of verified credentials makes later requests with it fast.
TEST_KEY = "test-key"
TEST_SECRET = "test-secret-" + "s" * 32


@functools.cache
def _test_hash() -> str:
    return hash_password(TEST_SECRET)


def make_lrs(tmp_path: Path, **options: Any) -> XAPI:
    store = Store(tmp_path / "x.db")
    lrs = make_app(store, base_url=BASE_URL, **options)
    app = Starlette(routes=[Mount("/xapi", app=lrs)])
    with store.transaction() as conn:
        add_credential(conn, key=TEST_KEY, name="tester", secret_hash=_test_hash(), scope="all",
                       created_at=now())
    return XAPI(TestClient(app), store, lrs, basic(TEST_KEY, TEST_SECRET))


def agent(name: str = "ada") -> dict[str, Any]:
    return {"objectType": "Agent", "name": name.title(), "mbox": f"mailto:{name}@example.gov.uk"}


def statement(**changes: Any) -> dict[str, Any]:
    """A valid statement; keyword arguments replace top-level properties (None removes one)."""
    base: dict[str, Any] = {
        "actor": agent(),
        "verb": {"id": VERB, "display": {"en-GB": "experienced", "fr": "a vécu"}},
        "object": {"objectType": "Activity", "id": ACTIVITY,
                   "definition": {"name": {"en-GB": "Lesson 1", "fr": "Leçon 1"},
                                  "type": "http://adlnet.gov/expapi/activities/lesson"}},
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return copy.deepcopy(base)


def new_id() -> str:
    return str(uuid.uuid4())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def multipart(statements: Any, parts: list[tuple[bytes, dict[str, str]]],
              boundary: str = "abcABC0123'()+_,-./:=?") -> tuple[bytes, dict[str, str]]:
    """A multipart/mixed body: the statements as JSON, then each raw part with its headers."""
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), json.dumps(statements).encode()]
    for data, headers in parts:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        chunks.append(f"\r\n--{boundary}\r\n{head}\r\n".encode())
        chunks.append(data)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}


def parse_multipart_response(response: Any) -> list[tuple[dict[str, str], bytes]]:
    from engine.xapi.lrs import parse_multipart

    return parse_multipart(response.headers["content-type"], response.content)


OLD_AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://learn.example.gov.uk", "name": "engine"}}


def old_database(path: Path, version: int, statements: list[dict[str, Any]]) -> list[str]:
    """A database as the engine left it at schema ``version`` (7, 8 or 9), with statements written as that engine
    wrote them: text in every index table (schema 8 added ``statement_actors``), or term numbers (schema 9, with
    no ``statement_refs``). Returns their ids in order."""
    assert version in (7, 8, 9)
    conn = database_at(path, version)
    conn.execute("BEGIN")
    ids = []
    for n, body in enumerate(statements):
        full = {**body, "id": body.get("id", new_id()), "stored": f"2026-01-01T00:00:{n:02d}.000Z",
                "timestamp": f"2026-01-01T00:00:{n:02d}.000Z", "authority": OLD_AUTHORITY, "version": "1.0.0"}
        s = index(full)
        seq = conn.execute(
            "INSERT INTO statements (id, stored, timestamp, verb, actor, object_activity, object_statement,"
            " registration, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.stored, s.timestamp, s.verb, s.actor, s.object_activity, s.object_statement, s.registration,
             s.body)).lastrowid
        if version >= 9:
            n = term_ids(conn, terms_of([s]))
            conn.execute("INSERT INTO statement_verbs VALUES (?, ?)", (n[s.verb], seq))
            if s.object_activity is not None:
                conn.execute("INSERT INTO statement_objects VALUES (?, ?)", (n[s.object_activity], seq))
            if s.registration is not None:
                conn.execute("INSERT INTO statement_registrations VALUES (?, ?)", (n[s.registration], seq))
        else:
            n = {term: term for term in terms_of([s])}  # schemas 7 and 8: the text itself
        conn.executemany("INSERT OR IGNORE INTO statement_activities VALUES (?, ?)",
                         [(n[a], seq) for a in s.activities])
        conn.executemany("INSERT OR IGNORE INTO statement_agents VALUES (?, ?)", [(n[a], seq) for a in s.agents])
        if version >= 8:
            conn.executemany("INSERT OR IGNORE INTO statement_actors VALUES (?, ?, ?)",
                             [(n[a], n[s.verb], seq) for a in s.actors])
        if s.voiding and s.object_statement:
            conn.execute(f"UPDATE statements SET voided = 1 WHERE id = ? AND verb != '{VOIDED}'",
                         (s.object_statement,))
        ids.append(s.id)
    conn.execute("COMMIT")
    conn.close()
    return ids
