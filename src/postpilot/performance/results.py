"""The results of a performance run: per chunk, per metric, estimated and realized.

``PerformanceReport.to_dict()`` is the public JSON shape of ``postpilot
estimate --format json``::

    {"chunks": [{"key", "start", "end", "rows", "labelled",
                 "scores_outside_reference", "warnings", ...,
                 "metrics": [{"metric", "estimated", "lower", "upper",
                              "realized", "alert", "change", ...}]}],
     "alerts": [...], "improvements": [...], "warnings": [...],
     "thresholds": {...}, "reference_chunks": [...], "settings": {...}}

``lower``/``upper`` are the confidence band of the estimate (3 sampling
errors, from the reference); ``threshold_lower``/``threshold_upper`` the
acceptable range; ``realized`` is null until the chunk has labels; ``change``
is ``"worse"``/``"better"`` when the chunk lies beyond that range on that side
(``alert`` says whether that side alerts). Each chunk also has
``scores_outside_reference`` (share of rows with a score outside the range
CBPE was calibrated on; null for DLE), ``scores_below_reference``,
``scores_above_reference`` and ``warnings``; the report lists ``improvements``
and ``warnings`` beside ``alerts``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from postpilot.monitoring.results import _plain

__all__ = ["ChunkPerformance", "MetricResult", "PerformanceReport", "Threshold"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Threshold:
    """The acceptable range of a metric and where it came from (an SLA, or the
    natural variation of the reference chunks)."""

    lower: float | None
    upper: float | None
    source: str


@dataclass(frozen=True)
class MetricResult:
    metric: str
    estimated: float | None
    lower: float | None
    upper: float | None
    realized: float | None
    alert: bool
    sampling_error: float | None = None
    threshold_lower: float | None = None
    threshold_upper: float | None = None
    change: str | None = None
    """``"worse"`` or ``"better"`` when the chunk lies beyond the threshold on that side
    (whether or not that side alerts, see ``settings["alert_direction"]``), else None."""


@dataclass(frozen=True)
class ChunkPerformance:
    key: str
    start: Any
    end: Any
    rows: int
    labelled: int
    metrics: list[MetricResult]
    period: str = "analysis"
    scores_outside_reference: float | None = None
    """Share of rows with a score outside the range CBPE's calibrator was fitted on
    (None for DLE); ``scores_below_reference``/``scores_above_reference`` split it."""
    scores_below_reference: float | None = None
    scores_above_reference: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def alert(self) -> bool:
        return any(m.alert for m in self.metrics)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _entry(chunk: ChunkPerformance, m: MetricResult) -> dict[str, Any]:
    return {
        "chunk": chunk.key,
        "metric": m.metric,
        "estimated": _finite(m.estimated),
        "realized": _finite(m.realized),
        "change": m.change,
    }


@dataclass
class PerformanceReport:
    problem: str
    method: str
    chunks: list[ChunkPerformance]
    reference_chunks: list[ChunkPerformance]
    thresholds: dict[str, Threshold]
    settings: dict[str, Any] = field(default_factory=dict)
    reference_rows: int = 0

    @property
    def metrics(self) -> list[str]:
        return list(self.thresholds)

    @property
    def alert(self) -> bool:
        return any(c.alert for c in self.chunks)

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """One entry per (chunk, metric) that alerts, in chunk order."""
        return [_entry(c, m) for c in self.chunks for m in c.metrics if m.alert]

    @property
    def improvements(self) -> list[dict[str, Any]]:
        """One entry per (chunk, metric) better than its acceptable range, in chunk
        order: reported, and alerted only when asked (``alert_direction``)."""
        return [_entry(c, m) for c in self.chunks for m in c.metrics if m.change == "better"]

    @property
    def warnings(self) -> list[dict[str, str]]:
        """Every chunk's warnings (scores outside the reference's range), in chunk order."""
        return [{"chunk": c.key, "message": w} for c in self.chunks for w in c.warnings]

    def series(self, metric: str, period: str = "analysis") -> list[tuple[str, MetricResult]]:
        chunks = self.chunks if period == "analysis" else self.reference_chunks
        return [(c.key, m) for c in chunks for m in c.metrics if m.metric == metric]

    def to_dict(self) -> dict[str, Any]:
        def chunk(c: ChunkPerformance) -> dict[str, Any]:
            return {
                "key": c.key,
                "start": _plain(c.start),
                "end": _plain(c.end),
                "rows": c.rows,
                "labelled": c.labelled,
                "scores_outside_reference": _finite(c.scores_outside_reference),
                "scores_below_reference": _finite(c.scores_below_reference),
                "scores_above_reference": _finite(c.scores_above_reference),
                "warnings": list(c.warnings),
                "metrics": [
                    {k: (_finite(v) if isinstance(v, float) else v) for k, v in asdict(m).items()}
                    for m in c.metrics
                ],
            }

        return {
            "schema_version": SCHEMA_VERSION,
            "problem": self.problem,
            "method": self.method,
            "chunks": [chunk(c) for c in self.chunks],
            "alerts": self.alerts,
            "improvements": self.improvements,
            "warnings": self.warnings,
            "thresholds": {
                k: {"lower": _finite(t.lower), "upper": _finite(t.upper), "source": t.source}
                for k, t in self.thresholds.items()
            },
            "reference_rows": self.reference_rows,
            "reference_chunks": [chunk(c) for c in self.reference_chunks],
            "settings": self.settings,
        }

    def metric_label(self, metric: str) -> str:
        """How reports name ``metric`` (``roc_auc``: "ROC AUC")."""
        from postpilot.performance.metrics import metric_info

        return metric_info(metric, self.problem).label

    def to_html(self, title: str = "Performance report") -> str:
        """The self-contained HTML report (``postpilot.reports.performance``)."""
        from postpilot.reports.performance import render

        return render(self, title)

    def _repr_html_(self) -> str:
        return self.to_html()
