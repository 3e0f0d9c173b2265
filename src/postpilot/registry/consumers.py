"""Consumers (the systems that call the gateway) and their API keys.

A key is shown once, when it is made, and stored only as the SHA-256 of the
whole key (:mod:`postpilot.registry.apikeys`). A key carries the products it may
call (``*`` for all) and its scopes:

- ``predict``: ``POST /v1/products/{product}/predict``;
- ``feedback``: labels and overrides for the product's predictions;
- ``view``: read the product's route and predictions (and, with ``*``, ``/metrics``);
- ``admin``: switch the product's route to its fallback and back.

Rotating a key makes a new key with the same consumer, products, scopes and
rate limit, and lets the old one work until the overlap window ends, so the
consumer can deploy the new key without an outage. Revoking is immediate in
the store; a running gateway re-reads a key at most every few seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select

from postpilot.errors import ConflictError, InputError, NotFoundError
from postpilot.registry._text import check_text, limit_of
from postpilot.registry._tx import Tx, normalize_email
from postpilot.registry.apikeys import KEY_ID, new_key
from postpilot.store.models import ApiKeyRow, ConsumerRow, ProductRow

__all__ = [
    "SCOPES",
    "ApiKey",
    "Consumer",
    "CreatedKey",
    "add_consumer",
    "create_key",
    "list_consumers",
    "list_keys",
    "revoke_key",
    "rotate_key",
]

SCOPES: Final = ("predict", "feedback", "view", "admin")
ALL_PRODUCTS: Final = "*"
_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,62}[a-z0-9]$")
DEFAULT_OVERLAP: Final = timedelta(hours=24)


@dataclass(frozen=True)
class Consumer:
    """An integrating system, with how many of its keys work now."""

    name: str
    description: str | None
    contact: str | None
    created_at: datetime
    created_by: str
    active_keys: int = 0


@dataclass(frozen=True)
class ApiKey:
    """What the store knows of a key: never its secret."""

    key_id: str
    consumer: str
    products: tuple[str, ...]
    scopes: tuple[str, ...]
    rate: float | None
    burst: int | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_from: str | None

    def status(self, now: datetime) -> str:
        """``active``, ``expiring`` (rotated, inside its overlap window), ``expired``
        or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            return "expiring" if self.expires_at > now else "expired"
        return "active"


@dataclass(frozen=True)
class CreatedKey:
    """A key just made: ``plaintext`` is the only copy; show it once."""

    key: ApiKey
    plaintext: str


def check_consumer_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"{name!r} is not a valid consumer name",
            field="name",
            hint="Use 2-64 lower-case letters, digits, '.', '_' and '-', starting with a letter "
            "(for example: crm-eu)",
        )
    return name


def consumer_row(tx: Tx, name: str) -> ConsumerRow:
    row = None
    if isinstance(name, str) and len(name) <= limit_of(ConsumerRow.name):
        row = tx.session.scalar(select(ConsumerRow).where(ConsumerRow.name == name))
    if row is None:
        raise NotFoundError(
            f"no consumer {name!r}",
            field="consumer",
            hint=f"Add it first: postpilot consumer add {name}",
        )
    return row


def _key_row(tx: Tx, key_id: str) -> ApiKeyRow:
    row = None
    if isinstance(key_id, str) and KEY_ID.fullmatch(key_id):
        row = tx.session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
    if row is None:
        raise NotFoundError(
            f"no API key with id {key_id!r}",
            field="key_id",
            hint="A key id is the 12 characters after 'pp_'; see them with: postpilot key list",
        )
    return row


def _consumer_entity(row: ConsumerRow, active_keys: int = 0) -> Consumer:
    return Consumer(
        name=row.name,
        description=row.description,
        contact=row.contact,
        created_at=row.created_at,
        created_by=row.created_by,
        active_keys=active_keys,
    )


def key_entity(row: ApiKeyRow, consumer: str) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        consumer=consumer,
        products=tuple(row.products),
        scopes=tuple(row.scopes),
        rate=row.rate,
        burst=row.burst,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rotated_from=row.rotated_from,
    )


def add_consumer(
    tx: Tx, name: str, *, description: str | None = None, contact: str | None = None
) -> Consumer:
    name = check_consumer_name(name)
    description = check_text(description, field="description", what="the description")
    if contact is not None:
        contact = normalize_email(contact, field="contact")
    if tx.session.scalar(select(ConsumerRow).where(ConsumerRow.name == name)) is not None:
        raise ConflictError(f"consumer {name!r} already exists", field="name")
    row = ConsumerRow(
        name=name, description=description, contact=contact, created_at=tx.now, created_by=tx.actor
    )
    tx.session.add(row)
    tx.record(
        "consumer.added",
        "consumer",
        name,
        after={"name": name, "description": description, "contact": contact},
    )
    return _consumer_entity(row)


def list_consumers(tx: Tx) -> list[Consumer]:
    rows = tx.session.scalars(select(ConsumerRow).order_by(ConsumerRow.name)).all()
    keys = tx.session.scalars(select(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))).all()
    live: dict[int, int] = {}
    for key in keys:
        if key.expires_at is None or key.expires_at > tx.now:
            live[key.consumer_id] = live.get(key.consumer_id, 0) + 1
    return [_consumer_entity(row, live.get(row.id, 0)) for row in rows]


def _check_products(tx: Tx, products: list[str]) -> list[str]:
    if not products:
        raise InputError(
            "a key needs at least one product it may call",
            field="product",
            hint="Pass --product SLUG (repeat it for several), or --product '*' for every product",
        )
    out: list[str] = []
    for slug in products:
        if slug == ALL_PRODUCTS:
            out.append(slug)
            continue
        tx.product(slug)  # NotFoundError names the product
        out.append(slug)
    return sorted(set(out))


def _check_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise InputError(
            "a key needs at least one scope",
            field="scope",
            hint=f"Pass --scope with one of: {', '.join(SCOPES)}",
        )
    for scope in scopes:
        if scope not in SCOPES:
            raise InputError(
                f"unknown scope {scope!r}",
                field="scope",
                hint=f"Use one of: {', '.join(SCOPES)}",
            )
    return [s for s in SCOPES if s in scopes]


def _check_rate(rate: float | None, burst: int | None) -> None:
    if rate is not None and (not math.isfinite(rate) or rate <= 0):
        raise InputError(
            f"a key's rate must be a positive number of requests per second, got {rate}",
            field="rate",
        )
    if burst is not None and (isinstance(burst, bool) or burst < 1):
        raise InputError(f"a key's burst must be at least 1, got {burst}", field="burst")


def create_key(
    tx: Tx,
    consumer: str,
    *,
    products: list[str],
    scopes: list[str],
    rate: float | None = None,
    burst: int | None = None,
    rotated_from: str | None = None,
) -> CreatedKey:
    owner = consumer_row(tx, consumer)
    product_list = _check_products(tx, products)
    scope_list = _check_scopes(scopes)
    _check_rate(rate, burst)
    made = new_key()
    while tx.session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.key_id == made.key_id)):
        made = new_key()  # pragma: no cover - 62**12 ids; a clash is astronomically rare
    row = ApiKeyRow(
        key_id=made.key_id,
        consumer_id=owner.id,
        secret_hash=made.hash,
        products=product_list,
        scopes=scope_list,
        rate=rate,
        burst=burst,
        created_at=tx.now,
        created_by=tx.actor,
        rotated_from=rotated_from,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.record(
        "key.created",
        "api_key",
        made.key_id,
        after={
            "consumer": owner.name,
            "products": product_list,
            "scopes": scope_list,
            "rate": rate,
            "burst": burst,
            "rotated_from": rotated_from,
        },
    )
    return CreatedKey(key=key_entity(row, owner.name), plaintext=made.plaintext)


def list_keys(tx: Tx, consumer: str | None = None) -> list[ApiKey]:
    query = select(ApiKeyRow, ConsumerRow.name).join(
        ConsumerRow, ConsumerRow.id == ApiKeyRow.consumer_id
    )
    if consumer is not None:
        query = query.where(ApiKeyRow.consumer_id == consumer_row(tx, consumer).id)
    rows = tx.session.execute(query.order_by(ConsumerRow.name, ApiKeyRow.created_at)).all()
    return [key_entity(row, name) for row, name in rows]


def revoke_key(tx: Tx, key_id: str) -> ApiKey:
    row = _key_row(tx, key_id)
    consumer = tx.session.get(ConsumerRow, row.consumer_id)
    assert consumer is not None
    if row.revoked_at is not None:
        raise ConflictError(f"key {key_id} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M}")
    row.revoked_at = tx.now
    row.revoked_by = tx.actor
    tx.record("key.revoked", "api_key", key_id, after={"consumer": consumer.name})
    return key_entity(row, consumer.name)


def rotate_key(tx: Tx, key_id: str, *, overlap: timedelta = DEFAULT_OVERLAP) -> CreatedKey:
    """A new key like ``key_id``; the old one keeps working for ``overlap``, then expires."""
    row = _key_row(tx, key_id)
    if overlap < timedelta(0):
        raise InputError("the overlap window cannot be negative", field="overlap")
    consumer = tx.session.get(ConsumerRow, row.consumer_id)
    assert consumer is not None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= tx.now):
        raise ConflictError(
            f"key {key_id} no longer works, so it cannot be rotated",
            field="key_id",
            hint=f"Create a new key: postpilot key create {consumer.name} --product P --scope S",
        )
    ends = tx.now + overlap
    row.expires_at = ends if row.expires_at is None else min(row.expires_at, ends)
    created = create_key(
        tx,
        consumer.name,
        products=list(row.products),
        scopes=list(row.scopes),
        rate=row.rate,
        burst=row.burst,
        rotated_from=key_id,
    )
    tx.record(
        "key.rotated",
        "api_key",
        key_id,
        after={"replaced_by": created.key.key_id, "expires_at": row.expires_at.isoformat()},
    )
    return created


def count_live_consumers(tx: Tx, product: ProductRow) -> int:
    """How many consumers hold a working key for the product (readiness evidence)."""
    rows = tx.session.execute(
        select(ApiKeyRow.consumer_id, ApiKeyRow.products, ApiKeyRow.expires_at).where(
            ApiKeyRow.revoked_at.is_(None)
        )
    ).all()
    live = {
        consumer_id
        for consumer_id, products, expires in rows
        if (expires is None or expires > tx.now)
        and (product.slug in products or ALL_PRODUCTS in products)
    }
    return len(live)
