"""A sign-in lasts ``session_days`` from signing in, on the server as in the cookie (decision 0034): a session
cookie kept, copied or stolen is no use after it, and the sessions table does not grow for ever. On a real SQLite
file; the web through the Starlette test client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from engine.settings import SettingsError, load_settings
from engine.storage.db import Store
from helpers import make_course
from webhelpers import csrf, make_app, register

DAY = 24 * 3600.0


class Clock:
    """The wall clock (``time.time`` and ``time.time_ns``, which the store's timestamps read), moved on by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real, real_ns = time.time, time.time_ns
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)
        monkeypatch.setattr(time, "time_ns", lambda: real_ns() + int(self.offset * 1e9))

    def forward(self, days: float) -> None:
        self.offset += days * DAY


def test_a_session_ends_its_lifetime_after_it_began_kept_or_not(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    token = store.create_session(ada.id)
    assert store.session_user(token) == ada  # now kept between requests
    clock.forward(29.9)
    assert store.session_user(token) == ada
    clock.forward(0.2)
    assert store.session_user(token) is None  # the kept sign-in has ended
    assert Store(tmp_path / "s.db").session_user(token) is None  # and read afresh, too


def test_signing_in_clears_the_accounts_ended_sessions_and_what_they_met(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    store = Store(tmp_path / "s.db")
    ada = store.create_user(name="Ada", email="ada@example.gov.uk", department="Cabinet Office", password_hash="x")
    bob = store.create_user(name="Bob", email="bob@example.gov.uk", department="Cabinet Office", password_hash="x")
    old, bobs = store.create_session(ada.id), store.create_session(bob.id)
    with store.transaction():
        assert store.session_first(old, "https://example/lesson")
    clock.forward(10)
    recent = store.create_session(ada.id)
    clock.forward(21)
    store.create_session(ada.id)
    rows = store.conn.execute("SELECT user_id FROM sessions ORDER BY created_at").fetchall()
    assert rows == [(bob.id,), (ada.id,), (ada.id,)]  # Ada's first went; Bob's ended one waits for Bob
    assert store.conn.execute("SELECT COUNT(*) FROM session_events").fetchone() == (0,)
    assert store.session_user(recent) == ada and store.session_user(bobs) is None  # Bob's row stays, ended


def test_the_service_and_the_cookie_agree_on_the_lifetime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db", session_days="2")
    browser = TestClient(client.app, follow_redirects=False)
    token = csrf(browser, "/register")
    made = browser.post("/register", data={"csrf_token": token, "name": "Ada", "email": "ada@example.gov.uk",
                                           "department": "Cabinet Office", "password": "correct horse battery"})
    cookie = next(v for k, v in made.headers.multi_items() if k == "set-cookie" and v.startswith("mc_session="))
    assert "Max-Age=172800" in cookie
    assert browser.get("/my-data").status_code == 200
    clock.forward(2.01)
    ended = browser.get("/my-data")
    assert ended.status_code in (302, 303) and "/sign-in" in ended.headers["location"]
    del store


def test_the_default_is_30_days_and_less_than_a_day_or_more_than_ten_years_is_refused(tmp_path: Path) -> None:
    assert load_settings(Path("/nonexistent.yaml"), {}).session_days == 30
    assert load_settings(Path("/nonexistent.yaml"), {"MASTERCLASS_SESSION_DAYS": "3650"}).session_days == 3650
    for value in ("0", "-1", "1.5", "a month", "3651", "1000000"):
        with pytest.raises(SettingsError, match="session_days"):
            load_settings(Path("/nonexistent.yaml"), {"MASTERCLASS_SESSION_DAYS": value})
    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
    register(client)
    assert store.session_lifetime == 30 * DAY


def test_signing_out_everywhere_else_keeps_this_browser_only(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
    here = TestClient(client.app, follow_redirects=False)
    register(here)
    elsewhere = TestClient(client.app, follow_redirects=False)
    token = csrf(elsewhere)
    assert elsewhere.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk",
                                            "password": "correct horse battery"}).status_code == 303
    assert "Sign out everywhere else" in here.get("/my-data").text
    done = here.post("/my-data/sign-out-elsewhere", data={"csrf_token": csrf(here, "/my-data")})
    assert done.status_code == 303 and done.headers["location"] == "/my-data?changed=sessions"
    assert "You have been signed out on every other device" in here.get(done.headers["location"]).text
    assert elsewhere.get("/my-data").status_code in (302, 303)
    assert here.get("/my-data").status_code == 200
    assert store.conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)


def test_signing_out_everywhere_else_needs_a_form_from_here_and_a_session(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
    here = TestClient(client.app, follow_redirects=False)
    register(here)
    other = TestClient(client.app, follow_redirects=False)
    assert other.post("/sign-in", data={"csrf_token": csrf(other), "email": "ada@example.gov.uk",
                                        "password": "correct horse battery"}).status_code == 303
    assert here.post("/my-data/sign-out-elsewhere", data={"csrf_token": "0" * 64}).status_code == 403
    assert here.get("/my-data/sign-out-elsewhere").status_code == 405
    anonymous = TestClient(client.app, follow_redirects=False)
    refused = anonymous.post("/my-data/sign-out-elsewhere", data={"csrf_token": csrf(anonymous)})
    assert refused.status_code in (302, 303) and "/sign-in" in refused.headers["location"]
    assert store.conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (2,)
