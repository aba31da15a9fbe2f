"""Passwords, CSRF tokens, the session secret and sign-in rate limits."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so timing does not reveal which emails have one.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


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
    return hmac.compare_digest(csrf_token(secret, browser_id), token)


class RateLimiter:
    """Counts failures per key in a sliding window (per account and per address)."""

    def __init__(self, limit: int, window_seconds: float = 900) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, at: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= at - self.window:
            hits.popleft()
        return hits

    def blocked(self, *keys: str) -> bool:
        at = time.monotonic()
        with self._lock:
            return any(len(self._recent(key, at)) >= self.limit for key in keys)

    def fail(self, *keys: str) -> None:
        at = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, at).append(at)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
