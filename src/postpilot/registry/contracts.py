"""Contract versions in the store, linked to a product's data source and its steward."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from postpilot.contracts.io import dumps_contract, loads_contract
from postpilot.contracts.model import Contract
from postpilot.errors import InputError, NotFoundError
from postpilot.registry._text import check_name, limit_of, storable
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


def check_contract_name(name: str) -> str:
    """A contract's name: printable, at most 100 characters, and without ``@``.

    Stored contracts are read back as ``NAME@VERSION``, so a name holding ``@``
    (``foo@2``) could be stored but never read back.
    """
    checked = check_name(
        name, field="name", limit=limit_of(ContractRow.name), what="a contract's name"
    )
    if "@" in checked or checked != name:
        raise InputError(
            f"{name!r} cannot name a contract: "
            + (
                "'@' separates a name from its version"
                if "@" in checked
                else "it has spaces around it"
            ),
            field="name",
            hint="Use letters, digits, '-', '_' or '.', e.g. churn-training",
        )
    return checked


def save(tx: Tx, contract: Contract, profile: bytes | None) -> StoredContract:
    """Store ``contract`` as the next version of its name (unchanged text: no new version)."""
    check_contract_name(contract.name)
    body = dumps_contract(contract)
    if "\x00" in body:
        raise InputError(
            f"contract {contract.name!r} holds a NUL byte ('\\x00'), which the store cannot keep",
            field="contract",
            hint="Remove the NUL byte from the contract's text",
        )
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
    if not storable(name, limit_of(ContractRow.name)):
        row = None
    elif version is None:
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
        if not storable(name, limit_of(ContractRow.name)):
            return []
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
