"""The access log: Common Log Format lines from uvicorn's records, written in batches, nothing lost at exit."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine import access_log
from engine.access_log import AccessLog
from servers import MASTERCLASS, free_port, stop, wait_for

ROOT = Path(__file__).resolve().parents[1]
CLF = '127.0.0.1 - - [28/Nov/2026:12:40:54 +0000] "GET /health HTTP/1.1" 200 -\n'
WHEN = 1795869654.25  # 2026-11-28 12:40:54.25 UTC


def record(*args: object, msg: str = '%s - "%s %s HTTP/%s" %d', created: float = WHEN) -> logging.LogRecord:
    """A record as uvicorn's HTTP protocols make it for a response."""
    made = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)
    made.created = created
    return made


def response(client: str = "127.0.0.1:50123", path: str = "/health", status: int = 200) -> logging.LogRecord:
    return record(client, "GET", path, "1.1", status)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    yield io.StringIO()


def test_a_response_is_one_common_log_format_line(stream: io.StringIO) -> None:
    handler = AccessLog(stream)
    handler.handle(response())
    assert stream.getvalue() == CLF


@pytest.mark.parametrize(("client", "host"), [("10.1.2.3:8080", "10.1.2.3"), ("::1:8080", "::1"), ("", "-")])
def test_the_client_is_its_host_without_the_port(stream: io.StringIO, client: str, host: str) -> None:
    AccessLog(stream).handle(response(client=client))
    assert stream.getvalue().split(" ", 1)[0] == host


def test_a_quote_in_the_request_line_cannot_end_it_early(stream: io.StringIO) -> None:
    AccessLog(stream).handle(response(path='/x?q="a" 200 -'))
    line = stream.getvalue()
    assert line.endswith('"GET /x?q=\\x22a\\x22 200 - HTTP/1.1" 200 -\n')
    assert line.count('"') == 2


def test_the_time_moves_on_with_the_records(stream: io.StringIO) -> None:
    handler = AccessLog(stream)
    handler.handle(response())
    handler.handle(record("127.0.0.1:1", "POST", "/x", "1.1", 303, created=WHEN + 3600 * 24 * 40))
    first, second = stream.getvalue().splitlines()
    assert "[28/Nov/2026:12:40:54 +0000]" in first
    assert second == '127.0.0.1 - - [07/Jan/2027:12:40:54 +0000] "POST /x HTTP/1.1" 303 -'


def test_another_message_on_the_logger_is_kept_whole(stream: io.StringIO) -> None:
    AccessLog(stream).handle(record("127.0.0.1:1", msg='%s - "WebSocket /ws" [accepted]'))
    assert stream.getvalue() == '- - - [28/Nov/2026:12:40:54 +0000] 127.0.0.1:1 - "WebSocket /ws" [accepted]\n'


def test_on_the_event_loop_lines_wait_a_moment_and_are_written_together(
        stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_log, "FLUSH_AFTER", 0.05)
    writes: list[str] = []
    real_write = stream.write
    monkeypatch.setattr(stream, "write", lambda text: writes.append(text) or real_write(text))
    handler = AccessLog(stream)

    async def serve() -> str:
        for _ in range(3):
            handler.handle(response())
        before = stream.getvalue()
        # Timers run in the order they fall due: this sleep ends after the handler's flush.
        await asyncio.sleep(0.1)
        return before

    assert asyncio.run(serve()) == ""
    assert stream.getvalue() == CLF * 3
    assert writes == [CLF * 3]


def test_a_full_batch_is_written_at_once(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_log, "FLUSH_LINES", 4)
    handler = AccessLog(stream)

    async def serve() -> list[str]:
        seen = []
        for _ in range(5):
            handler.handle(response())
            seen.append(stream.getvalue())
        return seen

    seen = asyncio.run(serve())
    assert seen == ["", "", "", CLF * 4, CLF * 4]
    handler.close()
    assert stream.getvalue() == CLF * 5


def test_closing_writes_what_is_waiting(stream: io.StringIO) -> None:
    handler = AccessLog(stream)

    async def serve() -> None:
        handler.handle(response())
        handler.handle(response())

    asyncio.run(serve())
    assert stream.getvalue() == ""
    handler.close()
    assert stream.getvalue() == CLF * 2


def test_at_shutdown_the_app_writes_what_is_waiting(stream: io.StringIO) -> None:
    """uvicorn ends the process by the signal it caught, so logging's flush at exit never runs: the lifespan calls
    ``flush_access_log``."""
    handler = AccessLog(stream)
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    try:
        async def serve() -> str:
            logger.handle(response())
            waiting = stream.getvalue()
            access_log.flush_access_log()
            return waiting

        assert asyncio.run(serve()) == ""
        assert stream.getvalue() == CLF
    finally:
        logger.removeHandler(handler)


def test_off_the_event_loop_a_line_is_written_at_once(stream: io.StringIO) -> None:
    AccessLog(stream).handle(response())
    assert stream.getvalue() == CLF


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("127.0.0.1 - - [")]


def test_the_served_access_log(tmp_path: Path) -> None:
    """`masterclass serve` logs each request soon after it is answered, and the rest when it stops."""
    port = free_port()
    out = tmp_path / "stdout.txt"
    with out.open("w") as log:
        process = subprocess.Popen(
            [str(MASTERCLASS), "serve", str(ROOT / "content"), "--db", str(tmp_path / "m.db"), "--port", str(port)],
            env={**os.environ, "MASTERCLASS_ACCESS_LOG": "true"}, cwd=tmp_path,
            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/no/such/page?x=1").status_code == 404
        deadline = time.monotonic() + 30
        while not any("/no/such/page" in line for line in _lines(out)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(line.endswith('"GET /no/such/page?x=1 HTTP/1.1" 404 -') for line in _lines(out))
        for n in range(5):
            assert httpx.get(f"{base}/health?n={n}").status_code == 200
    finally:
        stop(process)
    lines = _lines(out)
    for n in range(5):
        assert sum(line.endswith(f'"GET /health?n={n} HTTP/1.1" 200 -') for line in lines) == 1
    assert "Traceback" not in out.read_text()


def test_a_link_to_set_a_new_password_is_not_logged(stream: io.StringIO) -> None:
    """The link is a credential until it is used (decision 0033): whoever reads the log must not be able to."""
    AccessLog(stream).handle(response(path="/password/new/dQU_tJrWY86jH7kurV2gJUVToK2Kd6jngEjck2KBj4s"))
    AccessLog(stream).handle(response(path="/password/forgotten"))
    lines = stream.getvalue().splitlines()
    assert '"GET /password/new/... HTTP/1.1" 200 -' in lines[0] and "dQU_" not in stream.getvalue()
    assert '"GET /password/forgotten HTTP/1.1"' in lines[1]


def test_logs_show_no_token_of_a_link_to_set_a_password() -> None:
    assert access_log.redacted("/password/new/abc_DEF-123") == "/password/new/..."
    assert access_log.redacted("/password/change") == "/password/change"
    assert access_log.redacted("/demo/password/new/x") == "/demo/password/new/x"
