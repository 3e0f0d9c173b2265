"""The evidence a monitor pass gathers from one batch, before anything is stored.

Drift against the training data of the product's newest model version that has
some, the contract check of the batch (the policy's ``source.contract``, else
that version's contract), and estimated performance when the policy's source
says how the model's outputs are laid out. Everything slow happens here,
outside any transaction; :mod:`postpilot.policies.monitor` stores the result.

A batch of the gateway's prediction log (``source: {gateway: true}``) is checked
on its inputs only: the gateway's own columns (ids, consumer, latency, outputs)
are left out of drift and of the contract check. The records the gateway refused
in the batch's window become contract findings of the contract run (one per error
kind and field, severity error), so ``contract.findings`` rules fire on live
traffic; and a ``gateway`` run holds the batch's latency p99, error rate and
fallback share (``gateway.*`` metrics).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from postpilot.errors import InputError
from postpilot.profiles import Profile
from postpilot.profiles.sql import SQLSource
from postpilot.registry import ModelVersion, Registry
from postpilot.registry.monitoring import StoredChunk

if TYPE_CHECKING:
    from postpilot.contracts.findings import Finding
    from postpilot.monitoring.sources.gateway import GatewayWindow

__all__ = ["Evidence", "RunToStore", "gather"]


@dataclass(frozen=True)
class RunToStore:
    kind: str
    reference: str
    alert: bool
    result: dict[str, Any]
    chunks: list[StoredChunk] = field(default_factory=list)


@dataclass
class Evidence:
    runs: list[RunToStore] = field(default_factory=list)
    rows: int | None = None
    notes: list[str] = field(default_factory=list)


def _wants(policy: Any, metric: str) -> bool:
    return any(rule.when.metric == metric for rule in policy.rules)


def gather(reg: Registry, slug: str, policy: Any, version: ModelVersion, batch: Any) -> Evidence:
    from postpilot.monitoring.run import DriftOptions, run_drift
    from postpilot.monitoring.store import stored_chunks
    from postpilot.profiles import profile

    source = policy.source
    assert version.training_data is not None
    reference = version.training_data.uri
    evidence = Evidence()
    window = getattr(batch, "window", None)
    own = list(window.columns) if window is not None else []
    if batch.data is None and window is not None:
        return _refusals_only(reg, slug, policy, version, window)
    data = _timed(batch.data, source.timestamp)
    current = None
    start = end = None
    try:
        report = run_drift(
            reference,
            data,
            DriftOptions(
                chunk_period=source.chunk_period,
                timestamp=source.timestamp if source.chunk_period else None,
                multivariate=_wants(policy, "drift.multivariate"),
                exclude=[*source.ignored, *own],
            ),
        )
    except InputError as exc:
        evidence.notes.append(f"{batch.label}: drift not computed: {exc.message}")
    else:
        result = report.to_dict()
        if report.profiles is not None:
            current = report.profiles[1]
        evidence.rows = sum(c.rows for c in report.chunks)
        if source.chunk_period:
            starts = [c.start for c in report.chunks if c.start is not None]
            ends = [c.end for c in report.chunks if c.end is not None]
            start = min(starts) if starts else None
            end = max(ends) if ends else None
        elif source.timestamp and current is not None:
            # one chunk per batch: its time is the batch's time range, so time to detect
            # counts from when the bad data happened, not from when the pass ran
            start, end = _time_range(current, source.timestamp)
            for chunk in result["chunks"]:
                chunk["start"], chunk["end"] = _iso(start), _iso(end)
        evidence.runs.append(
            RunToStore("drift", reference, report.alert, result, stored_chunks(report))
        )
    contract = _contract(reg, slug, policy, version)
    if contract is not None and source.ignored:
        kept = {k: v for k, v in contract.columns.items() if k not in set(source.ignored)}
        contract = contract.model_copy(update={"columns": kept})
    refused = _refusal_findings(window) if window is not None else []
    if contract is not None or refused:
        from postpilot.contracts.check import check_profile
        from postpilot.contracts.findings import CheckResult

        name = contract.name if contract is not None else "gateway"
        if contract is None:
            checked = CheckResult(name, window.served if window is not None else 0, [])
        else:
            if current is None:
                current = profile(data)
            if own:  # the gateway's columns are not inputs, unless the contract names them
                left_out = set(own) - set(contract.columns)
                current = Profile(current.rows, [c for c in current if c.name not in left_out])
            checked = check_profile(contract, current)
            evidence.rows = checked.rows
        checked = CheckResult(checked.contract, checked.rows, [*checked.findings, *refused])
        evidence.runs.append(
            RunToStore(
                "contract",
                name,
                not checked.ok,
                {
                    "contract": name,
                    "ok": checked.ok,
                    "chunks": [
                        {
                            "key": "batch",
                            "start": _iso(start),
                            "end": _iso(end),
                            "rows": checked.rows,
                            "findings": [f.to_dict() for f in checked.findings],
                        }
                    ],
                },
            )
        )
    if source.performance is not None:
        evidence.runs.append(_performance(reg, slug, source, reference, batch))
    if window is not None:
        evidence.runs.append(_gateway_run(window))
    return evidence


def _refusals_only(
    reg: Registry, slug: str, policy: Any, version: ModelVersion, window: GatewayWindow
) -> Evidence:
    """A gateway window that served nothing but refused records: no data to profile or
    compare, only the refusals (as contract findings) and the gateway's metrics."""
    from postpilot.contracts.findings import CheckResult

    contract = _contract(reg, slug, policy, version)
    name = contract.name if contract is not None else "gateway"
    refused = _refusal_findings(window)
    checked = CheckResult(name, 0, refused)
    chunk = {
        "key": "batch",
        "start": _iso(window.start),
        "end": _iso(window.end),
        "rows": 0,
        "findings": [f.to_dict() for f in checked.findings],
    }
    evidence = Evidence(rows=0)
    evidence.notes.append(
        f"the gateway served no prediction of {slug} in the window but refused "
        f"{window.refused:,} record(s): no drift or performance, only the refusals"
    )
    evidence.runs.append(
        RunToStore(
            "contract",
            name,
            not checked.ok,
            {"contract": name, "ok": checked.ok, "chunks": [chunk]},
        )
    )
    evidence.runs.append(_gateway_run(window))
    return evidence


_FINDING_KINDS = {
    "missing": ("missing_column", "field {} missing"),
    "unexpected": ("unexpected_column", "field {} not in the contract"),
    "type": ("type_change", "field {} of the wrong type"),
    "range": ("out_of_range", "field {} out of range"),
    "category": ("new_category", "field {} holding a category the contract does not know"),
    "null": ("null_rate", "field {} null"),
    "adapter.coerce": ("type_change", "the adapter could not convert field {} to its type"),
    "adapter.unit": ("unit_change", "the adapter could not convert the unit of field {}"),
    "adapter.derive": ("type_change", "the adapter could not derive field {}"),
}
"""Gateway error kind -> contract finding kind, and how the message names the problem.
An adapter's unit conversion failing is a unit problem; its other failures (a value
it cannot coerce or derive from) mean the field does not hold what the contract's type
says: a type change."""


def _refusal_findings(window: GatewayWindow) -> list[Finding]:
    """The window's refused records as contract findings, one per (error kind, field),
    severity error: ``details`` hold the count, the records sent and the share."""
    from postpilot.contracts.findings import Finding, Kind, Severity

    out = []
    for refusal in window.refusals:
        kind, what = _FINDING_KINDS.get(refusal.kind, ("type_change", "field {} refused"))
        field = "(the record)" if refusal.field is None else refusal.field
        share = refusal.records / window.records if window.records else 0.0
        out.append(
            Finding(
                Kind(kind),
                refusal.field,
                Severity.ERROR,
                f"the gateway refused {refusal.records:,} record"
                f"{'' if refusal.records == 1 else 's'}: {what.format(field)} "
                f"({share:.1%} of the {window.records:,} records sent in the window)",
                {
                    "source": "gateway quarantine",
                    "gateway_kind": refusal.kind,
                    "refused": refusal.records,
                    "records": window.records,
                    "share": round(share, 6),
                    "example": refusal.example,
                },
            )
        )
    return out


def _gateway_run(window: GatewayWindow) -> RunToStore:
    """The batch's gateway metrics, as one chunk spanning its served predictions."""
    summary = window.to_dict()
    chunk = {
        "key": "batch",
        "start": _iso(window.first or window.start),
        "end": _iso(window.last or window.end),
        "rows": window.served,
        "window_start": summary.pop("start"),
        "window_end": summary.pop("end"),
        **summary,
    }
    return RunToStore("gateway", "gateway log", False, {"chunks": [chunk]})


def _timed(data: Any, column: str | None) -> Any:
    """``data``, with the timestamp column of an SQL batch read as times when it comes as
    text: SQLite has no time type, so its timestamps reach a query as strings."""
    if column is None or not isinstance(data, SQLSource):
        return data
    return _TimedSQL(data.url, data.query, data.params, timestamp=column)


@dataclass(frozen=True)
class _TimedSQL(SQLSource):
    timestamp: str = ""

    def frames(self, batch_size: int) -> Iterator[pl.DataFrame]:
        for frame in super().frames(batch_size):
            if frame.schema.get(self.timestamp) == pl.String:
                try:
                    frame = frame.with_columns(pl.col(self.timestamp).str.to_datetime())
                except pl.exceptions.PolarsError as exc:
                    raise InputError(
                        f"the timestamp column {self.timestamp!r} holds text that is not a "
                        f"date or time: {str(exc).splitlines()[0][:200]}",
                        field="source.timestamp",
                    ) from exc
            yield frame


def _time_range(current: Any, column: str) -> tuple[Any, Any]:
    from postpilot.profiles.temporal import TemporalColumn

    if column not in current.columns:
        raise InputError(
            f"the batch has no timestamp column {column!r}",
            field="source.timestamp",
            hint=f"Its columns: {', '.join(current.columns)}",
        )
    col = current.column(column)
    if not isinstance(col, TemporalColumn):
        raise InputError(
            f"the timestamp column {column!r} holds {col.type}, not dates or times",
            field="source.timestamp",
        )
    return col.earliest, col.latest


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _contract(reg: Registry, slug: str, policy: Any, version: ModelVersion) -> Any:
    named = policy.source.contract or version.contract
    if not named:
        return None
    name, _, number = named.partition("@")
    return reg.contract(name, int(number) if number else None).contract


def _performance(reg: Registry, slug: str, source: Any, reference: str, batch: Any) -> RunToStore:
    from postpilot.performance.run import PerformanceOptions, estimate_performance

    spec = source.performance
    options = PerformanceOptions(
        problem=spec.problem,
        y_true=spec.y_true,
        metrics=list(spec.metrics),
        y_pred=spec.y_pred,
        y_pred_proba=spec.y_score,
        chunk_period=source.chunk_period,
        timestamp=source.timestamp if source.chunk_period else None,
        id_column=spec.id_column,
    )
    labels = None
    if spec.id_column:

        def labels(ids: list[str]) -> dict[str, object]:
            return reg.labels(slug, ids)

    report = estimate_performance(
        reference, _timed(batch.data, source.timestamp), options, labels=labels
    )
    return RunToStore("performance", reference, report.alert, report.to_dict())
