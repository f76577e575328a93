"""Small server-side SVG charts: no JavaScript, no CDN, readable without colour.

    from core import charts
    svg = charts.line_chart(title="Reserve balance", labels=days, series=[charts.Series("balance", values)],
                            threshold=minimum, threshold_label="required minimum")
    svg = charts.cumulative_chart(title="Paid vs eligible loss", labels=days, increments=paid_per_day,
                                  target=eligible_loss, target_label="eligible loss", name="paid")
    svg = charts.bar_chart(title="Claims by status", categories=statuses, series=[charts.Series("claims", counts)],
                           stacked=False)

Each returns a SafeString: a <figure> holding the <svg> (scaled to its container,
with axis titles and units when given, and a legend that wraps onto as many rows as
its labels need, Japanese ones included), a <figcaption>, and the same numbers as a
table in <details> (the chart's text alternative). Views build the charts and
templates print them. Values may be int, Decimal or float; they are turned into
floats only to place marks, and shown exactly in the tooltips and the table.
"""

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Number = int | Decimal | float
PALETTE = ("#0b5cad", "#1e7b34", "#a15c00", "#6b3fa0", "#0f766e", "#b42318", "#5b6675")
THRESHOLD_COLOR = "#b42318"
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 40, 44
MAX_X_LABELS = 12
TITLE_Y, LEGEND_ROW = 18, 18  # the title's baseline; the height of one legend row


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]
    color: str | None = None


def format_compact(value: Number) -> str:
    """1,234 · 12.3M · 4.5B: short axis labels."""
    number = float(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0")


def _exact(value: Number | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering low..high.

    With `integer` (counts, yen) steps are whole numbers and never 2.5 times a power of ten.
    """
    if high - low <= max(abs(low), abs(high), 1.0) * 1e-9:  # one value (or none): give it some room
        high = low + max(abs(low) * 0.1, 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if integer:
        step = max(1, round(step))
    start = math.floor(low / step) * step
    if start > low:  # float rounding of the division
        start -= step
    ticks = [start]
    while ticks[-1] < high - max(abs(high), step) * 1e-15:
        ticks.append(start + step * len(ticks))
    # A last tick a rounding error short of `high` is that same round value: let it cover the range.
    ticks[-1] = max(ticks[-1], high)
    return ticks


class _Frame:
    """The plot area and scales shared by every chart."""

    def __init__(
        self,
        *,
        low: float,
        high: float,
        count: int,
        width: int,
        height: int,
        integer: bool,
        legend_rows: int = 1,
        x_title: bool = False,
    ) -> None:
        self.ticks = nice_ticks(min(low, 0.0), high, integer=integer)
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.count = max(count, 1)
        self.top = TITLE_Y + 10 + LEGEND_ROW * legend_rows
        self.bottom = BOTTOM + (16 if x_title else 0)
        self.width, self.height = width, height + self.top - TOP + self.bottom - BOTTOM
        self.plot_w = width - LEFT - RIGHT
        self.plot_h = self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return self.top + self.plot_h * (1 - (value - self.low) / span)

    def x_point(self, index: int) -> float:
        """Centre of the index-th point of a line (first and last at the edges)."""
        if self.count == 1:
            return LEFT + self.plot_w / 2
        return LEFT + self.plot_w * index / (self.count - 1)

    def x_band(self, index: int) -> tuple[float, float]:
        """Left edge and width of the index-th category band."""
        band = self.plot_w / self.count
        return LEFT + band * index, band


def text_width(text: str, size: int = 12) -> float:
    """How wide `text` is drawn at `size` px: full-width (Japanese) characters count double."""
    units = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.1 for ch in text)
    return units * size * 0.5


def legend_layout(names: Sequence[str], width: int) -> list[tuple[float, int]]:
    """(x, row) of each legend entry, left to right, wrapping onto a new row when the next one would not fit."""
    places, x, row = [], float(LEFT), 0
    for name in names:
        entry = 18 + text_width(name) + 16
        if x > LEFT and x + entry > width - RIGHT:
            x, row = float(LEFT), row + 1
        places.append((x, row))
        x += entry
    return places


def _legend_rows(names: Sequence[str], width: int) -> int:
    return (max(row for _x, row in legend_layout(names, width)) + 1) if names else 0


def _svg(
    kind: str,
    title: str,
    frame: _Frame,
    body: list[str],
    labels: list[str],
    legend: list[tuple[str, str, bool]],
    y_format: Callable[[Number], str],
    x_positions: list[float],
    *,
    x_title: str = "",
    y_title: str = "",
) -> str:
    parts = [
        f'<svg class="chart" data-chart="{kind}" role="img" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="{TITLE_Y}" font-size="14" font-weight="600" fill="#1d2733">{escape(title)}</text>',
    ]
    for tick in frame.ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{frame.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d9dee5" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="y-label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6675">'
            f"{escape(y_format(tick))}</text>"
        )
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for index, (label, x) in enumerate(zip(labels, x_positions, strict=False)):
        if index % step == 0:
            parts.append(
                f'<text class="x-label" x="{x:.1f}" y="{frame.height - frame.bottom + 18}" text-anchor="middle" '
                f'fill="#5b6675">{escape(label)}</text>'
            )
    base_y = frame.y(0) if frame.low <= 0 else frame.y(frame.low)
    parts.append(
        f'<line class="x-axis" x1="{LEFT}" x2="{frame.width - RIGHT}" y1="{base_y:.1f}" y2="{base_y:.1f}" '
        'stroke="#1d2733" stroke-width="1"/>'
    )
    parts.append(
        f'<line class="y-axis" x1="{LEFT}" x2="{LEFT}" y1="{frame.top:.1f}" y2="{frame.height - frame.bottom:.1f}" '
        'stroke="#1d2733" stroke-width="1"/>'
    )
    if y_title:
        middle = frame.top + frame.plot_h / 2
        parts.append(
            f'<text class="y-title" x="14" y="{middle:.1f}" text-anchor="middle" fill="#1d2733" '
            f'transform="rotate(-90 14 {middle:.1f})">{escape(y_title)}</text>'
        )
    if x_title:
        parts.append(
            f'<text class="x-title" x="{LEFT + frame.plot_w / 2:.1f}" y="{frame.height - 8}" text-anchor="middle" '
            f'fill="#1d2733">{escape(x_title)}</text>'
        )
    parts.extend(body)
    places = legend_layout([name for name, _color, _dashed in legend], frame.width)
    for (name, color, dashed), (legend_x, row) in zip(legend, places, strict=True):
        y = TITLE_Y + 10 + LEGEND_ROW * row + 9
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(
            f'<g class="legend"><line x1="{legend_x:.1f}" x2="{legend_x + 14:.1f}" y1="{y - 4}" y2="{y - 4}" '
            f'stroke="{color}" stroke-width="3"{dash}/><text x="{legend_x + 18:.1f}" y="{y}" fill="#1d2733">'
            f"{escape(name)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _figure(
    kind: str, svg: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = ""
) -> SafeString:
    """The chart with its caption and its numbers as a table (the text alternative)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{escape(cell)}</th>' if i == 0 else f'<td class="num">{escape(cell)}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    text = f"{title}. {caption}" if caption else title
    return mark_safe(  # noqa: S308 - every text is escaped
        f'<figure class="chart-figure" data-chart-figure="{kind}">{svg}'
        f"<figcaption>{escape(text)}</figcaption>"
        f'<details class="chart-data"><summary>{escape(_("The numbers as a table"))}</summary>'
        f'<div class="table-scroll"><table class="list"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        "</div></details></figure>"
    )


def _all_integers(series: Sequence[Series], *extra: Number | None) -> bool:
    values = [v for s in series for v in s.values if v is not None] + [v for v in extra if v is not None]
    return all(isinstance(v, int) or (isinstance(v, Decimal) and v == v.to_integral_value()) for v in values)


def _floats(values: Sequence[Number | None]) -> list[float | None]:
    if any(isinstance(v, bool) for v in values):
        raise TypeError("chart values are numbers, not booleans")
    return [None if v is None else float(v) for v in values]


def _color(series: Series, index: int) -> str:
    return series.color or PALETTE[index % len(PALETTE)]


def _threshold(
    frame: _Frame, threshold: Number | None, label: str, y_format: Callable[[Number], str]
) -> tuple[list[str], list[tuple[str, str, bool]]]:
    if threshold is None:
        return [], []
    y = frame.y(float(threshold))
    text = f"{label}: {y_format(threshold)}" if label else y_format(threshold)
    body = [
        f'<line class="threshold" data-value="{escape(_exact(threshold))}" x1="{LEFT}" x2="{frame.width - RIGHT}" '
        f'y1="{y:.1f}" y2="{y:.1f}" stroke="{THRESHOLD_COLOR}" stroke-width="2" stroke-dasharray="6 4">'
        f"<title>{escape(text)}</title></line>"
    ]
    return body, [(label or "threshold", THRESHOLD_COLOR, True)]


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    threshold: Number | None = None,
    threshold_label: str = "",
    y_format: Callable[[Number], str] = format_compact,
    x_title: str = "",
    y_title: str = "",
    caption: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """Lines over shared x labels, with an optional horizontal threshold (e.g. a required minimum)."""
    data = [_floats(s.values) for s in series]
    known = [v for values in data for v in values if v is not None]
    if threshold is not None:
        known.append(float(threshold))
    legend_names = [s.name for s in series] + ([threshold_label or "threshold"] if threshold is not None else [])
    frame = _Frame(
        low=min(known, default=0.0),
        high=max(known, default=1.0),
        count=len(labels),
        width=width,
        height=height,
        integer=_all_integers(series, threshold),
        legend_rows=_legend_rows(legend_names, width),
        x_title=bool(x_title),
    )
    body, legend = [], []
    for index, (item, values) in enumerate(zip(series, data, strict=True)):
        color = _color(item, index)
        points = [(frame.x_point(i), frame.y(v), item.values[i]) for i, v in enumerate(values) if v is not None]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        body.append(
            f'<polyline class="series" data-series="{escape(item.name)}" points="{coords}" fill="none" '
            f'stroke="{color}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        for (x, y, raw), label in zip(points, labels, strict=False):
            body.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" '
                f'data-value="{escape(_exact(raw))}">'
                f"<title>{escape(label)}: {escape(_exact(raw))}</title></circle>"
            )
        legend.append((item.name, color, False))
    threshold_body, threshold_legend = _threshold(frame, threshold, threshold_label, y_format)
    x_positions = [frame.x_point(i) for i in range(len(labels))]
    svg = _svg(
        "line",
        title,
        frame,
        body + threshold_body,
        list(labels),
        legend + threshold_legend,
        y_format,
        x_positions,
        x_title=x_title,
        y_title=y_title,
    )
    headers = [x_title, *(s.name for s in series)] + ([threshold_label or "threshold"] if threshold is not None else [])
    rows = [
        [label, *(_exact(s.values[i]) for s in series)] + ([_exact(threshold)] if threshold is not None else [])
        for i, label in enumerate(labels)
    ]
    return _figure("line", svg, title, headers, rows, caption)


def cumulative_chart(
    *,
    title: str,
    labels: Sequence[str],
    increments: Sequence[Number],
    target: Number | None,
    name: str = "cumulative",
    target_label: str = "target",
    y_format: Callable[[Number], str] = format_compact,
    x_title: str = "",
    y_title: str = "",
    caption: str = "",
) -> SafeString:
    """The running total of `increments` against a target line (e.g. paid so far vs eligible loss)."""
    totals = list(accumulate(increments))
    return line_chart(
        title=title,
        labels=labels,
        series=[Series(name, totals)],
        threshold=target,
        threshold_label=target_label,
        y_format=y_format,
        x_title=x_title,
        y_title=y_title,
        caption=caption,
    )


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    stacked: bool = False,
    threshold: Number | None = None,
    threshold_label: str = "",
    y_format: Callable[[Number], str] = format_compact,
    x_title: str = "",
    y_title: str = "",
    caption: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """Bars per category: one series, several side by side, or `stacked` (negative values are not stacked)."""
    data = [[v or 0.0 for v in _floats(s.values)] for s in series]
    if stacked:
        high = max((sum(column) for column in zip(*data, strict=True)), default=1.0)
    else:
        high = max((v for values in data for v in values), default=1.0)
    low = min((v for values in data for v in values), default=0.0)
    if threshold is not None:
        high = max(high, float(threshold))
    integer = _all_integers(series, threshold)
    legend_names = ([s.name for s in series] if len(series) > 1 else []) + (
        [threshold_label or "threshold"] if threshold is not None else []
    )
    frame = _Frame(
        low=low,
        high=high,
        count=len(categories),
        width=width,
        height=height,
        integer=integer,
        legend_rows=_legend_rows(legend_names, width),
        x_title=bool(x_title),
    )
    body: list[str] = []
    groups = 1 if stacked else max(len(series), 1)
    for c, category in enumerate(categories):
        left, band = frame.x_band(c)
        inner = band * 0.75
        bar_w = inner / groups
        base = 0.0
        for s, item in enumerate(series):
            value = data[s][c]
            raw = item.values[c]
            if stacked:
                y_top, y_bottom, x = frame.y(base + value), frame.y(base), left + (band - inner) / 2
                base += value
            else:
                y_top, y_bottom = frame.y(max(value, 0.0)), frame.y(min(value, 0.0))
                x = left + (band - inner) / 2 + bar_w * s
            body.append(
                f'<rect class="bar" data-series="{escape(item.name)}" data-category="{escape(category)}" '
                f'data-value="{escape(_exact(raw))}" x="{x:.1f}" y="{y_top:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{max(y_bottom - y_top, 0):.1f}" fill="{_color(item, s)}">'
                f"<title>{escape(category)} · {escape(item.name)}: {escape(_exact(raw))}</title></rect>"
            )
    threshold_body, threshold_legend = _threshold(frame, threshold, threshold_label, y_format)
    legend = [(item.name, _color(item, s), False) for s, item in enumerate(series)] if len(series) > 1 else []
    x_positions = [frame.x_band(c)[0] + frame.x_band(c)[1] / 2 for c in range(len(categories))]
    svg = _svg(
        "bar",
        title,
        frame,
        body + threshold_body,
        list(categories),
        legend + threshold_legend,
        y_format,
        x_positions,
        x_title=x_title,
        y_title=y_title,
    )
    headers = [x_title, *(s.name for s in series)]
    rows = [[category, *(_exact(s.values[c]) for s in series)] for c, category in enumerate(categories)]
    return _figure("bar", svg, title, headers, rows, caption)


def yen_compact(value: Number) -> str:
    """¥2B · ¥12.3M: yen axis labels."""
    text = format_compact(value)
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"
