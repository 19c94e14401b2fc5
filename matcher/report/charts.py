"""The report's charts as inline SVG: horizontal bar charts and the coverage colour scale.

A chart is drawn here, from rows the sections make (:class:`BarRow`), so the page needs
no script or network to show it; every bar is a ``rect.mark`` carrying the row's
``data-*`` attributes, so tests read the figures back from the page.

>>> coverage_colour(0.0), coverage_colour(1.0), coverage_colour(None)
('#d73027', '#4575b4', '#b8bec6')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matcher.i18n import Translator
from matcher.report.format import data_attrs, escape, fmt_int, html_format

__all__ = [
    "COVER_BAR",
    "DEMAND_BAR",
    "IDLE_BAR",
    "NO_DEMAND",
    "PALETTE",
    "REASON_BAR",
    "USED_BAR",
    "BarRow",
    "coverage_colour",
    "hbar_chart",
]

# Coverage colours, 0 % to 100 % (ColorBrewer RdYlBu, readable with red-green weakness).
PALETTE = ("#d73027", "#fc8d59", "#fee090", "#91bfdb", "#4575b4")
"""The coverage scale's colours, from none covered to all."""
NO_DEMAND = "#b8bec6"
"""The colour of a place with no demanded hours."""
DEMAND_BAR, COVER_BAR, IDLE_BAR, USED_BAR = "#dfe3e8", "#2b7bba", "#dfe3e8", "#1b9e77"
REASON_BAR = "#e07b39"


def coverage_colour(share: float | None) -> str:
    """A colour on the palette for a coverage share in [0, 1]."""
    if share is None or math.isnan(share):
        return NO_DEMAND
    t = min(max(share, 0.0), 1.0) * (len(PALETTE) - 1)
    i = min(int(t), len(PALETTE) - 2)
    f = t - i
    a = [int(PALETTE[i][k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(PALETTE[i + 1][k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def _text_width(text: str, size: float = 12) -> float:
    """Rough rendered width of a label (CJK glyphs are about twice as wide as Latin)."""
    wide = sum(1 for ch in text if ord(ch) > 0x2E7F)
    return size * (0.58 * (len(text) - wide) + 1.0 * wide)


@dataclass(frozen=True)
class BarRow:
    """One bar of :func:`hbar_chart`: its label, length (``value``), the text after it,
    colour, ``data-*`` attributes and tooltip; optionally a bar behind it (``back``), a
    tick across it (``tick``) and an alert on its text."""

    label: str
    value: float
    text: str
    fill: str
    data: dict[str, object]
    title: str
    back: float | None = None
    tick: float | None = None
    alert: bool = False


def _nice_ticks(top: float, count: int = 5) -> list[float]:
    """About ``count`` round steps from 0 past ``top`` (1, 2, 2.5 or 5 times a power of 10).

    >>> _nice_ticks(830)
    [0, 200, 400, 600, 800, 1000]
    """
    if top <= 0:
        return [0.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def hbar_chart(
    chart_id: str,
    rows: Sequence[BarRow],
    *,
    axis: str,
    _: Translator,
    pct: bool = False,
    width: int = 560,
    text_width: int = 190,
) -> str:
    """A horizontal bar chart as SVG: one ``rect.mark`` per row.

    A row may have a background bar (``back``, e.g. hours demanded behind hours covered)
    and a tick (``tick``, e.g. supply within reach).
    """
    if not rows:
        nothing = html_format(_("Nothing to show."))
        return f'<p class="empty" id="{chart_id}">{nothing}</p>'
    label_w = min(230.0, max(_text_width(r.label) for r in rows) + 12)
    top = 1.0 if pct else max(max(r.value, r.back or 0, r.tick or 0) for r in rows) or 1.0
    ticks = [0, 0.25, 0.5, 0.75, 1.0] if pct else _nice_ticks(top)
    top = max(top, ticks[-1])
    row_h, bar_h, pad_top, pad_bottom = 26, 16, 8, 34
    plot_w = width - label_w - text_width
    height = pad_top + row_h * len(rows) + pad_bottom

    def x(v: float) -> float:
        return label_w + plot_w * (v / top if top else 0)

    parts = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" aria-label="{escape(axis)}">'
    ]
    base_y = pad_top + row_h * len(rows)
    for t in ticks:
        tx = x(t)
        label = f"{round(100 * t)}%" if pct else fmt_int(t)
        parts.append(
            f'<line class="grid" x1="{tx:.1f}" y1="{pad_top}" x2="{tx:.1f}" y2="{base_y}"/>'
            f'<text class="tick" x="{tx:.1f}" y="{base_y + 14}" text-anchor="middle">{label}</text>'
        )
    parts.append(
        f'<text class="axis" x="{label_w + plot_w / 2:.1f}" y="{height - 4}" '
        f'text-anchor="middle">{escape(axis)}</text>'
    )
    for i, r in enumerate(rows):
        y = pad_top + i * row_h + (row_h - bar_h) / 2
        parts.append(_bar_svg(r, y, x, label_w, bar_h))
    parts.append("</svg>")
    return "".join(parts)


def _bar_svg(r: BarRow, y: float, x: Callable[[float], float], label_w: float, bar_h: int) -> str:
    """Row ``r`` of a bar chart at height ``y``: its label, bars, tick and text (``x``: a
    value's position; the bars start at ``label_w``)."""
    parts = []
    parts.append(
        f'<text class="label" x="{label_w - 8:.1f}" y="{y + bar_h - 3:.1f}" '
        f'text-anchor="end">{escape(r.label)}</text>'
    )
    if r.back is not None:
        parts.append(
            f'<rect class="back" x="{label_w:.1f}" y="{y:.1f}" '
            f'width="{max(x(r.back) - label_w, 0):.1f}" height="{bar_h}" '
            f'fill="{DEMAND_BAR}"/>'
        )
    w = max(x(r.value) - label_w, 0.0)
    parts.append(
        f'<rect class="mark" x="{label_w:.1f}" y="{y:.1f}" width="{w:.1f}" '
        f'height="{bar_h}" fill="{r.fill}"{data_attrs(r.data)}>'
        f"<title>{escape(r.title)}</title></rect>"
    )
    if r.tick is not None:
        tx = x(r.tick)
        parts.append(
            f'<line class="reach" x1="{tx:.1f}" y1="{y - 3:.1f}" x2="{tx:.1f}" '
            f'y2="{y + bar_h + 3:.1f}"><title>{escape(r.title)}</title></line>'
        )
    end = max(x(r.value), x(r.back or 0), x(r.tick or 0))
    cls = "value alert" if r.alert else "value"
    parts.append(
        f'<text class="{cls}" x="{end + 6:.1f}" y="{y + bar_h - 3:.1f}">{escape(r.text)}</text>'
    )
    return "".join(parts)
