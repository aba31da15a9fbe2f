"""Activities and their definitions: interaction types and their component lists."""

from __future__ import annotations

from typing import Any

import orjson

from .values import Path, _extensions, _fail, _iri, _irl, _keys, _language_map, _list, _object, _string

INTERACTION_TYPES = ("true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing",
                     "likert", "numeric", "other")
COMPONENT_LISTS: dict[str, tuple[str, ...]] = {
    "choice": ("choices",), "sequencing": ("choices",), "likert": ("scale",),
    "matching": ("source", "target"), "performance": ("steps",),
}

_ACTIVITY_KEYS = frozenset(("objectType", "id", "definition"))
_COMPONENT_LIST_NAMES = ("choices", "scale", "source", "target", "steps")
_DEFINITION_KEYS = frozenset(("name", "description", "type", "moreInfo", "interactionType", "correctResponsesPattern",
                              *_COMPONENT_LIST_NAMES, "extensions"))
_COMPONENT_KEYS = frozenset(("id", "description"))

_KNOWN_ACTIVITIES: set[bytes] = set()
"""Activities with a definition already found valid, as orjson writes them."""


def check_activity(obj: Any, path: Path) -> None:
    obj = _object(obj, path)
    if "definition" in obj:
        # Statements repeat the same few activities, each with its whole definition: one found valid before
        # (the same JSON exactly) is valid again, wherever it is. orjson writes JSON values one way only,
        # but NaN and infinities as null: those can only stand where null is valid too (extension values).
        try:
            text = orjson.dumps(obj)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: checked every time
            _check_activity(obj, path)
            return
        if text not in _KNOWN_ACTIVITIES:
            _check_activity(obj, path)
            if len(_KNOWN_ACTIVITIES) >= 4_096:
                _KNOWN_ACTIVITIES.clear()
            _KNOWN_ACTIVITIES.add(text)
        return
    _check_activity(obj, path)


def _check_activity(obj: dict[str, Any], path: Path) -> None:
    _keys(obj, path, _ACTIVITY_KEYS, ("id",))
    if "objectType" in obj and obj["objectType"] != "Activity":
        _string(obj["objectType"], (path, "objectType"))
        raise _fail((path, "objectType"), "object-type", 'must be "Activity"')
    _iri(obj["id"], (path, "id"))
    if "definition" in obj:
        check_definition(obj["definition"], (path, "definition"))


def check_definition(obj: Any, path: Path) -> None:
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


def validate_activity_id(value: Any, field: str = "activityId") -> None:
    _iri(value, field)
