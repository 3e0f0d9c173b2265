"""Read the next batches on a background thread while the current one is profiled.

Parquet and CSV decoding release the GIL, so reading overlaps with sketching
on the second core. At most ``depth`` batches wait in the queue, which bounds
memory. Exceptions raised by the reader come out of the consumer's loop as they
were raised; if the consumer stops early, the reader is closed on its thread.

>>> with prefetched(iter(range(3))) as items:
...     list(items)
[0, 1, 2]
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")

_DONE: Final = object()
_POLL_SECONDS: Final = 0.1


@contextmanager
def prefetched(source: Iterator[T], depth: int = 2) -> Generator[Iterator[T], None, None]:
    """Iterate ``source`` on a daemon thread, ``depth`` items ahead of the consumer."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                if not _put(items, item, stop):
                    return
            _put(items, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(items, _Failure(exc), stop)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="postpilot-prefetch", daemon=True)
    thread.start()

    def consume() -> Iterator[T]:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]

    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _put(items: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            items.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
