"""Statements and SubStatements: verb, object, result, context and attachments, and the rules that join them."""

from __future__ import annotations

import re
from typing import Any

from ..syntax import is_duration, is_language_tag
from .activities import check_activity
from .agents import IFIS, check_actor, check_agent, check_group
from .values import (
    _KNOWN_TAGS,
    Path,
    _boolean,
    _extensions,
    _fail,
    _iri,
    _irl,
    _keys,
    _language_map,
    _list,
    _number,
    _object,
    _present,
    _string,
    _timestamp,
    _uuid,
)

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")

_SHA2 = re.compile(r"^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*(?:\s*;.*)?$")
_VERSION_1 = re.compile(r"^1\.0(?:\.\d+)?$")
_VERSION_2 = re.compile(r"^2\.0(?:\.\d+)?$")

_VERB_KEYS = frozenset(("id", "display"))
_REF_KEYS = frozenset(("objectType", "id"))
_RESULT_KEYS = frozenset(("score", "success", "completion", "response", "duration", "extensions"))
_SCORE_KEYS = frozenset(("scaled", "raw", "min", "max"))
_CONTEXT_KEYS = frozenset(("registration", "instructor", "team", "contextActivities", "revision", "platform",
                           "language", "statement", "extensions"))
_CONTEXT_KEYS_2 = _CONTEXT_KEYS | {"contextAgents", "contextGroups"}
_CONTEXT_ACTIVITY_KEYS = frozenset(CONTEXT_ACTIVITY_KEYS)
_ATTACHMENT_KEYS = frozenset(("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"))
_SUBSTATEMENT_KEYS = frozenset(("objectType", "actor", "verb", "object", "result", "context", "timestamp",
                                "attachments"))
_STATEMENT_KEYS = frozenset(("id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
                             "authority", "version", "attachments"))


class _Walker:
    def __init__(self, version: str) -> None:
        self.v2 = version.startswith("2.")

    # verbs and objects

    def verb(self, obj: Any, path: Path) -> str:
        obj = _object(obj, path)
        _keys(obj, path, _VERB_KEYS, ("id",))
        _iri(obj["id"], (path, "id"))
        if "display" in obj:
            _language_map(obj["display"], (path, "display"))
        return str(obj["id"])

    def statement_ref(self, obj: Any, path: Path) -> None:
        obj = _object(obj, path)
        _keys(obj, path, _REF_KEYS, ("objectType", "id"))
        if obj["objectType"] != "StatementRef":
            raise _fail((path, "objectType"), "object-type", 'must be "StatementRef"')
        _uuid(obj["id"], (path, "id"))

    def object(self, obj: Any, path: Path, *, sub: bool) -> str:
        obj = _object(obj, path)
        kind = obj.get("objectType", "Activity")
        _string(kind, (path, "objectType"))
        if "objectType" not in obj and any(key in obj for key in IFIS):
            raise _fail((path, "objectType"), "required", 'an Agent or Group as the object must say so '
                        '(objectType "Agent" or "Group")')
        if kind == "Activity":
            check_activity(obj, path)
        elif kind in ("Agent", "Group"):
            check_actor(obj, path, type_required=True)
        elif kind == "StatementRef":
            self.statement_ref(obj, path)
        elif kind == "SubStatement":
            if sub:
                raise _fail((path, "objectType"), "nested-substatement", "a SubStatement cannot contain "
                            "another SubStatement")
            self.statement(obj, path, sub=True)
        else:
            raise _fail((path, "objectType"), "object-type",
                        "must be Activity, Agent, Group, SubStatement or StatementRef")
        return str(kind)

    # result, context, attachments

    def result(self, obj: Any, path: Path) -> None:
        obj = _object(obj, path)
        _keys(obj, path, _RESULT_KEYS)
        if "score" in obj:
            where = (path, "score")
            score = _object(obj["score"], where)
            _keys(score, where, _SCORE_KEYS)
            values = {key: _number(score[key], (where, key)) for key in ("scaled", "raw", "min", "max")
                      if key in score}
            if "scaled" in values and not -1 <= values["scaled"] <= 1:
                raise _fail((where, "scaled"), "score-range", "must be between -1 and 1")
            if "min" in values and "max" in values and not values["min"] < values["max"]:
                raise _fail((where, "min"), "score-range", "must be less than max")
            if "raw" in values:
                if "min" in values and values["raw"] < values["min"]:
                    raise _fail((where, "raw"), "score-range", "must not be less than min")
                if "max" in values and values["raw"] > values["max"]:
                    raise _fail((where, "raw"), "score-range", "must not be more than max")
        for key in ("success", "completion"):
            if key in obj:
                _boolean(obj[key], (path, key))
        if "response" in obj:
            _string(obj["response"], (path, "response"))
        if "duration" in obj:
            _string(obj["duration"], (path, "duration"))
            if not is_duration(obj["duration"]):
                raise _fail((path, "duration"), "duration", "must be an ISO 8601 duration, e.g. PT1H30M5.2S")
        if "extensions" in obj:
            _extensions(obj["extensions"], (path, "extensions"))

    def context(self, obj: Any, path: Path, object_kind: str) -> None:
        obj = _object(obj, path)
        _keys(obj, path, _CONTEXT_KEYS_2 if self.v2 else _CONTEXT_KEYS)
        if "registration" in obj:
            _uuid(obj["registration"], (path, "registration"))
        if "instructor" in obj:
            check_actor(obj["instructor"], (path, "instructor"))
        if "team" in obj:
            team = _object(obj["team"], (path, "team"))
            if team.get("objectType") != "Group":
                raise _fail(((path, "team"), "objectType"), "object-type", 'a team must be a Group '
                            '(objectType "Group")')
            check_group(team, (path, "team"))
        if "contextActivities" in obj:
            where = (path, "contextActivities")
            groups = _object(obj["contextActivities"], where)
            _keys(groups, where, _CONTEXT_ACTIVITY_KEYS)
            for key, value in groups.items():
                _present(value, (where, key))
                if isinstance(value, list):
                    for i, activity in enumerate(value):
                        check_activity(activity, ((where, key), i))
                else:
                    check_activity(value, (where, key))
        for key in ("revision", "platform"):
            if key in obj:
                _string(obj[key], (path, key))
                if object_kind != "Activity":
                    raise _fail((path, key), "activity-only", "may only be used when the statement's object "
                                "is an Activity")
        if "language" in obj:
            _string(obj["language"], (path, "language"))
            if obj["language"] not in _KNOWN_TAGS and not is_language_tag(obj["language"]):
                raise _fail((path, "language"), "language-tag", "is not an RFC 5646 language tag")
        if "statement" in obj:
            self.statement_ref(obj["statement"], (path, "statement"))
        if "extensions" in obj:
            _extensions(obj["extensions"], (path, "extensions"))
        for key, kind, member in (("contextAgents", "contextAgent", "agent"), ("contextGroups", "contextGroup",
                                                                                "group")):
            if key not in obj:
                continue
            where = (path, key)
            for i, item in enumerate(_list(obj[key], where)):
                at = (where, i)
                item = _object(item, at)
                _keys(item, at, frozenset(("objectType", member, "relevantTypes")), ("objectType", member))
                if item["objectType"] != kind:
                    raise _fail((at, "objectType"), "object-type", f'must be "{kind}"')
                if member == "agent":
                    check_agent(item[member], (at, member))
                else:
                    check_group(item[member], (at, member))
                if "relevantTypes" in item:
                    types = _list(item["relevantTypes"], (at, "relevantTypes"))
                    if not types:
                        raise _fail((at, "relevantTypes"), "required", "must list at least one IRI")
                    for j, iri in enumerate(types):
                        _iri(iri, ((at, "relevantTypes"), j))

    def attachments(self, value: Any, path: Path) -> None:
        for i, item in enumerate(_list(value, path)):
            at = (path, i)
            item = _object(item, at)
            _keys(item, at, _ATTACHMENT_KEYS, ("usageType", "display", "contentType", "length", "sha2"))
            _iri(item["usageType"], (at, "usageType"))
            _language_map(item["display"], (at, "display"))
            if "description" in item:
                _language_map(item["description"], (at, "description"))
            if not _MEDIA_TYPE.match(_string(item["contentType"], (at, "contentType"))):
                raise _fail((at, "contentType"), "content-type", "must be an Internet media type, e.g. image/png")
            length = item["length"]
            _present(length, (at, "length"))
            if isinstance(length, bool) or not isinstance(length, int) or length < 0:
                raise _fail((at, "length"), "type", "must be a whole number of octets")
            if not _SHA2.match(_string(item["sha2"], (at, "sha2"))):
                raise _fail((at, "sha2"), "sha2", "must be the hex SHA-2 (256, 384 or 512) of the attachment")
            if "fileUrl" in item:
                _irl(item["fileUrl"], (at, "fileUrl"))

    # statements

    def statement(self, obj: Any, path: Path, *, sub: bool = False) -> None:
        obj = _object(obj, path)
        if sub:
            for key in ("id", "stored", "version", "authority"):
                if key in obj:
                    raise _fail((path, key), "substatement-property", "a SubStatement must not have id, stored, "
                                "version or authority")
            _keys(obj, path, _SUBSTATEMENT_KEYS, ("actor", "verb", "object"))
        else:
            _keys(obj, path, _STATEMENT_KEYS, ("actor", "verb", "object"))
        if "id" in obj:
            _uuid(obj["id"], (path, "id"))
        check_actor(obj["actor"], (path, "actor"))
        verb = self.verb(obj["verb"], (path, "verb"))
        kind = self.object(obj["object"], (path, "object"), sub=sub)
        if verb == VOIDED and kind != "StatementRef":
            raise _fail(((path, "object"), "objectType"), "voiding-object", "a voiding statement's object "
                        "must be a StatementRef to the statement it voids")
        if "result" in obj:
            self.result(obj["result"], (path, "result"))
        if "context" in obj:
            self.context(obj["context"], (path, "context"), kind)
        for key in ("timestamp", "stored"):
            if key in obj:
                _timestamp(obj[key], (path, key))
        if "authority" in obj:
            where = (path, "authority")
            check_actor(obj["authority"], where)
            authority = obj["authority"]
            if authority.get("objectType") == "Group" and (
                    any(key in authority for key in IFIS) or len(authority.get("member", [])) != 2):
                raise _fail(where, "authority", "an authority Group must be an anonymous Group of two Agents "
                            "(OAuth application and user)")
        if "version" in obj:
            version = _string(obj["version"], (path, "version"))
            if not (_VERSION_1.match(version) or (self.v2 and _VERSION_2.match(version))):
                raise _fail((path, "version"), "version", 'must start with "1.0."' +
                            (' or "2.0."' if self.v2 else ""))
        if "attachments" in obj:
            self.attachments(obj["attachments"], (path, "attachments"))


def validate_statement(statement: Any, *, version: str = "1.0.3", path: Path = "") -> None:
    """Check one statement against every xAPI data rule; raise :class:`XAPIValidationError` on the first break."""
    _Walker(version).statement(statement, path)
