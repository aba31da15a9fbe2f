"""State, Activity Profile and Agent Profile documents (with ETags), and the Activities and Agents resources."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import ACTIVITY, XAPI, agent, make_lrs, new_id, statement

AGENT = json.dumps({"mbox": "mailto:ada@example.gov.uk"})


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


def state(**extra: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": AGENT, **extra}


def etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'


def test_state_round_trip(x: XAPI) -> None:
    doc = b'{"bookmark": "lesson-3"}'
    put = x.put("/activities/state", params=state(stateId="resume"), content=doc,
                headers={"Content-Type": "application/json"})
    assert put.status_code == 204, put.text
    got = x.get("/activities/state", params=state(stateId="resume"))
    assert got.status_code == 200
    assert got.content == doc
    assert got.headers["content-type"] == "application/json"
    assert got.headers["ETag"] == etag(doc)
    assert got.headers["Last-Modified"].endswith("GMT")
    head = x.head("/activities/state", params=state(stateId="resume"))
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == etag(doc)
    # The same agent however it is written: key order and mbox case do not matter.
    again = x.get("/activities/state", params={"activityId": ACTIVITY, "agent": json.dumps(
        {"mbox": "mailto:ADA@example.gov.uk", "objectType": "Agent"}), "stateId": "resume"})
    assert again.content == doc


def test_state_without_concurrency_headers_may_be_replaced(x: XAPI) -> None:
    for text in (b"one", b"two"):
        assert x.put("/activities/state", params=state(stateId="s"), content=text,
                     headers={"Content-Type": "text/plain"}).status_code == 204
    assert x.get("/activities/state", params=state(stateId="s")).content == b"two"


def test_state_registration_is_part_of_the_context(x: XAPI) -> None:
    registration = new_id()
    x.put("/activities/state", params=state(stateId="a", registration=registration), content=b"1")
    x.put("/activities/state", params=state(stateId="b"), content=b"2")
    assert x.get("/activities/state", params=state(registration=registration)).json() == ["a"]
    assert x.get("/activities/state", params=state()).json() == ["b"]
    assert x.get("/activities/state", params=state(stateId="a")).status_code == 404
    assert x.get("/activities/state", params=state(registration="nope")).json()["rule"] == "uuid"


def test_state_ids_list_and_since(x: XAPI) -> None:
    for name in ("a", "b", "c"):
        x.put("/activities/state", params=state(stateId=name), content=name.encode())
    with x.store.transaction() as conn:
        conn.execute("UPDATE documents SET updated = '2024-01-01T00:00:00.000+00:00' WHERE doc_id = 'a'")
    listed = x.get("/activities/state", params=state())
    assert listed.json() == ["a", "b", "c"]
    assert listed.headers["Last-Modified"].endswith("GMT")
    assert x.get("/activities/state", params=state(since="2024-06-01T00:00:00Z")).json() == ["b", "c"]


def test_state_delete_one_and_all(x: XAPI) -> None:
    registration = new_id()
    for name in ("a", "b"):
        x.put("/activities/state", params=state(stateId=name), content=b"x")
    x.put("/activities/state", params=state(stateId="r", registration=registration), content=b"x")
    assert x.delete("/activities/state", params=state(stateId="a")).status_code == 204
    assert x.get("/activities/state", params=state()).json() == ["b"]
    assert x.delete("/activities/state", params=state()).status_code == 204
    assert x.get("/activities/state", params=state()).json() == []
    assert x.get("/activities/state", params=state(registration=registration)).json() == ["r"]


def test_post_merges_json_documents(x: XAPI) -> None:
    json_type = {"Content-Type": "application/json"}
    x.post("/activities/state", params=state(stateId="vars"), json={"x": "foo", "y": "bar"}, headers=json_type)
    merged = x.post("/activities/state", params=state(stateId="vars"), json={"x": "bash", "z": "faz"})
    assert merged.status_code == 204
    assert x.get("/activities/state", params=state(stateId="vars")).json() == {"x": "bash", "y": "bar", "z": "faz"}
    not_json = x.post("/activities/state", params=state(stateId="vars"), content=b"plain",
                      headers={"Content-Type": "text/plain"})
    assert (not_json.status_code, not_json.json()["rule"]) == (400, "merge")
    x.put("/activities/state", params=state(stateId="text"), content=b"plain", headers={"Content-Type": "text/plain"})
    onto_text = x.post("/activities/state", params=state(stateId="text"), json={"a": 1})
    assert onto_text.status_code == 400
    assert x.get("/activities/state", params=state(stateId="text")).content == b"plain"
    array = x.post("/activities/state", params=state(stateId="vars"), json=[1, 2])
    assert (array.status_code, array.json()["rule"]) == (400, "json")


def test_state_parameters_are_checked(x: XAPI) -> None:
    no_activity = x.get("/activities/state", params={"agent": AGENT, "stateId": "s"})
    assert (no_activity.status_code, no_activity.json()["field"]) == (400, "activityId")
    group = json.dumps({"objectType": "Group", "mbox": "mailto:team@example.gov.uk"})
    assert x.get("/activities/state", params=state(agent=group)).json()["rule"] == "object-type"
    assert x.get("/activities/state", params=state(agent="{}")).json()["rule"] == "one-ifi"
    assert x.put("/activities/state", params=state(), content=b"x").json()["field"] == "stateId"
    assert x.put("/activities/state", params=state(stateId="s", since="2024-01-01T00:00:00Z"),
                 content=b"x").json()["rule"] == "unknown-parameter"


@pytest.mark.parametrize(("path", "params"), [
    ("/activities/profile", {"activityId": ACTIVITY, "profileId": "p"}),
    ("/agents/profile", {"agent": AGENT, "profileId": "p"}),
])
def test_profiles_use_etags(x: XAPI, path: str, params: dict[str, str]) -> None:
    first, second = b'{"a": 1}', b'{"a": 2}'
    json_type = {"Content-Type": "application/json"}
    created = x.put(path, params=params, content=first, headers={**json_type, "If-None-Match": "*"})
    assert created.status_code == 204, created.text
    tag = x.get(path, params=params).headers["ETag"]
    assert tag == etag(first)
    # A PUT to an existing profile with neither header conflicts.
    bare = x.put(path, params=params, content=second, headers=json_type)
    assert (bare.status_code, bare.json()["rule"]) == (409, "etag-required")
    # If-None-Match: * fails once it exists; a stale If-Match fails too.
    assert x.put(path, params=params, content=second, headers={**json_type, "If-None-Match": "*"}).status_code == 412
    assert x.put(path, params=params, content=second,
                 headers={**json_type, "If-Match": etag(b"stale")}).status_code == 412
    assert x.get(path, params=params).content == first
    assert x.put(path, params=params, content=second, headers={**json_type, "If-Match": tag}).status_code == 204
    assert x.get(path, params=params).content == second
    # POST and DELETE honour If-Match too.
    assert x.post(path, params=params, json={"b": 1}, headers={"If-Match": tag}).status_code == 412
    assert x.post(path, params=params, json={"b": 1}, headers={"If-Match": etag(second)}).status_code == 204
    assert x.get(path, params=params).json() == {"a": 2, "b": 1}
    assert x.delete(path, params=params, headers={"If-Match": etag(second)}).status_code == 412
    assert x.delete(path, params=params, headers={"If-Match": "*"}).status_code == 204
    assert x.get(path, params=params).status_code == 404
    # If-Match on a document that does not exist fails.
    assert x.put(path, params=params, content=first, headers={**json_type, "If-Match": "*"}).status_code == 412


def test_profile_lists(x: XAPI) -> None:
    for name in ("p1", "p2"):
        x.put("/activities/profile", params={"activityId": ACTIVITY, "profileId": name}, content=b"x",
              headers={"If-None-Match": "*"})
        x.put("/agents/profile", params={"agent": AGENT, "profileId": name}, content=b"x",
              headers={"If-None-Match": "*"})
    assert x.get("/activities/profile", params={"activityId": ACTIVITY}).json() == ["p1", "p2"]
    assert x.get("/agents/profile", params={"agent": AGENT}).json() == ["p1", "p2"]
    assert x.get("/agents/profile", params={"agent": AGENT, "since": "2999-01-01T00:00:00Z"}).json() == []
    # Deleting a profile needs its id.
    assert x.delete("/agents/profile", params={"agent": AGENT}).json()["field"] == "profileId"


def test_documents_are_kept_apart(x: XAPI) -> None:
    x.put("/activities/state", params=state(stateId="same"), content=b"state")
    x.put("/activities/profile", params={"activityId": ACTIVITY, "profileId": "same"}, content=b"activity",
          headers={"If-None-Match": "*"})
    x.put("/agents/profile", params={"agent": AGENT, "profileId": "same"}, content=b"agent",
          headers={"If-None-Match": "*"})
    other = json.dumps({"mbox": "mailto:bob@example.gov.uk"})
    assert x.get("/activities/state", params=state(stateId="same", agent=other)).status_code == 404
    assert x.get("/activities/state", params=state(stateId="same")).content == b"state"
    assert x.get("/activities/profile", params={"activityId": ACTIVITY, "profileId": "same"}).content == b"activity"
    assert x.get("/agents/profile", params={"agent": AGENT, "profileId": "same"}).content == b"agent"


def test_activities_resource(x: XAPI) -> None:
    unknown = x.get("/activities", params={"activityId": "https://example.com/never-seen"})
    assert unknown.json() == {"objectType": "Activity", "id": "https://example.com/never-seen"}
    x.store_statements(statement())
    later = statement()
    later["object"]["definition"] = {"name": {"de": "Lektion 1"}, "description": {"en-GB": "The first lesson"}}
    x.store_statements(later)
    got = x.get("/activities", params={"activityId": ACTIVITY}).json()
    assert got["id"] == ACTIVITY
    assert got["definition"]["name"] == {"en-GB": "Lesson 1", "fr": "Leçon 1", "de": "Lektion 1"}
    assert got["definition"]["description"] == {"en-GB": "The first lesson"}
    assert got["definition"]["type"] == "http://adlnet.gov/expapi/activities/lesson"
    # Activities seen only as context are known too.
    x.store_statements(statement(context={"contextActivities": {"parent": [
        {"id": "https://example.com/course", "definition": {"name": {"en": "Course"}}}]}}))
    parent = x.get("/activities", params={"activityId": "https://example.com/course"}).json()
    assert parent["definition"] == {"name": {"en": "Course"}}
    assert x.get("/activities", params={}).json()["field"] == "activityId"
    assert x.get("/activities", params={"activityId": "lesson 1"}).json()["rule"] == "iri"


def test_agents_resource(x: XAPI) -> None:
    x.store_statements([statement(actor=agent("ada")),
                        statement(actor={"mbox": "mailto:ada@example.gov.uk", "name": "Ada L."})])
    person = x.get("/agents", params={"agent": AGENT}).json()
    assert person["objectType"] == "Person"
    assert person["mbox"] == ["mailto:ada@example.gov.uk"]
    assert set(person["name"]) == {"Ada", "Ada L."}
    account: dict[str, Any] = {"objectType": "Agent", "account": {"homePage": "https://example.com", "name": "7"}}
    nobody = x.get("/agents", params={"agent": json.dumps(account)}).json()
    assert nobody == {"objectType": "Person", "account": [account["account"]]}
    group = json.dumps({"objectType": "Group", "mbox": "mailto:team@example.gov.uk"})
    assert x.get("/agents", params={"agent": group}).status_code == 400


def test_a_document_stored_as_html_cannot_run_as_a_page_of_the_service(x: XAPI) -> None:
    page = b"<script>fetch('/my-data/download')</script>"
    assert x.put("/activities/state", params=state(stateId="page"), content=page,
                 headers={"Content-Type": "text/html"}).status_code == 204
    got = x.get("/activities/state", params=state(stateId="page"))
    assert got.status_code == 200 and got.content == page
    assert got.headers["content-disposition"] == "attachment"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    # Every answer of the LRS carries them, errors too.
    missing = x.get("/activities/state", params=state(stateId="nothing"))
    assert missing.status_code == 404 and "sandbox" in missing.headers["content-security-policy"]
