"""A product's gateway route: which model version answers, and what answers instead.

The fallback is one of:

- ``none``: no fallback; when the primary cannot answer the request fails (503);
- ``version``: another version of the same model (usually the previous one);
- ``constant``: a fixed JSON answer (``{"prediction": "no_churn"}``);
- ``rule``: a Python function ``module:function`` that takes the list of records
  and returns one output per record (a business rule the model replaced);
- ``unavailable``: answer 503 with ``Retry-After`` (the consumer falls back itself).

``fallback_active`` switches every request to the fallback: by hand (``postpilot
route fallback PRODUCT on``), or by a policy's ``fallback`` action.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from postpilot.errors import InputError, NotFoundError
from postpilot.registry._text import check_text
from postpilot.registry._tx import Tx
from postpilot.store.models import ModelRow, ModelVersionRow, ProductRow, RouteRow

__all__ = [
    "FALLBACK_KINDS",
    "Fallback",
    "Route",
    "Target",
    "get_route",
    "resolve",
    "set_fallback_active",
    "set_route",
]

FALLBACK_KINDS: Final = ("none", "version", "constant", "rule", "unavailable")
_RULE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
DEFAULT_RETRY_AFTER: Final = 60


@dataclass(frozen=True)
class Fallback:
    """What answers when the primary does not: see the module docstring.

    ``value`` is the version number (``version``), the JSON answer
    (``constant``), ``module:function`` (``rule``) or the Retry-After seconds
    (``unavailable``).
    """

    kind: str = "none"
    value: Any = None

    def describe(self) -> str:
        if self.kind == "version":
            return f"version {self.value}"
        if self.kind == "constant":
            return f"constant {json.dumps(self.value)}"
        if self.kind == "rule":
            return f"rule {self.value}"
        if self.kind == "unavailable":
            return f"503 with Retry-After {self.value}s"
        return "none"


@dataclass(frozen=True)
class Route:
    product: str
    model: str
    version: int
    flavor: str
    artifact_uri: str
    contract: str | None
    fallback: Fallback
    fallback_flavor: str | None
    fallback_artifact_uri: str | None
    fallback_active: bool
    fallback_reason: str | None
    options: dict[str, Any]
    updated_at: datetime
    updated_by: str


def check_fallback(fallback: Fallback) -> Fallback:
    """Refuse a fallback that could never answer; normalise its value."""
    kind, value = fallback.kind, fallback.value
    if kind not in FALLBACK_KINDS:
        raise InputError(
            f"unknown fallback kind {kind!r}",
            field="fallback",
            hint=f"Use one of: {', '.join(FALLBACK_KINDS)}",
        )
    if kind == "version":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(
                f"a fallback version is a version number, got {value!r}", field="fallback"
            )
    elif kind == "constant":
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"a constant fallback must be JSON: {exc}", field="fallback_constant"
            ) from exc
        if not (isinstance(value, dict) and "prediction" in value):
            value = {"prediction": value}
    elif kind == "rule":
        if not isinstance(value, str) or not _RULE.fullmatch(value):
            raise InputError(
                f"a rule fallback is 'module:function', got {value!r}",
                field="fallback_rule",
                hint="For example: --fallback-rule mycompany.rules:churn_rule",
            )
    elif kind == "unavailable":
        value = DEFAULT_RETRY_AFTER if value is None else value
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 1 <= value <= 86400
        ):
            raise InputError(
                f"Retry-After must be 1 to 86400 seconds, got {value!r}", field="retry_after"
            )
        value = int(value)
    else:
        value = None
    return Fallback(kind=kind, value=value)


def _version_row(tx: Tx, product: ProductRow, model: str, version: int | None) -> ModelVersionRow:
    model_row = tx.session.scalar(
        select(ModelRow).where(ModelRow.product_id == product.id, ModelRow.name == model)
    )
    if model_row is None:
        raise NotFoundError(
            f"product {product.slug!r} has no model {model!r}",
            field="model",
            hint=f"Register one first: postpilot model register {product.slug} --artifact ...",
        )
    query = select(ModelVersionRow).where(ModelVersionRow.model_id == model_row.id)
    if version is None:
        row = tx.session.scalar(query.order_by(ModelVersionRow.version.desc()).limit(1))
    else:
        row = tx.session.scalar(query.where(ModelVersionRow.version == version))
    if row is None:
        raise NotFoundError(
            f"model {model!r} of {product.slug!r} has no version {version}",
            field="version",
            hint=f"See its versions with: postpilot model list {product.slug}",
        )
    return row


def _entity(tx: Tx, product: ProductRow, row: RouteRow) -> Route:
    primary = tx.session.get(ModelVersionRow, row.primary_version_id)
    assert primary is not None
    model = tx.session.get(ModelRow, primary.model_id)
    assert model is not None
    fallback_row = (
        tx.session.get(ModelVersionRow, row.fallback_version_id)
        if row.fallback_version_id
        else None
    )
    value: Any = None
    if row.fallback_kind == "version" and fallback_row is not None:
        value = fallback_row.version
    elif row.fallback_value is not None:
        value = json.loads(row.fallback_value)
    return Route(
        product=product.slug,
        model=model.name,
        version=primary.version,
        flavor=primary.flavor,
        artifact_uri=primary.artifact_uri,
        contract=f"{primary.contract.name}@{primary.contract.version}"
        if primary.contract
        else None,
        fallback=Fallback(kind=row.fallback_kind, value=value),
        fallback_flavor=fallback_row.flavor if fallback_row else None,
        fallback_artifact_uri=fallback_row.artifact_uri if fallback_row else None,
        fallback_active=row.fallback_active,
        fallback_reason=row.fallback_reason,
        options=dict(row.options or {}),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def get_route(tx: Tx, slug: str) -> Route | None:
    product = tx.product(slug)
    row = tx.session.scalar(select(RouteRow).where(RouteRow.product_id == product.id))
    return None if row is None else _entity(tx, product, row)


def all_routes(tx: Tx) -> list[Route]:
    rows = tx.session.execute(
        select(RouteRow, ProductRow)
        .join(ProductRow, ProductRow.id == RouteRow.product_id)
        .order_by(ProductRow.slug)
    ).all()
    return [_entity(tx, product, row) for row, product in rows]


@dataclass(frozen=True)
class Target:
    """The model versions a route would serve, resolved before it is set."""

    model: str
    version: int
    flavor: str
    artifact_uri: str
    contract: str | None
    fallback_flavor: str | None
    fallback_artifact_uri: str | None


@dataclass(frozen=True)
class _Plan:
    product: ProductRow
    existing: RouteRow | None
    before: Route | None
    model: str
    primary: ModelVersionRow
    fallback: Fallback
    fallback_row: ModelVersionRow | None


def _plan(
    tx: Tx, slug: str, model: str | None, version: int | None, fallback: Fallback | None
) -> _Plan:
    """The versions a route set with these arguments points at; arguments left as None
    keep what the route had."""
    product = tx.product(slug)
    existing = tx.session.scalar(select(RouteRow).where(RouteRow.product_id == product.id))
    before = _entity(tx, product, existing) if existing else None
    model_name = model or (before.model if before else product.slug)
    primary = _version_row(tx, product, model_name, version)
    if fallback is None:
        fallback = before.fallback if before else Fallback()
    fallback = check_fallback(fallback)
    fallback_row = None
    if fallback.kind == "version":
        if fallback.value == primary.version:
            raise InputError(
                f"version {primary.version} cannot be its own fallback",
                field="fallback_version",
                hint="Give an earlier version, or another kind of fallback",
            )
        fallback_row = _version_row(tx, product, model_name, fallback.value)
    return _Plan(product, existing, before, model_name, primary, fallback, fallback_row)


def resolve(
    tx: Tx, slug: str, *, model: str | None, version: int | None, fallback: Fallback | None
) -> Target:
    """What :func:`set_route` with these arguments would point at (read only)."""
    plan = _plan(tx, slug, model, version, fallback)
    primary, backup = plan.primary, plan.fallback_row
    return Target(
        model=plan.model,
        version=primary.version,
        flavor=primary.flavor,
        artifact_uri=primary.artifact_uri,
        contract=(
            f"{primary.contract.name}@{primary.contract.version}" if primary.contract else None
        ),
        fallback_flavor=backup.flavor if backup else None,
        fallback_artifact_uri=backup.artifact_uri if backup else None,
    )


def set_route(
    tx: Tx,
    slug: str,
    *,
    model: str | None = None,
    version: int | None = None,
    fallback: Fallback | None = None,
    options: dict[str, Any] | None = None,
) -> Route:
    """Point the product's route at a model version (the latest when ``version`` is None).

    Arguments left as None keep what the route had (a new route: no fallback, no
    options). Setting a route never switches the fallback on or off.
    """
    plan = _plan(tx, slug, model, version, fallback)
    product, existing, before, primary = plan.product, plan.existing, plan.before, plan.primary
    fallback = plan.fallback
    fallback_version_id = plan.fallback_row.id if plan.fallback_row else None
    stored_value = (
        None
        if fallback.kind in ("none", "version")
        else json.dumps(fallback.value, allow_nan=False)
    )
    if options is None:
        options = before.options if before else {}
    try:
        json.dumps(options, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"route options must be JSON: {exc}", field="option") from exc
    if existing is None:
        existing = RouteRow(product_id=product.id, fallback_active=False, fallback_reason=None)
        tx.session.add(existing)
    existing.primary_version_id = primary.id
    existing.fallback_kind = fallback.kind
    existing.fallback_version_id = fallback_version_id
    existing.fallback_value = stored_value
    existing.options = dict(options)
    existing.updated_at = tx.now
    existing.updated_by = tx.actor
    tx.session.flush()
    after = _entity(tx, product, existing)
    tx.record(
        "route.set",
        "route",
        slug,
        product=slug,
        before=_audit(before),
        after=_audit(after),
    )
    return after


def set_fallback_active(tx: Tx, slug: str, active: bool, *, reason: str | None = None) -> Route:
    """Switch every request of the product to its fallback (``active``) or back."""
    product = tx.product(slug)
    row = tx.session.scalar(select(RouteRow).where(RouteRow.product_id == product.id))
    if row is None:
        raise NotFoundError(
            f"product {slug!r} has no gateway route",
            field="product",
            hint=f"Set one first: postpilot route set {slug} --version N",
        )
    if active and row.fallback_kind == "none":
        raise InputError(
            f"product {slug!r} has no fallback to switch to",
            field="fallback",
            hint=f"Give it one: postpilot route set {slug} --fallback-version N "
            "(or --fallback-constant, --fallback-rule, --fallback-unavailable)",
        )
    reason = check_text(reason, field="reason", what="the reason")
    was = row.fallback_active
    row.fallback_active = active
    row.fallback_reason = reason if active else None
    row.updated_at = tx.now
    row.updated_by = tx.actor
    if was != active:
        tx.record(
            "route.fallback_on" if active else "route.fallback_off",
            "route",
            slug,
            product=slug,
            after={"reason": reason},
        )
    return _entity(tx, product, row)


def _audit(route: Route | None) -> dict[str, Any] | None:
    if route is None:
        return None
    return {
        "model": route.model,
        "version": route.version,
        "fallback": route.fallback.kind,
        "fallback_value": route.fallback.value,
        "options": route.options,
    }
