"""Live routes: each product's loaded model, fallback, contract validator and adapters.

The :class:`RouteTable` builds a :class:`LiveRoute` per product from the
store's routes and adapters, and notices changes within
:data:`REFRESH_SECONDS`: a route set to a new version, a fallback switched on
by hand or by a policy, a new adapter. Loaded backends are reused while their
flavor, artifact and options are unchanged.

Route options the gateway itself reads (the rest go to the backend):

- ``features``: the input fields, in order (default: what the model says it
  takes, such as scikit-learn's ``feature_names_in_``, else every column of
  the contract but those in ``exclude``);
- ``exclude``: contract columns that are not inputs (the label column of the
  training data, for example);
- ``unexpected``: ``error`` (default) refuses a record with a field the serving
  contract does not name; ``ignore`` lets it through;
- ``max_batch``: the most records one request may carry (default 1000);
- ``resilience``: the deadline, retries, circuit breaker and concurrency of the
  route's backends (:mod:`postpilot.gateway.resilience`, docs/gateway-resilience.md).

Every loaded backend is wrapped in a
:class:`~postpilot.gateway.resilience.ResilientBackend`; while the primary's
circuit is open the fallback answers with ``fallback_reason="circuit_open"``,
and :meth:`RouteTable.health` gives each primary's breaker state.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from anyio import to_thread
from sqlalchemy import func, select

from postpilot.contracts.model import ColumnSpec, Contract, Range
from postpilot.contracts.validator import FieldError, RecordValidator
from postpilot.errors import BackendError, InputError, StoreError
from postpilot.gateway.adapters import CompiledAdapter, compile_adapter, loads_adapter
from postpilot.gateway.backends import Backend, backend_class, load_backend
from postpilot.gateway.problems import ProblemException
from postpilot.gateway.resilience import CircuitOpenError, ResilientBackend, resilience_settings
from postpilot.gateway.resilience import wrap as resilient
from postpilot.registry import Registry
from postpilot.registry.routes import Route
from postpilot.store.models import AdapterRow, ProductRow, RouteRow

__all__ = [
    "GATEWAY_OPTIONS",
    "REFRESH_SECONDS",
    "Answer",
    "LiveRoute",
    "RouteTable",
    "backend_options",
    "model_features",
    "serving_contract",
]

log = logging.getLogger("postpilot.gateway")

REFRESH_SECONDS: Final = 2.0
DEFAULT_MAX_BATCH: Final = 1000
GATEWAY_OPTIONS: Final = ("features", "exclude", "unexpected", "max_batch", "resilience")


def backend_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The route options meant for the backend (all but :data:`GATEWAY_OPTIONS`)."""
    return {k: v for k, v in options.items() if k not in GATEWAY_OPTIONS}


def check_gateway_options(options: Mapping[str, Any]) -> None:
    """InputError naming the option when a gateway option has the wrong shape."""
    for name in ("features", "exclude"):
        value = options.get(name)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            raise InputError(f"route option {name!r} must be a list of field names", field=name)
    unexpected = options.get("unexpected", "error")
    if unexpected not in ("error", "ignore"):
        raise InputError(
            f"route option 'unexpected' must be 'error' or 'ignore', got {unexpected!r}",
            field="unexpected",
        )
    max_batch = options.get("max_batch", DEFAULT_MAX_BATCH)
    if (
        isinstance(max_batch, bool)
        or not isinstance(max_batch, int)
        or not 1 <= max_batch <= 100_000
    ):
        raise InputError(
            f"route option 'max_batch' must be a whole number from 1 to 100000, got {max_batch!r}",
            field="max_batch",
        )
    resilience_settings(options.get("resilience"))


def model_features(backend: Backend) -> list[str] | None:
    """The input fields the loaded model says it takes (scikit-learn's ``feature_names_in_``,
    an MLflow signature), when it says."""
    features = backend.describe().get("features")
    if isinstance(features, list) and all(isinstance(f, str) for f in features):
        return features
    return None


def serving_contract(
    contract: Contract, options: Mapping[str, Any], features: Sequence[str] | None
) -> Contract:
    """The contract a request's records must meet: the inputs' columns, plus identifiers."""
    wanted = options.get("features") or features
    exclude = set(options.get("exclude") or ())
    columns = {}
    for name, spec in contract.columns.items():
        if name in exclude:
            continue
        if wanted is not None and name not in wanted and not spec.identifier:
            continue
        columns[name] = spec
    missing = [f for f in (wanted or ()) if f not in contract.columns]
    if missing:
        raise InputError(
            f"the model takes {', '.join(map(repr, missing))}, which the contract "
            f"{contract.name!r} does not describe",
            field="features",
            hint="Register the model with training data that has those columns, or set the "
            "route option 'features'",
        )
    if not columns:
        raise InputError(
            f"no column of contract {contract.name!r} is left as an input",
            field="exclude",
        )
    columns = {name: _plausible(spec) for name, spec in columns.items()}
    return contract.model_copy(update={"columns": columns})


def _plausible(spec: ColumnSpec) -> ColumnSpec:
    """The range one record is refused for: an inferred range widened by its own width.

    A range inferred from training data says where the values were, not where they
    must be: one record a little beyond it is new data (the batch check and drift
    report it, as a warning), not an error to refuse a consumer for; tried on random
    halves of a real table, the training range refused records of the other half.
    A value farther out than the range is wide (x100 after a switch to cents, 1e6
    for 0.1, a negative amount) is refused. A column whose values were never
    negative stays so. A hand-written range (no ``reference``) is kept as written.
    """
    bounds, seen = spec.range, spec.reference
    if bounds is None or seen is None or bounds.min is None or bounds.max is None:
        return spec
    width = bounds.max - bounds.min
    low = bounds.min - width
    if seen.min is not None and seen.min >= 0:
        low = max(low, 0.0)
    return spec.model_copy(update={"range": Range(min=low, max=bounds.max + width)})


@dataclass(frozen=True)
class Answer:
    """The outputs for a request's records and who gave them."""

    outputs: list[dict[str, Any]]
    served_by: str
    """``primary`` or ``fallback``."""
    model: str | None
    version: int | None
    fallback_reason: str | None = None
    """``switched`` (the route's fallback is on), ``circuit_open`` (the primary's circuit
    breaker is open: it was not called) or ``primary_error``."""


class _Fallback:
    """Answers instead of the primary: another version, a constant, a rule, or 503."""

    def __init__(self, route: Route, backend: Backend | None) -> None:
        self.route = route
        self.kind = route.fallback.kind
        self.value = route.fallback.value
        self.backend = backend
        self._rule: Callable[[list[dict[str, Any]]], Any] | None = None
        if self.kind == "rule":
            self._rule = _import_rule(str(self.value))

    async def answer(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.kind == "version" and self.backend is not None:
            return await self.backend.predict(records)
        if self.kind == "constant":
            return [dict(self.value) for _ in records]
        if self.kind == "rule" and self._rule is not None:
            rule = self._rule
            result = await to_thread.run_sync(lambda: rule(records))
            return _rule_outputs(result, len(records), str(self.value))
        retry = str(self.value or 60)
        raise ProblemException(
            503,
            "unavailable",
            "The model is not available",
            f"product {self.route.product!r} is switched to its fallback, which answers "
            "503: try again later",
            headers={"Retry-After": retry},
        )


def _import_rule(spec: str) -> Callable[[list[dict[str, Any]]], Any]:
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"the fallback rule's module {module_name!r} cannot be imported: {exc}",
            field="fallback_rule",
            hint="The module must be importable where the gateway runs (on PYTHONPATH)",
        ) from exc
    rule = getattr(module, name, None)
    if not callable(rule):
        raise InputError(
            f"{module_name!r} has no function {name!r}",
            field="fallback_rule",
        )
    return rule  # type: ignore[no-any-return]


def _rule_outputs(result: Any, expected: int, spec: str) -> list[dict[str, Any]]:
    if not isinstance(result, list) or len(result) != expected:
        got = f"{len(result)} items" if isinstance(result, list) else type(result).__name__
        raise BackendError(f"fallback rule {spec} returned {got}; expected a list of {expected}")
    return [r if isinstance(r, dict) and "prediction" in r else {"prediction": r} for r in result]


@dataclass
class LiveRoute:
    """One product's route, loaded and ready to answer."""

    product: str
    product_id: int
    route: Route
    primary: Backend
    fallback: _Fallback | None
    validator: RecordValidator | None
    contract: str | None
    adapters: dict[str | None, CompiledAdapter] = field(default_factory=dict)
    max_batch: int = DEFAULT_MAX_BATCH
    required: tuple[str, ...] = ()
    """Inputs every record must carry (null allowed where the contract allows it)."""

    def adapter_for(self, consumer: str) -> CompiledAdapter | None:
        return self.adapters.get(consumer) or self.adapters.get(None)

    def validate(self, record: Mapping[str, Any]) -> list[FieldError]:
        """Every way ``record`` breaks the serving contract.

        Unlike a batch, where a nullable column may be left out, a request must carry
        every input the model takes (``null`` where the contract allows it): a field
        that is absent is how a renamed field shows, and the model cannot use it.
        """
        missing = [
            FieldError(
                field=name,
                expected="the field (null is allowed when it is unknown)",
                got="<missing>",
                message=f"{name}: missing (the model takes it; send null if it is unknown)",
                kind="missing",
            )
            for name in self.required
            if name not in record
        ]
        if self.validator is None:
            return missing
        found = self.validator.validate(record)
        if missing:
            absent = {e.field for e in missing}
            found = missing + [e for e in found if e.field not in absent]
        return found

    async def answer(self, records: list[dict[str, Any]]) -> Answer:
        route = self.route
        if route.fallback_active and self.fallback is not None:
            outputs = await self.fallback.answer(records)
            return Answer(outputs, "fallback", *self._fallback_version(), "switched")
        try:
            outputs = await self.primary.predict(records)
        except BackendError as exc:
            if self.fallback is None:
                raise
            reason = "circuit_open" if isinstance(exc, CircuitOpenError) else "primary_error"
            if reason == "primary_error":
                log.warning("model of %s failed, its fallback answers: %s", self.product, exc)
            else:  # the breaker logged when it opened; one line per request is noise
                log.debug("model of %s not called, its fallback answers: %s", self.product, exc)
            outputs = await self.fallback.answer(records)
            return Answer(outputs, "fallback", *self._fallback_version(), reason)
        return Answer(outputs, "primary", route.model, route.version)

    def _fallback_version(self) -> tuple[str | None, int | None]:
        if self.route.fallback.kind == "version":
            return self.route.model, int(self.route.fallback.value)
        return None, None


def _options_key(flavor: str, uri: str, options: Mapping[str, Any]) -> str:
    return json.dumps(
        [flavor, uri, backend_options(options), options.get("resilience")],
        sort_keys=True,
        default=str,
    )


class RouteTable:
    """Every product's :class:`LiveRoute`, kept in step with the store."""

    def __init__(self, registry: Registry, *, refresh: float = REFRESH_SECONDS) -> None:
        self.registry = registry
        self._refresh = refresh
        self._routes: dict[str, LiveRoute] = {}
        self._errors: dict[str, str] = {}
        self._backends: dict[str, ResilientBackend] = {}
        self._stamp: object = None
        self._checked = -1e18
        self._lock = asyncio.Lock()

    @property
    def errors(self) -> dict[str, str]:
        """Products whose route could not be loaded, with why (shown by ``/readyz``)."""
        return dict(self._errors)

    @property
    def products(self) -> list[str]:
        return sorted(self._routes)

    def health(self) -> dict[str, str]:
        """The circuit breaker state of each product's primary: ``closed``, ``open`` or
        ``half_open`` (for ``/readyz`` and ``/metrics``)."""
        return {
            product: live.primary.state if isinstance(live.primary, ResilientBackend) else "closed"
            for product, live in sorted(self._routes.items())
        }

    async def get(self, product: str) -> LiveRoute | None:
        await self.refresh()
        return self._routes.get(product)

    def _read_stamp(self) -> object:
        with self.registry.store.reading() as session:
            routes = session.execute(
                select(RouteRow.product_id, RouteRow.updated_at).order_by(RouteRow.product_id)
            ).all()
            adapters = session.scalar(select(func.max(AdapterRow.id)))
        return (tuple(tuple(r) for r in routes), adapters)

    async def refresh(self, *, force: bool = False) -> None:
        """Reload from the store when it changed (checked at most every few seconds)."""
        now = time.monotonic()
        if not force and now - self._checked < self._refresh:
            return
        async with self._lock:
            if not force and time.monotonic() - self._checked < self._refresh:
                return
            try:
                stamp = await to_thread.run_sync(self._read_stamp)
            except StoreError:
                self._checked = time.monotonic()
                if self._stamp is None:
                    raise  # nothing loaded yet: nothing to serve from
                log.warning("the store is unreachable; serving the routes loaded before")
                return
            self._checked = time.monotonic()
            if stamp == self._stamp and not force:
                return
            await self._reload()
            self._stamp = stamp

    async def _reload(self) -> None:
        routes, adapters, product_ids = await to_thread.run_sync(self._read_config)
        live: dict[str, LiveRoute] = {}
        errors: dict[str, str] = {}
        used: set[str] = set()
        for route in routes:
            try:
                live[route.product] = await self._build(
                    route, product_ids[route.product], adapters.get(route.product, {}), used
                )
            except (InputError, BackendError) as exc:
                errors[route.product] = str(exc)
        stale = [k for k in self._backends if k not in used]
        for key in stale:
            await self._backends.pop(key).aclose()
        self._routes, self._errors = live, errors

    def _read_config(
        self,
    ) -> tuple[list[Route], dict[str, dict[str | None, str]], dict[str, int]]:
        routes = self.registry.routes()
        adapters: dict[str, dict[str | None, str]] = {}
        for stored in self.registry.latest_adapters():
            adapters.setdefault(stored.product, {})[stored.consumer] = stored.body
        with self.registry.store.reading() as session:
            ids = {
                slug: pid for slug, pid in session.execute(select(ProductRow.slug, ProductRow.id))
            }
        return routes, adapters, ids

    async def _backend(
        self, flavor: str, uri: str, options: Mapping[str, Any], used: set[str]
    ) -> Backend:
        key = _options_key(flavor, uri, options)
        used.add(key)
        if key not in self._backends:
            extra = backend_options(options)
            settings = resilience_settings(options.get("resilience"), key=backend_class(flavor).key)
            loaded = await to_thread.run_sync(lambda: load_backend(flavor, uri, options=extra))
            self._backends[key] = resilient(loaded, settings)
        return self._backends[key]

    async def _build(
        self, route: Route, product_id: int, adapters: Mapping[str | None, str], used: set[str]
    ) -> LiveRoute:
        check_gateway_options(route.options)
        primary = await self._backend(route.flavor, route.artifact_uri, route.options, used)
        fallback_backend = None
        if (
            route.fallback.kind == "version"
            and route.fallback_flavor
            and route.fallback_artifact_uri
        ):
            fallback_backend = await self._backend(
                route.fallback_flavor, route.fallback_artifact_uri, route.options, used
            )
        fallback = None if route.fallback.kind == "none" else _Fallback(route, fallback_backend)
        validator = None
        required: tuple[str, ...] = ()
        if route.contract is not None:
            name, _, version = route.contract.rpartition("@")
            stored = await to_thread.run_sync(lambda: self.registry.contract(name, int(version)))
            contract = serving_contract(stored.contract, route.options, model_features(primary))
            validator = RecordValidator(
                contract, unexpected=route.options.get("unexpected", "error")
            )
            required = tuple(n for n, spec in contract.columns.items() if not spec.identifier)
        compiled = {
            consumer: compile_adapter(loads_adapter(body, f"adapter of {route.product}"))
            for consumer, body in adapters.items()
        }
        return LiveRoute(
            product=route.product,
            product_id=product_id,
            route=route,
            primary=primary,
            fallback=fallback,
            validator=validator,
            contract=route.contract,
            adapters=compiled,
            max_batch=int(route.options.get("max_batch", DEFAULT_MAX_BATCH)),
            required=required,
        )

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
        self._routes.clear()
