"""Horizontal bar charts as server-rendered SVG, for the dashboards. No client-side chart library.

Each chart is drawn in CSS pixels with bar widths in percent, not scaled from a view box, so its text stays the
size of the page's text at any screen width (a scaled chart's labels shrink to nothing on a phone). The page
always shows a table of the same figures beside it; the SVG's title and description say what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

ROW = 28
"""Height of a label line and of a bar line, in pixels."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    """The value as the reader should read it, e.g. "1,204 (52%)"."""
    series: int = 0
    """0 or 1: which of two series (e.g. before and after) the bar belongs to; sets its colour and pattern."""


def bars(dom_id: str, title: str, description: str, groups: list[tuple[str, list[Bar]]], *,
         maximum: float | None = None, legend: tuple[str, str] | None = None) -> Markup:
    """A chart of groups of bars: each group has a label line, then one line per bar."""
    top = max([maximum or 0.0] + [bar.value for _, group in groups for bar in group]) or 1.0
    parts: list[str] = []
    y = 0
    if legend is not None:
        for series, name in enumerate(legend):
            x = series * 50
            parts.append(f'<rect class="mc-chart__bar mc-chart__bar--{series}" x="{x}%" y="{y + 6}" width="16" '
                         f'height="16"></rect>')
            parts.append(f'<svg x="{x}%" y="{y}" overflow="visible"><text class="mc-chart__text" x="24" '
                         f'y="20">{escape(name)}</text></svg>')
        y += ROW + 8
    for label, group in groups:
        parts.append(f'<text class="mc-chart__label" x="0" y="{y + 20}">{escape(label)}</text>')
        y += ROW
        for bar in group:
            width = 100.0 * max(bar.value, 0.0) / top
            # The bar takes at most 70% of the width, leaving room for its figure after it.
            shown = round(width * 0.7, 2)
            parts.append(f'<rect class="mc-chart__bar mc-chart__bar--{bar.series}" x="0" y="{y + 4}" '
                         f'width="{shown}%" height="{ROW - 8}"></rect>')
            parts.append(f'<svg x="{shown}%" y="{y}" overflow="visible"><text class="mc-chart__text" x="8" '
                         f'y="19">{escape(bar.text)}</text></svg>')
            y += ROW
        y += 8
    title_id, desc_id = f"{dom_id}-title", f"{dom_id}-desc"
    return Markup(  # noqa: S704 - every piece of text in it is escaped above
        f'<svg class="mc-bars" id="{escape(dom_id)}" role="img" width="100%" height="{y}" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" focusable="false">'
        f'<title id="{escape(title_id)}">{escape(title)}</title><desc id="{escape(desc_id)}">{escape(description)}'
        f'</desc>{"".join(parts)}</svg>'
    )


def percent(value: float | None) -> str:
    """A share for people to read: whole percents, or one decimal place under 10%."""
    if value is None:
        return "–"
    if 0 < value < 10:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def number(value: float) -> str:
    return f"{value:,.0f}"
