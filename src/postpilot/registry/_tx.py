"""A registry transaction: the session, who is acting, the clock, and lookups.

Every registry operation takes a :class:`Tx`; its changes and the audit events
describing them commit together or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postpilot.errors import InputError, NotFoundError
from postpilot.registry import audit
from postpilot.registry._text import limit_of, storable
from postpilot.store.models import DataSourceRow, PersonRow, ProductRow, TeamRow

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$")


@dataclass
class Tx:
    session: Session
    actor: str
    now: datetime

    def record(
        self,
        action: str,
        subject_type: str,
        subject: str,
        *,
        product: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        audit.append(
            self.session,
            at=self.now,
            actor=self.actor,
            action=action,
            subject_type=subject_type,
            subject=subject,
            product=product,
            before=before,
            after=after,
        )

    def person(self, email: str, *, field: str = "email") -> PersonRow:
        key = normalize_email(email, field=field)
        row = self.session.scalar(select(PersonRow).where(PersonRow.email == key))
        if row is None:
            raise NotFoundError(
                f"no person with email {key!r}",
                field=field,
                hint=f"Add them first: postpilot person add {key} --name 'Full Name'",
            )
        return row

    def product(self, slug: str) -> ProductRow:
        row = None
        if storable(slug, limit_of(ProductRow.slug)):
            row = self.session.scalar(select(ProductRow).where(ProductRow.slug == slug))
        if row is None:
            raise NotFoundError(
                f"no product {slug!r}",
                field="slug",
                hint="See the registered products with: postpilot product list",
            )
        return row

    def team(self, name: str) -> TeamRow:
        row = None
        if storable(name, limit_of(TeamRow.name)):
            row = self.session.scalar(select(TeamRow).where(TeamRow.name == name))
        if row is None:
            raise NotFoundError(
                f"no team {name!r}", field="team", hint=f"Add it first: postpilot team add {name}"
            )
        return row

    def source(self, product: ProductRow, name: str) -> DataSourceRow:
        row = None
        if storable(name, limit_of(DataSourceRow.name)):
            row = self.session.scalar(
                select(DataSourceRow).where(
                    DataSourceRow.product_id == product.id, DataSourceRow.name == name
                )
            )
        if row is None:
            known = self.session.scalars(
                select(DataSourceRow.name).where(DataSourceRow.product_id == product.id)
            ).all()
            listed = ", ".join(known) if known else "none yet"
            raise NotFoundError(
                f"product {product.slug!r} has no data source {name!r} (it has: {listed})",
                field="source",
                hint=f"Add it first: postpilot source add {product.slug} {name}",
            )
        return row


def normalize_email(email: str, *, field: str = "email") -> str:
    """Lower-case and check an email address: ``name@domain``, printable, at most 254
    characters (the limit of RFC 5321 and of the store's column)."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or any(not c.isprintable() for c in value):
        raise InputError(
            f"{email!r} is not an email address", field=field, hint="Use the form name@example.com"
        )
    limit = limit_of(PersonRow.email)
    if len(value) > limit:
        raise InputError(
            f"the email address has {len(value):,} characters; at most {limit} fit",
            field=field,
            hint="Use the person's shorter address",
        )
    return value


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise InputError(
            f"{slug!r} is not a valid product slug",
            field="slug",
            hint="Use 2-64 lower-case letters, digits and hyphens, starting with a letter "
            "(for example: churn-predictor)",
        )
    return slug
