"""Run drift detection: reference vs current, per chunk, per column and multivariate.

Both datasets are streamed once and profiled chunk by chunk; every univariate
statistic is computed from the chunk profiles (so results can be recomputed
from stored profiles), and the multivariate detector sees a bounded sample of
each chunk's rows.

Alert bounds. The reference is chunked the same way as the current data, and
each reference chunk is compared with the whole reference: that spread is the
metric's natural variation. A distance statistic alerts above the larger of
the test's own threshold and the reference chunks' mean + 3 sd; a p-value test
alerts below its threshold only when its statistic is also above that band.
With fewer than three reference chunks (or no spread) there is no band and the
test's own threshold applies alone: never a band of width zero. Without
chunking, the current data is one chunk and the test's threshold decides.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from postpilot.errors import InputError
from postpilot.monitoring.chunked import ChunkProfile, profile_chunks
from postpilot.monitoring.chunking import Chunker, SizeChunker, chunker_pair
from postpilot.monitoring.drift import DriftResult, DriftTest, default_test, get_test
from postpilot.monitoring.multivariate import (
    FIT_ROWS,
    PCAReconstruction,
    RowSampler,
    band,
    held_out_errors,
    sampling_band,
    too_small,
)
from postpilot.monitoring.results import ChunkDrift, ColumnDrift, DriftReport, MultivariateDrift
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn
from postpilot.profiles.column import ColumnProfile

__all__ = ["DriftOptions", "drift_from_profiles", "run_drift"]

_MIN_BAND_CHUNKS = 3
_SIGMAS = 3.0


@dataclass(frozen=True)
class DriftOptions:
    """How to chunk and test. At most one of ``chunk_size``, ``chunk_number``,
    ``chunk_period`` (which needs ``timestamp``)."""

    columns: Sequence[str] | None = None
    chunk_size: int | None = None
    chunk_number: int | None = None
    chunk_period: str | None = None
    timestamp: str | None = None
    tests: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    multivariate: bool = True

    def settings(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns) if self.columns else None,
            "chunk_size": self.chunk_size,
            "chunk_number": self.chunk_number,
            "chunk_period": self.chunk_period,
            "timestamp": self.timestamp,
            "tests": dict(self.tests),
            "thresholds": dict(self.thresholds),
            "multivariate": self.multivariate,
        }


def _chunkers(
    options: DriftOptions, reference: object, current: object
) -> tuple[Chunker | None, Chunker]:
    pair = chunker_pair(
        chunk_size=options.chunk_size,
        chunk_number=options.chunk_number,
        chunk_period=options.chunk_period,
        timestamp=options.timestamp,
        rows=lambda: (_rows(reference), _rows(current)),
    )
    return pair if pair is not None else (None, SizeChunker(2**62))


def _rows(data: object) -> int:
    from postpilot.profiles import profile

    return profile(data, columns=[]).rows if not isinstance(data, Profile) else data.rows


def _kind(col: ColumnProfile) -> str | None:
    if isinstance(col, TemporalColumn):
        return None
    if isinstance(col, NumericColumn):
        return "numeric"
    if isinstance(col, CategoricalColumn):
        return "categorical"
    return None


def _merge(chunks: list[ChunkProfile]) -> Profile:
    merged = chunks[0].profile
    for chunk in chunks[1:]:
        merged = merged.merge(chunk.profile)
    return merged


def run_drift(
    reference: object, current: object, options: DriftOptions | None = None
) -> DriftReport:
    """Compare ``current`` with ``reference`` (paths, frames, anything profiles read)."""
    options = options or DriftOptions()
    ref_chunker, cur_chunker = _chunkers(options, reference, current)
    wanted = list(options.columns) if options.columns else None
    ref_sampler = RowSampler([])
    cur_sampler = RowSampler([])
    ref_chunks = profile_chunks(
        reference,
        ref_chunker or SizeChunker(2**62),
        columns=wanted,
        observe=ref_sampler.observe if options.multivariate else None,
    )
    cur_chunks = profile_chunks(
        current,
        cur_chunker,
        columns=wanted,
        observe=cur_sampler.observe if options.multivariate else None,
    )
    ref_profile = _merge(ref_chunks)
    cur_profile = _merge(cur_chunks)
    columns, skipped = _columns(ref_profile, cur_profile, options)
    for sampler in (ref_sampler, cur_sampler):
        sampler.columns = columns
    banded = ref_chunker is not None and len(ref_chunks) >= _MIN_BAND_CHUNKS
    per_column = _univariate(
        ref_profile, columns, ref_chunks if banded else [], cur_chunks, options
    )

    mv_ref: list[MultivariateDrift | None] = [None] * len(ref_chunks)
    mv_cur: list[MultivariateDrift | None] = [None] * len(cur_chunks)
    mv_skipped: str | None = None
    if options.multivariate and columns:
        mv_ref, mv_cur, mv_skipped = _multivariate(
            ref_profile, columns, ref_chunks, cur_chunks, ref_sampler, cur_sampler
        )

    def chunk_results(
        chunks: list[ChunkProfile], index: int, mv: list[MultivariateDrift | None], period: str
    ) -> list[ChunkDrift]:
        out = []
        for i, c in enumerate(chunks):
            results = [per_column[n][index][i] for n in columns if per_column[n][index]]
            out.append(
                ChunkDrift(
                    c.chunk.key, c.chunk.start, c.chunk.end, c.chunk.rows, results, mv[i], period
                )
            )
        return out

    return DriftReport(
        chunks=chunk_results(cur_chunks, 1, mv_cur, "analysis"),
        reference_chunks=chunk_results(ref_chunks, 0, mv_ref, "reference") if banded else [],
        settings={
            **options.settings(),
            "skipped_columns": skipped,
            "multivariate_skipped": mv_skipped,
        },
        reference_rows=ref_profile.rows,
        columns=columns,
        profiles=(ref_profile, cur_profile),
        chunk_profiles=[c.profile for c in cur_chunks],
        reference_chunk_profiles=[c.profile for c in ref_chunks] if banded else [],
    )


def _univariate(
    ref_profile: Profile,
    columns: list[str],
    ref_chunks: Sequence[ChunkProfile],
    cur_chunks: Sequence[ChunkProfile],
    options: DriftOptions,
) -> dict[str, tuple[list[ColumnDrift], list[ColumnDrift]]]:
    """Per column: each reference chunk's result (the band's source; empty without
    bands) and each current chunk's result, band applied."""
    typical = int(statistics.median(c.profile.rows for c in cur_chunks)) if cur_chunks else 0
    out: dict[str, tuple[list[ColumnDrift], list[ColumnDrift]]] = {}
    for name in columns:
        ref_col = ref_profile.column(name)
        test = _test_for(name, ref_col, typical, options)
        ref_results = [_drift(test, ref_col, c, name) for c in ref_chunks]
        upper = _band_upper([r.statistic for r in ref_results])
        out[name] = (
            ref_results,
            [_apply_band(_drift(test, ref_col, c, name), upper) for c in cur_chunks],
        )
    return out


def drift_from_profiles(
    reference: Profile,
    chunks: Sequence[ChunkProfile],
    options: DriftOptions | None = None,
    *,
    reference_chunks: Sequence[ChunkProfile] = (),
) -> DriftReport:
    """Per-column drift recomputed from stored profiles alone: no raw data is read, so
    a year of daily chunks is re-tested (another test, another threshold) in seconds.
    Bands come from ``reference_chunks`` when there are at least three. The
    multivariate detector needs rows, so it is not part of a recomputation."""
    options = options or DriftOptions()
    if not chunks:
        raise InputError("no stored chunks to recompute drift from", field="product")
    columns, skipped = _columns(reference, _merge(list(chunks)), options)
    banded = len(reference_chunks) >= _MIN_BAND_CHUNKS
    per_column = _univariate(
        reference, columns, reference_chunks if banded else [], chunks, options
    )

    def results(items: Sequence[ChunkProfile], index: int, period: str) -> list[ChunkDrift]:
        return [
            ChunkDrift(
                c.chunk.key,
                c.chunk.start,
                c.chunk.end,
                c.chunk.rows,
                [per_column[n][index][i] for n in columns if per_column[n][index]],
                None,
                period,
            )
            for i, c in enumerate(items)
        ]

    return DriftReport(
        chunks=results(chunks, 1, "analysis"),
        reference_chunks=results(reference_chunks, 0, "reference") if banded else [],
        settings={
            **options.settings(),
            "multivariate": False,
            "skipped_columns": skipped,
            "recomputed_from_profiles": True,
        },
        reference_rows=reference.rows,
        columns=columns,
        profiles=(reference, _merge(list(chunks))),
        chunk_profiles=[c.profile for c in chunks],
        reference_chunk_profiles=[c.profile for c in reference_chunks],
    )


def _test_for(name: str, ref_col: ColumnProfile, typical: int, options: DriftOptions) -> DriftTest:
    """The column's test: the one asked for, else the default for its kind and sizes."""
    key = options.tests.get(name)
    test = get_test(key)() if key else default_test(_kind(ref_col) or "", ref_col.count, typical)
    threshold = options.thresholds.get(name)
    return test.with_threshold(threshold) if threshold is not None else test


def _drift(test: DriftTest, ref_col: ColumnProfile, chunk: ChunkProfile, name: str) -> ColumnDrift:
    result: DriftResult = test.from_profiles(ref_col, chunk.profile.column(name), column=name)
    return ColumnDrift(
        result.column,
        result.test,
        result.statistic,
        result.p_value,
        result.threshold,
        result.drifted,
        "test",
        result.method,
        result.error_bound,
    )


def _columns(ref: Profile, cur: Profile, options: DriftOptions) -> tuple[list[str], dict[str, str]]:
    """The columns to compare, and every other column with the reason it is left out."""
    skipped: dict[str, str] = {}
    if options.columns:
        for name in options.columns:
            for label, prof in (("reference", ref), ("current", cur)):
                if name not in prof:
                    raise InputError(f"column {name!r} is not in the {label} data", field="columns")
        names = list(options.columns)
    else:
        names = [n for n in ref.columns if n in cur]
        skipped.update({n: "only in the reference" for n in ref.columns if n not in cur})
        skipped.update({n: "only in the current data" for n in cur.columns if n not in ref})
    chosen = []
    for n in names:
        ref_kind, cur_kind = _kind(ref.column(n)), _kind(cur.column(n))
        if n == options.timestamp:
            skipped[n] = "the timestamp column"
        elif ref_kind is None:
            skipped[n] = f"{ref.column(n).type} columns have no drift test"
        elif ref_kind != cur_kind:
            skipped[n] = (
                f"{ref.column(n).type} in the reference but "
                f"{cur.column(n).type} in the current data"
            )
        else:
            chosen.append(n)
    return chosen, skipped


def _band_upper(values: list[float]) -> float | None:
    finite = [v for v in values if v == v]
    if len(finite) < _MIN_BAND_CHUNKS:
        return None
    spread = statistics.stdev(finite)
    if spread <= 0:
        return None
    return statistics.fmean(finite) + _SIGMAS * spread


def _apply_band(result: ColumnDrift, upper: float | None) -> ColumnDrift:
    if upper is None:
        return result
    if result.p_value is None:
        if upper <= result.threshold:
            return result
        return ColumnDrift(
            result.column,
            result.test,
            result.statistic,
            None,
            upper,
            result.statistic > upper,
            "reference chunks",
            result.method,
            result.error_bound,
        )
    drifted = result.drifted and result.statistic > upper
    return ColumnDrift(
        result.column,
        result.test,
        result.statistic,
        result.p_value,
        result.threshold,
        drifted,
        "test and reference chunks",
        result.method,
        result.error_bound,
    )


def _multivariate(
    ref_profile: Profile,
    columns: list[str],
    ref_chunks: list[ChunkProfile],
    cur_chunks: list[ChunkProfile],
    ref_sampler: RowSampler,
    cur_sampler: RowSampler,
) -> tuple[list[MultivariateDrift | None], list[MultivariateDrift | None], str | None]:
    """Each reference and current chunk's reconstruction error against its band, and
    why the detector was skipped (None when it ran). The model is fitted on the
    reference sample; the reference chunks are measured with it (the band's source,
    the upper bound raised by the model's optimism on rows it was fitted on); with
    fewer than three reference chunks each current chunk gets a sampling-error band."""
    numeric = [n for n in columns if _kind(ref_profile.column(n)) == "numeric"]
    categorical = [n for n in columns if _kind(ref_profile.column(n)) == "categorical"]
    model = PCAReconstruction(numeric, categorical)
    sample = ref_sampler.all()
    if sample.height > FIT_ROWS:
        sample = sample.sample(n=FIT_ROWS, seed=0)
    reason = too_small(sample.height, model.dimensions(sample))
    if reason is not None:
        return [None] * len(ref_chunks), [None] * len(cur_chunks), reason
    model.fit(sample)
    fitted = model.errors(sample)
    held_out = held_out_errors(model, sample)
    optimism = float(held_out.mean() - fitted.mean())
    ref_values = _errors(model, ref_sampler, ref_chunks)
    cur_values = _errors(model, cur_sampler, cur_chunks)

    def result(value: float, rows: int) -> MultivariateDrift:
        if len(ref_chunks) < _MIN_BAND_CHUNKS:
            limits = sampling_band(fitted, held_out, rows)
        else:
            values, sizes = [v for v, _ in ref_values], [n for _, n in ref_values]
            limits = band(values, sizes, rows, optimism=optimism)
        side = limits.direction(value)
        return MultivariateDrift(
            value, limits.lower, limits.upper, side is not None, limits.source, side
        )

    return (
        [result(v, rows) for v, rows in ref_values],
        [result(v, rows) for v, rows in cur_values],
        None,
    )


def _errors(
    model: PCAReconstruction, sampler: RowSampler, chunks: list[ChunkProfile]
) -> list[tuple[float, int]]:
    """Each chunk's mean reconstruction error over its sampled rows, and their number."""
    frames = [sampler.frame(c.chunk.key) for c in chunks]
    return [(model.error(frame), frame.height) for frame in frames]
