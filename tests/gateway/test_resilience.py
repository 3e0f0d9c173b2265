"""Remote backend resilience: the retry budget, backoff and circuit breaker on a fake clock,
the wrapper around a scripted backend, and the gateway end to end against a real HTTP
model server that is switched between healthy, slow, failing and down."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from postpilot import Registry
from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends.base import Backend, Output, Record
from postpilot.gateway.resilience import (
    CLOSED,
    HALF_OPEN,
    LOCAL,
    OPEN,
    REMOTE,
    Backoff,
    CircuitBreaker,
    CircuitOpenError,
    ResilienceSettings,
    ResilientBackend,
    RetryBudget,
    resilience_settings,
    wrap,
)
from postpilot.gateway.service import set_route
from postpilot.gateway.serving import check_gateway_options
from postpilot.registry.routes import Fallback
from tests.gateway.world import World, records, training_table


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- retry budget ------------------------------------------------------------------------


def test_the_budget_refuses_retries_beyond_a_fifth_of_the_requests() -> None:
    budget = RetryBudget(clock=Clock())
    for _ in range(100):
        budget.request()
    assert [budget.try_retry() for _ in range(21)] == [True] * 20 + [False]
    budget.request()  # 101 requests: still 20.2 retries at most
    assert not budget.try_retry()
    for _ in range(4):
        budget.request()
    assert budget.try_retry()  # 105 requests: 21


def test_a_trickle_of_traffic_can_still_retry_a_few_times() -> None:
    budget = RetryBudget(clock=Clock())
    budget.request()
    assert [budget.try_retry() for _ in range(4)] == [True, True, True, False]


def test_the_budget_forgets_what_is_older_than_its_window() -> None:
    clock = Clock()
    budget = RetryBudget(clock=clock)
    for _ in range(10):
        budget.request()
    assert [budget.try_retry() for _ in range(4)] == [True, True, True, False]
    clock.now += 5
    assert not budget.try_retry()  # the retries are still in the window
    clock.now += 5
    assert budget.try_retry()


# -- backoff -----------------------------------------------------------------------------


def test_backoff_is_full_jitter_growing_to_its_cap() -> None:
    backoff = Backoff(rng=random.Random(7))
    for attempt, ceiling in [(0, 0.025), (1, 0.05), (2, 0.1), (3, 0.2), (4, 0.25), (40, 0.25)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range
        assert min(delays) < ceiling * 0.2


def test_backoff_with_a_seeded_generator_repeats() -> None:
    first = [Backoff(rng=random.Random(3)).delay(n) for n in range(5)]
    again = [Backoff(rng=random.Random(3)).delay(n) for n in range(5)]
    assert first == again


# -- circuit breaker ---------------------------------------------------------------------


def _fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.failed(breaker.admit())


def _succeed(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.succeeded(breaker.admit())


def test_consecutive_failures_open_the_circuit() -> None:
    breaker = CircuitBreaker(failures=5, clock=Clock())
    _fail(breaker, 4)
    _succeed(breaker)  # breaks the run
    _fail(breaker, 4)
    assert breaker.state == CLOSED
    _fail(breaker)
    assert breaker.state == OPEN
    assert breaker.admit() is None


def test_a_failure_rate_over_the_window_opens_the_circuit() -> None:
    breaker = CircuitBreaker(failures=100, failure_rate=0.5, window=20, min_calls=10, clock=Clock())
    for _ in range(4):
        _fail(breaker)
        _succeed(breaker)
    _fail(breaker)
    assert breaker.state == CLOSED  # 5 of 9: too few calls to judge
    _succeed(breaker)
    _fail(breaker)  # 6 of 11 calls failed
    assert breaker.state == OPEN


def test_a_failure_rate_below_the_threshold_keeps_it_closed() -> None:
    breaker = CircuitBreaker(failures=100, failure_rate=0.5, window=20, clock=Clock())
    for _ in range(30):  # one failure in three, forever
        _fail(breaker)
        _succeed(breaker, 2)
    assert breaker.state == CLOSED


def test_after_its_wait_the_circuit_lets_probes_through_and_closes_when_they_succeed() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, open_for=10, probes=3, clock=clock)
    _fail(breaker, 2)
    clock.now += 9.9
    assert breaker.state == OPEN
    assert breaker.retry_in() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.state == HALF_OPEN
    tickets = [breaker.admit() for _ in range(3)]
    assert None not in tickets
    assert breaker.admit() is None  # only 3 probes
    for ticket in tickets[:2]:
        breaker.succeeded(ticket)
    assert breaker.state == HALF_OPEN
    breaker.succeeded(tickets[2])
    assert breaker.state == CLOSED
    assert breaker.wait == 10


def test_a_failed_probe_opens_it_again_for_twice_as_long_up_to_a_cap() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, open_for=10, max_open_for=35, probes=2, clock=clock)
    _fail(breaker)
    waits = []
    for _ in range(4):
        clock.now += breaker.wait
        assert breaker.state == HALF_OPEN
        _succeed(breaker)  # one probe passes, the next fails
        _fail(breaker)
        assert breaker.state == OPEN
        waits.append(breaker.wait)
    assert waits == [20, 35, 35, 35]
    clock.now += 34
    assert breaker.state == OPEN  # no flapping back before the longer wait
    clock.now += 1
    _succeed(breaker, 2)
    assert (breaker.state, breaker.wait) == (CLOSED, 10)  # recovered: the wait is reset


def test_a_call_from_before_a_change_of_state_counts_for_nothing() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, open_for=10, probes=1, clock=clock)
    slow = breaker.admit()
    _fail(breaker, 2)
    clock.now += 10
    assert breaker.state == HALF_OPEN
    breaker.succeeded(slow)  # began while closed: not a probe
    assert breaker.state == HALF_OPEN
    breaker.failed(slow)
    assert breaker.state == HALF_OPEN


# -- settings ----------------------------------------------------------------------------


def test_settings_default_by_kind_of_backend() -> None:
    assert resilience_settings(None) == REMOTE
    assert resilience_settings(None, key="sklearn") == LOCAL
    assert (REMOTE.timeout, REMOTE.retries, REMOTE.failures, REMOTE.failure_rate) == (
        10,
        2,
        5,
        0.5,
    )
    given = resilience_settings({"timeout": 5, "window": 6, "open_for": 0.3}, key="mlflow")
    assert (given.timeout, given.window, given.min_calls, given.open_for) == (5.0, 6, 6, 0.3)
    assert given.concurrency == LOCAL.concurrency
    assert resilience_settings({"timeout": None}).timeout is None


def test_an_unknown_setting_is_refused_listing_the_accepted_ones() -> None:
    with pytest.raises(InputError, match="no 'retry'") as caught:
        resilience_settings({"retry": 2})
    assert caught.value.field == "resilience.retry"
    for name in ("timeout", "retries", "failure_rate", "open_for", "probes", "concurrency"):
        assert name in caught.value.message


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout": 0}, "resilience.timeout"),
        ({"timeout": "5s"}, "resilience.timeout"),
        ({"retries": -1}, "resilience.retries"),
        ({"retries": 1.5}, "resilience.retries"),
        ({"failures": True}, "resilience.failures"),
        ({"failure_rate": 50}, "resilience.failure_rate"),
        ({"concurrency": 0}, "resilience.concurrency"),
        ({"open_for": float("inf")}, "resilience.open_for"),
        ({"window": 5, "min_calls": 6}, "resilience.min_calls"),
        ({"open_for": 600}, "resilience.open_for"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(options: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        resilience_settings(options)
    assert caught.value.field == field


def test_the_route_options_are_checked_with_the_gateway_options() -> None:
    check_gateway_options({"resilience": {"timeout": 3}})
    with pytest.raises(InputError, match="no 'timout'"):
        check_gateway_options({"resilience": {"timout": 3}})
    with pytest.raises(InputError, match="must be a mapping"):
        check_gateway_options({"resilience": 3})


# -- the wrapper, around a scripted backend ----------------------------------------------


class Scripted(Backend):
    """Answers each call with the next outcome: "ok", "hang", an event to wait for in a
    worker thread, or an error to raise."""

    key = "scripted"

    def __init__(self, outcomes: Sequence[Any] = ()) -> None:
        super().__init__("scripted://model?secret=1")
        self.outcomes = list(outcomes)
        self.calls = 0

    @classmethod
    def load(cls, uri: str, *, features: Sequence[str] | None = None, options: Any = None) -> Self:
        return cls()

    async def predict(self, records: Sequence[Record]) -> list[Output]:
        self._check_open()
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, BackendError):
            raise outcome
        if outcome == "hang":
            await asyncio.sleep(3600)
        if isinstance(outcome, threading.Event):
            from anyio import to_thread

            await to_thread.run_sync(outcome.wait, 10)
        return [{"prediction": self.calls} for _ in records]


DOWN = BackendError("connection refused", retryable=True)
REFUSED = BackendError("record 0 has no field 'age'", field="age")


def _resilient(inner: Backend, **given: Any) -> ResilientBackend:
    return ResilientBackend(inner, resilience_settings(given, key="http"), rng=random.Random(0))


def test_a_retryable_error_is_retried_and_answered() -> None:
    inner = Scripted([DOWN, DOWN, "ok"])
    backend = _resilient(inner, retries=2)
    assert asyncio.run(backend.predict([{}])) == [{"prediction": 3}]
    assert inner.calls == 3
    assert backend.state == CLOSED


def test_retries_stop_at_the_setting_and_the_last_error_is_raised() -> None:
    inner = Scripted([DOWN] * 10)
    backend = _resilient(inner, retries=1, failures=100)
    with pytest.raises(BackendError, match="connection refused"):
        asyncio.run(backend.predict([{}]))
    assert inner.calls == 2


def test_retries_stop_when_the_budget_is_spent() -> None:
    inner = Scripted([DOWN] * 20)
    backend = _resilient(inner, retries=10, failures=100, min_calls=100, window=100)
    with pytest.raises(BackendError, match="connection refused"):
        asyncio.run(backend.predict([{}]))
    assert inner.calls == 4  # the call and the 3 retries any trickle of traffic may make


def test_non_retryable_errors_are_not_retried_and_do_not_open_the_circuit() -> None:
    inner = Scripted([REFUSED] * 30)
    backend = _resilient(inner, failures=2, min_calls=2)

    async def calls() -> None:
        for _ in range(30):
            with pytest.raises(BackendError, match="no field"):
                await backend.predict([{}])

    asyncio.run(calls())
    assert inner.calls == 30
    assert backend.state == CLOSED


def test_an_open_circuit_refuses_at_once_without_calling_the_backend() -> None:
    inner = Scripted([DOWN] * 5)
    backend = _resilient(inner, retries=0, failures=2)

    async def calls() -> None:
        for _ in range(2):
            with pytest.raises(BackendError, match="connection refused"):
                await backend.predict([{}])
        with pytest.raises(CircuitOpenError) as caught:
            await backend.predict([{}])
        assert caught.value.retryable
        assert "scripted://model" in caught.value.message
        assert "secret" not in str(caught.value)

    asyncio.run(calls())
    assert inner.calls == 2
    assert backend.describe()["resilience"]["state"] == OPEN
    assert backend.describe()["key"] == "scripted"


def test_a_call_past_its_deadline_fails_retryable_and_counts_as_a_failure() -> None:
    inner = Scripted(["hang", "ok"])
    backend = _resilient(inner, timeout=0.2, failures=1)

    with pytest.raises(BackendError, match=r"no answer within 0\.2 s") as caught:
        asyncio.run(backend.predict([{}]))
    assert caught.value.retryable
    assert inner.calls == 1  # no time was left to retry
    assert backend.state == OPEN


class Remote(Scripted):
    key = "http"


def test_a_remote_call_past_its_deadline_is_cancelled_and_frees_its_slot() -> None:
    inner = Remote(["hang", "ok"])
    backend = _resilient(inner, timeout=0.2, concurrency=1, queue_wait=0.05, failures=10)

    async def calls() -> None:
        with pytest.raises(BackendError, match="no answer within"):
            await backend.predict([{}])
        assert await backend.predict([{}]) == [{"prediction": 2}]

    asyncio.run(calls())


def test_a_call_abandoned_at_its_deadline_keeps_its_slot_until_its_thread_ends() -> None:
    release = threading.Event()
    inner = Scripted([release, "ok", "ok"])
    backend = _resilient(inner, timeout=0.2, concurrency=1, queue_wait=0.05, failures=10)

    async def calls() -> None:
        with pytest.raises(BackendError, match="no answer within"):
            await backend.predict([{}])
        with pytest.raises(BackendError, match="saturated") as caught:
            await backend.predict([{}])  # the thread still runs: the one slot is taken
        assert caught.value.retryable
        release.set()
        for _ in range(100):
            await asyncio.sleep(0.02)
            if not backend._slots.locked():
                break
        assert await backend.predict([{}]) == [{"prediction": 2}]

    asyncio.run(calls())
    assert inner.calls == 2


def test_a_full_backend_fails_fast_once_its_queue_wait_is_over() -> None:
    inner = Scripted(["hang", "hang", "ok"])
    backend = _resilient(inner, timeout=5, concurrency=2, queue_wait=0.05)

    async def calls() -> None:
        first, second, third = (asyncio.ensure_future(backend.predict([{}])) for _ in range(3))
        await asyncio.wait({third}, timeout=2)
        assert third.done()
        assert not first.done()
        assert not second.done()
        with pytest.raises(BackendError, match=r"saturated: 2 call\(s\) in flight"):
            third.result()
        assert inner.calls == 2  # the third never reached the model

    asyncio.run(calls())
    assert backend.state == CLOSED  # being full is not the backend failing


class Busy(Scripted):
    """A local model that takes ``seconds`` of a worker thread per call."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def predict(self, records: Sequence[Record]) -> list[Output]:
        from anyio import to_thread

        self.calls += 1
        await to_thread.run_sync(time.sleep, self.seconds)
        return [{"prediction": 1} for _ in records]


def test_a_burst_on_a_healthy_local_model_queues_for_its_slots_rather_than_fails() -> None:
    # 64 calls at once on 8 slots of a 20 ms model: the last waits about 8 rounds
    # (160 ms), longer than a remote bulkhead's 0.1 s but well inside the local 1 s
    backend = wrap(Busy(0.02))
    assert backend.settings.concurrency == 8

    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(backend.predict([{}]) for _ in range(64)), return_exceptions=True
        )

    answers = asyncio.run(burst())
    assert [a for a in answers if isinstance(a, BaseException)] == []
    assert backend.inner.calls == 64


def test_the_wrapper_closes_the_backend_and_describes_it() -> None:
    inner = Scripted()
    backend = wrap(inner)
    assert backend.settings == LOCAL  # only http is known to be remote
    described = backend.describe()
    assert described["uri"] == "scripted://model"
    assert described["resilience"]["state"] == CLOSED
    assert described["resilience"]["timeout"] == LOCAL.timeout
    asyncio.run(backend.aclose())
    assert inner.closed
    assert backend.closed
    with pytest.raises(BackendError, match="closed"):
        asyncio.run(backend.predict([{}]))


def test_loading_through_the_wrapper_is_refused() -> None:
    with pytest.raises(InputError, match="wraps a loaded backend"):
        ResilientBackend.load("http://example.com")


def test_settings_are_a_frozen_value() -> None:
    with pytest.raises(AttributeError):
        REMOTE.timeout = 1  # type: ignore[misc]
    assert ResilienceSettings().concurrency == 32


# -- end to end: the gateway and a real remote model --------------------------------------


class Peer:
    """A remote model on 127.0.0.1, served by uvicorn in a thread, switched by the test.

    ``POST /{name}`` answers ``{"predictions": [{"prediction": "remote"}, ...]}`` when
    ``modes[name]`` is ``healthy``; ``slow`` sleeps ``delay`` s first; ``error`` answers
    503. ``stop()`` takes it down (connection refused); ``start()`` brings it back on the
    same port.
    """

    def __init__(self) -> None:
        self.modes: dict[str, str] = {}
        self.calls: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self.delay = 3.0
        self.port = 0
        self._running: tuple[uvicorn.Server, threading.Thread, socket.socket] | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    async def _predict(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.calls[name] = self.calls.get(name, 0) + 1
        self.in_flight[name] = self.in_flight.get(name, 0) + 1
        self.most_in_flight[name] = max(self.most_in_flight.get(name, 0), self.in_flight[name])
        try:
            mode = self.modes.get(name, "healthy")
            if mode == "error":
                return JSONResponse({"detail": "overloaded"}, status_code=503)
            if mode == "slow":
                await asyncio.sleep(self.delay)
            body = await request.json()
            return JSONResponse({"predictions": [{"prediction": "remote"}] * len(body["records"])})
        finally:
            self.in_flight[name] -= 1

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = int(listener.getsockname()[1])
        app = Starlette(routes=[Route("/{name}", self._predict, methods=["POST"])])
        config = uvicorn.Config(
            app, log_level="error", lifespan="off", ws="none", http="h11",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        self._running = (server, thread, listener)
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the model server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._running is None:
            return
        server, thread, listener = self._running
        server.should_exit = True
        thread.join(10)
        listener.close()
        self._running = None


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer()
    server.start()
    yield server
    server.stop()


FALLBACK = {"prediction": "fallback"}


def http_world(
    home: Path, peer: Peer, resilience: dict[str, Any], other: dict[str, Any] | None = None
) -> World:
    """``tumor`` and ``other``, each served by the peer (``/tumor``, ``/other``) with a
    constant fallback, and a predict key for each."""
    home.mkdir(parents=True, exist_ok=True)
    registry = Registry(f"sqlite:///{home / 'store.db'}", actor="lead@example.com")
    registry.add_person("maya@example.com", name="Maya Chen")
    data = home / "training.parquet"
    training_table().write_parquet(data)
    registry.add_consumer("crm-eu", description="the CRM")
    keys = {}
    for product, settings in (("tumor", resilience), ("other", other or {})):
        registry.create_product(product, stage="pilot", owner="maya@example.com")
        registry.register_model(
            product, artifact=peer.url(product), flavor="http", training_data=str(data)
        )
        options = {"exclude": ["malignant"], "allow_private": True, "resilience": settings}
        set_route(
            registry, product, version=1, fallback=Fallback("constant", FALLBACK), options=options
        )
        keys[product] = registry.create_key("crm-eu", products=[product], scopes=["predict"])
    return World(registry, home, {name: made.plaintext for name, made in keys.items()})


def _ask(client: TestClient, world: World, product: str = "tumor") -> dict[str, Any]:
    response = client.post(
        f"/v1/products/{product}/predict",
        json={"record": records(1)[0]},
        headers=world.headers(product),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _served(body: dict[str, Any]) -> tuple[str, str | None, Any]:
    return body["served_by"], body.get("fallback_reason"), body["predictions"][0]["prediction"]


def _routes(client: TestClient) -> Any:
    app: Any = client.app
    return app.state.gateway.routes


def _state(client: TestClient, product: str = "tumor") -> str:
    return str(_routes(client).health()[product])


PRIMARY = ("primary", None, "remote")
BROKEN = ("fallback", "primary_error", "fallback")
CIRCUIT_OPEN = ("fallback", "circuit_open", "fallback")


def test_a_slow_remote_model_answers_by_its_deadline_then_its_circuit_opens_and_recovers(
    tmp_path: Path, peer: Peer
) -> None:
    timeout = 0.5
    resilience = {"timeout": timeout, "failures": 3, "open_for": 0.3, "probes": 2}
    world = http_world(tmp_path, peer, resilience)
    with TestClient(world.app(refresh_seconds=60)) as client:
        assert _served(_ask(client, world)) == PRIMARY
        peer.modes["tumor"] = "slow"
        for _ in range(3):
            started = time.monotonic()
            body = _ask(client, world)
            assert time.monotonic() - started < timeout + 1  # not the peer's 3 s
            assert _served(body) == BROKEN
        assert _state(client) == OPEN
        calls = peer.calls["tumor"]
        body = _ask(client, world)
        assert _served(body) == CIRCUIT_OPEN
        assert peer.calls["tumor"] == calls  # not called while open
        stored = world.registry.prediction(body["predictions"][0]["id"])
        assert (stored.served_by, stored.fallback_reason, stored.output) == (
            "fallback",
            "circuit_open",
            FALLBACK,
        )

        peer.modes["tumor"] = "healthy"
        time.sleep(0.35)
        assert _state(client) == HALF_OPEN
        assert _served(_ask(client, world)) == PRIMARY  # probe 1
        assert _state(client) == HALF_OPEN
        assert _served(_ask(client, world)) == PRIMARY  # probe 2
        assert _state(client) == CLOSED
        assert [_served(_ask(client, world)) for _ in range(5)] == [PRIMARY] * 5


def test_a_model_that_goes_down_is_cut_off_and_a_failed_probe_does_not_let_traffic_flap(
    tmp_path: Path, peer: Peer
) -> None:
    resilience = {"timeout": 2, "retries": 1, "failures": 2, "open_for": 0.3, "probes": 1}
    world = http_world(tmp_path, peer, resilience)
    with TestClient(world.app(refresh_seconds=60)) as client:
        assert _served(_ask(client, world)) == PRIMARY
        assert peer.calls["tumor"] == 1
        peer.stop()  # connection refused
        assert _served(_ask(client, world)) == BROKEN  # a call and its retry: 2 failures
        assert _state(client) == OPEN
        assert _served(_ask(client, world)) == CIRCUIT_OPEN

        time.sleep(0.35)
        assert _state(client) == HALF_OPEN
        assert _served(_ask(client, world)) == BROKEN  # the probe fails: no retry
        assert _state(client) == OPEN
        live = asyncio.run(_routes(client).get("tumor"))
        described = live.primary.describe()
        assert described["resilience"]["wait"] == pytest.approx(0.6)  # twice as long

        peer.start()  # back, on the same port
        assert _served(_ask(client, world)) == CIRCUIT_OPEN  # still waiting
        assert peer.calls["tumor"] == 1  # not called since it went down
        time.sleep(0.65)
        assert _served(_ask(client, world)) == PRIMARY
        assert _state(client) == CLOSED
        assert [_served(_ask(client, world)) for _ in range(3)] == [PRIMARY] * 3
        assert peer.calls["tumor"] == 5


def test_a_remote_model_answering_503_is_retried_and_then_cut_off(
    tmp_path: Path, peer: Peer
) -> None:
    resilience = {"timeout": 2, "retries": 2, "failures": 5}
    world = http_world(tmp_path, peer, resilience)
    with TestClient(world.app(refresh_seconds=60)) as client:
        peer.modes["tumor"] = "error"
        assert _served(_ask(client, world)) == BROKEN
        assert peer.calls["tumor"] == 3  # the call and two retries
        assert _state(client) == CLOSED
        assert _served(_ask(client, world)) == BROKEN  # the 5th failure opens it
        assert _state(client) == OPEN
        assert peer.calls["tumor"] == 5  # the budget of 3 retries is spent: no more
        assert _served(_ask(client, world)) == CIRCUIT_OPEN
        assert peer.calls["tumor"] == 5


def test_a_slow_product_does_not_starve_another(tmp_path: Path, peer: Peer) -> None:
    resilience = {"timeout": 1.5, "concurrency": 2, "queue_wait": 0.05, "failures": 100}
    world = http_world(tmp_path, peer, resilience, other={"timeout": 5})
    peer.modes["tumor"] = "slow"
    with TestClient(world.app(refresh_seconds=60)) as client, ThreadPoolExecutor(6) as pool:
        assert _served(_ask(client, world, "other")) == PRIMARY
        slow = [pool.submit(_ask, client, world, "tumor") for _ in range(6)]
        deadline = time.monotonic() + 5
        while peer.in_flight.get("tumor", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert peer.in_flight["tumor"] == 2
        healthy = [_served(_ask(client, world, "other")) for _ in range(5)]
        still = peer.in_flight["tumor"]
        answers = [_served(future.result()) for future in slow]
    assert healthy == [PRIMARY] * 5
    assert still == 2  # the slow calls were still running while the other product answered
    assert answers == [BROKEN] * 6  # 2 past their deadline, 4 refused at once: full
    assert peer.most_in_flight["tumor"] == 2
