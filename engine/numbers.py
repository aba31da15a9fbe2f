"""Whole numbers typed into a URL or a form: ids of rows, counts, years."""

from __future__ import annotations

MAX_ROW_ID = 2**63 - 1
"""SQLite's largest integer: a larger one cannot be bound to a query."""


def row_id(text: str) -> int | None:
    """The number ``text`` writes in ASCII digits, when it could be a row's id; None otherwise.

    ``str.isdigit`` alone is not enough: it is true of "²" and "١", which ``int`` refuses or reads as other
    numbers, and of a 5,000-digit string, which ``int`` refuses and SQLite cannot bind.
    """
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ROW_ID else None
