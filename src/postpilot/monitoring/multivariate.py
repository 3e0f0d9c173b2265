"""Multivariate drift: PCA reconstruction error on the standardised, encoded inputs.

The model (:class:`PCAReconstruction`) is fitted on a sample of the reference:

- a number is standardised with the reference mean and standard deviation, a
  missing or non-finite value becoming the mean (0 after standardising);
- a categorical column (strings, booleans) is one-hot encoded over its
  :data:`TOP_CATEGORIES` most frequent reference values plus one "other" slot
  (rarer values, values never seen, nulls), and every indicator is standardised
  like a number, so a category carries as much weight as a numeric column does
  and a shift in how often it occurs moves rows as far as a shift in a number;
- every standardised value is clipped to ±:data:`CLIP` (6) standard deviations, so
  the rare values of sparse columns and rare categories cannot dominate a chunk's
  error;
- PCA keeps the fewest components explaining :data:`VARIANCE` of the variance
  (NannyML's default, 65%).

A chunk's value is the mean euclidean distance between its rows and their
reconstruction from those components. Rows that change how features relate, or
move along directions the reference hardly varies in, leave the reference's
principal plane and raise the error even when no single column changes much.

Band (:func:`band`). The reference is chunked like the current data and each
reference chunk's error is measured with the model fitted on the reference
sample (as NannyML does): the band is their mean ± 3 sd. With fewer than
:data:`MIN_BAND_CHUNKS` reference chunks, or no spread between them, there is
no band: the value is reported and never alerts (``band_source`` ``"none"``).
A reference sample of fewer than :data:`MIN_ROWS` rows (or fewer than
:data:`ROWS_PER_DIMENSION` rows per encoded dimension) is too small to fit the
model on: the detector is skipped and the run's settings say why.

Bounded memory. The model is fitted on a uniform random sample of the whole
reference (:class:`RowSampler`, seeded: the same rows give the same sample) of at
most :func:`fit_rows` rows (:data:`FIT_ROWS`, fewer for very wide data), kept
while the reference is profiled, so memory holds at most about twice that many
rows whatever the reference's size. It is then applied to every row of the data,
batch by batch as the data streams (:class:`ChunkErrors`): a chunk's value is the
mean error over all its rows, and memory holds two numbers per chunk. The cap
costs little: on 1M reference rows the per-chunk errors of a model fitted on
100,000 of them differ from those of a model fitted on all of them by far less
than the band's width (measured in docs/scale.md).
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from postpilot.errors import InputError

__all__ = [
    "CLIP",
    "FIT_CELLS",
    "FIT_ROWS",
    "MIN_BAND_CHUNKS",
    "MIN_ROWS",
    "ROWS_PER_DIMENSION",
    "SAMPLE_ROWS",
    "SIGMAS",
    "TOP_CATEGORIES",
    "VARIANCE",
    "Band",
    "ChunkErrors",
    "PCAReconstruction",
    "RowSampler",
    "band",
    "direction",
    "fit_rows",
    "held_out_errors",
    "sampling_band",
    "too_small",
]

VARIANCE = 0.65
TOP_CATEGORIES = 10
SAMPLE_ROWS = 20_000
FIT_ROWS = 100_000
"""Most reference rows the PCA is fitted on: a seeded uniform sample of the reference."""
FIT_CELLS = 4_000_000
"""Most values (rows x columns) the reference sample holds, so a wide table keeps fewer
rows (never fewer than :data:`SAMPLE_ROWS`): see :func:`fit_rows`."""
ENCODE_ROWS = 16_384
"""Rows encoded at a time (the encoding is rows x dimensions floats, a category one
dimension per kept value: one block of 70 dimensions is 9 MiB)."""
MIN_ROWS = 50
"""Fewest reference rows the model is fitted on; below it the detector is skipped."""
ROWS_PER_DIMENSION = 5
"""Fewest reference rows per encoded dimension (a number is one, a category its levels)."""
MIN_BAND_CHUNKS = 3
SIGMAS = 3.0
CLIP = 6.0
"""Standardised values are clipped to ``[-CLIP, CLIP]``. A normal column never reaches 6
standard deviations (a chance of 2e-9), so only the rare values of sparse and
heavy-tailed columns are capped, and the indicators of categories rarer than about 3%:
one image of 898 with a border pixel on (0.03 sd) standardises to 30, and a chunk that
happens to hold a few such rows would jump out of the band with no change in the data
(random halves of scikit-learn's digits in 12 chunks: 4 of 20 splits alerted before)."""
_OTHER = "\x00other"
_KEY = "__postpilot_sample_key"


@dataclass(frozen=True)
class Band:
    """The range the error takes on the reference; outside it, the error alerts."""

    lower: float
    upper: float
    source: str
    """"reference chunks" (mean ± 3 sd over them) or "none" (no band: never alerts)."""

    def direction(self, value: float) -> Literal["above", "below"] | None:
        """Where ``value`` lies outside the band, or None inside it (or without a band)."""
        return direction(value, self.lower, self.upper)


NO_BAND = Band(float("nan"), float("nan"), "none")


def direction(value: float, lower: float, upper: float) -> Literal["above", "below"] | None:
    """``"above"`` or ``"below"`` the band ``[lower, upper]``; None inside it, for a NaN
    value, or when the band is missing (NaN bounds)."""
    if not (math.isfinite(value) and math.isfinite(lower) and math.isfinite(upper)):
        return None
    if value > upper:
        return "above"
    if value < lower:
        return "below"
    return None


class RowSampler:
    """Keeps a uniform random sample of up to ``cap`` rows per chunk.

    Use :meth:`observe` as a chunk observer. Every row gets a random key from a
    generator seeded by ``seed`` and the chunk's key, and the ``cap`` rows with the
    smallest keys are kept (bottom-k sampling): memory holds at most about one and a
    half times ``cap`` rows per chunk (a part contributes at most ``cap``), and the
    same rows streamed the same way give the same sample (a file compared with itself
    is sampled alike on both sides).
    """

    def __init__(self, columns: list[str], cap: int = SAMPLE_ROWS, *, seed: int = 0) -> None:
        self.columns = columns
        self.cap = cap
        self.seed = seed
        self.parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self.kept: dict[str, int] = defaultdict(int)
        self._limit: dict[str, float] = {}
        self._rng: dict[str, np.random.Generator] = {}

    def observe(self, key: str, part: pl.DataFrame) -> None:
        if self.cap <= 0 or part.height == 0:
            return
        rng = self._rng.get(key)
        if rng is None:
            rng = self._rng[key] = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        keys = rng.random(part.height)
        mask = keys < self._limit.get(key, 1.0)
        if part.height > self.cap:  # only its own smallest keys can be among the smallest
            mask &= keys <= np.partition(keys, self.cap - 1)[self.cap - 1]
        if not mask.any():
            return
        taken = part.filter(pl.Series(mask)) if not mask.all() else part
        taken = taken.with_columns(pl.Series(_KEY, keys[mask]))
        self.parts[key].append(taken)
        self.kept[key] += taken.height
        if self.kept[key] >= self.cap + self.cap // 2:
            self._compact(key)

    def reset(self) -> None:
        """Forget every row seen (the data is read again from its start)."""
        self.parts.clear()
        self.kept.clear()
        self._limit.clear()
        self._rng.clear()

    def _compact(self, key: str) -> None:
        """Drop the rows whose key is not among the ``cap`` smallest, part by part (the
        keys alone are gathered: no copy of every kept row at once)."""
        parts = self.parts[key]
        keys = np.concatenate([p.get_column(_KEY).to_numpy() for p in parts])
        if keys.size > self.cap:
            limit = float(np.partition(keys, self.cap - 1)[self.cap - 1])
            self._limit[key] = limit
            parts = [p.filter(pl.col(_KEY) <= limit) for p in parts]
            parts = [p for p in parts if p.height]
        self.parts[key] = parts
        self.kept[key] = sum(p.height for p in parts)

    def frame(self, key: str) -> pl.DataFrame:
        """The rows kept for chunk ``key`` (at most ``cap``), restricted to :attr:`columns`:
        in the order they came when none was dropped, else in the order of their keys."""
        if not self.parts.get(key):
            return pl.DataFrame()
        if self.kept[key] > self.cap:
            self._compact(key)
        parts = self.parts[key]
        merged = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
        if key in self._limit:
            merged = merged.sort(_KEY)
        self.parts[key] = [merged]
        return merged.select(self.columns)

    def all(self) -> pl.DataFrame:
        """Every chunk's kept rows together."""
        frames = [self.frame(key) for key in list(self.parts)]
        frames = [f for f in frames if f.width]
        return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def fit_rows(columns: int) -> int:
    """The most reference rows the model is fitted on for data of ``columns`` columns:
    :data:`FIT_ROWS`, fewer when that would hold more than :data:`FIT_CELLS` values,
    never fewer than :data:`SAMPLE_ROWS`."""
    return min(FIT_ROWS, max(SAMPLE_ROWS, FIT_CELLS // max(columns, 1)))


class ChunkErrors:
    """Each chunk's reconstruction error summed over every row, batch by batch.

    Use :meth:`observe` as a chunk observer once the model is fitted: each batch's rows
    are encoded, measured and dropped, so memory holds one batch's encoding and two
    numbers per chunk whatever the number of rows.
    """

    def __init__(self, model: PCAReconstruction) -> None:
        self.model = model
        self.sums: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)
        self.unusable = False
        """Whether a batch lacked a column the model uses, or held a number column as
        another type (the data changed under the model: its values are not kept)."""

    def observe(self, key: str, part: pl.DataFrame) -> None:
        if self.unusable or part.height == 0:
            return
        schema = part.schema
        if any(name not in schema for name in self.model.categorical) or any(
            name not in schema or not _numeric_dtype(schema[name]) for name in self.model.numeric
        ):
            self.unusable = True
            return
        self.sums[key] += float(self.model.errors(part).sum())
        self.rows[key] += part.height

    def reset(self) -> None:
        """Forget every row seen (the data is read again from its start)."""
        self.sums.clear()
        self.rows.clear()
        self.unusable = False

    def value(self, key: str) -> tuple[float, int]:
        """Chunk ``key``'s mean error over its rows (NaN for none), and their number."""
        rows = self.rows.get(key, 0)
        return (self.sums[key] / rows if rows else float("nan")), rows


class PCAReconstruction:
    """The reconstruction-error model, fitted on a reference sample."""

    def __init__(self, numeric: list[str], categorical: list[str]) -> None:
        if not numeric and not categorical:
            raise InputError(
                "multivariate drift needs at least one numeric or categorical column",
                field="columns",
            )
        self.numeric = numeric
        self.categorical = categorical
        self.mean = np.zeros(len(numeric))
        self.scale = np.ones(len(numeric))
        self.levels: dict[str, list[str]] = {}
        self.level_mean: dict[str, np.ndarray] = {}
        self.level_scale: dict[str, np.ndarray] = {}
        self.components = np.zeros((0, 0))

    def dimensions(self, reference: pl.DataFrame) -> int:
        """The number of encoded dimensions ``reference`` would be fitted with."""
        levels = sum(
            min(reference.get_column(n).drop_nulls().n_unique(), TOP_CATEGORIES) + 1
            for n in self.categorical
        )
        return len(self.numeric) + levels

    def fit(self, reference: pl.DataFrame) -> PCAReconstruction:
        with _one_blas_thread():
            return self._fit(reference)

    def _fit(self, reference: pl.DataFrame) -> PCAReconstruction:
        if reference.height < 2:
            raise InputError(
                "multivariate drift needs at least 2 reference rows", field="reference"
            )
        if self.numeric:
            values = _numbers(reference, self.numeric)
            present = ~np.isnan(values)
            counts = np.maximum(present.sum(axis=0), 1)  # an all-null column: mean 0, scale 1
            mean = np.where(present, values, 0.0).sum(axis=0) / counts
            spread = np.where(present, values - mean, 0.0)
            self.mean = mean
            self.scale = _scale(np.sqrt((spread**2).sum(axis=0) / counts))
        for name in self.categorical:
            counts = reference.get_column(name).cast(pl.String).drop_nulls().value_counts(sort=True)
            self.levels[name] = counts.get_column(name).head(TOP_CATEGORIES).to_list()
            onehot = self._onehot(reference, name)
            self.level_mean[name] = onehot.mean(axis=0)
            self.level_scale[name] = _scale(onehot.std(axis=0))
        # The principal axes are the eigenvectors of the (centred) scatter matrix: one
        # d x d eigendecomposition instead of an SVD of the n x d rows, the matrix summed
        # over blocks of rows so that only one block is encoded at a time.
        scatter: np.ndarray | None = None
        for block in reference.iter_slices(ENCODE_ROWS):
            matrix = self.encode(block)
            scatter = matrix.T @ matrix if scatter is None else scatter + matrix.T @ matrix
        assert scatter is not None
        variance, vectors = np.linalg.eigh(scatter)
        variance, vectors = np.clip(variance[::-1], 0.0, None), vectors[:, ::-1]
        total = variance.sum()
        keep = 1 if total <= 0 else int(np.searchsorted(np.cumsum(variance) / total, VARIANCE) + 1)
        self.components = vectors[:, : min(keep, vectors.shape[1])].T
        return self

    def _onehot(self, frame: pl.DataFrame, name: str) -> np.ndarray:
        levels = self.levels[name]
        positions = (
            frame.get_column(name)
            .cast(pl.String)
            .replace_strict(levels, range(len(levels)), default=len(levels), return_dtype=pl.Int64)
            .to_numpy()
        )
        onehot = np.zeros((frame.height, len(levels) + 1))
        onehot[np.arange(frame.height), positions] = 1.0
        return onehot

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        """The rows of ``frame`` as standardised, centred vectors (reference mean 0)."""
        blocks = []
        if self.numeric:
            values = _numbers(frame, self.numeric)
            values = np.where(np.isnan(values), self.mean, values)
            blocks.append((values - self.mean) / self.scale)
        for name in self.categorical:
            onehot = self._onehot(frame, name)
            blocks.append((onehot - self.level_mean[name]) / self.level_scale[name])
        out = np.hstack(blocks) if blocks else np.zeros((frame.height, 0))
        return np.clip(out, -CLIP, CLIP, out=out)

    def errors(self, frame: pl.DataFrame) -> np.ndarray:
        """Each row's reconstruction error (encoded :data:`ENCODE_ROWS` rows at a time)."""
        with _one_blas_thread():
            parts = [self._errors(block) for block in frame.iter_slices(ENCODE_ROWS)]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _errors(self, frame: pl.DataFrame) -> np.ndarray:
        centred = self.encode(frame)
        residual = centred - (centred @ self.components.T) @ self.components
        return np.asarray(np.linalg.norm(residual, axis=1))

    def error(self, frame: pl.DataFrame) -> float:
        """Mean reconstruction error of the rows of ``frame`` (NaN for no rows)."""
        if frame.height == 0:
            return float("nan")
        return float(self.errors(frame).mean())


def held_out_errors(model: PCAReconstruction, reference: pl.DataFrame) -> np.ndarray:
    """Each row's error under a model that did not see it, by two-fold cross-fitting: a
    model like ``model`` fitted on a random half of ``reference`` measures the other
    half, and the other way round. Rows in the order of ``reference``.

    The halves are drawn at random (seeded by the number of rows: the same rows give
    the same answer), not every other row: data sorted by a category (a panel by firm,
    logs by customer) would give two halves with the same share of every category, and
    the held-out error would miss how much a fresh sample's category shares move it
    (random halves of statsmodels' Grunfeld panel alerted in 12 of 20 splits)."""
    rng = np.random.default_rng(reference.height)
    first = rng.permutation(reference.height) % 2 == 0
    mask = pl.Series(first)
    a, b = reference.filter(mask), reference.filter(~mask)
    out = np.empty(reference.height)
    out[first] = PCAReconstruction(model.numeric, model.categorical).fit(b).errors(a)
    out[~first] = PCAReconstruction(model.numeric, model.categorical).fit(a).errors(b)
    return out


def _numbers(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """Numeric columns as floats, null and non-finite values as NaN."""
    values = frame.select(names).cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
    return np.where(np.isfinite(values), values, np.nan)


def _one_blas_thread() -> AbstractContextManager[object]:
    """BLAS on one thread for the small products here (rows x dimensions by dimensions
    x dimensions). OpenBLAS's threads spin while they wait: with polars reading on the
    other cores, a 100,000 x 65 scatter matrix took 5.6 s on two threads and 0.15 s
    on one on a busy 2-core machine."""
    from threadpoolctl import threadpool_limits

    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits


def _numeric_dtype(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Null


def _scale(std: np.ndarray) -> np.ndarray:
    """Standard deviations to divide by: a constant column keeps its raw units (scale 1)."""
    return np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)


def too_small(rows: int, dimensions: int) -> str | None:
    """Why a reference sample of ``rows`` rows is too small for ``dimensions`` encoded
    dimensions, or None when it is large enough."""
    need = max(MIN_ROWS, ROWS_PER_DIMENSION * dimensions)
    if rows >= need:
        return None
    return (
        f"the reference has {rows:,} rows; the PCA over {dimensions} encoded dimensions "
        f"needs at least {need:,} ({MIN_ROWS} and {ROWS_PER_DIMENSION} per dimension)"
    )


def band(
    reference_values: list[float],
    reference_rows: list[int],
    rows: int,
    *,
    optimism: float = 0.0,
    sigmas: float = SIGMAS,
) -> Band:
    """The band for a chunk of ``rows`` sampled rows from the reference chunks' errors
    (each the mean over ``reference_rows`` rows): their mean ± ``sigmas`` sd for a chunk
    of the reference chunks' size, a smaller chunk's band wider in proportion to
    1/sqrt(rows) (a mean over fewer rows varies more; a last, partial chunk must not
    alert for being small). The multiplier is Student's t for the number of chunks, and
    the upper bound is raised by ``optimism`` (how much lower the error is on the rows
    the model was fitted on than on rows it never saw: the current data is unseen).
    With fewer than :data:`MIN_BAND_CHUNKS` values, or no spread, there is no band (NaN
    bounds, source ``"none"``): a band of width zero would alert on noise."""
    pairs = [
        (v, n)
        for v, n in zip(reference_values, reference_rows, strict=True)
        if math.isfinite(v) and n > 0
    ]
    if len(pairs) < MIN_BAND_CHUNKS or rows <= 0:
        return NO_BAND
    values = np.array([v for v, _ in pairs])
    weights = np.array([n for _, n in pairs], dtype=np.float64)
    centre = float(np.average(values, weights=weights))
    # The sd of one row's error, as the chunks' spread shows it: chunk i's mean varies
    # as that sd / sqrt(rows_i).
    spread = math.sqrt(float(np.sum(weights * (values - centre) ** 2)) / (len(pairs) - 1))
    if not spread > 0:
        return NO_BAND
    width = _multiplier(len(pairs), sigmas) * spread * math.sqrt(1 / rows + 1 / weights.sum())
    return Band(centre - width, centre + width + max(optimism, 0.0), "reference chunks")


def _multiplier(chunks: int, sigmas: float) -> float:
    """Student's t quantile with ``chunks - 1`` degrees of freedom at the two-sided level
    of ``sigmas`` normal standard deviations (99.73% for 3): with few chunks the sd is
    itself uncertain, and mean ± 3 sd over 5 chunks would miss 1 new chunk in 25."""
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    level = float(stats.norm.sf(sigmas))
    return float(stats.t.isf(level, chunks - 1))


def sampling_band(
    fitted: np.ndarray, held_out: np.ndarray, rows: int, *, sigmas: float = SIGMAS
) -> Band:
    """The band for a chunk of ``rows`` rows when the reference has too few chunks for
    :func:`band`, from the reference rows' errors: ``fitted`` under the model (fitted
    on those rows) and ``held_out`` under models that did not see them
    (:func:`held_out_errors`). A sample of the reference itself lands near the fitted
    mean, a fresh sample of the same population near the held-out one: the band runs
    from the lower of the two means to the higher, widened on each side by ``sigmas``
    standard errors of a difference of two means (with the larger of the two sds, as
    unseen rows vary more). No band when the errors do not vary."""
    if rows <= 0 or fitted.size < 2 or held_out.size < 2:
        return NO_BAND
    spread = max(float(np.std(fitted, ddof=1)), float(np.std(held_out, ddof=1)))
    if not spread > 0:
        return NO_BAND
    margin = sigmas * spread * math.sqrt(1.0 / fitted.size + 1.0 / rows)
    means = (float(fitted.mean()), float(held_out.mean()))
    return Band(min(means) - margin, max(means) + margin, "sampling error")
