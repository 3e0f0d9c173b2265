"""Stored policies (versions per product), the firings they recorded, promotion blocks.

A policy version keeps the YAML exactly as applied. Applying unchanged text
adds no version. A firing (a rule that held at one chunk for one subject) is
recorded once, keyed by rule, subject and chunk: carrying out the same
firing twice is refused by the store, which is what makes a second monitor
pass over the same data change nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from postpilot.registry._tx import Tx
from postpilot.store.models import (
    MonitoringRunRow,
    PolicyFiringRow,
    PolicyRow,
    ProductRow,
    PromotionBlockRow,
)

__all__ = [
    "PromotionBlock",
    "StoredPolicy",
    "add_block",
    "apply",
    "blocks",
    "firing_exists",
    "latest",
    "record_firing",
    "versions",
]


@dataclass(frozen=True)
class StoredPolicy:
    product: str
    version: int
    body: str
    source: str | None
    fingerprint: str
    created_by: str
    created_at: datetime
    after_run: int | None = None
    """The newest monitoring run when it was applied: the version acts on later runs."""


@dataclass(frozen=True)
class PromotionBlock:
    id: int
    product: str
    rule: str
    reason: str
    incident_id: int | None
    created_at: datetime
    created_by: str


def fingerprint(body: str) -> str:
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def apply(tx: Tx, slug: str, body: str, source: str | None) -> tuple[StoredPolicy, bool]:
    """Store ``body`` as the product's next policy version (audited). Returns the
    version and whether it is new (the same text as the latest adds nothing)."""
    product = tx.product(slug)
    current = _latest_row(tx, product)
    digest = fingerprint(body)
    if current is not None and current.fingerprint == digest:
        return _entity(slug, current), False
    row = PolicyRow(
        product_id=product.id,
        version=(current.version + 1) if current is not None else 1,
        body=body,
        source=source,
        after_run=tx.session.scalar(
            select(func.max(MonitoringRunRow.id)).where(MonitoringRunRow.product_id == product.id)
        ),
        fingerprint=digest,
        created_by=tx.actor,
        created_at=tx.now,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.record(
        "policy.applied",
        "policy",
        f"{slug}@{row.version}",
        product=slug,
        before=None if current is None else {"version": current.version},
        after={"version": row.version, "fingerprint": digest, "source": source},
    )
    return _entity(slug, row), True


def _latest_row(tx: Tx, product: ProductRow) -> PolicyRow | None:
    return tx.session.scalar(
        select(PolicyRow)
        .where(PolicyRow.product_id == product.id)
        .order_by(PolicyRow.version.desc())
        .limit(1)
    )


def latest(tx: Tx, slug: str) -> StoredPolicy | None:
    row = _latest_row(tx, tx.product(slug))
    return None if row is None else _entity(slug, row)


def versions(tx: Tx, slug: str) -> list[StoredPolicy]:
    product = tx.product(slug)
    rows = tx.session.scalars(
        select(PolicyRow).where(PolicyRow.product_id == product.id).order_by(PolicyRow.version)
    )
    return [_entity(slug, r) for r in rows]


def _entity(slug: str, row: PolicyRow) -> StoredPolicy:
    return StoredPolicy(
        slug,
        row.version,
        row.body,
        row.source,
        row.fingerprint,
        row.created_by,
        row.created_at,
        row.after_run,
    )


def firing_exists(tx: Tx, product: ProductRow, key: str) -> bool:
    found = tx.session.scalar(
        select(func.count())
        .select_from(PolicyFiringRow)
        .where(PolicyFiringRow.product_id == product.id, PolicyFiringRow.key == key)
    )
    return bool(found)


def record_firing(
    tx: Tx,
    product: ProductRow,
    *,
    key: str,
    rule: str,
    chunk: str,
    at: datetime,
    value: float | None,
    detail: dict[str, Any],
    incident_id: int | None,
) -> None:
    tx.session.add(
        PolicyFiringRow(
            product_id=product.id,
            key=key,
            rule=rule,
            chunk=chunk,
            at=at,
            value=value,
            detail=json.dumps(detail, sort_keys=True, default=str),
            incident_id=incident_id,
            created_at=tx.now,
        )
    )
    tx.session.flush()


def add_block(
    tx: Tx, product: ProductRow, *, rule: str, reason: str, incident_id: int | None
) -> bool:
    """Block promotion of the product (one active block per rule); False if one exists."""
    existing = tx.session.scalar(
        select(PromotionBlockRow.id).where(
            PromotionBlockRow.product_id == product.id,
            PromotionBlockRow.rule == rule,
            PromotionBlockRow.lifted_at.is_(None),
        )
    )
    if existing is not None:
        return False
    tx.session.add(
        PromotionBlockRow(
            product_id=product.id,
            incident_id=incident_id,
            rule=rule,
            reason=reason,
            created_at=tx.now,
            created_by=tx.actor,
        )
    )
    tx.record(
        "product.promotion_blocked",
        "product",
        product.slug,
        product=product.slug,
        after={"rule": rule, "reason": reason, "incident": incident_id},
    )
    return True


def blocks(tx: Tx, product: ProductRow) -> list[PromotionBlock]:
    """The product's active promotion blocks."""
    rows = tx.session.scalars(
        select(PromotionBlockRow)
        .where(PromotionBlockRow.product_id == product.id, PromotionBlockRow.lifted_at.is_(None))
        .order_by(PromotionBlockRow.id)
    )
    return [
        PromotionBlock(
            r.id, product.slug, r.rule, r.reason, r.incident_id, r.created_at, r.created_by
        )
        for r in rows
    ]
