"""The store's timestamps."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_second: tuple[int, str] = (-1, "")
"""The Unix second last formatted, and its text: a request asks for the time several times within a second."""


def now() -> str:
    """Timestamps are ISO 8601 in UTC with the offset, as xAPI wants them, to the millisecond.

    The same text as ``datetime.now(UTC).isoformat(timespec="milliseconds")``, which costs about 3 µs; a lesson
    view asks for it two or three times and an answer four or five (its statements, its view, its attempt), so the
    date and time of day are formatted once a second.
    """
    global _second
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    known, text = _second  # one read of the pair: another thread may replace it meanwhile
    if known != seconds:
        text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second = (seconds, text)
    return f"{text}.{nanoseconds // 1_000_000:03d}+00:00"
