"""What the CLI asks of the gateway, as plain functions over a :class:`Registry`.

Each checks before it stores: a route is set only once its model (and its
fallback) has loaded and its contract fits the model's inputs; an adapter is
stored only once its file is valid. So a running gateway never picks up a
route it cannot serve.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from postpilot.contracts.findings import CheckResult
from postpilot.errors import InputError
from postpilot.gateway.adapters import (
    Adapter,
    compile_adapter,
    dumps_adapter,
    load_adapter,
    suggest_adapter,
)
from postpilot.gateway.backends import load_backend
from postpilot.gateway.serving import (
    _import_rule,
    backend_options,
    check_gateway_options,
    model_features,
    serving_contract,
)
from postpilot.registry import Registry
from postpilot.registry.adapters import StoredAdapter
from postpilot.registry.routes import Fallback, Route

__all__ = ["apply_adapter", "check_adapter_data", "set_route", "suggest_for_data"]


def set_route(
    registry: Registry,
    slug: str,
    *,
    model: str | None = None,
    version: int | None = None,
    fallback: Fallback | None = None,
    options: dict[str, Any] | None = None,
) -> Route:
    """Load the model (and fallback) the route would serve, then store the route."""
    target = registry.resolve_route(slug, model=model, version=version, fallback=fallback)
    if options is None:
        current = registry.route(slug)
        options = current.options if current else {}
    check_gateway_options(options)
    extra = backend_options(options)
    primary = load_backend(target.flavor, target.artifact_uri, options=extra)
    try:
        if target.contract is not None:
            name, _, number = target.contract.rpartition("@")
            contract = registry.contract(name, int(number)).contract
            serving_contract(contract, options, model_features(primary))
    finally:
        asyncio.run(primary.aclose())
    if target.fallback_flavor and target.fallback_artifact_uri:
        backup = load_backend(target.fallback_flavor, target.fallback_artifact_uri, options=extra)
        asyncio.run(backup.aclose())
    if fallback is not None and fallback.kind == "rule":
        _import_rule(str(fallback.value))
    return registry.set_route(
        slug, model=model, version=version, fallback=fallback, options=options
    )


def apply_adapter(registry: Registry, path: Path) -> tuple[StoredAdapter, bool]:
    """Check an adapter file and store it as its product's (or consumer's) next version."""
    adapter = load_adapter(path)
    compile_adapter(adapter)
    body = path.read_text(encoding="utf-8")
    return registry.save_adapter(adapter.product, body, consumer=adapter.consumer)


def check_adapter_data(registry: Registry, slug: str, data: Path) -> CheckResult:
    """Check a batch of the consumer's data against the contract the product's route serves."""
    from postpilot.contracts import check_contract

    route = registry.route(slug)
    if route is None:
        raise InputError(
            f"product {slug!r} has no gateway route, so no contract to adapt to",
            field="product",
            hint=f"Set one first: postpilot route set {slug} --version N",
        )
    if route.contract is None:
        raise InputError(
            f"model version {route.version} of {slug!r} has no contract",
            field="product",
            hint="Register the model with --training-data so its contract is inferred",
        )
    name, _, number = route.contract.rpartition("@")
    contract = registry.contract(name, int(number)).contract
    contract = serving_contract(contract, route.options, None)
    return check_contract(contract, data)


def suggest_for_data(
    registry: Registry, slug: str, data: Path, *, consumer: str | None = None
) -> tuple[Adapter, str, CheckResult]:
    """An adapter proposed from the contract check of ``data``, and its YAML with evidence."""
    result = check_adapter_data(registry, slug, data)
    adapter, comments = suggest_adapter(result, product=slug, consumer=consumer)
    return adapter, dumps_adapter(adapter, comments=comments), result
