"""Reading ahead on a thread: order, errors, and early stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from postpilot.profiles.prefetch import prefetched


def test_items_come_in_order() -> None:
    with prefetched(iter(range(100)), depth=3) as items:
        assert list(items) == list(range(100))


def test_reader_errors_reach_the_consumer() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("broken block")

    seen: list[int] = []

    def consume() -> None:
        with prefetched(failing()) as items:
            seen.extend(items)

    with pytest.raises(ValueError, match="broken block"):
        consume()
    assert seen == [1]


def test_stopping_early_closes_the_reader() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    with prefetched(endless(), depth=2) as items:
        for item in items:
            if item == 5:
                break
    assert closed.wait(5)
    assert all(t.name != "postpilot-prefetch" for t in threading.enumerate())


def test_consumer_errors_stop_the_reader() -> None:
    closed = threading.Event()

    def slow() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    def consume() -> None:
        with prefetched(slow()) as items:
            for _ in items:
                raise RuntimeError("sketching failed")

    with pytest.raises(RuntimeError, match="sketching failed"):
        consume()
    assert closed.wait(5)
