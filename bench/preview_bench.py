"""Authoring preview: save-to-reload latency for one lesson in a large course (issue 9).

Generates an N-lesson course (default 2,000), starts `masterclass preview` on it,
listens to its server-sent events like an open browser page, then edits one
lesson at a time and measures:

- save -> reload event: what an open page waits for before it reloads;
- save -> reloaded page: the event plus fetching the lesson page again, as the browser does;
- the floor: save -> file-change notification in a bare watchfiles watcher with the
  same settings, in the same run, on the same folder.

Target: save-to-reload under 300 ms. Prints a markdown table.

    .venv/bin/python bench/preview_bench.py [--lessons 2000] [--edits 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import watchfiles

sys.path.insert(0, str(Path(__file__).parent))
from build_bench import edit_lesson, generate

ROOT = Path(__file__).resolve().parents[1]
MASTERCLASS = Path(sys.executable).parent / "masterclass"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bare_watcher(folder: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def run() -> None:
        queue.put("ready")
        async for _changes in watchfiles.awatch(folder, debounce=400, step=10):
            queue.put(time.perf_counter())

    asyncio.run(run())


def floor(root: Path, lessons: list, edits: int) -> list[float]:  # type: ignore[type-arg]
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(target=_bare_watcher, args=(str(root), queue), daemon=True)
    process.start()
    queue.get(timeout=30)
    time.sleep(0.5)
    results = []
    for n in range(edits):
        started = time.perf_counter()
        edit_lesson(root, lessons[(n * 37) % len(lessons)], 10_000 + n)
        results.append((queue.get(timeout=10) - started) * 1000)
        time.sleep(0.2)
    process.terminate()
    process.join()
    return results


def preview(root: Path, lessons: list, edits: int) -> tuple[list[float], list[float], float]:  # type: ignore[type-arg]
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([str(MASTERCLASS), "preview", str(root), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(600):
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            start_up = time.perf_counter() - started
            to_event, to_page = [], []
            with client.stream("GET", f"{base}/preview/events") as events:
                lines = events.iter_lines()
                for line in lines:
                    if line == "":
                        break  # the hello event
                for n in range(edits):
                    plan = lessons[(n * 53) % len(lessons)]
                    url = f"{base}/{root.name}/{plan.module}/{plan.slug}"
                    client.get(url)
                    saved = time.perf_counter()
                    edit_lesson(root, plan, n)
                    for line in lines:
                        if line.startswith("event: reload"):
                            break
                    to_event.append((time.perf_counter() - saved) * 1000)
                    page = client.get(url)
                    assert f"number {n}," in page.text, "the reloaded page lacks the edit"
                    to_page.append((time.perf_counter() - saved) * 1000)
                    time.sleep(0.2)
        return to_event, to_page, start_up
    finally:
        process.terminate()
        process.wait(10)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="preview-bench-"))
    try:
        root = folder / "bench-course"
        generated = generate(root, args.lessons)
        bare = floor(root, generated.lessons, args.edits)
        to_event, to_page, start_up = preview(root, generated.lessons, args.edits)
        print(f"Preview benchmark: {args.lessons} lessons, {args.edits} edits, {os.cpu_count()} cores, "
              f"Python {sys.version.split()[0]}; preview start-up (full build) {start_up:.2f}s\n")
        print("| measure | median ms | p95 ms | max ms | target |")
        print("| --- | --- | --- | --- | --- |")
        print(f"| floor: save -> watchfiles notification | {statistics.median(bare):.0f} | {p(bare, .95):.0f} "
              f"| {max(bare):.0f} | |")
        verdict = "pass" if p(to_event, .95) < 300 else "FAIL"
        print(f"| save -> reload event | {statistics.median(to_event):.0f} | {p(to_event, .95):.0f} "
              f"| {max(to_event):.0f} | < 300 ({verdict}) |")
        verdict = "pass" if p(to_page, .95) < 300 else "FAIL"
        print(f"| save -> reloaded page fetched | {statistics.median(to_page):.0f} | {p(to_page, .95):.0f} "
              f"| {max(to_page):.0f} | < 300 ({verdict}) |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
