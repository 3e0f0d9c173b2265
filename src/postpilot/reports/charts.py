"""The SVG charts of the reports, as pure functions of plain numbers and strings.

Nothing here knows about drift or performance results: a caller turns its results
into sequences (one value per chunk, one share per category) and gets back an
``<svg>`` element to place in a page. The drift and performance reports use these,
and so can a dashboard. NaN values are gaps: not drawn, not scaled on.
"""

from __future__ import annotations

from collections.abc import Sequence

from postpilot.reports.html import esc

__all__ = ["ALERT", "CURRENT", "REFERENCE", "bars", "line"]

REFERENCE, CURRENT, ALERT = "#5b8def", "#f08a24", "#b3261e"
"""The colours: reference (and the main line) blue, current (and a second line)
orange, alerts and thresholds red."""


def bars(series: Sequence[tuple[str, float, float]], width: int = 360, height: int = 160) -> str:
    """Grouped bars, one group per ``(label, reference share, current share)``;
    labels are shown (cut to 10 characters) when there are at most 12 groups."""
    if not series:
        return ""
    top = max(max(r, c) for _, r, c in series) or 1.0
    slot = (width - 30) / len(series)
    out = [f"<svg width='{width}' height='{height + 40}' role='img'>"]
    for i, (label, ref, cur) in enumerate(series):
        x = 30 + i * slot
        for j, (share, color) in enumerate(((ref, REFERENCE), (cur, CURRENT))):
            h = share / top * height
            out.append(
                f"<rect x='{x + j * slot * 0.42:.1f}' y='{height - h:.1f}' "
                f"width='{slot * 0.4:.1f}' height='{h:.1f}' fill='{color}'/>"
            )
        if len(series) <= 12:
            out.append(f"<text x='{x:.1f}' y='{height + 12}'>{esc(label[:10])}</text>")
    out.append(
        f"<text x='30' y='{height + 30}'><tspan fill='{REFERENCE}'>■ reference</tspan> "
        f"<tspan fill='{CURRENT}'>■ current</tspan></text></svg>"
    )
    return "".join(out)


def line(
    values: Sequence[float],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    alerts: Sequence[bool],
    width: int = 420,
    height: int = 160,
    *,
    second: Sequence[float | None] | None = None,
    guides: tuple[float | None, ...] = (),
    legend: str = "(dashed: threshold / band)",
    floor_at_zero: bool = True,
) -> str:
    """A line of ``values`` per chunk (blue; a red dot where ``alerts``), its band
    ``lows``/``highs`` (dashed, None where a chunk has none), an optional ``second``
    line (orange) and horizontal ``guides`` (red, dashed). The y axis starts at 0
    unless ``floor_at_zero`` is False or a value is negative. ``legend`` is text
    (escaped). Empty when there is nothing finite to draw."""
    extra = [v for v in (second or []) if v is not None and v == v]
    extra += [g for g in guides if g is not None]
    bounds = [v for v in [*highs, *lows] if v is not None]
    finite = [v for v in values if v == v] + bounds + extra
    if not finite:
        return ""
    top, bottom = max(finite), (min(0.0, min(finite)) if floor_at_zero else min(finite))
    span = (top - bottom) or 1.0
    n = len(values)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = 40 + (i * (width - 60) / max(n - 1, 1))
        return x, 10 + (top - v) / span * height

    out = [f"<svg width='{width}' height='{height + 30}' role='img'>"]
    for bound in (highs, lows):
        points = [xy(i, b) for i, b in enumerate(bound) if b is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f"<polyline points='{path}' fill='none' stroke='#999' stroke-dasharray='4 3'/>"
            )
    path = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values) if v == v)
    )
    out.append(f"<polyline points='{path}' fill='none' stroke='{REFERENCE}' stroke-width='2'/>")
    if second is not None:
        path = " ".join(
            f"{x:.1f},{y:.1f}"
            for x, y in (xy(i, v) for i, v in enumerate(second) if v is not None and v == v)
        )
        out.append(f"<polyline points='{path}' fill='none' stroke='{CURRENT}' stroke-width='2'/>")
    for guide in guides:
        if guide is not None:
            _, y = xy(0, guide)
            out.append(
                f"<line x1='40' x2='{width - 20}' y1='{y:.1f}' y2='{y:.1f}' "
                f"stroke='{ALERT}' stroke-dasharray='6 3'/>"
            )
    for i, (v, alert) in enumerate(zip(values, alerts, strict=True)):
        if v == v:
            x, y = xy(i, v)
            color = ALERT if alert else REFERENCE
            out.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{color}'/>")
    out.append(
        f"<text x='2' y='14'>{top:.3g}</text><text x='2' y='{height + 10}'>"
        f"{bottom:.3g}</text><text x='40' y='{height + 26}'>chunks →  "
        f"{esc(legend)}</text></svg>"
    )
    return "".join(out)
