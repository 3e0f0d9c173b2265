"""``drift --engine spark``: the chunk profiles on a cluster, the comparison on the driver.

Both sides are profiled chunk by chunk on the executors (:mod:`postpilot.spark.chunks`)
and only the chunk profiles come back; the driver then runs exactly what the local
engine runs on its own chunk profiles (:func:`postpilot.monitoring.run.compare_chunks`):
tests, Holm adjustment, reference bands, schema changes. For the multivariate
detector, a second pass keeps a uniform random sample of at most
:data:`~postpilot.monitoring.multivariate.SAMPLE_ROWS` rows per chunk (the local
engine's cap), which the driver receives; ``multivariate=False`` skips that pass.
The sample is another random sample than the local engine's, so the multivariate
values differ from a local run's within their sampling error; the per-column results
differ only within the sketches' stated bounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postpilot.errors import InputError
from postpilot.monitoring.chunking import SizeChunker
from postpilot.monitoring.inputs import check_names, check_options, location
from postpilot.monitoring.multivariate import SAMPLE_ROWS, RowSampler
from postpilot.monitoring.run import DriftOptions, SampledRows, compare_chunks
from postpilot.spark.chunks import prepare, profile_chunks, sample_chunks
from postpilot.spark.session import dataframe, session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from postpilot.monitoring.results import DriftReport

__all__ = ["run_drift_spark"]


def run_drift_spark(
    reference: object,
    current: object,
    options: DriftOptions | None = None,
    *,
    spark_format: str | None = None,
    spark: SparkSession | None = None,
) -> DriftReport:
    """:func:`postpilot.monitoring.run.run_drift` with the data read and profiled by Spark:
    ``reference`` and ``current`` are paths, table names or Spark DataFrames."""
    options = options or DriftOptions()
    check_options(options)
    spark = spark or session()
    ref_df = dataframe(spark, reference, "reference", spark_format)
    cur_df = dataframe(spark, current, "current", spark_format)
    for df, data, role in ((ref_df, reference, "reference"), (cur_df, current, "current")):
        if not df.columns:
            raise InputError(f"the {role} data has no columns", **location(data, role))
    check_names(options, reference, current, list(ref_df.columns), list(cur_df.columns))
    by_rows = options.chunk_size is not None or options.chunk_number is not None
    wanted = None
    if options.columns:
        extra = [options.timestamp] if options.timestamp else []
        wanted = list(dict.fromkeys([*options.columns, *extra]))
    sides = [
        prepare(df, wanted, label=_label(data, role), numbered=by_rows, need_numbers=by_rows)
        for df, data, role in ((ref_df, reference, "reference"), (cur_df, current, "current"))
    ]

    def rows() -> tuple[int, int]:
        counts = [p.rows if p.rows is not None else p.frame.count() for p in sides]
        for n, data, role in zip(
            counts, (reference, current), ("reference", "current"), strict=True
        ):
            if n == 0:
                raise InputError(f"the {role} data has no rows", **location(data, role))
        return counts[0], counts[1]

    pair = options.chunkers(rows)
    whole = SizeChunker(2**62)
    chunkers = pair if pair is not None else (whole, whole)
    samplers = (RowSampler([]), RowSampler([]))
    profiled = []
    for prepared, chunker, sampler, data, role in zip(
        sides, chunkers, samplers, (reference, current), ("reference", "current"), strict=True
    ):
        chunks = profile_chunks(prepared, chunker)
        if not chunks:
            raise InputError(f"the {role} data has no rows", **location(data, role))
        if options.multivariate:
            sizes = {c.chunk.key: c.profile.rows for c in chunks}
            for key, sample in sample_chunks(prepared, chunker, sizes, SAMPLE_ROWS).items():
                sampler.observe(key, sample)
        profiled.append(chunks)
    return compare_chunks(
        profiled[0],
        profiled[1],
        options,
        reference_chunked=pair is not None,
        rows=SampledRows(samplers, (profiled[0], profiled[1])) if options.multivariate else None,
    )


def _label(data: object, role: str) -> str:
    return f"the {role} data ({data})" if isinstance(data, str) else f"the {role} data"
