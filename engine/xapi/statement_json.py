"""Statements as JSON: read strictly (UTF-8, no repeated properties, no NaN or infinite numbers, no lone
surrogates, at most :data:`MAX_DEPTH` levels deep), by orjson when its reading is provably the same, and compared
as xAPI 1.0.3 part two, 2.3.1 compares them (ignoring what an LRS may assign or re-serialise).

The rules a statement's content must follow are in :mod:`engine.xapi.validate`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC
from typing import Any

import orjson

from .syntax import parse_timestamp
from .validate import Path, XAPIValidationError, render

# --- strict JSON ------------------------------------------------------------------------------

MAX_DEPTH = 100
"""The most arrays and objects a value may sit inside, in any JSON the LRS reads (statements, Agent parameters,
documents it merges, signatures' payloads). Statements need fewer than 10 and documents seldom more; 100 leaves
room below every limit on the way: orjson writes at most 254 levels, and Python's recursion stops near 1,000
(the json module's reader and writer, statement comparison)."""
MAX_INT_DIGITS = 4_300
"""The longest integer literal read: Python's own limit for converting text to an integer."""

_TOO_DEEP = b"\n" + b"  " * (MAX_DEPTH + 1)
"""In orjson's indented writing (two spaces a level) a value inside k arrays and objects starts its line after
2k spaces, and no string holds a raw line break: so this occurs exactly when something is too deep."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""An escape that may stand for half a surrogate pair: the only way a lone surrogate gets into a UTF-8 text."""
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(ValueError):
    """A literal the strict reader will not read (NaN, an infinity, a too long integer): raised inside the json
    module, which knows no field, and given one by :func:`loads_strict`."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


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
    raise _Refused("json", f"holds {name}, which is not valid JSON")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # a literal beyond a double's range: it would be stored and served as Infinity
        raise _Refused("number", f"holds the number {text[:40]}, which is too large to be kept (JSON has no "
                       "infinities)")
    return value


def _int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Refused("number", f"holds an integer of {digits} digits; this LRS reads at most {MAX_INT_DIGITS}")
    try:
        return int(text)
    except ValueError:  # the process set a lower limit (sys.set_int_max_str_digits)
        raise _Refused("number", f"holds an integer of {digits} digits, more than this LRS reads") from None


_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float,
                           parse_int=_int)


def _too_deep(value: Any) -> bool:
    """Whether a value read holds something inside more than MAX_DEPTH arrays and objects (level by level,
    without recursion)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [child for container in level
                 for child in (container.values() if isinstance(container, dict) else container)
                 if isinstance(child, dict | list)]
        if not level:
            return False
    return any(level)  # containers inside MAX_DEPTH others: any member is one level too many


def _lone_surrogate(value: Any) -> Path | None:
    """Where a value read holds a string (or property name) with a lone surrogate, which no UTF-8 text can
    carry (SQLite and every writer would refuse it later); None when it holds none."""
    stack: list[tuple[Any, Path]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, member in item.items():
                if _SURROGATE.search(key):
                    return path  # the object's path: the name itself cannot be shown
                stack.append((member, (path, key)))
        elif isinstance(item, list):
            stack.extend((member, (path, i)) for i, member in enumerate(item))
    return None


def _at(field: str, path: Path) -> str:
    """A path inside a value read for ``field`` as text: a statement's paths stand alone (``result.response``),
    a parameter's or document's go after its name (``agent.account.name``)."""
    inner = render(path)
    if not inner:
        return field
    if field == "statement":
        return inner
    return f"{field}{inner}" if inner.startswith("[") else f"{field}.{inner}"


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
    # Too deep needs more than MAX_DEPTH brackets: a statement alone has a few dozen, so only a batch (or an
    # attack) is written indented, which shows the depth (see _TOO_DEEP) and has one colon per member too.
    indent = text.count(b"[") + text.count(b"{") > MAX_DEPTH
    try:
        value = orjson.loads(text)
        written = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None)
    except orjson.JSONDecodeError:  # not JSON, not UTF-8, a lone surrogate, an infinity, ...: the strict reader says
        return None
    except orjson.JSONEncodeError:  # deeper than orjson writes (254 levels): too deep, as the strict reader says
        return None
    if text.count(b":") != written.count(b":") or (indent and _TOO_DEEP in written):
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


def loads_strict(data: bytes | str, *, field: str = "statement", subject: str = "the body") -> Any:
    """JSON as xAPI wants it: UTF-8, no repeated properties, no NaN or numbers beyond a double's range, no
    integer longer than MAX_INT_DIGITS, no lone surrogates, nothing inside more than MAX_DEPTH arrays and objects.

    A refusal is an :class:`XAPIValidationError` for ``field`` (or a path in it), its message about ``subject``.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = _STRICT.decode(text)
    except UnicodeDecodeError:
        raise XAPIValidationError(field, "json", f"{subject} must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise XAPIValidationError(field, "json", f"{subject} is not valid JSON: {exc}") from None
    except _Refused as exc:
        raise XAPIValidationError(field, exc.rule, f"{subject} {exc.message}") from None
    except RecursionError:  # deeper than Python reads: far beyond MAX_DEPTH
        value = None
        too_deep = True
    else:
        too_deep = text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value)
    if too_deep:
        raise XAPIValidationError(field, "depth", f"{subject} nests arrays and objects more than {MAX_DEPTH} "
                                  "levels deep") from None
    if _SURROGATE_ESCAPE.search(text):
        where = _lone_surrogate(value)
        if where is not None:
            at = _at(field, where)
            raise XAPIValidationError(at, "unicode", f"{at}: holds half of a UTF-16 surrogate pair (a \\uD800 to "
                                      "\\uDFFF escape without its other half), which is not a Unicode character")
    return value


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
