"""Hostile or malformed input to the web routes gets a 4xx page and changes nothing: ids and numbers that are not
ASCII digits or do not fit a query, names the file system refuses, and forms whose token is forged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_capstone_support import COURSE, make_world, post, team_id

from engine.numbers import row_id
from engine.storage.db import Store
from engine.web.context import TOO_LARGE
from helpers import make_course
from test_build import LESSON
from webhelpers import answer, csrf, make_app, register

LESSON_PATH = "/demo/01-intro/lesson"
HUGE = "9" * 20  # past SQLite's largest integer
UNICODE_DIGITS = ["%C2%B2", "%D9%A1", "%EF%BC%91"]  # "²", Arabic-Indic one, fullwidth one: str.isdigit() says yes


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("0042", 42), (str(2**63 - 1), 2**63 - 1), (str(2**63), None), (HUGE, None), ("9" * 5000, None),
    ("", None), ("-1", None), ("+1", None), (" 1", None), ("1.0", None), ("²", None), ("١", None), ("１", None),
])
def test_row_id_reads_ascii_digits_that_fit_sqlite(text: str, expected: int | None) -> None:
    assert row_id(text) == expected


@pytest.fixture
def app(tmp_path: Path) -> tuple[TestClient, Store]:
    client, store = make_app(make_course(tmp_path / "demo", lesson=LESSON), tmp_path / "t.db")
    register(client)
    return client, store


def _written(store: Store) -> dict[str, int]:
    return {t: store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("enrolments", "lesson_views", "attempts", "statements", "session_events")}


@pytest.mark.parametrize("path", [f"{LESSON_PATH}/blocks/define-small-change",
                                  f"{LESSON_PATH}/blocks/intro/video-events?event=played&time=1"])
def test_a_forged_form_enrols_nobody_and_sends_no_statement(app: tuple[TestClient, Store], path: str) -> None:
    client, store = app
    before = _written(store)
    response = client.post(path, data={"csrf_token": "forged", "choice": "0"})
    assert response.status_code == 403
    assert _written(store) == before  # the token is checked before the learner is enrolled on first use


@pytest.mark.parametrize("token", ["é", "ｆｏｒｇｅｄ", "\u00e9" * 64])
def test_a_form_token_past_ascii_is_refused_not_a_500(app: tuple[TestClient, Store], token: str) -> None:
    """hmac.compare_digest takes str only in ASCII: any other character raised TypeError, a 500 on every form."""
    client, store = app
    before = _written(store)
    response = client.post(f"{LESSON_PATH}/blocks/define-small-change", data={"csrf_token": token, "choice": "0"})
    assert response.status_code == 403
    assert _written(store) == before


@pytest.mark.parametrize("choice", ["١", "²", "１"])
def test_a_choice_in_other_digits_is_refused(app: tuple[TestClient, Store], choice: str) -> None:
    client, store = app
    client.get(LESSON_PATH)
    response = answer(client, LESSON_PATH, "define-small-change", choice=choice)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "is not one of the choices" in response.text  # type: ignore[attr-defined]
    assert _written(store)["attempts"] == 0


@pytest.mark.parametrize("name", ["pic%00.png", "a" * 5000 + ".png", "..%2F..%2Fcourse.yaml"])
def test_media_names_the_file_system_refuses_are_not_found(app: tuple[TestClient, Store], name: str) -> None:
    client, _store = app
    response = client.get(f"/demo/media/{name}")
    assert response.status_code == 404
    assert "There is no file at this address" in response.text
    assert client.get("/demo/media/pic.png").status_code == 200


def test_capstone_ids_that_are_not_row_ids_are_not_found(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ada = world.person("ada@example.gov.uk", "Ada Lovelace")
    post(ada, f"{COURSE}/capstone/teams", name="Alpha", department="Cabinet Office")
    team = team_id(world.store, "Alpha")
    for bad in [*UNICODE_DIGITS, HUGE, "9" * 5000]:
        assert ada.get(f"{COURSE}/capstone/teams/{bad}/").status_code == 404
        assert ada.get(f"{COURSE}/capstone/teams/{bad}/ideas").status_code == 404
        assert post(ada, f"{COURSE}/capstone/teams/{bad}/leave").status_code == 404
        assert ada.get(f"{COURSE}/gallery/{bad}").status_code == 404
        assert post(ada, f"{COURSE}/gallery/{bad}/kudos").status_code == 404
    ideas = f"{COURSE}/capstone/teams/{team}/ideas"
    for bad in ["²", "١", HUGE]:
        for action in ("comment", "vote", "withdraw"):
            assert post(ada, ideas, action=action, idea=bad, body="Hi").status_code == 400
    fay = world.person("fay@example.gov.uk", "Fay Facilitator", role="facilitator")
    for bad in ["²", HUGE]:
        moved = post(fay, f"{COURSE}/capstone/facilitate/move", email="ada@example.gov.uk", team=bad)
        assert moved.status_code == 422 and "Select the team" in moved.text
        hidden = post(fay, f"{COURSE}/capstone/teams/{team}/hide", kind="idea", id=bad, reason="R")
        assert hidden.status_code == 400 and "There is nothing like that to hide" in hidden.text
    for form in ({}, {"action": "nonsense"}):  # no page sends these
        refused = post(ada, ideas, **form)
        assert refused.status_code == 400 and "This stage has no such action" in refused.text
    # A refused form enrolled nobody: the facilitator has made no statement.
    facilitator = world.store.user_by_email("fay@example.gov.uk")
    assert facilitator is not None
    assert world.store.conn.execute("SELECT COUNT(*) FROM enrolments WHERE user_id = ?",
                                    (facilitator.id,)).fetchone()[0] == 0


def test_report_dates_and_pages_that_do_not_fit_are_form_errors_or_the_last_page(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo", lesson=LESSON), tmp_path / "t.db")
    register(client, email="root@example.gov.uk", name="Ada Admin")
    user = store.user_by_email("root@example.gov.uk")
    assert user is not None
    store.set_role(user.id, "admin")
    for year in (HUGE, "%D9%A2%D9%A0%D9%A2%D9%A6", "99999"):
        query = f"?from-day=1&from-month=1&from-year={year}"
        for path in ("/reports/demo/", "/reports/demo/learners"):
            response = client.get(path + query)
            assert response.status_code == 400, (path, year)  # the page, with the error summary
            assert "The start date must be a real date" in response.text
    for number in (HUGE, "200000000000000000", "²"):
        assert client.get(f"/reports/demo/learners?page={number}").status_code == 200


def test_a_body_too_large_gets_the_services_page_or_json_and_changes_nothing(app: tuple[TestClient, Store]) -> None:
    client, store = app
    client.get(LESSON_PATH)
    token = csrf(client, LESSON_PATH)
    before = _written(store)
    path = f"{LESSON_PATH}/blocks/first-thoughts"
    body = f"csrf_token={token}&text=" + "word+" * 20_000
    form = {"content-type": "application/x-www-form-urlencoded"}

    def chunked() -> Iterator[bytes]:  # no Content-Length: found too large only while it is read
        for n in range(0, len(body), 8192):
            yield body[n:n + 8192].encode()

    page = client.post(path, content=body.encode(), headers=form)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "That is too much to send" in page.text and "make it shorter" in page.text
    as_json = client.post(path, content=body.encode(), headers={**form, "accept": "application/json"})
    assert as_json.status_code == 413
    assert as_json.json() == {"error": "That is too much to send", "detail": TOO_LARGE}
    streamed = client.post(path, content=chunked(), headers=form)
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413 and "make it shorter" in streamed.text
    assert _written(store) == before


def test_form_text_is_utf8_as_browsers_send_it_and_loses_control_characters(tmp_path: Path) -> None:
    client, store = make_app(make_course(tmp_path / "demo", lesson=LESSON), tmp_path / "t.db")
    token = csrf(client, "/register")
    form = {"content-type": "application/x-www-form-urlencoded"}
    fields = (f"csrf_token={token}&email=ada%40example.gov.uk&department=Cabinet+Office"
              "&password=correct+horse+battery")
    # Bytes past ASCII as they are, or percent-encoded bytes that are not UTF-8: no browser's form sends these.
    for name in (b"Jos\xe9", b"Jos\xc3\xa9", b"Jos%E9", b"%FF%FE"):
        refused = client.post("/register", content=fields.encode() + b"&name=" + name, headers=form)
        assert refused.status_code == 400 and "The form could not be read" in refused.text
    assert store.user_by_email("ada@example.gov.uk") is None
    # A NUL or an escape is dropped; tabs and line breaks are kept.
    made = client.post("/register", content=fields.encode() + b"&name=Jos%C3%A9%00+%1BAlvarez", headers=form)
    assert made.status_code == 303
    user = store.user_by_email("ada@example.gov.uk")
    assert user is not None and user.name == "José Alvarez"
    client.get(LESSON_PATH)
    reflection = client.post(f"{LESSON_PATH}/blocks/first-thoughts", headers=form, content=(
        f"csrf_token={csrf(client, LESSON_PATH)}&text=" + "word+" * 9 + "last%0D%0Aline%09two%00").encode())
    assert reflection.status_code == 303
    value = store.conn.execute("SELECT value FROM responses").fetchone()[0]
    assert value == '"' + "word " * 9 + 'last\\nline\\ttwo"'  # the reflection keeps line breaks as LF


def test_a_method_not_allowed_says_which_are(app: tuple[TestClient, Store]) -> None:
    client, _store = app
    response = client.put(LESSON_PATH)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET"}
    assert "You cannot do that here" in response.text


@pytest.mark.parametrize(("accept", "json"), [
    ("application/json", True), ("text/html, application/json", True), ("application/json;q=0.9, text/html", False),
    ("text/html, application/json;q=0", False), ("application/json;q=nonsense", False), ("text/html", False),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False), ("", False),
])
def test_json_is_sent_to_a_client_that_asks_for_it_first(app: tuple[TestClient, Store], accept: str,
                                                        json: bool) -> None:
    client, _store = app
    response = client.get("/demo/no-such/lesson", headers={"accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json" if json else "text/html")


def test_a_poll_scales_labels_are_text_on_the_page(tmp_path: Path) -> None:
    lesson = ("---\ntitle: A lesson\n---\n::: poll id=p\nHow sure are you?\n\nscale: 1-3\n"
              "labels: \\<script>alert(1)\\</script> | `<img src=x onerror=alert(2)>` | <svg/onload=alert(3)>\n:::\n")
    client, _store = make_app(make_course(tmp_path / "demo", lesson=lesson), tmp_path / "t.db")
    register(client)
    page = client.get(LESSON_PATH).text
    for raw in ("<script>alert(1)", "<img src=x", "<svg/onload"):
        assert raw not in page
    assert "&lt;svg/onload=alert(3)&gt;" in page
    answered = answer(client, LESSON_PATH, "p", choice="3")
    assert answered.status_code == 303  # type: ignore[attr-defined]
    results = client.get(LESSON_PATH).text  # the results table names the labels too
    assert "<svg/onload" not in results and results.count("&lt;svg/onload=alert(3)&gt;") >= 2


def test_the_lrs_address_without_its_slash_leads_to_the_lrs(app: tuple[TestClient, Store]) -> None:
    client, _store = app
    response = client.get("/xapi?x=1")
    assert (response.status_code, response.headers["location"]) == (308, "/xapi/?x=1")
    assert client.get("/xapi/about").json()["version"]  # where it leads
