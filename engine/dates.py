"""Dates as GOV.UK writes them ("27 November 2026"), on the UK calendar, for every page that shows one."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UK: tzinfo
try:
    UK = ZoneInfo("Europe/London")
except ZoneInfoNotFoundError:  # a system without time zone data: UTC is at most an hour out
    UK = UTC
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def govuk_date(stamp: str | date | None) -> str:
    """A stored UTC timestamp, or a plain date, in the GOV.UK style; empty for none. A timestamp falls on its UK
    day: an answer at 00:30 on a summer night in London belongs to that day, not the UTC day before."""
    if not stamp:
        return ""
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp).astimezone(UK) if len(stamp) > 10 else date.fromisoformat(stamp)
    return f"{stamp.day} {MONTHS[stamp.month - 1]} {stamp.year}"
