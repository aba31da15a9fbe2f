"""A measure's values against its baseline as an accessible, server-rendered SVG (no client chart library).

The page shows a table of the same data beside it; the SVG has a title and a description that says what it shows.
"""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

from ..storage.capstone import Measure, Measurement

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 24, 56


def _fmt(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def describe(measure: Measure, points: list[Measurement]) -> str:
    if not points:
        return f"No measurements of {measure.name} yet. The baseline is {_fmt(measure.baseline)} {measure.unit}."
    last = points[-1]
    change = last.value - measure.baseline
    direction = "above" if change > 0 else "below" if change < 0 else "level with"
    gap = f"{_fmt(abs(change))} {measure.unit} " if change else ""
    return (f"{len(points)} measurements of {measure.name} from {points[0].taken_on} to {last.taken_on}. The latest, "
            f"{_fmt(last.value)} {measure.unit}, is {gap}{direction} the baseline of {_fmt(measure.baseline)} "
            f"{measure.unit}.")


def svg(measure: Measure, points: list[Measurement], dom_id: str) -> Markup:
    """The chart's markup; every piece of learner text in it is escaped."""
    values = [p.value for p in points] + [measure.baseline]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    days = [date.fromisoformat(p.taken_on).toordinal() for p in points]
    first, last = (min(days), max(days)) if days else (0, 0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: int) -> float:
        return LEFT + (plot_w / 2 if last == first else (day - first) / (last - first) * plot_w)

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    title = escape(f"{measure.name} ({measure.unit}) against its baseline")
    desc = escape(describe(measure, points))
    base_y = y(measure.baseline)
    parts = [
        f'<svg class="mc-chart" role="img" aria-labelledby="{dom_id}-title {dom_id}-desc" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f'<title id="{dom_id}-title">{title}</title>',
        f'<desc id="{dom_id}-desc">{desc}</desc>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#0b0c0c" stroke-width="2"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#0b0c0c" '
        'stroke-width="2"/>',
        f'<text x="{LEFT - 8}" y="{y(high - pad) + 5:.1f}" text-anchor="end" font-size="14" fill="#0b0c0c">'
        f'{escape(_fmt(high - pad))}</text>',
        f'<text x="{LEFT - 8}" y="{y(low + pad) + 5:.1f}" text-anchor="end" font-size="14" fill="#0b0c0c">'
        f'{escape(_fmt(low + pad))}</text>',
        f'<line class="mc-chart__baseline" x1="{LEFT}" y1="{base_y:.1f}" x2="{LEFT + plot_w}" y2="{base_y:.1f}" '
        'stroke="#505a5f" stroke-width="2" stroke-dasharray="8 6"/>',
        f'<text x="{LEFT + plot_w}" y="{base_y - 6:.1f}" text-anchor="end" font-size="14" fill="#505a5f">'
        f'Baseline {escape(_fmt(measure.baseline))}</text>',
    ]
    if points:
        coords = " ".join(f"{x(d):.1f},{y(p.value):.1f}" for d, p in zip(days, points, strict=True))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#1d70b8" stroke-width="3"/>')
        parts += [f'<circle cx="{x(d):.1f}" cy="{y(p.value):.1f}" r="5" fill="#1d70b8"/>'
                  for d, p in zip(days, points, strict=True)]
        parts.append(f'<text x="{LEFT}" y="{HEIGHT - 24}" font-size="14" fill="#0b0c0c">'
                     f'{escape(points[0].taken_on)}</text>')
        if len(points) > 1:
            parts.append(f'<text x="{LEFT + plot_w}" y="{HEIGHT - 24}" text-anchor="end" font-size="14" '
                         f'fill="#0b0c0c">{escape(points[-1].taken_on)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here, learner text escaped above
