"""Agents and Groups: exactly one inverse functional identifier, and a Group's members."""

from __future__ import annotations

import re
from typing import Any

from .values import Path, _fail, _iri, _irl, _keys, _list, _object, _string

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")

_MAILTO = re.compile(r"^mailto:[^@\s:/]+@[^@\s/]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")

_ACCOUNT_KEYS = frozenset(("homePage", "name"))
_AGENT_KEYS = frozenset(("objectType", "name", *IFIS))
_GROUP_KEYS = frozenset(("objectType", "name", "member", *IFIS))


def check_ifi(obj: dict[str, Any], path: Path) -> None:
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


def check_agent(obj: Any, path: Path, *, type_required: bool = False) -> None:
    obj = _object(obj, path)
    _keys(obj, path, _AGENT_KEYS)
    if "objectType" in obj:
        if _string(obj["objectType"], (path, "objectType")) != "Agent":
            raise _fail((path, "objectType"), "object-type", 'must be "Agent"')
    elif type_required:
        raise _fail((path, "objectType"), "required", "is required when an Agent is a statement's object")
    if "name" in obj:
        _string(obj["name"], (path, "name"))
    check_ifi(obj, path)


def check_group(obj: Any, path: Path) -> None:
    obj = _object(obj, path)
    _keys(obj, path, _GROUP_KEYS)
    if obj.get("objectType") != "Group":
        raise _fail((path, "objectType"), "object-type", 'must be "Group"')
    if "name" in obj:
        _string(obj["name"], (path, "name"))
    identified = any(key in obj for key in IFIS)
    if identified:
        check_ifi(obj, path)
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
            check_agent(member, where)


def check_actor(obj: Any, path: Path, *, type_required: bool = False) -> None:
    obj = _object(obj, path)
    kind = obj.get("objectType")
    if kind == "Group":
        check_group(obj, path)
    elif kind is None or kind == "Agent":
        check_agent(obj, path, type_required=type_required)
    else:
        _string(kind, (path, "objectType"))
        raise _fail((path, "objectType"), "object-type", 'must be "Agent" or "Group"')


def validate_actor(value: Any, *, field: str = "agent", version: str = "1.0.3", group: bool = True) -> None:
    """Check an Agent (or, when ``group``, an identified Group) given as a request parameter. (Agents and Groups
    follow the same rules in every version the LRS takes: ``version`` changes nothing.)"""
    obj = _object(value, field)
    if obj.get("objectType") == "Group":
        if not group:
            raise _fail((field, "objectType"), "object-type", "must be an Agent, not a Group")
        check_group(obj, field)
        if not any(key in obj for key in IFIS):
            raise _fail(field, "one-ifi", "an anonymous Group cannot be used here: give an identifier")
    else:
        check_actor(obj, field)
