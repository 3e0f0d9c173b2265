"""The gateway's prediction log, read back; and feedback on a prediction by its id.

The gateway writes :class:`~postpilot.store.models.PredictionRow` rows itself
(:mod:`postpilot.gateway.log`); this module reads them, and records what people
send back about a prediction: its label (the actual outcome, into the same
``labels`` table ``postpilot labels ingest`` fills) and overrides (a person took
another decision than the model suggested, and why).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select

from postpilot.errors import InputError, NotFoundError
from postpilot.registry import labels
from postpilot.registry._text import check_name, check_text, limit_of
from postpilot.registry._tx import Tx
from postpilot.registry.labels import LabelIngest
from postpilot.store.models import OverrideRow, PredictionRow, ProductRow, QuarantineRow

__all__ = [
    "Override",
    "Prediction",
    "get_prediction",
    "label_prediction",
    "prediction_count",
    "quarantine_count",
    "record_override",
]

_REASON = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_DECISION_BYTES: Final = 10_000


@dataclass(frozen=True)
class Prediction:
    id: str
    request_id: str
    product: str
    model: str | None
    version: int | None
    consumer: str
    inputs: dict[str, Any]
    output: dict[str, Any]
    served_by: str
    latency_ms: float
    created_at: datetime
    fallback_reason: str | None = None


@dataclass(frozen=True)
class Override:
    id: int
    prediction_id: str
    product: str
    by: str
    decision: Any
    reason_code: str
    note: str | None
    consumer: str
    created_at: datetime


def _row(tx: Tx, prediction_id: str) -> tuple[PredictionRow, ProductRow]:
    found = None
    if isinstance(prediction_id, str) and 0 < len(prediction_id) <= 40:
        found = tx.session.execute(
            select(PredictionRow, ProductRow)
            .join(ProductRow, ProductRow.id == PredictionRow.product_id)
            .where(PredictionRow.id == prediction_id)
        ).first()
    if found is None:
        raise NotFoundError(f"no prediction {prediction_id!r}", field="prediction_id")
    return found[0], found[1]


def get_prediction(tx: Tx, prediction_id: str) -> Prediction:
    row, product = _row(tx, prediction_id)
    return Prediction(
        id=row.id,
        request_id=row.request_id,
        product=product.slug,
        model=row.model,
        version=row.version,
        consumer=row.consumer,
        inputs=json.loads(row.inputs),
        output=json.loads(row.output),
        served_by=row.served_by,
        fallback_reason=row.fallback_reason,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
    )


def label_prediction(tx: Tx, prediction_id: str, value: object) -> LabelIngest:
    """Store the actual outcome of a served prediction (an upsert, like ``labels ingest``)."""
    _, product = _row(tx, prediction_id)
    checked = labels.check([prediction_id], [value])
    return labels.ingest(tx, product.slug, checked)


def record_override(
    tx: Tx,
    prediction_id: str,
    *,
    by: str,
    decision: Any,
    reason_code: str,
    note: str | None,
    consumer: str,
) -> Override:
    """A person took ``decision`` instead of what the prediction suggested."""
    row, product = _row(tx, prediction_id)
    by = check_name(by, field="by", limit=limit_of(OverrideRow.by), what="who overrode")
    if not isinstance(reason_code, str) or not _REASON.fullmatch(reason_code):
        raise InputError(
            f"{reason_code!r} is not a valid reason code",
            field="reason_code",
            hint="Use 1-64 letters, digits, '_', '.', ':' or '-' (for example: customer_called)",
        )
    note = check_text(note, field="note", what="the note", limit=2000)
    try:
        encoded = json.dumps(decision, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the decision must be JSON: {exc}", field="decision") from exc
    if len(encoded) > MAX_DECISION_BYTES:
        raise InputError(
            f"the decision takes {len(encoded):,} characters as JSON; at most "
            f"{MAX_DECISION_BYTES:,} fit",
            field="decision",
        )
    override = OverrideRow(
        prediction_id=row.id,
        product_id=product.id,
        by=by,
        decision=encoded,
        reason_code=reason_code,
        note=note,
        consumer=consumer,
        created_at=tx.now,
    )
    tx.session.add(override)
    tx.session.flush()
    tx.record(
        "prediction.overridden",
        "prediction",
        row.id,
        product=product.slug,
        after={"by": by, "reason_code": reason_code, "consumer": consumer},
    )
    return Override(
        id=override.id,
        prediction_id=row.id,
        product=product.slug,
        by=by,
        decision=decision,
        reason_code=reason_code,
        note=note,
        consumer=consumer,
        created_at=tx.now,
    )


def prediction_count(tx: Tx, slug: str) -> int:
    product = tx.product(slug)
    query = select(func.count()).where(PredictionRow.product_id == product.id)
    return int(tx.session.scalar(query) or 0)


def quarantine_count(tx: Tx, slug: str) -> int:
    product = tx.product(slug)
    query = select(func.count()).where(QuarantineRow.product_id == product.id)
    return int(tx.session.scalar(query) or 0)
