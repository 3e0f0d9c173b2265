"""The metric catalogue: every number a policy rule can watch, and where it comes from.

A rule's ``when.metric`` is a key of :data:`METRICS`. Each entry says what one
value means, what its ``subject`` is (the column, finding kind, performance
metric or role an observation is about), which direction is bad by default,
and which ``when`` keys narrow it. Metrics whose source has not landed yet are
listed too, so a rule naming one is refused with a message saying what brings it.

>>> metric_spec("drift.share").default_direction
'above'
>>> [default_direction("performance.estimated", name) for name in ("mae", "f1")]
['above', 'below']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from postpilot.errors import InputError

__all__ = [
    "DIRECTIONS",
    "METRICS",
    "Direction",
    "MetricSpec",
    "available_metrics",
    "default_direction",
    "metric_spec",
]

Direction: TypeAlias = Literal["below", "above", "either"]
DIRECTIONS: tuple[Direction, ...] = ("below", "above", "either")

_GATEWAY = "the gateway's prediction log (a policy with source: {gateway: true})"


@dataclass(frozen=True)
class MetricSpec:
    """One metric a rule can watch.

    ``filters`` are the ``when`` keys that narrow the observations (``column``,
    ``kind`` and ``name`` select the subject, ``severity`` the severity);
    ``required`` those a rule must give. ``additive`` values add up over subjects
    (counts): a rule that does not name a subject sees their sum per chunk.
    ``durations``: the threshold may be written as a duration (``2d``), read in
    the metric's unit (hours).
    """

    key: str
    description: str
    subject: str | None
    default_direction: Literal["below", "above"]
    unit: str
    source: str
    available: bool = True
    lands_with: str | None = None
    filters: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    additive: bool = False
    durations: bool = False
    gateway: bool = False
    """Computed from the gateway's prediction log: a rule needs ``source: {gateway: true}``."""


def _pending(key: str, description: str, unit: str, lands_with: str) -> MetricSpec:
    return MetricSpec(
        key, description, None, "above", unit, lands_with, available=False, lands_with=lands_with
    )


METRICS: dict[str, MetricSpec] = {
    spec.key: spec
    for spec in (
        MetricSpec(
            "drift.share",
            "share of the compared columns that drifted in the chunk",
            None,
            "above",
            "share (0 to 1)",
            "drift runs",
        ),
        MetricSpec(
            "drift.feature",
            "1.0 if the column drifted in the chunk, else 0.0; each column is its own "
            "series (name one with `column:`)",
            "the column",
            "above",
            "1 = drifted",
            "drift runs",
            filters=("column",),
        ),
        MetricSpec(
            "drift.multivariate",
            "the multivariate detector's reconstruction error in the chunk",
            None,
            "above",
            "reconstruction error",
            "drift runs",
        ),
        MetricSpec(
            "contract.findings",
            "how many contract findings the batch had (narrow with `kind:` and `severity:`)",
            "the finding kind (missing_column, likely_rename, unit_change, new_category, ...)",
            "above",
            "findings",
            "contract checks",
            filters=("kind", "severity"),
            additive=True,
        ),
        MetricSpec(
            "performance.estimated",
            "the performance estimated before labels arrive (name the metric with `name:`)",
            "the performance metric (f1, accuracy, roc_auc, mae, ...)",
            "below",
            "the metric's own",
            "performance estimates",
            filters=("name",),
            required=("name",),
        ),
        MetricSpec(
            "performance.realized",
            "the performance computed from the labels that arrived (name it with `name:`)",
            "the performance metric (f1, accuracy, roc_auc, mae, ...)",
            "below",
            "the metric's own",
            "labels joined to predictions",
            filters=("name",),
            required=("name",),
        ),
        MetricSpec(
            "data.silence",
            "hours since data last arrived (the threshold may be a duration: 2d, 36h, 90m)",
            None,
            "above",
            "hours",
            "the product's data source",
            durations=True,
        ),
        MetricSpec(
            "roles.orphaned",
            "whether the role lost its holder (1 per orphaned role)",
            "the role",
            "above",
            "roles",
            "the registry",
        ),
        MetricSpec(
            "gateway.latency_p99",
            "99th percentile of the model's latency over the batch's served predictions",
            None,
            "above",
            "milliseconds",
            _GATEWAY,
            gateway=True,
        ),
        MetricSpec(
            "gateway.error_rate",
            "share of the records sent in the batch's window that the gateway refused "
            "(refused / (served + refused))",
            None,
            "above",
            "share (0 to 1)",
            _GATEWAY,
            gateway=True,
        ),
        MetricSpec(
            "gateway.fallback_share",
            "share of the batch's predictions the fallback served",
            None,
            "above",
            "share (0 to 1)",
            _GATEWAY,
            gateway=True,
        ),
        _pending(
            "adoption.override_rate",
            "share of predictions people overrode",
            "share",
            "training and overrides tracking (a later issue)",
        ),
        _pending(
            "review.overdue",
            "days the owner's review is overdue",
            "days",
            "owner reviews (a later issue)",
        ),
    )
}


def available_metrics() -> list[str]:
    """The keys a rule may use today, in catalogue order."""
    return [key for key, spec in METRICS.items() if spec.available]


def metric_spec(key: str, *, available: bool = True) -> MetricSpec:
    """The catalogue entry for ``key``; an :class:`InputError` for an unknown key or
    (unless ``available=False``) one whose source has not landed yet."""
    spec = METRICS.get(key)
    if spec is None:
        raise InputError(
            f"unknown metric {key!r}; known: {', '.join(available_metrics())}",
            field="metric",
        )
    if available and not spec.available:
        raise InputError(
            f"metric {key!r} is not available yet: it comes with {spec.lands_with}",
            field="metric",
            hint=f"Use one of: {', '.join(available_metrics())}",
        )
    return spec


def default_direction(metric: str, name: str | None = None) -> Literal["below", "above"]:
    """The direction that is bad for ``metric``: for ``performance.*`` it follows the
    named metric (a fall for f1 or accuracy, a rise for a loss such as mae)."""
    spec = metric_spec(metric, available=False)
    if spec.key.startswith("performance.") and name is not None:
        from postpilot.performance.metrics import METRICS as PERFORMANCE

        info = PERFORMANCE.get(name)
        if info is not None:
            return "below" if info.higher_is_better else "above"
    return spec.default_direction
