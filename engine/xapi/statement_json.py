"""Statements as JSON: read strictly (UTF-8, no repeated properties, no NaN), by orjson when its reading is
provably the same, and compared as xAPI 1.0.3 part two, 2.3.1 compares them (ignoring what an LRS may assign
or re-serialise).

The rules a statement's content must follow are in :mod:`engine.xapi.validate`.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import orjson

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


# --- the fast reader ------------------------------------------------------------------------------
#
# orjson reads a statement several times faster than the strict reader above, but keeps the last of
# repeated properties and (3.8) reads integers beyond 64 bits as floats, where xAPI wants the first refused
# and the second kept exact. So orjson's value is used only when the text proves it is what the strict
# reader would have returned; otherwise the strict reader reads the text again and decides, with its own
# reasons (and it is never more lenient: orjson accepts no text the strict reader refuses).
#
# Repeated properties, by counting colons (in C). In a JSON text a colon is either a name separator or a
# character of a string (raw, since its escape \u003a is sent to the strict reader; a colon byte is never part
# of a longer UTF-8 sequence). So the text holds K + s colons (K names, s colons in its strings), and orjson's
# compact writing of the value it read holds D + s' (D members; it never escapes a colon), where s' <= s:
# the value's strings are the text's, less those of any member a repeated name replaced. K >= D, equal only
# when no object repeats a name; so equal counts mean K == D and nothing is repeated.

_NUMERALS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
"""A translation table: digits to "0", every other byte to a space."""
_LONG_NUMERAL = b"0" * 19
"""19 digits in a row: the text may hold an integer beyond 64 bits, which orjson 3.8 reads as a float."""


def _fast(text: bytes) -> Any:
    """The value of a JSON text when orjson reads it exactly as the strict reader would; else ``None``."""
    if b"\\u003" in text or _LONG_NUMERAL in text.translate(_NUMERALS):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:  # not JSON, not UTF-8, a lone surrogate, an infinity, ...: the strict reader says
        return None
    if text.count(b":") != orjson.dumps(value).count(b":"):
        return None
    return value


def dumps_compact(value: Any) -> str:
    """A value read by :func:`loads_statements` (when it said so), as compact JSON text."""
    return orjson.dumps(value).decode("utf-8")


def loads_statements(data: bytes) -> tuple[Any, bool]:
    """:func:`loads_strict`, and whether the value may be written back with :func:`dumps_compact` (it was read by
    orjson; else it may hold what orjson cannot write as it was read, such as integers beyond 64 bits)."""
    value = _fast(data)
    if value is not None:
        return value, True
    return loads_strict(data), False


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
