"""Stored input adapters: versions of each (product, consumer) adapter's YAML text.

The text is validated by :mod:`postpilot.gateway.adapters` before it is stored;
the registry keeps each version (a changed adapter adds one, the same text adds
none) so a gateway and an auditor can tell which adapter shaped a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from postpilot.errors import NotFoundError
from postpilot.registry._tx import Tx
from postpilot.registry.consumers import consumer_row
from postpilot.store.models import AdapterRow, ConsumerRow, ProductRow

__all__ = ["StoredAdapter", "adapter_versions", "latest_adapters", "save_adapter"]


@dataclass(frozen=True)
class StoredAdapter:
    product: str
    consumer: str | None
    version: int
    body: str
    created_at: datetime
    created_by: str


def _entity(row: AdapterRow, product: str, consumer: str | None) -> StoredAdapter:
    return StoredAdapter(
        product=product,
        consumer=consumer,
        version=row.version,
        body=row.body,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _scope(product: ProductRow, consumer_id: int | None) -> Select[Any]:
    query = select(AdapterRow).where(AdapterRow.product_id == product.id)
    if consumer_id is None:
        return query.where(AdapterRow.consumer_id.is_(None))
    return query.where(AdapterRow.consumer_id == consumer_id)


def save_adapter(tx: Tx, slug: str, consumer: str | None, body: str) -> tuple[StoredAdapter, bool]:
    """Store ``body`` as the next version; ``(adapter, False)`` when it is unchanged."""
    product = tx.product(slug)
    consumer_id = consumer_row(tx, consumer).id if consumer is not None else None
    latest = tx.session.scalar(
        _scope(product, consumer_id).order_by(AdapterRow.version.desc()).limit(1)
    )
    if latest is not None and latest.body == body:
        return _entity(latest, slug, consumer), False
    row = AdapterRow(
        product_id=product.id,
        consumer_id=consumer_id,
        version=(latest.version + 1) if latest else 1,
        body=body,
        created_at=tx.now,
        created_by=tx.actor,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.record(
        "adapter.applied",
        "adapter",
        f"{slug}/{consumer or '*'}@{row.version}",
        product=slug,
        after={"consumer": consumer, "version": row.version},
    )
    return _entity(row, slug, consumer), True


def adapter_versions(tx: Tx, slug: str, consumer: str | None) -> list[StoredAdapter]:
    product = tx.product(slug)
    consumer_id = consumer_row(tx, consumer).id if consumer is not None else None
    rows = tx.session.scalars(_scope(product, consumer_id).order_by(AdapterRow.version)).all()
    if not rows:
        who = f"consumer {consumer!r} of " if consumer else ""
        raise NotFoundError(
            f"no adapter for {who}product {slug!r}",
            field="product",
            hint="Apply one with: postpilot adapter apply FILE",
        )
    return [_entity(row, slug, consumer) for row in rows]


def latest_adapters(tx: Tx) -> list[StoredAdapter]:
    """The latest version of every adapter, for the gateway to compile."""
    newest = (
        select(
            AdapterRow.product_id,
            AdapterRow.consumer_id,
            func.max(AdapterRow.version).label("version"),
        )
        .group_by(AdapterRow.product_id, AdapterRow.consumer_id)
        .subquery()
    )
    rows = tx.session.execute(
        select(AdapterRow, ProductRow.slug, ConsumerRow.name)
        .join(
            newest,
            (newest.c.product_id == AdapterRow.product_id)
            & (newest.c.version == AdapterRow.version)
            & (
                (newest.c.consumer_id == AdapterRow.consumer_id)
                | (newest.c.consumer_id.is_(None) & AdapterRow.consumer_id.is_(None))
            ),
        )
        .join(ProductRow, ProductRow.id == AdapterRow.product_id)
        .outerjoin(ConsumerRow, ConsumerRow.id == AdapterRow.consumer_id)
        .order_by(ProductRow.slug, ConsumerRow.name)
    ).all()
    return [_entity(row, slug, name) for row, slug, name in rows]
