"""Contract versions in the store, linked to a product's data source and its steward."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from postpilot.contracts.io import dumps_contract, loads_contract
from postpilot.contracts.model import Contract
from postpilot.errors import NotFoundError
from postpilot.registry._tx import Tx
from postpilot.store.models import ContractRow, DataSourceRow, ProductRow

__all__ = ["StoredContract", "get", "save", "versions"]


@dataclass(frozen=True)
class StoredContract:
    name: str
    version: int
    product: str | None
    source: str | None
    fingerprint: str
    created_by: str
    created_at: datetime
    contract: Contract
    profile: bytes | None = field(repr=False)
    row_id: int = field(repr=False, compare=False)


def save(tx: Tx, contract: Contract, profile: bytes | None) -> StoredContract:
    """Store ``contract`` as the next version of its name (unchanged text: no new version)."""
    body = dumps_contract(contract)
    fingerprint = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    latest = _latest(tx, contract.name)
    if latest is not None and latest.fingerprint == fingerprint:
        return _entity(tx, latest)
    product_id = source_id = None
    if contract.product:
        product = tx.product(contract.product)
        product_id = product.id
        if contract.source:
            source_id = tx.source(product, contract.source).id
    row = ContractRow(
        name=contract.name,
        version=(latest.version if latest else 0) + 1,
        product_id=product_id,
        data_source_id=source_id,
        body=body,
        fingerprint=fingerprint,
        profile=profile,
        created_by=tx.actor,
        created_at=tx.now,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.record(
        "contract.saved",
        "contract",
        f"{contract.name}@{row.version}",
        product=contract.product,
        after={
            "fingerprint": fingerprint,
            "columns": list(contract.columns),
            "source": contract.source,
            "steward": contract.steward,
        },
    )
    return _entity(tx, row)


def get(tx: Tx, name: str, version: int | None = None) -> StoredContract:
    if version is None:
        row = _latest(tx, name)
    else:
        row = tx.session.scalar(
            select(ContractRow).where(ContractRow.name == name, ContractRow.version == version)
        )
    if row is None:
        which = f"{name}@{version}" if version else name
        raise NotFoundError(
            f"no stored contract {which!r}",
            field="contract",
            hint="See stored contracts with: postpilot contract list",
        )
    return _entity(tx, row)


def versions(tx: Tx, name: str | None = None) -> list[StoredContract]:
    query = select(ContractRow).order_by(ContractRow.name, ContractRow.version)
    if name:
        query = query.where(ContractRow.name == name)
    return [_entity(tx, row) for row in tx.session.scalars(query)]


def _latest(tx: Tx, name: str) -> ContractRow | None:
    top = select(func.max(ContractRow.version)).where(ContractRow.name == name).scalar_subquery()
    return tx.session.scalar(
        select(ContractRow).where(ContractRow.name == name, ContractRow.version == top)
    )


def _entity(tx: Tx, row: ContractRow) -> StoredContract:
    product = tx.session.get(ProductRow, row.product_id) if row.product_id else None
    source = tx.session.get(DataSourceRow, row.data_source_id) if row.data_source_id else None
    return StoredContract(
        name=row.name,
        version=row.version,
        product=product.slug if product else None,
        source=source.name if source else None,
        fingerprint=row.fingerprint,
        created_by=row.created_by,
        created_at=row.created_at,
        contract=loads_contract(row.body, source=f"{row.name}@{row.version}"),
        profile=row.profile,
        row_id=row.id,
    )
