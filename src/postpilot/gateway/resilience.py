"""Remote backend resilience: a deadline, budgeted retries, a circuit breaker and a bulkhead.

:class:`ResilientBackend` wraps any :class:`~postpilot.gateway.backends.base.Backend`
(the route table wraps every backend it loads) and keeps four promises:

- **A deadline.** A call answers or fails within ``timeout`` seconds, retries
  included. The wrapped call runs as its own task, which the gateway stops
  waiting for when the deadline passes. A remote call is cancelled then (its
  connection closed); a model running in a worker thread cannot be interrupted,
  so its call is left to end by itself.
- **Retries, within a budget.** A retryable :class:`~postpilot.errors.BackendError`
  (a timeout, a connection error, a 5xx) is tried again up to ``retries`` times,
  after a full-jitter exponential :class:`Backoff`, while time is left before the
  deadline and while the :class:`RetryBudget` allows: retries may add at most 20%
  to the load (Envoy's retry budget), so retries cannot make an outage worse.
- **A circuit breaker.** :class:`CircuitBreaker` opens after ``failures``
  consecutive failures or a failure rate of ``failure_rate`` over the last
  ``window`` calls; while open, calls fail at once with :class:`CircuitOpenError`
  (the route's fallback answers, marked ``circuit_open``). After ``open_for``
  seconds a few probe calls go through; if all succeed the circuit closes, if
  one fails it opens again for twice as long (up to ``max_open_for``), so a
  backend that keeps falling over is not hammered and traffic does not flap.
- **A bulkhead.** At most ``concurrency`` calls are in flight per backend; a call
  that finds them all busy waits ``queue_wait`` seconds at most and then fails
  (retryable, "saturated"), so a slow model cannot take all the gateway's
  capacity from the other products. A call left running past its deadline keeps
  its slot until it really ends.

Only retryable errors (and the deadline) count as failures. A non-retryable error
means the backend answered and refused the records: it counts as a success for
the breaker (like any non-5xx answer breaks Envoy's run of consecutive 5xx).

Settings come from the route option ``resilience`` (see :func:`resilience_settings`
and docs/gateway-resilience.md for the defaults and where they come from):

>>> resilience_settings({"timeout": 2, "retries": 1}).timeout
2.0
>>> resilience_settings({"retry": 1})
Traceback (most recent call last):
...
postpilot.errors.InputError: the route's resilience settings have no 'retry'; ...
>>> clock = [0.0]
>>> breaker = CircuitBreaker(failures=2, open_for=10, clock=lambda: clock[0])
>>> for _ in range(2):
...     breaker.failed(breaker.admit())
>>> breaker.state, breaker.admit()
('open', None)
>>> clock[0] = 10.0
>>> breaker.state
'half_open'
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Final, Self

from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends.base import Backend, Output, Record

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "LOCAL",
    "OPEN",
    "REMOTE",
    "Backoff",
    "CircuitBreaker",
    "CircuitOpenError",
    "ResilienceSettings",
    "ResilientBackend",
    "RetryBudget",
    "resilience_settings",
    "wrap",
]

log = logging.getLogger(__name__)

CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half_open"
REMOTE_KEYS: Final = frozenset({"http"})
"""Backends that call over the network (the rest run the model in this process)."""
_MIN_ATTEMPT: Final = 0.05
"""Seconds an attempt needs at least: a retry is not started with less time left."""

Clock = Callable[[], float]


class CircuitOpenError(BackendError):
    """The backend's circuit is open: it was not called (retryable: try again later)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, retryable=True)


@dataclass(frozen=True)
class ResilienceSettings:
    """How one backend is guarded; see the module docstring for each setting."""

    timeout: float | None = 10.0
    retries: int = 2
    failures: int = 5
    failure_rate: float = 0.5
    window: int = 20
    min_calls: int = 10
    open_for: float = 10.0
    max_open_for: float = 300.0
    probes: int = 3
    concurrency: int = 32
    queue_wait: float = 0.1


REMOTE: Final = ResilienceSettings()
"""The defaults for a remote model (``http``)."""
LOCAL: Final = ResilienceSettings(timeout=30.0, retries=0, concurrency=8, queue_wait=1.0)
"""The defaults for a model run in this process (``sklearn``, ``mlflow``): a generous
deadline, no retries (a local model's error does not go away by itself), and 8 calls
in flight, since each holds one of the 40 worker threads the gateway shares. A call
waits up to 1 s for a slot: a local model shares the process's CPU, so under a burst
its slots free at the pace of the CPU, and a shorter wait would refuse healthy
requests (measured: 0.1 s shed about 75 of 15,000 requests of a 32-connection load on
one CPU, ``bench/gateway_bench.py``); every slot held by stuck calls still fails fast."""

_INTS: Final = {  # name: (lowest, highest)
    "retries": (0, 10),
    "failures": (1, 1000),
    "window": (1, 10_000),
    "min_calls": (1, 10_000),
    "probes": (1, 100),
    "concurrency": (1, 10_000),
}
_SECONDS: Final = ("timeout", "open_for", "max_open_for", "queue_wait")


def resilience_settings(
    options: Mapping[str, Any] | None, *, key: str = "http"
) -> ResilienceSettings:
    """The settings of the route option ``resilience`` over the defaults for backend ``key``.

    InputError (field ``resilience.<name>``) for an unknown name, listing the accepted
    ones, or a value out of range.
    """
    base = REMOTE if key in REMOTE_KEYS else LOCAL
    if options is None:
        return base
    if not isinstance(options, Mapping):
        raise InputError(
            f"the route option 'resilience' must be a mapping, got {type(options).__name__}",
            field="resilience",
            hint="For example: resilience: {timeout: 5, retries: 1}",
        )
    accepted = [f for f in ResilienceSettings.__dataclass_fields__]
    given: dict[str, Any] = {}
    for name, value in options.items():
        if name not in accepted:
            raise InputError(
                f"the route's resilience settings have no {name!r}; they are: "
                f"{', '.join(accepted)}",
                field=f"resilience.{name}" if isinstance(name, str) else "resilience",
                hint="Remove the setting or correct its spelling",
            )
        given[name] = _checked(name, value)
    if "window" in given and "min_calls" not in given:
        given["min_calls"] = min(base.min_calls, given["window"])
    settings = replace(base, **given)
    for smaller, larger in (("min_calls", "window"), ("open_for", "max_open_for")):
        if getattr(settings, smaller) > getattr(settings, larger):
            raise InputError(
                f"the resilience setting {smaller} ({getattr(settings, smaller):g}) is above "
                f"{larger} ({getattr(settings, larger):g})",
                field=f"resilience.{smaller}",
            )
    return settings


def _checked(name: str, value: Any) -> Any:
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if name in _INTS:
        low, high = _INTS[name]
        if number and float(value).is_integer() and low <= value <= high:
            return int(value)
        raise InputError(
            f"the resilience setting {name} must be a whole number from {low} to {high}, "
            f"got {value!r}",
            field=f"resilience.{name}",
        )
    if name == "failure_rate":
        if number and 0 < value <= 1:
            return float(value)
        raise InputError(
            f"the resilience setting failure_rate must be a fraction above 0 and at most 1 "
            f"(0.5 is half the calls), got {value!r}",
            field="resilience.failure_rate",
        )
    if name == "timeout" and value is None:
        return None
    least = 0.0 if name == "queue_wait" else 0.001
    if number and math.isfinite(value) and least <= value <= 86_400:
        return float(value)
    allowed = "0 or more" if name == "queue_wait" else "above 0"
    also = " (or null: no deadline)" if name == "timeout" else ""
    raise InputError(
        f"the resilience setting {name} must be a number of seconds {allowed}{also}, got {value!r}",
        field=f"resilience.{name}",
    )


class RetryBudget:
    """Retries allowed while they stay under ``ratio`` of the calls in the last ``window`` s.

    ``min_retries`` per window are always allowed, so a trickle of traffic can still
    retry. Counts are kept in ten buckets per window.

    >>> budget = RetryBudget(clock=lambda: 0.0)
    >>> for _ in range(20):
    ...     budget.request()
    >>> [budget.try_retry() for _ in range(5)]
    [True, True, True, True, False]
    """

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_retries: int = 3,
        window: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_retries = min_retries
        self._width = window / 10
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [bucket index, requests, retries]

    def request(self) -> None:
        """Count one call (not a retry)."""
        self._bucket()[1] += 1

    def try_retry(self) -> bool:
        """Whether one more retry fits the budget; counts it when it does."""
        bucket = self._bucket()
        requests = sum(b[1] for b in self._buckets)
        retries = sum(b[2] for b in self._buckets)
        if retries + 1 > max(self.min_retries, self.ratio * requests):
            return False
        bucket[2] += 1
        return True

    def _bucket(self) -> list[int]:
        index = math.floor(self._clock() / self._width)
        while self._buckets and self._buckets[0][0] <= index - 10:
            self._buckets.popleft()
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append([index, 0, 0])
        return self._buckets[-1]


class Backoff:
    """Full-jitter exponential backoff: a delay drawn from 0 to ``min(cap, base * 2**n)``.

    >>> delays = Backoff(rng=random.Random(1))
    >>> all(0 <= delays.delay(n) <= 0.25 for n in range(10))
    True
    """

    def __init__(
        self, *, base: float = 0.025, cap: float = 0.25, rng: random.Random | None = None
    ) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        return self._rng.uniform(0, min(self.cap, self.base * 2 ** min(attempt, 30)))


class CircuitBreaker:
    """Closed, open or half-open; see the module docstring.

    A call asks :meth:`admit` for a ticket (None: the circuit refuses it) and hands it
    back to :meth:`succeeded` or :meth:`failed`. A ticket from before the last change of
    state is ignored, so a slow call that began while closed cannot close a circuit
    that has opened since, or count as a probe.
    """

    def __init__(
        self,
        *,
        failures: int = 5,
        failure_rate: float = 0.5,
        window: int = 20,
        min_calls: int = 10,
        open_for: float = 10.0,
        max_open_for: float = 300.0,
        probes: int = 3,
        clock: Clock = time.monotonic,
        name: str = "backend",
    ) -> None:
        self.failures = failures
        self.failure_rate = failure_rate
        self.min_calls = min(min_calls, window)
        self.open_for = open_for
        self.max_open_for = max_open_for
        self.probes = probes
        self.name = name
        self._clock = clock
        self._state = CLOSED
        self._generation = 0
        self._outcomes: deque[bool] = deque(maxlen=window)  # True: failed
        self._consecutive = 0
        self._wait = open_for
        self._opened_at = 0.0
        self._admitted = 0  # probes let through while half-open
        self._passed = 0  # probes that succeeded

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (open turns half-open when its wait is over)."""
        if self._state == OPEN and self._clock() >= self._opened_at + self._wait:
            self._move(HALF_OPEN)
            log.info("circuit of %s is half-open: %d probe call(s)", self.name, self.probes)
        return self._state

    @property
    def wait(self) -> float:
        """Seconds the circuit stays open when it opens (or opened) this time."""
        return self._wait

    def retry_in(self) -> float:
        """Seconds until the open circuit lets probes through (0 unless open)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self._wait - self._clock())

    def admit(self) -> int | None:
        """A ticket for one call, or None when the circuit refuses it."""
        state = self.state
        if state == OPEN:
            return None
        if state == HALF_OPEN:
            if self._admitted >= self.probes:
                return None
            self._admitted += 1
        return self._generation

    def succeeded(self, ticket: int | None) -> None:
        if ticket != self._generation:
            return
        if self._state == HALF_OPEN:
            self._passed += 1
            if self._passed >= self.probes:
                self._wait = self.open_for
                self._move(CLOSED)
                log.warning("circuit of %s closed: the probes succeeded", self.name)
            return
        self._consecutive = 0
        self._outcomes.append(False)

    def failed(self, ticket: int | None) -> None:
        if ticket != self._generation:
            return
        if self._state == HALF_OPEN:
            self._wait = min(self._wait * 2, self.max_open_for)
            self._open("a probe call failed")
            return
        self._consecutive += 1
        self._outcomes.append(True)
        rate = sum(self._outcomes) / len(self._outcomes)
        if self._consecutive >= self.failures:
            self._open(f"{self._consecutive} consecutive failures")
        elif len(self._outcomes) >= self.min_calls and rate >= self.failure_rate:
            self._open(f"{rate:.0%} of the last {len(self._outcomes)} calls failed")

    def _open(self, why: str) -> None:
        self._opened_at = self._clock()
        self._move(OPEN)
        log.warning(
            "circuit of %s opened (%s): not called for %g s, the fallback answers",
            self.name,
            why,
            self._wait,
        )

    def _move(self, state: str) -> None:
        self._state = state
        self._generation += 1
        self._outcomes.clear()
        self._consecutive = self._admitted = self._passed = 0


class ResilientBackend(Backend):
    """Any backend behind a deadline, budgeted retries, a circuit breaker and a bulkhead.

    ``describe()`` is the wrapped backend's, plus ``resilience``: the settings and
    the breaker's ``state``.
    """

    key = "resilient"

    def __init__(
        self,
        inner: Backend,
        settings: ResilienceSettings | None = None,
        *,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        described = inner.describe()
        super().__init__(str(described.get("uri", "")))
        self.inner = inner
        self.settings = settings or resilience_settings(None, key=inner.key)
        self._name = f"the {inner.key} model at {self._uri}"
        s = self.settings
        self.breaker = CircuitBreaker(
            failures=s.failures,
            failure_rate=s.failure_rate,
            window=s.window,
            min_calls=s.min_calls,
            open_for=s.open_for,
            max_open_for=s.max_open_for,
            probes=s.probes,
            clock=clock,
            name=self._name,
        )
        self.budget = RetryBudget(clock=clock)
        self.backoff = Backoff(rng=rng)
        self._slots = asyncio.Semaphore(s.concurrency)

    @classmethod
    def load(
        cls,
        uri: str,
        *,
        features: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Self:
        raise InputError(
            "a resilient backend wraps a loaded backend; it loads nothing itself",
            hint="Load the backend, then wrap(backend, settings)",
        )

    @property
    def state(self) -> str:
        """The breaker's state: ``closed``, ``open`` or ``half_open``."""
        return self.breaker.state

    async def predict(self, records: Sequence[Record]) -> list[Output]:
        self._check_open()
        if self.breaker.state == OPEN:
            raise self._refused()
        loop = asyncio.get_running_loop()
        deadline = None if self.settings.timeout is None else loop.time() + self.settings.timeout
        slot = await self._take_slot()
        self.budget.request()
        try:
            return await self._attempts(records, deadline, slot)
        finally:
            if not slot.handed_over:
                slot.release()

    async def aclose(self) -> None:
        if not self.closed:
            await super().aclose()
            await self.inner.aclose()

    def describe(self) -> dict[str, Any]:
        described = self.inner.describe()
        described["resilience"] = {
            **asdict(self.settings),
            "state": self.state,
            "wait": self.breaker.wait,
        }
        return described

    async def _attempts(
        self, records: Sequence[Record], deadline: float | None, slot: _Slot
    ) -> list[Output]:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            ticket = self.breaker.admit()
            if ticket is None:
                raise self._refused()
            remaining = None if deadline is None else deadline - loop.time()
            try:
                outputs = await self._attempt(records, remaining, slot)
            except BackendError as exc:
                if not exc.retryable:
                    self.breaker.succeeded(ticket)  # it answered: the records are at fault
                    raise
                self.breaker.failed(ticket)
                pause = self.backoff.delay(attempt)
                left = math.inf if deadline is None else deadline - loop.time() - pause
                if (
                    slot.handed_over
                    or attempt >= self.settings.retries
                    or left < _MIN_ATTEMPT
                    or self.breaker.state != CLOSED
                    or not self.budget.try_retry()
                ):
                    raise
                log.info("%s failed (%s); retry %d in %.3f s", self._name, exc, attempt + 1, pause)
                attempt += 1
                await asyncio.sleep(pause)
                continue
            self.breaker.succeeded(ticket)
            return outputs

    async def _attempt(
        self, records: Sequence[Record], remaining: float | None, slot: _Slot
    ) -> list[Output]:
        if remaining is None:
            return await self.inner.predict(records)
        task = asyncio.ensure_future(self.inner.predict(records))
        try:
            done, _ = await asyncio.wait({task}, timeout=max(remaining, 0.0))
        except asyncio.CancelledError:  # the request went away: stop the call too
            self._abandon(task, slot)
            raise
        if not done:
            self._abandon(task, slot)
            raise BackendError(
                f"{self._name} gave no answer within {self.settings.timeout:g} s "
                "(the route's resilience timeout)",
                retryable=True,
                hint="The route's fallback answers meanwhile; raise resilience.timeout if the "
                "model is slow but healthy",
            )
        return task.result()

    def _abandon(self, task: asyncio.Future[list[Output]], slot: _Slot) -> None:
        """Stop waiting for ``task``, cancel it if remote; its slot is freed when it ends.

        A local model's call is not cancelled: cancelling would end the task but not
        its worker thread, and the slot would be free while the thread still runs."""
        slot.handed_over = True
        if self.inner.key in REMOTE_KEYS:
            task.cancel()

        def ended(finished: asyncio.Future[list[Output]]) -> None:
            if not finished.cancelled():
                finished.exception()  # retrieved: asyncio logs an unretrieved one
            slot.release()

        task.add_done_callback(ended)

    async def _take_slot(self) -> _Slot:
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), self.settings.queue_wait)
            except TimeoutError:
                raise BackendError(
                    f"{self._name} is saturated: {self.settings.concurrency} call(s) in "
                    f"flight, the most it takes, and none ended within "
                    f"{self.settings.queue_wait:g} s",
                    retryable=True,
                    hint="The model is slow or overloaded; raise resilience.concurrency if it "
                    "can take more",
                ) from None
        else:
            await self._slots.acquire()
        return _Slot(self._slots)

    def _refused(self) -> CircuitOpenError:
        return CircuitOpenError(
            f"{self._name} is not called: its circuit is {self.breaker.state.replace('_', '-')} "
            "after failing",
            hint=f"It is tried again in {self.breaker.retry_in():.1f} s; the route's fallback "
            "answers meanwhile",
        )


class _Slot:
    """One of a backend's concurrency slots, released once."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = True
        self.handed_over = False
        """Set when an abandoned task releases the slot as it ends."""

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


def wrap(backend: Backend, settings: ResilienceSettings | None = None) -> ResilientBackend:
    """``backend`` behind :class:`ResilientBackend` (its key's defaults without ``settings``)."""
    return ResilientBackend(backend, settings)
