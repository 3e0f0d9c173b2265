"""The prediction log and the quarantine: what the gateway served, and what it refused.

Every served prediction is written, with its id, request id, product, model
version, consumer, the inputs after the adapter, the output and who answered,
in the same request, before the response is sent: under normal operation the
log is complete. (Group commit, a spool for when the store is down and the
other durability guarantees are the next issue's.)

Prediction ids sort by time: ``pr_`` + 16 hex digits of the nanosecond clock +
16 random hex digits, so inserts land at the end of the index.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from postpilot.store.models import PredictionRow, QuarantineRow

__all__ = ["LoggedPrediction", "PredictionLog", "new_prediction_id", "new_request_id"]


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


class PredictionLog:
    """Writes predictions and quarantined records through the metadata store."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]]) -> None:
        self._transaction = transaction

    def record(
        self,
        *,
        request_id: str,
        product_id: int,
        model: str | None,
        version: int | None,
        consumer: str,
        key_id: str,
        served_by: str,
        latency_ms: float,
        at: datetime,
        predictions: Sequence[LoggedPrediction],
    ) -> None:
        """Write one request's predictions in one transaction (blocking)."""
        rows = [
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
                "latency_ms": latency_ms,
                "created_at": at,
            }
            for p in predictions
        ]
        with self._transaction() as session:
            session.execute(insert(PredictionRow), rows)

    def quarantine(
        self,
        *,
        request_id: str,
        product_id: int,
        consumer: str,
        at: datetime,
        refused: Sequence[tuple[Any, list[dict[str, str]]]],
    ) -> None:
        """Keep refused records with their field errors (blocking)."""
        rows = [
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
        with self._transaction() as session:
            session.execute(insert(QuarantineRow), rows)
