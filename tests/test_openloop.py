"""The open-loop load generator's schedule (bench/openloop.py), and a short run against a real socket server."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import openloop


def test_full_rate_schedule_is_evenly_spaced() -> None:
    counted, due = openloop._schedule(100.0, 2.0, ramp=False)
    assert counted == 200
    assert [due(n) for n in (0, 1, 200)] == [0.0, 0.01, 2.0]


@pytest.mark.parametrize(("rate", "warmup"), [(100.0, 20.0), (1010.0, 20.0), (7.0, 3.0)])
def test_ramp_rises_to_the_rate_and_then_holds_it(rate: float, warmup: float) -> None:
    counted, due = openloop._schedule(rate, warmup, ramp=True)
    assert counted == pytest.approx(rate * warmup / 2, abs=1)  # half as many as at full rate
    times = [due(n) for n in range(counted + 50)]
    assert times == sorted(times)
    assert times[0] == 0.0
    assert due(counted) == pytest.approx(warmup, abs=1 / rate)  # the window opens when the rise ends
    # Slow at first, then the full rate: the gap between requests shrinks to 1/rate.
    assert due(1) - due(0) > 2 / rate
    assert due(counted + 1) - due(counted) == pytest.approx(1 / rate)
    early = sum(1 for t in times if t < warmup / 2)
    assert early == pytest.approx(counted / 4, abs=max(1, counted / 100))  # a linear rise: a quarter in its first half


def test_a_ramped_run_counts_only_the_window() -> None:
    """Against a real HTTP server on loopback: every request answered, the rise's requests kept apart."""
    ready = threading.Event()
    state: dict[str, object] = {}

    async def serve() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        state["port"] = server.sockets[0].getsockname()[1]
        state["loop"] = asyncio.get_running_loop()
        state["stop"] = stop = asyncio.Event()
        ready.set()
        async with server:
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        stream = openloop.Stream("hello", [openloop.prepare("GET", "/")], 200.0, 4, 200)
        began = time.perf_counter()
        opened: list[float] = []
        (result,) = openloop.run("127.0.0.1", int(state["port"]), [stream], 1.0, 1.0, ramp=True,  # type: ignore[call-overload]
                                 at_window=lambda: opened.append(time.perf_counter() - began))
    finally:
        loop = state["loop"]
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        thread.join(10)
    assert result.statuses == {200: 200}
    assert len(result.warmup_latencies) == 100
    assert not result.errors and not result.stopped
    assert all(due >= 1.0 for due in result.dues)
    # Told when the window opened: after the second's rise (and the 0.2 s every run starts after), once.
    assert len(opened) == 1
    assert 1.1 < opened[0] < 1.6
