"""Statement queries: filters, StatementRef targeting, voided statements, paging with `more`, and indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_lrs_helpers import ACTIVITY, BASE_URL, VERB, XAPI, agent, make_lrs, new_id, statement

from engine.storage.lrs_query import StatementQuery, explain_query

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
OTHER = "https://learn.example.gov.uk/course/lesson-2"
COURSE = "https://learn.example.gov.uk/course"


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


def ids(result: dict[str, Any]) -> list[str]:
    return [s["id"] for s in result["statements"]]


def as_param(value: dict[str, Any]) -> str:
    return json.dumps(value)


def test_empty_result(x: XAPI) -> None:
    assert x.query() == {"statements": [], "more": ""}


def test_newest_stored_first_unless_ascending(x: XAPI) -> None:
    stored = x.store_statements([statement() for _ in range(5)])
    assert ids(x.query()) == stored[::-1]
    assert ids(x.query(ascending="true")) == stored
    assert x.get("/statements", params={"ascending": "yes"}).status_code == 400


def test_agent_filter_matches_by_identifier(x: XAPI) -> None:
    ada = x.store_statements(statement())  # actor ada, by mbox
    bob = x.store_statements(statement(actor=agent("bob")))
    as_object = x.store_statements(statement(object=agent("ada")))
    in_group = x.store_statements(statement(actor={"objectType": "Group", "member": [agent("cy"), agent("ada")]}))
    as_instructor = x.store_statements(statement(actor=agent("bob"), context={"instructor": agent("ada")}))
    found = ids(x.query(agent=as_param({"mbox": "mailto:ada@example.gov.uk"})))
    assert set(found) == set(ada + as_object + in_group)
    related = ids(x.query(agent=as_param({"mbox": "mailto:ada@example.gov.uk"}), related_agents="true"))
    assert set(related) == set(ada + as_object + in_group + as_instructor)
    assert ids(x.query(agent=as_param(agent("bob")))) == as_instructor + bob  # newest first


def test_agent_filter_by_account_and_authority(x: XAPI) -> None:
    learner = {"objectType": "Agent", "account": {"homePage": BASE_URL, "name": "L-123"}}
    mine = x.store_statements(statement(actor=learner))
    x.store_statements(statement())
    assert ids(x.query(agent=as_param(learner))) == mine
    # Every statement's authority is the credential that stored it.
    authority = {"account": {"homePage": BASE_URL, "name": "tester"}}
    assert ids(x.query(agent=as_param(authority))) == []
    assert len(ids(x.query(agent=as_param(authority), related_agents="true"))) == 2


def test_agent_filter_is_validated(x: XAPI) -> None:
    bad = x.get("/statements", params={"agent": "{not json"})
    assert (bad.status_code, bad.json()["field"]) == (400, "agent")
    two = x.get("/statements", params={"agent": as_param({"mbox": "mailto:a@b.c", "openid": "https://a.b/"})})
    assert (two.status_code, two.json()["rule"]) == (400, "one-ifi")


def test_verb_activity_and_registration_filters(x: XAPI) -> None:
    registration = new_id()
    lesson = x.store_statements(statement())
    done = x.store_statements(statement(verb={"id": COMPLETED}, context={"registration": registration}))
    child = x.store_statements(statement(object={"id": OTHER},
                                         context={"contextActivities": {"parent": [{"id": ACTIVITY}]}}))
    assert ids(x.query(verb=COMPLETED)) == done
    assert set(ids(x.query(verb=VERB))) == set(lesson + child)
    assert set(ids(x.query(activity=ACTIVITY))) == set(lesson + done)
    assert set(ids(x.query(activity=ACTIVITY, related_activities="true"))) == set(lesson + done + child)
    assert ids(x.query(registration=registration)) == done
    assert ids(x.query(verb=VERB, activity=OTHER)) == child
    assert ids(x.query(verb=COMPLETED, activity=OTHER)) == []
    assert x.get("/statements", params={"verb": "completed"}).json()["rule"] == "iri"
    assert x.get("/statements", params={"registration": "abc"}).json()["rule"] == "uuid"


def test_related_activities_reach_into_sub_statements(x: XAPI) -> None:
    sub = {"objectType": "SubStatement", "actor": agent("bob"), "verb": {"id": VERB}, "object": {"id": OTHER}}
    planned = x.store_statements(statement(object=sub))
    assert ids(x.query(activity=OTHER)) == []
    assert ids(x.query(activity=OTHER, related_activities="true")) == planned
    assert ids(x.query(agent=as_param(agent("bob")), related_agents="true")) == planned


def test_since_and_until_use_stored_time(x: XAPI) -> None:
    first, middle, last = x.store_statements([statement(), statement(), statement()])
    with x.store.transaction() as conn:  # give them distinct, known stored times
        for ident, second in ((first, 1), (middle, 2), (last, 3)):
            conn.execute("UPDATE statements SET stored = ? WHERE id = ?",
                         (f"2024-01-01T00:00:0{second}.000+00:00", ident))
    assert ids(x.query(since="2024-01-01T00:00:01.000Z")) == [last, middle]  # since is exclusive
    assert ids(x.query(until="2024-01-01T00:00:02.000Z")) == [middle, first]  # until is inclusive
    assert ids(x.query(since="2024-01-01T01:00:01+01:00", until="2024-01-01T00:00:02.5Z")) == [middle]
    assert ids(x.query(since="2024-01-01T00:00:00.999999Z", ascending="true")) == [first, middle, last]
    assert ids(x.query(until="2023-12-31T23:59:59Z")) == []
    bad = x.get("/statements", params={"since": "yesterday"})
    assert (bad.status_code, bad.json()["field"], bad.json()["rule"]) == (400, "since", "timestamp")
    assert x.get("/statements", params={"until": "2024-01-01T00:00:00"}).json()["rule"] == "timestamp"


def test_limit(tmp_path: Path) -> None:
    x = make_lrs(tmp_path, max_limit=7)
    x.store_statements([statement() for _ in range(10)])
    assert len(ids(x.query(limit=3))) == 3
    everything = x.query(limit=0)  # 0 means as many as the server allows
    assert len(everything["statements"]) == 7 and everything["more"]
    assert len(ids(x.query(limit=100))) == 7
    assert x.get("/statements", params={"limit": "-1"}).json()["rule"] == "limit"


def test_statements_targeting_a_match_match_too(x: XAPI) -> None:
    [original] = x.store_statements(statement())
    comment = statement(actor=agent("bob"), verb={"id": "http://adlnet.gov/expapi/verbs/commented"},
                        object={"objectType": "StatementRef", "id": original})
    [reply] = x.store_statements(comment)
    [reply_to_reply] = x.store_statements({**comment, "object": {"objectType": "StatementRef", "id": reply}})
    x.store_statements(statement(actor=agent("cy"), object={"id": OTHER}))
    expected = [reply_to_reply, reply, original]
    assert ids(x.query(activity=ACTIVITY)) == expected
    assert ids(x.query(agent=as_param(agent("ada")))) == expected
    assert ids(x.query(verb=VERB, agent=as_param(agent("ada")))) == expected
    assert ids(x.query(agent=as_param(agent("bob")))) == [reply_to_reply, reply]
    # Time filters still apply to the targeting statement itself.
    stamps = {s["id"]: s["stored"] for s in x.query()["statements"]}
    assert ids(x.query(activity=ACTIVITY, until=stamps[original])) == [original]


def test_voided_statements_are_left_out_but_voiding_statements_stay(x: XAPI) -> None:
    [kept, gone] = x.store_statements([statement(), statement()])
    [voiding] = x.store_statements(statement(verb={"id": VOIDED},
                                             object={"objectType": "StatementRef", "id": gone}))
    assert ids(x.query()) == [voiding, kept]
    # The voiding statement targets a statement about the activity, so it matches the activity filter.
    assert ids(x.query(activity=ACTIVITY)) == [voiding, kept]
    assert ids(x.query(verb=VOIDED)) == [voiding]


def page_through(x: XAPI, params: dict[str, Any], between_pages: Any = None) -> list[str]:
    seen: list[str] = []
    result = x.query(**params)
    pages = 0
    while True:
        seen += ids(result)
        pages += 1
        if not result["more"]:
            return seen
        assert result["more"].startswith("/xapi/statements?more=")
        if between_pages:
            between_pages(pages)
        response = x.get(result["more"])
        assert response.status_code == 200, response.text
        result = response.json()


def test_more_pages_do_not_repeat_or_skip_while_statements_arrive(x: XAPI) -> None:
    before = x.store_statements([statement() for _ in range(260)])
    added: list[str] = []

    def add(page: int) -> None:
        added.extend(x.store_statements([statement() for _ in range(7)]))

    seen = page_through(x, {"limit": 50}, add)
    assert seen == before[::-1]
    assert len(added) == 35
    # Ascending: everything stored before, in order, then what arrived while paging.
    more_added: list[str] = []
    seen_up = page_through(x, {"limit": 60, "ascending": "true"},
                           lambda page: more_added.extend(x.store_statements([statement() for _ in range(3)])))
    assert len(seen_up) == len(set(seen_up))
    assert seen_up[:260] == before
    assert set(seen_up[260:]) <= set(added + more_added)


def test_filtered_paging_with_interleaved_statements(x: XAPI) -> None:
    wanted: list[str] = []
    for i in range(120):
        ids_ = x.store_statements([statement(verb={"id": COMPLETED}), statement(actor=agent("bob"))])
        wanted.append(ids_[0])
        if i % 10 == 0:  # some statements about other statements, which must not break paging
            x.store_statements(statement(verb={"id": "http://example.com/liked"},
                                         object={"objectType": "StatementRef", "id": ids_[1]}))
    seen = page_through(x, {"verb": COMPLETED, "limit": 25},
                        lambda page: x.store_statements([statement(verb={"id": COMPLETED})]))
    assert seen == wanted[::-1]
    bob = page_through(x, {"agent": as_param(agent("bob")), "limit": 30})
    assert len(bob) == len(set(bob)) == 120 + 12


def test_more_tokens_are_checked(x: XAPI) -> None:
    x.store_statements([statement() for _ in range(3)])
    more = x.query(limit=1, format="ids")["more"]
    token = more.split("more=")[1]
    page = x.get("/statements", params={"more": token}).json()
    assert page["statements"][0]["verb"] == {"id": VERB}  # the token keeps the format
    assert x.get("/statements", params={"more": "garbage"}).json()["rule"] == "more"
    mixed = x.get("/statements", params={"more": token, "limit": "2"})
    assert (mixed.status_code, mixed.json()["field"]) == (400, "more")


def test_unknown_or_miscased_parameters_are_rejected(x: XAPI) -> None:
    for params in ({"Verb": VERB}, {"foo": "bar"}, {"statementid": new_id()}):
        response = x.get("/statements", params=params)
        assert (response.status_code, response.json()["rule"]) == (400, "unknown-parameter")
    twice = x.client.get(f"/xapi/statements?verb={VERB}&verb={VERB}",
                         headers={"Authorization": x.auth, "X-Experience-API-Version": "1.0.3"})
    assert twice.json()["rule"] == "duplicate-parameter"


@pytest.mark.parametrize("query", [
    StatementQuery(verb=VERB),
    StatementQuery(agent="mbox:mailto:ada@example.gov.uk"),
    StatementQuery(agent="mbox:mailto:ada@example.gov.uk", related_agents=True),
    StatementQuery(activity=ACTIVITY),
    StatementQuery(activity=ACTIVITY, related_activities=True),
    StatementQuery(registration="6e9b4c62-8c1d-4c5e-9d1e-3f0a2b1c4d5e"),
    StatementQuery(verb=VERB, activity=ACTIVITY, agent="mbox:mailto:ada@example.gov.uk", ascending=True),
    StatementQuery(verb=VERB, since="2024-01-01T00:00:00.000+00:00", until="2030-01-01T00:00:00.000+00:00"),
    StatementQuery(agent="mbox:mailto:ada@example.gov.uk", verb=VERB),
], ids=["verb", "agent", "related-agents", "activity", "related-activities", "registration", "combined", "time",
        "agent-verb"])
def test_queries_use_indexes(x: XAPI, query: StatementQuery) -> None:
    batch = []
    for i in range(600):
        batch.append(statement(actor=agent(f"learner{i % 40}"), verb={"id": f"https://example.com/verbs/{i % 7}"},
                               object={"id": f"https://example.com/activities/{i % 50}"},
                               context={"registration": new_id(),
                                        "contextActivities": {"parent": [{"id": COURSE}]}}))
    for start in range(0, 600, 200):
        x.store_statements(batch[start:start + 200])
    with x.store.transaction() as conn:
        conn.execute("ANALYZE")
        for after in (None, 300):
            plan = explain_query(conn, query, after=after)
            assert not [line for line in plan if line.startswith("SCAN")], plan
            assert any("INDEX" in line or "PRIMARY KEY" in line for line in plan), plan
