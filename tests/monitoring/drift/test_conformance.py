"""Every registered drift test keeps the contract (scikit-learn's check_estimator, for drift).

For each test and each kind it supports: identical data is no drift on both
paths, a clear shift on 5,000 rows is drift on both paths, and its key
round-trips through ``get_test``.
"""

from __future__ import annotations

import numpy as np
import pytest

from postpilot.errors import InputError
from postpilot.monitoring.drift import DRIFT_TESTS, DriftTest, get_test
from tests.monitoring.drift.helpers import profiles

KEYS = sorted(DRIFT_TESTS)
CASES = [(key, kind) for key in KEYS for kind in sorted(DRIFT_TESTS[key].kinds)]
ROWS = 5_000
SHARES = [0.5, 0.2, 0.2, 0.1]
SWAPPED = [0.2, 0.5, 0.2, 0.1]  # 30 points moved from the first category to the second


def _data(kind: str, *, shifted: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        return rng.normal(1.0 if shifted else 0.0, 1.0, ROWS)  # a shift of one sd
    return rng.choice(["a", "b", "c", "d"], ROWS, p=SWAPPED if shifted else SHARES)


def test_the_registry_holds_every_test_once() -> None:
    assert set(KEYS) == {"ks", "wasserstein", "psi", "jensen_shannon", "hellinger", "chi2", "linf"}
    assert len({cls for cls in DRIFT_TESTS.values()}) == len(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_key_round_trips_and_the_class_is_complete(key: str) -> None:
    cls = get_test(key)
    assert cls is DRIFT_TESTS[key]
    assert issubclass(cls, DriftTest)
    test = cls()
    assert get_test(test.key) is cls
    assert test.kinds
    assert test.kinds <= {"numeric", "categorical"}
    assert test.threshold == cls.default_threshold
    if cls.has_p_value:
        assert 0.0 < test.threshold < 1.0
    else:
        assert test.threshold > 0.0


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_identical_data_is_not_drift(key: str, kind: str) -> None:
    test = get_test(key)()
    data = _data(kind, shifted=False, seed=1)
    raw = test.from_samples(data, data)
    assert raw.statistic == pytest.approx(0.0, abs=1e-12)
    assert raw.p_value is None or raw.p_value == pytest.approx(1.0)
    assert not raw.drifted
    ref_profile, cur_profile = profiles(data, data)  # two sketches of the same data
    assert test.from_profiles(ref_profile, ref_profile).statistic == pytest.approx(0.0, abs=1e-12)
    sketched = test.from_profiles(ref_profile, cur_profile)
    assert abs(sketched.statistic) <= sketched.error_bound + 1e-12
    assert not sketched.drifted


@pytest.mark.parametrize(("key", "kind"), CASES)
def test_a_clear_shift_is_drift_on_both_paths(key: str, kind: str) -> None:
    test = get_test(key)()
    reference = _data(kind, shifted=False, seed=2)
    current = _data(kind, shifted=True, seed=3)
    raw = test.from_samples(reference, current)
    sketched = test.from_profiles(*profiles(reference, current))
    assert raw.drifted
    assert sketched.drifted
    assert (raw.test, raw.threshold) == (key, test.threshold)
    assert abs(sketched.statistic - raw.statistic) <= max(sketched.error_bound, 1e-12)
    if kind == "numeric":
        assert sketched.method == "sketch"  # 5,000 values: the KLL sketches have compacted


@pytest.mark.parametrize("key", KEYS)
def test_an_unsupported_kind_is_refused_naming_the_tests_that_fit(key: str) -> None:
    cls = get_test(key)
    for kind in {"numeric", "categorical"} - cls.kinds:
        data = _data(kind, shifted=False, seed=4)
        with pytest.raises(InputError, match=f"'{key}' drift test compares") as info:
            cls().from_samples(data, data, column="amount")
        assert info.value.field == "amount"
        fitting = [k for k in KEYS if kind in DRIFT_TESTS[k].kinds]
        assert info.value.hint is not None
        assert all(k in info.value.hint for k in fitting)
        with pytest.raises(InputError):
            cls().from_profiles(*profiles(data, data))
