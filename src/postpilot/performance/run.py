"""Estimate (and, where labels exist, realize) a model's performance per chunk.

The estimator (CBPE for classification, DLE for regression) is fitted on the
labelled reference data. Analysis data is chunked the way drift is (rows,
number of chunks, or a time period); every chunk gets each metric's estimate,
a confidence band, the realized value when the chunk has labels (in the data
itself, or ingested later and joined by prediction id), and an alert flag.

Both inputs are read in bounded slices (:mod:`postpilot.performance.stream`): the
estimator and the sampling errors are fitted on the labelled reference sampled down
to ``stream.REFERENCE_SAMPLE_ROWS`` rows when it has more (the reference chunks'
realized values use every row), and each analysis chunk is measured by
``_Problem.estimate``, ``.realized`` and ``.outside`` (one chunk's polars frame in,
that chunk's values out) as soon as its last row has been read.

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

Alert: a chunk is beyond a threshold on a metric when its whole confidence
band lies beyond it (the change is larger than sampling noise explains), or
when its realized value does. Which side alerts is ``alert_direction``:
``"worse"`` (the default) alerts when the metric got worse (fell, for a metric
where higher is better; rose, for a loss such as MAE, RMSE or log loss),
``"better"`` when it got better, ``"either"`` on both sides. A chunk beyond the
other side is still reported (``change`` is ``"better"`` or ``"worse"``), not
alerted: a model that improves is news, not an incident. An SLA is a bound on
one side only (the worse side), so with ``"better"`` it never alerts.

Scores outside the reference's range: CBPE's calibrator is fitted on the
reference's scores; a score above the highest (or below the lowest) of them
gets the calibrated probability of that extreme, which is a guess. Each chunk
reports the share of its rows with a score outside that range (per class
column, for multiclass), and warns when the share is above
``SCORES_OUTSIDE_WARNING`` (10 %): without a shift, a chunk has about
``2 / reference rows`` of its scores there.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from postpilot.errors import InputError
from postpilot.monitoring.chunking import MAX_ROWS, Chunk, Chunker, SizeChunker, chunker_pair
from postpilot.performance import stream
from postpilot.performance.cbpe import CBPE
from postpilot.performance.dle import DLE
from postpilot.performance.metrics import metric_info, realized_many
from postpilot.performance.results import (
    ChunkPerformance,
    MetricResult,
    PerformanceReport,
    Threshold,
)

__all__ = [
    "ALERT_DIRECTIONS",
    "SCORES_OUTSIDE_WARNING",
    "PerformanceOptions",
    "check_threshold",
    "estimate_performance",
]

PROBLEMS = ("binary", "multiclass", "regression")
ALERT_DIRECTIONS = ("worse", "better", "either")
"""Which change of a metric alerts: it got worse (default), better, or either."""
SCORES_OUTSIDE_WARNING = 0.10
"""A chunk warns when more than this share of its scores lies outside the reference's."""
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
    alert_direction: str = "worse"
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
            "alert_direction": self.alert_direction,
            "scores_outside_warning": SCORES_OUTSIDE_WARNING,
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
        raise InputError("name at least one metric", field="metrics")
    twice = [m for m in options.metrics if list(options.metrics).count(m) > 1]
    if twice:
        raise InputError(f"metric {twice[0]!r} is named twice", field="metrics")
    try:
        infos = [metric_info(m, options.problem) for m in options.metrics]
    except InputError as exc:
        raise InputError(exc.message, field="metrics", hint=exc.hint) from exc
    if options.alert_direction not in ALERT_DIRECTIONS:
        raise InputError(
            f"unknown alert direction {options.alert_direction!r}",
            field="alert_direction",
            hint=f"Use one of: {', '.join(ALERT_DIRECTIONS)}",
        )
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
    for metric, value in options.thresholds.items():
        if metric not in options.metrics:
            raise InputError(
                f"threshold for {metric!r}, which is not one of the metrics asked for",
                field="thresholds",
                hint=f"Give thresholds for: {', '.join(options.metrics)}",
            )
        check_threshold(metric, value, options.problem, "thresholds")
    if options.features is not None:
        twice = [c for c in options.features if list(options.features).count(c) > 1]
        if twice:
            raise InputError(f"feature {twice[0]!r} is named twice", field="features")


def check_threshold(metric: str, value: object, problem: str, field: str) -> None:
    """A threshold is a finite number inside the range the metric can take."""
    info = metric_info(metric, problem)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InputError(f"threshold {metric}={value!r} is not a number", field=field)
    if not math.isfinite(value):
        raise InputError(
            f"threshold {metric}={value} is not a finite number",
            field=field,
            hint=f"Give {metric} a number it can reach",
        )
    low, high = info.lower, info.upper
    if (low is not None and value < low) or (high is not None and value > high):
        if low is None:
            span = f"up to {high:g}"
        elif high is None:
            span = f"from {low:g}"
        else:
            span = f"from {low:g} to {high:g}"
        raise InputError(
            f"threshold {metric}={value:g} is out of range: {metric} goes {span}",
            field=field,
        )


def _chunkers(
    options: PerformanceOptions, ref_rows: int, ana_rows: Callable[[], int]
) -> tuple[Chunker, Chunker]:
    """The chunkers of the labelled reference rows and of the analysis rows;
    ``ana_rows()`` is called only when chunking needs the analysis row count."""
    size = options.chunk_size
    if isinstance(size, int) and not isinstance(size, bool) and size > MAX_ROWS:
        size = MAX_ROWS  # one chunk either way
    pair = chunker_pair(
        chunk_size=size,
        chunk_number=options.chunk_number,
        chunk_period=options.chunk_period,
        timestamp=options.timestamp,
        rows=lambda: (ref_rows, ana_rows()),
    )
    if pair is not None:
        return pair
    # Default: NannyML's, ten chunks of the analysis data, the reference chunked alike.
    size = max(1, -(-ana_rows() // 10))
    return SizeChunker(size), SizeChunker(size)


def _name(data: object, label: str) -> str:
    """How to name an input in a message: its path, else ``the reference data``."""
    if isinstance(data, str | os.PathLike):
        return f"the {label} data ({os.fspath(data)})"
    return f"the {label} data"


def _require(
    names: Sequence[str], columns: Sequence[str], data: object, label: str, field: str | None
) -> None:
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputError(
            f"{_name(data, label)} has no column {missing[0]!r}",
            field=field or missing[0],
            hint=f"Its columns are: {', '.join(names)}",
        )


def _as_numbers(
    frame: pl.DataFrame, column: str, what: str, field: str, data: object, label: str
) -> pl.DataFrame:
    """``column`` as Float64: numbers, booleans, or text that reads as numbers."""
    values = frame.get_column(column)
    if values.dtype.is_numeric() or values.dtype == pl.Boolean or values.dtype == pl.Null:
        return frame.with_columns(values.cast(pl.Float64))
    if values.dtype != pl.String:
        raise InputError(
            f"{what} column {column!r} in {_name(data, label)} is {values.dtype}, not numbers",
            field=field,
        )
    cast = values.str.strip_chars().cast(pl.Float64, strict=False)
    bad = cast.is_null() & values.is_not_null()
    if bad.any():
        raise InputError(
            f"{what} column {column!r} in {_name(data, label)} holds "
            f"{values.filter(bad)[0]!r}, not a number",
            field=field,
        )
    return frame.with_columns(cast)


def _typed_outputs(
    frame: pl.DataFrame, options: PerformanceOptions, data: object, label: str
) -> pl.DataFrame:
    """The model's outputs as numbers (scores always; predictions unless multiclass),
    checked once up front so that a bad value is named, not met in the middle of a chunk."""
    for column in options.proba_columns:
        frame = _as_numbers(frame, column, "score", "y_pred_proba", data, label)
    if options.y_pred is not None and options.problem != "multiclass":
        frame = _as_numbers(frame, options.y_pred, "prediction", "y_pred", data, label)
        missing = frame.get_column(options.y_pred).fill_nan(None).null_count()
        if missing:
            missing = _missing_predictions(options, data, label)
            raise InputError(
                f"prediction column {options.y_pred!r} in {_name(data, label)} has "
                f"{missing:,} missing value(s)",
                field="y_pred",
                hint="Every row needs the model's prediction",
            )
    return frame


def _missing_predictions(options: PerformanceOptions, data: object, label: str) -> int:
    """How many rows of ``data`` have no prediction: one more pass over that column,
    on the way to an error only."""
    column = options.y_pred
    assert column is not None

    def count(batches: Iterator[pl.DataFrame]) -> int:
        total = 0
        for frame in batches:
            typed = _as_numbers(frame, column, "prediction", "y_pred", data, label)
            total += typed.get_column(column).fill_nan(None).null_count()
        return total

    return stream.each(data, [column], count)


def _features(
    options: PerformanceOptions, ref: pl.DataFrame, analysis_columns: Sequence[str]
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
        if name not in analysis_columns:
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
        if self.options.problem == "binary":  # one column: no matrix, no second copy
            matrix = frame.get_column(cols[0]).cast(pl.Float64).to_numpy().reshape(-1, 1)
        else:
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
        if self.options.problem == "binary" and values.dtype == np.int8:
            return values  # 0 and 1 (see _compact): the metrics take them as they are
        return values.astype(np.float64, copy=False)

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

    def outside(self, frame: pl.DataFrame) -> tuple[float, float, float] | None:
        """Shares of rows with a score (below, above, either side of) the range the
        calibrator was fitted on; None for DLE."""
        if self.cbpe is None:
            return None
        return self.cbpe.outside_reference(self._scores(frame))

    def realized(self, frame: pl.DataFrame) -> dict[str, float]:
        unlabelled = frame.get_column(_LABEL).null_count()
        labelled = frame.filter(pl.col(_LABEL).is_not_null()) if unlabelled else frame
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
    direction: str = "worse",
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
    worse, better = (below, above) if info.higher_is_better else (above, below)
    change = "worse" if worse else "better" if better else None
    return MetricResult(
        metric=metric,
        estimated=estimated if math.isfinite(estimated) else None,
        lower=lower,
        upper=upper,
        realized=realized if math.isfinite(realized) else None,
        alert=change is not None and direction in (change, "either"),
        change=change,
        sampling_error=error if math.isfinite(error) else None,
        threshold_lower=threshold.lower,
        threshold_upper=threshold.upper,
    )


@dataclass
class _Measured:
    """One chunk's values before the bands and thresholds are known."""

    chunk: Chunk
    rank: int
    estimates: dict[str, float]
    realized: dict[str, float]
    outside: tuple[float, float, float] | None
    labelled: int


def _measure(problem: _Problem, rank: int, chunk: Chunk, part: pl.DataFrame) -> _Measured:
    """Everything a chunk reports that needs its rows (the per-chunk step)."""
    return _Measured(
        chunk=chunk,
        rank=rank,
        estimates=problem.estimate(part),
        realized=problem.realized(part),
        outside=problem.outside(part),
        labelled=part.height - part.get_column(_LABEL).null_count(),
    )


def _split(frame: pl.DataFrame, chunker: Chunker) -> list[tuple[int, Chunk, pl.DataFrame]]:
    """The chunks of a frame in memory, ranked by first appearance."""
    out = []
    first = 0
    for rank, (key, part) in enumerate(chunker.split(frame)):
        out.append((rank, chunker.describe(key, part.height, first), part))
        first += part.height
    return out


def _compact(frame: pl.DataFrame, options: PerformanceOptions) -> pl.DataFrame:
    """A binary model's predictions and labels as Int8 where they are all 0 or 1 (or
    missing), so that a chunk's rows take 10 bytes each instead of 24: a chunk of ten
    million rows is held whole while its metrics are computed. Anything else stays a
    float, for the metrics to refuse by name."""
    if options.problem != "binary":
        return frame
    compact = []
    for name in (options.y_pred, _LABEL):
        if name is None:
            continue
        column = frame.get_column(name)
        if column.is_in([0.0, 1.0]).sum() == column.len() - column.null_count():
            compact.append(column.cast(pl.Int8))
    return frame.with_columns(compact)


def _unique(names: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))


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
    mapping, so that a store is asked only for the ids at hand (it is called once
    per batch of ``stream.BATCH_ROWS`` rows).

    Both inputs are read in bounded slices (:mod:`postpilot.performance.stream`):
    the estimator is fitted on the labelled reference, sampled down to
    ``stream.REFERENCE_SAMPLE_ROWS`` rows when it has more, and applied to the
    analysis data chunk by chunk as its rows stream in.
    """
    _validate(options)
    if labels is not None and options.id_column is None:
        raise InputError(
            "joining ingested labels needs the prediction id column", field="id_column"
        )
    needed = [c for c in (options.y_pred, *options.proba_columns) if c]
    ref_names = stream.column_names(reference)
    ana_names = stream.column_names(analysis)
    _require(ref_names, [options.y_true, *needed], reference, "reference", None)
    _require(ana_names, needed, analysis, "analysis", None)
    if options.id_column is not None:
        _require(ana_names, [options.id_column], analysis, "analysis", "id_column")
    if options.features is not None:
        _require(ref_names, options.features, reference, "reference", "features")
        _require(ana_names, options.features, analysis, "analysis", "features")
    if options.chunk_number is None:  # a bad way to chunk fails before the long part
        _chunkers(options, 1, lambda: 1)
    period = options.chunk_period is not None
    stamp = options.timestamp if period else None
    if stamp is not None:
        for names in (ref_names, ana_names):
            if stamp not in names:
                raise InputError(
                    f"timestamp column {stamp!r} not found; columns: {', '.join(names)}",
                    field="timestamp",
                )
    ana_total: int | None = None
    if options.chunk_number is not None or (options.chunk_size is None and not period):
        ana_total = stream.count_rows(analysis)  # the chunks' sizes depend on it
    if ana_total == 0:
        raise InputError(
            f"{_name(analysis, 'analysis')} has no rows: there is nothing to estimate",
            field="analysis",
        )

    # The reference, once: its labelled rows counted and sampled, its classes seen.
    auto = options.problem == "regression" and options.features is None
    ref_columns = (
        ref_names if auto else _unique([options.y_true, *needed, *(options.features or []), stamp])
    )

    def labelled(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        frame = _typed_outputs(frame, options, reference, "reference")
        truth = _typed_labels(frame.get_column(options.y_true), options.problem, "label")
        frame = frame.with_columns(truth.alias(_LABEL))
        unlabelled = truth.null_count()
        return (frame.filter(pl.col(_LABEL).is_not_null()) if unlabelled else frame), unlabelled

    def sample_reference(batches: Iterator[pl.DataFrame]) -> tuple[stream.Sample, int, set[Any]]:
        sample = stream.Sample(stream.REFERENCE_SAMPLE_ROWS, options.seed)
        unlabelled = 0
        seen: set[Any] = set()
        for frame in batches:
            frame, dropped = labelled(frame)
            unlabelled += dropped
            if options.problem != "regression":
                seen.update(frame.get_column(_LABEL).unique().to_list())
            sample.add(frame)
        return sample, unlabelled, seen

    sample, unlabelled, seen = stream.each(reference, ref_columns, sample_reference)
    ref_rows = sample.rows
    if ref_rows + unlabelled == 0:
        raise InputError(f"{_name(reference, 'reference')} has no rows", field="reference")
    if ref_rows < 2:
        raise InputError(
            f"{_name(reference, 'reference')} needs labelled rows to fit on; "
            f"{ref_rows} of its rows have a label in {options.y_true!r}",
            field="y_true",
        )
    if options.problem != "regression":
        _check_classes(seen, options, reference)
    fitted = sample.frame()

    # The model's inputs: DLE's features, and the columns the HTML report's drift
    # section compares. Told from the reference sample when it holds every column
    # (regression without --features), else from the reference's first batch.
    if auto:
        inputs, skipped = _features(options, fitted, ana_names)
    else:
        head = stream.each(reference, None, lambda batches: next(batches))
        inputs, skipped = _features(options, head, ana_names)
    problem, features = _fit_problem(options, inputs, fitted)

    def analysis_rows() -> int:
        assert ana_total is not None
        return ana_total

    ref_chunker, ana_chunker = _chunkers(options, ref_rows, analysis_rows)
    keep = _unique([*needed, _LABEL, *features])

    # The analysis data, once, chunk by chunk.
    ana_columns = _unique(
        [
            *needed,
            options.y_true if options.y_true in ana_names else None,
            options.id_column,
            *features,
            stamp,
        ]
    )
    ana_last = stream.last_rows(analysis, ana_chunker, [stamp]) if stamp else None

    def measure_analysis(batches: Iterator[pl.DataFrame]) -> list[_Measured]:
        def prepared() -> Iterator[pl.DataFrame]:
            for frame in batches:
                frame = _typed_outputs(frame, options, analysis, "analysis")
                yield _compact(_with_labels(frame, options, labels), options)

        parts = stream.chunk_stream(prepared(), ana_chunker, keep, ana_last)
        return [_measure(problem, first, chunk, part) for first, chunk, part in parts]

    ana_measured = sorted(
        stream.each(analysis, ana_columns, measure_analysis), key=lambda m: m.rank
    )
    if not ana_measured:
        raise InputError(
            f"{_name(analysis, 'analysis')} has no rows: there is nothing to estimate",
            field="analysis",
        )

    # The reference's chunks: from the sample when it holds every labelled row, else
    # from a second pass over the reference.
    if not sample.capped:
        ref_measured = [_measure(problem, *split) for split in _split(fitted, ref_chunker)]
    else:
        ref_last = None
        if stamp is not None:
            ref_last = stream.last_rows(
                reference,
                ref_chunker,
                [stamp, options.y_true],
                keep=lambda frame: frame.filter(
                    _typed_labels(
                        frame.get_column(options.y_true), options.problem, "label"
                    ).is_not_null()
                ),
            )

        def measure_reference(batches: Iterator[pl.DataFrame]) -> list[_Measured]:
            rows = (_compact(labelled(frame)[0], options) for frame in batches)
            parts = stream.chunk_stream(rows, ref_chunker, keep, ref_last)
            return [_measure(problem, first, chunk, part) for first, chunk, part in parts]

        ref_columns = _unique([options.y_true, *needed, *features, stamp])
        ref_measured = sorted(
            stream.each(reference, ref_columns, measure_reference), key=lambda m: m.rank
        )

    typical = int(statistics.median(m.chunk.rows for m in ana_measured))
    unit_errors = _sampling_errors(problem, fitted, typical, options.seed)
    whole = problem.realized(fitted)
    thresholds = {
        m: _threshold(
            m,
            options.problem,
            options.thresholds.get(m),
            [r.realized[m] for r in ref_measured],
            whole[m],
            unit_errors[m] / math.sqrt(typical),
        )
        for m in options.metrics
    }

    def results(measured: list[_Measured], period: str) -> list[ChunkPerformance]:
        return [
            ChunkPerformance(
                key=m.chunk.key,
                start=m.chunk.start,
                end=m.chunk.end,
                rows=m.chunk.rows,
                labelled=m.labelled,
                metrics=[
                    _result(
                        metric,
                        m.estimates[metric],
                        m.realized[metric],
                        unit_errors[metric] / math.sqrt(max(m.chunk.rows, 1)),
                        thresholds[metric],
                        options.problem,
                        options.alert_direction,
                    )
                    for metric in options.metrics
                ],
                period=period,
                scores_below_reference=None if m.outside is None else m.outside[0],
                scores_above_reference=None if m.outside is None else m.outside[1],
                scores_outside_reference=None if m.outside is None else m.outside[2],
                warnings=_warnings(m.outside, problem),
            )
            for m in measured
        ]

    ana_rows = sum(m.chunk.rows for m in ana_measured)
    effective_size = None
    if options.chunk_number is None and not period:
        size = getattr(ana_chunker, "size", None)
        effective_size = None if size is None else min(size, max(ref_rows, ana_rows, 1))
    return PerformanceReport(
        problem=options.problem,
        method="dle" if options.problem == "regression" else "cbpe",
        chunks=results(ana_measured, "analysis"),
        reference_chunks=results(ref_measured, "reference"),
        thresholds=thresholds,
        settings={
            **options.settings(),
            "features": features or None,
            "inputs": inputs,
            "skipped_inputs": skipped,
            "effective_chunk_size": effective_size,
            "reference_rows_without_label": unlabelled,
            "reference_sample_rows": fitted.height,
        },
        reference_rows=ref_rows,
    )


def _fit_problem(
    options: PerformanceOptions, inputs: list[str], reference: pl.DataFrame
) -> tuple[_Problem, list[str]]:
    """The estimator fitted on ``reference``, and its features (DLE's inputs; none for
    CBPE). InputError for a regression without features."""
    features = inputs if options.problem == "regression" else []
    if options.problem == "regression" and not features:
        raise InputError(
            "DLE needs the model's input features; none found",
            field="features",
            hint="Pass --features COL,COL,...",
        )
    problem = _Problem(options, features)
    problem.fit(reference)
    return problem, features


def _check_classes(seen: set[Any], options: PerformanceOptions, data: object) -> None:
    """CBPE calibrates each class's scores against the reference labels: every class
    must occur there, or its calibrated probability is a constant and every estimate
    a fiction (a single-class reference would pass for a perfect model)."""
    values = [v for v in seen if v is not None]
    if options.problem == "binary":
        labels = {f"{float(v):g}" for v in values}
        missing = [c for c in ("0", "1") if c not in labels]
    else:
        labels = {str(v) for v in values}
        missing = [c for c in options.classes if c not in labels]
    if missing:
        present = ", ".join(sorted(labels)) or "none"
        raise InputError(
            f"class {missing[0]} never occurs in the labels of {_name(data, 'reference')} "
            f"(labels seen: {present}); CBPE needs every class there to calibrate the scores",
            field="y_true",
            hint="Use a reference with every outcome, e.g. the model's test set",
        )


def _warnings(outside: tuple[float, float, float] | None, problem: _Problem) -> list[str]:
    if outside is None or not outside[2] > SCORES_OUTSIDE_WARNING:
        return []
    below, above, either = outside
    assert problem.cbpe is not None
    ranges = problem.cbpe.score_ranges
    where = (
        f"the reference's range [{ranges[0][0]:.4g}, {ranges[0][1]:.4g}]"
        if len(ranges) == 1
        else "the reference's range of their class"
    )
    return [
        f"{either:.1%} of scores lie outside {where} ({above:.1%} above, {below:.1%} below): "
        "CBPE's calibration is extrapolated there and the estimate may be off"
    ]


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
