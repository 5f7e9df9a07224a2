"""Horizontal bar charts as inline SVG (no plotting library): one bar per row, stacked by series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 960
LABEL_WIDTH = 340
TOTAL_WIDTH = 56
ROW_HEIGHT = 28
BAR_HEIGHT = 18
LEGEND_HEIGHT = 30
MAX_LABEL_CHARS = 50
CHAR_WIDTH = 7  # rough width of a 12 px character, to space the legend


@dataclass(frozen=True)
class Series:
    name: str
    color: str


def bar_chart(title: str, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[Series]) -> str:
    """Rows of (label, one value per series); a legend when there is more than one series."""
    top = LEGEND_HEIGHT if len(series) > 1 else 6
    height = top + ROW_HEIGHT * len(rows) + 6
    bar_width = WIDTH - LABEL_WIDTH - TOTAL_WIDTH
    largest = max((sum(values) for _, values in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    if len(series) > 1:
        parts.append(_legend(series))
    for index, (label, values) in enumerate(rows):
        y = top + index * ROW_HEIGHT
        text_y = y + ROW_HEIGHT / 2 + 4
        parts.append(
            f'<text x="{LABEL_WIDTH - 10}" y="{text_y:.1f}" text-anchor="end" class="label">'
            f"<title>{escape(label)}</title>{escape(_shorten(label))}</text>"
        )
        x = float(LABEL_WIDTH)
        for serie, value in zip(series, values, strict=True):
            if not value:
                continue
            width = bar_width * value / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y + (ROW_HEIGHT - BAR_HEIGHT) / 2:.1f}" width="{width:.1f}" '
                f'height="{BAR_HEIGHT}" fill="{serie.color}"><title>{escape(label)} — '
                f"{escape(serie.name)}: {value}</title></rect>"
            )
            x += width
        parts.append(f'<text x="{x + 6:.1f}" y="{text_y:.1f}" class="value">{sum(values)}</text>')
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{top}" x2="{LABEL_WIDTH}" y2="{height - 6}" class="axis"/>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: Sequence[Series]) -> str:
    items, x = [], LABEL_WIDTH
    for serie in series:
        items.append(
            f'<rect x="{x}" y="6" width="12" height="12" rx="2" fill="{serie.color}"/>'
            f'<text x="{x + 18}" y="16" class="legend">{escape(serie.name)}</text>'
        )
        x += 18 + CHAR_WIDTH * len(serie.name) + 22
    return "".join(items)


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1].rstrip() + "…"
