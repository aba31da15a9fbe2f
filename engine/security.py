"""Passwords, CSRF tokens, the session secret and sign-in rate limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
import time
import weakref
from array import array
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so timing does not reveal which emails have one.
_DUMMY_HASH = _hasher.hash("not a real password")
T = TypeVar("T")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


PASSWORD_WORKERS = 2
"""Passwords hashed or checked at once in web requests, each in a worker thread; as many again for the LRS's
credentials, apart, so that a flood of one cannot hold up the other. argon2 takes tens of milliseconds and 64 MiB
a hash, and lets go of the GIL meanwhile: on the event loop, every sign-in stopped every learner's page for that
long. More at once would only share the machine's cores, and multiply the memory (four at most: 256 MiB)."""

_password_workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]] = (
    weakref.WeakKeyDictionary())


async def password_work(work: Callable[[], T], *, pool: str = "web") -> T:
    """``work`` (an argon2 hash or check) in a worker thread, at most PASSWORD_WORKERS at once for its ``pool``
    ("web" or "lrs"), while the event loop serves other requests. A limiter belongs to one loop; tests run
    several."""
    pools = _password_workers.setdefault(asyncio.get_running_loop(), {})
    limiter = pools.get(pool)
    if limiter is None:
        limiter = pools[pool] = anyio.CapacityLimiter(PASSWORD_WORKERS)
    return await anyio.to_thread.run_sync(work, limiter=limiter)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in a worker thread, for a request: the event loop serves other learners meanwhile."""
    return await password_work(lambda: verify_password(password_hash, password))


async def hash_password_off_loop(password: str) -> str:
    """``hash_password`` in a worker thread, as ``verify_password_off_loop``."""
    return await password_work(lambda: hash_password(password))


def load_secret(db_path: str | Path) -> bytes:
    """The session secret kept beside the database, made on first start, readable by the owner only."""
    path = Path(str(db_path) + ".secret") if str(db_path) != ":memory:" else None
    if path is None:
        return secrets.token_bytes(32)
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret.hex())
    return secret


@lru_cache(maxsize=65536)  # every page carries it, and a browser keeps its id: one HMAC per browser, not per page
def csrf_token(secret: bytes, browser_id: str) -> str:
    """The form token for a browser: bound to its random ``mc_browser`` cookie, so a forged form has none."""
    return hmac.digest(secret, b"csrf:" + browser_id.encode(), "sha256").hex()  # one call into C


def csrf_ok(secret: bytes, browser_id: str | None, token: str | None) -> bool:
    if not browser_id or not token:
        return False
    # As bytes: compare_digest takes a str only if it is ASCII, and raises on anything else a form may send.
    return hmac.compare_digest(csrf_token(secret, browser_id).encode(), token.encode())


DEVICE_COOKIE = "mc_device"
DEVICE_MAX_AGE = 60 * 60 * 24 * 365
"""A device cookie lasts a year from the browser's last sign-in (OWASP's "device cookie", decision 0031)."""


def _device_mac(secret: bytes, public_id: str, nonce: str, password_hash: str) -> str:
    return hmac.digest(secret, f"device:{public_id}.{nonce}.{password_hash}".encode(), "sha256").hex()


def device_cookie(secret: bytes, public_id: str, nonce: str, *, password_hash: str) -> str:
    """The device cookie a browser is given when it signs in to the account ``public_id``: the account, a random
    ``nonce`` that names the browser for its own failure count, and the service's HMAC of both and of the
    account's password hash, so it cannot be made or changed without the secret, says nothing for any other
    account, and says nothing once the password has changed (decision 0033: a browser that had the old password,
    perhaps someone else's, is trusted no more)."""
    return f"{public_id}.{nonce}.{_device_mac(secret, public_id, nonce, password_hash)}"


def device_nonce(secret: bytes, value: str | None, public_id: str, *, password_hash: str) -> str | None:
    """The nonce of ``value`` if it is a device cookie this service made for the account ``public_id`` since its
    password was last set (``password_hash``, the account's hash now)."""
    parts = (value or "").split(".")
    if len(parts) != 3 or parts[0] != public_id or not parts[1] or len(parts[1]) > 64:
        return None
    # As bytes, as in csrf_ok: a cookie may hold any character.
    if not hmac.compare_digest(_device_mac(secret, public_id, parts[1], password_hash).encode(), parts[2].encode()):
        return None
    return parts[1]


MAX_KEYS = 100_000
"""The most keys (accounts, addresses, browsers) one :class:`RateLimiter` remembers: when it is full, the key whose
last failure is oldest is forgotten first. A key with up to five failures takes about 240 bytes (24 MB for a full
limiter, measured), and each further failure it counts 8 bytes more, so a limiter's memory is bounded however many
made-up emails or addresses a script tries. Forgetting a key early forgives its failures: a script would have to
fail for 100,000 other keys within 15 minutes to do that on purpose, and those failures count against its own
addresses."""


def address_key(host: str) -> str:
    """The key a client's address is counted under in the limits per address.

    An IPv4 address is one key. An IPv6 address counts by its /64: that is what one home or office line is given,
    so one client can choose among 2**64 addresses, and counting them one by one would limit nothing. An IPv4
    address written as IPv6 (``::ffff:203.0.113.5``) is the IPv4 address it carries.
    """
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # not an address (a test client's name, a Unix socket): counted as it is, within reason
        return f"ip:{host[:100] or '?'}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))}"
    return f"ip:{ip}"


class RateLimiter:
    """Counts failures per key (an account, an address...): ``limit`` of them within ``window`` seconds lock the
    key for ``window`` seconds from the last one, after which it starts afresh.

    Memory is bounded: :meth:`blocked` never adds a key (asking about a made-up email costs nothing), a key is
    forgotten once its last failure is ``window`` old, and no more than ``max_keys`` are kept (:data:`MAX_KEYS`).
    Keys are kept in the order of their last failure, so the forgotten ones are always at the front.
    """

    def __init__(self, limit: int, window_seconds: float = 900, *, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._hits: dict[str, array[float]] = {}
        """Each key's failures in the window, oldest first, at most ``limit`` of them; the dict is in the order of
        each key's last failure (a failure moves its key to the end)."""
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def _locked(self, hits: array[float] | None, at: float) -> bool:
        return hits is not None and len(hits) >= self.limit and at < hits[-1] + self.window

    def blocked(self, *keys: str) -> bool:
        at = self._clock()
        with self._lock:
            return any(self._locked(self._hits.get(key), at) for key in keys)

    def fail(self, *keys: str) -> list[str]:
        """Count a failure against each key; returns the keys it locked (so that each lockout is told once)."""
        at = self._clock()
        locked = []
        with self._lock:
            self._forget(at)
            for key in keys:
                hits = self._hits.get(key)
                if self._locked(hits, at):
                    continue  # a failure that raced the one that locked it: the lock stands as it is
                self._hits.pop(key, None)  # put back at the end: the order is that of each key's last failure
                if hits is None or len(hits) >= self.limit:  # new, or a lock that has ended: afresh
                    hits = array("d")
                while hits and hits[0] <= at - self.window:
                    hits.pop(0)
                hits.append(at)
                self._hits[key] = hits
                if len(hits) == self.limit:
                    locked.append(key)
            while len(self._hits) > self.max_keys:
                del self._hits[next(iter(self._hits))]
        return locked

    def _forget(self, at: float) -> None:
        """Drop the keys whose last failure is a window old: neither counting nor locked any more."""
        while self._hits:
            key = next(iter(self._hits))
            if self._hits[key][-1] > at - self.window:
                return
            del self._hits[key]

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._hits.pop(key, None)


def account_key(email: str) -> str:
    """What the sign-in limits count an account under: a digest of the email as the store matches it (whatever its
    case), the same size however long the email a script sends, so that the limits' memory stays bounded."""
    return hashlib.blake2b(email.lower().encode(), digest_size=16).hexdigest()


class SignInLimits:
    """The limits on failed sign-ins, counted so that no one can use them to lock someone else out (decision 0031).

    A browser holding a valid device cookie for the account (a *trusted* browser) is counted on its own, by the
    cookie's nonce (``attempts``): no one else's failures stop it. Once it has failed that often it is trusted no
    more until it signs in or 15 minutes pass, and then is counted like any other. Any other browser is counted
    per address and account (``attempts``), per account (``per_account``) and per address (``per_address``).
    """

    def __init__(self, *, attempts: int, per_account: int, per_address: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.device = RateLimiter(attempts, clock=clock)
        self.pair = RateLimiter(attempts, clock=clock)
        self.current_password = RateLimiter(attempts, clock=clock)
        """Wrong current passwords when changing it, per sign-in session (decision 0033): the session is the
        owner's own standing, so no one else's failures, for the account or from the address, count here."""
        self.account = RateLimiter(per_account, clock=clock)
        self.address = RateLimiter(per_address, clock=clock)

    def trusted(self, device: str | None) -> bool:
        """Whether a browser with this device cookie nonce (None: no valid one for the account) is trusted now."""
        return device is not None and not self.device.blocked(device)

    def blocked(self, address: str, email: str) -> bool:
        """Whether a browser that is not trusted must wait."""
        return (self.pair.blocked(f"{address} {email}") or self.account.blocked(email)
                or self.address.blocked(address))

    def failed(self, address: str, email: str, device: str | None) -> list[tuple[str, int]]:
        """Count a failure, ``device`` the nonce of a trusted browser (else None); returns the kinds of limit it
        locked (``device``, ``pair``, ``account``, ``address``), each with its number of failures."""
        if device is not None:
            return [("device", self.device.limit)] if self.device.fail(device) else []
        locked = [("pair", self.pair.limit)] if self.pair.fail(f"{address} {email}") else []
        locked += [("account", self.account.limit)] if self.account.fail(email) else []
        return locked + ([("address", self.address.limit)] if self.address.fail(address) else [])

    def succeeded(self, address: str, email: str, device: str | None, *, trusted: bool) -> None:
        """The right password, in a browser with the device cookie nonce ``device`` (or None), ``trusted`` or not:
        the browser's own failures are forgiven, and a device cookie that was trusted no more is trusted again.
        A browser that was not trusted also clears its address's count for the account (on a shared address some
        may be someone else's, but at most ``attempts`` more a success, within ``per_account``). What counts per
        account and per address stays."""
        if device is not None:
            self.device.reset(device)
        if not trusted:
            self.pair.reset(f"{address} {email}")

    def forgive(self, address: str, email: str) -> None:
        """The person proved they own the account another way (a link to set a new password, decision 0033):
        its own lock, and this address's count for it, go. What counts per address stays: it is not theirs."""
        self.pair.reset(f"{address} {email}")
        self.account.reset(email)
