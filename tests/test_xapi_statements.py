"""Every statement the runtime emits, checked against the xAPI 1.0.3 data rules and docs/xapi-profile.md."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from engine.storage.db import Store
from engine.xapi.validate import validate_statement
from helpers import COURSE_YAML, make_course
from test_build import LESSON
from webhelpers import answer, csrf, make_app, register

ADL = "http://adlnet.gov/expapi/verbs/"
QUIZ = """\
---
title: Check your understanding
complete_when: passed
---
::: question id=quiz-one
One?

- (x) Yes
- ( ) No
:::

::: question id=quiz-two
Two?

- ( ) No
- (x) Yes
:::
"""


def statements(store: Store) -> list[dict[str, Any]]:
    return [json.loads(body) for (body,) in store.conn.execute("SELECT body FROM statements ORDER BY seq")]


def course_with_quiz(tmp_path: Path) -> Path:
    root = make_course(tmp_path / "demo", lesson=LESSON,
                       course_yaml=COURSE_YAML.replace("[01-intro]", "[01-intro, 02-quiz]"))
    (root / "modules" / "02-quiz").mkdir()
    (root / "modules" / "02-quiz" / "module.yaml").write_text("title: Quiz\ncomplete_when: passed\n")
    (root / "modules" / "02-quiz" / "010-check.md").write_text(QUIZ)
    return root


def journey(client: TestClient) -> None:
    lesson = "/demo/01-intro/lesson"
    register(client)
    client.get("/demo/")
    client.get(lesson)
    answer(client, lesson, "define-small-change", choice="0")
    answer(client, lesson, "define-small-change", choice="1")
    answer(client, lesson, "pick-two", choice=["0", "2"])
    answer(client, lesson, "confidence-start", choice="4")
    answer(client, lesson, "channel", choice=["0", "1"])
    answer(client, lesson, "first-thoughts", text="one two three four five six seven eight nine ten eleven")
    answer(client, lesson, "ready", ticked=["0", "1"])
    answer(client, lesson, "intro", watched="1")
    client.get("/demo/01-intro/other")
    quiz = "/demo/02-quiz/check"
    client.get(quiz)
    answer(client, quiz, "quiz-one", choice="0")
    answer(client, quiz, "quiz-two", choice="0")  # wrong: every question answered, score 0.5 < 0.8
    answer(client, quiz, "quiz-two", choice="1")
    token = csrf(client, "/demo/")
    client.post("/sign-out", data={"csrf_token": token})


def test_every_emitted_statement_is_valid_and_catalogued(tmp_path: Path) -> None:
    client, store = make_app(course_with_quiz(tmp_path), tmp_path / "x.db")
    journey(client)
    found = statements(store)
    for statement in found:
        validate_statement(statement)
    verbs = Counter(s["verb"]["id"].rsplit("/", 1)[1] for s in found)
    assert verbs["registered"] == 1 and verbs["initialized"] == 1 and verbs["terminated"] == 1
    assert verbs["experienced"] == 3  # each lesson once in the session
    assert verbs["answered"] == 10  # 6 question attempts and 4 other blocks (2 polls, reflection, checklist)
    assert verbs["failed"] == 1 and verbs["passed"] == 2  # the quiz lesson, then its module
    kinds = Counter(s["object"]["definition"]["type"].rsplit("/", 1)[1] for s in found if s["verb"]["id"] == ADL + "completed")
    assert kinds == Counter({"lesson": 3, "module": 2, "course": 1, "video": 1})
    assert verbs["progressed"] >= 3
    registrations = {s["context"]["registration"] for s in found}
    assert len(registrations) == 1
    assert len({s["id"] for s in found}) == len(found)
    # Time-ordered ids (decision 0018): each a version 7 UUID, in the order the statements were stored.
    assert {uuid.UUID(s["id"]).version for s in found} == {7}
    assert [s["id"] for s in found] == sorted(s["id"] for s in found)


def test_answered_carries_the_interaction_and_its_result(tmp_path: Path) -> None:
    client, store = make_app(course_with_quiz(tmp_path), tmp_path / "x.db")
    journey(client)
    found = statements(store)
    attempts = [s for s in found if s["object"]["id"].endswith("/define-small-change")]
    assert [a["result"]["success"] for a in attempts] == [False, True]
    first = attempts[0]
    definition = first["object"]["definition"]
    assert definition["interactionType"] == "choice" and definition["correctResponsesPattern"] == ["1"]
    assert [c["id"] for c in definition["choices"]] == ["0", "1", "2"]
    assert first["result"]["response"] == "0" and first["result"]["score"] == {"scaled": 0.0, "raw": 0.0, "min": 0, "max": 1}
    assert first["context"]["contextActivities"]["parent"][0]["id"].endswith("/01-intro/lesson")
    assert first["context"]["contextActivities"]["grouping"][0]["id"] == "https://learn.example.gov.uk/courses/demo"
    assert first["context"]["extensions"]["https://w3id.org/xapi/masterclass/extensions/department"] == "Cabinet Office"
    assert first["context"]["language"] == "en-GB" and first["context"]["platform"] == "Masterclass"
    assert first["actor"]["account"]["homePage"] == "http://127.0.0.1:8000" and "mbox" not in first["actor"]
    assert first["timestamp"].endswith("+00:00")
    poll = next(s for s in found if s["object"]["id"].endswith("/confidence-start"))
    assert poll["object"]["definition"]["interactionType"] == "likert" and poll["result"]["response"] == "4"
    reflection = next(s for s in found if s["object"]["id"].endswith("/first-thoughts"))
    assert "response" not in reflection["result"] and "eleven" not in json.dumps(reflection)
    course_done = next(s for s in found if s["verb"]["id"] == ADL + "completed" and s["object"]["id"].endswith("/demo"))
    assert course_done["result"]["duration"].startswith("PT")


def test_email_only_when_configured(tmp_path: Path) -> None:
    client, store = make_app(course_with_quiz(tmp_path), tmp_path / "x.db", xapi_include_email="true")
    register(client)
    client.get("/demo/01-intro/lesson")
    actors = {json.dumps(s["actor"], sort_keys=True) for s in statements(store)}
    assert actors == {json.dumps({"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:ada@example.gov.uk"},
                                 sort_keys=True)}


def test_video_player_events_follow_the_video_profile(tmp_path: Path) -> None:
    client, store = make_app(course_with_quiz(tmp_path), tmp_path / "x.db")
    register(client)
    lesson = "/demo/01-intro/lesson"
    token = csrf(client, lesson)
    url = f"{lesson}/blocks/intro/video-events"
    headers = {"X-CSRF-Token": token}
    assert client.post(url + "?event=played&time=0&length=64.2", headers=headers).status_code == 204
    assert client.post(url + "?event=seeked&from=3.5&to=20&length=64.2", headers=headers).status_code == 204
    assert client.post(url + "?event=paused&time=21.25&progress=0.4", headers=headers).status_code == 204
    assert client.post(url + "?event=played&time=0").status_code == 403  # no CSRF token
    assert client.post(url + "?event=rewound&time=0", headers=headers).status_code == 400
    assert client.post(url + "?event=seeked&from=3", headers=headers).status_code == 400
    assert client.post(f"{lesson}/blocks/ready/video-events?event=played&time=0", headers=headers).status_code == 404
    video = [s for s in statements(store) if s["object"]["id"].endswith("/intro")]
    for statement in video:
        validate_statement(statement)
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in video] == ["played", "seeked", "paused"]
    ext = "https://w3id.org/xapi/video/extensions/"
    assert video[0]["context"]["extensions"][ext + "length"] == 64.2
    assert video[1]["result"]["extensions"] == {ext + "time-from": 3.5, ext + "time-to": 20.0}
    assert video[2]["result"]["extensions"] == {ext + "time": 21.25, ext + "progress": 0.4}
    assert video[0]["object"]["definition"]["type"] == "https://w3id.org/xapi/video/activity-type/video"


def test_an_lms_with_read_credentials_pages_through_every_record(tmp_path: Path) -> None:
    from engine.xapi.lrs import create_credential

    client, store = make_app(course_with_quiz(tmp_path), tmp_path / "x.db")
    journey(client)
    for n in range(3):
        other = TestClient(client.app, follow_redirects=False)
        register(other, email=f"learner{n}@example.gov.uk", name=f"Learner {n}")
        other.get("/demo/01-intro/lesson")
    key, secret = create_credential(store, "lms", "read")
    headers = {"X-Experience-API-Version": "1.0.3"}
    url = "/xapi/statements?limit=7"
    seen: list[str] = []
    while url:
        response = client.get(url, headers=headers, auth=(key, secret))
        assert response.status_code == 200 and response.headers["X-Experience-API-Version"].startswith("1.0")
        page = response.json()
        seen += [s["id"] for s in page["statements"]]
        url = page["more"]
    stored = [i for (i,) in store.conn.execute("SELECT id FROM statements")]
    assert sorted(seen) == sorted(stored) and len(seen) == len(set(seen))
    write = client.post("/xapi/statements", headers=headers, auth=(key, secret), json=statements(store)[0])
    assert write.status_code == 403
    assert client.get("/xapi/statements", headers=headers, auth=(key, "wrong")).status_code == 401
