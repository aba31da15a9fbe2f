"""Sign-in limits that no one can turn against someone else (decision 0031): a browser that has signed in to an
account carries a signed device cookie for it, and is not stopped by the failures of others. Through the
Starlette test client, on a real SQLite file (every browser here has the same address; tests about addresses
run a real `masterclass serve`, in tests/test_proxies.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from engine.storage.db import Store
from helpers import make_course
from webhelpers import PASSWORD, csrf, make_app, register

ADA = "ada@example.gov.uk"


@pytest.fixture
def app(tmp_path: Path) -> tuple[TestClient, Store]:
    return make_app(make_course(tmp_path / "demo"), tmp_path / "test.db")


def sign_in(browser: TestClient, email: str = ADA, password: str = PASSWORD) -> int:
    token = csrf(browser)
    return browser.post("/sign-in", data={"csrf_token": token, "email": email, "password": password}).status_code


def browser_of(client: TestClient, email: str = ADA) -> TestClient:
    """A browser that registered ``email`` (so signed in to it once) and signed out."""
    browser = TestClient(client.app, follow_redirects=False)
    register(browser, email=email)
    browser.post("/sign-out", data={"csrf_token": csrf(browser, "/demo/")})
    return browser


def stranger(client: TestClient) -> TestClient:
    return TestClient(client.app, follow_redirects=False)


def test_a_browser_that_signed_in_before_is_not_locked_out_by_someone_else(app: tuple[TestClient, Store]) -> None:
    client, _ = app
    ada = browser_of(client)
    attacker = stranger(client)
    assert [sign_in(attacker, password="guess") for _ in range(5)] == [422] * 5
    assert sign_in(attacker) == 429  # even with the right password: the attacker's browser is stopped
    assert sign_in(stranger(client)) == 429  # as is any browser new to the account here
    assert sign_in(ada) == 303  # but not Ada's own


def test_the_device_cookie_is_signed_http_only_lax_long_lived_and_names_no_email(
        app: tuple[TestClient, Store], tmp_path: Path) -> None:
    client, store = app
    browser = TestClient(client.app, follow_redirects=False)
    register(browser)
    browser.post("/sign-out", data={"csrf_token": csrf(browser, "/demo/")})
    token = csrf(browser)
    response = browser.post("/sign-in", data={"csrf_token": token, "email": ADA, "password": PASSWORD})
    [device] = [c for c in response.headers.get_list("set-cookie") if c.startswith("mc_device=")]
    user = store.user_by_email(ADA)
    # (Not "ada": the cookie's hex MAC holds those letters one run in forty.)
    assert user is not None and device.startswith(f"mc_device={user.public_id}.")
    assert ADA not in device and "Lovelace" not in device
    attributes = {a.strip().partition("=")[0].lower(): a.strip().partition("=")[2] for a in device.split(";")[1:]}
    assert attributes == {"httponly": "", "samesite": "lax", "path": "/sign-in", "max-age": "31536000"}
    plain, _ = make_app(make_course(tmp_path / "other"), tmp_path / "s.db", base_url="https://learn.example")
    secure = TestClient(plain.app, base_url="https://testserver", follow_redirects=False)
    register(secure, email="bob@example.gov.uk")
    [device] = [c for c in secure.cookies.jar if c.name == "mc_device"]
    assert device.secure


def test_a_device_cookie_is_no_use_for_another_account_or_once_changed(app: tuple[TestClient, Store]) -> None:
    client, store = app
    adas = device_cookie(browser_of(client))
    bob = browser_of(client, "bob@example.gov.uk")
    attacker = stranger(client)
    assert [sign_in(attacker, password="guess") for _ in range(6)] == [422] * 5 + [429]
    assert sign_in(bob) == 429  # Bob's browser is trusted for Bob, not for Ada
    bobs = device_cookie(bob)
    ada, bob_user = store.user_by_email(ADA), store.user_by_email("bob@example.gov.uk")
    assert ada is not None and bob_user is not None and bobs.startswith(bob_user.public_id + ".")
    for forged in (ada.public_id + bobs[len(bob_user.public_id):], adas[:-1] + ("0" if adas[-1] != "0" else "1")):
        assert sign_in(with_device_cookie(client, forged)) == 429, forged
    assert sign_in(with_device_cookie(client, adas)) == 303  # the genuine one, as it is, in any browser
    assert sign_in(bob, "bob@example.gov.uk") == 303


def device_cookie(browser: TestClient) -> str:
    [value] = [c.value for c in browser.cookies.jar if c.name == "mc_device" and c.value]
    return value


def with_device_cookie(client: TestClient, value: str) -> TestClient:
    browser = stranger(client)
    browser.cookies.set("mc_device", value, domain="testserver.local", path="/sign-in")
    return browser


def test_a_trusted_browser_has_a_limit_of_its_own_and_its_failures_count_nowhere_else(
        app: tuple[TestClient, Store]) -> None:
    client, _ = app
    ada = browser_of(client)
    assert [sign_in(ada, password="typo") for _ in range(4)] == [422] * 4
    attacker = stranger(client)
    # Ada's own mistakes do not bring the lockout of others nearer: the attacker has all five.
    assert [sign_in(attacker, password="guess") for _ in range(6)] == [422] * 5 + [429]
    assert sign_in(ada, password="typo") == 422  # the fifth in Ada's browser: it is trusted no more...
    assert sign_in(ada) == 429  # ...so it waits like any other
    assert sign_in(browser_of(client, "bob@example.gov.uk"), "bob@example.gov.uk") == 303  # nobody else does


def test_a_success_makes_a_trusted_browser_s_count_start_again(app: tuple[TestClient, Store]) -> None:
    client, _ = app
    ada = browser_of(client)
    assert [sign_in(ada, password="typo") for _ in range(4)] == [422] * 4
    assert sign_in(ada) == 303
    ada.post("/sign-out", data={"csrf_token": csrf(ada, "/demo/")})
    attacker = stranger(client)
    assert [sign_in(attacker, password="guess") for _ in range(6)] == [422] * 5 + [429]
    assert [sign_in(ada, password="typo") for _ in range(4)] == [422] * 4
    assert sign_in(ada) == 303


def test_each_lockout_is_one_line_on_the_log_without_the_email(
        app: tuple[TestClient, Store], caplog: pytest.LogCaptureFixture) -> None:
    client, store = app
    browser_of(client)
    attacker = stranger(client)
    with caplog.at_level(logging.WARNING, logger="masterclass"):
        assert [sign_in(attacker, password="guess") for _ in range(8)] == [422] * 5 + [429] * 3
        assert [sign_in(attacker, "nobody@example.gov.uk", "guess") for _ in range(6)] == [422] * 5 + [429]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("masterclass")]
    ada = store.user_by_email(ADA)
    assert ada is not None
    assert len(lines) == 2, lines
    assert lines[0] == f"sign-in to account {ada.public_id} from testclient locked for 15 minutes after 5 failures"
    assert lines[1].startswith("sign-in to unknown email ") and "from testclient locked" in lines[1]
    assert not any("@" in line or "nobody" in line for line in lines)


def test_a_long_email_costs_the_limits_no_more_memory_than_a_short_one(app: tuple[TestClient, Store]) -> None:
    """A form may send an email of up to ``max_body_bytes``: kept whole in each limit's keys, 100,000 of them
    would take gigabytes."""
    client, _ = app
    assert sign_in(stranger(client), "x" * 60_000 + "@example.gov.uk", "guess") == 422
    limits = client.app.service.sign_in_limits  # type: ignore[attr-defined]
    keys = [*limits.pair._hits, *limits.account._hits, *limits.address._hits]
    assert len(keys) == 3 and max(len(key) for key in keys) < 100


@pytest.mark.parametrize("path", ["/sign-in", "/register"])
def test_hashing_a_password_does_not_hold_other_learners_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            path: str) -> None:
    """argon2 takes tens of milliseconds and 64 MiB a hash: on the event loop, every sign-in stopped every
    learner's page for that long. It runs in a worker thread (argon2 lets go of the GIL), so a page asked for
    while a password is being checked is answered first. Here the check waits until that page has come back:
    were it on the event loop, the page could never be served, and the test would time out."""
    import asyncio
    import threading

    import httpx

    from engine import security

    client, store = make_app(make_course(tmp_path / "demo"), tmp_path / "t.db")
    register(client, email="bob@example.gov.uk", name="Bob")
    page_served = threading.Event()
    checked: list[str] = []
    real_verify, real_hash = security.verify_password, security.hash_password

    def slow_verify(password_hash: str | None, password: str) -> bool:
        assert page_served.wait(10), "the page was not served while the password was checked"
        checked.append("verify")
        return real_verify(password_hash, password)

    def slow_hash(password: str) -> str:
        assert page_served.wait(10), "the page was not served while the password was hashed"
        checked.append("hash")
        return real_hash(password)

    monkeypatch.setattr(security, "verify_password", slow_verify)
    monkeypatch.setattr(security, "hash_password", slow_hash)
    browser = "b" * 32
    email = "bob@example.gov.uk" if path == "/sign-in" else "ada@example.gov.uk"
    form = {"csrf_token": security.csrf_token(b"s" * 32, browser), "name": "Ada", "email": email,
            "department": "Cabinet Office", "password": PASSWORD}

    async def both() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000",
                                     cookies={"mc_browser": browser}) as http:
            posting = asyncio.create_task(http.post(path, data=form))
            await asyncio.sleep(0.05)  # the form is in, and its password being worked on
            health = await asyncio.wait_for(http.get("/health"), 5)
            page_served.set()
            return health.status_code, (await asyncio.wait_for(posting, 15)).status_code

    assert asyncio.run(both()) == (200, 303)
    assert checked == (["verify"] if path == "/sign-in" else ["hash"])
    store.close()
