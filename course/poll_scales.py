"""A poll's scale: its ``scale:`` and ``labels:`` lines, read where the author wrote them, and every mistake in them
reported at its own line and column."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it.token import Token

from .block_context import BlockContext, line_of
from .model import Scale

SCALE = re.compile(r"^\s*(-?[0-9]{1,6})\s*(?:-|–|\.\.|to)\s*(-?[0-9]{1,6})\s*$")
"""A scale's range: ``1-5``, ``1–5``, ``1..5`` or ``1 to 5``."""


@dataclass
class ScaleRow:
    """A line of a poll's scale paragraph, where the author wrote it: ``key`` is ``scale`` or ``labels``, or ``""``
    for a line that is neither."""

    key: str
    value: str
    line: int
    col: int


SCALE_KEY = re.compile(r"^\s*(scale|labels):", re.I)


def scale_rows(ctx: BlockContext, paragraph: list[Token]) -> list[ScaleRow]:
    # Each line of the paragraph is a line of the source: a blank line between two of them makes two paragraphs,
    # so lines are counted from each paragraph's own start, not from the first one's.
    rows = []
    for n, text in enumerate(paragraph[1].content.split("\n")):
        key, colon, value = text.partition(":")
        key = key.strip().lower() if colon and key.strip().lower() in ("scale", "labels") else ""
        line = line_of(paragraph[0]) + n
        source = ctx._source(line)
        rows.append(ScaleRow(key, value if key else text, line, len(source) - len(source.lstrip()) + 1))
    return rows


def parse_scale(ctx: BlockContext, rows: list[ScaleRow]) -> Scale | None:
    # Every line is reported, not the first only: a second scale: line overrode the first, and any other line in
    # the paragraph was dropped, both without a word.
    given: dict[str, ScaleRow] = {}
    ok = True
    for row in rows:
        if not row.key:
            ctx.error(row.line, row.col, f'unexpected line "{row.value.strip()[:40]}" with the poll\'s scale: only '
                      'a "scale:" and a "labels:" line go there')
            ok = False
        elif row.key in given:
            ctx.error(row.line, row.col, f'"{row.key}:" is given twice (first on line {given[row.key].line})')
            ok = False
        else:
            given[row.key] = row
            if row.key == "scale" and not SCALE.match(row.value):
                # Words, not numbers: most likely a paragraph of the prompt, which starts "Scale:" only at the
                # poll's start (the prompt's first paragraph).
                words = "" if re.match(r"\s*-?[0-9]", row.value) else (
                    ' (a paragraph starting "Scale:" is read as the prompt only where the poll starts)')
                ctx.error(row.line, row.col,
                          f'malformed scale "{row.value.strip()}": write it as "scale: 1-5"{words}')
                ok = False
    if not ok:
        return None
    scale, labels = given.get("scale"), given.get("labels")
    match = SCALE.match(scale.value) if scale else None
    low, high = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if scale is None or high <= low or high - low > 10:
        at = scale or rows[0]
        ctx.error(at.line, at.col, "a poll scale runs from a low to a higher number, at most 11 points, e.g. 1-5")
        return None
    names = [label.strip() for label in labels.value.split("|")] if labels else []
    if labels and len(names) != high - low + 1:
        ctx.error(labels.line, labels.col, f"the scale has {high - low + 1} points but {len(names)} labels")
        return None
    return Scale(low, high, names)


def only_scale(rows: list[ScaleRow]) -> bool:
    """Whether a paragraph's lines can only be a scale: all of them ``scale:`` and ``labels:`` lines, each ``scale:``
    line a range (``scale: 1-5``), and a range or labels separated by ``|`` among them. "Scale: how big was the
    change?" is not, nor is "Labels: which one fits?"."""
    if not all(row.key and (row.key != "scale" or SCALE.match(row.value)) for row in rows):
        return False
    return any(row.key == "scale" or "|" in row.value for row in rows)
