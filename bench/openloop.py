"""An open-loop HTTP load generator: requests sent on a fixed schedule, whatever the answers.

wrk (closed loop) sends a connection's next request when the last is answered, so it measures a server at
saturation, where the latency is the queue's length over the throughput (Little's law) and says nothing about
how fast a request is served at a given rate. Here each request has a due time (``rate`` per second), is sent
on the first free connection of the pool, and its latency counts from when it was due: a server that falls
behind shows it in the percentiles (no coordinated omission). When a connection falls more than two seconds
behind its schedule, it sends no more and the result says so: the server cannot keep up.

A warm-up before the measured window can ramp the rate up from nothing (``ramp=True``), as a service's traffic
rises in the morning, rather than start at full rate: with the full rate from the first second, every client the
load cycles through arrives in the first second or two, a burst no running service sees, and a server with
little headroom is still working off that backlog when the window opens.

The client speaks just enough HTTP/1.1 over keep-alive connections for the benchmarks' requests: prepared
request bytes out, status line, headers and a Content-Length (or chunked) body in.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from percentiles import percentile


@dataclass
class Stream:
    """One kind of request at one rate: prepared requests cycled through, over a pool of connections."""

    label: str
    requests: list[bytes]
    rate: float
    connections: int
    expected: int


@dataclass
class OpenResult:
    label: str
    offered: float
    connections: int
    latencies: list[float] = field(default_factory=list)
    dues: list[float] = field(default_factory=list)
    """When each answered request was due, in seconds from the start (with ``latencies``: a timeline)."""
    warmup_latencies: list[float] = field(default_factory=list)
    """Latencies of the requests due in the warm-up, which the percentiles leave out."""
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    late: int = 0
    """Requests sent more than 5 ms after they were due: their connection was still waiting for an answer."""
    stopped: int = 0
    """Requests not sent because their connection fell too far behind (``BEHIND``)."""
    elapsed: float = 0.0
    server_cpu: float = 0.0

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float, *, warmup: bool = False) -> float:
        """Milliseconds, by nearest rank (bench/percentiles.py); of the warm-up's requests with ``warmup``."""
        latencies = self.warmup_latencies if warmup else self.latencies
        if not latencies:
            return float("inf")
        return percentile(latencies, p) * 1000

    @property
    def kept_up(self) -> bool:
        return not self.stopped and not self.errors and self.rps >= 0.95 * self.offered

    def summary(self) -> str:
        text = (f"{self.rps:,.0f} of {self.offered:,.0f} req/s offered, p50 {self.percentile(50):,.1f} ms, "
                f"p99 {self.percentile(99):,.1f} ms, max {self.percentile(100):,.0f} ms")
        if self.stopped:
            text += f"; fell behind: {self.stopped:,} not sent"
        if self.errors:
            text += f"; errors {dict(self.errors)}"
        return text


def prepare(method: str, path: str, cookie: str = "", body: str = "") -> bytes:
    """The bytes of one request."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if cookie:
        head.append(f"Cookie: {cookie}")
    data = body.encode()
    if data or method == "POST":
        head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(data)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        reader, writer = self.reader, self.writer
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            await reader.readexactly(int(lower[at + 17:end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"\r\nconnection: close" in lower:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _schedule(rate: float, warmup: float, ramp: bool) -> tuple[int, Callable[[int], float]]:
    """How many requests fall in the warm-up, and when request ``n`` is due (seconds from the start).

    Ramped, the rate rises linearly from 0 to ``rate`` over the warm-up, so ``rate * warmup / 2`` requests are
    due in it, request ``n`` at ``sqrt(2 * warmup * n / rate)``; then the full rate."""
    if not ramp or warmup <= 0:
        return int(warmup * rate), lambda n: n / rate
    ramped = rate * warmup / 2

    def due(n: int) -> float:
        return math.sqrt(2 * warmup * n / rate) if n < ramped else warmup + (n - ramped) / rate

    return math.ceil(ramped), due


async def _stream(host: str, port: int, stream: Stream, seconds: float, began: float, warmup: float,
                  ramp: bool = False) -> OpenResult:
    """Connection ``i`` of ``C`` sends requests ``i``, ``i + C``, ``i + 2C``... each at its due time (as wrk2
    does): together they send at the stream's rate. A request sent late, because the connection was still
    waiting for the last answer, still counts its latency from when it was due."""
    result = OpenResult(stream.label, stream.rate, stream.connections)
    counted, due_at = _schedule(stream.rate, warmup, ramp)  # the requests due in the warm-up are sent, not counted
    total = max(1, counted + int(seconds * stream.rate))
    clock = time.perf_counter  # not the loop's clock: uvloop's counts whole milliseconds
    requests = stream.requests
    count = stream.connections

    async def client(first: int) -> None:
        conn = Connection(host, port)
        try:
            for n in range(first, total, count):
                due = began + due_at(n)
                wait = due - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif wait < -BEHIND and n >= counted:  # in the warm-up a connection catches up instead
                    result.stopped += len(range(n, total, count))
                    return
                if wait < -0.005 and n >= counted:
                    result.late += 1
                try:
                    status = await conn.request(requests[n % len(requests)])
                except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                    conn.close()
                    result.errors[type(exc).__name__] += 1
                else:
                    if n < counted:
                        result.warmup_latencies.append(clock() - due)
                        continue
                    result.latencies.append(clock() - due)
                    result.dues.append(due - began)
                    result.statuses[status] += 1
        finally:
            conn.close()

    try:
        await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(min(count, total)))), warmup + seconds + 60)
    except TimeoutError:
        result.errors["unanswered 60 s after the end"] += 1
    result.elapsed = clock() - began - warmup
    return result


BEHIND = 2.0
"""Seconds a connection may fall behind its schedule in the measured window before it stops sending: the server
cannot keep up. In the warm-up it sends its late requests one after another until it is back on schedule."""


async def _run(host: str, port: int, streams: list[Stream], seconds: float, warmup: float, ramp: bool,
               at_window: Callable[[], None] | None = None) -> list[OpenResult]:
    began = time.perf_counter() + 0.2  # every stream starts on the same schedule
    if at_window is not None:
        asyncio.get_running_loop().call_later(began + warmup - time.perf_counter(), at_window)
    return list(await asyncio.gather(*(_stream(host, port, s, seconds, began, warmup, ramp) for s in streams)))


def run(host: str, port: int, streams: list[Stream], seconds: float, warmup: float = 0.0, *,
        ramp: bool = False, at_window: Callable[[], None] | None = None) -> list[OpenResult]:
    """Send every stream at its rate for ``warmup`` (rising to it from nothing with ``ramp``) and then
    ``seconds``, together; what was due in the warm-up is not counted (as wrk2 calibrates first). The results in
    the streams' order. ``at_window`` is called (on the generator's loop) when the measured window opens: the
    warm-up's work is not the window's, and a measure of the server's CPU over both would mix them."""
    try:
        import uvloop  # the generator's own loop: the cheaper it is, the more of its CPU is left to keep time

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_run(host, port, streams, seconds, warmup, ramp, at_window))
