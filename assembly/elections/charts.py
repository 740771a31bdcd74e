"""An SVG chart of a count's stages, drawn on the server (no script, readable in print).

One row per candidate; in each row one bar per stage, its length the candidate's total at the
end of that stage, with the quota marked. Elected candidates' bars are green, excluded ones'
grey. The stage table beside it carries the same numbers for anyone who cannot see the chart.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from markupsafe import Markup, escape

__all__ = ["stage_chart"]

WIDTH = 640
LABEL = 180
BAR = 6
GAP = 10
BLUE, GREEN, GREY, BLACK = "#1d70b8", "#00703c", "#b1b4b6", "#0b0c0c"


def _value(raw: int | str | None) -> Fraction:
    if raw is None:
        return Fraction(0)
    if isinstance(raw, str):
        numerator, _, denominator = raw.partition("/")
        return Fraction(int(numerator), int(denominator or 1))
    return Fraction(raw)


def stage_chart(result: dict[str, Any], chart_id: str) -> Markup:
    """Return the chart of ``result`` (a count's stored result) as inline SVG markup."""
    stages = result.get("stages") or []
    candidates = result.get("candidates") or []
    if not stages or not candidates:
        return Markup("")
    elected = set(result.get("elected_ids") or [])
    excluded = set(result.get("excluded_ids") or [])
    quota = _value(result.get("quota"))
    top = max(
        [quota, *(_value(v) for stage in stages for v in stage["totals"].values())]
    ) or Fraction(1)
    plot = WIDTH - LABEL - 20
    row = len(stages) * (BAR + 1) + GAP
    height = row * len(candidates) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">Each candidate\'s votes at every stage</title>',
        f'<desc id="{chart_id}-desc">One row per candidate, one bar per stage, from the first'
        " stage at the top of the row to the last; the dashed line is the quota. The table"
        " gives the same numbers.</desc>",
    ]
    for position, candidate in enumerate(candidates):
        y = 10 + position * row
        colour = BLUE
        if candidate["id"] in elected:
            colour = GREEN
        elif candidate["id"] in excluded:
            colour = GREY
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + row // 2}" text-anchor="end" font-size="12"'
            f' fill="{BLACK}">{escape(candidate["name"][:28])}</text>'
        )
        for number, stage in enumerate(stages):
            length = int(_value(stage["totals"].get(candidate["id"])) * plot / top)
            parts.append(
                f'<rect x="{LABEL}" y="{y + number * (BAR + 1)}" width="{length}"'
                f' height="{BAR}" fill="{colour}"/>'
            )
    if quota:
        x = LABEL + int(quota * plot / top)
        parts.append(
            f'<line x1="{x}" y1="4" x2="{x}" y2="{height - 22}" stroke="{BLACK}"'
            ' stroke-dasharray="4 3"/>'
            f'<text x="{x}" y="{height - 8}" text-anchor="middle" font-size="12"'
            f' fill="{BLACK}">quota</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (names are escaped; everything else is numbers)
