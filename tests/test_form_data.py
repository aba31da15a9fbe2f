"""Posted forms: the urlencoded fast path reads what Starlette's parser reads from what browsers send, and refuses
what it refuses and what no browser sends."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from engine.security import csrf_token
from engine.web.context import MAX_FORM_FIELDS, form_data

SECRET = b"s" * 32
TOKEN = csrf_token(SECRET, "browser")


async def echo(request: Request) -> Response:
    request.scope["mc_browser"] = "browser"  # as the Guard middleware sets it
    form = await form_data(request)
    starlette = {k: [v for v in (await request.form()).getlist(k)] for k in form} if request.query_params else {}
    return JSONResponse({"form": form, "starlette": starlette})


@pytest.fixture
def client() -> TestClient:
    app = Starlette(routes=[Route("/", echo, methods=["POST"])])
    app.state.service = SimpleNamespace(secret=SECRET)
    return TestClient(app)


@pytest.mark.parametrize("body", [
    urlencode([("csrf_token", TOKEN), ("text", "Café & crème + 50% off; ok?"), ("choice", "0"), ("choice", "2")]),
    f"csrf_token={TOKEN}&empty=&bare&text=a+b%2Bc%20d",
    f"csrf_token={TOKEN}&text=%E2%9C%93%F0%9F%98%80",  # a tick and an emoji
])
def test_urlencoded_forms_read_as_starlette_reads_them(client: TestClient, body: str) -> None:
    answer = client.post("/?compare=1", content=body,
                         headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["form"] == data["starlette"]


@pytest.mark.parametrize("text", [b"%FF", b"%C3", b"caf\xc3\xa9", b"caf\xe9"])
def test_urlencoded_forms_that_no_browser_sends_are_refused(client: TestClient, text: bytes) -> None:
    """Where Starlette reads a byte that is not UTF-8 as U+FFFD, and one past ASCII as Latin-1, the service says
    the form could not be read: a browser percent-encodes every byte past ASCII, and in UTF-8."""
    answer = client.post("/", content=f"csrf_token={TOKEN}&text=".encode() + text,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400


def test_multipart_forms_still_read(client: TestClient) -> None:
    answer = client.post("/", data={"csrf_token": TOKEN, "text": "hello"}, files={"ignored": ("a.txt", b"x")})
    assert answer.status_code == 400  # files are refused (max_files=0), as before
    answer = client.post("/", content=f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{TOKEN}'
                                      '\r\n--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--b--\r\n',
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 200 and answer.json()["form"]["text"] == ["hi"]


def test_too_many_fields_or_no_token_are_refused(client: TestClient) -> None:
    many = urlencode([("csrf_token", TOKEN)] + [("f", "x")] * MAX_FORM_FIELDS)
    answer = client.post("/", content=many, headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and "could not be read" in answer.text
    answer = client.post("/", content="text=hello", headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 403
