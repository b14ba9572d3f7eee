"""Hand-made inline SVG charts: a line chart over days and horizontal bar charts.

Pure functions from numbers to SVG text, with no scripts and nothing fetched. Every point and
bar carries ``data-series``, ``data-key`` and ``data-value`` (the exact number it draws) and a
``<title>`` tooltip, so a person can hover and a test can read what the chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2")
WIDTH, HEIGHT = 760, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 16, 56


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name and one value per x label (None where there is no value)."""

    name: str
    values: Sequence[float | None]


def number(value: float | None, digits: int = 0) -> str:
    """A number as people read it: thousands separated, ``digits`` decimals, ``–`` for none."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def data_value(value: float) -> str:
    """The exact value for ``data-value``: integers as integers, others to 6 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _tick_label(value: float) -> str:
    return number(value, 0 if float(value).is_integer() else 2)


def _attrs(**values: str) -> str:
    return " ".join(f'{k.replace("_", "-")}="{escape(v)}"' for k, v in values.items())


def line_chart(
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    width: int = WIDTH,
) -> str:
    """Lines over ``labels`` (days, as ``YYYY-MM-DD``), one colour per series, with a legend
    and a caption. ``chart`` names the chart in ``data-chart``; ``width`` is in the chart's own
    units (text keeps its size: a narrower chart for a narrower column)."""
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(max(values, default=0.0))
    top = ticks[-1]
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(i: int) -> float:
        return MARGIN_LEFT + (plot_w * i / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return MARGIN_TOP + plot_h * (1 - v / top)

    parts = [_frame(chart, title, len(labels), width, HEIGHT)]
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" '
            f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{_tick_label(tick)}</text>'
        )
    every = max(1, math.ceil(len(labels) * 60 / plot_w))  # a label per 60 units at most
    last = len(labels) - 1
    for i, label in enumerate(labels):
        if i % every == 0 or (i == last and last % every > every / 2):
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
                f'text-anchor="middle">{escape(label[5:])}</text>'
            )
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = [(i, v) for i, v in enumerate(s.values) if v is not None]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for i, v in points:
            attrs = _attrs(data_series=s.name, data_key=labels[i], data_value=data_value(v))
            parts.append(
                f'<circle class="point" {attrs} cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" '
                f'fill="{colour}"><title>{escape(s.name)} {escape(labels[i])}: '
                f"{number(v, 0 if float(v).is_integer() else 2)}{escape(unit)}</title></circle>"
            )
    parts.append(_legend([s.name for s in series]))
    return "".join(parts) + "</svg></figure>"


def bar_chart(
    chart: str, title: str, bars: Sequence[tuple[str, float]], series: str, unit: str = ""
) -> str:
    """Horizontal bars, one per ``(label, value)``, longest first as given, the value written
    at the end of each bar."""
    row_h, label_w, value_w = 24, 220, 90
    height = MARGIN_TOP * 2 + row_h * max(len(bars), 1)
    top = max((v for _, v in bars), default=0.0) or 1.0
    plot_w = WIDTH - label_w - value_w
    parts = [_frame(chart, title, len(bars), WIDTH, height)]
    for i, (label, value) in enumerate(bars):
        y = MARGIN_TOP + i * row_h
        width = max(plot_w * value / top, 1.0)
        attrs = _attrs(data_series=series, data_key=label, data_value=data_value(value))
        shown = number(value, 0 if float(value).is_integer() else 2) + unit
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + row_h * 0.65:.1f}" '
            f'text-anchor="end">{escape(_shorten(label))}</text>'
            f'<rect class="bar" {attrs} x="{label_w}" y="{y + 3}" width="{width:.1f}" '
            f'height="{row_h - 6}" fill="{PALETTE[0]}"><title>{escape(label)}: '
            f"{escape(shown)}</title></rect>"
            f'<text class="value" x="{label_w + width + 6:.1f}" y="{y + row_h * 0.65:.1f}">'
            f"{escape(shown)}</text>"
        )
    return "".join(parts) + "</svg></figure>"


def _shorten(label: str, most: int = 32) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"


def _frame(chart: str, title: str, count: int, width: int, height: int) -> str:
    """A captioned figure and the opening of its SVG (``data-count``: points or bars)."""
    return (
        f'<figure><figcaption>{escape(title)}</figcaption><svg class="chart" role="img" '
        f'data-chart="{escape(chart)}" data-count="{count}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}">'
    )


def _legend(names: Sequence[str]) -> str:
    parts = []
    x = MARGIN_LEFT
    for n, name in enumerate(names):
        colour = PALETTE[n % len(PALETTE)]
        y = HEIGHT - 14
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="12" height="12" rx="2" fill="{colour}"/>'
            f'<text class="legend" x="{x + 16}" y="{y + 1}">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    return "".join(parts)
