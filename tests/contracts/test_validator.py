"""Single-record validation: every rule, the messages, and properties over random contracts."""

from __future__ import annotations

import dataclasses
import doctest
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import postpilot.contracts.validator as validator_module
from postpilot.contracts.model import COLUMN_TYPES, ColumnSpec, Contract, Range
from postpilot.contracts.validator import FieldError, RecordValidator, compile_validator
from postpilot.errors import ContractError, InputError


def contract_of(**columns: ColumnSpec) -> Contract:
    return Contract(name="t", columns=columns)


def one(spec: ColumnSpec, value: Any, *, name: str = "x") -> list[FieldError]:
    """The errors for a record holding only ``name: value``."""
    return RecordValidator(contract_of(**{name: spec})).validate({name: value})


def kinds(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.kind) for e in errors]


class Proxy(Mapping[str, Any]):
    """A mapping that is not a dict (takes the general path)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


CRM = contract_of(
    account_id=ColumnSpec(type="string", nullable=False, identifier=True),
    amount_usd=ColumnSpec(type="float", nullable=True, range=Range(min=0, max=132000)),
    seats=ColumnSpec(type="int", nullable=False, range=Range(min=1, max=500)),
    stage=ColumnSpec(type="string", nullable=False, categories=["lost", "open", "won"]),
    active=ColumnSpec(type="bool", nullable=True),
    signed_at=ColumnSpec(type="datetime", nullable=True),
)
GOOD = {
    "account_id": "A-1",
    "amount_usd": 1200.5,
    "seats": 12,
    "stage": "open",
    "active": True,
    "signed_at": "2024-05-01T10:00:00+02:00",
}


# --- valid records and the record container ---------------------------------------------


@pytest.mark.parametrize("wrap", [dict, MappingProxyType, Proxy], ids=["dict", "proxy", "mapping"])
def test_a_valid_record_has_no_errors(wrap: Any) -> None:
    assert RecordValidator(CRM).validate(wrap(GOOD)) == []


@pytest.mark.parametrize("wrap", [dict, MappingProxyType, Proxy], ids=["dict", "proxy", "mapping"])
def test_every_error_is_found_in_contract_order_then_unexpected(wrap: Any) -> None:
    record = {**GOOD, "amount_usd": 250000, "seats": 2.0, "stage": "closed", "extra": 1}
    del record["account_id"]
    errors = RecordValidator(CRM).validate(wrap(record))
    assert kinds(errors) == [
        ("account_id", "missing"),
        ("amount_usd", "range"),
        ("seats", "type"),
        ("stage", "category"),
        ("extra", "unexpected"),
    ]


def test_a_defaultdict_record_is_not_changed() -> None:
    record: defaultdict[str, Any] = defaultdict(lambda: "filled", {"seats": 3})
    errors = RecordValidator(CRM).validate(record)
    assert ("account_id", "missing") in kinds(errors)
    assert dict(record) == {"seats": 3}


@pytest.mark.parametrize("record", [None, [("a", 1)], "a=1", 5])
def test_a_record_that_is_not_a_mapping_is_an_input_error(record: Any) -> None:
    with pytest.raises(InputError, match="must be a mapping"):
        RecordValidator(CRM).validate(record)


def test_validate_many_returns_one_list_per_record_in_order() -> None:
    validator = compile_validator(CRM)
    results = validator.validate_many([GOOD, {**GOOD, "seats": 0}, GOOD])
    assert [kinds(r) for r in results] == [[], [("seats", "range")], []]
    assert validator.validate_many([]) == []
    assert validator.validate_many(iter([GOOD])) == [[]]


def test_each_call_returns_a_new_list() -> None:
    validator = RecordValidator(CRM)
    first = validator.validate(GOOD)
    first.append(FieldError("a", "b", "c", "d", "type"))
    assert validator.validate(GOOD) == []


# --- missing and null -------------------------------------------------------------------


def test_missing_field_is_an_error_only_when_not_nullable() -> None:
    validator = RecordValidator(
        contract_of(a=ColumnSpec(type="int", nullable=False), b=ColumnSpec(type="int"))
    )
    assert validator.validate({"a": 1}) == []
    [error] = validator.validate({"b": 1})
    assert error == FieldError(
        field="a",
        expected="an integer",
        got="missing",
        message="a: missing (expected an integer)",
        kind="missing",
    )


@pytest.mark.parametrize("kind", [k for k in COLUMN_TYPES if k != "null"])
def test_null_is_an_error_only_when_not_nullable(kind: str) -> None:
    assert one(ColumnSpec(type=kind, nullable=True), None) == []  # type: ignore[arg-type]
    [error] = one(ColumnSpec(type=kind, nullable=False), None)  # type: ignore[arg-type]
    assert (error.kind, error.got) == ("null", "null")
    assert error.message.startswith("x: expected ")
    assert error.message.endswith(", got null")


def test_null_column_takes_only_none() -> None:
    spec = ColumnSpec(type="null")
    assert one(spec, None) == []
    assert RecordValidator(contract_of(x=spec)).validate({}) == []
    for value in (0, "", False, [], "null"):
        [error] = one(spec, value)
        assert error.kind == "type"
    [error] = one(ColumnSpec(type="null", nullable=False), None)
    assert error.kind == "null"


# --- types ------------------------------------------------------------------------------


class Count(int):
    pass


class Label(str):
    __slots__ = ()


# Subclasses skip the validator's quick ``__class__ is`` tests and reach its exact checks.
class Real(float):
    pass


class Stamp(datetime):
    pass


class Day(date):
    pass


class Clock(time):
    pass


class Span(timedelta):
    pass


ACCEPTED: dict[str, list[Any]] = {
    "int": [0, -5, 10**30, Count(3)],
    "float": [0, 1.5, -2.25e10, 10**30, float(2**60), Real(2.5), Count(4)],
    "bool": [True, False],
    "string": ["", "a", "ü", Label("x")],
    "datetime": [
        datetime(2024, 5, 1, 10, 0),
        datetime(2024, 5, 1, tzinfo=UTC),
        date(2024, 5, 1),
        Stamp(2024, 5, 1),
        Day(2024, 5, 1),
        "2024-05-01",
        "2024-05-01T10:00:00",
        "2024-05-01 10:00:00.123+02:00",
    ],
    "date": [date(2024, 5, 1), datetime(2024, 5, 1, 10), "2024-05-01", Day(2024, 5, 1)],
    "time": ["10:00", time(10, 30), Clock(10), Label("10:00")],
    "duration": ["1h", "PT5M", timedelta(minutes=5), Span(seconds=1), Label("PT1M")],
}
REJECTED: dict[str, list[tuple[Any, str]]] = {
    "int": [
        (3.0, "3.0 (float)"),
        (2.5, "2.5 (float)"),
        (True, "True (bool)"),
        ("5", "'5' (str)"),
        ([1], "a list"),
    ],
    "float": [
        (True, "True (bool)"),
        ("1.5", "'1.5' (str)"),
        (math.nan, "nan (float)"),
        (math.inf, "inf (float)"),
        (-math.inf, "-inf (float)"),
        (Real("nan"), "nan (Real)"),
        ({"v": 1}, "a dict"),
    ],
    "bool": [(1, "1 (int)"), (0, "0 (int)"), ("true", "'true' (str)"), (None.__class__, "a type")],
    "string": [(5, "5 (int)"), (b"a", "a bytes"), (["a"], "a list"), (True, "True (bool)")],
    "datetime": [
        ("yesterday", "'yesterday' (str)"),
        ("2024-13-01", "'2024-13-01' (str)"),
        (1714557600, "1714557600 (int)"),
        (time(10), "10:00:00 (time)"),
    ],
    "date": [("05/01/2024", "'05/01/2024' (str)"), (20240501, "20240501 (int)")],
    "time": [(36000, "36000 (int)"), (10.5, "10.5 (float)"), (Span(1), "1 day, 0:00:00 (Span)")],
    "duration": [(300, "300 (int)"), (1.5, "1.5 (float)"), (Clock(1), "01:00:00 (Clock)")],
}


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, vs in ACCEPTED.items() for v in vs])
def test_accepted_types(kind: str, value: Any) -> None:
    assert one(ColumnSpec(type=kind), value) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "value", "got"), [(k, v, g) for k, vs in REJECTED.items() for v, g in vs]
)
def test_rejected_types_name_the_field_the_expectation_and_the_value(
    kind: str, value: Any, got: str
) -> None:
    [error] = one(ColumnSpec(type=kind), value, name="col")  # type: ignore[arg-type]
    assert (error.field, error.kind, error.got) == ("col", "type", got)
    assert error.message == f"col: expected {error.expected}, got {got}"


def test_expected_names_the_type_in_plain_words() -> None:
    assert one(ColumnSpec(type="int"), "a")[0].expected == "an integer"
    assert one(ColumnSpec(type="float"), "a")[0].expected == "a finite number"
    assert one(ColumnSpec(type="bool"), "a")[0].expected == "true or false"
    assert one(ColumnSpec(type="string"), 1)[0].expected == "a string"
    assert one(ColumnSpec(type="date"), 1)[0].expected.startswith("a date (")


def test_float_integral_value_in_an_int_column_says_why() -> None:
    [error] = one(ColumnSpec(type="int", range=Range(min=1, max=12)), 3.0, name="month")
    assert error.message == "month: expected an integer between 1 and 12, got 3.0 (float)"


def test_long_values_are_cut_short() -> None:
    [error] = one(ColumnSpec(type="int"), "y" * 500)
    assert len(error.got) < 60
    assert error.got.endswith("... (str)")


# --- range ------------------------------------------------------------------------------


def test_range_message_matches_the_documented_example() -> None:
    spec = ColumnSpec(type="float", range=Range(min=0, max=132000))
    [error] = one(spec, 250000, name="amount_usd")
    assert error.message == "amount_usd: expected a number between 0 and 132000, got 250000"
    assert (error.field, error.expected, error.got, error.kind) == (
        "amount_usd",
        "a number between 0 and 132000",
        "250000",
        "range",
    )


@pytest.mark.parametrize("kind", ["int", "float"])
def test_range_is_inclusive(kind: str) -> None:
    spec = ColumnSpec(type=kind, range=Range(min=-3, max=7))  # type: ignore[arg-type]
    for value in (-3, 0, 7):
        assert one(spec, value) == [], value
    for value in (-4, 8, -(10**20), 10**20):
        assert kinds(one(spec, value)) == [("x", "range")], value


def test_float_range_at_the_edges() -> None:
    spec = ColumnSpec(type="float", range=Range(min=0.5, max=1.5))
    assert one(spec, 0.5) == []
    assert one(spec, 1.5) == []
    assert one(spec, 1) == []
    assert kinds(one(spec, math.nextafter(0.5, 0))) == [("x", "range")]
    assert kinds(one(spec, math.nextafter(1.5, 2))) == [("x", "range")]
    assert kinds(one(spec, 2)) == [("x", "range")]
    assert kinds(one(spec, math.nan)) == [("x", "type")]


def test_int_range_with_fractional_bounds() -> None:
    spec = ColumnSpec(type="int", range=Range(min=0.5, max=2.5))
    assert [kinds(one(spec, v)) for v in (0, 1, 2, 3)] == [
        [("x", "range")],
        [],
        [],
        [("x", "range")],
    ]


def test_open_ended_ranges() -> None:
    at_least = ColumnSpec(type="float", range=Range(min=0))
    assert one(at_least, 1e300) == []
    [error] = one(at_least, -0.5)
    assert error.expected == "a finite number of at least 0"
    assert kinds(one(at_least, math.inf)) == [("x", "type")]
    at_most = ColumnSpec(type="int", range=Range(max=10))
    assert one(at_most, -(10**40)) == []
    assert one(at_most, 11)[0].expected == "an integer of at most 10"
    assert one(ColumnSpec(type="float", range=Range()), -1e300) == []


def test_infinite_bounds_still_reject_infinite_values() -> None:
    spec = ColumnSpec(type="float", range=Range(min=-math.inf, max=math.inf))
    assert one(spec, 1e308) == []
    assert kinds(one(spec, math.inf)) == [("x", "type")]
    assert kinds(one(spec, -math.inf)) == [("x", "type")]


def test_nan_bound_is_a_contract_error() -> None:
    contract = contract_of(x=ColumnSpec(type="float", range=Range(min=math.nan)))
    with pytest.raises(ContractError, match="not a number") as info:
        RecordValidator(contract)
    assert info.value.field == "x"


def test_bounds_are_written_as_people_write_them() -> None:
    spec = ColumnSpec(type="float", range=Range(min=0.25, max=1e20))
    assert one(spec, -1)[0].expected == "a number between 0.25 and 1e+20"
    spec = ColumnSpec(type="float", range=Range(min=-1.5e-7, max=123456789012345.0))
    assert one(spec, -1)[0].expected == "a number between -1.5e-07 and 123456789012345"


# --- categories -------------------------------------------------------------------------


def test_categories() -> None:
    spec = ColumnSpec(type="string", nullable=False, categories=["lost", "open", "won"])
    assert one(spec, "won") == []
    assert one(spec, Label("lost")) == []
    [error] = one(spec, "Won", name="stage")
    assert error.message == "stage: expected one of 'lost', 'open', 'won', got 'Won'"
    assert error.kind == "category"
    assert kinds(one(spec, 1)) == [("x", "type")]
    assert kinds(one(spec, ["won"])) == [("x", "type")]  # unhashable: a type error, no crash


def test_many_categories_are_listed_briefly() -> None:
    spec = ColumnSpec(type="string", categories=[f"c{i:02}" for i in range(25)])
    [error] = one(spec, "zz")
    assert error.expected.startswith("one of 'c00', 'c01',")
    assert error.expected.endswith("'c09' and 15 more")


def test_no_allowed_categories_rejects_every_value() -> None:
    [error] = one(ColumnSpec(type="string", categories=[]), "a")
    assert error.kind == "category"


def test_bool_categories_compare_lowercase_text() -> None:
    spec = ColumnSpec(type="bool", categories=["true"])
    assert one(spec, True) == []
    [error] = one(spec, False, name="flag")
    assert error.message == "flag: expected one of 'true', got False"
    assert kinds(one(ColumnSpec(type="bool", categories=["True"]), True)) == [("x", "category")]
    assert kinds(one(spec, "true")) == [("x", "type")]


# --- identifier, unexpected fields ------------------------------------------------------


def test_identifier_has_no_per_record_check() -> None:
    validator = RecordValidator(contract_of(id=ColumnSpec(type="string", identifier=True)))
    assert validator.validate_many([{"id": "a"}, {"id": "a"}]) == [[], []]
    assert kinds(validator.validate({"id": 1})) == [("id", "type")]


def test_unexpected_fields_are_one_error_each_with_a_suggestion() -> None:
    errors = RecordValidator(CRM).validate({**GOOD, "amount": 5, "zzz": [1, 2]})
    assert kinds(errors) == [("amount", "unexpected"), ("zzz", "unexpected")]
    assert errors[0].message == (
        "amount: unexpected field (the contract has no column of that name; "
        "did you mean 'amount_usd'?)"
    )
    assert (errors[0].expected, errors[0].got) == ("no such field", "5")
    assert errors[1].message == "zzz: unexpected field (the contract has no column of that name)"
    assert errors[1].got == "a list"


def test_unexpected_field_standing_in_for_a_missing_nullable_field() -> None:
    """Same number of keys as the contract, yet one is not in it."""
    validator = RecordValidator(contract_of(a=ColumnSpec(type="int"), b=ColumnSpec(type="int")))
    assert kinds(validator.validate({"a": 1, "c": 2})) == [("c", "unexpected")]
    assert kinds(validator.validate({1: 1, "b": 2})) == [("1", "unexpected")]  # type: ignore[dict-item]


@pytest.mark.parametrize("wrap", [dict, Proxy], ids=["dict", "mapping"])
def test_unexpected_ignore(wrap: Any) -> None:
    validator = RecordValidator(CRM, unexpected="ignore")
    assert validator.validate(wrap({**GOOD, "amount": 5})) == []
    bad = {**GOOD, "seats": -1, "amount": 5}
    del bad["active"]
    assert kinds(validator.validate(wrap(bad))) == [("seats", "range")]
    assert compile_validator(CRM, unexpected="ignore").validate({**GOOD, "extra": 1}) == []


def test_unexpected_must_be_error_or_ignore() -> None:
    with pytest.raises(InputError, match="'error' or 'ignore'"):
        RecordValidator(CRM, unexpected="warn")  # type: ignore[arg-type]


# --- safety and the error object --------------------------------------------------------


def test_contract_text_never_becomes_code() -> None:
    hostile = "x'] or __import__('os').system('echo pwned') or ['\n\"\"\"{0}{v}\\"
    contract = contract_of(
        **{hostile: ColumnSpec(type="string", nullable=False, categories=[hostile, "')\n#"])},
        **{"{i}": ColumnSpec(type="int", range=Range(min=0, max=1))},
    )
    validator = RecordValidator(contract)
    assert validator.validate({hostile: hostile, "{i}": 1}) == []
    assert validator.validate({hostile: "')\n#", "{i}": 0}) == []
    assert kinds(validator.validate({hostile: "nope", "{i}": 2})) == [
        (hostile, "category"),
        ("{i}", "range"),
    ]


def test_field_error_is_a_small_frozen_value() -> None:
    [error] = one(ColumnSpec(type="int"), "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        error.field = "y"  # type: ignore[misc]
    assert not hasattr(error, "__dict__")
    assert error.to_dict() == {
        "field": "x",
        "kind": "type",
        "expected": "an integer",
        "got": "'a' (str)",
        "message": "x: expected an integer, got 'a' (str)",
    }


def test_repr_names_the_contract() -> None:
    assert repr(RecordValidator(CRM)) == (
        "RecordValidator(contract='t', columns=6, unexpected='error')"
    )


def test_docstring_example_runs() -> None:
    result = doctest.testmod(validator_module, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


# --- properties -------------------------------------------------------------------------

MISSING = object()
BOUND = st.integers(-(10**9), 10**9)


@st.composite
def column_specs(draw: st.DrawFn) -> ColumnSpec:
    kind = draw(st.sampled_from(COLUMN_TYPES))
    extra: dict[str, Any] = {}
    if kind in ("int", "float") and draw(st.booleans()):
        lo, hi = sorted([draw(BOUND), draw(BOUND)])
        scale = 1 if kind == "int" else draw(st.sampled_from([1, 0.001]))
        extra["range"] = Range(
            min=lo * scale if draw(st.booleans()) else None,
            max=hi * scale if draw(st.booleans()) else None,
        )
    elif kind == "string" and draw(st.booleans()):
        extra["categories"] = draw(
            st.lists(st.text(max_size=8), min_size=1, max_size=20, unique=True)
        )
    elif kind == "bool" and draw(st.booleans()):
        extra["categories"] = draw(st.sampled_from([["true"], ["false"], ["false", "true"]]))
    return ColumnSpec(
        type=kind,
        nullable=kind == "null"
        or draw(st.booleans()),  # a non-nullable null column has no valid value
        identifier=draw(st.booleans()) and kind in ("int", "string"),
        **extra,
    )


contracts = st.dictionaries(
    st.text(min_size=1, max_size=12), column_specs(), min_size=1, max_size=12
).map(lambda columns: Contract(name="prop", columns=columns))


def bounds(spec: ColumnSpec) -> tuple[float | None, float | None]:
    return (spec.range.min, spec.range.max) if spec.range is not None else (None, None)


def valid_values(spec: ColumnSpec) -> st.SearchStrategy[Any]:
    """Values the contract allows for ``spec`` (MISSING stands for an absent field)."""
    lo, hi = bounds(spec)
    if spec.type == "int":
        values: st.SearchStrategy[Any] = st.integers(
            None if lo is None else math.ceil(lo), None if hi is None else math.floor(hi)
        )
    elif spec.type == "float":
        values = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        low = None if lo is None else math.ceil(lo)
        high = None if hi is None else math.floor(hi)
        if low is None or high is None or low <= high:
            values = values | st.integers(low, high)
    elif spec.type == "bool":
        allowed = [
            b for b in (True, False) if spec.categories is None or str(b).lower() in spec.categories
        ]
        values = st.sampled_from(allowed)
    elif spec.type == "string":
        values = st.sampled_from(spec.categories) if spec.categories else st.text()
    elif spec.type == "datetime":
        values = st.datetimes() | st.dates() | st.datetimes().map(datetime.isoformat)
    elif spec.type == "date":
        values = st.dates() | st.dates().map(date.isoformat) | st.datetimes()
    elif spec.type == "time":
        values = st.times() | st.text()
    elif spec.type == "duration":
        values = st.timedeltas() | st.text()
    else:
        values = st.none()
    if spec.nullable:
        values = values | st.none() | st.just(MISSING)
    return values


@st.composite
def valid_records(draw: st.DrawFn, contract: Contract) -> dict[str, Any]:
    record = {name: draw(valid_values(spec)) for name, spec in contract.columns.items()}
    return {k: v for k, v in record.items() if v is not MISSING}


WRONG_TYPE: dict[str, list[Any]] = {
    "int": ["1", 1.0, 2.5, True, [1], None.__class__],
    "float": ["1.5", True, False, math.nan, math.inf, -math.inf, [1.0]],
    "bool": [1, 0, "true", 1.0, None.__class__],
    "string": [5, 1.5, True, b"x", ["a"], ("a",)],
    "datetime": ["not a date", "2024-02-30", 5, 1.5, True, time(1)],
    "date": ["5th of May", 20240501, 1.5, False],
    "time": [5, 1.5, True, [1]],
    "duration": [5, 1.5, False, {}],
    "null": [0, "", False, 0.0, []],
}


@st.composite
def mutations(draw: st.DrawFn, spec: ColumnSpec) -> tuple[Any, str]:
    """A value for ``spec`` that breaks exactly one rule, and the kind of error it gives."""
    options: list[tuple[Any, str]] = [(v, "type") for v in WRONG_TYPE[spec.type]]
    lo, hi = bounds(spec)
    gap = draw(st.integers(1, 10**6))
    if lo is not None:
        options.append((math.ceil(lo) - gap if spec.type == "int" else lo - gap, "range"))
    if hi is not None:
        options.append((math.floor(hi) + gap if spec.type == "int" else hi + gap, "range"))
    if spec.categories is not None and spec.type == "string":
        options.append((draw(st.text().filter(lambda t: t not in spec.categories)), "category"))
    if spec.categories is not None and spec.type == "bool":
        options += [(b, "category") for b in (True, False) if str(b).lower() not in spec.categories]
    if not spec.nullable:
        options += [(None, "null"), (MISSING, "missing")]
    return draw(st.sampled_from(options))


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_valid_records_always_validate(data: st.DataObject) -> None:
    contract = data.draw(contracts)
    record = data.draw(valid_records(contract))
    for unexpected in ("error", "ignore"):
        validator = RecordValidator(contract, unexpected=unexpected)  # type: ignore[arg-type]
        assert validator.validate(record) == []
        assert validator.validate(Proxy(record)) == []


@given(st.data())
@settings(max_examples=500, deadline=None)
def test_one_broken_field_gives_exactly_one_error_naming_it(data: st.DataObject) -> None:
    contract = data.draw(contracts)
    record = data.draw(valid_records(contract))
    name = data.draw(st.sampled_from(sorted(contract.columns)))
    value, kind = data.draw(mutations(contract.columns[name]))
    if value is MISSING:
        record.pop(name, None)
    else:
        record[name] = value
    validator = RecordValidator(contract)
    for container in (record, Proxy(record)):
        [error] = validator.validate(container)
        assert (error.field, error.kind) == (name, kind)
        assert error.message.startswith(f"{name}: ")
        assert error.expected
        assert error.got


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_an_unknown_field_gives_exactly_one_error_naming_it(data: st.DataObject) -> None:
    contract = data.draw(contracts)
    record = data.draw(valid_records(contract))
    name = data.draw(st.text(min_size=1).filter(lambda n: n not in contract.columns))
    record[name] = data.draw(st.integers() | st.text() | st.none())
    assert kinds(RecordValidator(contract).validate(record)) == [(name, "unexpected")]
    assert RecordValidator(contract, unexpected="ignore").validate(record) == []


ANY_VALUE = st.one_of(
    st.none(),
    st.just(MISSING),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.lists(st.integers(), max_size=2),
)


def oracle(spec: ColumnSpec, value: Any) -> str | None:
    """The kind of error the rules call for, written out plainly from the documentation."""
    if value is MISSING or value is None:
        if spec.nullable:
            return None
        return "missing" if value is MISSING else "null"
    is_bool = type(value) is bool
    is_int = isinstance(value, int) and not is_bool
    type_ok = {
        "int": is_int,
        "float": is_int or (isinstance(value, float) and math.isfinite(value)),
        "bool": is_bool,
        "string": isinstance(value, str),
        "datetime": isinstance(value, (date, datetime)) or _iso(value),
        "date": isinstance(value, (date, datetime)) or _iso(value),
        "time": isinstance(value, (str, time)),
        "duration": isinstance(value, (str, timedelta)),
        "null": False,
    }[spec.type]
    if not type_ok:
        return "type"
    lo, hi = bounds(spec)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return "range"
    if spec.categories is not None:
        text = str(value).lower() if is_bool else value
        if text not in spec.categories:
            return "category"
    return None


def _iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@given(st.data())
@settings(max_examples=500, deadline=None)
def test_any_record_gets_the_errors_the_rules_call_for(data: st.DataObject) -> None:
    """Random values of every type: the fast path and the full path agree with the rules."""
    contract = data.draw(contracts)
    record = {name: data.draw(ANY_VALUE) for name in contract.columns}
    record = {k: v for k, v in record.items() if v is not MISSING}
    expected = []
    for name, spec in contract.columns.items():
        kind = oracle(spec, record.get(name, MISSING))
        if kind is not None:
            expected.append((name, kind))
    validator = RecordValidator(contract)
    assert kinds(validator.validate(record)) == expected
    assert kinds(validator.validate(Proxy(record))) == expected
