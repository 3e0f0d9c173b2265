"""The public surface of postpilot.monitoring.drift: exports, docstrings, errors."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import math
import pkgutil
import types

import numpy as np
import polars as pl
import pytest

import postpilot.monitoring.drift as drift
from postpilot.errors import InputError
from postpilot.monitoring.drift import DriftResult, get_test
from postpilot.profiles import NullColumn, profile
from tests.monitoring.drift.helpers import profiles

MODULES = [drift] + [
    importlib.import_module(f"postpilot.monitoring.drift.{info.name}")
    for info in pkgutil.iter_modules(drift.__path__)
]


def test_all_lists_every_public_name_and_only_those() -> None:
    public = {
        name
        for name, value in vars(drift).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(drift.__all__) == public


@pytest.mark.parametrize(
    "module", [m for m in MODULES if ">>>" in inspect.getsource(m)], ids=lambda m: m.__name__
)
def test_docstring_examples_run(module: types.ModuleType) -> None:
    assert module.__doc__, f"{module.__name__} has no docstring"
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_every_module_has_a_docstring() -> None:
    for module in MODULES:
        assert (module.__doc__ or "").strip(), module.__name__


def test_every_test_module_documents_an_example() -> None:
    for key, cls in drift.DRIFT_TESTS.items():
        module = importlib.import_module(cls.__module__)
        assert ">>>" in (module.__doc__ or ""), key


def test_results_are_frozen_and_carry_their_provenance() -> None:
    result = get_test("psi")(threshold=0.2).from_samples([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert isinstance(result, DriftResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.drifted = True  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(DriftResult)] == [
        "column",
        "test",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
        "method",
        "error_bound",
    ]
    assert (result.threshold, result.method, result.error_bound) == (0.2, "exact", 0.0)


def test_with_threshold_copies() -> None:
    psi = get_test("psi")()
    stricter = psi.with_threshold(0.01)
    assert (psi.threshold, stricter.threshold) == (0.1, 0.01)
    assert stricter.with_threshold(None).threshold == 0.1
    assert repr(stricter) == "PopulationStabilityIndex(threshold=0.01)"


def test_bins_must_be_a_sensible_integer() -> None:
    for bins in (1, 0, 2.5, True, 10_000):
        with pytest.raises(InputError) as info:
            drift.PopulationStabilityIndex(bins=bins)  # type: ignore[arg-type]
        assert info.value.field == "bins"


def test_a_kind_mismatch_names_the_column() -> None:
    with pytest.raises(InputError, match="numeric in the reference and categorical") as info:
        get_test("psi")().from_samples(pl.Series("amount", [1.0, 2.0]), ["a", "b"])
    assert info.value.field == "amount"
    number, text = profile(pl.DataFrame({"a": [1.0]})), profile(pl.DataFrame({"a": ["x"]}))
    with pytest.raises(InputError, match="numeric in the reference"):
        get_test("psi")().from_profiles(number.column("a"), text.column("a"))


@pytest.mark.parametrize(
    "sample",
    [[], [None, None], [float("nan")], pl.Series("x", [None, None], dtype=pl.Float64)],
)
def test_a_sample_without_values_is_refused(sample: object) -> None:
    with pytest.raises(InputError, match="the current sample of column 'amount' has no values"):
        get_test("ks")().from_samples([1.0], sample, column="amount")  # type: ignore[arg-type]


def test_a_profile_without_values_is_refused() -> None:
    empty = profile(pl.DataFrame({"amount": pl.Series([None, float("nan")], dtype=pl.Float64)}))
    full = profile(pl.DataFrame({"amount": [1.0, 2.0]}))
    for reference, current in [
        (full.column("amount"), empty.column("amount")),
        (NullColumn("amount", 3), full.column("amount")),
    ]:
        with pytest.raises(InputError, match="profile of column 'amount' has no values"):
            get_test("ks")().from_profiles(reference, current)


@pytest.mark.parametrize("sample", [3.0, "abc", {"a": 1}, [[1, 2], [3]]])
def test_unreadable_samples_are_refused(sample: object) -> None:
    with pytest.raises(InputError, match="reference sample of column 'x'"):
        get_test("ks")().from_samples(sample, [1.0], column="x")  # type: ignore[arg-type]


def test_wasserstein_refuses_infinite_values_naming_the_column() -> None:
    values = np.array([1.0, 2.0, math.inf])
    with pytest.raises(InputError, match="infinite values") as info:
        get_test("wasserstein")().from_samples(values, [1.0, 2.0], column="amount")
    assert info.value.field == "amount"
    big = np.append(np.random.default_rng(0).normal(0, 1, 5_000), -math.inf)
    with pytest.raises(InputError, match="infinite values") as info:
        get_test("wasserstein")().from_profiles(*profiles([1.0, 2.0], big))
    assert info.value.field == "x"
    assert get_test("ks")().from_samples(values, [1.0, 2.0]).statistic == pytest.approx(1 / 3)


def test_a_constant_reference_gives_zero_or_infinity() -> None:
    wasserstein = get_test("wasserstein")()
    assert wasserstein.from_samples([3.0, 3.0], [3.0]).statistic == 0.0
    moved = wasserstein.from_samples([3.0, 3.0], [3.0, 4.0])
    assert moved.statistic == math.inf
    assert moved.drifted
