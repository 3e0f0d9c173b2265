"""The drift report as one self-contained HTML page, also shown inline in Jupyter
through ``DriftReport._repr_html_``.

Top: what drifted and what to look at first (columns ordered by how far their
statistic is past its threshold); then, when given, the performance section
(``postpilot.reports.performance.section``). Then per column: reference vs current
distribution, and the statistic over chunks with its threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postpilot.reports.charts import bars, line
from postpilot.reports.html import esc, page

if TYPE_CHECKING:
    from postpilot.monitoring.results import ColumnDrift, DriftReport
    from postpilot.performance.results import PerformanceReport
    from postpilot.profiles import Profile

__all__ = ["render"]


def render(
    report: DriftReport,
    title: str = "Drift report",
    *,
    performance: PerformanceReport | None = None,
) -> str:
    """The drift report's page; with ``performance``, its estimated and realized
    metrics are a section of the same page, after the summary."""
    from postpilot.reports.performance import section

    parts = [f"<h1>{esc(title)}</h1>", _summary(report)]
    parts.append(section(performance) if performance is not None else "")
    if report.chunks and report.chunks[0].multivariate is not None:
        parts.append("<h2>Multivariate drift (PCA reconstruction error)</h2>")
        parts.append(_multivariate_chart(report))
    profiles = report.profiles
    for name in report.columns:
        results = [r for c in report.chunks for r in c.columns if r.column == name]
        if not results:
            continue
        flag = " <span class='drifted'>drifted</span>" if any(r.drifted for r in results) else ""
        parts.append(f"<h2>{esc(name)}{flag}</h2><div class='col'>")
        if profiles is not None:
            parts.append(_distribution(profiles[0], profiles[1], name))
        parts.append(_metric_chart(report, name))
        parts.append("</div>")
    return page(title, "".join(parts))


def _severity(result: ColumnDrift) -> float:
    if result.p_value is not None:
        return result.threshold / max(result.p_value, 1e-300) if result.drifted else 0.0
    return result.statistic / result.threshold if result.threshold else 0.0


def _summary(report: DriftReport) -> str:
    drifted = report.drifted_columns
    worst: dict[str, float] = {}
    for chunk in report.chunks:
        for r in chunk.columns:
            if r.drifted:
                worst[r.column] = max(worst.get(r.column, 0.0), _severity(r))
    # a column can drift with no statistic: its type changed (a counted schema change)
    changes = {c.column: c for c in report.schema_changes if c.column in drifted}
    order = [c for c in drifted if c not in worst] + sorted(worst, key=lambda c: -worst[c])
    rows = sum(c.rows for c in report.chunks)
    lines = [
        f"{len(report.chunks)} chunk(s), {rows:,} rows compared with "
        f"{report.reference_rows:,} reference rows over {len(report.columns)} columns."
    ]
    if drifted:
        lines.append(
            f"<b>{len(drifted)} column(s) drifted:</b> " + ", ".join(esc(c) for c in order) + "."
        )
        first = order[0]
        if first in worst:
            why = "its statistic is the furthest past its threshold"
        elif first in changes:
            why = esc(changes[first].detail)
        else:
            why = "it could not be compared"
        lines.append(f"Look first at <b>{esc(first)}</b>: {why}.")
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
                f"Multivariate drift in chunk(s) {', '.join(esc(k) for k in keys)}: the "
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
            f"<tr{cls}><td>{esc(name)}</td><td>{esc(top.test)}</td>"
            f"<td>{top.statistic:.4g}</td><td>{p}</td><td>{top.threshold:.4g}</td>"
            f"<td>{hits}/{len(results)}</td></tr>"
        )
    table.append("</table>")
    return f"<div class='summary {css}'>{'<br>'.join(lines)}</div>{''.join(table)}"


def _distribution(ref: Profile, cur: Profile, name: str) -> str:
    """Reference vs current shares: 20 bins between the reference's 1st and 99th
    percentiles for a number, the top categories for a category, nothing for time."""
    from postpilot.profiles import CategoricalColumn, NumericColumn, TemporalColumn

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
        return bars(list(zip(labels, rp, cp, strict=False)))
    if isinstance(r, CategoricalColumn) and isinstance(c, CategoricalColumn):
        rc, cc = r.value_counts().counts, c.value_counts().counts
        keys = list(dict.fromkeys([*list(rc)[:10], *list(cc)[:5]]))
        return bars(
            [(k, rc.get(k, 0) / max(r.count, 1), cc.get(k, 0) / max(c.count, 1)) for k in keys]
        )
    return ""


def _metric_chart(report: DriftReport, name: str) -> str:
    results = [next((r for r in c.columns if r.column == name), None) for c in report.chunks]
    present = [r for r in results if r is not None]
    if not present:
        return ""
    values = [r.statistic for r in present]
    highs: list[float | None] = [r.threshold if r.p_value is None else None for r in present]
    chart = line(values, [None] * len(values), highs, [r.drifted for r in present])
    label = f"{present[0].test} per chunk"
    return f"<div><div>{esc(label)}</div>{chart}</div>"


def _multivariate_chart(report: DriftReport) -> str:
    mv = [c.multivariate for c in report.chunks if c.multivariate is not None]

    def bound(value: float) -> float | None:  # no band: NaN bounds, nothing to draw
        return value if value == value else None

    return line(
        [m.value for m in mv],
        [bound(m.lower) for m in mv],
        [bound(m.upper) for m in mv],
        [m.alert for m in mv],
    )
