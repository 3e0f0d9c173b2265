"""Observations: what monitoring saw, as one number per metric, subject and chunk.

Every source of evidence (stored drift, contract and performance runs, the
registry's roles, the time since data last arrived) is turned into
:class:`Observation` values; rules are evaluated over them and nothing else, so
``policy test`` (history) and ``monitor run`` (new data) take the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Observation"]


@dataclass(frozen=True)
class Observation:
    """One value of one metric for one chunk.

    ``metric`` is a key of the metric catalogue (``drift.share``, ``drift.feature``,
    ``drift.multivariate``, ``contract.findings``, ``performance.estimated``,
    ``performance.realized``, ``data.silence``, ``roles.orphaned``). ``subject``
    narrows it: the column (``drift.feature``), the finding kind
    (``contract.findings``), the performance metric (``performance.*``, e.g.
    ``f1``) or the role (``roles.orphaned``); None where the metric has none.
    ``chunk`` identifies the chunk uniquely within the product and orders with
    ``at`` (the chunk's start); ``severity`` is the finding's (``error`` or
    ``warning``) where the metric has one. ``run_id`` is the stored monitoring
    run it came from, if any.
    """

    metric: str
    value: float
    at: datetime
    chunk: str
    subject: str | None = None
    severity: str | None = None
    run_id: int | None = None
