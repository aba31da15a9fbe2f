"""xAPI 1.0.3 statement validation (and the few 2.0.0 additions), with the field and rule that failed.

Every check raises :class:`XAPIValidationError` naming the JSON path of the bad value
(``object.definition.choices[2].id``) and a short rule id (``required``, ``iri``,
``unknown-property`` ...), so the LRS can answer 400 with both. The rules follow
xAPI 1.0.3 part two (Data): required properties, objectType values, exactly one
inverse functional identifier, formats (IRI, UUID, mailto, timestamps, durations,
RFC 5646 language tags), interaction component lists, SubStatement limits, score
ranges, context rules, attachments, and no properties the specification does not define.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .syntax import (
    TIMESTAMP_RANGE,
    is_duration,
    is_iri,
    is_language_tag,
    is_uuid,
    parse_timestamp,
    timestamp_out_of_range,
)


class XAPIValidationError(ValueError):
    """A value broke an xAPI rule: ``field`` is its JSON path, ``rule`` a short id of the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field, "rule": self.rule}


VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_TYPES = ("true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing",
                     "likert", "numeric", "other")
COMPONENT_LISTS: dict[str, tuple[str, ...]] = {
    "choice": ("choices",), "sequencing": ("choices",), "likert": ("scale",),
    "matching": ("source", "target"), "performance": ("steps",),
}
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")

_MAILTO = re.compile(r"^mailto:[^@\s:/]+@[^@\s/]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_SHA2 = re.compile(r"^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*(?:\s*;.*)?$")
_VERSION_1 = re.compile(r"^1\.0(?:\.\d+)?$")
_VERSION_2 = re.compile(r"^2\.0(?:\.\d+)?$")


Path = str | tuple[Any, str | int]
"""A JSON path: the root's name (``""`` for a statement, ``"[3]"`` in a batch, ``"agent"`` for a parameter)
or ``(parent, key)``; made as a tuple on the way down and rendered as text only when a check fails."""


def render(path: Path) -> str:
    """A path as text: ``object.definition.choices[2].id`` (keys after dots, array indexes in brackets)."""
    keys: list[str | int] = []
    while isinstance(path, tuple):
        path, key = path
        keys.append(key)
    out = path
    for key in reversed(keys):
        if isinstance(key, int):
            out = f"{out}[{key}]"
        else:
            out = f"{out}.{key}" if out else key
    return out


def _fail(path: Path, rule: str, message: str) -> XAPIValidationError:
    where = render(path) or "statement"
    return XAPIValidationError(where, rule, f"{where}: {message}")


def _present(value: Any, path: Path) -> None:
    if value is None:
        raise _fail(path, "null", "must not be null")


def _object(value: Any, path: Path) -> dict[str, Any]:
    if type(value) is dict:
        return value
    _present(value, path)
    if not isinstance(value, dict):
        raise _fail(path, "type", "must be a JSON object")
    return value


def _list(value: Any, path: Path) -> list[Any]:
    if type(value) is list:
        return value
    _present(value, path)
    if not isinstance(value, list):
        raise _fail(path, "type", "must be an array")
    return value


def _string(value: Any, path: Path) -> str:
    if type(value) is str:
        return value
    _present(value, path)
    if not isinstance(value, str):
        raise _fail(path, "type", "must be a string")
    return value


def _number(value: Any, path: Path) -> float:
    _present(value, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "type", "must be a number")
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits: it cannot be compared with min, max or -1..1
        raise _fail(path, "number", "is too large a number (beyond about 1.8e308)") from None


def _boolean(value: Any, path: Path) -> None:
    _present(value, path)
    if not isinstance(value, bool):
        raise _fail(path, "type", "must be true or false")


def _keys(obj: dict[str, Any], path: Path, allowed: frozenset[str], required: tuple[str, ...] = ()) -> None:
    if not allowed.issuperset(obj):
        for key in obj:
            if key not in allowed:
                raise _fail((path, key), "unknown-property", f"is not a property xAPI allows here (allowed: "
                            f"{', '.join(sorted(allowed))})")
    for key in required:
        if key not in obj:
            raise _fail((path, key), "required", "is required")


_KNOWN_IRIS: set[str] = set()
"""IRIs already found well-formed: statements repeat the same verbs, activities, types and extension keys."""


def _well_formed_iri(value: str) -> bool:
    if value in _KNOWN_IRIS:
        return True
    if not is_iri(value):
        return False
    if len(_KNOWN_IRIS) >= 20_000:
        _KNOWN_IRIS.clear()
    _KNOWN_IRIS.add(value)
    return True


def _iri(value: Any, path: Path) -> None:
    if type(value) is str and _well_formed_iri(value):
        return
    _string(value, path)
    raise _fail(path, "iri", "must be an IRI with a scheme, e.g. https://example.com/id")


def _irl(value: Any, path: Path) -> None:
    if type(value) is str and _well_formed_iri(value):
        return
    _string(value, path)
    raise _fail(path, "irl", "must be an IRL with a scheme, e.g. https://example.com/page")


def _uuid(value: Any, path: Path) -> None:
    if is_uuid(value):
        return
    _string(value, path)
    raise _fail(path, "uuid", "must be a UUID (RFC 4122 variant) in standard form")


def _timestamp(value: Any, path: Path) -> None:
    _string(value, path)
    if parse_timestamp(value) is None:
        if timestamp_out_of_range(value):
            raise _fail(path, "timestamp", f"is out of range: {TIMESTAMP_RANGE}")
        raise _fail(path, "timestamp", "must be an ISO 8601 date and time with a time zone, "
                    "e.g. 2024-05-01T12:00:00.000Z")


def _language_map(value: Any, path: Path) -> None:
    for tag, text in _object(value, path).items():
        if tag not in _KNOWN_TAGS:
            if not is_language_tag(tag):
                raise _fail((path, tag), "language-tag", "is not an RFC 5646 language tag")
            if len(_KNOWN_TAGS) < 1000:
                _KNOWN_TAGS.add(tag)
        if type(text) is not str:
            _string(text, (path, tag))


_KNOWN_TAGS: set[str] = set()
_KNOWN_ACTIVITIES: set[bytes] = set()
"""Activities with a definition already found valid, as orjson writes them."""
"""Language tags already found well-formed (a statement repeats a few tags many times)."""


def _extensions(value: Any, path: Path) -> None:
    for key in _object(value, path):
        if not _well_formed_iri(key):
            raise _fail((path, key), "iri", "extension keys must be IRIs")
    # The values of extensions are free (null included): xAPI forbids rejecting them.


_ACCOUNT_KEYS = frozenset(("homePage", "name"))
_AGENT_KEYS = frozenset(("objectType", "name", *IFIS))
_GROUP_KEYS = frozenset(("objectType", "name", "member", *IFIS))
_VERB_KEYS = frozenset(("id", "display"))
_REF_KEYS = frozenset(("objectType", "id"))
_ACTIVITY_KEYS = frozenset(("objectType", "id", "definition"))
_COMPONENT_LIST_NAMES = ("choices", "scale", "source", "target", "steps")
_DEFINITION_KEYS = frozenset(("name", "description", "type", "moreInfo", "interactionType", "correctResponsesPattern",
                              *_COMPONENT_LIST_NAMES, "extensions"))
_COMPONENT_KEYS = frozenset(("id", "description"))
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

    # agents and groups

    def ifi(self, obj: dict[str, Any], path: Path) -> None:
        found = [key for key in IFIS if key in obj]
        if len(found) != 1:
            raise _fail(path, "one-ifi", f"must have exactly one inverse functional identifier "
                        f"(mbox, mbox_sha1sum, openid or account); found {len(found)}")
        key = found[0]
        where = (path, key)
        value = obj[key]
        if key == "mbox":
            _string(value, where)
            if not _MAILTO.match(value):
                raise _fail(where, "mailto", 'must be a "mailto:" IRI, e.g. mailto:ada@example.com')
        elif key == "mbox_sha1sum":
            _string(value, where)
            if not _SHA1.match(value):
                raise _fail(where, "sha1sum", "must be the hex SHA-1 of a mailto IRI (40 hex digits)")
        elif key == "openid":
            _iri(value, where)
        else:
            account = _object(value, where)
            _keys(account, where, _ACCOUNT_KEYS, ("homePage", "name"))
            _irl(account["homePage"], (where, "homePage"))
            _string(account["name"], (where, "name"))

    def agent(self, obj: Any, path: Path, *, type_required: bool = False) -> None:
        obj = _object(obj, path)
        _keys(obj, path, _AGENT_KEYS)
        if "objectType" in obj:
            if _string(obj["objectType"], (path, "objectType")) != "Agent":
                raise _fail((path, "objectType"), "object-type", 'must be "Agent"')
        elif type_required:
            raise _fail((path, "objectType"), "required", "is required when an Agent is a statement's object")
        if "name" in obj:
            _string(obj["name"], (path, "name"))
        self.ifi(obj, path)

    def group(self, obj: Any, path: Path) -> None:
        obj = _object(obj, path)
        _keys(obj, path, _GROUP_KEYS)
        if obj.get("objectType") != "Group":
            raise _fail((path, "objectType"), "object-type", 'must be "Group"')
        if "name" in obj:
            _string(obj["name"], (path, "name"))
        identified = any(key in obj for key in IFIS)
        if identified:
            self.ifi(obj, path)
        elif "member" not in obj:
            raise _fail((path, "member"), "required", "an anonymous Group (one without an identifier) "
                        "must list its members")
        if "member" in obj:
            members = _list(obj["member"], (path, "member"))
            for i, member in enumerate(members):
                where = ((path, "member"), i)
                if isinstance(member, dict) and member.get("objectType") == "Group":
                    raise _fail((where, "objectType"), "group-member", "a Group's members must be Agents, "
                                "not Groups")
                self.agent(member, where)

    def actor(self, obj: Any, path: Path, *, type_required: bool = False) -> None:
        obj = _object(obj, path)
        kind = obj.get("objectType")
        if kind == "Group":
            self.group(obj, path)
        elif kind is None or kind == "Agent":
            self.agent(obj, path, type_required=type_required)
        else:
            _string(kind, (path, "objectType"))
            raise _fail((path, "objectType"), "object-type", 'must be "Agent" or "Group"')

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

    def activity(self, obj: Any, path: Path) -> None:
        obj = _object(obj, path)
        if "definition" in obj:
            # Statements repeat the same few activities, each with its whole definition: one found valid before
            # (the same JSON exactly) is valid again, wherever it is. orjson writes JSON values one way only,
            # but NaN and infinities as null: those can only stand where null is valid too (extension values).
            try:
                text = orjson.dumps(obj)
            except orjson.JSONEncodeError:  # an integer beyond 64 bits: checked every time
                self._activity(obj, path)
                return
            if text not in _KNOWN_ACTIVITIES:
                self._activity(obj, path)
                if len(_KNOWN_ACTIVITIES) >= 4_096:
                    _KNOWN_ACTIVITIES.clear()
                _KNOWN_ACTIVITIES.add(text)
            return
        self._activity(obj, path)

    def _activity(self, obj: dict[str, Any], path: Path) -> None:
        _keys(obj, path, _ACTIVITY_KEYS, ("id",))
        if "objectType" in obj and obj["objectType"] != "Activity":
            _string(obj["objectType"], (path, "objectType"))
            raise _fail((path, "objectType"), "object-type", 'must be "Activity"')
        _iri(obj["id"], (path, "id"))
        if "definition" in obj:
            self.definition(obj["definition"], (path, "definition"))

    def definition(self, obj: Any, path: Path) -> None:
        obj = _object(obj, path)
        _keys(obj, path, _DEFINITION_KEYS)
        for key in ("name", "description"):
            if key in obj:
                _language_map(obj[key], (path, key))
        if "type" in obj:
            _iri(obj["type"], (path, "type"))
        if "moreInfo" in obj:
            _irl(obj["moreInfo"], (path, "moreInfo"))
        if "extensions" in obj:
            _extensions(obj["extensions"], (path, "extensions"))
        kind = obj.get("interactionType")
        if "interactionType" in obj:
            _string(kind, (path, "interactionType"))
            if kind not in INTERACTION_TYPES:
                raise _fail((path, "interactionType"), "interaction-type",
                            f"must be one of {', '.join(INTERACTION_TYPES)}")
        if "correctResponsesPattern" in obj:
            where = (path, "correctResponsesPattern")
            if kind is None:
                raise _fail((path, "interactionType"), "required", "is required with correctResponsesPattern")
            for i, pattern in enumerate(_list(obj["correctResponsesPattern"], where)):
                _string(pattern, (where, i))
        for key in _COMPONENT_LIST_NAMES:
            if key not in obj:
                continue
            where = (path, key)
            if kind is None:
                raise _fail((path, "interactionType"), "required", f"is required with {key}")
            if key not in COMPONENT_LISTS.get(str(kind), ()):
                raise _fail(where, "interaction-components", f'is not allowed for interactionType "{kind}"')
            seen: set[str] = set()
            for i, component in enumerate(_list(obj[key], where)):
                at = (where, i)
                component = _object(component, at)
                _keys(component, at, _COMPONENT_KEYS, ("id",))
                ident = _string(component["id"], (at, "id"))
                if not ident.strip():
                    raise _fail((at, "id"), "required", "must not be empty")
                if ident in seen:
                    raise _fail((at, "id"), "duplicate-id", f'repeats the id "{ident}" in this list')
                seen.add(ident)
                if "description" in component:
                    _language_map(component["description"], (at, "description"))

    def object(self, obj: Any, path: Path, *, sub: bool) -> str:
        obj = _object(obj, path)
        kind = obj.get("objectType", "Activity")
        _string(kind, (path, "objectType"))
        if "objectType" not in obj and any(key in obj for key in IFIS):
            raise _fail((path, "objectType"), "required", 'an Agent or Group as the object must say so '
                        '(objectType "Agent" or "Group")')
        if kind == "Activity":
            self.activity(obj, path)
        elif kind in ("Agent", "Group"):
            self.actor(obj, path, type_required=True)
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
            self.actor(obj["instructor"], (path, "instructor"))
        if "team" in obj:
            team = _object(obj["team"], (path, "team"))
            if team.get("objectType") != "Group":
                raise _fail(((path, "team"), "objectType"), "object-type", 'a team must be a Group '
                            '(objectType "Group")')
            self.group(team, (path, "team"))
        if "contextActivities" in obj:
            where = (path, "contextActivities")
            groups = _object(obj["contextActivities"], where)
            _keys(groups, where, _CONTEXT_ACTIVITY_KEYS)
            for key, value in groups.items():
                _present(value, (where, key))
                if isinstance(value, list):
                    for i, activity in enumerate(value):
                        self.activity(activity, ((where, key), i))
                else:
                    self.activity(value, (where, key))
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
                    self.agent(item[member], (at, member))
                else:
                    self.group(item[member], (at, member))
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
        self.actor(obj["actor"], (path, "actor"))
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
            self.actor(obj["authority"], where)
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


def validate_actor(value: Any, *, field: str = "agent", version: str = "1.0.3", group: bool = True) -> None:
    """Check an Agent (or, when ``group``, an identified Group) given as a request parameter."""
    walker = _Walker(version)
    obj = _object(value, field)
    if obj.get("objectType") == "Group":
        if not group:
            raise _fail((field, "objectType"), "object-type", "must be an Agent, not a Group")
        walker.group(obj, field)
        if not any(key in obj for key in IFIS):
            raise _fail(field, "one-ifi", "an anonymous Group cannot be used here: give an identifier")
    else:
        walker.actor(obj, field)


def validate_activity_id(value: Any, field: str = "activityId") -> None:
    _iri(value, field)


def validate_uuid(value: Any, field: str) -> None:
    _uuid(value, field)
