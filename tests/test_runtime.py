"""The learner runtime through the Starlette test client, on a real SQLite file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from course import build
from engine import answers, events
from engine.storage.db import Store
from engine.xapi.emit import Emitter
from helpers import COURSE_YAML, make_course
from test_build import CHECKLIST_LESSON, LESSON
from webhelpers import PASSWORD, answer, csrf, make_app, register

LESSON_PATH = "/demo/01-intro/lesson"


@pytest.fixture
def course_root(tmp_path: Path) -> Path:
    return make_course(tmp_path / "demo", lesson=LESSON)


@pytest.fixture
def app(course_root: Path, tmp_path: Path) -> tuple[TestClient, Store]:
    return make_app(course_root, tmp_path / "test.db")


@pytest.fixture
def client(app: tuple[TestClient, Store]) -> TestClient:
    return app[0]


@pytest.fixture
def store(app: tuple[TestClient, Store]) -> Store:
    return app[1]


def counts(store: Store) -> dict[str, int]:
    tables = ["users", "sessions", "enrolments", "lesson_views", "attempts", "responses", "completions"]
    return {t: store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "courses": 1}


def test_course_pages_need_sign_in(client: TestClient) -> None:
    response = client.get("/demo/")
    assert response.status_code == 303 and response.headers["location"] == "/sign-in?next=/demo/"
    assert client.get(LESSON_PATH).headers["location"] == "/sign-in?next=/demo/01-intro/lesson"


def test_register_validates_every_field_at_once(client: TestClient, store: Store) -> None:
    token = csrf(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "name": "", "email": "not-an-email",
                                              "department": "Ministry of Magic", "password": "short"})
    assert response.status_code == 422
    html = response.text
    assert "govuk-error-summary" in html and "<title>Error:" in html
    for field, message in [("name", "Enter your full name"), ("email", "Enter an email address in the correct format"),
                           ("department", "Select your department"), ("password", "Password must be 10 characters")]:
        assert f'href="#{field}"' in html and message in html
    assert counts(store)["users"] == 0


def test_allowed_email_domains(course_root: Path, tmp_path: Path) -> None:
    client, store = make_app(course_root, tmp_path / "d.db", allowed_email_domains="gov.uk")
    token = csrf(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "name": "A", "email": "a@gmail.com",
                                              "department": "Cabinet Office", "password": PASSWORD})
    assert response.status_code == 422 and "ending in gov.uk" in response.text
    register(client, email="a@dwp.gov.uk")
    assert store.user_by_email("A@DWP.GOV.UK") is not None


def test_duplicate_email(client: TestClient) -> None:
    register(client)
    other = TestClient(client.app, follow_redirects=False)
    token = csrf(other, "/register")
    response = other.post("/register", data={"csrf_token": token, "name": "B", "email": "ADA@example.gov.uk",
                                             "department": "Cabinet Office", "password": PASSWORD})
    assert response.status_code == 422 and "already an account" in response.text


def test_sign_in_out_and_rate_limit(client: TestClient, store: Store) -> None:
    register(client)
    token = csrf(client, "/demo/")
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    assert client.get("/demo/").status_code == 303
    token = csrf(client)
    bad = client.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk", "password": "wrong"})
    assert bad.status_code == 422 and "Enter a correct email address and password" in bad.text
    good = client.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk", "password": PASSWORD,
                                         "next": "/demo/"})
    assert good.status_code == 303 and good.headers["location"] == "/demo/"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    # An open redirect is refused.
    again = client.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk", "password": PASSWORD,
                                          "next": "//evil.example"})
    assert again.headers["location"] == "/"
    # Another browser (Ada's has signed in, so is not stopped by others' failures: tests/test_security_sign_in.py).
    other = TestClient(client.app, follow_redirects=False)
    token = csrf(other)
    for _ in range(5):
        other.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk", "password": "nope"})
    blocked = other.post("/sign-in", data={"csrf_token": token, "email": "ada@example.gov.uk", "password": PASSWORD})
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text
    assert 'class="govuk-error-summary' in blocked.text and 'href="#email"' in blocked.text


def test_forged_form_changes_nothing(client: TestClient, store: Store) -> None:
    register(client)
    client.get(LESSON_PATH)
    before = counts(store)
    for data in ({"choice": "1"}, {"choice": "1", "csrf_token": "0" * 64}):
        response = client.post(f"{LESSON_PATH}/blocks/define-small-change", data=data)
        assert response.status_code == 403 and "expired" in response.text
    stranger = TestClient(client.app, follow_redirects=False)
    token = csrf(stranger, "/register")  # a token for another browser
    response = client.post(f"{LESSON_PATH}/blocks/define-small-change", data={"csrf_token": token, "choice": "1"})
    assert response.status_code == 403
    assert counts(store) == before


def test_question_wrong_feedback_retry_right(client: TestClient, store: Store) -> None:
    register(client)
    page = client.get(LESSON_PATH + "?answers=1").text  # only the authoring preview can reveal answers
    # Before answering, the page holds no feedback and nothing that marks the correct option.
    assert "Preview" not in page and "preview.js" not in page
    assert "your team controls" not in page and "Not quite: sign-off" not in page and "Who controls it?" in page
    empty = answer(client, LESSON_PATH, "define-small-change")
    assert empty.status_code == 422 and "Select an answer" in empty.text and 'href="#b-define-small-change-0"' in empty.text
    wrong = answer(client, LESSON_PATH, "define-small-change", choice="0")
    assert wrong.status_code == 303 and wrong.headers["location"].endswith("#block-define-small-change")
    page = client.get(LESSON_PATH).text
    assert "Not quite" in page and "sign-off is the opposite of small" in page and "your team controls" not in page
    assert "Try again" in page
    answer(client, LESSON_PATH, "define-small-change", choice="1")
    page = client.get(LESSON_PATH).text
    assert "Correct" in page and "your team controls" in page and "Small changes are safe to try." in page
    rows = store.conn.execute("SELECT attempt_no, score, success, response FROM attempts ORDER BY id").fetchall()
    assert rows == [(1, 0.0, 0, "[0]"), (2, 1.0, 1, "[1]")]


def test_multiple_choice_and_attempt_cap(client: TestClient, store: Store) -> None:
    register(client)
    assert answer(client, LESSON_PATH, "pick-two", choice=["0"]).status_code == 303
    assert answer(client, LESSON_PATH, "pick-two", choice=["1"]).status_code == 303
    capped = answer(client, LESSON_PATH, "pick-two", choice=["0", "2"])
    assert capped.status_code == 422 and "used all your attempts" in capped.text
    assert store.conn.execute("SELECT COUNT(*) FROM attempts WHERE block_iri LIKE '%pick-two'").fetchone()[0] == 2
    assert "Attempts used: 2 of 2" in client.get(LESSON_PATH).text


@pytest.mark.parametrize(("block", "fields"), [
    ("define-small-change", {"choice": "7"}),
    ("define-small-change", {"choice": "x"}),
    ("define-small-change", {"choice": ["0", "1"]}),
    ("confidence-start", {"choice": "9"}),
    ("ready", {"ticked": "5"}),
    ("intro", {"watched": "maybe"}),
])
def test_impossible_answers_are_400_and_change_nothing(client: TestClient, store: Store, block: str,
                                                       fields: dict[str, str]) -> None:
    register(client)
    client.get(LESSON_PATH)
    before = counts(store)
    response = answer(client, LESSON_PATH, block, **fields)
    assert response.status_code == 400 and "could not be accepted" in response.text
    assert counts(store) == before


def test_unknown_block_lesson_and_other_course(course_root: Path, tmp_path: Path) -> None:
    other = make_course(tmp_path / "other", course_yaml=COURSE_YAML.replace("/demo", "/other"))
    client, store = make_app([course_root, other], tmp_path / "two.db")
    register(client)
    assert "demo" in client.get("/").text.lower() or client.get("/").status_code == 200
    assert answer(client, LESSON_PATH, "no-such-block", choice="1").status_code == 404
    # A block of one course posted to another course's lesson: not found there.
    token = csrf(client, "/other/01-intro/lesson")
    response = client.post("/other/01-intro/lesson/blocks/define-small-change", data={"csrf_token": token, "choice": "1"})
    assert response.status_code == 404
    assert client.get("/demo/01-intro/nope").status_code == 404
    assert client.get("/nope/").status_code == 404
    assert store.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0


def test_poll_shows_the_aggregate(client: TestClient, store: Store) -> None:
    register(client)
    answer(client, LESSON_PATH, "confidence-start", choice="4")
    other = TestClient(client.app, follow_redirects=False)
    register(other, email="bob@example.gov.uk", name="Bob")
    answer(other, LESSON_PATH, "confidence-start", choice="5")
    page = other.get(LESSON_PATH).text
    assert "What everyone answered so far" in page and "50%" in page and "(your answer)" in page
    answer(other, LESSON_PATH, "channel", choice=["0", "1"])
    channel = "https://learn.example.gov.uk/courses/demo/01-intro/lesson/channel"
    assert store.poll_counts(channel) == {"0": 1, "1": 1}
    answer(other, LESSON_PATH, "channel", choice=["1"])  # a changed answer moves its tally
    assert store.poll_counts(channel) == {"1": 1}
    confidence = "https://learn.example.gov.uk/courses/demo/01-intro/lesson/confidence-start"
    assert store.poll_counts(confidence) == {"4": 1, "5": 1}
    token = csrf(other, "/my-data")
    other.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"})
    assert store.poll_counts(confidence) == {"4": 1}  # a deleted account's answers leave the tally too
    assert store.poll_counts(channel) == {}


def test_reflection_is_private_escaped_and_editable(client: TestClient, store: Store) -> None:
    register(client)
    short = answer(client, LESSON_PATH, "first-thoughts", text="too short")
    assert short.status_code == 422 and "Write at least 10 words (you wrote 2)" in short.text
    assert "too short" in short.text  # what they typed is kept
    text = "<script>alert('x')</script> I would make the handover between shifts shorter and clearer for all"
    answer(client, LESSON_PATH, "first-thoughts", text=text)
    page = client.get(LESSON_PATH).text
    assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page
    answer(client, LESSON_PATH, "first-thoughts", text=text + " staff")
    assert store.conn.execute("SELECT COUNT(*) FROM responses WHERE kind = 'reflection'").fetchone()[0] == 1
    other = TestClient(client.app, follow_redirects=False)
    register(other, email="eve@example.gov.uk", name="Eve")
    assert "handover between shifts" not in other.get(LESSON_PATH).text
    assert "handover between shifts" not in other.get("/my-data/download").text


def test_checklist_and_video(client: TestClient) -> None:
    register(client)
    answer(client, LESSON_PATH, "ready", ticked=["1"])
    page = client.get(LESSON_PATH).text
    assert 'value="1" checked' in page and "Saved: 1 of 2 ticked." in page
    answer(client, LESSON_PATH, "intro", watched="1")
    assert "You have watched this video." in client.get(LESSON_PATH).text


def _in_order(html: str, block_id: str, *texts: str) -> str:
    """The block's section, having checked that each text is in it once, in the order given."""
    start = html.index(f'id="block-{block_id}"')
    section = html[start:html.index("</section>", start)]
    assert [section.count(text) for text in texts] == [1] * len(texts), section
    at = [section.index(text) for text in texts]
    assert at == sorted(at), section
    return section


def test_a_checklists_text_after_its_items_is_shown_below_them(tmp_path: Path) -> None:
    client, _ = make_app(make_course(tmp_path / "demo", lesson=CHECKLIST_LESSON), tmp_path / "checklist.db")
    register(client)
    before = "Before you start, read <a href=\"../01-intro/other\">the other lesson</a> &amp; &quot;ask&quot;:"
    after = ("Come back &amp; tick 1 &lt; 2 items <a href=\"../01-intro/other\">any time</a>.</p>\n"
             "<p>Or ask <em>your</em> facilitator.")
    order = (before, 'value="0"', "Book a meeting", 'value="1"', "Tell your manager", after)
    # Without JavaScript: the page, then the page the saved form leads back to.
    _in_order(client.get(LESSON_PATH).text, "ready", *order, "Save checklist")
    saved = client.post(f"{LESSON_PATH}/blocks/ready", data={"csrf_token": csrf(client, LESSON_PATH), "ticked": "1"})
    assert saved.status_code == 303
    _in_order(client.get(LESSON_PATH).text, "ready", *order, "Saved: 1 of 2 ticked.", "Save checklist")
    # With JavaScript: the block the script puts in place of the one whose form was sent.
    response = client.post(f"{LESSON_PATH}/blocks/ready", data={"csrf_token": csrf(client, LESSON_PATH),
                           "ticked": ["0", "1"]}, headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json()["ok"] is True
    _in_order(response.json()["html"], "ready", *order, "Saved: 2 of 2 ticked.", "Save checklist")


def test_json_submission_returns_the_block_in_place(client: TestClient) -> None:
    register(client)
    token = csrf(client, LESSON_PATH)
    response = client.post(f"{LESSON_PATH}/blocks/define-small-change", data={"csrf_token": token, "choice": "1"},
                           headers={"Accept": "application/json"})
    data = response.json()
    assert response.status_code == 200 and data["ok"] is True and "your team controls" in data["html"]
    bad = client.post(f"{LESSON_PATH}/blocks/define-small-change", data={"csrf_token": token},
                      headers={"Accept": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"] == "Select an answer"


def test_completion_resume_and_course_completed(client: TestClient, store: Store) -> None:
    register(client)
    home = client.get("/demo/").text
    assert "Not yet started" in home and "Start the course" in home
    client.get(LESSON_PATH)
    home = client.get("/demo/").text
    assert "In progress" in home and "Continue where you left off" in home and f'href="{LESSON_PATH}"' in home
    answer(client, LESSON_PATH, "define-small-change", choice="1")
    answer(client, LESSON_PATH, "pick-two", choice=["0", "2"])
    answer(client, LESSON_PATH, "confidence-start", choice="3")
    assert "You have completed this lesson." not in client.get(LESSON_PATH).text
    answer(client, LESSON_PATH, "channel", choice=["1"])
    assert "You have completed this lesson." in client.get(LESSON_PATH).text
    home = client.get("/demo/").text
    assert 'href="/demo/01-intro/other"' in home  # continue goes to the next open lesson
    client.get("/demo/01-intro/other")
    home = client.get("/demo/").text
    assert "Course completed" in home and "You have completed 2 of 2 lessons (100%)" in home
    kinds = sorted(k for (k,) in store.conn.execute("SELECT kind FROM completions"))
    assert kinds == ["course", "lesson", "lesson", "module"]


def test_completion_survives_content_edits(course_root: Path, tmp_path: Path) -> None:
    client, _store = make_app(course_root, tmp_path / "edit.db")
    register(client)
    client.get("/demo/01-intro/other")
    answer(client, LESSON_PATH, "confidence-start", choice="3")
    lesson = course_root / "modules" / "01-intro" / "010-lesson.md"
    # The author removes every question but the poll the learner answered: the lesson now completes.
    lesson.write_text("---\ntitle: Small changes\n---\n::: poll id=confidence-start measure=confidence\nHow?\n\n"
                      "scale: 1-5\n:::\n")
    client2, _ = make_app(course_root, tmp_path / "edit.db")
    client2.cookies.update(client.cookies)
    client2.get(LESSON_PATH)
    assert "Course completed" in client2.get("/demo/").text
    # A new required question later reopens nothing already completed.
    lesson.write_text(lesson.read_text() + "\n::: question id=new-q\nNew?\n\n- (x) A\n- ( ) B\n:::\n")
    client3, _ = make_app(course_root, tmp_path / "edit.db")
    client3.cookies.update(client.cookies)
    assert "You have completed this lesson." in client3.get(LESSON_PATH).text
    assert "Course completed" in client3.get("/demo/").text


def test_locked_module(tmp_path: Path) -> None:
    root = make_course(tmp_path / "demo", course_yaml=COURSE_YAML.replace("[01-intro]", "[01-intro, 02-next]"))
    (root / "modules" / "02-next").mkdir()
    (root / "modules" / "02-next" / "module.yaml").write_text("title: Next steps\nrequires: [01-intro]\n")
    (root / "modules" / "02-next" / "010-go.md").write_text("---\ntitle: Go\n---\nGo.\n")
    client, _ = make_app(root, tmp_path / "lock.db")
    register(client)
    assert "Cannot start yet" in client.get("/demo/").text
    locked = client.get("/demo/02-next/go")
    assert locked.status_code == 403 and "First complete: Introduction" in locked.text
    client.get(LESSON_PATH)
    client.get("/demo/01-intro/other")
    assert client.get("/demo/02-next/go").status_code == 200


def test_my_data_download_and_delete(client: TestClient, store: Store) -> None:
    register(client)
    answer(client, LESSON_PATH, "define-small-change", choice="0")
    data = json.loads(client.get("/my-data/download").text)
    assert data["account"]["email"] == "ada@example.gov.uk"
    assert data["enrolments"][0]["attempts"][0]["response"] == [0]
    token = csrf(client, "/my-data")
    unconfirmed = client.post("/my-data/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Select yes to confirm" in unconfirmed.text
    assert client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    assert all(n == 0 for n in counts(store).values())
    assert store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == 0
    assert client.get("/demo/").status_code == 303


def test_oversized_body_is_413_and_changes_nothing(client: TestClient, store: Store) -> None:
    register(client)
    token = csrf(client, LESSON_PATH)
    before = counts(store)
    response = client.post(f"{LESSON_PATH}/blocks/first-thoughts", data={"csrf_token": token, "text": "word " * 20000})
    assert response.status_code == 413
    assert counts(store) == before


def test_every_kind_of_response_carries_the_security_headers(client: TestClient) -> None:
    """No page can be framed (its forms clickjacked), sniffed as another type, or name itself to other sites."""
    signed_out = client.get(LESSON_PATH)
    register(client)
    token = csrf(client, LESSON_PATH)
    responses = {
        "redirect to sign in": signed_out,
        "lesson page": client.get(LESSON_PATH),
        "not found": client.get("/demo/no-such/lesson"),
        "health": client.get("/health"),
        "static file": client.get("/static/masterclass.css"),
        "refused form": client.post(f"{LESSON_PATH}/blocks/first-thoughts", data={"csrf_token": "x", "text": "a"}),
        "form with an error": client.post(f"{LESSON_PATH}/blocks/first-thoughts", data={"csrf_token": token, "text": "a"}),
        "body too large": client.post(f"{LESSON_PATH}/blocks/first-thoughts", content=b"x" * 70_000),
        "length malformed": client.post(f"{LESSON_PATH}/blocks/first-thoughts", content=b"x",
                                        headers={"content-length": "x1"}),
    }
    assert [r.status_code for r in responses.values()] == [303, 200, 404, 200, 200, 403, 422, 413, 400]
    for kind, response in responses.items():
        headers = response.headers
        assert (headers.get("x-frame-options"), headers.get("x-content-type-options"),
                headers.get("referrer-policy")) == ("DENY", "nosniff", "same-origin"), kind
        assert len(headers.get_list("x-frame-options")) == 1, kind


def test_no_traceback_reaches_a_user(client: TestClient) -> None:
    register(client)
    token = csrf(client, LESSON_PATH)
    response = client.post(f"{LESSON_PATH}/blocks/define-small-change", content=b"\xff\xfe--broken",
                           headers={"content-type": "multipart/form-data; boundary=zz", "x-csrf-token": token})
    assert response.status_code in (400, 403) and "Traceback" not in response.text


def test_two_submissions_at_once_never_double_count(course_root: Path, tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    result = build(course_root)
    assert result.course is not None
    course = result.course
    lesson = course.lessons()[0]
    block = lesson.block("define-small-change")
    assert block is not None
    setup = Store(db)
    user = setup.create_user(name="A", email="a@x.gov.uk", department="Other", password_hash="x")
    enrolment, _ = setup.enrol(user.id, course.iri)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        store = Store(db)
        learner = events.Learner(store, Emitter(base_url="http://127.0.0.1:8000"), course, user, enrolment)
        try:
            barrier.wait()
            for _ in range(5):
                answers.submit(learner, lesson=lesson, block=block, form={"choice": ["1"]})
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = [n for (n,) in setup.conn.execute("SELECT attempt_no FROM attempts ORDER BY attempt_no")]
    assert numbers == list(range(1, 21))
    assert setup.conn.execute("SELECT COUNT(*) FROM lesson_views").fetchone()[0] == 1


def test_cookie_headers_are_parsed_once_and_kept_within_bounds(client: TestClient, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    from engine.web import app as web_app

    monkeypatch.setattr(web_app, "_parsed_cookies", {})
    monkeypatch.setattr(web_app, "MAX_PARSED_COOKIES", 3)
    header = b"mc_browser=abc; other=1"
    assert web_app._cookies(header) is web_app._cookies(header) == {"mc_browser": "abc", "other": "1"}
    long = b"x=" + b"y" * web_app.MAX_KEPT_COOKIE_HEADER
    assert web_app._cookies(long) == {"x": "y" * web_app.MAX_KEPT_COOKIE_HEADER}
    assert long not in web_app._parsed_cookies
    for n in range(5):
        web_app._cookies(f"n={n}".encode())
    assert len(web_app._parsed_cookies) <= 3
    # A malformed header is parsed leniently, as Starlette parses it: the page still answers.
    response = client.get("/health", headers={"cookie": 'a="unterminated; ;;=; \x7f=1'})
    assert response.status_code == 200
    signed_out = client.get(LESSON_PATH, headers={"cookie": "mc_browser=; session=\"bad"}, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/sign-in")


def test_a_repeat_view_still_records_what_the_records_now_reach(tmp_path: Path) -> None:
    """A repeat view with nothing to record writes only its count (``Store.view_again``); one whose kept records
    reach a completion not yet recorded records it, as any view does. (Here the completion is taken out of the
    database and the kept records in this connection, as a course edit that completes a lesson would leave them.)"""
    client, store = make_app(Path(__file__).resolve().parents[1] / "content", tmp_path / "views.db")
    register(client)
    lesson = "/innovation-masterclass/00-start/welcome"
    assert client.get(lesson).status_code == 200
    assert client.get(lesson).status_code == 200  # a repeat view: only its count
    (enrolment_id, lesson_iri), = store.conn.execute(
        "SELECT enrolment_id, lesson_iri FROM lesson_views WHERE lesson_iri LIKE '%/00-start/welcome'")
    rows = "SELECT COUNT(*) FROM completions WHERE object_iri = ?"
    views = "SELECT views FROM lesson_views WHERE lesson_iri = ?"
    assert store.conn.execute(rows, (lesson_iri,)).fetchone()[0] == 1
    assert store.conn.execute(views, (lesson_iri,)).fetchone()[0] == 2
    with store.transaction() as conn:
        conn.execute("DELETE FROM completions WHERE object_iri = ?", (lesson_iri,))
    records = store.records(enrolment_id)
    del records.completions[lesson_iri]
    records.changed(lesson_iri)
    statements = store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    assert client.get(lesson).status_code == 200
    assert store.records(enrolment_id) is records  # the same kept records: no other connection wrote
    assert store.conn.execute(rows, (lesson_iri,)).fetchone()[0] == 1
    assert store.conn.execute(views, (lesson_iri,)).fetchone()[0] == 3
    assert store.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0] > statements  # completed, progressed
