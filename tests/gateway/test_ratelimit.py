"""The rate limiter: one behavioural suite every backend passes (memory, Redis, the store
on SQLite and on PostgreSQL), a property test against a reference leaky bucket, and
several OS processes hammering one key to prove a limit holds across workers."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select, update

from postpilot.errors import ConfigError, InputError
from postpilot.gateway import ratelimit
from postpilot.gateway.ratelimit import (
    Decision,
    Limit,
    MemoryRateLimiter,
    RateLimiter,
    RateLimiterUnavailable,
    RedisRateLimiter,
    StoreRateLimiter,
    rate_limiter,
    storage_key,
)
from postpilot.store.engine import make_engine
from postpilot.store.migrate import ensure_schema
from postpilot.store.models import RateLimitRow

REDIS_URL = "redis://127.0.0.1:6379/15"
T0 = 1_700_000_000.25  # an epoch-sized instant: exactness must hold at this magnitude
R = TypeVar("R")


@dataclass
class Backend:
    """One limiter implementation; ``run`` gives a scenario a fresh limiter in its own loop."""

    name: str
    make: Callable[[], RateLimiter]
    prefix: str

    def run(self, scenario: Callable[[RateLimiter], Awaitable[R]]) -> R:
        async def main() -> R:
            limiter = self.make()
            try:
                return await scenario(limiter)
            finally:
                await limiter.aclose()

        return asyncio.run(main())

    def hits(self, key: str, limit: Limit, times: list[float]) -> list[Decision]:
        async def scenario(limiter: RateLimiter) -> list[Decision]:
            return [await limiter.hit(self.prefix + key, limit, now=t) for t in times]

        return self.run(scenario)


def store_engine(url: str) -> Engine:
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its Redis keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for name in client.scan_iter(match=f"{RedisRateLimiter.prefix}{prefix}*"):
            client.delete(name)
    finally:
        client.close()


@pytest.fixture(
    params=["memory", "redis", "store-sqlite", pytest.param("store-pg", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path, redis_prefix: str) -> Iterator[Backend]:
    if request.param == "memory":
        memory = MemoryRateLimiter()  # one instance for the whole test, like one process
        yield Backend("memory", lambda: memory, redis_prefix)
    elif request.param == "redis":
        yield Backend("redis", lambda: RedisRateLimiter(REDIS_URL), redis_prefix)
    else:
        url = (
            f"sqlite:///{tmp_path / 'store.db'}"
            if request.param == "store-sqlite"
            else request.getfixturevalue("postgres_url")
        )
        engine = store_engine(url)
        try:
            yield Backend(request.param, lambda: StoreRateLimiter(engine), redis_prefix)
        finally:
            engine.dispose()


# -- the behavioural suite every backend passes ------------------------------------------


def test_a_fresh_key_allows_exactly_burst_at_one_instant(backend: Backend) -> None:
    limit = Limit(rate=2, burst=5)
    decisions = backend.hits("k", limit, [T0] * 7)
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    assert [d.retry_after for d in decisions] == [0.0] * 5 + [0.5, 0.5]
    assert [d.reset_after for d in decisions] == [0.5, 1.0, 1.5, 2.0, 2.5, 2.5, 2.5]


def test_exactly_one_more_after_one_emission_interval(backend: Backend) -> None:
    limit = Limit(rate=4, burst=2)
    times = [T0, T0, T0 + 0.249999, T0 + 0.25, T0 + 0.25, T0 + 0.5, T0 + 0.5]
    decisions = backend.hits("k", limit, times)
    assert [d.allowed for d in decisions] == [True, True, False, True, False, True, False]
    assert decisions[2].retry_after == pytest.approx(0.000001, abs=1e-9)
    assert decisions[4].retry_after == 0.25


def test_refused_requests_do_not_consume(backend: Backend) -> None:
    limit = Limit(rate=1, burst=1)
    times = [T0] + [T0 + 0.5] * 20 + [T0 + 1.0, T0 + 1.0]
    decisions = backend.hits("k", limit, times)
    assert [d.allowed for d in decisions] == [True] + [False] * 20 + [True, False]
    assert {d.retry_after for d in decisions[1:21]} == {0.5}


def test_an_idle_key_refills_to_a_full_burst_and_no_more(backend: Backend) -> None:
    limit = Limit(rate=10, burst=3)
    decisions = backend.hits("k", limit, [T0] * 3 + [T0 + 3600] * 4)
    assert [d.allowed for d in decisions] == [True] * 3 + [True] * 3 + [False]
    assert decisions[3].remaining == 2


def test_remaining_counts_the_requests_still_allowed_now(backend: Backend) -> None:
    limit = Limit(rate=1, burst=4)
    first = backend.hits("k", limit, [T0, T0, T0, T0 + 1.5])
    assert [d.remaining for d in first] == [3, 2, 1, 1]  # 1.5 intervals back: one whole one
    rest = backend.hits("k", limit, [T0 + 1.5] * 2)
    assert [d.allowed for d in rest] == [True, False]


def test_keys_are_independent(backend: Backend) -> None:
    limit = Limit(rate=1, burst=2)
    assert [d.allowed for d in backend.hits("a", limit, [T0] * 3)] == [True, True, False]
    assert [d.allowed for d in backend.hits("b", limit, [T0] * 3)] == [True, True, False]


def test_keys_longer_than_the_store_column_work_and_stay_distinct(backend: Backend) -> None:
    limit = Limit(rate=1, burst=1)
    one, two = "x" * 300 + "1", "x" * 300 + "2"
    assert [d.allowed for d in backend.hits(one, limit, [T0, T0])] == [True, False]
    assert [d.allowed for d in backend.hits(two, limit, [T0, T0])] == [True, False]


def test_headers_of_allowed_and_refused_requests(backend: Backend) -> None:
    allowed, refused = backend.hits("k", Limit(rate=0.4, burst=1), [T0, T0 + 1])
    assert allowed.headers() == {
        "RateLimit-Limit": "1",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "3",  # 2.5 s, rounded up
    }
    assert refused.retry_after == 1.5
    assert refused.headers() == {
        "RateLimit-Limit": "1",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "2",
        "Retry-After": "2",
    }


def test_the_backends_own_clock_is_used_without_now(backend: Backend) -> None:
    limit = Limit(rate=0.001, burst=2)

    async def scenario(limiter: RateLimiter) -> list[Decision]:
        return [await limiter.hit(backend.prefix + "k", limit) for _ in range(3)]

    decisions = backend.run(scenario)
    assert [d.allowed for d in decisions] == [True, True, False]
    assert 999 < decisions[2].retry_after <= 1000


# -- decisions and limits, without a backend ----------------------------------------------


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one() -> None:
    limit = Limit(rate=1, burst=1)
    assert Decision(False, limit, 0, 0.001, 0.5).headers()["Retry-After"] == "1"
    assert Decision(False, limit, 0, 2.0, 2.0).headers()["Retry-After"] == "2"
    assert Decision(False, limit, 0, 2.000001, 3.0).headers()["Retry-After"] == "3"
    assert "Retry-After" not in Decision(True, limit, 0, 0.0, 1.0).headers()
    assert Decision(True, limit, 0, 0.0, 0.0).headers()["RateLimit-Reset"] == "0"


@pytest.mark.parametrize(
    ("text", "rate", "burst"),
    [
        ("100/s", 100.0, 100),
        ("600/min", 10.0, 10),
        ("10000/h", 10000 / 3600, 3),
        ("5/second", 5.0, 5),
        ("5/min", 5 / 60, 1),
        (" 2.5 / SEC ", 2.5, 3),
        ("86400/day", 1.0, 1),
    ],
)
def test_parse_reads_a_rate_and_defaults_the_burst_to_one_seconds_worth(
    text: str, rate: float, burst: int
) -> None:
    assert Limit.parse(text) == Limit(rate=rate, burst=burst)


def test_parse_takes_an_explicit_burst() -> None:
    assert Limit.parse("600/min", burst=50) == Limit(rate=10.0, burst=50)


@pytest.mark.parametrize("text", ["", "100", "/s", "100/fortnight", "-1/s", "0/s", "1e3/s", "a/s"])
def test_parse_refuses_what_is_not_a_rate(text: str) -> None:
    with pytest.raises(InputError) as info:
        Limit.parse(text)
    assert info.value.field == "rate"
    assert info.value.hint == "e.g. 100/s or 600/min"


@pytest.mark.parametrize(
    ("rate", "burst", "field"),
    [
        (float("inf"), 1, "rate"),
        (float("nan"), 1, "rate"),
        (0, 1, "rate"),
        (2_000_000, 1, "rate"),
        (1, 0, "burst"),
        (1, 1.5, "burst"),
        (1, True, "burst"),
        (1e-9, 10, "burst"),  # centuries to refill
    ],
)
def test_a_limit_refuses_impossible_values(rate: float, burst: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        Limit(rate=rate, burst=burst)
    assert info.value.field == field


def test_storage_key_is_short_and_injective() -> None:
    assert storage_key("k" * 199) == "k" * 199
    hashed = {storage_key("k" * 200), storage_key("k" * 201), storage_key("k" * 300 + "j")}
    assert len(hashed) == 3
    assert {len(k) for k in hashed} == {200}
    assert "k" * 200 not in hashed  # a 200-character key is hashed too: no collision


# -- the reference model -------------------------------------------------------------------


def leaky_bucket(arrivals_us: list[int], emission: int, burst: int) -> list[bool]:
    """The continuous-state leaky bucket of ITU-T I.371, GCRA's textbook twin."""
    level, last, allowed = 0, None, []
    for t in arrivals_us:
        drained = level if last is None else max(0, level - (t - last))
        ok = drained <= (burst - 1) * emission
        allowed.append(ok)
        if ok:
            level, last = drained + emission, t
    return allowed


def memory_hits(limit: Limit, times: list[float]) -> list[bool]:
    limiter = MemoryRateLimiter()

    async def run() -> list[bool]:
        return [(await limiter.hit("k", limit, now=t)).allowed for t in times]

    return asyncio.run(run())


emissions = st.integers(min_value=1_000, max_value=2_000_000)  # 1/rate in microseconds
gaps = st.lists(st.integers(min_value=0, max_value=3_000_000), min_size=1, max_size=60)


def arrivals(start: int, gaps_us: list[int]) -> list[int]:
    times, t = [], start
    for gap in gaps_us:
        t += gap
        times.append(t)
    return times


@given(emission=emissions, burst=st.integers(1, 8), gaps_us=gaps)
def test_memory_limiter_matches_the_leaky_bucket(
    emission: int, burst: int, gaps_us: list[int]
) -> None:
    limit = Limit(rate=1_000_000 / emission, burst=burst)
    assert limit.emission_us == emission
    times = arrivals(round(T0 * 1_000_000), gaps_us)
    expected = leaky_bucket(times, emission, burst)
    assert memory_hits(limit, [t / 1_000_000 for t in times]) == expected


@given(emission=emissions, burst=st.integers(1, 8), gaps_us=gaps)
def test_no_window_admits_more_than_burst_plus_rate_times_its_length(
    emission: int, burst: int, gaps_us: list[int]
) -> None:
    limit = Limit(rate=1_000_000 / emission, burst=burst)
    times = arrivals(0, gaps_us)
    allowed = [
        t for t, ok in zip(times, memory_hits(limit, [t / 1e6 for t in times]), strict=True) if ok
    ]
    for i, start in enumerate(allowed):
        for j in range(i, len(allowed)):
            window = allowed[j] - start
            assert j - i + 1 <= burst + window // emission


@given(emission=emissions, burst=st.integers(1, 8), extra=st.lists(st.integers(0, 10**6)))
def test_requests_spaced_by_the_interval_are_all_allowed(
    emission: int, burst: int, extra: list[int]
) -> None:
    limit = Limit(rate=1_000_000 / emission, burst=burst)
    times = arrivals(0, [emission + e for e in extra] or [0])
    assert all(memory_hits(limit, [t / 1e6 for t in times]))


# -- backend specifics -------------------------------------------------------------------


def test_memory_limiter_forgets_keys_whose_tat_is_past() -> None:
    limiter = MemoryRateLimiter(sweep_at=8)
    limit = Limit(rate=1, burst=1)

    async def run() -> None:
        for i in range(7):
            await limiter.hit(f"old-{i}", limit, now=0.0)
        assert len(limiter) == 7
        await limiter.hit("new-1", limit, now=100.0)  # the 8th key: a sweep
        await limiter.hit("new-2", limit, now=100.0)

    asyncio.run(run())
    assert len(limiter) == 2


def test_redis_key_name_expiry_and_server_clock(redis_prefix: str) -> None:
    limit = Limit(rate=0.5, burst=3)

    async def run() -> tuple[int, int, float]:
        limiter = RedisRateLimiter(REDIS_URL)
        try:
            await limiter.hit(redis_prefix + "k", limit, now=T0)
            await limiter.hit(redis_prefix + "k", limit, now=T0)
            client = redis.asyncio.Redis.from_url(REDIS_URL)
            name = f"postpilot:rl:{redis_prefix}k"
            stored, ttl = int(await client.get(name) or 0), await client.pttl(name)
            await limiter.hit(redis_prefix + "k2", limit)  # the server's clock
            seconds, micros = await client.time()
            tat = int(await client.get(f"postpilot:rl:{redis_prefix}k2") or 0)
            await client.aclose()
            return stored, ttl, (tat - (seconds * 1_000_000 + micros)) / 1e6
        finally:
            await limiter.aclose()

    stored, ttl, ahead = asyncio.run(run())
    assert stored == round(T0 * 1_000_000) + 4_000_000  # two intervals of 2 s
    assert 3_000 < ttl <= 4_000
    assert 1.5 < ahead <= 2.0  # tat = the server's now + one interval


def test_redis_falls_back_to_eval_when_the_script_is_unknown(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_GCRA_SHA", "0" * 40)  # never loaded: NOSCRIPT
    backend = Backend("redis", lambda: RedisRateLimiter(REDIS_URL), redis_prefix)
    decisions = backend.hits("k", Limit(rate=1, burst=2), [T0] * 3)
    assert [d.allowed for d in decisions] == [True, True, False]


def test_store_sweeps_rows_idle_for_more_than_a_minute(tmp_path: Path) -> None:
    engine = store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    limit = Limit(rate=1, burst=1)

    async def run() -> None:
        limiter = StoreRateLimiter(engine)
        await limiter.hit("old", limit, now=T0)  # the first hit sweeps; tat T0 + 1
        await limiter.hit("idle", limit, now=T0 + 30)  # no sweep yet; tat T0 + 31
        await limiter.hit("recent", limit, now=T0 + 61.5)  # sweeps tats before T0 + 1.5

    try:
        asyncio.run(run())
        with engine.connect() as conn:
            keys = set(conn.scalars(select(RateLimitRow.key)))
    finally:
        engine.dispose()
    assert keys == {"idle", "recent"}


def interleaved(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, rival: Callable[[Any], object]
) -> None:
    """Run ``rival`` (another process's write) between the limiter's read and its write."""
    judge, rivals = ratelimit.gcra, [rival]

    def gcra(stored: int | None, now: int, limit: Limit) -> tuple[Decision, int | None]:
        if rivals:
            with engine.begin() as conn:
                rivals.pop()(conn)
        return judge(stored, now, limit)

    monkeypatch.setattr(ratelimit, "gcra", gcra)


@pytest.mark.postgres
def test_store_compare_and_swap_retries_when_another_process_wrote_first(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store_engine(postgres_url)
    limit = Limit(rate=1, burst=2)
    backend = Backend("store-pg", lambda: StoreRateLimiter(engine), "")
    try:
        assert backend.hits("k", limit, [T0])[0].allowed  # tat T0 + 1
        interleaved(  # meanwhile another worker takes the last request of the burst
            monkeypatch,
            engine,
            lambda conn: conn.execute(
                update(RateLimitRow).where(RateLimitRow.key == "k").values(tat=T0 + 2)
            ),
        )
        decision = backend.hits("k", limit, [T0])[0]
        with engine.connect() as conn:
            tat = conn.scalar(select(RateLimitRow.tat).where(RateLimitRow.key == "k"))
    finally:
        engine.dispose()
    assert not decision.allowed
    assert decision.retry_after == 1.0
    assert tat == T0 + 2


@pytest.mark.postgres
def test_store_insert_race_retries_when_another_process_inserted_first(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store_engine(postgres_url)
    interleaved(
        monkeypatch,
        engine,
        lambda conn: conn.execute(insert(RateLimitRow).values(key="k", tat=T0 + 1)),
    )
    backend = Backend("store-pg", lambda: StoreRateLimiter(engine), "")
    try:
        decisions = backend.hits("k", Limit(rate=1, burst=2), [T0, T0])
    finally:
        engine.dispose()
    assert [d.allowed for d in decisions] == [True, False]
    assert decisions[0].remaining == 0  # the rival's request counted


def test_redis_errors_never_echo_the_password() -> None:
    limiter = RedisRateLimiter("redis://user:hunter2@127.0.0.1:1/0")
    assert limiter._scrub(ValueError("bad auth hunter2\nmore")) == "bad auth ***"
    asyncio.run(limiter.aclose())


def test_redis_unreachable_is_a_clean_error_without_the_password() -> None:
    async def run() -> None:
        limiter = RedisRateLimiter("redis://user:hunter2@127.0.0.1:1/0", timeout=1)
        try:
            await limiter.hit("k", Limit(rate=1, burst=1))
        finally:
            await limiter.aclose()

    with pytest.raises(RateLimiterUnavailable) as info:
        asyncio.run(run())
    message = str(info.value)
    assert "Redis at redis://user:***@127.0.0.1:1/0 cannot be used" in message
    assert "hunter2" not in message
    assert "\n" not in message
    assert "Traceback" not in message


def test_a_store_without_the_table_is_a_clean_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated

    async def run() -> None:
        await StoreRateLimiter(engine).hit("k", Limit(rate=1, burst=1))

    try:
        with pytest.raises(RateLimiterUnavailable, match=r"metadata store at .*empty\.db"):
            asyncio.run(run())
    finally:
        engine.dispose()


# -- choosing a backend --------------------------------------------------------------------


def chosen(url: str | None, *, workers: int = 1, engine: Engine | None = None) -> RateLimiter:
    limiter = rate_limiter(url, engine=engine, workers=workers)
    asyncio.run(limiter.aclose())
    return limiter


def test_rate_limiter_chooses_the_backend(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        assert type(chosen(None, workers=1, engine=engine)) is MemoryRateLimiter
        assert type(chosen(None, workers=4, engine=engine)) is StoreRateLimiter
        assert type(chosen("memory", workers=4)) is MemoryRateLimiter
        assert type(chosen("store", engine=engine)) is StoreRateLimiter
        assert type(chosen("redis://127.0.0.1:6379/0")) is RedisRateLimiter
        assert type(chosen("rediss://u:p@cache.example:6380/1")) is RedisRateLimiter
    finally:
        engine.dispose()
    assert [cls.key for cls in (MemoryRateLimiter, RedisRateLimiter, StoreRateLimiter)] == [
        "memory",
        "redis",
        "store",
    ]


@pytest.mark.parametrize("url", ["memcached://cache:11211", "", "postgresql://u:pw@db/x"])
def test_rate_limiter_refuses_other_urls(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        rate_limiter(url, engine=None, workers=1)
    assert info.value.field == "POSTPILOT_RATE_LIMIT_URL"
    assert "redis://" in str(info.value)
    assert "memory" in str(info.value)
    assert "store" in str(info.value)
    assert "pw" not in str(info.value)


def test_the_store_limiter_needs_an_engine() -> None:
    with pytest.raises(ConfigError, match="store's engine"):
        rate_limiter(None, engine=None, workers=2)


# -- across processes ------------------------------------------------------------------------


PROCESSES = 4


@dataclass
class Workers:
    """OS processes started once per module (spawned, so nothing is shared by fork)."""

    pool: Any
    manager: Any

    def hammer(self, kind: str, url: str, key: str, *, attempts: int = 30) -> int:
        """How many requests the processes, hitting ``key`` at once, got allowed in total."""
        start = self.manager.Barrier(PROCESSES)  # each task holds its process until all start
        tasks = [
            self.pool.apply_async(hammer, (kind, url, key, attempts, start))
            for _ in range(PROCESSES)
        ]
        counts = [task.get(timeout=60) for task in tasks]
        assert len({pid for pid, _ in counts}) == PROCESSES  # really 4 processes at once
        return sum(allowed for _, allowed in counts)


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        yield Workers(pool, manager)


def hammer(kind: str, url: str, key: str, attempts: int, start: Any) -> tuple[int, int]:
    """In a worker process: ``attempts`` hits on ``key`` as fast as it can; (pid, allowed)."""
    limit = Limit(rate=0.001, burst=50)  # refill during the test is negligible

    async def run() -> int:
        engine = make_engine(url) if kind == "store" else None
        limiter: RateLimiter = StoreRateLimiter(engine) if engine else RedisRateLimiter(url)
        try:
            start.wait(timeout=30)
            return sum([(await limiter.hit(key, limit)).allowed for _ in range(attempts)])
        finally:
            await limiter.aclose()
            if engine is not None:
                engine.dispose()

    return os.getpid(), asyncio.run(run())


def test_the_limit_holds_across_processes_through_redis(
    workers: Workers, redis_prefix: str
) -> None:
    assert workers.hammer("redis", REDIS_URL, redis_prefix + "shared") == 50


def test_the_limit_holds_across_processes_through_a_sqlite_store(
    workers: Workers, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store_engine(url).dispose()
    assert workers.hammer("store", url, "shared") == 50


@pytest.mark.postgres
def test_the_limit_holds_across_processes_through_a_postgresql_store(
    workers: Workers, postgres_url: str
) -> None:
    store_engine(postgres_url).dispose()
    assert workers.hammer("store", postgres_url, "shared") == 50
