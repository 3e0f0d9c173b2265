"""The gateway's ASGI app: ``create_app(Gateway(registry))``, served by ``postpilot serve``.

Routes (every one declares its access; see :mod:`postpilot.gateway.auth`):

=====================================================  ===========  ===========================
route                                                  access       what
=====================================================  ===========  ===========================
``POST /v1/products/{product}/predict``                predict      one record or a batch
``GET  /v1/products/{product}/route``                  view         the route and its fallback
``PUT  /v1/products/{product}/fallback``               admin        switch to the fallback, back
``GET  /v1/predictions/{prediction_id}``               view         a logged prediction
``POST /v1/predictions/{prediction_id}/label``         feedback     the actual outcome
``POST /v1/predictions/{prediction_id}/override``      feedback     a person decided otherwise
``GET  /metrics``                                      view (all)   Prometheus metrics
``GET  /healthz``, ``GET /readyz``, ``/openapi.json``  public       liveness, readiness, spec
=====================================================  ===========  ===========================

A predict request goes: key and scope (401/403), rate limit (429), the
product's route (404), body shape (422), the consumer's or product's adapter,
the contract (422, records kept in quarantine, the model never called), the
model or its fallback (502/503 when neither can answer), the prediction log,
the answer. Every error is RFC 9457 problem+json (:mod:`postpilot.gateway.problems`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from postpilot.errors import BackendError, InputError, NotFoundError, StoreError
from postpilot.gateway.adapters import RecordAdaptError
from postpilot.gateway.auth import CACHE_SECONDS, KeyCache, Principal, enforce, public, requires
from postpilot.gateway.journal import Journal, LogUnavailable, durable_engine
from postpilot.gateway.log import (
    LoggedPrediction,
    new_prediction_id,
    new_request_id,
    prediction_rows,
    quarantine_rows,
)
from postpilot.gateway.metrics import CONTENT_TYPE, GatewayMetrics
from postpilot.gateway.problems import ProblemException, problem
from postpilot.gateway.ratelimit import Limit, RateLimiter, RateLimiterUnavailable, rate_limiter
from postpilot.gateway.schema import (
    RATE_HEADERS,
    FallbackRequest,
    FallbackResponse,
    LabelRequest,
    LabelResponse,
    NotReady,
    OverrideRequest,
    OverrideResponse,
    PredictionResponse,
    PredictRequest,
    PredictResponse,
    Ready,
    RouteResponse,
    header_spec,
    openapi_document,
    problems_for,
)
from postpilot.gateway.serving import REFRESH_SECONDS, RouteTable
from postpilot.gateway.spool import Spool
from postpilot.registry import Registry
from postpilot.settings import Settings

__all__ = ["Gateway", "app_from_env", "create_app"]

log = logging.getLogger("postpilot.gateway")

_REQUEST_ID_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
)


class Gateway:
    """Everything one gateway process shares: the store, keys, routes, limiter, log, metrics.

    The same object a library user builds; ``postpilot serve`` builds it from settings.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        settings: Settings | None = None,
        limiter: RateLimiter | None = None,
        workers: int = 1,
        refresh_seconds: float | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings or Settings.from_env()
        store = registry.store
        self.keys = KeyCache(store.reading, ttl=refresh_seconds or CACHE_SECONDS)
        self.routes = RouteTable(registry, refresh=refresh_seconds or REFRESH_SECONDS)
        url = store.url
        spool = Spool(self.settings.spool_dir or self.settings.home / "spool")
        self.journal = Journal(lambda: durable_engine(url), spool, observe=self._observe_log)
        self.metrics = GatewayMetrics()
        self.limiter = limiter or rate_limiter(
            self.settings.rate_limit_url, engine=store.engine, workers=workers
        )
        self.default_limit = Limit.parse(self.settings.gateway_rate)

    def _observe_log(self, where: str, rows: int) -> None:
        if where == "unrecorded":
            self.metrics.log_unrecorded.inc(rows)
        else:
            self.metrics.log_rows.labels(where).inc(rows)

    def limit_for(self, principal: Principal) -> Limit:
        if principal.rate is None:
            return self.default_limit
        burst = principal.burst or max(1, round(principal.rate))
        return Limit(rate=principal.rate, burst=burst)

    async def aclose(self) -> None:
        """Commit (or spool) the queued log rows, then let go of backends and the limiter."""
        await to_thread.run_sync(self.journal.close)
        await self.routes.aclose()
        await self.limiter.aclose()


_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The JSON path of the first text holding a lone UTF-16 surrogate, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = _lone_surrogate(key, path) or _lone_surrogate(item, f"{path}.{key}".lstrip("."))
            if where:
                return where
    if isinstance(value, list):
        for index, item in enumerate(value):
            where = _lone_surrogate(item, f"{path}.{index}".lstrip("."))
            if where:
                return where
    return None


async def refuse_invalid_text(request: Request) -> None:
    """422 for a JSON body whose text is not valid Unicode (a lone surrogate such as
    ``"\\udcff"``, which JSON can spell but no store or response can hold).

    Cheap on the hot path: the body is parsed again only when it holds such an escape.
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    raw = await request.body()
    if not _SURROGATE_ESCAPE.search(raw):
        return
    try:
        parsed = json.loads(raw)
    except ValueError:
        return  # not JSON: the body's own validation answers
    where = _lone_surrogate(parsed, "")
    if where is not None:
        raise ProblemException(
            422,
            "invalid-request",
            "The request is not valid",
            "the body holds text that is not valid Unicode (a lone UTF-16 surrogate)",
            errors=[{"field": where, "kind": "type", "message": f"{where}: not valid Unicode"}],
        )


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and len(given) <= 64 and set(given) <= _REQUEST_ID_CHARS:
        return given
    return new_request_id()


class _KeyFirstRoute(APIRoute):
    """A route that checks the key before FastAPI reads the body.

    FastAPI parses a JSON body before it runs any dependency, so a request with no
    key (or a wrong one) and a body that is not JSON was answered 422 or 400, not
    401: the fuzzing found it. :func:`enforce` runs here first; its principal waits
    in ``request.state`` for the :func:`_checked_caller` dependency.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def key_first(request: Request) -> Response:
            request.state.caller = await enforce(request)
            return await handle(request)

        return key_first


async def _checked_caller(request: Request) -> Principal | None:
    """The principal :class:`_KeyFirstRoute` found; a route of another class runs enforce."""
    if hasattr(request.state, "caller"):
        caller: Principal | None = request.state.caller
        return caller
    return await enforce(request)


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


Caller = Annotated[Principal | None, Depends(_checked_caller)]


def _caller(principal: Principal | None) -> Principal:
    assert principal is not None  # enforce() gives a principal to every non-public route
    return principal


async def _rate_limit(gateway: Gateway, principal: Principal) -> dict[str, str]:
    try:
        decision = await gateway.limiter.hit(
            f"key:{principal.key_id}", gateway.limit_for(principal)
        )
    except RateLimiterUnavailable as exc:
        # fail open, as Envoy's global rate limit does by default: the limiter's store
        # being down must not take every product down with it; counted and logged
        gateway.metrics.limiter_unavailable.inc()
        log.error("rate limiter unavailable, request let through: %s", exc)
        return {}
    headers = decision.headers()
    if not decision.allowed:
        gateway.metrics.rate_limited.labels(principal.consumer).inc()
        raise ProblemException(
            429,
            "rate-limited",
            "Too many requests",
            f"key {principal.key_id} is limited to {decision.limit.rate:g} requests per second "
            f"(bursts of {decision.limit.burst}); retry after {headers.get('Retry-After')} s",
            headers=headers,
        )
    return headers


def _adapt_and_validate(
    live: Any, consumer: str, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[tuple[Any, list[dict[str, str]]]], list[dict[str, Any]]]:
    adapter = live.adapter_for(consumer)
    adapted: list[dict[str, Any]] = []
    refused: list[tuple[Any, list[dict[str, str]]]] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        found: list[dict[str, str]] = []
        try:
            shaped = adapter(record) if adapter is not None else dict(record)
        except RecordAdaptError as exc:
            found.append(
                {"field": exc.field or "", "kind": f"adapter.{exc.kind}", "message": exc.message}
            )
            shaped = record
        else:
            for error in live.validate(shaped):
                found.append(error.to_dict())
        if found:
            refused.append((record, found))
            errors.extend({"record": index, **e} for e in found)
        adapted.append(shaped)
    return adapted, refused, errors


def create_app(gateway: Gateway) -> FastAPI:
    """The gateway's ASGI app around ``gateway``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway.journal.start()  # replays what an earlier process spooled
        try:
            await gateway.routes.refresh(force=True)
        except Exception:  # the store may be down at start; /readyz says so
            log.exception("could not load the routes at start-up")
        yield
        await gateway.aclose()

    app = FastAPI(
        title="postpilot gateway",
        version="1",
        description="One shared layer that serves every model: keys, scopes, rate limits, "
        "adapters, contract validation, fallback and a prediction log.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        # deny by default: every route, including one added later, runs enforce() first
        dependencies=[Depends(_checked_caller), Depends(refuse_invalid_text)],
    )
    app.router.route_class = _KeyFirstRoute
    app.state.gateway = gateway
    _install_error_handlers(app)

    @app.get("/openapi.json", include_in_schema=False)
    @public
    async def openapi() -> JSONResponse:
        return JSONResponse(openapi_document(app))

    @app.get("/healthz", tags=["operations"])
    @public
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        responses={
            200: {"model": Ready, "description": "Ready"},
            503: {"model": NotReady, "description": "Not ready: the store does not answer"},
        },
    )
    @public
    async def readyz() -> Response:
        """The store answers and the routes are loaded."""

        def ping() -> None:
            with gateway.registry.store.reading() as session:
                session.execute(text("SELECT 1"))

        try:
            await to_thread.run_sync(ping)
            await gateway.routes.refresh()
        except Exception:  # any failure means not ready
            log.exception("readiness check failed")
            return JSONResponse({"status": "not_ready", "store": "unreachable"}, status_code=503)
        body = {
            "status": "ready",
            "routes": len(gateway.routes.products),
            "failed_routes": len(gateway.routes.errors),
            "open_circuits": sum(1 for s in gateway.routes.health().values() if s != "closed"),
            "spool_segments": gateway.journal.spool.pending(),
        }
        return JSONResponse(body)

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition",
                "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            },
            **problems_for(),
        },
    )
    @requires("view")
    async def metrics(caller: Caller) -> Response:
        """Prometheus metrics (a key with scope ``view`` on every product, ``*``)."""
        principal = _caller(caller)
        principal.require("view", "*")
        if "*" not in principal.products:
            raise ProblemException(
                403,
                "forbidden",
                "Metrics need a key for every product",
                f"key {principal.key_id} is limited to some products; /metrics covers all: "
                "create a key with --product '*' --scope view for the scraper",
            )
        gateway.metrics.log_queue.set(gateway.journal.depth)
        gateway.metrics.circuits(gateway.routes.health())
        gateway.metrics.spool_segments.set(gateway.journal.spool.pending())
        return Response(gateway.metrics.render(), media_type=CONTENT_TYPE)

    @app.post(
        "/v1/products/{product}/predict",
        tags=["predictions"],
        response_model=PredictResponse,
        responses={
            200: {
                "description": "One prediction per record",
                "headers": {"X-Request-ID": header_spec("The request's id."), **RATE_HEADERS},
            },
            **problems_for(400, 404, 413, 422, 429, 502),
        },
    )
    @requires("predict")
    async def predict(
        product: str, body: Annotated[PredictRequest, Body()], request: Request, caller: Caller
    ) -> JSONResponse:
        """Predict for one record (``record``) or a batch (``records``)."""
        principal = _caller(caller)
        principal.require("predict", product)
        started = time.perf_counter()
        status = 500
        labels = ("-", principal.consumer)
        try:
            response = await _predict(gateway, product, body, request, principal)
            status = response.status_code
            labels = (product, principal.consumer)
            return response
        except ProblemException as exc:
            status = exc.status
            if exc.status not in (403, 404):
                labels = (product, principal.consumer)
            raise
        finally:
            gateway.metrics.requests.labels(*labels, str(status)).inc()
            if labels[0] != "-":
                gateway.metrics.latency.labels(product).observe(time.perf_counter() - started)

    @app.get(
        "/v1/products/{product}/route",
        tags=["routes"],
        response_model=RouteResponse,
        responses=problems_for(404, 422),
    )
    @requires("view")
    async def route(product: str, caller: Caller) -> dict[str, Any]:
        """The product's route: model version, fallback and whether it is switched on."""
        _caller(caller).require("view", product)
        found = await to_thread.run_sync(lambda: _find_route(gateway, product))
        return {
            "product": found.product,
            "model": found.model,
            "version": found.version,
            "contract": found.contract,
            "fallback": {"kind": found.fallback.kind, "value": found.fallback.value},
            "fallback_active": found.fallback_active,
            "fallback_reason": found.fallback_reason,
        }

    @app.put(
        "/v1/products/{product}/fallback",
        tags=["routes"],
        response_model=FallbackResponse,
        responses=problems_for(400, 404, 422),
    )
    @requires("admin")
    async def fallback(product: str, body: FallbackRequest, caller: Caller) -> dict[str, Any]:
        """Switch every request of the product to its fallback, or back."""
        principal = _caller(caller)
        principal.require("admin", product)
        reason = body.reason or f"switched by consumer {principal.consumer}"
        found = await to_thread.run_sync(
            lambda: _as_problem(
                lambda: gateway.registry.set_fallback(product, body.active, reason=reason)
            )
        )
        await gateway.routes.refresh(force=True)
        return {"product": product, "fallback_active": found.fallback_active}

    @app.get(
        "/v1/predictions/{prediction_id}",
        tags=["feedback"],
        response_model=PredictionResponse,
        responses=problems_for(404, 422),
    )
    @requires("view")
    async def prediction(prediction_id: str, caller: Caller) -> dict[str, Any]:
        """A logged prediction: inputs after the adapter, output, who answered."""
        principal = _caller(caller)
        found = await _prediction_for(gateway, principal, prediction_id, "view")
        return {
            "id": found.id,
            "request_id": found.request_id,
            "product": found.product,
            "model": found.model,
            "version": found.version,
            "consumer": found.consumer,
            "inputs": found.inputs,
            "output": found.output,
            "served_by": found.served_by,
            "fallback_reason": found.fallback_reason,
            "latency_ms": found.latency_ms,
            "created_at": found.created_at.isoformat(),
        }

    @app.post(
        "/v1/predictions/{prediction_id}/label",
        tags=["feedback"],
        response_model=LabelResponse,
        responses=problems_for(400, 404, 422),
    )
    @requires("feedback")
    async def label(prediction_id: str, body: LabelRequest, caller: Caller) -> dict[str, Any]:
        """The actual outcome of a prediction (joined by id, like ``labels ingest``)."""
        principal = _caller(caller)
        await _prediction_for(gateway, principal, prediction_id, "feedback")
        result = await to_thread.run_sync(
            lambda: _as_problem(
                lambda: gateway.registry.label_prediction(prediction_id, body.label)
            )
        )
        status = "new" if result.new else "updated" if result.updated else "unchanged"
        return {"prediction_id": prediction_id, "label": body.label, "status": status}

    @app.post(
        "/v1/predictions/{prediction_id}/override",
        tags=["feedback"],
        status_code=201,
        response_model=OverrideResponse,
        responses=problems_for(400, 404, 422),
    )
    @requires("feedback")
    async def override(prediction_id: str, body: OverrideRequest, caller: Caller) -> dict[str, Any]:
        """A person took another decision than the prediction suggested, and why."""
        principal = _caller(caller)
        await _prediction_for(gateway, principal, prediction_id, "feedback")
        made = await to_thread.run_sync(
            lambda: _as_problem(
                lambda: gateway.registry.override_prediction(
                    prediction_id,
                    by=body.by,
                    decision=body.decision,
                    reason_code=body.reason_code,
                    note=body.note,
                    consumer=principal.consumer,
                )
            )
        )
        return {"id": made.id, "prediction_id": prediction_id, "reason_code": made.reason_code}

    return app


def _as_problem(call: Any) -> Any:
    """Run a registry call; its InputError or NotFoundError becomes a 4xx problem."""
    try:
        return call()
    except NotFoundError as exc:
        raise ProblemException(404, "not-found", "Not found", exc.message) from exc
    except InputError as exc:
        errors = [{"field": exc.field or "", "message": exc.message}]
        raise ProblemException(
            422, "invalid-request", "The request is not valid", exc.message, errors=errors
        ) from exc


def _find_route(gateway: Gateway, product: str) -> Any:
    found = _as_problem(lambda: gateway.registry.route(product))
    if found is None:
        raise ProblemException(
            404, "no-route", "No gateway route", f"product {product!r} has no gateway route"
        )
    return found


async def _prediction_for(
    gateway: Gateway, principal: Principal, prediction_id: str, scope: str
) -> Any:
    found = await to_thread.run_sync(
        lambda: _as_problem(lambda: gateway.registry.prediction(prediction_id))
    )
    if not principal.may(scope, found.product):
        # the same answer as for an unknown id: a key learns nothing of other products
        raise ProblemException(404, "not-found", "Not found", f"no prediction {prediction_id!r}")
    return found


async def _predict(
    gateway: Gateway, product: str, body: PredictRequest, request: Request, principal: Principal
) -> JSONResponse:
    limit_headers = await _rate_limit(gateway, principal)
    live = await gateway.routes.get(product)
    if live is None:
        reason = gateway.routes.errors.get(product)
        if reason is not None:
            log.error("route of %s cannot be loaded: %s", product, reason)
            raise ProblemException(
                503,
                "route-unavailable",
                "The product's route cannot be loaded",
                f"product {product!r} has a route, but its model cannot be loaded; "
                "the operators have been told in the gateway's log",
                headers={"Retry-After": "30"},
            )
        raise ProblemException(
            404, "no-route", "No gateway route", f"product {product!r} has no gateway route"
        )
    records: list[dict[str, Any]] = (
        [body.record] if body.record is not None else list(body.records or [])
    )
    if len(records) > live.max_batch:
        raise ProblemException(
            413,
            "batch-too-large",
            "Too many records",
            f"{len(records):,} records in one request; this route takes at most {live.max_batch:,}",
            errors=[{"field": "records", "message": f"at most {live.max_batch} records"}],
        )
    request_id = _request_id(request)
    now = datetime.now(UTC)
    adapted, refused, errors = _adapt_and_validate(live, principal.consumer, records)
    if refused:
        gateway.metrics.validation_failures.labels(product, principal.consumer).inc(len(refused))
        await _record(
            gateway,
            "quarantine",
            quarantine_rows(
                request_id=request_id,
                product_id=live.product_id,
                consumer=principal.consumer,
                at=now,
                refused=refused,
            ),
        )
        raise ProblemException(
            422,
            "invalid-record",
            "A record breaks the product's contract",
            f"{len(refused)} of {len(records)} records broke contract {live.contract}; "
            "nothing was sent to the model",
            errors=errors,
            headers={"X-Request-ID": request_id, **limit_headers},
            extra={"request_id": request_id},
        )
    started = time.perf_counter()
    try:
        answer = await live.answer(adapted)
    except BackendError as exc:
        log.error("model of %s failed: %s", product, exc)
        raise ProblemException(
            503 if exc.retryable else 502,
            "model-error",
            "The model could not answer",
            f"the model of {product!r} could not answer and no fallback could either: "
            f"{exc.message}",
            headers={"Retry-After": "5", "X-Request-ID": request_id}
            if exc.retryable
            else {"X-Request-ID": request_id},
        ) from exc
    latency_ms = (time.perf_counter() - started) * 1000
    if answer.served_by == "fallback":
        gateway.metrics.fallbacks.labels(product, answer.fallback_reason or "switched").inc()
    gateway.metrics.predictions.labels(product, principal.consumer, answer.served_by).inc(
        len(adapted)
    )
    logged = [
        LoggedPrediction(id=new_prediction_id(), inputs=inputs, output=output)
        for inputs, output in zip(adapted, answer.outputs, strict=True)
    ]
    await _record(
        gateway,
        "predictions",
        prediction_rows(
            request_id=request_id,
            product_id=live.product_id,
            model=answer.model,
            version=answer.version,
            consumer=principal.consumer,
            key_id=principal.key_id,
            served_by=answer.served_by,
            fallback_reason=answer.fallback_reason,
            latency_ms=latency_ms,
            at=now,
            predictions=logged,
        ),
    )
    payload: dict[str, Any] = {
        "request_id": request_id,
        "product": product,
        "model": answer.model,
        "version": answer.version,
        "served_by": answer.served_by,
        # the prediction id wins over an "id" a model or a constant fallback may answer
        "predictions": [
            {"id": p.id, **{k: v for k, v in p.output.items() if k != "id"}} for p in logged
        ],
    }
    if answer.fallback_reason:
        payload["fallback_reason"] = answer.fallback_reason
    return JSONResponse(payload, headers={"X-Request-ID": request_id, **limit_headers})


async def _record(gateway: Gateway, table: str, rows: list[dict[str, Any]]) -> None:
    """Make the rows durable (the store, else the spool) before anything is answered."""
    try:
        await gateway.journal.write(table, rows)
    except LogUnavailable as exc:
        log.error("a %s row could not be recorded: %s", table, exc)
        raise ProblemException(
            503,
            "log-unavailable",
            "The prediction could not be recorded",
            "the gateway answers only what it has recorded, and neither its store nor its "
            "spool can take the record now; nothing was served. Try again shortly",
            headers={"Retry-After": "5"},
        ) from exc


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemException)
    async def on_problem(_request: Request, exc: ProblemException) -> Response:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ())]
            if location and location[0] == "body":
                location = location[1:]
            errors.append(
                {
                    "field": ".".join(location) or "body",
                    "kind": str(error.get("type", "invalid")),
                    "message": str(error.get("msg", "invalid")),
                }
            )
        return problem(
            422,
            "invalid-request",
            "The request is not valid",
            f"{len(errors)} problem(s) with the request; see errors",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {404: "not-found", 405: "method-not-allowed"}
        return problem(
            exc.status_code,
            kinds.get(exc.status_code, "http-error"),
            str(exc.detail),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(StoreError)
    async def on_store(_request: Request, exc: StoreError) -> Response:
        log.error("the metadata store failed: %s", exc)
        return problem(
            503,
            "store-unavailable",
            "The store is unavailable",
            "the gateway cannot reach its store, so it cannot check keys or record the "
            "prediction; nothing was served. Try again shortly",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def on_crash(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return problem(
            500,
            "internal",
            "Internal error",
            "the gateway failed unexpectedly; the error is in its log",
        )


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` workers: settings from the environment."""
    settings = Settings.from_env()
    workers = int(os.environ.get("POSTPILOT_GATEWAY_WORKERS", "1") or 1)
    registry = Registry(settings=settings, actor="postpilot-gateway")
    return create_app(Gateway(registry, settings=settings, workers=workers))
