"""Estimate (and, where labels exist, realize) a model's performance per chunk.

The estimator (CBPE for classification, DLE for regression) is fitted on the
labelled reference data. Analysis data is chunked the way drift is (rows,
number of chunks, or a time period); every chunk gets each metric's estimate,
a confidence band, the realized value when the chunk has labels (in the data
itself, or ingested later and joined by prediction id), and an alert flag.

Confidence band: ``estimate ± 3 sampling errors``. The sampling error of a
metric at n rows is measured on the reference: the standard deviation of the
realized metric over random reference subsets of the typical chunk size,
scaled by ``sqrt(size / n)`` for chunks of other sizes.

Thresholds: an SLA given per metric (``thresholds={"roc_auc": 0.8}``: a floor
for a metric where higher is better, a ceiling otherwise); else the natural
variation of the reference chunks (mean ± 3 sd of their realized values), or,
with fewer than three reference chunks, the reference value ± 3 sampling
errors of a typical chunk: never a band of width zero. The reference chunks'
standard deviation is floored at that sampling error, since ten chunks give a
noisy standard deviation and a too-narrow range means false alarms.

Alert: a chunk alerts on a metric when its whole confidence band lies beyond
a threshold (the drop is larger than sampling noise explains), or when its
realized value does.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from postpilot.errors import InputError
from postpilot.monitoring.chunking import Chunker, SizeChunker, chunker_pair
from postpilot.performance.cbpe import CBPE
from postpilot.performance.dle import DLE
from postpilot.performance.metrics import metric_info, realized_many
from postpilot.performance.results import (
    ChunkPerformance,
    MetricResult,
    PerformanceReport,
    Threshold,
)

__all__ = ["PerformanceOptions", "estimate_performance"]

PROBLEMS = ("binary", "multiclass", "regression")
_SIGMAS = 3.0
_MIN_REFERENCE_CHUNKS = 3
_BOOTSTRAPS = 60
_LABEL = "__postpilot_label__"

Labels = Mapping[str, object] | Callable[[list[str]], Mapping[str, object]]


@dataclass(frozen=True)
class PerformanceOptions:
    """What the model outputs and how to chunk. ``y_pred_proba`` is one column for
    binary problems and ``{class: column}`` for multiclass."""

    problem: str
    y_true: str
    metrics: Sequence[str]
    y_pred: str | None = None
    y_pred_proba: str | Mapping[str, str] | None = None
    features: Sequence[str] | None = None
    chunk_size: int | None = None
    chunk_number: int | None = None
    chunk_period: str | None = None
    timestamp: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    id_column: str | None = None
    seed: int = 0

    def settings(self) -> dict[str, Any]:
        proba = self.y_pred_proba
        return {
            "problem": self.problem,
            "y_true": self.y_true,
            "y_pred": self.y_pred,
            "y_pred_proba": dict(proba) if isinstance(proba, Mapping) else proba,
            "metrics": list(self.metrics),
            "features": list(self.features) if self.features is not None else None,
            "chunk_size": self.chunk_size,
            "chunk_number": self.chunk_number,
            "chunk_period": self.chunk_period,
            "timestamp": self.timestamp,
            "thresholds": dict(self.thresholds),
            "id_column": self.id_column,
        }

    @property
    def classes(self) -> list[str]:
        proba = self.y_pred_proba
        return [str(c) for c in proba] if isinstance(proba, Mapping) else ["0", "1"]

    @property
    def proba_columns(self) -> list[str]:
        proba = self.y_pred_proba
        if proba is None:
            return []
        return list(proba.values()) if isinstance(proba, Mapping) else [proba]


def _validate(options: PerformanceOptions) -> None:
    if options.problem not in PROBLEMS:
        raise InputError(
            f"unknown problem {options.problem!r}",
            field="problem",
            hint=f"Use one of: {', '.join(PROBLEMS)}",
        )
    if not options.metrics:
        raise InputError("name at least one metric", field="metric")
    if len(set(options.metrics)) != len(options.metrics):
        raise InputError("a metric is named twice", field="metric")
    infos = [metric_info(m, options.problem) for m in options.metrics]
    proba = options.y_pred_proba
    if options.problem == "multiclass":
        if proba is not None and not isinstance(proba, Mapping):
            raise InputError(
                "multiclass needs one probability column per class",
                field="y_pred_proba",
                hint="Pass CLASS=COLUMN pairs, e.g. --y-pred-proba cat=p_cat,dog=p_dog",
            )
        if isinstance(proba, Mapping) and len(proba) < 2:
            raise InputError("multiclass needs at least two classes", field="y_pred_proba")
    elif options.problem == "binary" and isinstance(proba, Mapping):
        raise InputError(
            "binary problems take one probability column (the score of class 1)",
            field="y_pred_proba",
        )
    if options.problem != "regression" and proba is None:
        raise InputError(
            "CBPE needs the model's scores", field="y_pred_proba", hint="Pass --y-pred-proba"
        )
    needs_pred = options.problem == "regression" or any(not i.needs_proba for i in infos)
    if needs_pred and options.y_pred is None:
        wanted = ", ".join(i.name for i in infos if not i.needs_proba)
        raise InputError(
            f"{wanted or 'regression'} needs the predictions", field="y_pred", hint="Pass --y-pred"
        )
    for metric in options.thresholds:
        if metric not in options.metrics:
            raise InputError(
                f"threshold for {metric!r}, which is not one of the metrics asked for",
                field="thresholds",
            )


def _chunkers(options: PerformanceOptions, ref_rows: int, ana_rows: int) -> tuple[Chunker, Chunker]:
    pair = chunker_pair(
        chunk_size=options.chunk_size,
        chunk_number=options.chunk_number,
        chunk_period=options.chunk_period,
        timestamp=options.timestamp,
        rows=lambda: (ref_rows, ana_rows),
    )
    if pair is not None:
        return pair
    # Default: NannyML's, ten chunks of the analysis data, the reference chunked alike.
    size = max(1, -(-ana_rows // 10))
    return SizeChunker(size), SizeChunker(size)


def _read(data: object, columns: list[str], label: str) -> pl.DataFrame:
    from postpilot.profiles.readers import open_source

    source = open_source(data, batch_size=1 << 20, columns=None)
    frames = list(source.batches)
    frame = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {label} data has no column {missing[0]!r}",
            field=missing[0],
            hint=f"Its columns are: {', '.join(frame.columns)}",
        )
    return frame


def _features(
    options: PerformanceOptions, ref: pl.DataFrame, ana: pl.DataFrame
) -> tuple[list[str], dict[str, str]]:
    """DLE's inputs: the ones named, else every other shared column that can be an
    input (not a time, not an identifier), with the reason each other column is left out."""
    if options.features is not None:
        return list(options.features), {}
    named = {options.y_true, options.y_pred, options.timestamp, options.id_column, _LABEL}
    named.update(options.proba_columns)
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    for name in ref.columns:
        if name in named:
            continue
        dtype = ref.schema[name]
        if name not in ana.columns:
            skipped[name] = "not in the analysis data"
        elif dtype.is_temporal():
            skipped[name] = "a date or time"
        elif not dtype.is_numeric() and ref.get_column(name).n_unique() > 0.5 * ref.height:
            skipped[name] = "a text column with mostly distinct values (an id or a time?)"
        elif name.lower() in ("id", "identifier", "index", "row_id"):
            skipped[name] = "looks like a row id"
        else:
            chosen.append(name)
    return chosen, skipped


def _rows(frame: pl.DataFrame, column: str | None) -> npt.NDArray[Any] | None:
    return None if column is None else frame.get_column(column).to_numpy()


class _Problem:
    """The fitted estimator plus the realized metric, over one problem's columns."""

    def __init__(self, options: PerformanceOptions, features: list[str]) -> None:
        self.options = options
        self.features = features
        self.metrics = list(options.metrics)
        self.classes = options.classes
        self.cbpe: CBPE | None = None
        self.dle: DLE | None = None

    def _proba(self, frame: pl.DataFrame) -> npt.NDArray[np.float64] | None:
        cols = self.options.proba_columns
        if not cols:
            return None
        matrix = frame.select(cols).cast(pl.Float64).to_numpy()
        if np.isnan(matrix).any():
            column = cols[int(np.flatnonzero(np.isnan(matrix).any(axis=0))[0])]
            raise InputError(f"{column!r} has missing scores", field="y_pred_proba")
        if (matrix < 0).any() or (matrix > 1).any():
            raise InputError("scores must lie in [0, 1]", field="y_pred_proba")
        return matrix[:, 0] if self.options.problem == "binary" else matrix

    def _labels(self, values: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
        if values is None:
            return None
        if self.options.problem == "multiclass":
            return values.astype(str)
        return values.astype(np.float64)

    def _truth(self, frame: pl.DataFrame) -> npt.NDArray[Any]:
        truth = self._labels(_rows(frame, _LABEL))
        assert truth is not None
        return truth

    def _scores(self, frame: pl.DataFrame) -> npt.NDArray[np.float64]:
        proba = self._proba(frame)
        assert proba is not None  # _validate: classification has scores
        return proba

    def fit(self, reference: pl.DataFrame) -> None:
        truth = self._truth(reference)
        if self.options.problem == "regression":
            pred = self._labels(_rows(reference, self.options.y_pred))
            assert pred is not None  # _validate: regression has predictions
            self.dle = DLE(self.features, self.metrics, seed=self.options.seed).fit(
                reference.select(self.features), pred, truth
            )
        else:
            self.cbpe = CBPE(self.options.problem, self.classes).fit(truth, self._scores(reference))

    def estimate(self, frame: pl.DataFrame) -> dict[str, float]:
        pred = self._labels(_rows(frame, self.options.y_pred))
        if self.dle is not None:
            assert pred is not None
            return self.dle.estimate(self.metrics, frame.select(self.features), pred)
        assert self.cbpe is not None
        return self.cbpe.estimate(self.metrics, self._scores(frame), pred)

    def realized(self, frame: pl.DataFrame) -> dict[str, float]:
        labelled = frame.filter(pl.col(_LABEL).is_not_null())
        if labelled.height == 0:
            return {m: float("nan") for m in self.metrics}
        return realized_many(
            self.metrics,
            self.options.problem,
            self._truth(labelled),
            y_pred=self._labels(_rows(labelled, self.options.y_pred)),
            y_proba=self._proba(labelled),
            classes=self.classes if self.options.problem == "multiclass" else None,
        )


def _split(frame: pl.DataFrame, chunker: Chunker) -> list[tuple[Any, pl.DataFrame]]:
    out = []
    first = 0
    for key, part in chunker.split(frame):
        out.append((chunker.describe(key, part.height, first), part))
        first += part.height
    return out


def _sampling_errors(
    problem: _Problem, reference: pl.DataFrame, size: int, seed: int
) -> dict[str, float]:
    """Each metric's standard deviation over random reference subsets of ``size`` rows."""
    size = max(2, min(size, reference.height // 2))
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {m: [] for m in problem.metrics}
    for _ in range(_BOOTSTRAPS):
        rows = rng.choice(reference.height, size=size, replace=False)
        for metric, value in problem.realized(reference[rows]).items():
            if math.isfinite(value):
                values[metric].append(value)
    return {
        m: statistics.stdev(v) * math.sqrt(size) if len(v) > 2 else float("nan")
        for m, v in values.items()
    }


def _threshold(
    metric: str,
    problem: str,
    sla: float | None,
    reference_values: list[float],
    reference_value: float,
    spread: float,
) -> Threshold:
    info = metric_info(metric, problem)

    def clip(value: float | None) -> float | None:
        if value is None or not math.isfinite(value):
            return None
        if info.lower is not None:
            value = max(value, info.lower)
        if info.upper is not None:
            value = min(value, info.upper)
        return value

    if sla is not None:
        if info.higher_is_better:
            return Threshold(sla, None, "sla")
        return Threshold(None, sla, "sla")
    finite = [v for v in reference_values if math.isfinite(v)]
    if len(finite) >= _MIN_REFERENCE_CHUNKS and statistics.stdev(finite) > 0:
        # A standard deviation from ten chunks is itself uncertain (±20 %); the
        # resampled sampling error of a typical chunk is a steadier floor for it.
        mean = statistics.fmean(finite)
        sd = max(statistics.stdev(finite), spread if math.isfinite(spread) else 0.0)
        return Threshold(clip(mean - _SIGMAS * sd), clip(mean + _SIGMAS * sd), "reference chunks")
    if math.isfinite(reference_value) and math.isfinite(spread) and spread > 0:
        return Threshold(
            clip(reference_value - _SIGMAS * spread),
            clip(reference_value + _SIGMAS * spread),
            "reference sampling error",
        )
    return Threshold(None, None, "none")


def _result(
    metric: str,
    estimated: float,
    realized: float,
    error: float,
    threshold: Threshold,
    problem: str,
) -> MetricResult:
    info = metric_info(metric, problem)
    lower = upper = None
    if math.isfinite(estimated) and math.isfinite(error):
        lower, upper = estimated - _SIGMAS * error, estimated + _SIGMAS * error
        if info.lower is not None:
            lower = max(lower, info.lower)
        if info.upper is not None:
            upper = min(upper, info.upper)
    below = threshold.lower is not None and (
        (upper is not None and upper < threshold.lower)
        or (math.isfinite(realized) and realized < threshold.lower)
    )
    above = threshold.upper is not None and (
        (lower is not None and lower > threshold.upper)
        or (math.isfinite(realized) and realized > threshold.upper)
    )
    return MetricResult(
        metric=metric,
        estimated=estimated if math.isfinite(estimated) else None,
        lower=lower,
        upper=upper,
        realized=realized if math.isfinite(realized) else None,
        alert=bool(below or above),
        sampling_error=error if math.isfinite(error) else None,
        threshold_lower=threshold.lower,
        threshold_upper=threshold.upper,
    )


def estimate_performance(
    reference: object,
    analysis: object,
    options: PerformanceOptions,
    *,
    labels: Labels | None = None,
) -> PerformanceReport:
    """Estimate every metric per analysis chunk; fill in realized values where labels exist.

    ``labels`` maps prediction id (``options.id_column``) to label, for labels that
    arrived after the predictions; they take precedence over a label column in the
    analysis data. It may also be a function from the analysis rows' ids to that
    mapping, so that a store is asked only for the ids at hand.
    """
    _validate(options)
    needed = [c for c in (options.y_pred, *options.proba_columns) if c]
    reference_frame = _read(reference, [options.y_true, *needed], "reference")
    analysis_frame = _read(analysis, needed, "analysis")
    if labels is not None and options.id_column is None:
        raise InputError(
            "joining ingested labels needs the prediction id column", field="id_column"
        )
    if options.id_column is not None and options.id_column not in analysis_frame.columns:
        raise InputError(
            f"the analysis data has no column {options.id_column!r}",
            field="id_column",
            hint=f"Its columns are: {', '.join(analysis_frame.columns)}",
        )

    reference_frame = reference_frame.with_columns(
        _typed_labels(reference_frame.get_column(options.y_true), options.problem, "label").alias(
            _LABEL
        )
    )
    unlabelled = reference_frame.get_column(_LABEL).null_count()
    if unlabelled:
        reference_frame = reference_frame.filter(pl.col(_LABEL).is_not_null())
    if reference_frame.height < 2:
        raise InputError("the reference data needs labelled rows to fit on", field="y_true")
    analysis_frame = _with_labels(analysis_frame, options, labels)

    inputs, skipped = _features(options, reference_frame, analysis_frame)
    features = inputs if options.problem == "regression" else []
    if options.problem == "regression" and not features:
        raise InputError(
            "DLE needs the model's input features; none found",
            field="features",
            hint="Pass --features COL,COL,...",
        )
    problem = _Problem(options, features)
    problem.fit(reference_frame)

    ref_chunker, ana_chunker = _chunkers(options, reference_frame.height, analysis_frame.height)
    ref_chunks = _split(reference_frame, ref_chunker)
    ana_chunks = _split(analysis_frame, ana_chunker)
    typical = int(statistics.median(c.rows for c, _ in ana_chunks)) if ana_chunks else 1
    unit_errors = _sampling_errors(problem, reference_frame, typical, options.seed)

    ref_realized = [problem.realized(part) for _, part in ref_chunks]
    whole = problem.realized(reference_frame)
    thresholds = {
        m: _threshold(
            m,
            options.problem,
            options.thresholds.get(m),
            [r[m] for r in ref_realized],
            whole[m],
            unit_errors[m] / math.sqrt(typical),
        )
        for m in options.metrics
    }

    def results(
        chunks: list[tuple[Any, pl.DataFrame]], period: str, known: list[dict[str, float]] | None
    ) -> list[ChunkPerformance]:
        out = []
        for i, (chunk, part) in enumerate(chunks):
            estimates = problem.estimate(part)
            real = known[i] if known is not None else problem.realized(part)
            out.append(
                ChunkPerformance(
                    key=chunk.key,
                    start=chunk.start,
                    end=chunk.end,
                    rows=chunk.rows,
                    labelled=part.height - part.get_column(_LABEL).null_count(),
                    metrics=[
                        _result(
                            m,
                            estimates[m],
                            real[m],
                            unit_errors[m] / math.sqrt(max(chunk.rows, 1)),
                            thresholds[m],
                            options.problem,
                        )
                        for m in options.metrics
                    ],
                    period=period,
                )
            )
        return out

    return PerformanceReport(
        problem=options.problem,
        method="dle" if options.problem == "regression" else "cbpe",
        chunks=results(ana_chunks, "analysis", None),
        reference_chunks=results(ref_chunks, "reference", ref_realized),
        thresholds=thresholds,
        settings={
            **options.settings(),
            "features": features or None,
            "inputs": inputs,
            "skipped_inputs": skipped,
            "effective_chunk_size": getattr(ana_chunker, "size", None)
            if options.chunk_number is None and options.chunk_period is None
            else None,
            "reference_rows_without_label": unlabelled,
        },
        reference_rows=reference_frame.height,
    )


def _label_dtype(problem: str) -> pl.DataType:
    return pl.String() if problem == "multiclass" else pl.Float64()


def _typed_labels(values: pl.Series, problem: str, label: str) -> pl.Series:
    """Labels as strings (multiclass) or floats; a value that is neither is an error."""
    if problem != "multiclass" and values.dtype == pl.String:
        cast = values.str.strip_chars().cast(pl.Float64, strict=False)
    else:
        cast = values.cast(_label_dtype(problem), strict=False)
    bad = cast.is_null() & values.is_not_null()
    if bad.any():
        example = values.filter(bad)[0]
        raise InputError(
            f"{label} {example!r} is not a number",
            field="y_true",
            hint="Binary labels are 0 or 1; regression labels are numbers",
        )
    return cast


def _with_labels(
    frame: pl.DataFrame, options: PerformanceOptions, labels: Labels | None
) -> pl.DataFrame:
    """The analysis rows with their label in ``_LABEL`` (null where none is known yet).
    Labels ingested later (``labels``, by prediction id) win over a label column."""
    dtype = _label_dtype(options.problem)
    if options.y_true in frame.columns:
        own = _typed_labels(frame.get_column(options.y_true), options.problem, "label")
    else:
        own = pl.Series(_LABEL, [None] * frame.height, dtype=dtype)
    if labels is not None and options.id_column is not None:
        ids = frame.get_column(options.id_column).cast(pl.String).to_list()
        known = labels(ids) if callable(labels) else labels
        texts = [_text(known.get(i)) for i in ids]
        late = _typed_labels(pl.Series(_LABEL, texts, dtype=pl.String), options.problem, "label")
        if options.problem != "multiclass":
            late = late.cast(pl.Float64)
        own = late.fill_null(own.alias(_LABEL))
    return frame.with_columns(own.alias(_LABEL))


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
