"""The contract every drift test keeps, its result, and the registry of tests.

A drift test compares the reference distribution of one column with a current
one. It has a stable string ``key`` (what policies and stored results name),
the column ``kinds`` it supports (``"numeric"``, ``"categorical"``), and a
``threshold``: tests with a p-value flag drift when ``p_value < threshold``,
distances when ``statistic > threshold``.

Every test answers from raw samples (``from_samples``) and from column profiles
(``from_profiles``). The raw path agrees with scipy's reference implementations;
the profile path reads only the two profiles and reports how far it can be from
the raw answer in ``error_bound`` (0 when ``method`` is ``"exact"``).

>>> import numpy as np
>>> from postpilot.monitoring.drift import get_test
>>> ks = get_test("ks")(threshold=0.01)
>>> result = ks.from_samples(np.arange(100.0), np.arange(100.0) + 50)
>>> (result.test, result.statistic, result.drifted, result.method)
('ks', 0.5, True, 'exact')
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Final, Literal, Self, TypeAlias, TypeVar

from postpilot.errors import InputError
from postpilot.monitoring.drift._samples import (
    Kind,
    Sample,
    SampleLike,
    column_label,
    profile_kind,
    read_sample,
    sample_name,
)
from postpilot.profiles import ColumnProfile

__all__ = [
    "DRIFT_TESTS",
    "KINDS",
    "DriftResult",
    "DriftTest",
    "Method",
    "Outcome",
    "get_test",
    "register",
]

Method: TypeAlias = Literal["exact", "sketch"]
KINDS: Final[tuple[Kind, ...]] = ("numeric", "categorical")


@dataclass(frozen=True, slots=True)
class DriftResult:
    """One drift test's verdict on one column, with what produced it.

    ``statistic`` is the test's statistic (a distance, or the test statistic of
    a test with a ``p_value``); ``threshold`` is the one actually used;
    ``method`` is ``"exact"`` when the answer is the raw path's (raw samples,
    exact counts, or quantile sketches still holding every value) and
    ``"sketch"`` when it is estimated from sketches, in which case the raw
    statistic lies within ``error_bound`` of ``statistic`` (see each test's
    module for what the bound guarantees).
    """

    column: str
    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    method: Method
    error_bound: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a test computes before the verdict: statistic, p-value, method, bound."""

    statistic: float
    p_value: float | None = None
    method: Method = "exact"
    error_bound: float = 0.0


class DriftTest(ABC):
    """A drift test; subclasses set the class attributes and compute an Outcome."""

    key: ClassVar[str]
    kinds: ClassVar[frozenset[Kind]]
    default_threshold: ClassVar[float]
    has_p_value: ClassVar[bool]

    def __init__(self, *, threshold: float | None = None) -> None:
        self._threshold = self.default_threshold if threshold is None else self._valid(threshold)

    @property
    def threshold(self) -> float:
        """p-value tests flag drift below it; distances above it."""
        return self._threshold

    def with_threshold(self, threshold: float | None) -> Self:
        """This test with another threshold (None: the default)."""
        other = copy.copy(self)
        other._threshold = self.default_threshold if threshold is None else self._valid(threshold)
        return other

    def drifted(self, statistic: float, p_value: float | None) -> bool:
        """The verdict for a statistic and p-value under this test's threshold."""
        if self.has_p_value:
            return p_value is not None and p_value < self._threshold
        return statistic > self._threshold

    def from_samples(
        self, reference: SampleLike, current: SampleLike, *, column: str | None = None
    ) -> DriftResult:
        """Compare two raw samples (polars Series, numpy arrays or sequences)."""
        name = sample_name(reference) if column is None else column
        return self.compare_samples(
            read_sample(reference, role="reference", column=name),
            read_sample(current, role="current", column=name),
            column=name,
        )

    def from_profiles(
        self, reference: ColumnProfile, current: ColumnProfile, *, column: str | None = None
    ) -> DriftResult:
        """Compare two column profiles, reading nothing but the profiles."""
        name = reference.name if column is None else column
        kind = profile_kind(reference, role="reference", column=name)
        self._check_kinds(kind, profile_kind(current, role="current", column=name), name)
        with _naming(name):
            return self._result(name, self._compare_profiles(reference, current))

    def compare_samples(self, reference: Sample, current: Sample, *, column: str) -> DriftResult:
        """Compare two samples already read (see ``from_samples``)."""
        self._check_kinds(reference.kind, current.kind, column)
        with _naming(column):
            return self._result(column, self._compare_samples(reference, current))

    @abstractmethod
    def _compare_samples(self, reference: Sample, current: Sample) -> Outcome:
        """The outcome on raw samples of one supported kind (checked by the caller)."""

    @abstractmethod
    def _compare_profiles(self, reference: ColumnProfile, current: ColumnProfile) -> Outcome:
        """The outcome on profiles of one supported kind (checked by the caller)."""

    def _result(self, column: str, outcome: Outcome) -> DriftResult:
        return DriftResult(
            column=column,
            test=self.key,
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            threshold=self._threshold,
            drifted=self.drifted(outcome.statistic, outcome.p_value),
            method=outcome.method,
            error_bound=outcome.error_bound,
        )

    def _check_kinds(self, reference: Kind, current: Kind, column: str) -> None:
        if reference != current:
            raise InputError(
                f"{column_label(column)} is {reference} in the reference and {current} "
                "in the current data",
                field=column or None,
                hint="Compare a column with the same column; cast one side to the other's type",
            )
        if reference not in self.kinds:
            fitting = sorted(key for key, test in DRIFT_TESTS.items() if reference in test.kinds)
            raise InputError(
                f"the '{self.key}' drift test compares {' or '.join(sorted(self.kinds))} "
                f"columns; {column_label(column)} is {reference}",
                field=column or None,
                hint=f"Tests for {reference} columns: {', '.join(fitting)}",
            )

    def _valid(self, threshold: float) -> float:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise InputError(f"threshold must be a number, got {threshold!r}", field="threshold")
        value = float(threshold)
        if self.has_p_value and not 0.0 < value < 1.0:
            raise InputError(
                f"the '{self.key}' test's threshold is a p-value level between 0 and 1 "
                f"(exclusive), got {threshold!r}",
                field="threshold",
            )
        if not self.has_p_value and not (math.isfinite(value) and value >= 0.0):
            raise InputError(
                f"the '{self.key}' test's threshold is a distance: a finite number >= 0, "
                f"got {threshold!r}",
                field="threshold",
            )
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self._threshold!r})"


@contextmanager
def _naming(column: str) -> Iterator[None]:
    """Name the column in an InputError raised by a test's computation."""
    try:
        yield
    except InputError as exc:
        if exc.field is not None:
            raise
        raise InputError(exc.message, field=column or None, hint=exc.hint) from None


DRIFT_TESTS: dict[str, type[DriftTest]] = {}
"""Every registered drift test, by its stable key."""

_T = TypeVar("_T", bound=type[DriftTest])


def register(cls: _T) -> _T:
    """Class decorator: add a drift test to ``DRIFT_TESTS`` under its key."""
    if cls.key in DRIFT_TESTS and DRIFT_TESTS[cls.key] is not cls:
        raise InputError(f"a drift test with key '{cls.key}' is already registered", field="key")
    DRIFT_TESTS[cls.key] = cls
    return cls


def get_test(key: str) -> type[DriftTest]:
    """The drift test registered under ``key``; InputError listing the keys if none is."""
    try:
        return DRIFT_TESTS[key]
    except KeyError:
        raise InputError(
            f"unknown drift test {key!r}",
            field="test",
            hint=f"Use one of: {', '.join(sorted(DRIFT_TESTS))}",
        ) from None
