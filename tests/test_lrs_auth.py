"""The LRS's limit on failed credentials, in a real `masterclass serve` behind a trusted proxy: it bounds the
argon2 work one address can ask for, and never locks a credential out (its secret is 256 random bits: counting
guesses at it protects nothing, and would let anyone who knows a key stop its owner)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from test_proxies import served

from engine.storage.db import Store
from engine.xapi.lrs import create_credential


def headers(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "X-Experience-API-Version": "1.0.3"}


def test_failed_credentials_lock_an_address_never_a_credential(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")  # the database `served` starts the service on
    key, secret = create_credential(store, "reporting", "read")
    store.close()
    with served(tmp_path, MASTERCLASS_TRUSTED_PROXIES="127.0.0.1") as (client, log):
        guesses = [client.get("/xapi/statements", headers=headers("203.0.113.7"), auth=(key, f"guess {n}"))
                   for n in range(21)]
        assert [r.status_code for r in guesses] == [401] * 20 + [429]
        # Its owner, elsewhere, is not stopped: the first request of the process, so argon2 is asked for.
        assert client.get("/xapi/statements", headers=headers("203.0.113.8"), auth=(key, secret)).status_code == 200
        # The address that failed waits, whatever the key it sends.
        assert client.get("/xapi/statements", headers=headers("203.0.113.7"),
                          auth=("another-key", "x")).status_code == 429
    time.sleep(0.3)
    lines = [line for line in log.read_text().splitlines() if "locked" in line]
    assert len(lines) == 1 and re.search(r"LRS credentials from 203\.0\.113\.7 locked for 15 minutes", lines[0])
    assert key not in lines[0]


def test_the_limit_is_the_setting(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    key, _secret = create_credential(store, "reporting", "read")
    store.close()
    with served(tmp_path, MASTERCLASS_TRUSTED_PROXIES="127.0.0.1",
                MASTERCLASS_LRS_SIGN_IN_ATTEMPTS_PER_ADDRESS="3") as (client, log):
        guesses = [client.get("/xapi/statements", headers=headers("2001:db8:1:2::7"), auth=(key, f"guess {n}"))
                   for n in range(4)]
        assert [r.status_code for r in guesses] == [401] * 3 + [429]
        # The rest of the /64 waits too; another /64 does not.
        assert client.get("/xapi/statements", headers=headers("2001:db8:1:2::8"),
                          auth=(key, "guess")).status_code == 429
        assert client.get("/xapi/statements", headers=headers("2001:db8:1:3::7"),
                          auth=(key, "guess")).status_code == 401
    time.sleep(0.3)
    lines = [line for line in log.read_text().splitlines() if "locked" in line]
    assert len(lines) == 1 and "locked for 15 minutes after 3 failures" in lines[0]
