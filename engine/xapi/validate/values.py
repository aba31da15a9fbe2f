"""The JSON path of a value, the error that names it, and the checks of single values the other modules share:
JSON types, property names, IRIs and IRLs, UUIDs, timestamps, language maps and extensions."""

from __future__ import annotations

from typing import Any

from ..syntax import (
    TIMESTAMP_RANGE,
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
"""Language tags already found well-formed (a statement repeats a few tags many times)."""


def _extensions(value: Any, path: Path) -> None:
    for key in _object(value, path):
        if not _well_formed_iri(key):
            raise _fail((path, key), "iri", "extension keys must be IRIs")
    # The values of extensions are free (null included): xAPI forbids rejecting them.


def validate_uuid(value: Any, field: str) -> None:
    _uuid(value, field)
