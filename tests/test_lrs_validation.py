"""Statement validation: a table of bad statements, each with the field and rule the 400 names, and good ones."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from test_lrs_helpers import XAPI, agent, make_lrs, new_id, statement

from engine.xapi.statement_json import equivalent
from engine.xapi.syntax import is_duration, is_language_tag, parse_timestamp
from engine.xapi.validate import (
    XAPIValidationError,
    validate_statement,
)

IRI = "https://example.com/x"
SHA = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"


@pytest.fixture(scope="module")
def x(tmp_path_factory: pytest.TempPathFactory) -> XAPI:
    return make_lrs(tmp_path_factory.mktemp("validation"))


def interaction(kind: str | None, **lists: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": "http://adlnet.gov/expapi/activities/cmi.interaction", **lists}
    if kind is not None:
        definition["interactionType"] = kind
    return {"objectType": "Activity", "id": IRI, "definition": definition}


def choices(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "description": {"en": i}} for i in ids]


def with_(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or with ... delete) a nested property, e.g. with_("object.definition.type", "x")."""

    def change(s: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = s
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        if value is ...:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


ATTACHMENT = {"usageType": IRI, "display": {"en": "A"}, "contentType": "text/plain", "length": 3, "sha2": SHA,
              "fileUrl": "https://example.com/a.txt"}
SUB = {"objectType": "SubStatement", "actor": agent("bob"), "verb": {"id": IRI}, "object": {"id": IRI}}

BAD: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # required properties and unknown ones
    ("no actor", with_("actor", ...), "actor", "required"),
    ("no verb", with_("verb", ...), "verb", "required"),
    ("no object", with_("object", ...), "object", "required"),
    ("unknown top-level", with_("extra", 1), "extra", "unknown-property"),
    ("miscased key", with_("Actor", agent()), "Actor", "unknown-property"),
    ("null value", with_("result", None), "result", "null"),
    ("bad id", with_("id", "not-a-uuid"), "id", "uuid"),
    ("nil uuid id", with_("id", "00000000-0000-0000-0000-000000000000"), "id", "uuid"),
    # agents and groups
    ("no ifi", with_("actor", {"name": "Nobody"}), "actor", "one-ifi"),
    ("two ifis", with_("actor.openid", "https://openid.example.com/ada"), "actor", "one-ifi"),
    ("mbox not mailto", with_("actor.mbox", "ada@example.com"), "actor.mbox", "mailto"),
    ("bad sha1sum", with_("actor", {"mbox_sha1sum": "xyz"}), "actor.mbox_sha1sum", "sha1sum"),
    ("openid not iri", with_("actor", {"openid": "not an iri"}), "actor.openid", "iri"),
    ("account without name", with_("actor", {"account": {"homePage": IRI}}), "actor.account.name", "required"),
    ("account homePage", with_("actor", {"account": {"homePage": "example.com", "name": "x"}}),
     "actor.account.homePage", "irl"),
    ("account extra", with_("actor", {"account": {"homePage": IRI, "name": "x", "id": 1}}), "actor.account.id",
     "unknown-property"),
    ("agent objectType case", with_("actor.objectType", "agent"), "actor.objectType", "object-type"),
    ("agent with member", with_("actor.member", []), "actor.member", "unknown-property"),
    ("name not string", with_("actor.name", 7), "actor.name", "type"),
    ("anonymous group no members", with_("actor", {"objectType": "Group", "name": "G"}), "actor.member",
     "required"),
    ("group in group", with_("actor", {"objectType": "Group", "member": [{"objectType": "Group",
                                                                           "mbox": "mailto:g@example.com"}]}),
     "actor.member[0].objectType", "group-member"),
    ("group member without ifi", with_("actor", {"objectType": "Group", "member": [{"name": "x"}]}),
     "actor.member[0]", "one-ifi"),
    ("identified group two ifis", with_("actor", {"objectType": "Group", "mbox": "mailto:g@example.com",
                                                  "openid": IRI}), "actor", "one-ifi"),
    # verb
    ("verb id not iri", with_("verb.id", "experienced"), "verb.id", "iri"),
    ("verb without id", with_("verb", {"display": {"en": "x"}}), "verb.id", "required"),
    ("verb display tag", with_("verb.display", {"en_US": "x"}), "verb.display.en_US", "language-tag"),
    ("verb display value", with_("verb.display", {"en": 1}), "verb.display.en", "type"),
    ("verb extra", with_("verb.name", "x"), "verb.name", "unknown-property"),
    ("voiding an activity", with_("verb.id", "http://adlnet.gov/expapi/verbs/voided"), "object.objectType",
     "voiding-object"),
    # objects
    ("object type unknown", with_("object.objectType", "Thing"), "object.objectType", "object-type"),
    ("activity id not iri", with_("object.id", "lesson 1"), "object.id", "iri"),
    ("activity id empty", with_("object.id", ""), "object.id", "iri"),
    ("activity without id", with_("object", {"objectType": "Activity"}), "object.id", "required"),
    ("definition extra", with_("object.definition.title", "x"), "object.definition.title", "unknown-property"),
    ("definition type", with_("object.definition.type", "lesson"), "object.definition.type", "iri"),
    ("definition moreInfo", with_("object.definition.moreInfo", "/about"), "object.definition.moreInfo", "irl"),
    ("definition name tag", with_("object.definition.name", {"en_GB": "x"}), "object.definition.name.en_GB",
     "language-tag"),
    ("definition extension key", with_("object.definition.extensions", {"speed": 1}),
     "object.definition.extensions.speed", "iri"),
    ("interaction type", with_("object", interaction("essay")), "object.definition.interactionType",
     "interaction-type"),
    ("choices without type", with_("object", interaction(None, choices=choices("a"))),
     "object.definition.interactionType", "required"),
    ("scale on choice", with_("object", interaction("choice", scale=choices("a"))), "object.definition.scale",
     "interaction-components"),
    ("choices on true-false", with_("object", interaction("true-false", choices=choices("a"))),
     "object.definition.choices", "interaction-components"),
    ("steps on matching", with_("object", interaction("matching", steps=choices("a"))), "object.definition.steps",
     "interaction-components"),
    ("duplicate choice id", with_("object", interaction("choice", choices=choices("a", "b", "a"))),
     "object.definition.choices[2].id", "duplicate-id"),
    ("choice without id", with_("object", interaction("choice", choices=[{"description": {"en": "x"}}])),
     "object.definition.choices[0].id", "required"),
    ("choice description", with_("object", interaction("likert", scale=[{"id": "1", "description": "one"}])),
     "object.definition.scale[0].description", "type"),
    ("pattern not strings", with_("object", interaction("numeric", correctResponsesPattern=[4])),
     "object.definition.correctResponsesPattern[0]", "type"),
    ("pattern not list", with_("object", interaction("fill-in", correctResponsesPattern="x")),
     "object.definition.correctResponsesPattern", "type"),
    ("agent object without type", with_("object", {"mbox": "mailto:bob@example.com"}), "object.objectType",
     "required"),
    ("agent object objectType", with_("object", {"objectType": "Agent"}), "object", "one-ifi"),
    ("statement ref id", with_("object", {"objectType": "StatementRef", "id": "abc"}), "object.id", "uuid"),
    ("statement ref extra", with_("object", {"objectType": "StatementRef", "id": new_id(), "definition": {}}),
     "object.definition", "unknown-property"),
    ("substatement id", with_("object", {**SUB, "id": new_id()}), "object.id", "substatement-property"),
    ("substatement stored", with_("object", {**SUB, "stored": "2024-01-01T00:00:00Z"}), "object.stored",
     "substatement-property"),
    ("substatement authority", with_("object", {**SUB, "authority": agent()}), "object.authority",
     "substatement-property"),
    ("substatement version", with_("object", {**SUB, "version": "1.0.0"}), "object.version",
     "substatement-property"),
    ("nested substatement", with_("object", {**SUB, "object": SUB}), "object.object.objectType",
     "nested-substatement"),
    ("substatement missing verb", with_("object", {k: v for k, v in SUB.items() if k != "verb"}), "object.verb",
     "required"),
    ("substatement bad actor", with_("object", {**SUB, "actor": {"mbox": "x"}}), "object.actor.mbox", "mailto"),
    # result
    ("scaled above 1", with_("result", {"score": {"scaled": 1.5}}), "result.score.scaled", "score-range"),
    ("scaled below -1", with_("result", {"score": {"scaled": -1.01}}), "result.score.scaled", "score-range"),
    ("raw above max", with_("result", {"score": {"raw": 11, "min": 0, "max": 10}}), "result.score.raw",
     "score-range"),
    ("raw below min", with_("result", {"score": {"raw": -1, "min": 0}}), "result.score.raw", "score-range"),
    ("min not below max", with_("result", {"score": {"min": 5, "max": 5}}), "result.score.min", "score-range"),
    ("score as string", with_("result", {"score": {"raw": "5"}}), "result.score.raw", "type"),
    ("score as boolean", with_("result", {"score": {"scaled": True}}), "result.score.scaled", "type"),
    ("score extra", with_("result", {"score": {"percent": 50}}), "result.score.percent", "unknown-property"),
    ("success as string", with_("result", {"success": "true"}), "result.success", "type"),
    ("completion as number", with_("result", {"completion": 1}), "result.completion", "type"),
    ("response not string", with_("result", {"response": ["a"]}), "result.response", "type"),
    ("duration", with_("result", {"duration": "1 hour"}), "result.duration", "duration"),
    ("duration empty time", with_("result", {"duration": "PT"}), "result.duration", "duration"),
    ("duration weeks mixed", with_("result", {"duration": "P4W1D"}), "result.duration", "duration"),
    ("result extension key", with_("result", {"extensions": {"not iri": 1}}), "result.extensions.not iri", "iri"),
    # context
    ("registration", with_("context", {"registration": "123"}), "context.registration", "uuid"),
    ("registration wrong variant", with_("context", {"registration": "6e9b4c62-8c1d-4c5e-1d1e-3f0a2b1c4d5e"}),
     "context.registration", "uuid"),
    ("instructor", with_("context", {"instructor": {"name": "x"}}), "context.instructor", "one-ifi"),
    ("team is an agent", with_("context", {"team": agent("bob")}), "context.team.objectType", "object-type"),
    ("context activities key", with_("context", {"contextActivities": {"parents": [{"id": IRI}]}}),
     "context.contextActivities.parents", "unknown-property"),
    ("context activity id", with_("context", {"contextActivities": {"parent": [{"id": "x"}]}}),
     "context.contextActivities.parent[0].id", "iri"),
    ("context activity single", with_("context", {"contextActivities": {"grouping": {"id": "x"}}}),
     "context.contextActivities.grouping.id", "iri"),
    ("context activities not activities", with_("context", {"contextActivities": {"other": "x"}}),
     "context.contextActivities.other", "type"),
    ("revision with agent object", lambda s: s.update(object={"objectType": "Agent", "mbox": "mailto:b@c.de"},
                                                      context={"revision": "2"}), "context.revision",
     "activity-only"),
    ("platform with statement ref", lambda s: s.update(object={"objectType": "StatementRef", "id": new_id()},
                                                       context={"platform": "web"}), "context.platform",
     "activity-only"),
    ("language", with_("context", {"language": "english!"}), "context.language", "language-tag"),
    ("context statement", with_("context", {"statement": {"id": new_id()}}), "context.statement.objectType",
     "required"),
    ("context extra", with_("context", {"mood": "good"}), "context.mood", "unknown-property"),
    # timestamps and version
    ("timestamp", with_("timestamp", "yesterday"), "timestamp", "timestamp"),
    ("timestamp without zone", with_("timestamp", "2024-05-01T12:00:00"), "timestamp", "timestamp"),
    ("timestamp negative zero", with_("timestamp", "2024-05-01T12:00:00-00:00"), "timestamp", "timestamp"),
    ("timestamp impossible", with_("timestamp", "2024-02-30T12:00:00Z"), "timestamp", "timestamp"),
    ("stored", with_("stored", "2024-05-01"), "stored", "timestamp"),
    ("version 2 in a 1.0 request", with_("version", "2.0.0"), "version", "version"),
    ("version 0.95", with_("version", "0.95"), "version", "version"),
    ("authority group", with_("authority", {"objectType": "Group", "member": [agent("a")]}), "authority",
     "authority"),
    # attachments
    ("attachment usageType", with_("attachments", [{**ATTACHMENT, "usageType": "x"}]), "attachments[0].usageType",
     "iri"),
    ("attachment display", with_("attachments", [{k: v for k, v in ATTACHMENT.items() if k != "display"}]),
     "attachments[0].display", "required"),
    ("attachment length", with_("attachments", [{**ATTACHMENT, "length": "3"}]), "attachments[0].length", "type"),
    ("attachment negative length", with_("attachments", [{**ATTACHMENT, "length": -1}]), "attachments[0].length",
     "type"),
    ("attachment sha2", with_("attachments", [{**ATTACHMENT, "sha2": "abc"}]), "attachments[0].sha2", "sha2"),
    ("attachment content type", with_("attachments", [{**ATTACHMENT, "contentType": "pdf"}]),
     "attachments[0].contentType", "content-type"),
    ("attachment fileUrl", with_("attachments", [{**ATTACHMENT, "fileUrl": "a.txt"}]), "attachments[0].fileUrl",
     "irl"),
    ("attachments not list", with_("attachments", ATTACHMENT), "attachments", "type"),
]


def bad_statement(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    sent = statement()
    change(sent)
    return sent


@pytest.mark.parametrize(("change", "field", "rule"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_statements_are_rejected_with_field_and_rule(x: XAPI, change: Callable[[dict[str, Any]], None],
                                                         field: str, rule: str) -> None:
    response = x.post("/statements", json=bad_statement(change))
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["field"], body["rule"]) == (field, rule), body
    assert field in body["error"]


def test_duplicate_properties_are_rejected(x: XAPI) -> None:
    raw = ('{"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "https://e.com/v"}, "object": {"id": "'
           + IRI + '"}, "verb": {"id": "https://e.com/w"}}')
    response = x.post("/statements", content=raw, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["rule"]) == (400, "duplicate-property")
    nan = x.post("/statements", content=raw.replace('"verb": {"id": "https://e.com/w"}', '"result": {"score": '
                                                    '{"raw": NaN}}'), headers={"Content-Type": "application/json"})
    assert nan.status_code == 400


GOOD: list[tuple[str, dict[str, Any]]] = [
    ("minimal", {"actor": {"mbox": "mailto:xapi@adlnet.gov"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/created"},
                 "object": {"id": "http://example.adlnet.gov/xapi/example/activity"}}),
    ("identified group with members", statement(actor={
        "name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group", "member": [
            {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"},
             "objectType": "Agent"},
            {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/", "objectType": "Agent"},
            {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
             "objectType": "Agent"}]})),
    ("full result and context", statement(
        result={"score": {"scaled": -1, "raw": 0, "min": -5, "max": 5.5}, "success": False, "completion": True,
                "response": "We agreed", "duration": "PT1H0M0S", "extensions": {IRI: {"any": [None, 1]}}},
        context={"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "instructor": agent("cy"),
                 "team": {"objectType": "Group", "member": [agent("bob")]},
                 "contextActivities": {"parent": [{"id": IRI, "objectType": "Activity"}],
                                       "grouping": {"id": IRI}, "category": [], "other": [{"id": IRI}]},
                 "revision": "1.2", "platform": "Masterclass", "language": "en-GB",
                 "statement": {"objectType": "StatementRef", "id": new_id()}, "extensions": {IRI: None}},
        timestamp="2015-11-18T12:17:00+00:00", version="1.0.0", attachments=[ATTACHMENT])),
    ("true-false", statement(object=interaction("true-false", correctResponsesPattern=["true"]))),
    ("choice", statement(object=interaction("choice", choices=choices("golf", "tetris"),
                                            correctResponsesPattern=["golf[,]tetris"]))),
    ("sequencing", statement(object=interaction("sequencing", choices=choices("a", "b")))),
    ("likert", statement(object=interaction("likert", scale=choices("1", "2")))),
    ("matching", statement(object=interaction("matching", source=choices("a"), target=choices("1")))),
    ("performance", statement(object=interaction("performance", steps=choices("pong")))),
    ("numeric and other", statement(object=interaction("numeric", correctResponsesPattern=["4[:]"]))),
    ("long fill-in empty pattern", statement(object=interaction("long-fill-in", correctResponsesPattern=[]))),
    ("agent object", statement(object={"objectType": "Agent", "account": {"homePage": IRI, "name": "x"}})),
    ("substatement", statement(object={**SUB, "timestamp": "2099-01-01T00:00:00Z",
                                       "context": {"contextActivities": {"parent": {"id": IRI}}}})),
    ("voiding", statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                          object={"objectType": "StatementRef", "id": new_id()})),
    ("unusual language tags", statement(verb={"id": IRI, "display": {"zh-Hant-TW": "x", "sr-Latn-RS": "y",
                                                                     "en-US-x-twain": "z", "i-klingon": "w",
                                                                     "de-CH-1996": "v", "x-private": "u"}})),
    ("durations", statement(result={"duration": "P3Y1M29DT4H35M59.14S"})),
    ("timestamp offset", statement(timestamp="2024-05-01T12:00:00.123456-05:30")),
    ("uppercase uuid", statement(id=new_id().upper())),
]


@pytest.mark.parametrize("sent", [case[1] for case in GOOD], ids=[case[0] for case in GOOD])
def test_good_statements_are_accepted(x: XAPI, sent: dict[str, Any]) -> None:
    response = x.post("/statements", json=sent)
    assert response.status_code == 200, response.text


def test_validator_paths_in_batches() -> None:
    with pytest.raises(XAPIValidationError) as caught:
        validate_statement(statement(object=interaction("choice", choices=choices("a", "b", "b"))), path="[3]")
    assert caught.value.field == "[3].object.definition.choices[2].id"
    assert caught.value.to_dict() == {"error": caught.value.message, "field": caught.value.field,
                                      "rule": "duplicate-id"}


@pytest.mark.parametrize(("tag", "ok"), [
    ("en", True), ("en-GB", True), ("zh-yue-HK", True), ("es-419", True), ("sgn-BE-FR", True), ("x-whatever", True),
    ("en-a-bbb-x-a-ccc", True), ("", False), ("e", False), ("en-", False), ("en_GB", False), ("123", False),
    ("en-GB-oed", True), ("abcdefghi", False),
])
def test_language_tags(tag: str, ok: bool) -> None:
    assert is_language_tag(tag) is ok


@pytest.mark.parametrize(("text", "ok"), [
    ("PT1H30M5.2S", True), ("P1D", True), ("P4W", True), ("PT0S", True), ("P1Y2M3DT4H5M6S", True),
    ("P", False), ("PT", False), ("1H", False), ("P1H", False), ("PT1D", False), ("P4W1D", False),
])
def test_durations(text: str, ok: bool) -> None:
    assert is_duration(text) is ok


def test_timestamps() -> None:
    assert parse_timestamp("2024-05-01T12:00:00Z") is not None
    assert parse_timestamp("2024-05-01T12:00Z") is not None
    assert parse_timestamp("2024-05-01T12:00:00.1234567+0530") is not None
    for bad in ("2024-05-01", "2024-05-01 12:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T12:00:00+24:00",
                "2024-05-01T12:00:00-0000"):
        assert parse_timestamp(bad) is None, bad


def test_equivalence_ignores_what_the_lrs_may_change() -> None:
    a = statement(id=new_id(), timestamp="2024-05-01T12:00:00+01:00",
                  actor={"objectType": "Group", "member": [agent("ada"), agent("bob")]})
    b = copy.deepcopy(a)
    b.update(timestamp="2024-05-01T11:00:00.000Z", stored="2024-06-01T00:00:00Z", version="1.0.0",
             authority=agent("boss"))
    b["actor"]["member"].reverse()
    assert equivalent(a, b)
    b["result"] = {"completion": True}
    assert not equivalent(a, b)
    assert equivalent(statement(), {**statement(), "timestamp": "2024-01-01T00:00:00Z"})


def test_an_activity_found_valid_once_is_remembered_exactly() -> None:
    """Activities with definitions are remembered once valid (statements repeat them): only the very same JSON
    passes unchecked, and an invalid one is never remembered."""
    good = interaction("choice", choices=choices("a", "b"))
    validate_statement(statement(object=good))
    validate_statement(statement(object=copy.deepcopy(good)))
    for bad, field in ((interaction("choice", choices=choices("a", "a")), "object.definition.choices[1].id"),
                       ({**good, "definition": {**good["definition"], "type": "not an iri"}}, "object.definition.type"),
                       ({**good, "id": "not an iri"}, "object.id")):
        for where, sent, path in ((f"{field}", statement(object=bad), field),
                                  ("context", statement(context={"contextActivities": {"parent": [bad]}}),
                                   "context.contextActivities.parent[0]." + field.removeprefix("object."))):
            for _ in range(2):
                with pytest.raises(XAPIValidationError) as caught:
                    validate_statement(sent)
                assert caught.value.field == path, where
