"""Credentials and HTTP Basic authentication.

Secrets are random (32 bytes) and stored as argon2 hashes. Verifying argon2 on every request would cost tens of
milliseconds, so a verified pair is remembered for the life of the process, keyed by SHA-256 of key, secret and
the stored hash: removing or replacing a credential takes effect at once, because the row is still read per
request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable

from ...security import RateLimiter, address_key, hash_password, verify_password
from ...storage import lrs_credentials
from ...storage.clock import now
from ...storage.db import Store
from .protocol import LRSError

log = logging.getLogger("masterclass.lrs")

SCOPES = ("read", "write", "all")

# Verified (key, secret, stored hash) triples, as SHA-256 digests, for the life of the process.
_VERIFIED: set[str] = set()
_VERIFIED_LOCK = threading.Lock()


def create_credential(store: Store, name: str, scope: str) -> tuple[str, str]:
    """Make an LRS credential; returns (key, secret). Only the argon2 hash of the secret is kept."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if name == "masterclass-engine":
        # The engine signs its own statements with this name: a credential must not pass for it.
        raise ValueError('"masterclass-engine" is the engine\'s own authority; choose another name')
    key = secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        lrs_credentials.add_credential(conn, key=key, name=name, secret_hash=hash_password(secret), scope=scope,
                               created_at=now())
    return key, secret


def authenticate(header: str | None, client: str, lookup: Callable[[str], lrs_credentials.Credential | None],
                 failures: RateLimiter, *, verify: bool = True) -> lrs_credentials.Credential | None:
    """The credential in an HTTP Basic header, ``lookup`` reading its row by key. Without ``verify``, None when
    argon2 would be needed."""
    refused = LRSError(401, "Give LRS credentials with HTTP Basic authentication.", rule="credentials",
                       headers={"WWW-Authenticate": 'Basic realm="xAPI"'})
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        raise refused
    try:
        key, colon, secret = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, binascii.Error):
        raise refused from None
    if not colon or not key:
        raise refused
    # The row is read every time, so removing or replacing a credential takes effect at once.
    found = lookup(key)
    proof = hashlib.sha256(f"{key}\0{secret}\0{found.secret_hash if found else ''}".encode()).hexdigest()
    if found is not None:
        with _VERIFIED_LOCK:
            if proof in _VERIFIED:
                return found
    if not verify:
        return None
    # Failures count per address only. A secret is 256 random bits: counting guesses per key protects nothing,
    # and would let anyone who knows a key (it is not secret) stop its owner's requests. What the limit bounds is
    # the argon2 work (tens of milliseconds a failure) that one address can make the service do.
    address = address_key(client)
    if failures.blocked(address):
        raise LRSError(429, "Too many failed sign-ins: wait 15 minutes.", rule="rate-limit")
    # argon2 work either way, so timing does not reveal which keys exist.
    if not verify_password(found.secret_hash if found else None, secret) or found is None:
        if failures.fail(address):  # once a lockout: enough for an operator to see an attack
            log.warning("LRS credentials from %s locked for 15 minutes after %d failures", address.removeprefix("ip:"),
                        failures.limit)
        raise refused
    with _VERIFIED_LOCK:
        if len(_VERIFIED) > 10_000:
            _VERIFIED.clear()
        _VERIFIED.add(proof)
    return found
