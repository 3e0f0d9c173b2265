"""Retries with backoff, against a real receiver that fails, refuses or is down."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpilot.errors import InputError
from postpilot.policies.channels import Channel, Delivery, Message, make_channel
from postpilot.policies.delivery import deliver, retry_delay
from tests.policies.channels.peers import Receiver, dead_port

MESSAGE = Message(id="n-7", subject="drift", text="3 of 8 features drifted")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def _hook(url: str) -> Channel:
    return make_channel("ops", {"type": "webhook", "url": url, "allow_private": True})


class Attempts:
    def __init__(self) -> None:
        self.seen: list[tuple[int, Delivery]] = []
        self.sleeps: list[float] = []

    def on_attempt(self, n: int, delivery: Delivery) -> None:
        self.seen.append((n, delivery))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_two_503s_then_delivered_on_the_third_attempt(receiver: Receiver) -> None:
    receiver.fail(2, 503)
    log = Attempts()
    delivery = deliver(_hook(receiver.url()), MESSAGE, on_attempt=log.on_attempt, sleep=log.sleep)
    assert delivery.ok
    assert [(n, d.ok, d.status) for n, d in log.seen] == [
        (1, False, 503),
        (2, False, 503),
        (3, True, 200),
    ]
    assert len(receiver.requests) == 3
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"n-7"}
    assert len(log.sleeps) == 2
    assert 0 <= log.sleeps[0] <= 0.5
    assert 0 <= log.sleeps[1] <= 1.0


def test_a_400_is_not_retried(receiver: Receiver) -> None:
    receiver.answer(400, b"bad payload")
    log = Attempts()
    delivery = deliver(_hook(receiver.url()), MESSAGE, on_attempt=log.on_attempt, sleep=log.sleep)
    assert (delivery.ok, delivery.status, delivery.retryable) == (False, 400, False)
    assert [n for n, _ in log.seen] == [1]
    assert log.sleeps == []
    assert len(receiver.requests) == 1


def test_a_closed_port_is_retried_then_fails() -> None:
    log = Attempts()
    delivery = deliver(
        _hook(f"http://127.0.0.1:{dead_port()}/hook"),
        MESSAGE,
        attempts=3,
        on_attempt=log.on_attempt,
        sleep=log.sleep,
    )
    assert (delivery.ok, delivery.retryable) == (False, True)
    assert [(n, d.ok) for n, d in log.seen] == [(1, False), (2, False), (3, False)]
    assert delivery is log.seen[-1][1]
    assert len(log.sleeps) == 2


def test_delivered_once_the_receiver_comes_back(receiver: Receiver) -> None:
    receiver.stop()
    log = Attempts()

    def sleep(seconds: float) -> None:
        log.sleep(seconds)
        if len(log.sleeps) == 2:
            receiver.start()  # back on the same port after two failed attempts

    delivery = deliver(_hook(receiver.url()), MESSAGE, on_attempt=log.on_attempt, sleep=sleep)
    assert delivery.ok
    assert [d.ok for _, d in log.seen] == [False, False, True]
    assert all(d.retryable for _, d in log.seen[:2])
    assert len(receiver.requests) == 1


def test_retry_after_is_waited_for_up_to_max_backoff(receiver: Receiver) -> None:
    receiver.fail(1, 429, Retry_After="20")
    receiver.fail(1, 503, Retry_After="2")
    log = Attempts()
    delivery = deliver(_hook(receiver.url()), MESSAGE, max_backoff=10.0, sleep=log.sleep)
    assert delivery.ok
    assert log.sleeps[0] == 10.0
    assert 2.0 <= log.sleeps[1] <= 10.0


def test_one_attempt_means_no_retry() -> None:
    log = Attempts()
    delivery = deliver(
        _hook(f"http://127.0.0.1:{dead_port()}/"), MESSAGE, attempts=1, sleep=log.sleep
    )
    assert not delivery.ok
    assert log.sleeps == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"attempts": 0}, "attempts"),
        ({"attempts": 2.5}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"backoff": -1}, "backoff"),
        ({"max_backoff": float("nan")}, "max_backoff"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as caught:
        deliver(make_channel("store", {}), MESSAGE, **options)  # type: ignore[arg-type]
    assert caught.value.field == field


@given(
    attempt=st.integers(1, 200),
    backoff=st.floats(0, 100),
    max_backoff=st.floats(0, 1000),
    retry_after=st.none() | st.floats(0, 10_000),
    seed=st.integers(0, 2**32),
)
def test_retry_delay_is_full_jitter_under_the_doubling_cap(
    attempt: int, backoff: float, max_backoff: float, retry_after: float | None, seed: int
) -> None:
    delay = retry_delay(
        attempt,
        backoff=backoff,
        max_backoff=max_backoff,
        retry_after=retry_after,
        rng=random.Random(seed),
    )
    ceiling = min(max_backoff, backoff * 2.0 ** min(attempt - 1, 62))
    floor = 0.0 if retry_after is None else min(retry_after, max_backoff)
    assert floor <= delay <= max(ceiling, floor)
    assert delay <= max_backoff


def test_the_jitter_spreads_the_waits() -> None:
    rng = random.Random(1)
    waits = [retry_delay(4, backoff=1.0, max_backoff=30.0, rng=rng) for _ in range(200)]
    assert min(waits) < 1.0
    assert max(waits) > 7.0
