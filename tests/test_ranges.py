"""A Range on a served file (course media, the theme's files, GOV.UK Frontend's assets) is met as RFC 9110 asks:
the parts asked for; the whole file for a Range that cannot be read; a 416 with ``Content-Range`` and the
service's own error page or JSON for one that no part of the file meets."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from engine.storage.db import Store
from engine.web.app import GOVUK_DIST
from engine.web.files import byte_ranges
from helpers import make_course
from webhelpers import make_app, register

MEDIA = bytes(range(256)) * 4  # 1,024 bytes, each position telling where it is
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-99", [(0, 99)]), ("bytes=100-", [(100, 1023)]), ("bytes=-24", [(1000, 1023)]),
    ("bytes=-5000", [(0, 1023)]), ("bytes=1000-5000", [(1000, 1023)]), ("BYTES = 1-1", [(1, 1)]),
    ("bytes=0-1, ,2-3,", [(0, 1), (2, 3)]), ("bytes=0-1,1024-", [(0, 1)]), ("bytes=0-" + "9" * 5000, [(0, 1023)]),
    # none the file meets: 416
    ("bytes=1024-", []), ("bytes=999999-", []), ("bytes=-0", []), ("bytes=2000-,-0", []),
    ("bytes=" + "9" * 5000 + "-", []),
    # not a valid ranges-specifier, or another unit: ignored
    ("bytes=abc", None), ("bytes=", None), ("bytes=,", None), ("items=0-1", None), ("bytes 0-1", None),
    ("bytes=5-1", None), ("bytes=1024-1,", None), ("bytes=0-1;x", None), ("bytes=--1", None), ("bytes=1-2-3", None), ("bytes=+1-2", None),
    ("bytes=0x1-2", None), ("bytes=0-1,abc", None), ("bytes=１-2", None), ("", None),
])
def test_byte_ranges(header: str, expected: list[tuple[int, int]] | None) -> None:
    assert byte_ranges(header, len(MEDIA)) == expected


def test_an_empty_file_meets_no_range_but_a_suffix_as_a_whole() -> None:
    assert byte_ranges("bytes=0-", 0) == []
    assert byte_ranges("bytes=-1", 0) is None  # RFC 9110 14.1.3: satisfiable, but no Content-Range names it
    assert byte_ranges("bytes=-0", 0) == []


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Store]:
    tmp = tmp_path_factory.mktemp("ranges")
    course = make_course(tmp / "demo")
    (course / "media" / "clip.mp4").write_bytes(MEDIA)
    client, store = make_app(course, tmp / "t.db")
    register(client)
    return client, store


def _served(path: str) -> bytes:
    """The file a path serves, read from where it is."""
    if path.startswith("/demo/media/"):
        return MEDIA
    if path.startswith("/static/"):
        return (ROOT / "themes" / "govuk" / "static" / path.removeprefix("/static/")).read_bytes()
    if not GOVUK_DIST.is_dir():
        pytest.skip("GOV.UK Frontend is not installed: run `make setup` (npm install)")
    if path.startswith("/assets/"):
        return (GOVUK_DIST / "assets" / path.removeprefix("/assets/")).read_bytes()
    return (GOVUK_DIST / path.lstrip("/")).read_bytes()


PATHS = ["/demo/media/clip.mp4", "/static/masterclass.js", "/assets/images/favicon.svg", "/govuk-frontend.min.js"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=-0", "bytes=999999-1000000,2000000-"])
def test_a_range_past_the_end_is_416_with_the_length_on_the_services_page_or_json(
        client: tuple[TestClient, Store], path: str, header: str) -> None:
    http, _store = client
    size = len(_served(path))
    page = http.get(path, headers={"range": header})
    assert page.status_code == 416
    assert page.headers["content-range"] == f"bytes */{size}"
    assert page.headers["content-type"].startswith("text/html")
    assert "That part of the file is not there" in page.text and "govuk-" in page.text
    data = http.get(path, headers={"range": header, "accept": "application/json"})
    assert (data.status_code, data.headers["content-range"]) == (416, f"bytes */{size}")
    assert data.json()["error"] == "That part of the file is not there"
    head = http.head(path, headers={"range": header})
    assert (head.status_code, head.headers["content-range"]) == (416, f"bytes */{size}")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("header", ["bytes=abc", "items=0-1", "bytes=5-1", "bytes=", "bytes=0-1;x", "bytes 0-1",
                                    "bytes=" + "9" * 5000])
def test_a_range_that_cannot_be_read_is_ignored_and_the_whole_file_sent(
        client: tuple[TestClient, Store], path: str, header: str) -> None:
    http, _store = client
    response = http.get(path, headers={"range": header})
    assert response.status_code == 200
    assert response.content == _served(path)
    assert "content-range" not in response.headers


@pytest.mark.parametrize("path", PATHS)
def test_the_parts_asked_for_are_sent_and_those_past_the_end_left_out(
        client: tuple[TestClient, Store], path: str) -> None:
    http, _store = client
    body = _served(path)
    size = len(body)
    part = http.get(path, headers={"range": "bytes=2-5"})
    assert (part.status_code, part.content, part.headers["content-range"]) == (206, body[2:6], f"bytes 2-5/{size}")
    tail = http.get(path, headers={"range": f"bytes=-3,{size + 10}-"})
    assert (tail.status_code, tail.content) == (206, body[-3:])
    assert tail.headers["content-range"] == f"bytes {size - 3}-{size - 1}/{size}"


def test_a_range_past_the_end_of_a_file_that_changed_since_gets_the_whole_file(
        client: tuple[TestClient, Store]) -> None:
    http, _store = client
    response = http.get("/demo/media/clip.mp4", headers={"range": "bytes=999999-", "if-range": '"an old etag"'})
    assert (response.status_code, response.content) == (200, MEDIA)
    etag = http.get("/demo/media/clip.mp4").headers["etag"]
    assert http.get("/demo/media/clip.mp4", headers={"range": "bytes=999999-", "if-range": etag}).status_code == 416
