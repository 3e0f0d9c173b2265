"""The test a column gets by default, and one-call comparisons with any test.

The default depends on the column's kind and the two sample sizes (values that
are not null or NaN):

==============  ====================================  ==============================
kind            both sides at most 1,000 values       otherwise
==============  ====================================  ==============================
numeric         ``ks``: drift when p < 0.05           ``wasserstein`` (normed): > 0.1
categorical     ``chi2``: drift when p < 0.05         ``jensen_shannon``: > 0.1
==============  ====================================  ==============================

This is the rule Evidently documents for its data drift preset ("Data drift
algorithm", https://docs-old.evidentlyai.com/reference/data-drift-algorithm):
statistical tests for small samples, distances for large ones, where a p-value
would flag differences too small to matter. Evidently decides on the
reference's size alone, treats numeric columns with at most 5 distinct values as
categorical and uses a Z-test for binary ones; here both sides must be small
(a test on a large current sample is just as over-sensitive), the column's kind
decides, and chi-square covers binary columns too. Every threshold can be
overridden per column: ``compare(..., threshold=...)``. On the sketch path the
normed Wasserstein distance of a heavy-tailed column is noisy at the profiles'
default ``kll_k`` (see ``wasserstein``); pass ``test=`` per column where that
matters.

>>> import numpy as np
>>> default_test("numeric", 5_000, 800).key
'wasserstein'
>>> result = compare(np.arange(200.0), np.arange(200.0) + 100, threshold=0.01)
>>> (result.test, result.threshold, result.drifted)
('ks', 0.01, True)
"""

from __future__ import annotations

from typing import Final

from postpilot.errors import InputError
from postpilot.monitoring.drift._samples import (
    Kind,
    SampleLike,
    profile_kind,
    read_sample,
    sample_name,
)
from postpilot.monitoring.drift.base import KINDS, DriftResult, DriftTest, get_test
from postpilot.monitoring.drift.chi2 import ChiSquare
from postpilot.monitoring.drift.jensen_shannon import JensenShannon
from postpilot.monitoring.drift.ks import KolmogorovSmirnov
from postpilot.monitoring.drift.wasserstein import Wasserstein
from postpilot.profiles import ColumnProfile, NumericColumn

__all__ = ["SMALL_SAMPLE_MAX", "compare", "compare_profiles", "default_test"]

SMALL_SAMPLE_MAX: Final = 1_000


def default_test(kind: str, n_reference: int, n_current: int) -> DriftTest:
    """The default test for a column of ``kind`` with these sample sizes (module docstring)."""
    for name, n in (("n_reference", n_reference), ("n_current", n_current)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InputError(f"{name} must be an integer >= 0, got {n!r}", field=name)
    small = max(n_reference, n_current) <= SMALL_SAMPLE_MAX
    if kind == "numeric":
        return KolmogorovSmirnov() if small else Wasserstein()
    if kind == "categorical":
        return ChiSquare() if small else JensenShannon()
    raise InputError(
        f"kind must be one of {', '.join(KINDS)}, got {kind!r}",
        field="kind",
    )


def compare(
    reference: SampleLike,
    current: SampleLike,
    *,
    test: str | DriftTest | None = None,
    threshold: float | None = None,
    column: str | None = None,
) -> DriftResult:
    """Compare two raw samples with ``test`` (a key or a test; default: ``default_test``)."""
    name = sample_name(reference) if column is None else column
    ref = read_sample(reference, role="reference", column=name)
    cur = read_sample(current, role="current", column=name)
    chosen = _choose(test, threshold, ref.kind, ref.size, cur.size)
    return chosen.compare_samples(ref, cur, column=name)


def compare_profiles(
    reference: ColumnProfile,
    current: ColumnProfile,
    *,
    test: str | DriftTest | None = None,
    threshold: float | None = None,
    column: str | None = None,
) -> DriftResult:
    """Compare two column profiles with ``test`` (a key or a test; default: ``default_test``)."""
    name = reference.name if column is None else column
    kind = profile_kind(reference, role="reference", column=name)
    profile_kind(current, role="current", column=name)
    chosen = _choose(test, threshold, kind, _size(reference), _size(current))
    return chosen.from_profiles(reference, current, column=name)


def _choose(
    test: str | DriftTest | None, threshold: float | None, kind: Kind, n_ref: int, n_cur: int
) -> DriftTest:
    if test is None:
        chosen = default_test(kind, n_ref, n_cur)
    elif isinstance(test, str):
        chosen = get_test(test)()
    elif isinstance(test, DriftTest):
        chosen = test
    else:
        raise InputError(
            f"test must be a drift test's key or a DriftTest, got {type(test).__name__}",
            field="test",
        )
    return chosen if threshold is None else chosen.with_threshold(threshold)


def _size(profile: ColumnProfile) -> int:
    if isinstance(profile, NumericColumn):
        return profile.moments.count
    return profile.count
