"""Where a gateway request's time goes, for ``bench/gateway_bench.py``.

Two views of the same requests, in-process (the app called through
``httpx.ASGITransport``: no HTTP server, no sockets):

- **phases, uninstrumented**: each step of a gateway request called directly, one
  call at a time (key lookup, adapter + validation, the model as the sklearn backend
  runs it, the prediction log's write), beside the bare endpoint's model call;
- **cProfile**: whole requests, one at a time, with anyio's ``to_thread.run_sync``
  made inline so one profiler sees every phase (the threadpool hops are what it
  cannot show); cumulative time per phase and the functions with the most own time.
  cProfile inflates Python-heavy code more than C, so its shares are a guide, the
  uninstrumented timings the numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import importlib
import json
import os
import pstats
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = ["profile", "profile_section"]

PHASES = [
    ("the whole app (ASGI call)", "fastapi/applications.py", "__call__"),
    ("key check (`enforce`: KeyCache lookup, hash check)", "gateway/auth.py", "enforce"),
    ("rate limit (`_rate_limit`, in-memory GCRA)", "gateway/app.py", "_rate_limit"),
    ("adapter + contract validation", "gateway/app.py", "_adapt_and_validate"),
    ("model (`_run_estimator`: DataFrame, predict, predict_proba)", "sklearn.py", "_run_estimator"),
    ("  of which the pipeline's `predict_proba`", "sklearn/pipeline.py", "predict_proba"),
    ("prediction log (`PredictionLog.record`, one transaction)", "gateway/log.py", "record"),
    ("metrics (prometheus `labels()`)", "prometheus_client/metrics.py", "labels"),
]
BARE_PHASES = [
    ("the whole app (ASGI call)", "fastapi/applications.py", "__call__"),
    ("model (`predict` route: DataFrame, predict)", "bare_app.py", "predict"),
]


@contextlib.contextmanager
def inline_threads() -> Iterator[None]:
    """anyio's ``to_thread.run_sync`` runs the function inline, so one profiler sees it all."""
    import anyio.to_thread

    original = anyio.to_thread.run_sync

    async def run_inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_inline  # type: ignore[assignment]
    try:
        yield
    finally:
        anyio.to_thread.run_sync = original


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    total, calls = 0.0, 0
    for (filename, _line, func), row in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and filename.replace("\\", "/").endswith(suffix):
            total += row[3]
            calls += row[1]
    return total, calls


def _per_call(call: Callable[[], Any], calls: int, repeats: int = 5) -> float:
    """Microseconds per call, after a warm-up: the best of ``repeats`` batches (on a busy
    machine the fastest batch is the closest to the call's own cost)."""
    for _ in range(min(100, calls)):
        call()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls // repeats):
            call()
        best = min(best, (time.perf_counter() - started) / (calls // repeats))
    return best * 1e6


def log_contention(write: Callable[[], None], threads: int, calls: int) -> dict[str, float]:
    """``calls`` log writes spread over ``threads`` threads at once, as the gateway's
    threadpool makes them under load: writes per second and per-write latency (ms)."""
    latencies: list[float] = []

    def writer() -> None:
        for _ in range(calls // threads):
            started = time.perf_counter()
            write()
            latencies.append((time.perf_counter() - started) * 1000)

    pool = [threading.Thread(target=writer) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "threads": threads,
        "writes_per_s": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
    }


async def _drive(
    app: Any,
    path: str,
    headers: dict[str, str],
    bodies: list[str],
    n: int,
    profiler: cProfile.Profile | None,
) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        sent = {"Content-Type": "application/json", **headers}
        payloads = [b.encode() for b in bodies]
        for body in payloads[:50]:  # warm
            (await client.post(path, content=body, headers=sent)).raise_for_status()
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        for i in range(n):
            answer = await client.post(path, content=payloads[i % len(payloads)], headers=sent)
            if answer.status_code != 200:
                raise RuntimeError(f"in-process {path}: {answer.status_code} {answer.text}")
        elapsed = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
    return elapsed


def profile(
    *,
    store_url: str,
    artifact: Path,
    key: str,
    product: str,
    consumer: str,
    gateway_bodies: list[str],
    bare_bodies: list[str],
    features: list[str],
    n: int,
) -> dict[str, Any]:
    """The phase timings and the profiles (see the module docstring)."""
    import joblib
    import pandas as pd

    from postpilot import Registry
    from postpilot.gateway.app import Gateway, _adapt_and_validate, create_app
    from postpilot.gateway.log import LoggedPrediction, new_prediction_id, prediction_rows
    from postpilot.gateway.ratelimit import MemoryRateLimiter
    from postpilot.registry.apikeys import parse_key

    os.environ["BENCH_MODEL"] = str(artifact)
    bare = importlib.import_module("bare_app")
    bare.model = joblib.load(artifact)
    path = f"/v1/products/{product}/predict"
    auth = {"Authorization": f"Bearer {key}"}
    out: dict[str, Any] = {"n": n}
    registry = Registry(store_url, actor="bench@example.com")
    try:
        gateway = Gateway(registry, limiter=MemoryRateLimiter())
        app = create_app(gateway)

        async def phases() -> dict[str, float]:
            await gateway.routes.refresh(force=True)
            live = await gateway.routes.get(product)
            assert live is not None
            parsed = parse_key(key)
            assert parsed is not None
            sent = json.loads(gateway_bodies[0])["record"]
            record = json.loads(bare_bodies[0])["record"]
            backend = getattr(live.primary, "inner", live.primary)  # the sklearn backend
            now = datetime.now(UTC)

            def write_log() -> None:
                # one durable commit of one row, as the journal's writer makes it
                # (synchronous=FULL); under load one commit carries every queued request
                rows = prediction_rows(
                    request_id="rq_bench",
                    product_id=live.product_id,
                    model=product,
                    version=1,
                    consumer=consumer,
                    key_id=parsed.key_id,
                    served_by="primary",
                    latency_ms=1.0,
                    at=now,
                    predictions=[
                        LoggedPrediction(
                            id=new_prediction_id(), inputs=record, output={"prediction": True}
                        )
                    ],
                )
                gateway.journal._commit([("predictions", rows)])

            model = bare.model
            out["contention"] = [log_contention(write_log, t, 480) for t in (1, 4, 16)]
            return {
                "key lookup (cached)": _per_call(lambda: gateway.keys.lookup(parsed), 2000),
                "adapter + validation": _per_call(
                    lambda: _adapt_and_validate(live, consumer, [sent]), 2000
                ),
                "model as the gateway runs it (matrix, predict, predict_proba)": _per_call(
                    lambda: backend._run_estimator([record]), 500
                ),
                "model as the bare endpoint runs it (DataFrame, predict)": _per_call(
                    lambda: model.predict(pd.DataFrame([record], columns=features)), 500
                ),
                "  the pipeline's predict_proba alone": _per_call(
                    lambda: model.predict_proba(pd.DataFrame([record], columns=features)), 500
                ),
                "prediction log, one durable commit of one row": _per_call(write_log, 500),
            }

        out["phases"] = asyncio.run(phases())

        async def run(target: Any, gateway_side: bool, profiler: cProfile.Profile | None) -> float:
            if gateway_side:
                await gateway.routes.refresh(force=True)
                return await _drive(target, path, auth, gateway_bodies, n, profiler)
            return await _drive(target, "/predict", {}, bare_bodies, n, profiler)

        with inline_threads():
            out["gateway_us"] = asyncio.run(run(app, True, None)) / n * 1e6
            out["bare_us"] = asyncio.run(run(bare.app, False, None)) / n * 1e6
            gateway_profile = cProfile.Profile()
            asyncio.run(run(app, True, gateway_profile))
            bare_profile = cProfile.Profile()
            asyncio.run(run(bare.app, False, bare_profile))
        for name, prof, rows in (
            ("gateway_phases", gateway_profile, PHASES),
            ("bare_phases", bare_profile, BARE_PHASES),
        ):
            stats = pstats.Stats(prof)
            out[name] = [(label, *_cumulative(stats, suffix, func)) for label, suffix, func in rows]
        stats = pstats.Stats(gateway_profile)
        ranked = sorted(
            stats.stats.items(),  # type: ignore[attr-defined]
            key=lambda item: -item[1][2],
        )[:10]
        out["top_tottime"] = [
            (f"{'/'.join(Path(filename).parts[-2:])}:{line}({func})", row[1], row[2])
            for (filename, line, func), row in ranked
        ]
        asyncio.run(gateway.aclose())
    finally:
        registry.close()
    return out


def profile_section(prof: dict[str, Any]) -> list[str]:
    """The Markdown of the profile: the phase table, the cProfile table, the top functions."""
    n = prof["n"]
    lines = [
        "### Where the gateway's time goes",
        "",
        "In-process (the app called through `httpx.ASGITransport`: no server, no sockets), "
        "on the SQLite store. Each phase called directly, one call at a time, "
        "uninstrumented (the best of five batches):",
        "",
        "| phase | µs per call |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {us:,.0f} |" for label, us in prof["phases"].items()]
    lines += [
        "",
        "For comparison, separate durable commits of one row each from several threads "
        "at once, on the same SQLite store: what one transaction per request would cost "
        "under load (the gateway's journal instead commits every queued request in one "
        "transaction from a single writer):",
        "",
        "| threads writing at once | writes/s | p50 ms | p99 ms | max ms |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c['threads']} | {c['writes_per_s']:,.0f} | {c['p50_ms']:.2f} | {c['p99_ms']:.2f} "
        f"| {c['max_ms']:.1f} |"
        for c in prof["contention"]
    ]
    whole = prof["gateway_phases"][0][1] / n * 1e6
    lines += [
        "",
        f"Whole requests, one at a time ({n:,} each, threadpool hops made inline): the "
        f"gateway app {prof['gateway_us']:,.0f} µs per request, the bare app "
        f"{prof['bare_us']:,.0f} µs (the in-process client's own cost included in both). "
        "Under cProfile, cumulative time per request:",
        "",
        "| phase | µs per request (cProfile) | calls per request | share of the app |",
        "|---|---:|---:|---:|",
    ]
    for label, total, calls in prof["gateway_phases"]:
        us = total / n * 1e6
        lines.append(f"| gateway: {label} | {us:,.0f} | {calls / n:.1f} | {us / whole:.0%} |")
    bare_whole = prof["bare_phases"][0][1] / n * 1e6
    for label, total, calls in prof["bare_phases"]:
        us = total / n * 1e6
        lines.append(f"| bare: {label} | {us:,.0f} | {calls / n:.1f} | {us / bare_whole:.0%} |")
    lines += [
        "",
        "Functions with the most own time in the profiled gateway requests:",
        "",
        "| function | calls | own s |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{name}` | {calls:,} | {own:.3f} |" for name, calls, own in prof["top_tottime"]]
    lines.append("")
    return lines
