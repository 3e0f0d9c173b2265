"""Run drift detection: reference vs current, per chunk, per column and multivariate.

Both datasets are streamed once and profiled chunk by chunk; every univariate
statistic is computed from the chunk profiles (so results can be recomputed
from stored profiles). The multivariate detector is fitted on a bounded sample
of the reference and measures every current row as it streams; a chunked
reference is read once more to measure its chunks (the band's source).

The verdict's false-alarm rate. Tests with a p-value (``ks``, ``chi2``) are
adjusted per chunk across the columns tested, by Holm's step-down method: a
column drifts when its adjusted p-value is below its threshold, so on unchanged
data the chance that a chunk flags any p-value column is at most the threshold
(0.05 by default) whatever the number of columns. Distance tests keep their
thresholds (a distance is a size of change, not a probability).

Alert bounds. The reference is chunked the same way as the current data, and
each reference chunk is compared with the whole reference: that spread is the
metric's natural variation. With at least two reference chunks the band's upper
edge is the largest reference chunk's statistic, raised to their mean + 3 sd when
there are at least three: a distance statistic alerts above the larger of the
test's own threshold and that edge; a p-value test alerts below its (adjusted)
threshold only when its statistic is also above the edge. A chunk no further from
the reference than one of the reference's own chunks therefore never alerts (a
file compared with itself, chunked the same way, never does). Without chunking,
the current data is one chunk and the test's threshold decides.

Lost evidence is drift. A column the comparison had to leave out because the data
changed under it (only in the reference, a changed type, entirely null on one side)
is a :class:`SchemaChange` that the verdict counts; a run that could compare no
column at all is an InputError, never "nothing drifted".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from postpilot.errors import InputError, PostpilotError
from postpilot.monitoring.chunked import ChunkProfile, observe_chunks, profile_chunks
from postpilot.monitoring.chunking import Chunker, SizeChunker, chunker_pair
from postpilot.monitoring.drift import (
    DRIFT_TESTS,
    DriftResult,
    DriftTest,
    default_test,
    get_test,
)
from postpilot.monitoring.inputs import (
    check_names,
    check_options,
    count_rows,
    location,
    names_of,
)
from postpilot.monitoring.multivariate import (
    ChunkErrors,
    PCAReconstruction,
    RowSampler,
    band,
    fit_rows,
    held_out_errors,
    sampling_band,
    too_small,
)
from postpilot.monitoring.results import (
    ChunkDrift,
    ColumnDrift,
    DriftReport,
    MultivariateDrift,
    SchemaChange,
)
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, TemporalColumn
from postpilot.profiles.column import ColumnProfile, NullColumn, is_identifier

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ChunkRows", "DriftOptions", "compare_chunks", "drift_from_profiles", "run_drift"]

_MIN_BAND_CHUNKS = 3
_MIN_UNIVARIATE_BAND_CHUNKS = 2
_SIGMAS = 3.0
_NO_VALUES = "no values in the chunk"
LISTED = 20  # column names an error message lists before "and N more"


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
    exclude: Sequence[str] = ()
    """Columns left out of the comparison (and of the schema changes): a label the
    production data never has. Used when ``columns`` is not given."""

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
            "exclude": list(self.exclude),
            "p_value_adjustment": "holm",
        }

    def chunkers(self, rows: Callable[[], tuple[int, int]]) -> tuple[Chunker, Chunker] | None:
        """The reference's and the current data's chunkers these options ask for, None
        when they ask for none; ``rows()`` (reference rows, current rows) is called only
        when chunking by count needs it."""
        return chunker_pair(
            chunk_size=self.chunk_size,
            chunk_number=self.chunk_number,
            chunk_period=self.chunk_period,
            timestamp=self.timestamp,
            rows=rows,
        )


def _chunkers(
    options: DriftOptions, reference: object, current: object
) -> tuple[Chunker | None, Chunker]:
    def rows() -> tuple[int, int]:
        counted = []
        for data, role in ((reference, "reference"), (current, "current")):
            n = count_rows(data)
            if n == 0:
                raise InputError(f"the {role} data has no rows", **location(data, role))
            counted.append(n)
        return counted[0], counted[1]

    pair = options.chunkers(rows)
    return pair if pair is not None else (None, SizeChunker(2**62))


def _kind(col: ColumnProfile) -> str | None:
    if isinstance(col, TemporalColumn):
        return None
    if isinstance(col, NumericColumn):
        return "numeric"
    if isinstance(col, CategoricalColumn):
        return "categorical"
    return None


def _values(col: ColumnProfile) -> int:
    """Rows holding a value (not null, not NaN)."""
    if isinstance(col, NumericColumn):
        return int(col.moments.count)
    return 0 if isinstance(col, NullColumn) else col.count


def _merge(chunks: list[ChunkProfile]) -> Profile:
    merged = chunks[0].profile
    for chunk in chunks[1:]:
        merged = merged.merge(chunk.profile)
    return merged


def run_drift(
    reference: object, current: object, options: DriftOptions | None = None
) -> DriftReport:
    """Compare ``current`` with ``reference`` (paths, frames, anything profiles read).

    InputError (before any long work where it can be told) for options that name
    nothing, data without rows or columns, two sides with no column in common, or a
    run that could compare no column."""
    options = options or DriftOptions()
    check_options(options)
    ref_names = names_of(reference, "reference")
    cur_names = names_of(current, "current")
    check_names(options, reference, current, ref_names, cur_names)
    ref_chunker, cur_chunker = _chunkers(options, reference, current)
    wanted = list(options.columns) if options.columns else None
    # The multivariate model is fitted on a bounded sample of the whole reference and
    # measures the current data batch by batch as it streams (see multivariate.py).
    ref_sampler = RowSampler([], fit_rows(len(wanted or ref_names or ())))
    ref_chunks = profile_chunks(
        reference,
        ref_chunker or SizeChunker(2**62),
        columns=wanted,
        observe=(lambda _, part: ref_sampler.observe("", part)) if options.multivariate else None,
        restarted=ref_sampler.reset,
    )
    if not ref_chunks:
        raise InputError("the reference data has no rows", **location(reference, "reference"))
    ref_profile = _merge(ref_chunks)
    fitted = _fit_reference(ref_profile, ref_sampler, options) if options.multivariate else None
    cur_errors = ChunkErrors(fitted[0]) if fitted is not None else None
    cur_chunks = profile_chunks(
        current,
        cur_chunker,
        columns=wanted,
        observe=cur_errors.observe if cur_errors is not None else None,
        restarted=cur_errors.reset if cur_errors is not None else None,
    )
    if not cur_chunks:
        raise InputError("the current data has no rows", **location(current, "current"))
    streamed = _StreamedRows(
        (reference, ref_chunker), (current, cur_chunker), ref_sampler, cur_errors
    )
    return compare_chunks(
        ref_chunks,
        cur_chunks,
        options,
        reference_chunked=ref_chunker is not None,
        rows=streamed,
        ref_profile=ref_profile,
    )


class ChunkRows(Protocol):
    """Where the multivariate detector of :func:`compare_chunks` gets rows."""

    def sample(self, columns: list[str]) -> pl.DataFrame:
        """Reference rows (a bounded sample) of ``columns``, to fit the model on."""
        ...

    def prefit(self) -> PCAReconstruction | None:
        """A model fitted (and measuring the current data) before the columns compared
        were known, or None."""
        ...

    def current(self, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        """The current chunks' errors under ``model``."""
        ...

    def reference(self, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        """The reference chunks' errors under ``model`` (asked only for a band)."""
        ...


class _StreamedRows:
    """The local engine's rows: the reference sample taken as it streamed, the current
    data measured as it streamed by the model fitted first; data read once more only
    when the model must change (the current data lost a column) or for the reference
    chunks' band."""

    def __init__(
        self,
        reference: tuple[object, Chunker | None],
        current: tuple[object, Chunker],
        ref_sampler: RowSampler,
        cur_errors: ChunkErrors | None,
    ) -> None:
        self._reference, self._current = reference, current
        self._sampler, self._errors = ref_sampler, cur_errors

    def sample(self, columns: list[str]) -> pl.DataFrame:
        self._sampler.columns = columns
        return self._sampler.all()

    def prefit(self) -> PCAReconstruction | None:
        errors = self._errors
        return None if errors is None or errors.unusable else errors.model

    def current(self, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        if self._errors is not None and self._errors.model is model:
            return self._errors
        return _measure(self._current[0], self._current[1], model, columns)

    def reference(self, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        data, chunker = self._reference
        assert chunker is not None  # asked only for a reference chunked for its band
        return _measure(data, chunker, model, columns)


def _measure(
    data: object, chunker: Chunker, model: PCAReconstruction, columns: list[str]
) -> ChunkErrors:
    errors = ChunkErrors(model)
    observe_chunks(data, chunker, errors.observe, columns=columns, restarted=errors.reset)
    return errors


class SampledRows:
    """Rows sampled per chunk and held in memory (the Spark engine's): the model is
    fitted on every reference chunk's sample and measures each chunk's sample."""

    def __init__(
        self,
        samplers: tuple[RowSampler, RowSampler],
        chunks: tuple[list[ChunkProfile], list[ChunkProfile]],
    ) -> None:
        self._samplers, self._chunks = samplers, chunks

    def sample(self, columns: list[str]) -> pl.DataFrame:
        self._samplers[0].columns = columns
        return self._samplers[0].all()

    def prefit(self) -> PCAReconstruction | None:
        return None

    def _errors(self, side: int, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        errors = ChunkErrors(model)
        sampler = self._samplers[side]
        sampler.columns = columns
        for chunk in self._chunks[side]:
            rows = sampler.frame(chunk.chunk.key)
            if rows.width:
                errors.observe(chunk.chunk.key, rows)
        return errors

    def current(self, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        return self._errors(1, model, columns)

    def reference(self, model: PCAReconstruction, columns: list[str]) -> ChunkErrors:
        return self._errors(0, model, columns)


def compare_chunks(
    ref_chunks: list[ChunkProfile],
    cur_chunks: list[ChunkProfile],
    options: DriftOptions,
    *,
    reference_chunked: bool,
    rows: ChunkRows | None,
    ref_profile: Profile | None = None,
) -> DriftReport:
    """The drift report of chunk profiles (none empty): the part of :func:`run_drift`
    after the data is read, shared with the Spark engine (``postpilot.spark``), which
    profiles the chunks on a cluster. ``reference_chunked``: the reference was chunked
    like the current data (the bands); ``rows``: where the multivariate detector gets
    rows (None: it does not run)."""
    ref_profile = ref_profile if ref_profile is not None else _merge(ref_chunks)
    cur_profile = _merge(cur_chunks)
    columns, skipped, changes = _columns(ref_profile, cur_profile, options)
    banded = reference_chunked and len(ref_chunks) >= _MIN_UNIVARIATE_BAND_CHUNKS
    per_column = _univariate(
        ref_profile, columns, ref_chunks if banded else [], cur_chunks, options
    )

    mv_ref: list[MultivariateDrift | None] = [None] * len(ref_chunks)
    mv_cur: list[MultivariateDrift | None] = [None] * len(cur_chunks)
    mv_skipped: str | None = None
    if options.multivariate and columns and rows is not None:
        mv_ref, mv_cur, mv_skipped = _multivariate(
            ref_profile, columns, ref_chunks, cur_chunks, rows, banded=banded
        )

    def chunk_results(
        chunks: list[ChunkProfile], index: int, mv: list[MultivariateDrift | None], period: str
    ) -> list[ChunkDrift]:
        out = []
        for i, c in enumerate(chunks):
            results = _present(per_column, columns, index, i)
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
        schema_changes=changes,
    )


_PerColumn = dict[str, tuple[list[ColumnDrift | None], list[ColumnDrift | None]]]


def _present(per_column: _PerColumn, columns: list[str], index: int, i: int) -> list[ColumnDrift]:
    """Chunk ``i``'s results (``index`` 0: reference chunks, 1: analysis chunks)."""
    out = []
    for name in columns:
        results = per_column[name][index]
        if results and results[i] is not None:
            out.append(results[i])
    return [r for r in out if r is not None]


def _univariate(
    ref_profile: Profile,
    columns: list[str],
    ref_chunks: Sequence[ChunkProfile],
    cur_chunks: Sequence[ChunkProfile],
    options: DriftOptions,
) -> _PerColumn:
    """Per column: each reference chunk's result (the band's source; empty without
    bands) and each current chunk's result, Holm-adjusted per chunk and band applied.
    A chunk that lacks the column, or holds it as another kind, has no result (None)."""
    typical = int(statistics.median(c.profile.rows for c in cur_chunks)) if cur_chunks else 0
    ref_raw: dict[str, list[ColumnDrift | None]] = {}
    cur_raw: dict[str, list[ColumnDrift | None]] = {}
    for name in columns:
        ref_col = ref_profile.column(name)
        test = _test_for(name, ref_col, typical, options)
        ref_raw[name] = [_drift(test, ref_col, c, name, reference=True) for c in ref_chunks]
        cur_raw[name] = [_drift(test, ref_col, c, name, reference=False) for c in cur_chunks]
    ref_adjusted = _holm_per_chunk(ref_raw, len(ref_chunks))
    cur_adjusted = _holm_per_chunk(cur_raw, len(cur_chunks))
    out: _PerColumn = {}
    for name in columns:
        ref_results = ref_adjusted[name]
        upper = _band_upper([r.statistic for r in ref_results if r is not None])
        empty_seen = any(r is not None and r.threshold_source == _NO_VALUES for r in ref_results)
        current = [
            None if r is None else _apply_band(_empty_ok(r) if empty_seen else r, upper)
            for r in cur_adjusted[name]
        ]
        out[name] = (ref_results, current)
    return out


def _holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values: the k-th smallest of m is multiplied by
    m - k + 1, capped at 1 and kept non-decreasing."""
    order = sorted(p_values, key=lambda n: p_values[n])
    m = len(order)
    adjusted: dict[str, float] = {}
    running = 0.0
    for k, name in enumerate(order):
        running = max(running, min(1.0, (m - k) * p_values[name]))
        adjusted[name] = running
    return adjusted


def _holm_per_chunk(
    raw: Mapping[str, list[ColumnDrift | None]], chunks: int
) -> dict[str, list[ColumnDrift | None]]:
    out: dict[str, list[ColumnDrift | None]] = {name: list(rs) for name, rs in raw.items()}
    for i in range(chunks):
        tested = {
            name: r.p_value
            for name, rs in raw.items()
            if (r := rs[i]) is not None and r.p_value is not None and r.p_value == r.p_value
        }
        for name, p in _holm(tested).items():
            r = raw[name][i]
            assert r is not None
            out[name][i] = replace(r, adjusted_p_value=p, drifted=p < r.threshold)
    return out


def _empty_ok(result: ColumnDrift) -> ColumnDrift:
    """A chunk without values is within natural variation when a reference chunk had none."""
    if result.threshold_source != _NO_VALUES:
        return result
    return replace(result, drifted=False)


def drift_from_profiles(
    reference: Profile,
    chunks: Sequence[ChunkProfile],
    options: DriftOptions | None = None,
    *,
    reference_chunks: Sequence[ChunkProfile] = (),
    runs: Mapping[str, int] | None = None,
) -> DriftReport:
    """Per-column drift recomputed from stored profiles alone: no raw data is read, so
    a year of daily chunks is re-tested (another test, another threshold) in seconds.
    Bands come from ``reference_chunks`` when there are at least two. The
    multivariate detector needs rows, so it is not part of a recomputation.

    Chunks may differ in columns and types (runs from before and after a schema
    change): each chunk is compared on the columns it shares, as the same kind, with
    the reference, and what differs is reported in ``schema_changes`` (severity
    ``info``: each run's own verdict counted its changes when it ran)."""
    options = options or DriftOptions()
    check_options(options)
    if not chunks:
        raise InputError("no stored chunks to recompute drift from", field="product")
    check_names(options, reference, None, list(reference.columns), None)
    columns, skipped, changes = _history_columns(reference, chunks, options, runs or {})
    if not columns:
        raise InputError(
            "no column of the stored reference could be compared with the stored chunks: "
            + "; ".join(f"{n} ({r})" for n, r in skipped.items()),
            field="product",
        )
    banded = len(reference_chunks) >= _MIN_UNIVARIATE_BAND_CHUNKS
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
                _present(per_column, columns, index, i),
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
        profiles=(reference, _merge_shared(chunks, reference, columns)),
        chunk_profiles=[c.profile for c in chunks],
        reference_chunk_profiles=[c.profile for c in reference_chunks],
        schema_changes=changes,
    )


def _merge_shared(
    chunks: Sequence[ChunkProfile], reference: Profile, columns: list[str]
) -> Profile:
    """The chunks' profiles merged over ``columns``, each from the chunks holding it as
    the reference's kind (others count as rows without a value)."""
    merged = []
    rows = sum(c.profile.rows for c in chunks)
    for name in columns:
        kind = _kind(reference.column(name))
        total: ColumnProfile | None = None
        for c in chunks:
            part: ColumnProfile = NullColumn(name, c.profile.rows)
            if name in c.profile and _kind(c.profile.column(name)) == kind:
                part = c.profile.column(name)
            try:
                total = part if total is None else total.merge(part)
            except PostpilotError:  # int and string parts of one kind cannot happen; be safe
                total = total.with_missing(part.rows) if total is not None else part
        assert total is not None
        merged.append(total)
    return Profile(rows, merged)


def _history_columns(
    reference: Profile,
    chunks: Sequence[ChunkProfile],
    options: DriftOptions,
    runs: Mapping[str, int],
) -> tuple[list[str], dict[str, str], list[SchemaChange]]:
    """The reference's columns that some chunk holds as the same kind, every other column
    with its reason, and what differs between the chunks and the reference."""
    names = (
        list(options.columns)
        if options.columns
        else [n for n in reference.columns if n not in set(options.exclude)]
    )
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    changes: list[SchemaChange] = []

    def runs_of(keys: list[str]) -> str:
        ids = sorted({runs[k] for k in keys if k in runs})
        return f" (run{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))})" if ids else ""

    for name in names:
        ref_col = reference.column(name)
        kind = _kind(ref_col)
        if name == options.timestamp:
            skipped[name] = "the timestamp column"
            continue
        if kind is None:
            skipped[name] = f"{ref_col.type} columns have no drift test"
            continue
        missing = [c.chunk.key for c in chunks if name not in c.profile]
        other = [c for c in chunks if name in c.profile and _kind(c.profile.column(name)) != kind]
        if missing:
            changes.append(
                SchemaChange(
                    name, "missing", ref_col.type, None, "info",
                    f"not in {len(missing)} stored chunk(s){runs_of(missing)}", missing,
                )
            )  # fmt: skip
        if other:
            types = sorted({c.profile.column(name).type for c in other})
            keys = [c.chunk.key for c in other]
            changes.append(
                SchemaChange(
                    name, "type_change", ref_col.type, ", ".join(types), "info",
                    f"{', '.join(types)} in {len(other)} stored chunk(s){runs_of(keys)}, "
                    f"{ref_col.type} in the reference", keys,
                )
            )  # fmt: skip
        if len(missing) + len(other) == len(chunks):
            skipped[name] = "in no stored chunk as the reference's type"
        elif not options.columns and is_identifier(ref_col):
            skipped[name] = _IDENTIFIER  # after the schema changes, which still count
        else:
            chosen.append(name)
    if not options.columns:
        extra: dict[str, list[str]] = {}
        for c in chunks:
            for name in c.profile.columns:
                if name not in reference and name not in set(options.exclude):
                    extra.setdefault(name, []).append(c.chunk.key)
        for name, keys in extra.items():
            skipped.setdefault(name, "not in the latest run's reference")
            changes.append(
                SchemaChange(
                    name, "new_column", None, None, "info",
                    f"in {len(keys)} stored chunk(s){runs_of(keys)} but not in the latest "
                    "run's reference", keys,
                )
            )  # fmt: skip
    return chosen, skipped, changes


def _test_for(name: str, ref_col: ColumnProfile, typical: int, options: DriftOptions) -> DriftTest:
    """The column's test: the one asked for, else the default for its kind and sizes."""
    key = options.tests.get(name)
    kind = _kind(ref_col) or ""
    if key:
        test = get_test(key)()
        if kind not in test.kinds:
            fitting = sorted(k for k, t in DRIFT_TESTS.items() if kind in t.kinds)
            raise InputError(
                f"{name}={key}: the {key!r} test compares {' or '.join(sorted(test.kinds))} "
                f"columns; {name!r} is {kind}",
                field="tests",
                hint=f"Tests for {kind} columns: {', '.join(fitting)}",
            )
    else:
        test = default_test(kind, _values(ref_col), typical)
    threshold = options.thresholds.get(name)
    if threshold is None:
        return test
    try:
        return test.with_threshold(threshold)
    except InputError as exc:
        raise InputError(f"{name}={threshold}: {exc.message}", field="thresholds") from None


def _drift(
    test: DriftTest, ref_col: ColumnProfile, chunk: ChunkProfile, name: str, *, reference: bool
) -> ColumnDrift | None:
    """The column's result in one chunk; None when the chunk lacks the column (or holds it
    as another kind). A chunk whose column has no value, where the reference has values,
    is drift (``threshold_source`` says why); in a reference chunk it is only noted."""
    if name not in chunk.profile:
        return None
    cur_col = chunk.profile.column(name)
    if _kind(cur_col) != _kind(ref_col) and not isinstance(cur_col, NullColumn):
        return None
    if _values(cur_col) == 0:
        return ColumnDrift(
            name, test.key, math.nan, None, test.threshold, not reference, _NO_VALUES, "exact", 0.0
        )
    result: DriftResult = test.from_profiles(ref_col, cur_col, column=name)
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


_IDENTIFIER = (
    "an identifier (nearly every value distinct): new keys are not drift; "
    "name it with --column to compare it anyway"
)


def _columns(
    ref: Profile, cur: Profile, options: DriftOptions
) -> tuple[list[str], dict[str, str], list[SchemaChange]]:
    """The columns to compare, every other column with the reason it is left out, and
    the schema changes among those reasons (which the verdict counts; see the module
    docstring). InputError when no column can be compared."""
    skipped: dict[str, str] = {}
    changes: list[SchemaChange] = []
    if options.columns:
        for name in options.columns:
            for label, prof in (("reference", ref), ("current", cur)):
                if name not in prof:
                    raise InputError(f"column {name!r} is not in the {label} data", field="columns")
        names = list(options.columns)
    else:
        left_out = set(options.exclude)
        for n in left_out:
            if n in ref or n in cur:
                skipped[n] = "excluded"
        names = [n for n in ref.columns if n in cur and n not in left_out]
        for n in ref.columns:
            if n not in cur and n not in left_out:
                skipped[n] = "only in the reference"
                changes.append(
                    SchemaChange(
                        n, "missing", ref.column(n).type, None, "drift",
                        "only in the reference: the current data lost it",
                    )
                )  # fmt: skip
        for n in cur.columns:
            if n not in ref and n not in left_out:
                skipped[n] = "only in the current data"
                changes.append(
                    SchemaChange(
                        n, "new_column", None, cur.column(n).type, "info",
                        "only in the current data: new, nothing to compare it with",
                    )
                )  # fmt: skip
    chosen = []
    for n in names:
        r, c = ref.column(n), cur.column(n)
        ref_kind, cur_kind = _kind(r), _kind(c)
        ref_values, cur_values = _values(r), _values(c)
        if n == options.timestamp:
            skipped[n] = "the timestamp column"
        elif ref_values == 0 and cur_values == 0:
            skipped[n] = "no values on either side"
        elif cur_values == 0:
            skipped[n] = "entirely null in the current data"
            changes.append(
                SchemaChange(
                    n, "all_null", r.type, c.type, "drift",
                    f"{ref_values:,} value(s) in the reference, none in the current data",
                )
            )  # fmt: skip
        elif ref_values == 0:
            skipped[n] = "entirely null in the reference"
            changes.append(
                SchemaChange(
                    n, "no_reference_values", r.type, c.type, "drift",
                    f"no value in the reference, {cur_values:,} in the current data",
                )
            )  # fmt: skip
        elif ref_kind != cur_kind:
            skipped[n] = f"{r.type} in the reference but {c.type} in the current data"
            changes.append(
                SchemaChange(
                    n, "type_change", r.type, c.type, "severe",
                    f"{r.type} in the reference but {c.type} in the current data",
                )
            )  # fmt: skip
        elif ref_kind is None:
            skipped[n] = f"{r.type} columns have no drift test"
        elif not options.columns and is_identifier(r):
            skipped[n] = _IDENTIFIER
        else:
            chosen.append(n)
    if not chosen:
        reasons = "; ".join(f"{n}: {why}" for n, why in skipped.items()) or "no column"
        raise InputError(
            f"no column could be compared ({reasons})",
            field="columns" if options.columns else None,
            hint="Name columns both sides hold with the same type and some values",
        )
    return chosen, skipped, changes


def _band_upper(values: list[float]) -> float | None:
    """The band's upper edge: the largest reference chunk's statistic, raised to their
    mean + 3 sd with at least three; None with fewer than two chunks."""
    finite = [v for v in values if v == v]
    if len(finite) < _MIN_UNIVARIATE_BAND_CHUNKS:
        return None
    upper = max(finite)
    if len(finite) >= _MIN_BAND_CHUNKS:
        upper = max(upper, statistics.fmean(finite) + _SIGMAS * statistics.stdev(finite))
    return upper


def _apply_band(result: ColumnDrift, upper: float | None) -> ColumnDrift:
    if upper is None or result.threshold_source == _NO_VALUES:
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
        result.adjusted_p_value,
    )


def _split_kinds(profile: Profile, columns: list[str]) -> tuple[list[str], list[str]]:
    """The numeric and the categorical ones among ``columns``."""
    numeric = [n for n in columns if _kind(profile.column(n)) == "numeric"]
    categorical = [n for n in columns if _kind(profile.column(n)) == "categorical"]
    return numeric, categorical


def _fit_reference(
    ref_profile: Profile, sampler: RowSampler, options: DriftOptions
) -> tuple[PCAReconstruction, pl.DataFrame] | None:
    """The model on the columns the reference alone would let the run compare, fitted on
    the reference sample before the current data is read (so it can measure it as it
    streams), and that sample; None when no column qualifies or the sample is too small
    (the run then reports why, after the current data is read)."""
    try:
        candidates, _, _ = _columns(ref_profile, ref_profile, options)
    except InputError:
        return None
    model = PCAReconstruction(*_split_kinds(ref_profile, candidates))
    sampler.columns = candidates
    sample = sampler.all()
    if too_small(sample.height, model.dimensions(sample)) is not None:
        return None
    return model.fit(sample), sample


def _multivariate(
    ref_profile: Profile,
    columns: list[str],
    ref_chunks: list[ChunkProfile],
    cur_chunks: list[ChunkProfile],
    rows: ChunkRows,
    *,
    banded: bool,
) -> tuple[list[MultivariateDrift | None], list[MultivariateDrift | None], str | None]:
    """Each reference and current chunk's reconstruction error against its band, and
    why the detector was skipped (None when it ran). The model is fitted on the
    reference sample (the one fitted before the current data was read, when it used
    the columns compared; else fitted again on them) and measures the current chunks'
    rows. With a band (``banded``), the reference chunks are measured with it (the
    band's source, the upper bound raised by the model's optimism on rows it was
    fitted on); with fewer than three reference chunks each current chunk gets a
    sampling-error band."""
    numeric, categorical = _split_kinds(ref_profile, columns)
    sample = rows.sample(columns)
    model = rows.prefit()
    if model is None or (model.numeric, model.categorical) != (numeric, categorical):
        model = PCAReconstruction(numeric, categorical)
        reason = too_small(sample.height, model.dimensions(sample))
        if reason is not None:
            return [None] * len(ref_chunks), [None] * len(cur_chunks), reason
        model.fit(sample)
    cur_errors = rows.current(model, columns)
    fitted = model.errors(sample)
    held_out = held_out_errors(model, sample)
    optimism = float(held_out.mean() - fitted.mean())
    cur_values = [cur_errors.value(c.chunk.key) for c in cur_chunks]
    ref_values: list[tuple[float, int]] = []
    if banded:
        ref_errors = rows.reference(model, columns)
        ref_values = [ref_errors.value(c.chunk.key) for c in ref_chunks]

    def result(value: float, rows: int) -> MultivariateDrift:
        if len(ref_values) < _MIN_BAND_CHUNKS:
            limits = sampling_band(fitted, held_out, rows)
        else:
            values, sizes = [v for v, _ in ref_values], [n for _, n in ref_values]
            limits = band(values, sizes, rows, optimism=optimism)
        side = limits.direction(value)
        return MultivariateDrift(
            value, limits.lower, limits.upper, side is not None, limits.source, side
        )

    mv_ref: list[MultivariateDrift | None] = [result(v, rows) for v, rows in ref_values]
    return (
        mv_ref or [None] * len(ref_chunks),
        [result(v, rows) for v, rows in cur_values],
        None,
    )
