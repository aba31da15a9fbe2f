"""The syntax of xAPI's values: IRIs, UUIDs, RFC 5646 language tags, ISO 8601 timestamps and durations.

Statement validation (:mod:`engine.xapi.validate`) and the LRS's request parameters both check values with these.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
# re.ASCII: \d is 0-9 only, as ISO 8601 and RFC 5646 mean (else any script's digits, which int() reads too).
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$",
    re.ASCII)
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"^P(?:{_NUM}W|(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)$", re.ASCII)

# RFC 5646 section 2.1: a well-formed language tag.
_ALNUM = "[A-Za-z0-9]"
_LANGTAG = re.compile(
    r"^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4}|[A-Za-z]{5,8})"  # language (with extlangs)
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|\d{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9A-WY-Za-wy-z](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-[xX](?:-{_ALNUM}{{1,8}})+)?$",  # private use
    re.ASCII,
)
_PRIVATE_TAG = re.compile(rf"^[xX](?:-{_ALNUM}{{1,8}})+$")
_GRANDFATHERED = frozenset(t.lower() for t in (
    "en-GB-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak", "i-klingon", "i-lux", "i-mingo",
    "i-navajo", "i-pwn", "i-tao", "i-tay", "i-tsu", "sgn-BE-FR", "sgn-BE-NL", "sgn-CH-DE", "art-lojban",
    "cel-gaulish", "no-bok", "no-nyn", "zh-guoyu", "zh-hakka", "zh-min", "zh-min-nan", "zh-xiang"))


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI.match(value))


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def is_language_tag(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return bool(_LANGTAG.match(value) or _PRIVATE_TAG.match(value)) or value.lower() in _GRANDFATHERED


TIMESTAMP_RANGE = "its time in UTC must fall between the years 1 and 9999"
"""Why a well-formed timestamp is refused when :func:`timestamp_out_of_range`."""


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 date and time with a time zone as an aware datetime, or None when it is not one, or when its
    time in UTC falls outside the years 1 to 9999 (which no datetime can hold: see :func:`beyond_utc`)."""
    moment = _moment(value)
    if moment is None or (moment.year in (1, 9999) and beyond_utc(moment)):
        return None
    return moment


def beyond_utc(moment: datetime) -> bool:
    """Whether a moment's UTC time is outside the years 1 to 9999, e.g. 9999-12-31T23:59:59-23:59: only a
    moment in the first or the last day of those years with an offset can be."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return True
    return False


def timestamp_out_of_range(value: Any) -> bool:
    """Whether a value is a well-formed timestamp that :func:`parse_timestamp` refuses for its UTC range."""
    moment = _moment(value)
    return moment is not None and beyond_utc(moment)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone[0] == "-" and not zone[1:].replace(":", "").strip("0"):
        return None  # -00:00 means "offset unknown" (RFC 3339): no time zone
    try:
        tz = _ZONES.get(zone)
        if tz is None:
            if zone in ("Z", "z"):
                tz = UTC
            else:
                digits = zone[1:].replace(":", "")
                offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
                if offset >= timedelta(hours=24):
                    return None
                tz = timezone(-offset if zone[0] == "-" else offset)
            if len(_ZONES) < 1000:
                _ZONES[zone] = tz
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz)
    except ValueError:
        return None


_ZONES: dict[str, timezone] = {}
"""Time zones by their text in timestamps (``Z``, ``+01:00`` ...): a few recur in every statement."""


def utc_text(moment: datetime) -> str:
    """A moment as text that sorts with the LRS's ``stored`` values (UTC, +00:00, ms unless finer)."""
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.isoformat(timespec=spec)


def is_duration(value: Any) -> bool:
    return (isinstance(value, str) and bool(_DURATION.match(value)) and value != "P"
            and not value.endswith("T"))


# --- the walker --------------------------------------------------------------------------------
