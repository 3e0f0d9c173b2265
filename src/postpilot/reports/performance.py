"""The performance section of the HTML report (and a page of its own).

Per metric: the estimate per chunk with its confidence band (dashed), the
realized value where labels have arrived (orange), and the thresholds (red):
the product's SLA when one is set, else the reference's natural range. Same
page style as the drift report: inline CSS and SVG, nothing fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postpilot.reports.charts import line
from postpilot.reports.html import esc, page

if TYPE_CHECKING:
    from postpilot.performance.results import PerformanceReport

__all__ = ["render", "section"]


def render(report: PerformanceReport, title: str = "Performance report") -> str:
    """The performance report's page."""
    return page(title, f"<h1>{esc(title)}</h1>{section(report)}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def section(report: PerformanceReport) -> str:
    """Summary, a table per metric and a chart per metric: the part of the page that
    the drift report places after its own summary."""
    method = "CBPE" if report.method == "cbpe" else "DLE"
    alerts = report.alerts
    labelled = sum(c.labelled for c in report.chunks)
    rows = sum(c.rows for c in report.chunks)
    lines = [
        f"{len(report.chunks)} chunk(s), {rows:,} rows; estimated with {method} fitted on "
        f"{report.reference_rows:,} labelled reference rows; {labelled:,} analysis rows "
        "have labels so far."
    ]
    if alerts:
        first = alerts[0]
        metrics = sorted({a["metric"] for a in alerts})
        lines.append(
            f"<b>{len(alerts)} alert(s)</b> on {', '.join(esc(m) for m in metrics)}; the "
            f"first in chunk <b>{esc(first['chunk'])}</b> ({esc(first['metric'])})."
        )
    else:
        lines.append("<b>No metric left its acceptable range on the alerting side.</b>")
    direction = report.settings.get("alert_direction", "worse")
    lines.append(f"Alerting when a metric got: {esc(direction)}.")
    for entry in alerts:
        lines.append(
            f"ALERT: chunk {esc(entry['chunk'])}, {esc(entry['metric'])} "
            f"({esc(entry.get('change') or '')})."
        )
    better = [
        e
        for e in report.improvements
        if not any(a["chunk"] == e["chunk"] and a["metric"] == e["metric"] for a in alerts)
    ]
    if better:
        named = ", ".join(f"{esc(e['metric'])} in chunk {esc(e['chunk'])}" for e in better)
        lines.append(f"Better than the acceptable range (reported, not alerted): {named}.")
    for warning in report.warnings:
        lines.append(f"Warning, chunk {esc(warning['chunk'])}: {esc(warning['message'])}.")
    css = "bad" if alerts else "good"
    parts = [
        "<h2>Model performance</h2>",
        f"<div class='summary {css}'>{'<br>'.join(lines)}</div>",
        "<table><tr><th>metric</th><th>threshold</th><th>source</th><th>latest estimate</th>"
        "<th>latest realized</th><th>alerting chunks</th></tr>",
    ]
    for metric, threshold in report.thresholds.items():
        series = report.series(metric)
        latest = series[-1][1] if series else None
        hits = sum(m.alert for _, m in series)
        cls = " class='drifted'" if hits else ""
        bounds = f"{_fmt(threshold.lower)} to {_fmt(threshold.upper)}"
        parts.append(
            f"<tr{cls}><td>{esc(report.metric_label(metric))}</td>"
            f"<td>{bounds}</td><td>{esc(threshold.source)}</td>"
            f"<td>{_fmt(latest.estimated if latest else None)}</td>"
            f"<td>{_fmt(latest.realized if latest else None)}</td>"
            f"<td>{hits}/{len(series)}</td></tr>"
        )
    parts.append("</table><div class='col'>")
    for metric, threshold in report.thresholds.items():
        results = [m for _, m in report.series(metric)]
        if not results:
            continue
        chart = line(
            [m.estimated if m.estimated is not None else float("nan") for m in results],
            [m.lower for m in results],
            [m.upper for m in results],
            [m.alert for m in results],
            second=[m.realized for m in results],
            guides=(threshold.lower, threshold.upper),
            legend="blue: estimated, orange: realized, dashed: band, red: threshold",
            floor_at_zero=False,
        )
        label = report.metric_label(metric)
        parts.append(f"<div><div>{esc(label)} per chunk</div>{chart}</div>")
    parts.append("</div>")
    return "".join(parts)
