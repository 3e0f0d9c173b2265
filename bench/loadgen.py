"""An HTTP/1.1 load generator for ``bench/gateway_bench.py``: open loop or closed loop.

Run as a separate process (``python bench/loadgen.py < spec.json``, one JSON result on
stdout) so it never shares an interpreter with the server it loads. It speaks just
enough HTTP/1.1 over asyncio streams (uvloop when installed) to keep ``connections``
keep-alive connections busy: one pre-built request per body, a response read by its
``Content-Length``. A general client (httpx) costs several times more CPU per
request than the servers measured here, and on a 2-CPU machine the generator must
not be what saturates.

Two modes:

- ``closed``: every connection sends its next request as soon as the previous answer
  is in, for ``warmup + duration`` seconds; throughput and latency are counted for
  answers received in the last ``duration`` seconds. This finds a server's maximum
  throughput.
- ``open``: requests are *scheduled* at a constant ``rate`` for ``duration`` seconds
  and sent on schedule whether or not earlier ones were answered (a free connection
  takes the next due request; when all are busy the request waits in the queue).
  Latency runs from the scheduled send time, so a server that stalls is charged for
  the requests that queued behind the stall (no coordinated omission, as in wrk2).
  A request not answered ``grace`` seconds after the last one was due is a timeout.

The spec: ``{"host", "port", "path", "headers": {...}, "bodies": [str, ...], "mode",
"rate", "duration", "warmup", "connections", "grace", "cpu"}``; the result: counts by
status, errors, achieved throughput (answers with status 200 per second), latency
percentiles in milliseconds, the dispatcher's lateness (how late the generator itself
sent requests: the floor of what it can measure) and the CPU seconds it used.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["Connection", "percentile", "request_bytes", "run", "summarize"]

clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def request_bytes(host: str, port: int, path: str, headers: dict[str, str], body: str) -> bytes:
    """One complete HTTP/1.1 POST request with a JSON body.

    >>> request_bytes("127.0.0.1", 80, "/p", {}, "{}").split(b"\\r\\n")[0]
    b'POST /p HTTP/1.1'
    """
    payload = body.encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        *(f"{name}: {value}" for name, value in headers.items()),
        f"Content-Length: {len(payload)}",
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + payload


class Connection:
    """One keep-alive connection; :meth:`call` sends a request and returns the status."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def call(self, request: bytes) -> int:
        if self._writer is None or self._reader is None:
            await self.open()
        assert self._reader is not None
        assert self._writer is not None
        try:
            self._writer.write(request)
            head = await self._reader.readuntil(b"\r\n\r\n")
            found = _LENGTH.search(head)
            if found is None:
                raise ValueError("a response without Content-Length")
            length = int(found.group(1))
            if length:
                await self._reader.readexactly(length)
            if b"\r\nconnection: close" in head.lower():
                self.close()
            return int(head[9:12])
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            raise

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values (``share`` in 0..1).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.99)
    (2.0, 4.0)
    """
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * share // 1))
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


def summarize(
    results: list[tuple[float, float, int]],
    *,
    window: tuple[float, float],
    scheduled: int | None,
    lateness: list[float],
    cpu: float,
) -> dict[str, Any]:
    """Counts and latency (ms) of the answers ``(start, done, status)`` done within ``window``."""
    begin, end = window
    counted = [r for r in results if begin <= r[1] <= end]
    statuses = Counter(str(status) for _, _, status in counted)
    ok = sorted((done - start) * 1000 for start, done, status in counted if status == 200)
    late = sorted(x * 1000 for x in lateness)
    span = end - begin
    summary: dict[str, Any] = {
        "statuses": dict(statuses),
        "ok": len(ok),
        "answered_ok": sum(status == 200 for _, _, status in results),
        "errors": len(counted) - len(ok),
        "throughput": len(ok) / span if span > 0 else 0.0,
        "p50_ms": percentile(ok, 0.50),
        "p90_ms": percentile(ok, 0.90),
        "p99_ms": percentile(ok, 0.99),
        "max_ms": ok[-1] if ok else float("nan"),
        "seconds": span,
        "generator_cpu_s": cpu,
        "lateness_p50_ms": percentile(late, 0.50),
        "lateness_p99_ms": percentile(late, 0.99),
    }
    if scheduled is not None:
        summary["scheduled"] = scheduled
        summary["timeouts"] = scheduled - len(results)
        summary["errors"] += scheduled - len(results)
    return summary


async def _closed(spec: dict[str, Any], requests: list[bytes]) -> dict[str, Any]:
    connections = [Connection(spec["host"], spec["port"]) for _ in range(spec["connections"])]
    await asyncio.gather(*(c.open() for c in connections))
    results: list[tuple[float, float, int]] = []
    cpu0 = time.process_time()
    begin = clock() + spec["warmup"]
    end = begin + spec["duration"]

    async def worker(k: int, connection: Connection) -> None:
        i = k
        while (sent := clock()) < end:
            try:
                status = await connection.call(requests[i % len(requests)])
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                status = -1
            results.append((sent, clock(), status))
            i += len(connections)

    await asyncio.gather(*(worker(k, c) for k, c in enumerate(connections)))
    for c in connections:
        c.close()
    return summarize(
        results,
        window=(begin, end),
        scheduled=None,
        lateness=[],
        cpu=time.process_time() - cpu0,
    )


async def _open(spec: dict[str, Any], requests: list[bytes]) -> dict[str, Any]:
    connections = [Connection(spec["host"], spec["port"]) for _ in range(spec["connections"])]
    await asyncio.gather(*(c.open() for c in connections))
    queue: asyncio.Queue[tuple[float, int] | None] = asyncio.Queue()
    results: list[tuple[float, float, int]] = []
    lateness: list[float] = []
    rate: float = spec["rate"]
    total = int(rate * spec["duration"])
    cpu0 = time.process_time()
    begin = clock() + 0.05

    async def worker(connection: Connection) -> None:
        while (item := await queue.get()) is not None:
            scheduled, i = item
            try:
                status = await connection.call(requests[i % len(requests)])
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                status = -1
            results.append((scheduled, clock(), status))

    async def dispatch() -> None:
        for i in range(total):
            due = begin + i / rate
            wait = due - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            lateness.append(clock() - due)
            queue.put_nowait((due, i))
        for _ in connections:
            queue.put_nowait(None)

    workers = [asyncio.ensure_future(worker(c)) for c in connections]
    await dispatch()
    last_due = begin + (total - 1) / rate
    timeout = max(0.0, last_due - clock()) + spec["grace"]
    _done, pending = await asyncio.wait(workers, timeout=timeout)
    for task in pending:
        task.cancel()
    for c in connections:
        c.close()
    finished = max((done for _, done, _ in results), default=begin)
    return summarize(
        results,
        window=(begin, max(finished, last_due)),
        scheduled=total,
        lateness=lateness,
        cpu=time.process_time() - cpu0,
    )


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Load the server ``spec`` names; see the module docstring."""
    requests = [
        request_bytes(spec["host"], spec["port"], spec["path"], spec["headers"], body)
        for body in spec["bodies"]
    ]
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    mode = _closed if spec["mode"] == "closed" else _open
    return runner(mode(spec, requests))


def main() -> int:
    spec = json.load(sys.stdin)
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(spec["cpu"])})
    json.dump(run(spec), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
