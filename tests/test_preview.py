"""The authoring preview: a real server that reloads pages on save and shows errors in place."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from course import build
from engine.cli import cli
from servers import MASTERCLASS, free_port, stop, wait_for

LESSON = "modules/01-getting-started/010-welcome.md"


def scaffold(tmp_path: Path) -> Path:
    root = tmp_path / "my-course"
    result = CliRunner().invoke(cli, ["new", str(root), "--title", "My course"])
    assert result.exit_code == 0, result.output
    return root


def test_new_scaffolds_a_course_that_passes_check(tmp_path: Path) -> None:
    root = scaffold(tmp_path)
    result = build(root)
    assert result.ok and not result.diagnostics
    assert result.course is not None
    assert {b.type for b in result.course.lessons()[0].blocks} == {
        "question", "poll", "reflection", "video", "checklist", "callout"}
    assert CliRunner().invoke(cli, ["check", str(root)]).exit_code == 0
    again = CliRunner().invoke(cli, ["new", str(root)])
    assert again.exit_code == 1 and "not empty" in again.output


def next_event(lines: object, deadline: float) -> str:
    event = ""
    for line in lines:  # type: ignore[attr-defined]
        if line.startswith("event: "):
            event = line[7:]
        elif line == "" and event:
            return event
        if time.monotonic() > deadline:
            break
    raise AssertionError("no event before the deadline")


@contextmanager
def previewing(root: Path) -> Iterator[tuple[str, str]]:
    """``masterclass preview`` of the scaffolded course on a free port: its address and its first lesson's page,
    once it answers; stopped afterwards."""
    port = free_port()
    process = subprocess.Popen([str(MASTERCLASS), "preview", str(root), "--port", str(port)],
                               env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", process)
        yield base, f"{base}/my-course/01-getting-started/welcome"
    finally:
        stop(process)


def test_a_save_reloads_and_errors_show_in_place_then_recover(tmp_path: Path) -> None:
    root = scaffold(tmp_path)
    with previewing(root) as (base, page):
        with httpx.Client(timeout=30) as client:
            assert "Welcome" in client.get(page).text  # the preview learner is signed in already
            lesson = root / LESSON
            with client.stream("GET", f"{base}/preview/events") as events:
                lines = events.iter_lines()
                assert next_event(lines, time.monotonic() + 10) == "hello"
                lesson.write_text(lesson.read_text().replace("## A question", "## A changed heading"))
                assert next_event(lines, time.monotonic() + 10) == "reload"
                assert "A changed heading" in client.get(page).text

                lesson.write_text(lesson.read_text().replace("::: question id=", "::: questoin id="))
                assert next_event(lines, time.monotonic() + 10) == "reload"
                broken = client.get(page).text
                assert "This page has authoring errors" in broken
                assert "modules/01-getting-started/010-welcome.md:" in broken
                assert re.search(r"::: questoin id=first-question\s+← here", broken)

                lesson.write_text(lesson.read_text().replace("::: questoin id=", "::: question id="))
                assert next_event(lines, time.monotonic() + 10) == "reload"
                assert "This page has authoring errors" not in client.get(page).text


def test_preview_tools(tmp_path: Path) -> None:
    root = scaffold(tmp_path)
    port = free_port()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen([str(MASTERCLASS), "preview", str(root), "--port", str(port)],
                               env={**os.environ, "TMPDIR": str(temporary)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", process)
        with httpx.Client(base_url=base, timeout=30) as client:
            data = client.get("/preview/lessons/01-getting-started/welcome.json").json()
            assert data["iri"] == "https://learn.example.gov.uk/courses/my-course/01-getting-started/welcome"
            question = next(b for b in data["blocks"] if b["id"] == "first-question")
            assert question["options"][1]["correct"] is True
            assert {"id": question["iri"], "type": "http://adlnet.gov/expapi/activities/cmi.interaction"} in \
                data["activities"]["blocks"]
            html = client.get("/my-course/01-getting-started/welcome").text
            assert "Go to any lesson" in html and "/preview/lessons/01-getting-started/welcome.json" in html
            assert "/static/preview.js" in html and "Preview: answers and feedback" not in html
            revealed = client.get("/my-course/01-getting-started/welcome?answers=1").text
            assert "Preview: answers and feedback" in revealed and "course.yaml lists the modules in order" in revealed
            token = re.search(r'name="csrf_token" value="(\w+)"', html)
            assert token
            client.post("/my-course/01-getting-started/welcome/blocks/first-question",
                        data={"csrf_token": token.group(1), "choice": "1"})
            assert "Correct" in client.get("/my-course/01-getting-started/welcome").text
            reset = client.post("/preview/reset", data={"csrf_token": token.group(1)},
                                headers={"referer": f"{base}/my-course/"})
            assert reset.status_code == 303
            assert "Correct" not in client.get("/my-course/01-getting-started/welcome").text
        assert [p.name.startswith("masterclass-preview-") for p in temporary.iterdir()] == [True]
        process.send_signal(signal.SIGINT)  # Ctrl+C: the throwaway database goes with the preview
        process.wait(10)
        assert list(temporary.iterdir()) == []
    finally:
        stop(process)


def test_a_preview_started_on_a_course_that_never_built_shows_why_at_its_addresses(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from engine.security import hash_password
    from engine.settings import load_settings
    from engine.storage.db import Store
    from engine.web import create_app
    from engine.web.preview import PREVIEW_EMAIL, Preview

    root = scaffold(tmp_path)
    (root / "course.yaml").write_text((root / "course.yaml").read_text() + "modules: [\n")
    store = Store(tmp_path / "preview.db")
    store.create_user(name="Preview learner", email=PREVIEW_EMAIL, department="Cabinet Office",
                      password_hash=hash_password("correct horse battery"))
    app = create_app(settings=load_settings(Path("/nonexistent.yaml"), {}), store=store, courses=[],
                     preview=Preview.start(root), secret=b"s" * 32)
    client = TestClient(app, follow_redirects=False)
    for address in ("/my-course/", "/my-course/01-getting-started/welcome", "/my-course/progress"):
        response = client.get(address)
        assert (response.status_code, response.headers.get("location")) == (303, "/"), address
    home = client.get("/")
    assert "course.yaml" in home.text and "invalid YAML" in home.text


def test_sigterm_ends_the_preview_with_its_temporary_folder_gone(tmp_path: Path) -> None:
    """As Ctrl+C does (test_preview_tools): uvicorn raises SIGTERM again after its graceful shutdown, whose default
    action used to end the process before the throwaway database and its folder were removed."""
    root = scaffold(tmp_path)
    port = free_port()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:
        process = subprocess.Popen([str(MASTERCLASS), "preview", str(root), "--port", str(port)],
                                   env={**os.environ, "TMPDIR": str(temporary)}, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process)
        assert httpx.get(f"http://127.0.0.1:{port}/my-course/01-getting-started/welcome").status_code == 200
        assert [p.name.startswith("masterclass-preview-") for p in temporary.iterdir()] == [True]
        process.send_signal(signal.SIGTERM)
        # Ended by the signal, as `masterclass serve` is, once the folder is gone: not an error, not killed early.
        assert process.wait(15) == -signal.SIGTERM
        assert list(temporary.iterdir()) == []
        assert errors.read_text() == ""  # no traceback, no complaint
    finally:
        stop(process)


def _moved_away_and_back(root: Path, aside: Path) -> None:
    os.rename(root, aside)
    time.sleep(1.5)  # seen gone
    os.rename(aside, root)


def _deleted_and_made_again(root: Path, aside: Path) -> None:
    shutil.copytree(root, aside)
    shutil.rmtree(root)
    time.sleep(1.5)
    shutil.copytree(aside, root)  # another folder at the path, its files new (a git checkout)
    shutil.rmtree(aside)


def _moved_away_and_a_copy_put_in_its_place(root: Path, aside: Path) -> None:
    os.rename(root, aside)  # an editor's safe save: at once, the old folder still there elsewhere
    shutil.copytree(aside, root)


@pytest.mark.parametrize("change", [_moved_away_and_back, _deleted_and_made_again,
                                    _moved_away_and_a_copy_put_in_its_place])
def test_a_course_folder_moved_away_or_made_again_is_watched_again(
        tmp_path: Path, change: Callable[[Path, Path], None]) -> None:
    root = scaffold(tmp_path)
    with previewing(root) as (_base, page):
        with httpx.Client(timeout=30) as client:
            assert "## A question" in (root / LESSON).read_text() and "Welcome" in client.get(page).text
            time.sleep(1)  # the watch is on
            change(root, tmp_path / "aside")
            # Twice: the first edit could be found by a rebuild of everything when the folder is back; the
            # second only by a watch on the folder now at the path.
            for before, after in (("A question", "Back again"), ("Back again", "And again")):
                lesson = root / LESSON
                lesson.write_text(lesson.read_text().replace(f"## {before}", f"## {after}"))
                deadline = time.monotonic() + 10
                while after not in client.get(page).text:
                    assert time.monotonic() < deadline, f"the preview never showed {after!r}"
                    time.sleep(0.1)


def test_an_error_in_capstone_guidance_keeps_the_last_good_course_and_shows_on_every_page(tmp_path: Path) -> None:
    # A guidance file is Markdown but no lesson: its errors leave the build without a capstone, as course.yaml's do.
    from engine.web.preview import Preview
    from helpers import COURSE_YAML, make_course

    root = make_course(tmp_path, course_yaml=COURSE_YAML + "capstone:\n  title: T\n  stages:\n"
                       "    - {id: ideas, kind: ideas, title: Share ideas, guidance: guide.md}\n")
    (root / "guide.md").write_text("Post one idea each.\n")
    preview = Preview.start(root)
    assert preview.runtime is not None and preview.runtime.course.capstone is not None
    (root / "guide.md").write_text("Post <b>one</b> idea each.\n")
    preview.rebuild({str(root / "guide.md")})
    assert preview.runtime.course.capstone is not None  # the last good course, not one without its capstone
    assert [d.format() for d in preview.problems_for("modules/01-intro/010-lesson.md")] == [
        "guide.md:1:6: error: capstone guidance may not contain raw HTML",
        "guide.md:1:12: error: capstone guidance may not contain raw HTML"]
