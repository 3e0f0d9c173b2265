"""Monitoring runs stored per product: results as JSON and every chunk's profile."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from postpilot.registry._tx import Tx
from postpilot.store.models import ChunkProfileRow, MonitorBatchRow, MonitoringRunRow, ProductRow

__all__ = [
    "MonitoringRun",
    "ProcessedBatches",
    "StoredChunk",
    "list_runs",
    "processed_batches",
    "record_batch",
    "record_run",
    "run_chunks",
]


@dataclass(frozen=True)
class StoredChunk:
    period: str
    key: str
    start: str | None
    end: str | None
    rows: int
    profile: bytes


@dataclass(frozen=True)
class MonitoringRun:
    id: int
    product: str
    kind: str
    reference: str
    current: str
    alert: bool
    result: dict[str, Any]
    created_by: str
    created_at: datetime


def record_run(
    tx: Tx,
    slug: str,
    *,
    kind: str,
    reference: str,
    current: str,
    alert: bool,
    result: dict[str, Any],
    chunks: list[StoredChunk],
) -> MonitoringRun:
    product = tx.product(slug)
    row = MonitoringRunRow(
        product_id=product.id,
        kind=kind,
        reference=reference,
        current=current,
        alert=alert,
        result=json.dumps(result, separators=(",", ":"), default=str),
        created_by=tx.actor,
        created_at=tx.now,
    )
    tx.session.add(row)
    tx.session.flush()
    for chunk in chunks:
        tx.session.add(
            ChunkProfileRow(
                run_id=row.id,
                period=chunk.period,
                key=chunk.key,
                start=chunk.start,
                end=chunk.end,
                rows=chunk.rows,
                profile=chunk.profile,
            )
        )
    tx.record(
        f"monitoring.{kind}",
        "monitoring_run",
        f"{slug}/{kind}#{row.id}",
        product=slug,
        after={
            "reference": reference,
            "current": current,
            "alert": alert,
            "flagged": result.get("drifted_columns")
            or [f"{a['chunk']}:{a['metric']}" for a in result.get("alerts", [])],
        },
    )
    return _entity(slug, row)


def list_runs(tx: Tx, slug: str, kind: str | None = None) -> list[MonitoringRun]:
    product = tx.product(slug)
    query = select(MonitoringRunRow).where(MonitoringRunRow.product_id == product.id)
    if kind:
        query = query.where(MonitoringRunRow.kind == kind)
    return [_entity(slug, r) for r in tx.session.scalars(query.order_by(MonitoringRunRow.id))]


def run_chunks(tx: Tx, run_id: int) -> list[StoredChunk]:
    rows = tx.session.scalars(
        select(ChunkProfileRow).where(ChunkProfileRow.run_id == run_id).order_by(ChunkProfileRow.id)
    )
    return [StoredChunk(r.period, r.key, r.start, r.end, r.rows, r.profile) for r in rows]


def _entity(slug: str, row: MonitoringRunRow) -> MonitoringRun:
    return MonitoringRun(
        id=row.id,
        product=slug,
        kind=row.kind,
        reference=row.reference,
        current=row.current,
        alert=row.alert,
        result=json.loads(row.result),
        created_by=row.created_by,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class ProcessedBatches:
    """What monitor passes have processed of a product's source."""

    keys: frozenset[str]
    watermark: str | None
    """The watermark of the last processed SQL batch (None: none yet)."""
    last_at: datetime | None
    """When data last arrived (the newest processed batch's time)."""


def processed_batches(tx: Tx, product: ProductRow) -> ProcessedBatches:
    keys = frozenset(
        tx.session.scalars(
            select(MonitorBatchRow.key).where(MonitorBatchRow.product_id == product.id)
        )
    )
    last = tx.session.scalar(
        select(MonitorBatchRow)
        .where(MonitorBatchRow.product_id == product.id, MonitorBatchRow.watermark.is_not(None))
        .order_by(MonitorBatchRow.id.desc())
        .limit(1)
    )
    last_at = tx.session.scalar(
        select(func.max(MonitorBatchRow.processed_at)).where(
            MonitorBatchRow.product_id == product.id
        )
    )
    if last_at is not None and last_at.tzinfo is None:  # SQLite's max() skips the type
        last_at = last_at.replace(tzinfo=UTC)
    return ProcessedBatches(keys, None if last is None else last.watermark, last_at)


def record_batch(
    tx: Tx,
    product: ProductRow,
    *,
    key: str,
    label: str,
    watermark: str | None,
    rows: int | None,
    runs: list[int],
) -> None:
    """Mark a batch processed, in the transaction that stores its results."""
    tx.session.add(
        MonitorBatchRow(
            product_id=product.id,
            key=key,
            label=label,
            watermark=watermark,
            rows=rows,
            runs=json.dumps(runs),
            processed_at=tx.now,
            processed_by=tx.actor,
        )
    )
    tx.session.flush()
