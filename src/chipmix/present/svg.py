"""Small inline-SVG charts for the HTML reports: no JavaScript, no fonts or files to fetch.

One function, :func:`chart`, draws bars (stacked per category) and lines over a categorical
x axis: the periods of a plan, the scenarios of a comparison, the steps of a frontier. Every
bar and point carries a ``<title>`` (the browser shows it on hover, a screen reader reads it)
and ``data-series`` / ``data-category`` / ``data-value`` attributes, so a test can read the
drawn numbers back from the page. The legend is part of the SVG, so the chart prints as one
piece.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from chipmix.present.formatting import compact

#: Series colours for things that are not vendors (the vendor colours live in charts.py).
PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd"]
SHORT = "#c44e52"  # shortfall, caps exceeded: one red everywhere
CAP = "#222222"  # caps and requirements: a dark dashed line


@dataclass
class Series:
    """One series.

    ``bar`` (stacked with the other bars), ``line``, ``dot`` (markers only, for categories
    that are not a sequence) or ``step`` (a cap or a requirement that holds over a whole
    period). ``hatch`` draws bars striped (idle cards, shortfall);
    ``dash`` draws lines dashed. ``None`` values are gaps.
    """

    name: str
    values: Sequence[float | None]
    color: str
    kind: str = "bar"
    hatch: bool = False
    dash: bool = False
    legend: bool = True


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps up to at least ``top`` (1, 2, 2.5 or 5 times a power of ten)."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw:
            break
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 12) for i in range(n + 1)]


#: The plot area's least height (px of the 980-px-wide picture): labels and legend rows
#: beyond the default height add to the picture instead of squashing the bars (at 80 px a
#: chart of eight long scenario names had bars an eighth of its height).
MIN_PLOT_H = 170
#: Category labels longer than this are shortened (with "…"; the whole label is the tooltip).
MAX_LABEL = 28
#: Width of one label character at the charts' 13 px font (an estimate, generous), and how
#: much of a rotated label's length lies to the left of its anchor (cos 40°).
CHAR_W = 7.4
COS_LABEL = math.cos(math.radians(40))


def short_label(text: str, limit: int = MAX_LABEL) -> str:
    """``text``, or its first ``limit − 1`` characters and "…" when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chart(
    chart_id: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    y_format: Callable[[float], str] | None = None,
    y_max: float | None = None,
    width: int = 980,
    height: int = 300,
    x_label: str = "",
) -> str:
    """An ``<svg>`` element (as text) with axes, bars, lines and a legend."""
    n = max(1, len(categories))
    rows = _legend_rows([(i, s) for i, s in enumerate(series) if s.legend], width - 80)
    legend_h = 20 * len(rows) + (6 if rows else 0)
    shown = [short_label(c) for c in categories]
    rotate = n > 12 or max((len(c) for c in shown), default=0) * 8 > (width - 90) / n
    label_h = (max((len(c) for c in shown), default=4) * 6.2 + 16) if rotate else 24
    top_pad = 38 + legend_h
    left, right, bottom = 78, 16, label_h + (18 if x_label else 0) + 8
    if rotate:  # a label rotated to the left of its slot must not leave the picture
        slot = (width - left - right) / n
        reach = max((len(c) * CHAR_W * COS_LABEL - slot * (i + 0.5)
                     for i, c in enumerate(shown)), default=0.0)
        left = max(left, math.ceil(reach) + 12)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    total_height: float = height
    if plot_h < MIN_PLOT_H:  # long rotated labels or a tall legend grow the picture
        total_height += MIN_PLOT_H - plot_h
        plot_h = MIN_PLOT_H
    ticks = nice_ticks(_data_top(categories, series, y_max))
    frame = _Frame(chart_id, y_format or compact, left, top_pad, plot_w, plot_h,
                   slot=plot_w / n, y_top=ticks[-1] or 1.0)
    out: list[str] = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {total_height}" '
        f'width="{width}" height="{total_height}" role="img" aria-labelledby="{chart_id}-t" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="13">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        "<defs>",
    ]
    out += _patterns(chart_id, series)
    out.append("</defs>")
    out.append(f'<text x="{left}" y="18" font-size="15" font-weight="600">{escape(title)}</text>')
    out += _legend(frame, rows)
    out += _y_axis(frame, ticks, y_label)
    out += _bars(frame, categories, series)
    dots = [s for s in series if s.kind == "dot"]
    for s in series:
        if s.kind != "bar":  # dots side by side, so equal values stay visible
            shift = (dots.index(s) - (len(dots) - 1) / 2) * 12 if s.kind == "dot" else 0.0
            out += _line(frame, categories, s, shift)
    out += _x_axis(frame, categories, rotate, x_label, total_height)
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class _Frame:
    """The plot area of one chart: where values go and how they read."""

    chart_id: str
    fmt: Callable[[float], str]
    left: float
    top_pad: float
    plot_w: float
    plot_h: float
    slot: float
    y_top: float

    def y(self, v: float) -> float:
        return self.top_pad + self.plot_h - self.plot_h * (v / self.y_top)

    def fill(self, i: int, s: Series) -> str:
        return f"url(#{self.chart_id}-h{i})" if s.hatch else s.color


def _data_top(categories: Sequence[str], series: Sequence[Series], y_max: float | None
              ) -> float:
    """The largest value to show: the tallest bar stack or line point (or ``y_max``)."""
    bars = [s for s in series if s.kind == "bar"]
    stack_top = [sum(max(0.0, v or 0.0) for v in (b.values[i] for b in bars)
                     if v is not None) for i in range(len(categories))]
    line_top = [v for s in series if s.kind != "bar" for v in s.values if v is not None]
    top = max([*stack_top, *line_top, 0.0])
    if y_max is not None:
        top = max(top, y_max) if top > y_max else y_max
    return top


def _patterns(chart_id: str, series: Sequence[Series]) -> list[str]:
    out = []
    for i, s in enumerate(series):
        if s.hatch:
            out.append(
                f'<pattern id="{chart_id}-h{i}" width="6" height="6" '
                f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
                f'<rect width="6" height="6" fill="{s.color}" fill-opacity="0.25"/>'
                f'<rect width="2.5" height="6" fill="{s.color}"/></pattern>'
            )
    return out


def _legend(frame: _Frame, rows: list[list[tuple[int, Series]]]) -> list[str]:
    out = []
    ly = 38
    for row in rows:
        lx = frame.left
        for i_s, s in row:
            if s.kind == "bar":
                out.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" '
                           f'fill="{frame.fill(i_s, s)}"/>')
            elif s.kind == "dot":
                out.append(f'<circle cx="{lx + 7}" cy="{ly - 4}" r="5" fill="{s.color}"/>')
            else:
                dash = ' stroke-dasharray="5 3"' if s.dash else ""
                out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 14}" y2="{ly - 4}" '
                           f'stroke="{s.color}" stroke-width="2"{dash}/>')
            out.append(f'<text x="{lx + 18}" y="{ly}">{escape(s.name)}</text>')
            lx += _legend_width(s)
        ly += 20
    return out


def _y_axis(frame: _Frame, ticks: Sequence[float], y_label: str) -> list[str]:
    """Grid lines, tick labels and the rotated axis title."""
    out = []
    left = frame.left
    for t in ticks:
        yy = frame.y(t)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + frame.plot_w}" y2="{yy:.1f}" '
                   f'stroke="#dddddd" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                   f'fill="#444444">{escape(frame.fmt(t))}</text>')
    out.append(f'<text transform="translate(16 {frame.top_pad + frame.plot_h / 2:.1f}) '
               f'rotate(-90)" text-anchor="middle" fill="#444444">{escape(y_label)}</text>')
    return out


def _bars(frame: _Frame, categories: Sequence[str], series: Sequence[Series]) -> list[str]:
    """Stacked bars, one stack per category."""
    out = []
    bar_w = min(56.0, frame.slot * 0.7)
    for i, cat in enumerate(categories):
        cx = frame.left + frame.slot * (i + 0.5)
        base = 0.0
        for j, s in enumerate(series):
            if s.kind != "bar":
                continue
            v = s.values[i]
            if v is None or v <= 0:
                continue
            y0, y1 = frame.y(base), frame.y(base + v)
            out.append(
                f'<rect x="{cx - bar_w / 2:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.0, y0 - y1):.1f}" fill="{frame.fill(j, s)}" '
                f'data-series="{escape(s.name)}" '
                f'data-category="{escape(cat)}" data-value="{v!r}">'
                f"<title>{escape(cat)} · {escape(s.name)}: {escape(frame.fmt(v))}</title></rect>"
            )
            base += v
    return out


def _line(frame: _Frame, categories: Sequence[str], s: Series, shift: float = 0.0
          ) -> list[str]:
    """A line or step series: polylines between gaps (None), a point per value.

    A dot series draws the points only, ``shift`` px to the side.
    """
    out = []
    left, slot, y = frame.left, frame.slot, frame.y
    dash = ' stroke-dasharray="6 4"' if s.dash else ""
    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(s.values):
        if v is None or s.kind == "dot":
            segments.append([])
            continue
        if s.kind == "step":
            segments[-1] += [(left + slot * i, y(v)), (left + slot * (i + 1), y(v))]
        else:
            segments[-1].append((left + slot * (i + 0.5), y(v)))
    for seg in segments:
        if len(seg) >= 2:
            pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{s.color}" '
                       f'stroke-width="2"{dash}/>')
    for i, v in enumerate(s.values):
        if v is None:
            continue
        cx = left + slot * (i + 0.5) + shift
        r = 2.5 if s.kind == "step" else (5 if s.kind == "dot" else 3.5)
        opacity = ' fill-opacity="0"' if s.kind == "step" else ""
        out.append(
            f'<circle cx="{cx:.1f}" cy="{y(v):.1f}" r="{r}" fill="{s.color}"{opacity} '
            f'data-series="{escape(s.name)}" data-category="{escape(categories[i])}" '
            f'data-value="{v!r}"><title>{escape(categories[i])} · {escape(s.name)}: '
            f"{escape(frame.fmt(v))}</title></circle>"
        )
    return out


def _x_axis(frame: _Frame, categories: Sequence[str], rotate: bool, x_label: str,
            height: float) -> list[str]:
    """The axis line, category labels (every one up to 40, rotated when crowded), title."""
    left, plot_w, bottom = frame.left, frame.plot_w, frame.top_pad + frame.plot_h
    out = [f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" '
           f'y2="{bottom}" stroke="#444444"/>']
    step = max(1, math.ceil(max(1, len(categories)) / 40))
    for i, cat in enumerate(categories):
        if i % step:
            continue
        cx = left + frame.slot * (i + 0.5)
        yy = bottom + 14
        shown = short_label(cat)
        # a shortened label keeps the whole one as its tooltip
        tip = f"<title>{escape(cat)}</title>" if shown != cat else ""
        if rotate:
            out.append(f'<text transform="translate({cx:.1f} {yy - 4}) rotate(-40)" '
                       f'text-anchor="end" fill="#444444">{tip}{escape(shown)}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{yy}" text-anchor="middle" '
                       f'fill="#444444">{tip}{escape(shown)}</text>')
    if x_label:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                   f'fill="#444444">{escape(x_label)}</text>')
    return out


def _legend_width(s: Series) -> float:
    return 28 + 7.4 * len(s.name)


def _legend_rows(items: Sequence[tuple[int, Series]],
                 width: float) -> list[list[tuple[int, Series]]]:
    rows: list[list[tuple[int, Series]]] = []
    used = width + 1
    for i, s in items:
        w = _legend_width(s)
        if used + w > width:
            rows.append([])
            used = 0.0
        rows[-1].append((i, s))
        used += w
    return rows


__all__ = ["CAP", "MAX_LABEL", "PALETTE", "SHORT", "Series", "chart", "nice_ticks", "short_label"]
