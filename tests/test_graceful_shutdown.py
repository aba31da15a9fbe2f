"""`masterclass serve` shuts down gracefully: a request in flight when SIGTERM comes is finished and saved."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from helpers import make_course
from servers import MASTERCLASS, free_port, stop, wait_for
from test_build import LESSON
from webhelpers import PASSWORD

LESSON_PATH = "/demo/01-intro/lesson"
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _eventually(condition: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {seconds} s: {what}")
        time.sleep(0.02)


def _unread_by_server(port: int, client_port: int) -> int | None:
    """Bytes the kernel holds for the server's end of our connection that the server has not read yet."""
    local, remote = f"0100007F:{port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return int(fields[4].split(":")[1], 16)
    return None


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_request_in_flight_at_sigterm_is_finished_and_saved(tmp_path: Path) -> None:
    course = make_course(tmp_path / "demo", lesson=LESSON)
    db = tmp_path / "m.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = tmp_path / "stdout.txt"
    with out.open("w") as log:
        process = subprocess.Popen(
            [str(MASTERCLASS), "serve", str(course), "--db", str(db), "--port", str(port)],
            env={**os.environ, "MASTERCLASS_ACCESS_LOG": "true"}, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"{base}/health", process)
        with httpx.Client(base_url=base) as client:
            token = TOKEN.search(client.get("/register").text)
            assert token
            registered = client.post("/register", data={
                "csrf_token": token.group(1), "name": "Ada Lovelace", "email": "ada@example.gov.uk",
                "department": "Cabinet Office", "password": PASSWORD})
            assert registered.status_code == 303
            token = TOKEN.search(client.get(LESSON_PATH).text)
            assert token
            cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        body = urlencode({"csrf_token": token.group(1), "choice": "1"}).encode()
        head = (f"POST {LESSON_PATH}/blocks/define-small-change HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Cookie: {cookies}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head + body[:10])
            # The server has read the headers and part of the body: the request is in flight, waiting for the rest.
            client_port = sock.getsockname()[1]
            _eventually(lambda: _unread_by_server(port, client_port) == 0, "the server reading the request")
            process.send_signal(signal.SIGTERM)
            _eventually(lambda: "Shutting down" in out.read_text(), "the server starting to shut down")
            _eventually(lambda: _refused(port), "new connections refused")
            # uvicorn now waits for requests in flight, up to `timeout_graceful_shutdown`: take a while to finish.
            _eventually(lambda: "Waiting for connections to close" in out.read_text(), "the server waiting for us")
            time.sleep(1)
            sock.sendall(body[10:])
            sock.settimeout(30)
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        assert response.startswith(b"HTTP/1.1 303 "), response[:200]
        process.wait(60)
    finally:
        stop(process)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT block_iri, success FROM attempts").fetchall()
    assert len(rows) == 1 and rows[0][0].endswith("/define-small-change") and rows[0][1] == 1, rows
    log_text = out.read_text()
    assert f'"POST {LESSON_PATH}/blocks/define-small-change HTTP/1.1" 303 -' in log_text
    assert "Traceback" not in log_text
