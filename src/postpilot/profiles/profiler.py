"""``profile()``: stream a dataset in batches and fold each column into sketches.

Memory is bounded by the batch size (plus two batches read ahead), whatever the
row count: sketches have fixed sizes and exact value counts stop at
``max_exact_values``. Reading runs on a second thread; polars and numpy do the
per-batch work vectorised.

>>> import polars as pl
>>> p = profile(pl.DataFrame({"x": [1, 2, 3], "tier": ["a", "b", "a"]}))
>>> (p.rows, p.columns, p.column("x").max)
(3, ('x', 'tier'), 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from postpilot.errors import InputError
from postpilot.profiles.accumulator import ColumnAccumulator, Settings
from postpilot.profiles.prefetch import prefetched
from postpilot.profiles.profile import Profile
from postpilot.profiles.readers import Restart, Source, open_source
from postpilot.profiles.summary import summarize

__all__ = ["DEFAULT_BATCH_SIZE", "profile"]

DEFAULT_BATCH_SIZE: Final = 131_072


def profile(
    data: object,
    *,
    columns: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    kll_k: int = 200,
    hll_lg_k: int = 12,
    frequent_lg_size: int = 10,
    max_exact_values: int = 1_000,
) -> Profile:
    """Profile ``data``: a file path, Arrow, polars, pandas or Spark data, or a SQLSource.

    ``columns`` picks and orders the columns to profile (default: all).
    ``kll_k`` sizes the quantile sketches (rank error about 1.33% at 200),
    ``hll_lg_k`` the distinct-count sketches (4 to 21; about 1.6% error at 12),
    ``frequent_lg_size`` the frequent-items sketches (7 to 24). Categorical
    columns keep exact value counts up to ``max_exact_values`` distinct values.
    """
    settings = _settings(batch_size, kll_k, hll_lg_k, frequent_lg_size, max_exact_values)
    if type(data).__module__.partition(".")[0] == "pyspark":  # imports pyspark only then
        from postpilot.profiles.spark import profile_spark

        return profile_spark(data, columns=columns, batch_size=batch_size, settings=settings)
    source = open_source(data, batch_size=batch_size, columns=columns)
    while True:
        try:
            return _run(source, settings)
        except Restart as restart:
            source = restart.source


def _run(source: Source, settings: Settings) -> Profile:
    names = source.names
    accumulators: list[ColumnAccumulator] = []
    if names is not None:
        accumulators = [ColumnAccumulator(name, settings) for name in names]
    rows = 0
    summaries = ((frame.height, summarize(frame)) for frame in source.batches)
    with prefetched(summaries) as batches:
        for height, columns in batches:
            if names is None:
                names = list(columns)
                accumulators = [ColumnAccumulator(name, settings) for name in names]
            rows += height
            for accumulator in accumulators:
                accumulator.update(columns[accumulator.name])
    return Profile(rows, [accumulator.finish() for accumulator in accumulators])


def _settings(
    batch_size: int, kll_k: int, hll_lg_k: int, frequent_lg_size: int, max_exact_values: int
) -> Settings:
    checks = [
        ("batch_size", batch_size, 1, None),
        ("kll_k", kll_k, 8, 65_535),
        ("hll_lg_k", hll_lg_k, 4, 21),
        ("frequent_lg_size", frequent_lg_size, 7, 24),
        ("max_exact_values", max_exact_values, 0, None),
    ]
    for name, value, low, high in checks:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            allowed = f"{low} to {high}" if high is not None else f"at least {low}"
            raise InputError(f"{name} must be an integer, {allowed}; got {value!r}", field=name)
    return Settings(kll_k, hll_lg_k, frequent_lg_size, max_exact_values)
