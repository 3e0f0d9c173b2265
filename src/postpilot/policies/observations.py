"""Observations: what monitoring saw, as one number per metric, subject and chunk.

Every source of evidence (stored drift, contract, performance and gateway runs, the
registry's roles, the time since data last arrived) is turned into
:class:`Observation` values; rules are evaluated over them and nothing else, so
``policy test`` (history) and ``monitor run`` (new data) take the same path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postpilot.registry.entities import Product
    from postpilot.registry.monitoring import MonitoringRun

__all__ = [
    "RUN_KINDS",
    "Observation",
    "chunk_id",
    "observations_from_run",
    "orphan_observations",
    "silence_observation",
]


@dataclass(frozen=True)
class Observation:
    """One value of one metric for one chunk.

    ``metric`` is a key of the metric catalogue (``drift.share``, ``drift.feature``,
    ``drift.multivariate``, ``contract.findings``, ``performance.estimated``,
    ``performance.realized``, ``data.silence``, ``roles.orphaned``, ``gateway.*``).
    ``subject``
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


# -- extraction --------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _at(start: object, fallback: datetime) -> datetime:
    """A chunk's start as an aware UTC time; ``fallback`` when the chunk has no time
    (chunks by row count start at a row number)."""
    if isinstance(start, str):
        try:
            return _utc(datetime.fromisoformat(start))
        except ValueError:
            pass
    return _utc(fallback)


class _Chunks:
    """Builds one run's observations, chunk by chunk."""

    def __init__(self, run: MonitoringRun) -> None:
        self.run = run
        self.out: list[Observation] = []

    def each(self) -> Iterator[tuple[dict[str, Any], str, datetime]]:
        for index, chunk in enumerate(self.run.result.get("chunks") or []):
            key = str(chunk.get("key"))
            at = _at(chunk.get("start"), self.run.created_at)
            yield chunk, chunk_id(self.run.id, index, key), at

    def add(
        self,
        metric: str,
        value: float,
        at: datetime,
        chunk: str,
        subject: str | None = None,
        severity: str | None = None,
    ) -> None:
        self.out.append(
            Observation(metric, float(value), at, chunk, subject, severity, self.run.id)
        )


def _drift(run: MonitoringRun) -> list[Observation]:
    """``drift.share``, ``drift.feature`` per column and ``drift.multivariate``, per chunk.

    A column the run could not compare because the data changed under it (a schema
    change of severity other than ``info``: lost, retyped, all null) counts as drifted,
    as it does in the run's verdict (``drifted_columns``): it is a ``drift.feature`` of
    1.0 and counts in ``drift.share`` (numerator and denominator). A change that names
    its chunks applies to those; one that names none, to every chunk of the run. A chunk
    with no column at all gives no share. The multivariate value is the reconstruction
    error itself; the run's own band and ``alert`` are not used: policies set thresholds.
    """
    counted = [
        s for s in run.result.get("schema_changes") or [] if s.get("severity", "info") != "info"
    ]
    chunks = _Chunks(run)
    for chunk, cid, at in chunks.each():
        results = chunk.get("columns") or []
        compared = [str(c["column"]) for c in results]
        drifted = {str(c["column"]) for c in results if c.get("drifted")}
        applies = [s for s in counted if not s.get("chunks") or chunk.get("key") in s["chunks"]]
        lost = [c for c in dict.fromkeys(str(s["column"]) for s in applies) if c not in compared]
        if compared or lost:
            share = (len(drifted) + len(lost)) / (len(compared) + len(lost))
            chunks.add("drift.share", share, at, cid)
        for column in compared:
            chunks.add("drift.feature", 1.0 if column in drifted else 0.0, at, cid, column)
        for column in lost:
            chunks.add("drift.feature", 1.0, at, cid, column)
        multivariate = chunk.get("multivariate") or {}
        if multivariate.get("value") is not None:
            chunks.add("drift.multivariate", multivariate["value"], at, cid)
    return chunks.out


def _performance(run: MonitoringRun) -> list[Observation]:
    """``performance.estimated`` and, once the chunk has labels, ``performance.realized``,
    per chunk and metric (subject: the metric, e.g. ``f1``)."""
    chunks = _Chunks(run)
    for chunk, cid, at in chunks.each():
        for metric in chunk.get("metrics") or []:
            name = str(metric["metric"])
            for field in ("estimated", "realized"):
                if metric.get(field) is not None:
                    chunks.add(f"performance.{field}", metric[field], at, cid, name)
    return chunks.out


def _contract(run: MonitoringRun) -> list[Observation]:
    """``contract.findings`` per chunk: the number of findings of each (kind, severity),
    zero included for every kind and severity the chunk did not show, so a clean chunk
    is a chunk below the threshold, not a missing one."""
    from postpilot.contracts.findings import Kind, Severity

    known = [(k.value, s.value) for k in Kind for s in Severity]
    chunks = _Chunks(run)
    for chunk, cid, at in chunks.each():
        counts = Counter((str(f["kind"]), str(f["severity"])) for f in chunk.get("findings") or [])
        for kind, severity in known + sorted(set(counts) - set(known)):
            chunks.add("contract.findings", counts[(kind, severity)], at, cid, kind, severity)
    return chunks.out


_GATEWAY = {
    "latency_p99_ms": "gateway.latency_p99",
    "error_rate": "gateway.error_rate",
    "fallback_share": "gateway.fallback_share",
}


def _gateway(run: MonitoringRun) -> list[Observation]:
    """``gateway.latency_p99`` (milliseconds), ``gateway.error_rate`` and
    ``gateway.fallback_share`` per chunk of a gateway run (one per batch of the
    gateway's log); a value the chunk does not have (no latency) gives none."""
    chunks = _Chunks(run)
    for chunk, cid, at in chunks.each():
        for field, metric in _GATEWAY.items():
            if chunk.get(field) is not None:
                chunks.add(metric, chunk[field], at, cid)
    return chunks.out


_EXTRACTORS: dict[str, Callable[[MonitoringRun], list[Observation]]] = {
    "drift": _drift,
    "performance": _performance,
    "contract": _contract,
    "gateway": _gateway,
}
RUN_KINDS = tuple(_EXTRACTORS)
"""The kinds of stored monitoring run that give observations."""


def chunk_id(run_id: int, position: int, key: str) -> str:
    """``run0000012/00003:2026-03-10``: zero-padded, so ids sort as runs and chunks came.

    >>> chunk_id(12, 3, "2026-03-10")
    'run0000012/00003:2026-03-10'
    """
    return f"run{run_id:07d}/{position:05d}:{key}"


def observations_from_run(run: MonitoringRun) -> list[Observation]:
    """Every observation a stored monitoring run holds, in chunk order.

    ``chunk`` is ``"run<run id>/<position>:<chunk key>"``, zero-padded (unique within
    the product, since two runs may both have a chunk ``"0"``, and sorting as the runs
    and chunks came: the evaluator orders chunks of the same time by it); ``at`` is the
    chunk's start in UTC when it is a time (chunks by period), else the run's creation
    time (chunks by row count). A run of another kind gives none.
    """
    extract = _EXTRACTORS.get(run.kind)
    return extract(run) if extract else []


def silence_observation(
    last_data_at: datetime | None, now: datetime, *, since: datetime
) -> Observation:
    """``data.silence``: hours since data last arrived (``last_data_at``), or, if none
    ever did, since ``since`` (e.g. when monitoring began). Never negative."""
    last = _utc(last_data_at if last_data_at is not None else since)
    now = _utc(now)
    hours = max(0.0, (now - last).total_seconds() / 3600)
    return Observation("data.silence", hours, now, f"silence/{now.isoformat()}")


def orphan_observations(product: Product, now: datetime) -> list[Observation]:
    """``roles.orphaned``: one per role (subject: ``owner``, ``data_steward``, ...), 1.0
    when it is held by a person who has been deactivated, else 0.0 (an unheld role is
    not orphaned: nobody to hand over from). ``data_steward`` is held per data source:
    it is 1.0 when any source's steward is orphaned."""
    from postpilot.registry.entities import Role

    now = _utc(now)
    orphaned = {a.role for a in product.orphaned}
    chunk = f"roles/{now.isoformat()}"
    return [
        Observation("roles.orphaned", 1.0 if role in orphaned else 0.0, now, chunk, role.value)
        for role in Role
    ]
