"""The default tests of large samples without scipy: scipy's algorithms, equal bit for bit.

``scipy.stats`` takes most of a second to import and ``scipy.special`` a fifth, so the
Wasserstein distance (large numeric columns) and ``rel_entr`` (the Jensen-Shannon test
of large categorical columns) are computed in ``_scipy`` itself; these tests hold them to
scipy's results exactly.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import special, stats  # type: ignore[import-untyped, unused-ignore]

from postpilot.monitoring.drift import _scipy


@pytest.mark.parametrize("seed", range(40))
def test_equal_to_scipy_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(x) for x in rng.integers(1, 400, 2))
    u = rng.normal(0, 1, n) * 10.0 ** int(rng.integers(-6, 6))
    v = rng.standard_t(3, m)
    if seed % 3 == 0:  # ties within and across the samples
        u, v = np.round(u, 1), np.round(v, 1)
    u_weights = rng.random(n) if seed % 2 else None
    v_weights = rng.random(m) * 1_000 if seed % 4 else None
    expected = stats.wasserstein_distance(u, v, u_weights, v_weights)
    assert _scipy.wasserstein_distance(u, v, u_weights, v_weights) == expected


@pytest.mark.parametrize(
    ("u", "v", "u_weights", "message"),
    [
        ([], [1.0], None, "Distribution can't be empty"),
        ([1.0], [1.0], [-1.0], "All weights must be non-negative"),
        ([1.0, 2.0], [1.0], [0.0, 0.0], "Weight array-like sum must be positive"),
        ([1.0, 2.0], [1.0], [1.0], "must be of the same size"),
    ],
)
def test_refuses_what_scipy_refuses(
    u: list[float], v: list[float], u_weights: list[float] | None, message: str
) -> None:
    weights = None if u_weights is None else np.array(u_weights)
    with pytest.raises(ValueError, match=message):
        stats.wasserstein_distance(u, v, weights)
    with pytest.raises(ValueError, match=message):
        _scipy.wasserstein_distance(np.array(u), np.array(v), weights)


@pytest.mark.parametrize("seed", range(10))
def test_rel_entr_equal_to_scipy_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = 5_000
    x = rng.random(size) ** 3
    y = rng.random(size) ** 3
    near = rng.random(size) < 0.3  # ratios near 1, where scipy switches to log1p
    x[near] = y[near] * (1 + rng.normal(0, 0.05, int(near.sum())))
    x[::7] = 0.0
    y[::11] = 0.0
    x[::13] = -x[::13]
    x[::17] = np.nan
    x[::19] = 5e-324  # subnormal shares: the ratio underflows
    y[::23] = np.inf
    expected = special.rel_entr(x, y)
    got = _scipy.rel_entr(x, y)
    assert got.dtype == np.float64
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # NaN where scipy has NaN, else equal


def test_the_default_tests_of_large_samples_import_no_scipy() -> None:
    code = """
import sys
import numpy as np
from postpilot.monitoring.drift import compare
rng = np.random.default_rng(0)
result = compare(rng.normal(0, 1, 5_000), rng.normal(0.5, 1, 5_000))
assert result.test == "wasserstein" and result.drifted, result
tiers = np.array(["gold", "silver", "bronze"])
result = compare(rng.choice(tiers, 5_000), rng.choice(tiers, 5_000, p=[0.6, 0.2, 0.2]))
assert result.test == "jensen_shannon" and result.drifted, result
assert not [m for m in sys.modules if m.split(".")[0] == "scipy"], "scipy was imported"
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
