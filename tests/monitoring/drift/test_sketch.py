"""The sketch path: within its documented bound of the raw path, and exact where it can be.

KLL sketches compact at random (DataSketches seeds them from the clock), so
these tests are probabilistic: the bounds hold at 99% confidence per sketch and
the observed errors are many times smaller (see the modules' docstrings).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest
from scipy import stats

from postpilot.monitoring.drift import DriftResult, get_test
from postpilot.profiles import CategoricalColumn, ColumnProfile, NumericColumn, profile
from tests.monitoring.drift.helpers import (
    BINNED,
    category_shares,
    decile_shares,
    linf,
    profiles,
)

NUMERIC_KEYS = ["ks", "wasserstein", "psi", "jensen_shannon", "hellinger"]
CATEGORICAL_KEYS = ["chi2", "psi", "jensen_shannon", "hellinger", "linf"]
MILLION = 1_000_000


def _million_row_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1_000_000)
    return {
        "same": (rng.normal(0, 1, MILLION), rng.normal(0, 1, MILLION)),
        "shifted": (rng.normal(0, 1, MILLION), rng.normal(0.2, 1, MILLION)),
        "rescaled": (rng.normal(3, 1, MILLION), rng.normal(3, 1.3, MILLION // 4)),
        "lognormal": (rng.lognormal(0, 1, MILLION), rng.lognormal(0.1, 1.1, MILLION)),
        "uniform": (rng.uniform(0, 1, MILLION), rng.uniform(0.1, 1.1, MILLION)),
        "integers": (
            rng.poisson(5, MILLION).astype(np.float64),
            rng.poisson(5.3, MILLION).astype(np.float64),
        ),
    }


@pytest.fixture(scope="module")
def million_rows() -> dict[str, tuple[np.ndarray, np.ndarray, ColumnProfile, ColumnProfile]]:
    return {
        name: (reference, current, *profiles(reference, current))
        for name, (reference, current) in _million_row_cases().items()
    }


@pytest.mark.parametrize("key", NUMERIC_KEYS)
def test_numeric_sketch_path_stays_within_its_bound_at_a_million_rows(
    key: str, million_rows: dict[str, tuple[np.ndarray, np.ndarray, ColumnProfile, ColumnProfile]]
) -> None:
    test = get_test(key)()
    for name, (reference, current, ref_profile, cur_profile) in million_rows.items():
        raw = test.from_samples(reference, current)
        sketched = test.from_profiles(ref_profile, cur_profile)
        assert sketched.method == "sketch", name
        assert sketched.error_bound > 0.0, name
        error = abs(sketched.statistic - raw.statistic)
        assert error <= sketched.error_bound, (name, raw.statistic, sketched.statistic)
        if key == "wasserstein" and name != "lognormal":  # documented: light tails, empirical
            assert error < 0.1, name


def test_ks_bound_is_the_sum_of_the_rank_errors(
    million_rows: dict[str, tuple[np.ndarray, np.ndarray, ColumnProfile, ColumnProfile]],
) -> None:
    _, _, ref_profile, cur_profile = million_rows["shifted"]
    assert isinstance(ref_profile, NumericColumn)
    assert isinstance(cur_profile, NumericColumn)
    result = get_test("ks")().from_profiles(ref_profile, cur_profile)
    assert result.error_bound == pytest.approx(ref_profile.rank_error + cur_profile.rank_error)
    assert result.p_value is not None
    assert result.p_value < 1e-12


def test_wasserstein_bound_follows_the_ranges_and_the_reference_std(
    million_rows: dict[str, tuple[np.ndarray, np.ndarray, ColumnProfile, ColumnProfile]],
) -> None:
    reference, current, ref_profile, cur_profile = million_rows["rescaled"]
    assert isinstance(ref_profile, NumericColumn)
    assert isinstance(cur_profile, NumericColumn)
    result = get_test("wasserstein")().from_profiles(ref_profile, cur_profile)
    expected = (
        ref_profile.rank_error * (reference.max() - reference.min())
        + cur_profile.rank_error * (current.max() - current.min())
    ) / np.std(reference)
    assert result.error_bound == pytest.approx(expected, rel=1e-9)


def _stand_in(column: ColumnProfile) -> np.ndarray:
    """The sketch's retained items repeated by weight: a sample with the sketch's CDF."""
    assert isinstance(column, NumericColumn)
    pairs = list(column.kll)
    return np.sort(np.repeat([item for item, _ in pairs], [int(w) for _, w in pairs]))


@pytest.mark.parametrize("n", [3_000, 20_000])  # scipy's exact and asymptotic KS p-values
def test_sketch_statistics_are_scipy_on_the_sketches_stand_in_samples(n: int) -> None:
    rng = np.random.default_rng(n)
    reference, current = rng.normal(0, 1, n), rng.normal(0.1, 1.1, n + 500)
    ref_profile, cur_profile = profiles(reference, current, kll_k=8)
    ref_in, cur_in = _stand_in(ref_profile), _stand_in(cur_profile)
    assert len(ref_in) == n
    assert len(np.unique(ref_in)) < n // 10

    ks = get_test("ks")().from_profiles(ref_profile, cur_profile)
    expected = stats.ks_2samp(ref_in, cur_in)
    assert ks.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert ks.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)

    wasserstein = get_test("wasserstein")().from_profiles(ref_profile, cur_profile)
    expected_w = stats.wasserstein_distance(ref_in, cur_in) / np.std(reference)
    assert wasserstein.statistic == pytest.approx(expected_w, rel=1e-9)

    for key, reference_statistic in BINNED.items():
        binned = get_test(key)().from_profiles(ref_profile, cur_profile)
        assert binned.statistic == pytest.approx(
            reference_statistic(*decile_shares(ref_in, cur_in)), rel=1e-9, abs=1e-12
        ), key


@pytest.mark.parametrize("key", NUMERIC_KEYS)
def test_sketches_holding_every_value_give_the_raw_answer(key: str) -> None:
    rng = np.random.default_rng(11)
    reference, current = rng.normal(0, 1, 150), np.round(rng.normal(0.5, 1, 120), 1)
    ref_profile, cur_profile = profiles(reference, current)
    raw = get_test(key)().from_samples(reference, current, column="x")
    assert get_test(key)().from_profiles(ref_profile, cur_profile) == raw
    assert raw.method == "exact"
    assert raw.error_bound == 0.0


def _categories(seed: int, n: int, shares: list[float]) -> list[str]:
    rng = np.random.default_rng(seed)
    return rng.choice([f"c{i}" for i in range(len(shares))], n, p=shares).tolist()


@pytest.mark.parametrize("key", CATEGORICAL_KEYS)
def test_exact_counts_give_the_raw_answer(key: str) -> None:
    reference = _categories(1, 200_000, [0.5, 0.3, 0.15, 0.05])
    current = _categories(2, 150_000, [0.4, 0.3, 0.15, 0.1, 0.05])  # c4 is new
    ref_profile, cur_profile = profiles(reference, current)
    assert isinstance(ref_profile, CategoricalColumn)
    assert ref_profile.exact_counts
    raw = get_test(key)().from_samples(reference, current, column="x")
    assert get_test(key)().from_profiles(ref_profile, cur_profile) == raw
    assert (raw.method, raw.error_bound) == ("exact", 0.0)


def _zipf(seed: int, n: int, exponent: float) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"v{x}" for x in rng.zipf(exponent, n)]


@pytest.fixture(scope="module")
def many_values() -> tuple[list[str], list[str], ColumnProfile, ColumnProfile]:
    """Columns with thousands of distinct values, past the profiles' exact-count cap."""
    reference, current = _zipf(5, 200_000, 1.6), _zipf(6, 120_000, 1.45)
    ref_profile, cur_profile = profiles(reference, current, max_exact_values=100)
    return reference, current, ref_profile, cur_profile


def _merged_shares(
    reference: list[str], current: list[str], ref_profile: ColumnProfile, cur_profile: ColumnProfile
) -> tuple[np.ndarray, np.ndarray]:
    """Exact shares over the values surely frequent on either side, plus one bin for the rest."""
    assert isinstance(ref_profile, CategoricalColumn)
    assert isinstance(cur_profile, CategoricalColumn)
    kept: set[str] = set()
    for column in (ref_profile, cur_profile):
        counts = column.value_counts()
        assert not counts.exact
        kept |= {value for value, low in counts.lower.items() if low > counts.max_error}
    labels = sorted(kept)

    def shares(values: list[str]) -> np.ndarray:
        counts = Counter(values)
        listed = [counts[v] for v in labels]
        return np.array([*listed, len(values) - sum(listed)], dtype=np.float64) / len(values)

    return shares(reference), shares(current)


@pytest.mark.parametrize("key", ["psi", "jensen_shannon", "hellinger", "chi2"])
def test_frequent_items_path_is_within_its_bound_of_the_merged_raw_statistic(
    key: str, many_values: tuple[list[str], list[str], ColumnProfile, ColumnProfile]
) -> None:
    reference, current, ref_profile, cur_profile = many_values
    sketched = get_test(key)().from_profiles(ref_profile, cur_profile)
    r, c = _merged_shares(reference, current, ref_profile, cur_profile)
    if key == "chi2":
        table = np.vstack([r * len(reference), c * len(current)])
        merged = float(stats.chi2_contingency(np.round(table))[0])
    else:
        merged = BINNED[key](r, c)
    assert sketched.method == "sketch"
    assert sketched.error_bound > 0.0
    assert abs(sketched.statistic - merged) <= sketched.error_bound + 1e-9
    if key != "psi":  # merging rare values into one bin can only lower an f-divergence
        full = get_test(key)().from_samples(reference, current)
        assert sketched.statistic <= full.statistic + sketched.error_bound + 1e-9


def test_frequent_items_linf_bound_covers_every_value(
    many_values: tuple[list[str], list[str], ColumnProfile, ColumnProfile],
) -> None:
    reference, current, ref_profile, cur_profile = many_values
    sketched = get_test("linf")().from_profiles(ref_profile, cur_profile)
    exact = linf(*category_shares(reference, current))
    assert sketched.method == "sketch"
    assert abs(sketched.statistic - exact) <= sketched.error_bound
    assert sketched.error_bound < 0.05


def test_one_side_exact_and_one_estimated(
    many_values: tuple[list[str], list[str], ColumnProfile, ColumnProfile],
) -> None:
    reference, _, ref_profile, _ = many_values
    current = _categories(9, 50_000, [0.5, 0.3, 0.2])  # few values: exact counts
    cur_profile = profile(pl.DataFrame({"x": current})).column("x")
    result: DriftResult = get_test("linf")().from_profiles(ref_profile, cur_profile)
    assert abs(result.statistic - linf(*category_shares(reference, current))) <= result.error_bound
    assert result.drifted


def test_temporal_profiles_compare_like_their_raw_values() -> None:
    rng = np.random.default_rng(12)
    start = np.datetime64("2024-03-01T00:00:00", "us")
    reference = pl.Series("at", start + rng.integers(0, 10**10, 180).astype("timedelta64[us]"))
    current = pl.Series("at", start + rng.integers(10**9, 10**10, 150).astype("timedelta64[us]"))
    before = profile(pl.DataFrame(reference)).column("at")
    after = profile(pl.DataFrame(current)).column("at")
    for key in NUMERIC_KEYS:
        assert get_test(key)().from_profiles(before, after) == get_test(key)().from_samples(
            reference, current
        ), key


@pytest.mark.parametrize("key", ["wasserstein", "ks"])
def test_a_reference_merged_from_chunks_gives_the_statistic_of_the_data(key: str) -> None:
    """Every chunked run compares chunks with a reference merged from chunk profiles.
    The binding's iterator reports weight 1 for each item of a merged sketch; the
    weights must come from the sketch's CDF, or a merged lognormal reference sat 0.07
    (in reference standard deviations) away from its own chunks."""
    from postpilot.monitoring.chunked import SETTINGS
    from postpilot.monitoring.drift._numeric import weighted_items

    # At the runs' kll_k (1000) the worst of 240 such comparisons was 0.004; at the
    # profiler's default of 200 a fifth exceeded 0.01 (KLL compaction is random), which
    # is why runs profile at 1000. The test checks what runs do.
    values = np.random.default_rng(3).lognormal(0.0, 1.0, 25_000)
    parts = [
        profile(pl.DataFrame({"x": part}), kll_k=SETTINGS.kll_k)
        for part in np.array_split(values, 4)
    ]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    column = merged.column("x")
    assert isinstance(column, NumericColumn)
    assert column.kll.is_estimation_mode()
    assert weighted_items(column)[1].sum() == len(values)
    test = get_test(key)()
    for part, chunk in zip(np.array_split(values, 4), parts, strict=True):
        exact = test.from_samples(values, part, column="x").statistic
        assert test.from_profiles(column, chunk.column("x")).statistic == pytest.approx(
            exact, abs=0.01
        )
