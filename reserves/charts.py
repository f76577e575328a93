"""Small server-side SVG charts for the staff pages (no JavaScript)."""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    css: str


def line_points(points: list[tuple[dt.datetime, int]], *, width: int = 640, height: int = 160) -> dict:
    """Polyline coordinates for a balance over time, with the y-axis maximum."""
    if not points:
        return {"points": "", "max": 0, "width": width, "height": height}
    top = max(max(v for _, v in points), 1)
    step = width / max(1, len(points) - 1)
    coords = " ".join(f"{i * step:.1f},{height - (v / top) * (height - 10):.1f}" for i, (_, v) in enumerate(points))
    return {"points": coords, "max": top, "width": width, "height": height}


def stacked(bars: list[Bar], *, total: int, width: int = 640) -> list[dict]:
    """Horizontal stacked segments (x, width) for bars that add up to at most `total`."""
    segments, x = [], 0.0
    for bar in bars:
        w = (bar.value / total) * width if total else 0
        segments.append({"label": bar.label, "value": bar.value, "css": bar.css, "x": round(x, 1), "w": round(w, 1)})
        x += w
    return segments
