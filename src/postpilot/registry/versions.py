"""Models and their versions, with the training data each was built from."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import func, select

from postpilot.errors import InputError
from postpilot.registry._text import check_name, check_text, limit_of
from postpilot.registry._tx import Tx
from postpilot.registry.entities import ModelVersion, TrainingData
from postpilot.store.models import ModelRow, ModelVersionRow, ProductRow

_FLAVOR = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
_METRIC = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")


def parse_metrics(items: Iterable[str]) -> dict[str, float]:
    """Parse ``NAME=VALUE`` pairs, as given to ``--metric``."""
    metrics: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        try:
            value = float(raw) if sep else math.nan
        except ValueError:
            value = math.nan
        if not sep or not _METRIC.fullmatch(name) or not math.isfinite(value):
            raise InputError(
                f"expected NAME=VALUE with a finite number, got {item!r}",
                field="metrics",
                hint="For example: --metric auc=0.91 --metric f1=0.84",
            )
        metrics[name] = value
    return metrics


def local_path(uri: str) -> Path | None:
    """The local file a URI names (a plain path or ``file://``), else None."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return Path(uri)
    return None


def fingerprint(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes, or of a folder's files (names and bytes)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def check_training_data(data: TrainingData) -> TrainingData:
    """Refuse training data the registry could not store or that cannot be right.

    The URI is text without a NUL byte; rows, when given, are a positive count
    (a model is not trained on zero or -5 rows); start and end, when given, are
    timezone-aware and in order. Runs before the data is fingerprinted or profiled.
    """
    uri = check_text(data.uri, field="training_data", what="the training data's URI")
    if not uri or not uri.strip():
        raise InputError("the training data's URI cannot be empty", field="training_data")
    rows = data.rows
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0):
        raise InputError(
            f"the training data's row count must be a positive whole number, got {rows}",
            field="training_rows",
            hint="Give the number of rows the model was trained on, or leave it out",
        )
    for field, value in (("training_start", data.start), ("training_end", data.end)):
        if value is not None and value.tzinfo is None:
            raise InputError(
                f"the training data's {field.removeprefix('training_')} ({value}) has no time zone",
                field=field,
                hint="Give a timezone-aware datetime, e.g. 2026-01-31T00:00:00+00:00",
            )
    start, end = data.start, data.end
    if start and end and start > end:
        raise InputError(
            f"the training data's start ({start}) is after its end ({end})",
            field="training_start",
        )
    return data


def describe_training_data(data: TrainingData) -> TrainingData:
    """Fill in the fingerprint of local training data; refuse a local path that is missing."""
    path = local_path(data.uri)
    if path is None or data.fingerprint:
        return data
    if not path.exists():
        raise InputError(
            f"training data not found: {path}",
            file=str(path),
            hint="Pass an existing file or folder, or a remote URI such as s3://bucket/key",
        )
    return TrainingData(
        uri=str(path.resolve()),
        rows=data.rows,
        start=data.start,
        end=data.end,
        fingerprint=fingerprint(path),
    )


def register(
    tx: Tx,
    slug: str,
    *,
    artifact: str,
    flavor: str,
    model: str | None,
    training_data: TrainingData | None,
    metrics: Mapping[str, float],
    limitations: str | None = None,
    contract_id: int | None = None,
) -> ModelVersion:
    product = tx.product(slug)
    artifact = check_text(artifact, field="artifact", what="the artifact URI") or ""
    if not artifact.strip():
        raise InputError("a model version needs an artifact URI", field="artifact")
    limitations = check_text(limitations, field="limitations", what="the limitations")
    if not isinstance(flavor, str) or not _FLAVOR.fullmatch(flavor):
        raise InputError(
            f"{flavor!r} is not a valid flavor",
            field="flavor",
            hint="Use a short lower-case name such as sklearn, mlflow, onnx or http",
        )
    if training_data is not None:
        training_data = describe_training_data(check_training_data(training_data))
    name = product.slug
    if model is not None:
        name = check_name(
            model, field="model", limit=limit_of(ModelRow.name), what="a model's name"
        )
    model_row = tx.session.scalar(
        select(ModelRow).where(ModelRow.product_id == product.id, ModelRow.name == name)
    )
    if model_row is None:
        model_row = ModelRow(product_id=product.id, name=name, created_at=tx.now)
        tx.session.add(model_row)
        tx.session.flush()
    latest = tx.session.scalar(
        select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model_row.id)
    )
    row = ModelVersionRow(
        model_id=model_row.id,
        version=(latest or 0) + 1,
        artifact_uri=artifact,
        flavor=flavor,
        training_data_uri=training_data.uri if training_data else None,
        training_rows=training_data.rows if training_data else None,
        training_start=training_data.start if training_data else None,
        training_end=training_data.end if training_data else None,
        training_fingerprint=training_data.fingerprint if training_data else None,
        metrics=dict(metrics),
        limitations=limitations,
        contract_id=contract_id,
        created_by=tx.actor,
        created_at=tx.now,
    )
    tx.session.add(row)
    tx.session.flush()
    entity = _entity(product, model_row, row)
    tx.record(
        "model.registered",
        "model_version",
        f"{slug}/{name}@{row.version}",
        product=slug,
        after={
            "artifact": artifact,
            "flavor": flavor,
            "training_data": training_data.uri if training_data else None,
            "fingerprint": training_data.fingerprint if training_data else None,
            "metrics": dict(metrics),
        },
    )
    return entity


def list_versions(tx: Tx, product: ProductRow) -> list[ModelVersion]:
    rows = tx.session.execute(
        select(ModelRow, ModelVersionRow)
        .join(ModelVersionRow, ModelVersionRow.model_id == ModelRow.id)
        .where(ModelRow.product_id == product.id)
        .order_by(ModelRow.name, ModelVersionRow.version)
    ).all()
    return [_entity(product, m, v) for m, v in rows]


def _entity(product: ProductRow, model: ModelRow, row: ModelVersionRow) -> ModelVersion:
    training = None
    if row.training_data_uri:
        training = TrainingData(
            uri=row.training_data_uri,
            rows=row.training_rows,
            start=row.training_start,
            end=row.training_end,
            fingerprint=row.training_fingerprint,
        )
    return ModelVersion(
        product=product.slug,
        model=model.name,
        version=row.version,
        artifact_uri=row.artifact_uri,
        flavor=row.flavor,
        training_data=training,
        metrics=dict(row.metrics or {}),
        limitations=row.limitations,
        contract=f"{row.contract.name}@{row.contract.version}" if row.contract else None,
        created_by=row.created_by,
        created_at=row.created_at,
    )
