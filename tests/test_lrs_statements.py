"""The Statement resource: storing, completing, fetching, conflicts, voiding and formats."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest
from test_lrs_helpers import ACTIVITY, BASE_URL, VERB, XAPI, agent, make_lrs, new_id, statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


def count(x: XAPI) -> int:
    with x.store.transaction() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0])


def test_put_then_get_round_trip(x: XAPI) -> None:
    sid = new_id()
    sent = statement(id=sid, timestamp="2024-05-01T09:30:00.000+01:00")
    response = x.put("/statements", params={"statementId": sid}, json=sent)
    assert response.status_code == 204, response.text
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    got = x.get("/statements", params={"statementId": sid})
    assert got.status_code == 200
    body = got.json()
    for key in ("actor", "verb", "object", "timestamp", "id"):
        assert body[key] == sent[key]
    assert got.headers["Last-Modified"].endswith("GMT")
    assert "X-Experience-API-Consistent-Through" in got.headers


def test_put_without_id_in_body_takes_the_parameter(x: XAPI) -> None:
    sid = new_id()
    assert x.put("/statements", params={"statementId": sid}, json=statement()).status_code == 204
    assert x.get("/statements", params={"statementId": sid}).json()["id"] == sid


def test_put_checks_its_parameter(x: XAPI) -> None:
    missing = x.put("/statements", json=statement())
    assert (missing.status_code, missing.json()["field"], missing.json()["rule"]) == (400, "statementId", "required")
    bad = x.put("/statements", params={"statementId": "not-a-uuid"}, json=statement())
    assert (bad.status_code, bad.json()["rule"]) == (400, "uuid")
    other = x.put("/statements", params={"statementId": new_id()}, json=statement(id=new_id()))
    assert (other.status_code, other.json()["rule"]) == (400, "statement-id")
    batch = x.put("/statements", params={"statementId": new_id()}, json=[statement()])
    assert batch.status_code == 400


def test_post_single_and_batch_return_ids_in_order(x: XAPI) -> None:
    [single] = x.store_statements(statement())
    given = new_id()
    ids = x.store_statements([statement(), statement(id=given), statement()])
    assert len(ids) == 3 and ids[1] == given and len(set(ids)) == 3
    # The ids the LRS makes grow with time (decision 0018); the one the client gave is kept as it is.
    assert [uuid.UUID(i).version for i in (single, ids[0], ids[2])] == [7, 7, 7]
    assert single < ids[0] < ids[2]
    for ident in [single, *ids]:
        assert x.get("/statements", params={"statementId": ident}).status_code == 200


def test_the_lrs_completes_statements(x: XAPI) -> None:
    forged = {"objectType": "Agent", "mbox": "mailto:boss@example.gov.uk"}
    [ident] = x.store_statements(statement(authority=forged, stored="2001-01-01T00:00:00Z"))
    body = x.get("/statements", params={"statementId": ident}).json()
    assert body["authority"] == {"objectType": "Agent", "account": {"homePage": BASE_URL, "name": "tester"}}
    assert body["version"] == "1.0.0"
    stored = datetime.fromisoformat(body["stored"])
    assert stored.utcoffset() is not None and stored.year > 2001
    assert body["timestamp"] == body["stored"]


def test_statement_version_is_kept_and_context_activities_become_arrays(x: XAPI) -> None:
    sent = statement(version="1.0.3", context={"contextActivities": {"parent": {"id": "https://example.com/p"}}})
    [ident] = x.store_statements(sent)
    body = x.get("/statements", params={"statementId": ident}).json()
    assert body["version"] == "1.0.3"
    assert body["context"]["contextActivities"]["parent"] == [{"id": "https://example.com/p"}]


def test_same_id_same_statement_is_accepted_once(x: XAPI) -> None:
    sid = new_id()
    sent = statement(id=sid)
    assert x.put("/statements", params={"statementId": sid}, json=sent).status_code == 204
    assert x.put("/statements", params={"statementId": sid}, json=sent).status_code == 204
    assert x.post("/statements", json=[sent]).json() == [sid]
    assert count(x) == 1


def test_same_id_different_statement_conflicts(x: XAPI) -> None:
    sid = new_id()
    assert x.put("/statements", params={"statementId": sid}, json=statement(id=sid)).status_code == 204
    changed = statement(id=sid, verb={"id": "http://adlnet.gov/expapi/verbs/completed"})
    response = x.put("/statements", params={"statementId": sid}, json=changed)
    assert response.status_code == 409
    assert response.json()["rule"] == "conflict"
    # A batch with a conflicting statement stores nothing at all.
    assert x.post("/statements", json=[statement(), changed]).status_code == 409
    assert count(x) == 1


def test_differences_the_lrs_may_make_are_not_conflicts(x: XAPI) -> None:
    sid = new_id()
    sent = statement(id=sid, timestamp="2024-05-01T10:00:00+01:00",
                     context={"contextActivities": {"parent": {"id": "https://example.com/p"}}})
    assert x.post("/statements", json=sent).status_code == 200
    again = statement(id=sid, timestamp="2024-05-01T09:00:00.000Z",
                      context={"contextActivities": {"parent": [{"id": "https://example.com/p"}]}})
    again["actor"]["mbox"] = "mailto:ADA@EXAMPLE.GOV.UK"
    assert x.post("/statements", json=again).status_code == 200


def test_a_batch_with_one_invalid_statement_stores_nothing(x: XAPI) -> None:
    bad = statement(verb={"id": "not an iri"})
    response = x.post("/statements", json=[statement(), statement(), bad, statement()])
    assert response.status_code == 400
    assert response.json()["field"] == "[2].verb.id"
    assert response.json()["rule"] == "iri"
    assert count(x) == 0


def test_a_batch_with_a_repeated_id_is_rejected(x: XAPI) -> None:
    sid = new_id()
    response = x.post("/statements", json=[statement(id=sid), statement(id=sid)])
    assert (response.status_code, response.json()["rule"]) == (400, "duplicate-id")
    assert count(x) == 0


def test_unknown_statement_ids_are_404(x: XAPI) -> None:
    assert x.get("/statements", params={"statementId": new_id()}).status_code == 404
    assert x.get("/statements", params={"voidedStatementId": new_id()}).status_code == 404


def test_single_fetch_parameters(x: XAPI) -> None:
    sid = new_id()
    both = x.get("/statements", params={"statementId": sid, "voidedStatementId": sid})
    assert both.status_code == 400
    extra = x.get("/statements", params={"statementId": sid, "verb": VERB})
    assert (extra.status_code, extra.json()["field"]) == (400, "verb")
    assert x.get("/statements", params={"statementId": "nope"}).status_code == 400


def void(target: str) -> dict[str, object]:
    return statement(verb={"id": VOIDED, "display": {"en": "voided"}},
                     object={"objectType": "StatementRef", "id": target})


def test_voiding(x: XAPI) -> None:
    [target] = x.store_statements(statement())
    [voiding] = x.store_statements(void(target))
    assert x.get("/statements", params={"statementId": target}).status_code == 404
    got = x.get("/statements", params={"voidedStatementId": target})
    assert got.status_code == 200 and got.json()["id"] == target
    # The voiding statement is an ordinary statement.
    assert x.get("/statements", params={"statementId": voiding}).status_code == 200
    assert x.get("/statements", params={"voidedStatementId": voiding}).status_code == 404
    ids = [s["id"] for s in x.query()["statements"]]
    assert ids == [voiding]


def test_a_voiding_statement_cannot_be_voided(x: XAPI) -> None:
    [target] = x.store_statements(statement())
    [voiding] = x.store_statements(void(target))
    response = x.post("/statements", json=void(voiding))
    assert (response.status_code, response.json()["rule"], response.json()["field"]) == (400, "void-voiding",
                                                                                         "object.id")
    # Nor within one batch.
    first = new_id()
    batch = x.post("/statements", json=[{**void(new_id()), "id": first}, void(first)])
    assert batch.status_code == 400
    assert x.get("/statements", params={"statementId": voiding}).status_code == 200


def test_voiding_needs_a_statement_ref(x: XAPI) -> None:
    response = x.post("/statements", json=statement(verb={"id": VOIDED}))
    assert (response.status_code, response.json()["rule"]) == (400, "voiding-object")


def test_a_statement_arriving_after_its_voiding_statement_is_voided(x: XAPI) -> None:
    late = new_id()
    x.store_statements(void(late))
    x.store_statements(statement(id=late))
    assert x.get("/statements", params={"statementId": late}).status_code == 404
    assert x.get("/statements", params={"voidedStatementId": late}).status_code == 200
    # Also when both come in one batch, the voiding statement first.
    later = new_id()
    x.store_statements([void(later), statement(id=later)])
    assert x.get("/statements", params={"voidedStatementId": later}).status_code == 200


def test_format_ids(x: XAPI) -> None:
    group = {"objectType": "Group", "name": "Team", "member": [agent("ada"), agent("bob")]}
    sent = statement(context={"instructor": agent("cy"), "team": group,
                              "contextActivities": {"parent": [{"id": "https://example.com/p",
                                                                "definition": {"name": {"en": "P"}}}]}})
    [ident] = x.store_statements(sent)
    body = x.get("/statements", params={"statementId": ident, "format": "ids"}).json()
    assert body["actor"] == {"objectType": "Agent", "mbox": "mailto:ada@example.gov.uk"}
    assert body["verb"] == {"id": VERB}
    assert body["object"] == {"objectType": "Activity", "id": ACTIVITY}
    assert body["context"]["instructor"] == {"objectType": "Agent", "mbox": "mailto:cy@example.gov.uk"}
    assert body["context"]["team"] == {"objectType": "Group", "member": [
        {"objectType": "Agent", "mbox": "mailto:ada@example.gov.uk"},
        {"objectType": "Agent", "mbox": "mailto:bob@example.gov.uk"}]}
    assert body["context"]["contextActivities"]["parent"] == [{"objectType": "Activity",
                                                               "id": "https://example.com/p"}]
    queried = x.query(format="ids")["statements"][0]
    assert queried["verb"] == {"id": VERB}


def test_format_canonical_picks_one_language(x: XAPI) -> None:
    [ident] = x.store_statements(statement())
    later = statement()
    later["object"]["definition"] = {"description": {"en-GB": "The first lesson", "fr": "La première leçon"}}
    x.store_statements(later)
    french = x.get("/statements", params={"statementId": ident, "format": "canonical"},
                   headers={"Accept-Language": "fr-CA, fr;q=0.9, en;q=0.5"}).json()
    assert french["verb"]["display"] == {"fr": "a vécu"}
    # The canonical definition merges what later statements said about the activity.
    assert french["object"]["definition"]["name"] == {"fr": "Leçon 1"}
    assert french["object"]["definition"]["description"] == {"fr": "La première leçon"}
    anything = x.get("/statements", params={"statementId": ident, "format": "canonical"}).json()
    assert len(anything["verb"]["display"]) == 1
    assert x.get("/statements", params={"statementId": ident, "format": "full"}).status_code == 400


def test_exact_format_returns_what_was_sent(x: XAPI) -> None:
    sent = statement(result={"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "duration": "PT1M",
                             "extensions": {"https://example.com/ext": None}})
    [ident] = x.store_statements(sent)
    body = x.get("/statements", params={"statementId": ident, "format": "exact"}).json()
    assert body["result"] == sent["result"]
    assert body["verb"] == sent["verb"]


def test_head_returns_headers_only(x: XAPI) -> None:
    [ident] = x.store_statements(statement())
    get = x.get("/statements", params={"statementId": ident})
    head = x.head("/statements", params={"statementId": ident})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["X-Experience-API-Version"] == "1.0.3"
    assert x.head("/statements", params={"statementId": new_id()}).status_code == 404


def test_version_2_requests(x: XAPI) -> None:
    sent = statement(context={"contextAgents": [{"objectType": "contextAgent", "agent": agent("bob"),
                                                 "relevantTypes": ["https://example.com/types/mentor"]}]})
    response = x.post("/statements", json=sent, version="2.0.0")
    assert response.status_code == 200, response.text
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    body = x.get("/statements", params={"statementId": response.json()[0]}, version="2.0.0").json()
    assert body["version"] == "2.0.0"
    # contextAgents are 2.0 only.
    old = x.post("/statements", json=sent)
    assert (old.status_code, old.json()["field"], old.json()["rule"]) == (400, "context.contextAgents",
                                                                          "unknown-property")


def test_statements_from_the_lrs_are_indexed_for_queries(x: XAPI) -> None:
    sent = statement(context={"registration": new_id(), "instructor": agent("cy")})
    [ident] = x.store_statements(sent)
    with x.store.transaction() as conn:
        row = conn.execute("SELECT verb, actor, object_activity, registration FROM statements WHERE id = ?",
                           (ident,)).fetchone()
        agents = {a for (a,) in conn.execute(
            "SELECT t.term FROM statement_agents a JOIN lrs_terms t ON t.id = a.agent")}
    assert row == (VERB, "mbox:mailto:ada@example.gov.uk", ACTIVITY, sent["context"]["registration"])
    assert "mbox:mailto:cy@example.gov.uk" in agents


def test_statements_can_be_queued_for_external_endpoints(tmp_path: Path) -> None:
    woken: list[bool] = []
    x = make_lrs(tmp_path, endpoints=lambda: ["lms"], on_saved=lambda: woken.append(True))
    x.store_statements([statement(), statement()])
    with x.store.transaction() as conn:
        queued = conn.execute("SELECT endpoint, COUNT(*) FROM outbox GROUP BY endpoint").fetchall()
    assert queued == [("lms", 2)]
    assert woken == [True]
    x.get("/statements")
    assert woken == [True]  # only when something was queued
