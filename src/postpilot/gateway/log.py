"""The prediction log's rows: what the gateway served, and what it refused.

Every served prediction is a ``predictions`` row with its id, request id,
product, model version, consumer, the inputs after the adapter, the output and
who answered; every refused record a ``quarantine`` row with its field errors.
:mod:`postpilot.gateway.journal` writes them durably before the response is sent.

Prediction ids sort by time: ``pr_`` + 16 hex digits of the nanosecond clock +
16 random hex digits, so inserts land at the end of the index.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "LoggedPrediction",
    "new_prediction_id",
    "new_quarantine_id",
    "new_request_id",
    "prediction_rows",
    "quarantine_rows",
]


def new_prediction_id() -> str:
    return f"pr_{time.time_ns():016x}{secrets.token_hex(8)}"


def new_quarantine_id() -> str:
    return f"qr_{time.time_ns():016x}{secrets.token_hex(8)}"


def new_request_id() -> str:
    return f"rq_{time.time_ns():016x}{secrets.token_hex(8)}"


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` (a refused record may hold them; strict JSON cannot)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    # ASCII escapes: a refused record may hold text no database encoding takes
    try:
        return json.dumps(value, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, default=str)


@dataclass(frozen=True)
class LoggedPrediction:
    id: str
    inputs: dict[str, Any]
    output: dict[str, Any]


def prediction_rows(
    *,
    request_id: str,
    product_id: int,
    model: str | None,
    version: int | None,
    consumer: str,
    key_id: str,
    served_by: str,
    latency_ms: float,
    fallback_reason: str | None = None,
    at: datetime,
    predictions: Sequence[LoggedPrediction],
) -> list[dict[str, Any]]:
    """One request's rows of the ``predictions`` table."""
    return [
        {
            "id": p.id,
            "request_id": request_id,
            "product_id": product_id,
            "model": model,
            "version": version,
            "consumer": consumer,
            "key_id": key_id,
            "inputs": _json(p.inputs),
            "output": _json(p.output),
            "served_by": served_by,
            "fallback_reason": fallback_reason,
            "latency_ms": latency_ms,
            "created_at": at,
        }
        for p in predictions
    ]


def quarantine_rows(
    *,
    request_id: str,
    product_id: int,
    consumer: str,
    at: datetime,
    refused: Sequence[tuple[Any, list[dict[str, str]]]],
) -> list[dict[str, Any]]:
    """One request's refused records, with their field errors, as ``quarantine`` rows."""
    return [
        {
            "id": new_quarantine_id(),
            "request_id": request_id,
            "product_id": product_id,
            "consumer": consumer,
            "record": _json(record),
            "errors": _json(errors),
            "created_at": at,
        }
        for record, errors in refused
    ]
