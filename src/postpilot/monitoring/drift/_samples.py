"""Raw samples and column profiles as drift tests read them.

A raw sample (a polars Series, a numpy array or a sequence) is read the way
``postpilot.profiles.profile`` reads a column, so that both paths see the same
values: nulls are left out, and so is NaN; integers and temporal values become
doubles (temporal ones as microseconds, like their profiles); strings,
categoricals and booleans (``"true"``/``"false"``) are categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import polars as pl
from numpy.typing import NDArray

from postpilot.errors import InputError
from postpilot.profiles import CategoricalColumn, ColumnProfile, NumericColumn
from postpilot.profiles.dtypes import (
    CATEGORICAL_TYPES,
    NUMERIC_TYPES,
    TEMPORAL_TYPES,
    observed_type,
)
from postpilot.profiles.summary import to_micros

__all__ = [
    "CategoricalSample",
    "Floats",
    "Kind",
    "NumericSample",
    "Sample",
    "SampleLike",
    "column_label",
    "profile_kind",
    "read_sample",
    "sample_name",
]

Floats: TypeAlias = NDArray[np.float64]
Kind: TypeAlias = Literal["numeric", "categorical"]
SampleLike: TypeAlias = pl.Series | NDArray[Any] | Sequence[Any]


@dataclass(frozen=True, slots=True)
class NumericSample:
    """The non-null, non-NaN values of a numeric (or temporal) sample, sorted."""

    values: Floats

    @property
    def kind(self) -> Kind:
        return "numeric"

    @property
    def size(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True)
class CategoricalSample:
    """The exact count of every non-null value of a categorical sample."""

    counts: dict[str, int]

    @property
    def kind(self) -> Kind:
        return "categorical"

    @property
    def size(self) -> int:
        return sum(self.counts.values())


Sample: TypeAlias = NumericSample | CategoricalSample


def sample_name(data: SampleLike) -> str:
    """The column name a sample carries: a polars Series' name, else ``""``."""
    return data.name if isinstance(data, pl.Series) else ""


def read_sample(data: SampleLike, *, role: str, column: str) -> Sample:
    """Read ``data`` as a numeric or categorical sample; InputError if it has no values."""
    series = _series(data, role=role, column=column)
    try:
        observed = observed_type(series.dtype, column=column)
    except InputError:
        raise InputError(
            f"the {role} sample{_of(column)} has type {series.dtype}, "
            "which drift tests cannot compare",
            field=column or None,
            hint="Compare numbers, dates and times, strings, categoricals or booleans",
        ) from None
    sample: Sample
    if observed in CATEGORICAL_TYPES:
        counted = series.cast(pl.String).drop_nulls().rename("value").value_counts(name="n")
        sample = CategoricalSample(
            dict(
                zip(
                    counted.get_column("value").to_list(),
                    counted.get_column("n").to_list(),
                    strict=True,
                )
            )
        )
    elif observed in NUMERIC_TYPES or observed in TEMPORAL_TYPES:
        numbers = to_micros(series) if observed in TEMPORAL_TYPES else series
        values = numbers.drop_nulls().cast(pl.Float64).to_numpy()
        sample = NumericSample(np.sort(values[~np.isnan(values)]))
    else:  # a column of untyped nulls
        sample = NumericSample(np.empty(0, dtype=np.float64))
    if sample.size == 0:
        raise InputError(f"the {role} sample{_of(column)} has no values", field=column or None)
    return sample


def profile_kind(profile: ColumnProfile, *, role: str, column: str) -> Kind:
    """The kind of a column profile; InputError if it has no values to compare."""
    if isinstance(profile, NumericColumn) and profile.moments.count:
        return "numeric"
    if isinstance(profile, CategoricalColumn) and profile.count:
        return "categorical"
    raise InputError(f"the {role} profile{_of(column)} has no values", field=column or None)


def column_label(column: str) -> str:
    """``column 'name'`` in messages, or ``the column`` for an unnamed sample."""
    return f"column '{column}'" if column else "the column"


def _of(column: str) -> str:
    return f" of column '{column}'" if column else ""


def _series(data: SampleLike, *, role: str, column: str) -> pl.Series:
    if isinstance(data, pl.Series):
        return data
    if isinstance(data, str | bytes) or not hasattr(data, "__len__"):
        raise InputError(
            f"the {role} sample{_of(column)} must be a polars Series, a numpy array "
            f"or a sequence of values, got {type(data).__name__}",
            field=column or None,
        )
    try:
        return pl.Series(column, data)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise InputError(
            f"the {role} sample{_of(column)} cannot be read as one column: {exc}",
            field=column or None,
            hint="Pass values of one type (numbers, strings, booleans, dates), None for missing",
        ) from exc
