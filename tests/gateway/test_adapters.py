"""Input adapters: every file mistake at its line, each step, their order, per-record
failures, a safe expression language, and suggestions that make a migrated batch pass."""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import polars as pl
import pytest
import yaml
from hypothesis import given, settings

from postpilot.contracts import check_contract, compile_validator, infer_contract
from postpilot.contracts.findings import CheckResult, Finding, Kind, Severity
from postpilot.errors import AdapterError, InputError
from postpilot.gateway._expr import FUNCTIONS, MAX_LENGTH
from postpilot.gateway.adapters import (
    UNIT_NAMES,
    Adapter,
    RecordAdaptError,
    UnitSpec,
    adapter_schema,
    compile_adapter,
    dumps_adapter,
    load_adapter,
    loads_adapter,
    suggest_adapter,
    unit_conversion,
)
from tests.realdata import penguins

HEAD = "schema_version: 1\nproduct: churn\n"


def problems(text: str) -> list[str]:
    with pytest.raises(AdapterError) as info:
        loads_adapter(text, source="a.yaml")
    error = info.value
    assert isinstance(error, InputError)
    assert error.file is not None
    assert error.file.startswith("a.yaml")
    assert str(error).startswith(error.problems[0])
    return error.problems


def adapt(body: str, record: dict[str, Any]) -> dict[str, Any]:
    return compile_adapter(loads_adapter(HEAD + body))(record)


def failure(body: str, record: dict[str, Any]) -> RecordAdaptError:
    with pytest.raises(RecordAdaptError) as info:
        adapt(body, record)
    assert isinstance(info.value, AdapterError)
    return info.value


# --- loading -----------------------------------------------------------------------------


def test_unknown_key_lists_the_allowed_keys() -> None:
    (problem,) = problems(HEAD + "rename: {a: b}\nrenames: {c: d}\n")
    assert problem.startswith("a.yaml:4: renames: unknown key; allowed: schema_version, product")
    assert "rename, drop, coerce, units, defaults, derive" in problem


def test_unknown_unit_lists_the_known_ones() -> None:
    (problem,) = problems(HEAD + "units:\n  amount: {from: cants, to: dollars}\n")
    assert problem.startswith("a.yaml:4: units.amount.from: unknown unit 'cants'; known: ")
    for name in ("cents", "dollars", "inches", "millimetres", "celsius", "fahrenheit"):
        assert name in problem


def test_unit_spec_mistakes() -> None:
    found = problems(
        HEAD
        + "units:\n"
        + "  a: {from: cents, to: inches}\n"
        + "  b: {from: cents, multiply: 2}\n"
        + "  c: {to: dollars}\n"
        + "  d: {multiply: 0}\n"
        + "  e: {}\n"
        + "  f: {multiply: .inf}\n"
    )
    assert found[0] == "a.yaml:4: units.a: no known conversion from 'cents' to 'inches'"
    assert found[1].startswith("a.yaml:5: units.b: give either from/to or multiply/add")
    assert found[2].startswith("a.yaml:6: units.c: from and to go together")
    assert found[3].startswith("a.yaml:7: units.d: multiply: 0")
    assert found[4].startswith("a.yaml:8: units.e: give from/to")
    assert found[5] == "a.yaml:9: units.f.multiply: must be a finite number"


def test_bad_expressions_are_refused_at_load_with_their_line() -> None:
    found = problems(
        HEAD
        + "derive:\n"
        + "  ok: a + 1\n"
        + "  attr: x.__class__\n"
        + "  call: __import__('os')\n"
        + "  power: 10 ** 10 ** 10\n"
        + "  syntax: (a +\n"
    )
    assert found[0].startswith("a.yaml:5: derive.attr: not allowed: attribute access")
    assert found[1] == (
        "a.yaml:6: derive.call: unknown function '__import__'; allowed: " + ", ".join(FUNCTIONS)
    )
    assert found[2].startswith("a.yaml:7: derive.power: `10 ** 10 ** 10` cannot be computed")
    assert found[3].startswith("a.yaml:8: derive.syntax: not a valid expression")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x[0]", "not allowed: subscripts"),
        ("lambda: 1", "not allowed: lambdas"),
        ("[a for a in b]", "not allowed: comprehensions"),
        ("(y := 1)", "not allowed: assignments"),
        ("a in b", "not allowed: the comparison `in`"),
        ("a | b", "not allowed: the operator BitOr"),
        ("f'{a}'", "not allowed: f-strings"),
        ("1j", "not allowed: a complex constant"),
        ("1and x", "invalid decimal literal"),  # a SyntaxWarning, refused rather than printed
        ("a.lower()", "method calls; write lower(x), not x.lower()"),
        ("a.__class__()", "not allowed: calling anything but a named function"),
        ("max", "max is a function"),
        ("max(a)", "max() takes 2 to 20 argument(s), got 1"),
        ("round(a, ndigits=1)", "round() takes no keyword arguments"),
        ("1 / 0", "cannot be computed: division by zero"),
        ("'ab' * 3", "cannot be computed: * takes numbers"),
        ("'%s' % a", "% takes numbers"),  # caught at run time only when a is a field
        ("-" * 60 + "1", "nests more than"),
        ("a" * (MAX_LENGTH + 1), "characters long"),
    ],
)
def test_expression_language_refuses(text: str, problem: str) -> None:
    data = {"schema_version": 1, "product": "p", "derive": {"x": text}}
    if problem == "% takes numbers":  # a constant would be caught at load; a field at run time
        with pytest.raises(RecordAdaptError, match=problem):
            compile_adapter(loads_adapter(yaml.safe_dump(data)))({"a": 1})
        return
    (found,) = problems(yaml.safe_dump(data))
    assert problem in found


def test_renames_that_cannot_be_meant() -> None:
    found = problems(
        HEAD
        + "rename:\n"
        + "  a: x\n"
        + "  b: x\n"
        + "  c: d\n"
        + "  d: e\n"
        + "  e: c\n"
        + "  h: h\n"
        + "drop: [x, a]\n"
    )
    assert found[0] == (
        "a.yaml:5: rename.b: 'a' is already renamed to 'x'; two fields cannot take one name"
    )
    # a cycle of three is a chain at every step
    assert [p.split(": ")[1] for p in found[1:4]] == ["rename.c", "rename.d", "rename.e"]
    assert "renames apply at once, so a chain is ambiguous" in found[1]
    assert found[4] == "a.yaml:9: rename.h: 'h' is renamed to itself; remove it"
    assert found[5] == (
        "a.yaml:10: drop.0: 'x' is what 'a' is renamed to; to remove the field, delete the "
        "rename and drop 'a'"
    )
    assert found[6].startswith("a.yaml:10: drop.1: 'a' is renamed to 'x' before drop runs")


def test_steps_must_name_fields_as_they_are_at_that_step() -> None:
    found = problems(
        HEAD
        + "rename: {old: new}\n"
        + "drop: [gone]\n"
        + "coerce: {old: int, text: string}\n"
        + "units:\n"
        + "  gone: {multiply: 2}\n"
        + "  text: {multiply: 2}\n"
        + "derive:\n"
        + "  first: second + 1\n"
        + "  second: old\n"
    )
    assert found == [
        "a.yaml:5: coerce.old: 'old' is renamed to 'new' before coerce runs; name it by "
        "its new name",
        "a.yaml:7: units.gone: 'gone' is dropped before units runs; remove it from drop",
        "a.yaml:8: units.text: 'text' is coerced to string; a unit conversion needs a number",
        "a.yaml:10: derive.first: reads 'second', which is derived below it; derive computes "
        "fields in the order written, so move 'second' above 'first'",
        "a.yaml:11: derive.second: reads 'old', which is renamed to 'new'",
    ]


def test_the_file_itself() -> None:
    assert problems("") == [
        "a.yaml:1: an adapter is a mapping with schema_version, product and "
        "its steps (rename, drop, coerce, units, defaults, derive), got an "
        "empty file"
    ]
    assert problems("product: [")[0].startswith("a.yaml:1: not valid YAML")
    assert problems(HEAD + "product: again\n")[0].startswith("a.yaml:3: key 'product' is given")
    found = problems("schema_version: 2\ncoerce: {a: integer}\n")
    assert found[0].startswith("a.yaml:1: schema_version: Input should be 1")
    assert found[1] == "a.yaml:1: product: Field required"
    assert found[2].startswith("a.yaml:2: coerce.a: Input should be 'int', 'float'")


def test_load_adapter_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(HEAD + "rename: {a: b}\n", encoding="utf-8")
    assert load_adapter(path).rename == {"a": "b"}
    with pytest.raises(AdapterError, match="adapter file not found"):
        load_adapter(tmp_path / "missing.yaml")
    path.write_text(HEAD + "drop: 1\n", encoding="utf-8")
    with pytest.raises(AdapterError) as info:
        load_adapter(path)
    assert info.value.problems == [f"{path}:3: drop: should be a list, got 1"]


def test_dumps_loads_back_equal_with_comments() -> None:
    adapter = Adapter(
        product="churn",
        consumer="crm-eu",
        description="after the CRM migration",
        rename={"AccountAmountCents": "amount_usd", "yes": "a: b", "x": "y", "y": "x"},
        drop=["debug_flag", "null"],
        coerce={"tenure": "int", "when": "datetime"},
        units={
            "amount_usd": UnitSpec.model_validate({"from": "cents", "to": "dollars"}),
            "temp": UnitSpec(multiply=0.5555555556, add=-17.7777777778, round=2),
        },
        defaults={"region": "unknown", "n": 0, "flag": True, "true": 1.5},
        derive={"ratio": "clicks / max(visits, 1)", "s": "lower(region) + ': x'", "k": "2"},
    )
    text = dumps_adapter(
        adapter, comments={"rename": "from the check", "units.amount_usd": "x100\nconfident"}
    )
    assert loads_adapter(text) == adapter
    lines = text.splitlines()
    assert lines[lines.index("rename:") - 1] == "# from the check"
    at = next(i for i, line in enumerate(lines) if line.startswith("  amount_usd: {from"))
    assert lines[at - 2 : at] == ["  # x100", "  # confident"]
    assert [line for line in lines if line.endswith(":") and not line.startswith(" ")] == [
        "rename:",
        "coerce:",
        "units:",
        "defaults:",
        "derive:",
    ]
    minimal = Adapter(product="p")
    assert loads_adapter(dumps_adapter(minimal)) == minimal


def test_schema_for_editors() -> None:
    schema = adapter_schema()
    assert schema["$id"] == "urn:postpilot:schema:adapter:1"
    assert set(schema["properties"]) >= {"product", "consumer", "rename", "derive"}
    assert "from" in schema["$defs"]["UnitSpec"]["properties"]


def test_unit_names_come_from_the_contract_checks_conversions() -> None:
    for name in ("cents", "dollars", "millimetres", "inches", "celsius", "fahrenheit", "hours"):
        assert name in UNIT_NAMES
    assert unit_conversion("cents", "dollars") == (0.01, 0.0)
    assert unit_conversion("inch", "mm") == (25.4, 0.0)
    assert unit_conversion("F", "degrees Celsius") == pytest.approx((5 / 9, -160 / 9))
    assert unit_conversion("hours", "milliseconds") == (3_600_000, 0.0)  # through seconds
    with pytest.raises(ValueError, match="same unit"):
        unit_conversion("cent", "cents")


# --- each step -----------------------------------------------------------------------------


def test_rename_applies_at_once_and_replaces_an_incoming_field() -> None:
    record = {"a": 1, "b": 2, "old": 3, "new": 4, "other": 5}
    out = adapt("rename: {a: b, b: a, old: new}\n", record)
    assert out == {"b": 1, "a": 2, "new": 3, "other": 5}
    assert record == {"a": 1, "b": 2, "old": 3, "new": 4, "other": 5}  # never changed
    assert adapt("rename: {old: new}\n", {"new": 4}) == {"new": 4}  # nothing to rename


def test_drop() -> None:
    assert adapt("drop: [debug, absent]\n", {"debug": 1, "x": 2}) == {"x": 2}


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("int", " 12 ", 12),
        ("int", "12.0", 12),
        ("int", 12.0, 12),
        ("int", 7, 7),
        ("float", "1.5", 1.5),
        ("float", 2, 2.0),
        ("string", 12, "12"),
        ("string", True, "true"),
        ("string", date(2024, 5, 1), "2024-05-01"),
        ("bool", "Yes", True),
        ("bool", "false", False),
        ("bool", 0, False),
        ("datetime", "2024-05-01T10:00:00Z", datetime.fromisoformat("2024-05-01T10:00:00+00:00")),
        ("datetime", date(2024, 5, 1), datetime(2024, 5, 1)),
        ("date", "2024-05-01", date(2024, 5, 1)),
        ("date", "2024-05-01T23:59:00", date(2024, 5, 1)),
        ("date", datetime(2024, 5, 1, 8), date(2024, 5, 1)),
        ("int", None, None),
    ],
)
def test_coerce(kind: str, value: Any, expected: Any) -> None:
    out = adapt(f"coerce: {{x: {kind}}}\n", {"x": value})
    assert out == {"x": expected}
    assert type(out["x"]) is type(expected)
    assert adapt(f"coerce: {{x: {kind}}}\n", {}) == {}  # missing stays missing


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("int", "twelve", "a str ('twelve')"),
        ("int", 12.5, "a float (12.5)"),
        ("int", True, "a bool (True)"),
        ("float", "nan", "a str ('nan')"),
        ("float", [1], "a list ([1])"),
        ("bool", "maybe", "a str ('maybe')"),
        ("bool", 2, "an int (2)"),
        ("datetime", "yesterday", "a str ('yesterday')"),
        ("date", 20240501, "an int (20240501)"),
        ("string", {"a": 1}, "a dict ({'a': 1})"),
        ("int", "9" * 5000, "a str"),
    ],
)
def test_coerce_failures_are_per_record(kind: str, value: Any, shown: str) -> None:
    adapter = compile_adapter(loads_adapter(HEAD + f"coerce: {{x: {kind}}}\n"))
    assert adapter({"x": None}) == {"x": None}  # the adapter goes on working
    with pytest.raises(RecordAdaptError) as info:
        adapter({"x": value})
    error = info.value
    assert (error.field, error.kind) == ("x", "coerce")
    assert str(error).startswith(f"coerce 'x': cannot convert {shown} to {kind}")
    assert len(str(error)) < 300  # a long value is described, not repeated


def test_units() -> None:
    body = (
        "units:\n"
        "  usd: {from: cents, to: dollars}\n"
        "  length: {from: inches, to: mm, round: 0}\n"
        "  temp: {from: fahrenheit, to: celsius, round: 1}\n"
        "  scaled: {multiply: 3, add: 1}\n"
    )
    out = adapt(body, {"usd": 1234, "length": 7.125984251968504, "temp": 98.6, "scaled": 2})
    assert out == {"usd": 12.34, "length": 181, "temp": 37.0, "scaled": 7}
    assert type(out["length"]) is int
    assert type(out["scaled"]) is int  # an int times a whole factor stays an int
    whole = adapt(body, {"usd": 123400, "length": None})
    assert whole == {"usd": 1234, "length": None}
    assert type(whole["usd"]) is int  # whole cents become whole dollars, exactly
    assert (
        adapt(body, {"usd": 35})["usd"] == 0.35
    )  # 35 / 100, where 35 * 0.01 is 0.35000000000000003


def test_unit_failures_name_the_field_and_the_type() -> None:
    error = failure("units: {usd: {from: cents, to: dollars}}\n", {"usd": "1234"})
    assert (error.field, error.kind) == ("usd", "unit")
    assert str(error) == "units 'usd': cannot convert a str ('1234') (it needs a number)"
    error = failure("units: {usd: {multiply: 2, round: 0}}\n", {"usd": float("inf")})
    assert error.kind == "unit"


def test_defaults_fill_missing_and_null_fields() -> None:
    out = adapt("defaults: {region: unknown, n: 0}\n", {"region": None, "n": 5})
    assert out == {"region": "unknown", "n": 5}
    assert adapt("defaults: {region: unknown}\n", {}) == {"region": "unknown"}


def test_derive_in_order_with_nulls_and_functions() -> None:
    body = (
        "derive:\n"
        "  ratio: clicks / max(visits, 1)\n"
        "  pct: round(ratio * 100, 1)\n"
        "  label: \"upper(strip(name)) if ratio > 0.5 else 'low'\"\n"
        "  safe: coalesce(missing_ok, 0) + 1\n"
        "  power: 2 ** 10 // 3 % 5 - -1\n"
        "  logic: not (clicks < 1 or visits == 0) and True\n"
        "  maths: sqrt(16) + abs(-1) + exp(0) + log(100, 10) + float('1.5') + int(' 2 ')\n"
        "  text: str(clicks) + str(flag)\n"
    )
    record = {"clicks": 3, "visits": 4, "name": " ann ", "missing_ok": None, "flag": True}
    out = adapt(body, record)
    assert out["ratio"] == 0.75
    assert out["pct"] == 75.0
    assert out["label"] == "ANN"
    assert out["safe"] == 1
    assert out["power"] == 1024 // 3 % 5 + 1
    assert out["logic"] is True
    assert out["maths"] == 4 + 1 + 1 + 2 + 1.5 + 2
    assert out["text"] == "3true"
    nulls = adapt(body, {**record, "clicks": None})
    assert nulls["ratio"] is None
    assert nulls["pct"] is None
    assert nulls["label"] == "low"  # a null comparison is null, and null is false


def test_derive_failures_name_the_field() -> None:
    error = failure("derive: {ratio: clicks / visits}\n", {"clicks": 1})
    assert (error.field, error.kind) == ("visits", "derive")
    assert str(error) == "derive 'ratio' = clicks / visits: field 'visits' is not in the record"
    error = failure("derive: {ratio: clicks / visits}\n", {"clicks": 1, "visits": 0})
    assert (error.field, error.kind) == ("ratio", "derive")
    assert "division by zero" in str(error)
    error = failure("derive: {r: name * times}\n", {"name": "ab", "times": 10**6})
    assert "* takes numbers, got a str ('ab') and an int (1000000)" in str(error)
    error = failure("derive: {r: base ** exponent}\n", {"base": 10, "exponent": 10**9})
    assert "larger than 4096 bits" in str(error)
    error = failure("derive: {r: lower(x)}\n", {"x": 5})
    assert "lower() takes a string, got an int (5)" in str(error)
    error = failure("derive: {r: x < 'a'}\n", {"x": 5})
    assert error.kind == "derive"


def test_not_a_mapping() -> None:
    with pytest.raises(RecordAdaptError) as info:
        compile_adapter(Adapter(product="p"))([1, 2])  # type: ignore[arg-type]
    assert info.value.kind == "record"


# --- order of the steps ------------------------------------------------------------------


def test_the_steps_run_in_order() -> None:
    body = (
        "rename: {AmountCents: amount, tenure: tenure_months}\n"  # later steps use new names
        "drop: [debug]\n"
        "coerce: {amount: float, tenure_months: int}\n"  # before units: "1250" is a number
        "units: {amount: {from: cents, to: dollars}}\n"
        "defaults: {amount: -1}\n"  # after units: a default is not converted
        "derive: {amount_k: amount / 1000}\n"  # sees the converted amount and the default
    )
    out = adapt(body, {"AmountCents": "125000", "tenure": "12", "debug": "x"})
    assert out == {"amount": 1250.0, "tenure_months": 12, "amount_k": 1.25}
    out = adapt(body, {"tenure": "3"})
    assert out == {"tenure_months": 3, "amount": -1, "amount_k": -0.001}


# --- the expression language is safe for any text ---------------------------------------

_TOKENS = [
    "a", "b", "x", "1", "0", "2.5", "'s'", "(", ")", "+", "-", "*", "/", "//", "%", "**",
    "<", "==", " and ", " or ", "not ", " if ", " else ", ",", ".", "[", "]", "abs", "max",
    "round", "lower", "coalesce", "int", "str", "lambda", ":", "__class__", "10", "9",
    "None", "True", " in ", "{", "}",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.text(max_size=60), st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join))
)
def test_any_text_loads_into_a_safe_expression_or_is_refused(text: str) -> None:
    data = {"schema_version": 1, "product": "p", "derive": {"out": text}}
    try:
        adapter = loads_adapter(yaml.safe_dump(data))
    except AdapterError:
        return
    apply = compile_adapter(adapter)
    for record in ({"a": 1, "b": 0, "x": "s"}, {"a": None, "b": 2.5, "x": None}, {}):
        with contextlib.suppress(RecordAdaptError):
            apply(record)


# --- suggestions from a real contract check ----------------------------------------------


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return penguins()


@pytest.fixture(scope="module")
def migrated(table: pl.DataFrame) -> pl.DataFrame:
    """The penguins after a "migration": body mass renamed and sent in milligrams (x1000,
    integers), flipper length renamed and sent in inches (floats)."""
    return table.rename(
        {"body_mass_g": "BodyMassMg", "flipper_length_mm": "flipper_in"}
    ).with_columns(pl.col("BodyMassMg") * 1000, pl.col("flipper_in") / 25.4)


def test_suggest_from_real_findings(table: pl.DataFrame, migrated: pl.DataFrame) -> None:
    contract = infer_contract(table, name="penguins")
    result = check_contract(contract, migrated)
    assert {f.kind for f in result.errors} >= {Kind.LIKELY_RENAME, Kind.UNIT_CHANGE}
    adapter, comments = suggest_adapter(result, product="penguins", consumer="field-team")
    assert (adapter.product, adapter.consumer) == ("penguins", "field-team")
    assert adapter.rename == {"BodyMassMg": "body_mass_g", "flipper_in": "flipper_length_mm"}
    # x1000 names several pairs of units (kilo to base, seconds to milliseconds): by number
    assert adapter.units["body_mass_g"] == UnitSpec(multiply=0.001)
    # x1/25.4 names one: inches back to millimetres, rounded since the contract says int
    assert adapter.units["flipper_length_mm"] == UnitSpec.model_validate(
        {"from": "inches", "to": "millimetres", "round": 0}
    )
    assert "confidence 9" in comments["rename.BodyMassMg"]
    assert "x1000 (a metric prefix" in comments["units.body_mass_g"]
    assert "millimetres to inches" in comments["units.flipper_length_mm"]
    text = dumps_adapter(adapter, comments=comments)
    assert loads_adapter(text) == adapter
    assert "  # likely rename of 'body_mass_g': confidence" in text


def test_suggest_undoes_a_swap(table: pl.DataFrame) -> None:
    contract = infer_contract(table, name="penguins")
    swapped = table.with_columns(
        bill_length_mm=pl.col("bill_depth_mm"), bill_depth_mm=pl.col("bill_length_mm")
    )
    result = check_contract(contract, swapped)
    assert [f.kind for f in result.errors] == [Kind.SWAPPED_COLUMNS]
    adapter, comments = suggest_adapter(result, product="penguins")
    assert adapter.rename == {"bill_length_mm": "bill_depth_mm", "bill_depth_mm": "bill_length_mm"}
    assert "look swapped" in comments["rename.bill_length_mm"]
    fixed = pl.DataFrame([compile_adapter(adapter)(r) for r in swapped.to_dicts()])
    assert check_contract(contract, fixed).ok


def test_suggest_converts_back_by_the_conversion_and_coerces_text() -> None:
    findings = [
        Finding(Kind.LIKELY_RENAME, "Amount", Severity.ERROR, "", {"from": "usd", "to": "Amount",
                "confidence": 0.9}),
        Finding(Kind.UNIT_CHANGE, "Amount", Severity.ERROR, "", {"factor": 100.0, "offset": 0.0}),
        Finding(Kind.UNIT_CHANGE, "temp", Severity.ERROR, "", {"factor": 1.8, "offset": 32.0}),
        Finding(Kind.UNIT_CHANGE, "len", Severity.ERROR, "", {"factor": 25.4, "offset": 0.0}),
        Finding(Kind.UNIT_CHANGE, "odd", Severity.ERROR, "", {"factor": 7.0, "offset": 0.0}),
        Finding(Kind.TYPE_CHANGE, "age", Severity.ERROR, "", {"expected": "int", "got": "string"}),
    ]  # fmt: skip
    adapter, comments = suggest_adapter(CheckResult("c", 100, findings), product="p")
    assert adapter.rename == {"Amount": "usd"}
    units = {name: spec.conversion() for name, spec in adapter.units.items()}
    assert units["usd"] == (0.01, 0.0)  # rename first, then the unit on the contract's name
    assert adapter.units["temp"].to == "celsius"
    assert units["temp"] == pytest.approx((5 / 9, -160 / 9))
    assert adapter.units["len"].model_dump(by_alias=True, exclude_none=True) == {
        "from": "millimetres",  # the batch went inches -> mm (the reverse of mm -> inches)
        "to": "inches",
    }
    assert units["odd"] == pytest.approx((1 / 7, 0.0))
    assert "not a known conversion" in comments["units.odd"]
    assert adapter.coerce == {"age": "int"}


# --- the property: a renamed field passes once the suggested adapter applies -----


def test_a_renamed_field_fails_before_and_passes_after_the_suggested_adapter(
    table: pl.DataFrame, migrated: pl.DataFrame
) -> None:
    """The exactness this relies on: body mass is a whole number of grams, so x1000 and
    the adapter's exact integer division by 1000 give back the very same ints; flipper
    length is whole millimetres, so mm / 25.4 * 25.4 lands within a rounding error of
    the integer and ``round: 0`` (suggested because the contract column is int) gives it
    back exactly. The contract's ranges are also padded beyond the data seen, so no
    record sits on an edge."""
    contract = infer_contract(table, name="penguins")
    validator = compile_validator(contract)
    records = migrated.to_dicts()
    before = [validator.validate(r) for r in records]
    assert all({e.field for e in errors} >= {"BodyMassMg", "flipper_in"} for errors in before)
    assert all(
        any(e.field == "BodyMassMg" and e.kind == "unexpected" for e in errors) for errors in before
    )

    adapter, comments = suggest_adapter(check_contract(contract, migrated), product="penguins")
    apply = compile_adapter(loads_adapter(dumps_adapter(adapter, comments=comments)))
    adapted = [apply(r) for r in records]
    assert [validator.validate(r) for r in adapted] == [[] for _ in records]
    assert adapted == table.to_dicts()  # exactly the original values
    assert check_contract(contract, pl.DataFrame(adapted)).ok
