"""Multivariate drift: PCA reconstruction error on the standardised, encoded inputs.

Fit on the reference: numbers are standardised with the reference mean and
standard deviation (a missing value becomes the mean), each categorical column
is one-hot encoded over its :data:`TOP_CATEGORIES` most frequent reference
values plus "other" (scaled by ``1/sqrt(k)`` so a column weighs as one
feature), and PCA keeps the fewest components explaining :data:`VARIANCE` of
the variance (NannyML's default, 65%). A chunk's value is the mean euclidean
distance between its rows and their reconstruction from those components. A
change in how features relate moves rows off the reference's principal plane,
which raises the error even when no single column's distribution changes.

Rows are sampled: at most :data:`SAMPLE_ROWS` per chunk (the first rows of
each streamed batch until the cap is reached), plenty for a stable mean. The
model is fitted on every other sampled reference row and the reference
chunks' errors are measured on the rows it did not see, so the band of
natural variation is not biased low by in-sample error.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import polars as pl

from postpilot.errors import InputError

__all__ = [
    "SAMPLE_ROWS",
    "TOP_CATEGORIES",
    "VARIANCE",
    "Band",
    "PCAReconstruction",
    "RowSampler",
    "band",
]

VARIANCE = 0.65
TOP_CATEGORIES = 10
SAMPLE_ROWS = 20_000
_OTHER = "\x00other"


@dataclass(frozen=True)
class Band:
    """The range a metric takes on the reference; outside it, the metric alerts."""

    lower: float
    upper: float
    source: str
    """"reference chunks" (mean ± 3 sd over them) or "fallback" (± 10% of the reference)."""


class RowSampler:
    """Keeps up to ``cap`` rows per chunk; use :meth:`observe` as a chunk observer."""

    def __init__(self, columns: list[str], cap: int = SAMPLE_ROWS) -> None:
        self.columns = columns
        self.cap = cap
        self.parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self.kept: dict[str, int] = defaultdict(int)

    def observe(self, key: str, part: pl.DataFrame) -> None:
        room = self.cap - self.kept[key]
        if room > 0:
            taken = part.head(room)
            self.parts[key].append(taken)
            self.kept[key] += taken.height

    def frame(self, key: str) -> pl.DataFrame:
        """The rows kept for chunk ``key``, restricted to :attr:`columns`."""
        frames = self.parts[key]
        return pl.concat(frames).select(self.columns) if frames else pl.DataFrame()

    def all(self) -> pl.DataFrame:
        frames = [f.select(self.columns) for parts in self.parts.values() for f in parts]
        return pl.concat(frames) if frames else pl.DataFrame()


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
        self.center = np.zeros(0)
        self.components = np.zeros((0, 0))

    def fit(self, reference: pl.DataFrame) -> PCAReconstruction:
        if reference.height < 2:
            raise InputError(
                "multivariate drift needs at least 2 reference rows", field="reference"
            )
        if self.numeric:
            values = reference.select(self.numeric).cast(pl.Float64).to_numpy()
            self.mean = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0)
            self.mean = np.where(np.isfinite(self.mean), self.mean, 0.0)
            std = np.nanstd(np.where(np.isfinite(values), values, np.nan), axis=0)
            self.scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        for name in self.categorical:
            counts = reference.get_column(name).cast(pl.String).drop_nulls().value_counts(sort=True)
            self.levels[name] = counts.get_column(name).head(TOP_CATEGORIES).to_list()
        matrix = self.encode(reference)
        self.center = matrix.mean(axis=0)
        _, singular, vt = np.linalg.svd(matrix - self.center, full_matrices=False)
        variance = singular**2
        total = variance.sum()
        keep = 1 if total <= 0 else int(np.searchsorted(np.cumsum(variance) / total, VARIANCE) + 1)
        self.components = vt[: min(keep, vt.shape[0])]
        return self

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        blocks = []
        if self.numeric:
            values = frame.select(self.numeric).cast(pl.Float64).to_numpy()
            values = np.where(np.isfinite(values), values, self.mean)
            blocks.append((values - self.mean) / self.scale)
        for name in self.categorical:
            levels = self.levels[name]
            column = frame.get_column(name).cast(pl.String).fill_null(_OTHER).to_numpy()
            onehot = np.zeros((frame.height, len(levels) + 1))
            index = {level: i for i, level in enumerate(levels)}
            positions = np.array([index.get(v, len(levels)) for v in column], dtype=np.int64)
            if frame.height:
                onehot[np.arange(frame.height), positions] = 1.0
            blocks.append(onehot / np.sqrt(len(levels) + 1))
        return np.hstack(blocks) if blocks else np.zeros((frame.height, 0))

    def error(self, frame: pl.DataFrame) -> float:
        """Mean reconstruction error of the rows of ``frame`` (NaN for no rows)."""
        if frame.height == 0:
            return float("nan")
        centred = self.encode(frame) - self.center
        projected = centred @ self.components.T @ self.components
        return float(np.linalg.norm(centred - projected, axis=1).mean())


def band(
    reference_values: list[float],
    reference_error: float,
    *,
    sigmas: float = 3.0,
    min_chunks: int = 3,
) -> Band:
    """Mean ± ``sigmas`` sd over the reference chunks; with too few of them (or no
    spread), ± 10% of the whole reference's error instead of a zero-width band."""
    finite = [v for v in reference_values if np.isfinite(v)]
    if len(finite) >= min_chunks:
        spread = float(np.std(finite, ddof=1))
        if spread > 0:
            centre = float(np.mean(finite))
            return Band(centre - sigmas * spread, centre + sigmas * spread, "reference chunks")
    return Band(reference_error * 0.9, reference_error * 1.1, "fallback")
