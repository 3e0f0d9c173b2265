"""The public surface of postpilot.profiles: exports, docstring examples, no side effects."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import subprocess
import sys
import types

import pytest

import postpilot.profiles as profiles

MODULES = [profiles] + [
    importlib.import_module(f"postpilot.profiles.{info.name}")
    for info in pkgutil.iter_modules(profiles.__path__)
]


def test_all_lists_every_public_name_and_only_those() -> None:
    public = {
        name
        for name, value in vars(profiles).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(profiles.__all__) == public
    for name in profiles.__all__:
        assert getattr(profiles, name) is not None


def test_accessors_a_drift_module_needs() -> None:
    numeric = profiles.NumericColumn
    for name in ("quantile", "quantiles", "cdf", "rank", "pmf", "distinct_count"):
        assert callable(getattr(numeric, name)), name
    for name in ("mean", "std", "variance", "min", "max", "null_rate", "rank_error", "count"):
        assert hasattr(numeric, name), name
    categorical = profiles.CategoricalColumn
    for name in ("value_counts", "distinct_count", "null_rate", "exact_counts"):
        assert hasattr(categorical, name), name
    for name in ("columns", "rows", "column", "merge", "to_bytes", "from_bytes"):
        assert hasattr(profiles.Profile, name), name
    assert list(inspect.signature(profiles.profile).parameters)[:3] == [
        "data",
        "columns",
        "batch_size",
    ]


@pytest.mark.parametrize(
    "module", [m for m in MODULES if ">>>" in inspect.getsource(m)], ids=lambda m: m.__name__
)
def test_docstring_examples_run(module: types.ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_every_module_has_a_docstring() -> None:
    for module in MODULES:
        assert (module.__doc__ or "").strip(), module.__name__


def test_import_has_no_side_effects() -> None:
    code = (
        "import threading, logging\n"
        "import postpilot.profiles\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not logging.getLogger().handlers\n"
        "import sys; assert 'pandas' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_missing_column_lookup_is_not_found() -> None:
    import polars as pl

    from postpilot.errors import NotFoundError

    p = profiles.profile(pl.DataFrame({"a": [1]}))
    with pytest.raises(NotFoundError) as info:
        p.column("b")
    assert info.value.field == "b"
    assert "a" in (info.value.hint or "")
    assert "a" in p
    assert "b" not in p
    assert len(p) == 1
    assert [c.name for c in p] == ["a"]
