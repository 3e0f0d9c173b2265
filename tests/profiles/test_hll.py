"""The vectorised HLL path must build exactly the registers DataSketches builds."""

from __future__ import annotations

import datasketches as ds
import numpy as np
import pytest

from postpilot.profiles.hll import HllAccumulator, _registers, _update_minima, hll_union


def registers_of(values: np.ndarray, lg_k: int) -> np.ndarray:
    """Registers built by the vectorised path."""
    minima = np.full(1 << lg_k, 2**64 - 1, dtype=np.uint64)
    _update_minima(minima, values, lg_k)
    return _registers(minima)


def reference_registers(values: np.ndarray, lg_k: int) -> np.ndarray:
    """Registers of an HLL_8 sketch fed one value at a time by DataSketches itself."""
    sketch = ds.hll_sketch(lg_k, ds.HLL_8)
    for value in values.tolist():
        sketch.update(value)
    image = sketch.serialize_updatable()
    assert image[7] & 3 == 2, "the reference sketch must be in HLL mode"
    return np.frombuffer(image[40 : 40 + (1 << lg_k)], dtype=np.uint8)


@pytest.mark.parametrize("lg_k", [4, 12, 14])
def test_registers_match_datasketches_for_doubles(lg_k: int) -> None:
    rng = np.random.default_rng(lg_k)
    values = np.concatenate(
        [
            rng.normal(0, 1e6, 150_000),  # more than two chunks
            np.array([0.0, -0.0, np.inf, -np.inf, 5e-324, 1.7976931348623157e308]),
        ]
    )
    assert np.array_equal(registers_of(values, lg_k), reference_registers(values, lg_k))


def test_integers_are_hashed_as_doubles() -> None:
    """An int column and a float column of the same numbers have the same sketch."""
    ints = np.arange(-20_000, 20_000, dtype=np.int64)
    doubles = ints.astype(np.float64)
    assert np.array_equal(registers_of(doubles, 12), reference_registers(doubles, 12))


def test_negative_zero_counts_as_zero() -> None:
    a = registers_of(np.full(2_000, -0.0), 12)
    assert np.array_equal(a, registers_of(np.full(2_000, 0.0), 12))
    assert np.count_nonzero(a) == 1


@pytest.mark.parametrize(
    "h2",
    [
        0,
        1,
        2,
        3,
        4,
        2047,
        2048,
        2**32 - 1,
        2**32,
        2**33 + 1,
        2**53 + 1,
        2**63 - 1,
        2**63,
        2**64 - 1,
    ],
)
def test_register_value_is_leading_zeros_plus_one_capped(h2: int) -> None:
    minima = np.array([h2 >> 1, 2**64 - 1], dtype=np.uint64)  # the second slot is empty
    values = _registers(minima)
    assert int(values[0]) == min(64 - h2.bit_length(), 62) + 1
    assert int(values[1]) == 0


def test_estimate_within_bounds_and_union_of_parts() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 10**12, 300_000).astype(np.float64)
    truth = len(np.unique(values))
    whole = HllAccumulator(12)
    whole.update_doubles(values)
    sketch = whole.result()
    assert sketch.get_lower_bound(3) <= truth <= sketch.get_upper_bound(3)

    left, right = HllAccumulator(12), HllAccumulator(12)
    left.update_doubles(values[:100_000])
    right.update_doubles(values[50_000:])  # overlapping parts
    union = hll_union([left.result(), right.result()], 12)
    assert union.get_lower_bound(3) <= truth <= union.get_upper_bound(3)


def test_small_updates_stay_exact() -> None:
    """Few values go through the sketch one by one and keep its exact coupon mode."""
    acc = HllAccumulator(12)
    for _ in range(5):
        acc.update_doubles(np.array([1.0, 2.0, 3.0, 2.0]))
    acc.update_strings(["a", "b", "a"])
    sketch = acc.result()
    assert sketch.get_lower_bound(1) == 5
    assert sketch.get_estimate() == pytest.approx(5, abs=1e-6)


def test_result_is_a_copy() -> None:
    acc = HllAccumulator(12)
    acc.update_doubles(np.array([1.0]))
    first = acc.result()
    acc.update_doubles(np.array([2.0, 3.0]))
    assert first.get_estimate() == pytest.approx(1, abs=1e-6)
    assert acc.result().get_estimate() == pytest.approx(3, abs=1e-6)
