"""Behind a reverse proxy: the learner's address is the one the proxy saw, only for the proxies named in
``trusted_proxies``, and sign-in limits per address are far above those per account (a department's offices share
a few addresses). Real ``masterclass serve`` processes on loopback ports."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from engine.cli import serve_options
from engine.settings import SettingsError, load_settings
from helpers import make_course
from servers import MASTERCLASS, free_port, stop, wait_for
from webhelpers import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[tuple[httpx.Client, Path]]:
    course = make_course(tmp_path / "demo")
    port = free_port()
    log = tmp_path / "stdout.txt"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(MASTERCLASS), "serve", str(course), "--db", str(tmp_path / "m.db"), "--port", str(port)],
            env={**os.environ, "MASTERCLASS_ACCESS_LOG": "true", **env}, cwd=tmp_path, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            yield client, log
    finally:
        stop(process)


def sign_in(client: httpx.Client, email: str, forwarded_for: str, password: str = "wrong password") -> int:
    headers = {"X-Forwarded-For": forwarded_for}
    token = TOKEN.search(client.get("/sign-in", headers=headers).text)
    assert token
    return client.post("/sign-in", headers=headers,
                       data={"csrf_token": token.group(1), "email": email, "password": password}).status_code


def browser_of(client: httpx.Client, email: str, forwarded_for: str) -> httpx.Client:
    """A browser of its own (its own cookies) that registered ``email``, so signed in to it once, and signed
    out."""
    browser = httpx.Client(base_url=client.base_url)
    headers = {"X-Forwarded-For": forwarded_for}
    token = TOKEN.search(browser.get("/register", headers=headers).text)
    assert token
    registered = browser.post("/register", headers=headers, data={
        "csrf_token": token.group(1), "name": "Ada Lovelace", "email": email, "department": "Cabinet Office",
        "password": PASSWORD})
    assert registered.status_code == 303, registered.text
    assert browser.post("/sign-out", headers=headers, data={"csrf_token": token.group(1)}).status_code == 303
    return browser


def test_behind_a_trusted_proxy_each_learner_has_their_own_address(tmp_path: Path) -> None:
    with served(tmp_path, MASTERCLASS_TRUSTED_PROXIES="127.0.0.1", MASTERCLASS_SIGN_IN_ATTEMPTS_PER_ADDRESS="3") as (
            client, log):
        assert [sign_in(client, f"p{n}@example.gov.uk", "203.0.113.5") for n in range(3)] == [422] * 3
        assert sign_in(client, "p3@example.gov.uk", "203.0.113.5") == 429  # that address has had its three
        assert sign_in(client, "p4@example.gov.uk", "203.0.113.6") == 422  # another learner's has not
    time.sleep(0.3)  # the access log writes its lines within 0.2 s
    assert re.search(r"^203\.0\.113\.5 - - \[.*\] \"POST /sign-in HTTP/1\.1\" 429 -$", log.read_text(), re.M)


def test_without_trusted_proxies_a_forwarded_address_is_not_believed(tmp_path: Path) -> None:
    """Anyone can write X-Forwarded-For: believed from everyone, it would undo every limit per address."""
    with served(tmp_path, MASTERCLASS_SIGN_IN_ATTEMPTS_PER_ADDRESS="3") as (client, log):
        made_up = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        assert [sign_in(client, f"p{n}@example.gov.uk", made_up[n]) for n in range(3)] == [422] * 3
        assert sign_in(client, "p3@example.gov.uk", "198.51.100.4") == 429
    time.sleep(0.3)
    assert "198.51.100" not in log.read_text()


def test_one_address_allows_far_more_failures_than_one_account(tmp_path: Path) -> None:
    """The defaults: five per account, three hundred per address (an office's learners mistype together)."""
    with served(tmp_path) as (client, _log):
        assert [sign_in(client, f"p{n}@example.gov.uk", "-") for n in range(12)] == [422] * 12
        assert [sign_in(client, "same@example.gov.uk", "-") for _ in range(6)] == [422] * 5 + [429]


def test_a_script_that_locks_a_shared_address_does_not_stop_its_learners_own_browsers(tmp_path: Path) -> None:
    """A department reaches the service through one address: scripted failures from it stop the browsers new to
    an account there, never the browsers its learners have signed in with before."""
    with served(tmp_path, MASTERCLASS_TRUSTED_PROXIES="127.0.0.1", MASTERCLASS_SIGN_IN_ATTEMPTS_PER_ADDRESS="3") as (
            client, log):
        office = "203.0.113.5"
        with closing(browser_of(client, "ada@example.gov.uk", office)) as ada:
            assert [sign_in(client, f"made-up-{n}@example.gov.uk", office) for n in range(4)] == [422] * 3 + [429]
            with httpx.Client(base_url=client.base_url) as new_browser:
                assert sign_in(new_browser, "ada@example.gov.uk", office, PASSWORD) == 429
            assert sign_in(ada, "ada@example.gov.uk", office, PASSWORD) == 303
    time.sleep(0.3)
    assert [line for line in log.read_text().splitlines() if "locked" in line] == [
        "sign-in from 203.0.113.5 locked for 15 minutes after 3 failures"]


def test_an_account_is_locked_for_new_browsers_by_failures_from_several_addresses(tmp_path: Path) -> None:
    """Five failures lock one account from one address; ten from anywhere lock it for every browser new to it, so
    guessing from many addresses is bounded, and the owner's own browsers still get in."""
    with served(tmp_path, MASTERCLASS_TRUSTED_PROXIES="127.0.0.1") as (client, _log):
        with closing(browser_of(client, "ada@example.gov.uk", "198.51.100.9")) as ada:
            assert [sign_in(client, "ada@example.gov.uk", "203.0.113.1") for _ in range(6)] == [422] * 5 + [429]
            assert sign_in(client, "ada@example.gov.uk", "203.0.113.2", PASSWORD) == 303  # one address alone: no
            client.cookies.clear()
            assert [sign_in(client, "ada@example.gov.uk", "203.0.113.3") for _ in range(5)] == [422] * 5
            assert sign_in(client, "ada@example.gov.uk", "203.0.113.4", PASSWORD) == 429  # ten, from anywhere
            assert sign_in(ada, "ada@example.gov.uk", "203.0.113.4", PASSWORD) == 303


def test_an_ipv6_client_is_counted_by_its_64(tmp_path: Path) -> None:
    """A home or office line is given a /64 of IPv6 addresses: each of them counted on its own, one client could
    try 2**64 times as much as the limit."""
    with served(tmp_path, MASTERCLASS_TRUSTED_PROXIES="127.0.0.1", MASTERCLASS_SIGN_IN_ATTEMPTS_PER_ADDRESS="3") as (
            client, _log):
        one_line = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ab::3"]
        assert [sign_in(client, f"p{n}@example.gov.uk", one_line[n]) for n in range(3)] == [422] * 3
        assert sign_in(client, "p3@example.gov.uk", "2001:db8:1:2:ffff:ffff:ffff:ffff") == 429
        assert sign_in(client, "p4@example.gov.uk", "2001:db8:1:3::1") == 422  # the next /64 is someone else's
        assert sign_in(client, "p5@example.gov.uk", "203.0.113.5") == 422


def test_trusted_proxies_are_uvicorn_s_forwarded_ips_in_a_form_it_reads() -> None:
    settings = load_settings(None, {"MASTERCLASS_TRUSTED_PROXIES": "127.0.0.1, 10.20.0.0/24,::1, 0:0::0:1"})
    options = serve_options(settings)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "127.0.0.1,10.20.0.0/24,::1,::1"
    plain = serve_options(load_settings(None, {}))
    assert plain["proxy_headers"] is False


def test_a_proxy_that_is_not_an_address_is_refused_under_its_variable() -> None:
    with pytest.raises(SettingsError, match=r"^MASTERCLASS_TRUSTED_PROXIES: trusted_proxies must list"):
        load_settings(None, {"MASTERCLASS_TRUSTED_PROXIES": "*"})


@pytest.mark.parametrize(("host", "expected", "warned"), [
    ("127.0.0.1", "http://127.0.0.1:8123", False),
    ("::1", "http://[::1]:8123", False),
    ("learn.internal", "http://learn.internal:8123", False),
    ("0.0.0.0", "http://127.0.0.1:8123", True),
])
def test_base_url_left_at_its_default_is_where_the_service_is_served(host: str, expected: str, warned: bool) -> None:
    """Join links and xAPI account ids are made from base_url: left unset, it must not name a port the service
    is not on (`masterclass serve --port 8123` gave links to :8000)."""
    from engine.settings import served_at

    settings = load_settings(None, {})
    assert (served_at(settings, host, 8123) is not None) == warned
    assert settings.base_url == expected
    given = load_settings(None, {"MASTERCLASS_BASE_URL": "https://learn.example.gov.uk"})
    assert served_at(given, host, 8123) is None and given.base_url == "https://learn.example.gov.uk"

