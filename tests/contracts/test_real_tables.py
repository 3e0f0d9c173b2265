"""Contracts judged on real tables that ship inside packages (tests/realdata.py).

Random halves of one table are the same population: a contract inferred on one half
must not raise an error on the other. Two classes of one dataset differ, but not by a
unit: no ``unit_change``. A real column rescaled by each known conversion is
recognised with its factor; two swapped columns are a swap; a dropped column is
missing, not renamed; the real raw-to-clean renaming of the Palmer penguins is found.
"""

from __future__ import annotations

import collections
import itertools

import polars as pl
import pytest

from postpilot.contracts import CheckResult, check_contract, infer_contract
from postpilot.profiles import profile
from tests.realdata import (
    REAL_TABLES,
    penguins,
    penguins_raw,
    random_halves,
    real_table,
    sklearn_table,
)

SPLITS = 20


def errors(result: CheckResult) -> list[tuple[str, str | None]]:
    return [(f.kind.value, f.column) for f in result.errors]


@pytest.mark.parametrize("table", REAL_TABLES)
def test_random_halves_raise_no_error(table: str) -> None:
    frame = real_table(table)
    alarms = collections.Counter[tuple[str, str | None]]()
    failed = 0
    for train, batch in random_halves(frame, SPLITS, seed=7):
        found = errors(check_contract(infer_contract(train, name=table), batch))
        alarms.update(found)
        failed += bool(found)
    assert failed <= 0.05 * SPLITS, alarms.most_common(5)


def test_the_comments_column_is_not_a_closed_category_set() -> None:
    train, _ = next(random_halves(penguins_raw(), 1))
    contract = infer_contract(train, name="penguins")
    assert contract.columns["Comments"].categories is None
    assert contract.columns["Species"].categories is not None
    # 2 nulls in 344 rows: a half without any must still allow some
    body = contract.columns["Body Mass (g)"]
    assert body.nullable
    assert body.max_null_rate is not None
    assert body.max_null_rate > 0


def test_a_nearly_constant_column_constant_in_a_batch_is_a_warning() -> None:
    # digits' pixel_7_0 is 0 in 1,796 of 1,797 images: a half that holds the one 1
    # gives a contract with two values, and the other half (all 0) is sampling, not a
    # broken feature
    digits = sklearn_table("digits")
    holder = digits.filter(pl.col("pixel_7_0") != 0)
    zeros = digits.filter(pl.col("pixel_7_0") == 0)
    contract = infer_contract(pl.concat([holder, zeros.head(897)]), name="digits")
    result = check_contract(contract, zeros.tail(899))
    found = [(f.kind.value, f.severity.value) for f in result.findings if f.column == "pixel_7_0"]
    assert found == [("constant_column", "warning")]
    # a column that was 0 in half its rows and is now 0 in every row is broken
    half = pl.DataFrame({"x": [0.0, 1.0] * 450})
    broken = check_contract(infer_contract(half, name="x"), pl.DataFrame({"x": [0.0] * 900}))
    assert [(f.kind.value, f.severity.value) for f in broken.findings] == [
        ("constant_column", "error")
    ]


def _classes(frame: pl.DataFrame, column: str) -> dict[object, pl.DataFrame]:
    return {key: group.drop(column) for (key,), group in frame.group_by(column)}


@pytest.mark.parametrize(
    ("name", "groups"),
    [
        ("iris", lambda: _classes(sklearn_table("iris", with_target=True), "target")),
        ("wine", lambda: _classes(sklearn_table("wine", with_target=True), "target")),
        ("penguins", lambda: _classes(penguins().drop("island", "sex", "year"), "species")),
    ],
)
def test_class_against_class_is_no_unit_change(name: str, groups: object) -> None:
    classes = groups()  # type: ignore[operator]
    failed = 0
    for a, b in itertools.permutations(sorted(classes), 2):
        result = check_contract(infer_contract(classes[a], name=name), classes[b])
        kinds = {f.kind.value for f in result.findings}
        assert "unit_change" not in kinds, (a, b, [f.message for f in result.findings])
        assert "swapped_columns" not in kinds, (a, b)
        # the difference is still reported, as what it is: values out of range
        assert "out_of_range" in kinds, (a, b)
        failed += not result.ok
    # an error for most pairs; a few overlapping pairs of 50 to 150 rows stay warnings
    assert failed >= 4


CONVERSIONS = [
    # (column, factor, offset, expected factor)
    ("body_mass_g", 1 / 453.59237, 0.0, 1 / 453.59237),  # g -> lb
    ("body_mass_g", 1 / 28.349523125, 0.0, 1 / 28.349523125),  # g -> oz
    ("body_mass_g", 1 / 1000, 0.0, 0.001),  # g -> kg
    ("bill_length_mm", 1 / 25.4, 0.0, 1 / 25.4),  # mm -> in
    ("bill_length_mm", 1 / 10, 0.0, 0.1),  # mm -> cm
    ("bill_length_mm", 1 / 304.8, 0.0, 1 / 304.8),  # mm -> ft
    ("flipper_length_mm", 100.0, 0.0, 100.0),  # x100: cents, percent
    ("flipper_length_mm", 1 / 60, 0.0, 1 / 60),  # treated as seconds -> minutes
    ("flipper_length_mm", 3600.0, 0.0, 3600.0),  # treated as hours -> seconds
    ("body_mass_g", 1 / 24, 0.0, 1 / 24),  # treated as hours -> days
    ("bill_depth_mm", 1.8, 32.0, 1.8),  # treated as degrees C -> F
    ("bill_depth_mm", 1000.0, 0.0, 1000.0),  # a metric prefix
]


@pytest.mark.parametrize(("column", "factor", "offset", "expected"), CONVERSIONS)
def test_each_conversion_of_a_real_column_is_recognised(
    column: str, factor: float, offset: float, expected: float
) -> None:
    # the table itself, converted: the shape is exactly the same, only the unit moved
    # (on a fresh half of 172 rows the quartiles themselves move by up to 3%, more than
    # the 2% tolerance: such a batch gets out_of_range, an error too)
    frame = penguins()
    contract = infer_contract(frame, name="penguins")
    converted = frame.with_columns(pl.col(column) * factor + offset)
    result = check_contract(contract, converted)
    assert [(f.kind.value, f.column) for f in result.errors] == [("unit_change", column)]
    assert result.errors[0].details["factor"] == pytest.approx(expected, rel=1e-9)
    assert result.errors[0].details["offset"] == pytest.approx(offset)


def test_the_wine_proline_difference_between_classes_is_out_of_range() -> None:
    classes = _classes(sklearn_table("wine", with_target=True), "target")
    result = check_contract(infer_contract(classes[0], name="wine"), classes[1])
    proline = [f.kind.value for f in result.findings if f.column == "proline"]
    assert proline == ["out_of_range"]


def test_swapped_columns_are_a_swap() -> None:
    train, batch = next(random_halves(penguins(), 1, seed=5))
    contract = infer_contract(train, name="penguins")
    swapped = batch.rename({"bill_length_mm": "bill_depth_mm", "bill_depth_mm": "bill_length_mm"})
    result = check_contract(contract, swapped)
    assert [(f.kind.value, f.column) for f in result.findings] == [
        ("swapped_columns", "bill_length_mm")
    ]
    assert result.findings[0].details["columns"] == ["bill_length_mm", "bill_depth_mm"]


@pytest.mark.parametrize("dropped", ["bill_depth_mm", "flipper_length_mm", "body_mass_g"])
def test_a_dropped_column_is_missing_not_renamed(dropped: str) -> None:
    train, batch = next(random_halves(penguins(), 1, seed=11))
    contract = infer_contract(train, name="penguins")
    # a new, unrelated real column (a wine measurement) arrives as the old one leaves
    extra = sklearn_table("wine")["magnesium"].head(batch.height)
    extra = pl.concat([extra, extra]).head(batch.height)
    changed = batch.drop(dropped).with_columns(extra.alias("magnesium"))
    found = sorted((f.kind.value, f.column) for f in check_contract(contract, changed).findings)
    assert ("missing_column", dropped) in found
    assert ("unexpected_column", "magnesium") in found
    assert all(kind != "likely_rename" for kind, _ in found), found


def test_an_integer_column_renamed_is_matched_by_its_distribution() -> None:
    train, batch = next(random_halves(penguins(), 1, seed=13))
    contract = infer_contract(train, name="penguins")
    result = check_contract(contract, batch.rename({"flipper_length_mm": "fl"}))
    assert [(f.kind.value, f.column, f.details["from"]) for f in result.findings] == [
        ("likely_rename", "fl", "flipper_length_mm")
    ]


def test_the_raw_to_clean_renaming_of_the_penguins_is_found() -> None:
    raw = penguins_raw()
    contract = infer_contract(raw, name="penguins_raw")
    result = check_contract(contract, profile(penguins()))
    renames = {
        f.details["from"]: f.details["to"]
        for f in result.findings
        if f.kind.value == "likely_rename"
    }
    assert {
        "Culmen Length (mm)": "bill_length_mm",
        "Culmen Depth (mm)": "bill_depth_mm",
        "Flipper Length (mm)": "flipper_length_mm",
        "Body Mass (g)": "body_mass_g",
    }.items() <= renames.items(), renames
