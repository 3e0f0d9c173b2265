"""The drift report as one self-contained HTML page (inline CSS and SVG, no scripts,
nothing fetched), also shown inline in Jupyter through ``DriftReport._repr_html_``.

Top: what drifted and what to look at first (columns ordered by how far their
statistic is past its threshold). Then per column: reference vs current
distribution, and the statistic over chunks with its threshold.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn

if TYPE_CHECKING:
    from postpilot.monitoring.results import ColumnDrift, DriftReport

__all__ = ["page", "render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,sans-serif;color:#1b1f24;max-width:72rem;
margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
.summary{padding:.8rem 1rem;border-radius:6px;margin:1rem 0}
.bad{background:#fdecea;border:1px solid #f5c2bd}.good{background:#e9f7ef;border:1px solid #b7e1c6}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ccd;padding:.2rem .5rem;text-align:left}
th{background:#f2f4f8}.drifted{color:#b3261e;font-weight:600}
.col{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}
svg text{font-size:10px;fill:#444}
"""
_REF, _CUR, _ALERT = "#5b8def", "#f08a24", "#b3261e"


def _esc(value: object) -> str:
    return html.escape(str(value))


def _severity(result: ColumnDrift) -> float:
    if result.p_value is not None:
        return result.threshold / max(result.p_value, 1e-300) if result.drifted else 0.0
    return result.statistic / result.threshold if result.threshold else 0.0


def page(title: str, body: str) -> str:
    """A whole self-contained HTML document around ``body``."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>{body}"
        "</body></html>\n"
    )


def render_html(report: DriftReport, title: str = "Drift report", *, performance: str = "") -> str:
    """The drift report; ``performance`` is an HTML section placed after the summary
    (see ``postpilot.performance.html.section``)."""
    parts = [f"<h1>{_esc(title)}</h1>", _summary(report), performance]
    if report.chunks and report.chunks[0].multivariate is not None:
        parts.append("<h2>Multivariate drift (PCA reconstruction error)</h2>")
        parts.append(_multivariate_chart(report))
    profiles = report.profiles
    for name in report.columns:
        results = [r for c in report.chunks for r in c.columns if r.column == name]
        if not results:
            continue
        flag = " <span class='drifted'>drifted</span>" if any(r.drifted for r in results) else ""
        parts.append(f"<h2>{_esc(name)}{flag}</h2><div class='col'>")
        if profiles is not None:
            parts.append(_distribution(profiles[0], profiles[1], name))
        parts.append(_metric_chart(report, name))
        parts.append("</div>")
    return page(title, "".join(parts))


def _summary(report: DriftReport) -> str:
    drifted = report.drifted_columns
    worst: dict[str, float] = {}
    for chunk in report.chunks:
        for r in chunk.columns:
            if r.drifted:
                worst[r.column] = max(worst.get(r.column, 0.0), _severity(r))
    order = sorted(worst, key=lambda c: -worst[c])
    rows = sum(c.rows for c in report.chunks)
    lines = [
        f"{len(report.chunks)} chunk(s), {rows:,} rows compared with "
        f"{report.reference_rows:,} reference rows over {len(report.columns)} columns."
    ]
    if drifted:
        lines.append(
            f"<b>{len(drifted)} column(s) drifted:</b> " + ", ".join(_esc(c) for c in order) + "."
        )
        lines.append(
            f"Look first at <b>{_esc(order[0])}</b>: its statistic is the furthest "
            "past its threshold."
        )
    else:
        lines.append("<b>No column drifted.</b>")
    for side, change in (("above", "rose above"), ("below", "fell below")):
        keys = [
            c.key
            for c in report.chunks
            if c.multivariate and c.multivariate.alert and c.multivariate.direction == side
        ]
        if keys:
            lines.append(
                f"Multivariate drift in chunk(s) {', '.join(_esc(k) for k in keys)}: the "
                f"reconstruction error {change} its band (the rows no longer lie where the "
                "reference's do)."
            )
    css = "bad" if report.alert else "good"
    table = [
        "<table><tr><th>column</th><th>test</th><th>statistic (worst chunk)</th>"
        "<th>p-value</th><th>threshold</th><th>drifted chunks</th></tr>"
    ]
    for name in report.columns:
        results = [r for c in report.chunks for r in c.columns if r.column == name]
        if not results:
            continue
        top = max(results, key=lambda r: r.statistic)
        hits = sum(r.drifted for r in results)
        cls = " class='drifted'" if hits else ""
        p = "" if top.p_value is None else f"{top.p_value:.3g}"
        table.append(
            f"<tr{cls}><td>{_esc(name)}</td><td>{_esc(top.test)}</td>"
            f"<td>{top.statistic:.4g}</td><td>{p}</td><td>{top.threshold:.4g}</td>"
            f"<td>{hits}/{len(results)}</td></tr>"
        )
    table.append("</table>")
    return f"<div class='summary {css}'>{'<br>'.join(lines)}</div>{''.join(table)}"


def _bars(series: list[tuple[str, float, float]], width: int = 360, height: int = 160) -> str:
    """Grouped bars: label, reference share, current share."""
    if not series:
        return ""
    top = max(max(r, c) for _, r, c in series) or 1.0
    slot = (width - 30) / len(series)
    out = [f"<svg width='{width}' height='{height + 40}' role='img'>"]
    for i, (label, ref, cur) in enumerate(series):
        x = 30 + i * slot
        for j, (share, color) in enumerate(((ref, _REF), (cur, _CUR))):
            h = share / top * height
            out.append(
                f"<rect x='{x + j * slot * 0.42:.1f}' y='{height - h:.1f}' "
                f"width='{slot * 0.4:.1f}' height='{h:.1f}' fill='{color}'/>"
            )
        if len(series) <= 12:
            out.append(f"<text x='{x:.1f}' y='{height + 12}'>{_esc(label[:10])}</text>")
    out.append(
        f"<text x='30' y='{height + 30}'><tspan fill='{_REF}'>■ reference</tspan> "
        f"<tspan fill='{_CUR}'>■ current</tspan></text></svg>"
    )
    return "".join(out)


def _distribution(ref: Profile, cur: Profile, name: str) -> str:
    if name not in ref or name not in cur:
        return ""
    r, c = ref.column(name), cur.column(name)
    if (
        isinstance(r, NumericColumn)
        and isinstance(c, NumericColumn)
        and not isinstance(r, TemporalColumn)
    ):
        lo, hi = r.quantile(0.01), r.quantile(0.99)
        if lo is None or hi is None or c.count == 0:
            return ""
        if hi <= lo:
            hi = lo + 1.0
        edges = [lo + (hi - lo) * i / 20 for i in range(21)]
        rp, cp = r.pmf(edges) or [], c.pmf(edges) or []
        labels = ["<"] + [f"{e:.3g}" for e in edges]
        return _bars(list(zip(labels, rp, cp, strict=False)))
    if isinstance(r, CategoricalColumn) and isinstance(c, CategoricalColumn):
        rc, cc = r.value_counts().counts, c.value_counts().counts
        keys = list(dict.fromkeys([*list(rc)[:10], *list(cc)[:5]]))
        return _bars(
            [(k, rc.get(k, 0) / max(r.count, 1), cc.get(k, 0) / max(c.count, 1)) for k in keys]
        )
    return ""


def _line(
    values: list[float],
    lows: list[float | None],
    highs: list[float | None],
    alerts: list[bool],
    width: int = 420,
    height: int = 160,
    *,
    second: list[float | None] | None = None,
    guides: tuple[float | None, ...] = (),
    legend: str = "(dashed: threshold / band)",
    floor_at_zero: bool = True,
) -> str:
    """A line per chunk with its band (dashed), an optional second line (orange) and
    horizontal guides (red, dashed)."""
    extra = [v for v in (second or []) if v is not None and v == v]
    extra += [g for g in guides if g is not None]
    finite = [v for v in values if v == v] + [v for v in highs + lows if v is not None] + extra
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
    out.append(f"<polyline points='{path}' fill='none' stroke='{_REF}' stroke-width='2'/>")
    if second is not None:
        path = " ".join(
            f"{x:.1f},{y:.1f}"
            for x, y in (xy(i, v) for i, v in enumerate(second) if v is not None and v == v)
        )
        out.append(f"<polyline points='{path}' fill='none' stroke='{_CUR}' stroke-width='2'/>")
    for guide in guides:
        if guide is not None:
            _, y = xy(0, guide)
            out.append(
                f"<line x1='40' x2='{width - 20}' y1='{y:.1f}' y2='{y:.1f}' "
                f"stroke='{_ALERT}' stroke-dasharray='6 3'/>"
            )
    for i, (v, alert) in enumerate(zip(values, alerts, strict=True)):
        if v == v:
            x, y = xy(i, v)
            color = _ALERT if alert else _REF
            out.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{color}'/>")
    out.append(
        f"<text x='2' y='14'>{top:.3g}</text><text x='2' y='{height + 10}'>"
        f"{bottom:.3g}</text><text x='40' y='{height + 26}'>chunks →  "
        f"{legend}</text></svg>"
    )
    return "".join(out)


def _metric_chart(report: DriftReport, name: str) -> str:
    results = [next((r for r in c.columns if r.column == name), None) for c in report.chunks]
    present = [r for r in results if r is not None]
    if not present:
        return ""
    values = [r.statistic for r in present]
    highs: list[float | None] = [r.threshold if r.p_value is None else None for r in present]
    chart = _line(values, [None] * len(values), highs, [r.drifted for r in present])
    label = f"{present[0].test} per chunk"
    return f"<div><div>{_esc(label)}</div>{chart}</div>"


def _multivariate_chart(report: DriftReport) -> str:
    mv = [c.multivariate for c in report.chunks if c.multivariate is not None]

    def bound(value: float) -> float | None:  # no band: NaN bounds, nothing to draw
        return value if value == value else None

    return _line(
        [m.value for m in mv],
        [bound(m.lower) for m in mv],
        [bound(m.upper) for m in mv],
        [m.alert for m in mv],
    )
