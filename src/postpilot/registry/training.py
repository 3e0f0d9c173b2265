"""Profile a model version's training data and keep its contract beside the version."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from postpilot.registry import contracts
from postpilot.registry._tx import Tx
from postpilot.registry.entities import Role, TrainingData
from postpilot.registry.versions import describe_training_data, local_path
from postpilot.store.models import DataSourceRow, RoleAssignmentRow

if TYPE_CHECKING:
    from postpilot.profiles import Profile

__all__ = ["PROFILED_SUFFIXES", "describe", "save_contract"]

PROFILED_SUFFIXES = (".csv", ".parquet", ".pq")


def describe(data: TrainingData) -> tuple[TrainingData, Profile | None]:
    """Fingerprint local training data, and profile it when it is CSV or Parquet."""
    data = describe_training_data(data)
    path = local_path(data.uri)
    if path is None or not path.is_file() or path.suffix.lower() not in PROFILED_SUFFIXES:
        return data, None
    from postpilot.contracts.infer import check_sample
    from postpilot.profiles import TemporalColumn, profile

    reference = profile(path)
    check_sample(reference, file=str(path))  # before the transaction: nothing is stored
    start, end = data.start, data.end
    temporal = [c for c in reference if isinstance(c, TemporalColumn) and c.count]
    if temporal and start is None and end is None:
        start, end = _aware(temporal[0].earliest), _aware(temporal[0].latest)
    filled = dataclasses.replace(
        data, rows=data.rows if data.rows is not None else reference.rows, start=start, end=end
    )
    return filled, reference


def save_contract(tx: Tx, slug: str, reference: Profile) -> int:
    """Infer and store the training data's contract; returns its row id."""
    from postpilot.contracts.infer import infer_contract

    product = tx.product(slug)
    sources = tx.session.scalars(
        select(DataSourceRow).where(DataSourceRow.product_id == product.id)
    ).all()
    source = sources[0] if len(sources) == 1 else None
    steward = None
    if source is not None:
        holder = tx.session.scalar(
            select(RoleAssignmentRow).where(
                RoleAssignmentRow.product_id == product.id,
                RoleAssignmentRow.slot == f"{Role.DATA_STEWARD.value}:{source.id}",
                RoleAssignmentRow.ended_at.is_(None),
            )
        )
        steward = holder.person.email if holder else None
    contract = infer_contract(
        reference,
        name=f"{slug}-training",
        product=slug,
        source=source.name if source else None,
        steward=steward,
        created_by=tx.actor,
    )
    stored = contracts.save(tx, contract, reference.to_bytes())
    return stored.row_id


def _aware(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None
