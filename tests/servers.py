"""Real servers for tests: the engine under uvicorn and the Learning Locker statements service.

Each runs as its own process on a free loopback port and is stopped by the test that started it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
LEARNING_LOCKER = ROOT / "node_modules" / "xapi-statements" / "dist" / "server.js"
MASTERCLASS = Path(sys.executable).parent / "masterclass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1, headers={"X-Experience-API-Version": "1.0.3"}).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def require_learning_locker() -> None:
    if not LEARNING_LOCKER.exists():
        message = "Learning Locker's xapi-statements is not installed: run `make setup` (npm install)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def learning_locker() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The Learning Locker statements service in memory; yields its xAPI base URL and process."""
    require_learning_locker()
    port = free_port()
    env = {**os.environ, "AUTH_REPO": "test", "EVENTS_REPO": "test", "MODELS_REPO": "memory",
           "STORAGE_REPO": "local", "EXPRESS_PORT": str(port), "NODE_NO_WARNINGS": "1"}
    # It keeps attachments and access logs under its working folder: give it a throwaway one.
    workdir = tempfile.mkdtemp(prefix="learning-locker-")
    process = subprocess.Popen(["node", str(LEARNING_LOCKER)], env=env, cwd=workdir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/xAPI/about", process)
        yield f"http://127.0.0.1:{port}/xAPI", process
    finally:
        stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def start_engine(course: Path, db: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(MASTERCLASS), "serve", str(course), "--db", str(db), "--port", str(port)],
        env={**os.environ, "MASTERCLASS_ACCESS_LOG": "false", **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/health", process)
    return process


def all_statements(base: str) -> list[dict[str, object]]:
    """Every statement in an LRS, following `more` links."""
    statements: list[dict[str, object]] = []
    headers = {"X-Experience-API-Version": "1.0.3"}
    url = f"{base}/statements?limit=500"
    origin = base.split("/xAPI")[0] if "/xAPI" in base else base.split("/xapi")[0]
    while url:
        response = httpx.get(url, headers=headers, auth=("test", "test"), timeout=30)
        response.raise_for_status()
        data = response.json()
        statements.extend(data["statements"])
        url = origin + data["more"] if data.get("more") else ""
    return statements


def endpoints_env(name: str, base: str, batch: int = 10) -> dict[str, str]:
    return {"MASTERCLASS_LRS_ENDPOINTS": json.dumps([{"name": name, "url": base, "username": "test",
                                                      "password": "test"}]),
            "MASTERCLASS_LRS_BATCH_SIZE": str(batch)}
