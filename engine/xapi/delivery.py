"""Delivery to external LRSs: batches from the outbox, retried with backoff, never lost, never doubled.

Each statement keeps the id it was stored with, so sending it again after a
crash is harmless: an LRS that already has that id accepts it as the same
statement, or answers 409, which is taken to mean "delivered".
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ..storage import outbox
from ..storage.clock import now
from ..storage.db import Store

log = logging.getLogger("masterclass.delivery")
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    username: str = ""
    password: str = ""
    version: str = "1.0.3"

    @classmethod
    def from_settings(cls, data: dict[str, str]) -> Endpoint:
        return cls(**data)


def backoff(attempts: int, *, base: float, ceiling: float) -> float:
    """Exponential backoff with full jitter, so many engines do not retry in step."""
    return float(random.uniform(0.5, 1.0) * min(ceiling, base * 2 ** min(attempts, 30)))  # noqa: S311 - not a secret


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def outgoing(body: str) -> dict[str, Any]:
    """The statement as another LRS should receive it: it sets its own stored time and authority."""
    statement: dict[str, Any] = json.loads(body)
    statement.pop("stored", None)
    statement.pop("authority", None)
    return statement


class Deliverer:
    """Sends the outbox to each endpoint; run :meth:`run` as a background task of the server."""

    def __init__(self, store: Store, endpoints: list[Endpoint], *, batch: int = 100, base_delay: float = 1.0,
                 max_delay: float = 300.0, timeout: float = 10.0) -> None:
        self.store = store
        self.endpoints = endpoints
        self.batch = batch
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while not stop.is_set():
                busy = False
                for endpoint in self.endpoints:
                    try:
                        busy = await self.deliver_once(client, endpoint) > 0 or busy
                    except Exception:  # a bug in one round must not stop delivery for good
                        log.exception("delivery round to %s failed", endpoint.name)
                if busy:
                    continue
                self.wake.clear()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
                await asyncio.wait(waits, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()

    async def deliver_once(self, client: httpx.AsyncClient, endpoint: Endpoint) -> int:
        """Send one batch of due statements; returns how many were settled (delivered or dead)."""
        rows = outbox.due(self.store.conn, endpoint.name, now(), self.batch)
        if not rows:
            return 0
        seqs = [seq for seq, _, _ in rows]
        bodies = [outgoing(body) for _, body, _ in rows]
        status, error = await self._post(client, endpoint, bodies)
        if status == 200 or (status == 409 and len(rows) == 1):
            with self.store.transaction() as conn:
                outbox.delivered(conn, endpoint.name, seqs, now())
            return len(rows)
        if status is not None and status not in RETRYABLE and 400 <= status < 500:
            if len(rows) > 1:
                # One bad statement must not hold up the rest: send them one by one to find it.
                settled = 0
                for seq, body, attempts in rows:
                    settled += await self._single(client, endpoint, seq, outgoing(body), attempts)
                return settled
            with self.store.transaction() as conn:
                outbox.dead(conn, endpoint.name, seqs[0], status, error, now())
            return 1
        delay = backoff(max(a for _, _, a in rows), base=self.base_delay, ceiling=self.max_delay)
        with self.store.transaction() as conn:
            outbox.retry_later(conn, endpoint.name, seqs, _later(delay), error, now())
        log.warning("delivery to %s failed (%s); retrying in %.1fs", endpoint.name, error, delay)
        return 0

    async def _single(self, client: httpx.AsyncClient, endpoint: Endpoint, seq: int, body: dict[str, Any],
                      attempts: int) -> int:
        status, error = await self._post(client, endpoint, [body])
        with self.store.transaction() as conn:
            if status in (200, 409):
                outbox.delivered(conn, endpoint.name, [seq], now())
                return 1
            if status is not None and status not in RETRYABLE and 400 <= status < 500:
                outbox.dead(conn, endpoint.name, seq, status, error, now())
                return 1
            delay = backoff(attempts, base=self.base_delay, ceiling=self.max_delay)
            outbox.retry_later(conn, endpoint.name, [seq], _later(delay), error, now())
            return 0

    async def _post(self, client: httpx.AsyncClient, endpoint: Endpoint, statements: list[dict[str, Any]]
                    ) -> tuple[int | None, str]:
        try:
            response = await client.post(
                endpoint.url + "/statements",
                json=statements,
                auth=(httpx.BasicAuth(endpoint.username, endpoint.password) if endpoint.username
                      else httpx.USE_CLIENT_DEFAULT),
                headers={"X-Experience-API-Version": endpoint.version},
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if response.status_code == 200:
            return 200, ""
        return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"
