"""The gateway's Prometheus metrics, served at ``GET /metrics`` (scope ``view``, all products).

=========================================================  =========================================
metric                                                     labels
=========================================================  =========================================
``postpilot_gateway_requests_total``                       product, consumer, status (HTTP code)
``postpilot_gateway_request_duration_seconds`` (histogram)  product
``postpilot_gateway_predictions_total``                    product, consumer, served_by
``postpilot_gateway_validation_failures_total``            product, consumer
``postpilot_gateway_fallbacks_total``                      product, reason
``postpilot_gateway_rate_limited_total``                   consumer
=========================================================  =========================================

Labels take only registered names (products, consumers) or ``-``, so a
client cannot grow the series without bound by inventing product names.
With several workers, ``postpilot serve`` sets ``PROMETHEUS_MULTIPROC_DIR``
and the scrape aggregates every worker's values (prometheus-client's
multiprocess mode).
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE", "GatewayMetrics"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    """The collectors of one gateway app (one registry per app, so tests stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "postpilot_gateway_requests",
            "Requests answered, by product, consumer and HTTP status.",
            ["product", "consumer", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "postpilot_gateway_request_duration_seconds",
            "Time from receiving a predict request to answering it.",
            ["product"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "postpilot_gateway_predictions",
            "Predictions served (one per record), by who answered.",
            ["product", "consumer", "served_by"],
            registry=r,
        )
        self.validation_failures = Counter(
            "postpilot_gateway_validation_failures",
            "Records refused because they broke the product's contract (kept in quarantine).",
            ["product", "consumer"],
            registry=r,
        )
        self.fallbacks = Counter(
            "postpilot_gateway_fallbacks",
            "Requests answered by the fallback, by why: switched (by hand or by a policy) "
            "or primary_error.",
            ["product", "reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "postpilot_gateway_rate_limited",
            "Requests refused with 429 because the key's rate limit was reached.",
            ["consumer"],
            registry=r,
        )

        self.limiter_unavailable = Counter(
            "postpilot_gateway_rate_limiter_unavailable",
            "Requests let through because the rate limiter's store could not be reached.",
            registry=r,
        )
        self.log_queue = Gauge(
            "postpilot_gateway_log_queue_depth",
            "Log rows waiting for the next group commit.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.log_dropped = Counter(
            "postpilot_gateway_log_dropped",
            "Acknowledged predictions the log lost. The design keeps this at 0: a request is "
            "answered only once its rows are committed or spooled.",
            registry=r,
        )
        self.log_rows = Counter(
            "postpilot_gateway_log_rows",
            "Log rows made durable, by where: store, spool (the store was unreachable) or "
            "replayed (from the spool into the store).",
            ["where"],
            registry=r,
        )
        self.log_unrecorded = Counter(
            "postpilot_gateway_log_unrecorded",
            "Log rows neither the store nor the spool could take (their requests got 503).",
            registry=r,
        )
        self.spool_segments = Gauge(
            "postpilot_gateway_spool_segments",
            "Spool segments waiting to be replayed into the store.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.circuit = Gauge(
            "postpilot_gateway_circuit_state",
            "1 for the state each product's primary model's circuit breaker is in "
            "(closed, open, half_open), else 0.",
            ["product", "state"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.log_dropped.inc(0)

    def circuits(self, health: dict[str, str]) -> None:
        """Set the circuit gauges from ``RouteTable.health()``."""
        for product, current in health.items():
            for state in ("closed", "open", "half_open"):
                self.circuit.labels(product, state).set(1 if state == current else 0)

    def render(self) -> bytes:
        """The exposition text: every worker's values when running multi-process."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)
