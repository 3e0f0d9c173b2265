"""``estimate --engine spark``: fit on the driver, estimate every chunk on the executors.

The reference is read through Spark and brought to the driver (in file order; a
uniform random sample of :data:`REFERENCE_ROWS` rows when it has more), where the
estimator (CBPE or DLE) is fitted and the thresholds and sampling errors are computed
exactly as by :func:`postpilot.performance.run.estimate_performance`. The fitted
estimator travels to the executors with the job. Every analysis row gets its chunk
key there (the local chunkers, from the row number or the timestamp, see
:mod:`postpilot.spark.chunks`); Spark groups the rows by chunk, and one task per
chunk puts its rows back in file order and computes the estimates, the realized
metrics, the share of scores outside the reference's range and the labelled count:
the local engine's per-chunk functions on the same rows, so the numbers equal a local
run's on the same file. Only those numbers (a few hundred bytes per chunk) come back.

A chunk's rows are held by one task (its model outputs, label and, for DLE, the
model's inputs): size chunks for the executors' memory (a million rows of a binary
classifier's three columns is about 25 MB). Labels ingested later and joined by
prediction id (``--id-column`` with ``--product``) are not joined on Spark: put the
label column in the analysis table.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import polars as pl
import pyarrow as pa

from postpilot.errors import InputError
from postpilot.monitoring.chunking import Chunk, Chunker
from postpilot.performance.results import ChunkPerformance, PerformanceReport, Threshold
from postpilot.performance.run import (
    _LABEL,
    PerformanceOptions,
    _check_classes,
    _chunkers,
    _features,
    _fit_problem,
    _name,
    _Problem,
    _require,
    _result,
    _sampling_errors,
    _split,
    _threshold,
    _typed_labels,
    _typed_outputs,
    _validate,
    _warnings,
    _with_labels,
)
from postpilot.performance.stream import REFERENCE_SAMPLE_ROWS
from postpilot.spark.chunks import (
    ROW,
    Prepared,
    RowNumbered,
    chunk_order,
    collect_frame,
    prepare,
    to_polars,
)
from postpilot.spark.session import dataframe, session, spark_error

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["REFERENCE_ROWS", "estimate_performance_spark"]

REFERENCE_ROWS: Final = REFERENCE_SAMPLE_ROWS
"""The most reference rows brought to the driver to fit on; a larger reference is
sampled uniformly down to about this many (seeded)."""
_CHUNK: Final = "__postpilot_chunk__"
_RESULT: Final = "result"

_Numbers = tuple[str, int, int, dict[str, float], dict[str, float], Any]


def estimate_performance_spark(
    reference: object,
    analysis: object,
    options: PerformanceOptions,
    *,
    spark_format: str | None = None,
    spark: SparkSession | None = None,
) -> PerformanceReport:
    """:func:`postpilot.performance.run.estimate_performance` with the data read by Spark
    and the analysis chunks computed on the executors (see the module docstring).
    ``reference`` and ``analysis`` are paths, table names or Spark DataFrames."""
    _validate(options)
    spark = spark or session()
    ref_df = dataframe(spark, reference, "reference", spark_format)
    ana_df = dataframe(spark, analysis, "analysis", spark_format)
    needed = [c for c in (options.y_pred, *options.proba_columns) if c]
    _require(list(ref_df.columns), [options.y_true, *needed], reference, "reference", None)
    _require(list(ana_df.columns), needed, analysis, "analysis", None)
    if options.id_column is not None:
        _require(list(ana_df.columns), [options.id_column], analysis, "analysis", "id_column")
    if options.features is not None:
        _require(list(ref_df.columns), list(options.features), reference, "reference", "features")
        _require(list(ana_df.columns), list(options.features), analysis, "analysis", "features")
    by_rows = options.chunk_period is None
    ref_label, ana_label = _name(reference, "reference"), _name(analysis, "analysis")
    ref_side = prepare(ref_df, None, label=ref_label, numbered=True, need_numbers=by_rows)
    reference_frame, reference_rows = collect_frame(ref_side, cap=REFERENCE_ROWS, seed=options.seed)
    if reference_rows == 0:
        raise InputError(f"{ref_label} has no rows", field="reference")
    reference_frame = _typed_outputs(reference_frame, options, reference, "reference")
    reference_frame = reference_frame.with_columns(
        _typed_labels(reference_frame.get_column(options.y_true), options.problem, "label").alias(
            _LABEL
        )
    )
    unlabelled = reference_frame.get_column(_LABEL).null_count()
    if unlabelled:
        reference_frame = reference_frame.filter(pl.col(_LABEL).is_not_null())
    if reference_frame.height < 2:
        raise InputError(
            f"{ref_label} needs labelled rows to fit on; {reference_frame.height} of its rows "
            f"have a label in {options.y_true!r}",
            field="y_true",
        )
    if options.problem != "regression":
        _check_classes(
            set(reference_frame.get_column(_LABEL).unique().to_list()), options, reference
        )
    inputs, skipped = _features(options, reference_frame, list(ana_df.columns))
    problem, features = _fit_problem(options, inputs, reference_frame)

    wanted = [
        options.y_true if options.y_true in ana_df.columns else None,
        *needed,
        options.id_column,
        options.timestamp,
        *features,
    ]
    columns = list(dict.fromkeys(c for c in wanted if c is not None))
    ana_side = prepare(ana_df, columns, label=ana_label, numbered=True, need_numbers=by_rows)
    analysis_rows = ana_side.rows if ana_side.rows is not None else ana_side.frame.count()
    if analysis_rows == 0:
        raise InputError(f"{ana_label} has no rows: there is nothing to estimate", field="analysis")
    ref_chunker, ana_chunker = _chunkers(
        options, reference_frame.height, lambda: int(analysis_rows)
    )
    numbers = _analysis_chunks(ana_side, ana_chunker, problem, analysis)
    ana_chunks = [ana_chunker.describe(key, rows, 0) for key, rows, *_ in numbers]

    ref_chunks = [(chunk, part) for _, chunk, part in _split(reference_frame, ref_chunker)]
    typical = int(statistics.median(c.rows for c in ana_chunks)) if ana_chunks else 1
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
    reference_numbers = [
        _local_numbers(problem, chunk, part, known)
        for (chunk, part), known in zip(ref_chunks, ref_realized, strict=True)
    ]

    def results(chunks: list[Chunk], values: list[_Numbers], period: str) -> list[ChunkPerformance]:
        return [
            _chunk(chunk, value, problem, unit_errors, thresholds, options, period)
            for chunk, value in zip(chunks, values, strict=True)
        ]

    return PerformanceReport(
        problem=options.problem,
        method="dle" if options.problem == "regression" else "cbpe",
        chunks=results(ana_chunks, numbers, "analysis"),
        reference_chunks=results([c for c, _ in ref_chunks], reference_numbers, "reference"),
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
            "engine": "spark",
            "reference_rows_read": reference_rows,
            "reference_rows_fitted": reference_frame.height,
        },
        reference_rows=reference_frame.height,
    )


def _local_numbers(
    problem: _Problem, chunk: Chunk, part: pl.DataFrame, known: dict[str, float]
) -> _Numbers:
    labelled = part.height - part.get_column(_LABEL).null_count()
    return chunk.key, chunk.rows, labelled, problem.estimate(part), known, problem.outside(part)


def _chunk(
    chunk: Chunk,
    numbers: _Numbers,
    problem: _Problem,
    unit_errors: dict[str, float],
    thresholds: dict[str, Threshold],
    options: PerformanceOptions,
    period: str,
) -> ChunkPerformance:
    """One chunk's results from its numbers, as the local engine builds them."""
    _, _, labelled, estimates, real, outside = numbers
    return ChunkPerformance(
        key=chunk.key,
        start=chunk.start,
        end=chunk.end,
        rows=chunk.rows,
        labelled=labelled,
        metrics=[
            _result(
                m,
                estimates[m],
                real[m],
                unit_errors[m] / math.sqrt(max(chunk.rows, 1)),
                thresholds[m],
                options.problem,
                options.alert_direction,
            )
            for m in options.metrics
        ],
        period=period,
        scores_below_reference=None if outside is None else outside[0],
        scores_above_reference=None if outside is None else outside[1],
        scores_outside_reference=None if outside is None else outside[2],
        warnings=_warnings(outside, problem),
    )


def _key_task(
    batches: Iterator[pa.RecordBatch], *, names: list[str], chunker: RowNumbered
) -> Iterator[pa.RecordBatch]:
    """On an executor: every row with its chunk key."""
    for batch in batches:
        if not batch.num_rows:
            continue
        keys = chunker.keys(to_polars(batch, names, chunker.numbered), 0).cast(pl.String)
        arrays = [*batch.columns, keys.to_arrow().cast(pa.string())]
        yield pa.RecordBatch.from_arrays(arrays, [*batch.schema.names, _CHUNK])


def _chunk_task(
    table: pa.Table, *, names: list[str], numbered: bool, problem: _Problem, data: object
) -> pa.Table:
    """On an executor: one chunk's numbers, from its rows in file order."""
    key = str(table.column(_CHUNK)[0].as_py())
    batch = table.drop_columns([_CHUNK]).combine_chunks().to_batches()[0]
    part = to_polars(batch, names, numbered)
    if numbered:
        part = part.sort(ROW).drop(ROW)
    part = _typed_outputs(part, problem.options, data, "analysis")
    part = _with_labels(part, problem.options, None)
    labelled = part.height - part.get_column(_LABEL).null_count()
    numbers: _Numbers = (
        key,
        part.height,
        labelled,
        problem.estimate(part),
        problem.realized(part),
        problem.outside(part),
    )
    return pa.table({_RESULT: pa.array([json.dumps(numbers).encode()], pa.binary())})


def _analysis_chunks(
    prepared: Prepared, chunker: Chunker, problem: _Problem, data: object
) -> list[_Numbers]:
    """Every analysis chunk's numbers, in chunk order."""
    from pyspark.errors import PySparkException
    from pyspark.sql.types import StringType, StructField, StructType

    if not hasattr(prepared.frame.groupBy(), "applyInArrow"):
        raise InputError(
            "estimate on Spark needs PySpark 4.0 or later (groupBy().applyInArrow)",
            field="engine",
            hint="pip install 'pyspark>=4.0'",
        )
    numbered = RowNumbered(chunker, prepared.numbered)
    schema = StructType([*prepared.frame.schema.fields, StructField(_CHUNK, StringType())])
    keyed = prepared.frame.mapInArrow(
        functools.partial(_key_task, names=prepared.names, chunker=numbered), schema
    )
    names, numbered_rows = prepared.names, prepared.numbered
    source = data if isinstance(data, str) else None

    def job(table: pa.Table) -> pa.Table:  # the hints tell PySpark 4 the kind of function
        return _chunk_task(table, names=names, numbered=numbered_rows, problem=problem, data=source)

    try:
        rows = keyed.groupBy(_CHUNK).applyInArrow(job, f"{_RESULT} binary").collect()
    except PySparkException as exc:
        raise InputError(f"the Spark job on {prepared.label} failed: {spark_error(exc)}") from exc
    numbers = [_numbers(json.loads(bytes(row[_RESULT]))) for row in rows]
    return sorted(numbers, key=lambda n: chunk_order(chunker, n[0]))


def _numbers(value: list[Any]) -> _Numbers:
    """A chunk's numbers as the executor sent them (JSON keeps floats exactly, NaN too)."""
    key, rows, labelled, estimates, realized, outside = value
    return key, rows, labelled, estimates, realized, None if outside is None else tuple(outside)
