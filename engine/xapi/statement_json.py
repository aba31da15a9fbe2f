"""Statements as JSON: read strictly (UTF-8, no repeated properties, no NaN), keeping each statement's own text,
and compared as xAPI 1.0.3 part two, 2.3.1 compares them (ignoring what an LRS may assign or re-serialise).

The rules a statement's content must follow are in :mod:`engine.xapi.validate`.
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

from .syntax import parse_timestamp
from .validate import XAPIValidationError

# --- strict JSON ------------------------------------------------------------------------------

def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise XAPIValidationError(key, "duplicate-property", f"{key}: a property may be used only once")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise XAPIValidationError("statement", "json", f"{name} is not valid JSON")


_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_STRICT)  # type: ignore[arg-type]
"""Parses one JSON value at a position: ``_SCAN(text, pos)`` is ``(value, end)``; StopIteration if none is there."""
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SPACE = frozenset(" \t\n\r")


def _skip(text: str, pos: int) -> int:
    """The position of the first character at or after ``pos`` that is not JSON whitespace."""
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def loads_statements(data: bytes | str) -> tuple[Any, list[str] | None]:
    """:func:`loads_strict`, and the JSON text of each statement in it: the whole body for an object, each
    element for an array (``None`` for anything else). The LRS stores a statement's own text, extended,
    instead of serialising it again."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise XAPIValidationError("statement", "json", "the body must be UTF-8") from None
    start = _skip(text, 0)
    if not text.startswith("[", start):
        value = loads_strict(text)
        return value, [text.strip(" \t\n\r")] if isinstance(value, dict) else None
    values: list[Any] = []
    texts: list[str] = []
    try:
        pos = _skip(text, start + 1)
        if text.startswith("]", pos):
            end = pos + 1
        else:
            while True:
                value, end = _SCAN(text, pos)
                values.append(value)
                texts.append(text[pos:end])
                following = text[end:end + 1]
                if following == ",":  # compact JSON: no whitespace to skip
                    pos = end + 1
                    if text[pos:pos + 1] in _SPACE:
                        pos = _skip(text, pos)
                    continue
                pos = _skip(text, end)
                if text.startswith(",", pos):
                    pos = _skip(text, pos + 1)
                elif text.startswith("]", pos):
                    end = pos + 1
                    break
                else:
                    raise ValueError
        if _skip(text, end) != len(text):
            raise ValueError
    except (StopIteration, ValueError):
        # Not valid JSON: let the ordinary parser say where, in its own words.
        return loads_strict(text), None
    return values, texts


def loads_strict(data: bytes | str) -> Any:
    """JSON as xAPI wants it: UTF-8, no repeated properties, no NaN or Infinity."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return _STRICT.decode(text)
    except UnicodeDecodeError:
        raise XAPIValidationError("statement", "json", "the body must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise XAPIValidationError("statement", "json", f"the body is not valid JSON: {exc}") from None


# --- statement comparison (xAPI 1.0.3 part two, 2.3.1) -------------------------------------------

def _comparable(value: Any, top: bool = True) -> Any:
    if isinstance(value, list):
        return [_comparable(v, False) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _comparable(v, False) for k, v in value.items()}
    if top:
        for key in ("id", "authority", "stored", "version"):
            out.pop(key, None)
    if "timestamp" in out:
        moment = parse_timestamp(out["timestamp"])
        if moment is not None:
            out["timestamp"] = moment.astimezone(UTC).isoformat()
    if isinstance(out.get("mbox"), str):
        out["mbox"] = out["mbox"].lower()
    if isinstance(out.get("member"), list):
        out["member"] = sorted(out["member"], key=lambda m: json.dumps(m, sort_keys=True))
    groups = out.get("contextActivities")
    if isinstance(groups, dict):
        out["contextActivities"] = {k: v if isinstance(v, list) else [v] for k, v in groups.items()}
    return out


def equivalent(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two statements are the same but for what an LRS may assign or re-serialise."""
    left, right = _comparable(a), _comparable(b)
    if "timestamp" not in left or "timestamp" not in right:
        left.pop("timestamp", None)
        right.pop("timestamp", None)
    return bool(left == right)
