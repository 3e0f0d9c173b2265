"""Per-API-key rate limits with GCRA, the generic cell rate algorithm.

A :class:`Limit` allows ``rate`` requests per second on average and up to
``burst`` at once. GCRA keeps one number per key, the *theoretical arrival time*
``tat``: the moment the key's bucket would be empty again if requests kept
arriving exactly at the limit. With the emission interval ``T = 1/rate`` a
request arriving at ``now`` is judged so::

    tat     = max(stored_tat, now)           # an idle key has no debt
    new_tat = tat + T                        # this request adds one interval
    allowed = new_tat - now <= burst * T     # the debt fits in the burst

An allowed request stores ``new_tat``; a refused one changes nothing (refusals
never consume). So a fresh key takes exactly ``burst`` requests at one instant,
then one more every ``T`` seconds. A refused request may retry after
``new_tat - now - burst * T`` seconds; the bucket is full again (a key with no
state) once ``tat <= now``, which is why a key whose ``tat`` is past can be
forgotten.

Arithmetic is in whole microseconds (``T`` is rounded to the microsecond, so a
rate is at most 1,000,000/s), which makes every backend agree exactly and
"exactly ``burst``" hold without floating-point slack:

>>> import asyncio
>>> limit = Limit.parse("2/s", burst=3)
>>> limiter = MemoryRateLimiter()
>>> async def hits(*times: float) -> list[bool]:
...     return [(await limiter.hit("key-1", limit, now=t)).allowed for t in times]
>>> asyncio.run(hits(100.0, 100.0, 100.0, 100.0))  # a burst of 3, then refused
[True, True, True, False]
>>> asyncio.run(hits(100.5, 100.5))  # after 1/rate seconds, exactly one more
[True, False]
>>> refused = asyncio.run(limiter.hit("key-1", limit, now=100.75))
>>> refused.retry_after, refused.headers()["Retry-After"]
(0.25, '1')

Three backends share the state differently (:func:`rate_limiter` picks one):
``memory`` (one process), ``redis`` (one atomic Lua script per hit, on the
Redis server's clock) and ``store`` (a compare-and-swap on the metadata
store's ``rate_limits`` table, so several workers share a limit with nothing
more to run). A backend that cannot be reached raises
:class:`RateLimiterUnavailable`; whether to fail open or closed is the caller's
choice.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import anyio.to_thread
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from postpilot.errors import ConfigError, InputError, PostpilotError
from postpilot.store.engine import describe
from postpilot.store.models import RateLimitRow as Row

__all__ = [
    "Decision",
    "Limit",
    "MemoryRateLimiter",
    "RateLimiter",
    "RateLimiterUnavailable",
    "RedisRateLimiter",
    "StoreRateLimiter",
    "gcra",
    "rate_limiter",
    "storage_key",
]

_US = 1_000_000
_MAX_WINDOW_US = 10**15
"""``burst / rate`` may be at most ~31 years, so microsecond times stay exact doubles."""
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
_LIMIT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*/\s*([a-z]+)\s*", re.IGNORECASE)
_HINT = "e.g. 100/s or 600/min"
_KEY_LENGTH = 200  # RateLimitRow.key is String(200)
URL_FIELD = "POSTPILOT_RATE_LIMIT_URL"


class RateLimiterUnavailable(PostpilotError):
    """The rate limiter's backend (Redis, the metadata store) cannot be used right now."""


@dataclass(frozen=True)
class Limit:
    """``rate`` requests per second on average, up to ``burst`` at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (isinstance(self.rate, int | float) and math.isfinite(self.rate) and self.rate > 0):
            raise InputError(
                f"a rate must be a positive number of requests, not {self.rate!r}",
                field="rate",
                hint=_HINT,
            )
        if self.rate > _US:
            raise InputError(
                f"a rate of {self.rate:g}/s is above the most supported, 1000000/s",
                field="rate",
                hint=_HINT,
            )
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise InputError(
                f"a burst must be a whole number of requests, at least 1, not {self.burst!r}",
                field="burst",
                hint="Allow at least one request at once",
            )
        if self.burst * self.emission_us > _MAX_WINDOW_US:
            raise InputError(
                f"a burst of {self.burst} at {self.rate:g}/s takes more than 31 years to refill",
                field="burst",
                hint="Use a smaller burst or a higher rate",
            )

    @classmethod
    def parse(cls, text: str, *, burst: int | None = None) -> Limit:
        """Read ``"100/s"``, ``"600/min"``, ``"10000/h"``, ``"5/second"``, ``"1000/day"``.

        ``burst`` defaults to one second's worth of requests, at least 1: ``600/min``
        allows 10 at once, ``5/min`` allows 1.

        >>> Limit.parse("600/min")
        Limit(rate=10.0, burst=10)
        >>> Limit.parse("2.5/s", burst=1)
        Limit(rate=2.5, burst=1)
        """
        match = _LIMIT.fullmatch(text) if isinstance(text, str) else None
        unit = _UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise InputError(
                f"not a rate: {text!r}; write requests/unit, the unit one of s, min, h, day",
                field="rate",
                hint=_HINT,
            )
        rate = float(match.group(1)) / unit
        return cls(rate=rate, burst=max(1, math.ceil(rate)) if burst is None else burst)

    @property
    def emission_us(self) -> int:
        """The emission interval ``1/rate``, in whole microseconds (at least 1)."""
        return max(1, round(_US / self.rate))

    @property
    def emission_interval(self) -> float:
        """The emission interval ``1/rate`` in seconds, as the limiter applies it."""
        return self.emission_us / _US


@dataclass(frozen=True)
class Decision:
    """What the limiter decided for one request, and what the caller may tell the client."""

    allowed: bool
    limit: Limit
    remaining: int
    """How many more requests would be allowed right now."""
    retry_after: float
    """Seconds until the next request would be allowed (0.0 when this one was)."""
    reset_after: float
    """Seconds until the key's bucket is full again."""

    def headers(self) -> dict[str, str]:
        """The response headers, in the style of draft-ietf-httpapi-ratelimit-headers-06.

        ``RateLimit-Limit`` is the burst, ``RateLimit-Remaining`` the requests still
        allowed now, ``RateLimit-Reset`` the whole seconds (rounded up) until the bucket
        is full; a refused request adds ``Retry-After`` in whole seconds, rounded up and
        at least 1.
        """
        headers = {
            "RateLimit-Limit": str(self.limit.burst),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers


def gcra(stored: int | None, now: int, limit: Limit) -> tuple[Decision, int | None]:
    """Judge one request at ``now`` against the key's ``stored`` tat (microseconds).

    Returns the decision and the tat to store: None when nothing changes (refused).
    Every backend runs this same function (Redis runs its twin in Lua).
    """
    emission = limit.emission_us
    tolerance = limit.burst * emission
    tat = now if stored is None or stored < now else stored
    new_tat = tat + emission
    if new_tat - now <= tolerance:
        remaining = (tolerance - (new_tat - now)) // emission
        return Decision(True, limit, remaining, 0.0, (new_tat - now) / _US), new_tat
    retry = new_tat - now - tolerance
    return Decision(False, limit, 0, retry / _US, (tat - now) / _US), None


def storage_key(key: str) -> str:
    """``key`` as stored: unchanged when shorter than 200 characters, else a 200-character
    prefix-and-SHA-256 form (every key of 200 characters or more is hashed, so a stored key
    names exactly one original).

    >>> storage_key("consumer-7")
    'consumer-7'
    >>> len(storage_key("x" * 500))
    200
    """
    if len(key) < _KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: _KEY_LENGTH - len(digest) - 1]}#{digest}"


def _first_line(exc: BaseException) -> str:
    """An exception's message, one line, for a message of ours (no traceback, no dot)."""
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(". ") if lines else type(exc).__name__


def _now_us(now: float | None, clock: float) -> int:
    return round((clock if now is None else now) * _US)


class RateLimiter(ABC):
    """Judges requests against per-key limits; ``key`` names the backend."""

    key: ClassVar[str]

    @abstractmethod
    async def hit(self, key: str, limit: Limit, *, now: float | None = None) -> Decision:
        """Count one request for ``key`` at ``now`` (seconds; default: the backend's clock)."""

    async def aclose(self) -> None:  # noqa: B027 -- a backend with nothing to close keeps this
        """Release connections; the limiter is not used afterwards."""


class MemoryRateLimiter(RateLimiter):
    """State in this process only: right for one worker, wrong for several.

    Keys whose tat is past are swept whenever the table has doubled since the last
    sweep (and holds at least ``sweep_at`` keys), so memory stays proportional to
    the keys active within their burst window. The clock is ``time.monotonic()``.
    """

    key = "memory"

    def __init__(self, *, sweep_at: int = 1024) -> None:
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()
        self._min_sweep = sweep_at
        self._sweep_at = sweep_at

    def __len__(self) -> int:
        """How many keys hold state."""
        return len(self._tats)

    async def hit(self, key: str, limit: Limit, *, now: float | None = None) -> Decision:
        now_us = _now_us(now, time.monotonic())
        with self._lock:  # held without awaiting: safe for tasks and threads alike
            decision, new_tat = gcra(self._tats.get(key), now_us, limit)
            if new_tat is not None:
                self._tats[key] = new_tat
                if len(self._tats) >= self._sweep_at:
                    self._sweep(now_us)
        return decision

    def _sweep(self, now_us: int) -> None:
        self._tats = {k: tat for k, tat in self._tats.items() if tat > now_us}
        self._sweep_at = max(self._min_sweep, 2 * len(self._tats))


_GCRA_LUA = """
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local now
if ARGV[3] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[3])
end
local stored = redis.call('GET', KEYS[1])
local found = 0
local tat = now
if stored then
  found = 1
  stored = tonumber(stored)
  if stored > now then tat = stored end
else
  stored = 0
end
local new_tat = tat + emission
if new_tat - now <= tolerance then
  local ttl = math.ceil((new_tat - now) / 1000)
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl)
end
return {found, stored, now}
"""
_GCRA_SHA = hashlib.sha1(_GCRA_LUA.encode()).hexdigest()  # noqa: S324 -- Redis names scripts so


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``.

    >>> redact("redis://user:s3cret@cache:6379/0")
    'redis://user:***@cache:6379/0'
    """
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisRateLimiter(RateLimiter):
    """State in Redis under ``postpilot:rl:<key>``: every gateway machine shares it.

    Each hit is one atomic Lua script (EVALSHA, falling back to EVAL when the
    server does not hold it yet) that reads the Redis server's ``TIME``, so
    machines with skewed clocks agree; ``now`` overrides it (for tests). Keys
    expire (PEXPIRE) when their tat passes. Needs Redis 5 or later.
    """

    key = "redis"
    prefix = "postpilot:rl:"

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        from redis.asyncio import Redis

        self.url = url
        self.where = f"the rate limiter's Redis at {redact(url)}"
        try:
            self._redis = Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError as exc:
            raise ConfigError(
                f"not a Redis URL: {redact(url)!r} ({self._scrub(exc)})",
                field=URL_FIELD,
                hint="Use redis://host:6379/0 or rediss://user:password@host:6380/0",
            ) from exc

    async def hit(self, key: str, limit: Limit, *, now: float | None = None) -> Decision:
        from redis.exceptions import NoScriptError, RedisError

        name = self.prefix + storage_key(key)
        at = "" if now is None else str(_now_us(now, 0.0))  # "": the server's TIME
        args = (limit.emission_us, limit.burst * limit.emission_us, at)
        try:
            try:
                reply = await self._redis.evalsha(_GCRA_SHA, 1, name, *args)
            except NoScriptError:
                reply = await self._redis.eval(_GCRA_LUA, 1, name, *args)
        except RedisError as exc:
            raise RateLimiterUnavailable(
                f"{self.where} cannot be used: {self._scrub(exc)}",
                hint="Check that Redis is running and the URL is right; "
                f"or leave {URL_FIELD} unset to share limits through the metadata store",
            ) from exc
        found, stored, now_us = (int(value) for value in reply)
        decision, _ = gcra(stored if found else None, now_us, limit)
        return decision

    def _scrub(self, exc: BaseException) -> str:
        text = _first_line(exc)
        password = urllib.parse.urlsplit(self.url).password
        return text.replace(password, "***") if password else text

    async def aclose(self) -> None:
        await self._redis.aclose()


class StoreRateLimiter(RateLimiter):
    """State in the metadata store's ``rate_limits`` table, shared by every process
    that opens the same SQLite file or PostgreSQL database.

    A hit reads the key's tat and, when allowed, writes the new one with a
    compare-and-swap (``UPDATE ... WHERE key = :k AND tat = :old``, or an INSERT
    for a new key); a lost race (no row updated, or a duplicate key) retries with
    a fresh read. Refusals write nothing. Rows whose tat is more than a minute
    past are deleted about once a minute. The clock is ``time.time()``, so the
    workers sharing a store must have synchronised clocks. The blocking work runs
    in a worker thread. On SQLite, pass the store's engine
    (:func:`postpilot.store.engine.make_engine`): its ``BEGIN IMMEDIATE`` queues
    concurrent writers instead of failing them with "database is locked".
    """

    key = "store"
    attempts = 100
    sweep_every_us = 60 * _US

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._next_sweep: int | None = None

    async def hit(self, key: str, limit: Limit, *, now: float | None = None) -> Decision:
        now_us = _now_us(now, time.time())
        return await anyio.to_thread.run_sync(self._hit, storage_key(key), limit, now_us)

    def _hit(self, key: str, limit: Limit, now_us: int) -> Decision:
        try:
            self._maybe_sweep(now_us)
            for _ in range(self.attempts):
                try:
                    decision = self._attempt(key, limit, now_us)
                except IntegrityError:
                    continue  # another process inserted the key first: read it again
                if decision is not None:
                    return decision
        except DBAPIError as exc:
            raise RateLimiterUnavailable(
                f"the rate limiter's metadata store at {describe(self.engine)} cannot be used: "
                f"{_first_line(exc.orig or exc)}",
                hint=f"Check the store, or set {URL_FIELD} to a redis:// URL",
            ) from exc
        raise RateLimiterUnavailable(
            f"the rate limiter lost {self.attempts} races in a row for one key in the "
            f"metadata store at {describe(self.engine)}",
            hint=f"Too many workers share one key; set {URL_FIELD} to a redis:// URL",
        )

    def _attempt(self, key: str, limit: Limit, now_us: int) -> Decision | None:
        """One read and compare-and-swap; None when another process changed the key."""
        with self.engine.begin() as conn:
            old = conn.execute(select(Row.tat).where(Row.key == key)).scalar_one_or_none()
            decision, new_tat = gcra(None if old is None else round(old * _US), now_us, limit)
            if new_tat is None:
                return decision
            if old is None:
                conn.execute(insert(Row).values(key=key, tat=new_tat / _US))
                return decision
            swapped = conn.execute(
                update(Row).where(Row.key == key, Row.tat == old).values(tat=new_tat / _US)
            )
            return decision if swapped.rowcount == 1 else None

    def _maybe_sweep(self, now_us: int) -> None:
        if self._next_sweep is not None and now_us < self._next_sweep:
            return
        self._next_sweep = now_us + self.sweep_every_us
        with self.engine.begin() as conn:
            conn.execute(delete(Row).where(Row.tat < (now_us - self.sweep_every_us) / _US))


def rate_limiter(url: str | None, *, engine: Engine | None, workers: int) -> RateLimiter:
    """The limiter ``POSTPILOT_RATE_LIMIT_URL`` asks for.

    ``redis://`` or ``rediss://`` URLs share limits through Redis; ``memory`` keeps
    them in this process; ``store`` shares them through the metadata store
    (``engine``). Unset, one worker gets ``memory`` and several get ``store``, so
    a limit holds across workers with nothing configured.

    >>> rate_limiter(None, engine=None, workers=1).key
    'memory'
    """
    if url is None:
        url = "memory" if workers <= 1 else "store"
    url = url.strip()
    scheme = url.partition("://")[0].lower() if "://" in url else None
    if scheme in ("redis", "rediss"):
        return RedisRateLimiter(url)
    if url.lower() == "memory":
        return MemoryRateLimiter()
    if url.lower() == "store":
        if engine is None:
            raise ConfigError(
                "rate limits shared through the metadata store need the store's engine",
                field=URL_FIELD,
                hint="Pass the store's engine, or set the URL to memory or redis://host:6379/0",
            )
        return StoreRateLimiter(engine)
    raise ConfigError(
        f"unknown rate limiter {redact(url)!r}; accepted: redis://host:port/db, "
        "rediss://host:port/db, memory, store",
        field=URL_FIELD,
        hint="Use a redis:// URL to share limits across machines, store to share them "
        "through the metadata store, memory for one process; or leave it unset",
    )
