"""Real tables that ship inside packages: the data postpilot is judged on.

Synthetic data shows what was planted; these show what users will see. Every loader
returns a polars DataFrame read from a file installed with a package (scikit-learn's
bundled datasets, NannyML's, palmerpenguins'), never from the network.

- :func:`sklearn_table` ``breast_cancer`` (569 x 30 numbers), ``wine`` (178 x 13),
  ``iris`` (150 x 4), ``diabetes`` (442 x 10); the target is added as ``target``
  when ``with_target``.
- :func:`penguins_raw` (344 rows, 17 columns as collected: free-text ``Comments``,
  nulls in the measurements, units in the names) and :func:`penguins` (the cleaned
  table, snake_case names: a real raw-to-clean renaming).
- :func:`nannyml_table` any of NannyML's bundled datasets, reference and analysis.
- :func:`random_halves` splits a table in two at random: the same population on both
  sides, so nothing may alarm.
"""

from __future__ import annotations

import functools
import importlib.resources
import warnings
from collections.abc import Iterator

import numpy as np
import polars as pl

__all__ = [
    "CAR_LOAN_INPUTS",
    "REAL_TABLES",
    "nannyml_table",
    "penguins",
    "penguins_raw",
    "random_halves",
    "real_table",
    "sklearn_table",
    "statsmodels_table",
]

REAL_TABLES = ("breast_cancer", "wine", "diabetes", "penguins_raw", "digits")
"""Tables for random-halves checks: numbers, categories, free text and nulls between them,
and sparse columns (digits' 8x8 images: border pixels nearly always 0)."""
CAR_LOAN_INPUTS = [
    "car_value",
    "salary_range",
    "debt_to_income_ratio",
    "loan_length",
    "repaid_loan_on_prev_car",
    "size_of_downpayment",
    "driver_tenure",
]
"""The model inputs of NannyML's synthetic car-loan dataset (its drift shows in chunks 5-9
of 5,000 rows)."""


@functools.cache
def sklearn_table(name: str, *, with_target: bool = False) -> pl.DataFrame:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    frame = pl.DataFrame(np.asarray(bunch.data), schema=list(bunch.feature_names), orient="row")
    if with_target:
        frame = frame.with_columns(pl.Series("target", np.asarray(bunch.target)))
    return frame


def statsmodels_table(name: str) -> pl.DataFrame:
    """``statsmodels.datasets.<name>``'s table, e.g. ``grunfeld`` (11 US firms' investment,
    1935-1954, sorted by firm)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from statsmodels import datasets

    return pl.from_pandas(getattr(datasets, name).load_pandas().data.reset_index(drop=True))


def _penguins_csv(name: str) -> pl.DataFrame:
    path = importlib.resources.files("palmerpenguins") / "data" / name
    return pl.read_csv(path.read_bytes(), null_values=["NA", ""], infer_schema_length=None)


@functools.cache
def penguins_raw() -> pl.DataFrame:
    """The Palmer penguins as collected (Gorman, Williams and Fraser 2014)."""
    return _penguins_csv("penguins-raw.csv")


@functools.cache
def penguins() -> pl.DataFrame:
    """The cleaned Palmer penguins: species, island, bill/flipper/mass, sex, year."""
    return _penguins_csv("penguins.csv")


@functools.cache
def nannyml_table(name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(reference, analysis)`` of ``nannyml.datasets.load_<name>``, e.g.
    ``synthetic_car_loan_dataset`` or ``us_census_ma_employment_data``."""
    with warnings.catch_warnings():  # importing nannyml warns (pyspark, pandas 3)
        warnings.simplefilter("ignore")
        import nannyml

    loaded = getattr(nannyml.datasets, f"load_{name}")()
    return pl.from_pandas(loaded[0]), pl.from_pandas(loaded[1])


def real_table(name: str) -> pl.DataFrame:
    """One of :data:`REAL_TABLES` by name."""
    if name == "penguins_raw":
        return penguins_raw()
    return sklearn_table(name)


def random_halves(
    frame: pl.DataFrame, splits: int = 20, *, seed: int = 0
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """``splits`` random partitions of ``frame`` into two halves (seeded, reproducible)."""
    rng = np.random.default_rng(seed)
    for _ in range(splits):
        order = rng.permutation(frame.height)
        half = frame.height // 2
        yield frame[np.sort(order[:half])], frame[np.sort(order[half:])]
