"""Validate single records against a contract, fast enough for the gateway's hot path.

A :class:`RecordValidator` is compiled once from a :class:`Contract` and then
checks one record (a mapping of field name to value) at a time. ``validate``
returns a list of :class:`FieldError`, empty when the record is valid.

Example::

    >>> from postpilot.contracts.model import ColumnSpec, Contract, Range
    >>> contract = Contract(name="crm", columns={
    ...     "amount_usd": ColumnSpec(type="float", range=Range(min=0, max=132000)),
    ...     "stage": ColumnSpec(type="string", nullable=False, categories=["lost", "open", "won"]),
    ... })
    >>> validator = RecordValidator(contract)
    >>> validator.validate({"amount_usd": 1200.5, "stage": "open"})
    []
    >>> for error in validator.validate({"amount_usd": 250000, "stage": "closed", "x": 1}):
    ...     print(error.message)
    amount_usd: expected a number between 0 and 132000, got 250000
    stage: expected one of 'lost', 'open', 'won', got 'closed'
    x: unexpected field (the contract has no column of that name)

How it is fast: compiling generates one small Python function for the whole
contract whose source is built only from fixed templates and generated local
names (``_k3``, ``_lo3``); every value taken from the contract (field names,
bounds, categories) is passed in through the function's namespace, never
written into the source. For each field that function runs an inline quick
test that accepts the common valid values (``v.__class__ is float and _lo3 <=
v <= _hi3``). Only a value that the quick test does not accept goes to the
field's full check, a closure that decides exactly and builds the
:class:`FieldError`. The quick test may pass a valid value to the full check
(a ``str`` subclass, an ISO-8601 date string), never the other way round.

The rules, per column (``identifier`` has no per-record check):

- a missing field is an error when the column is not ``nullable``; when it is,
  a missing field counts as null;
- ``None`` is an error when the column is not ``nullable``;
- ``int`` takes an ``int`` (never a ``bool``; ``3.0`` is an error); ``float``
  takes an ``int`` or a finite ``float`` (never a ``bool``, NaN or infinity);
  ``bool`` takes a ``bool``; ``string`` takes a ``str``; ``datetime`` and
  ``date`` take a ``date`` or ``datetime`` object or a string that
  :meth:`datetime.fromisoformat` reads; ``time`` takes a ``str`` or a
  :class:`datetime.time`; ``duration`` a ``str`` or a :class:`datetime.timedelta`;
  ``null`` only ``None``;
- ``range`` bounds are inclusive, either end may be open;
- ``categories`` lists the allowed values; a ``bool`` is compared as
  ``str(value).lower()`` (``"true"``, ``"false"``);
- a field the contract does not name is an error with ``unexpected="error"``
  (the default) and ignored with ``unexpected="ignore"``.

Each field yields at most one error: the first of missing, null, type,
range, category that applies.
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal

from postpilot.contracts.model import ColumnSpec, Contract
from postpilot.errors import ContractError, InputError

__all__ = ["FieldError", "FieldErrorKind", "RecordValidator", "compile_validator"]

FieldErrorKind = Literal["missing", "null", "type", "range", "category", "unexpected"]
Unexpected = Literal["error", "ignore"]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field of one record that breaks the contract.

    ``expected`` describes what the contract allows (``"an integer between 1
    and 12"``), ``got`` is a short repr of the value (or its type, for values
    that do not print briefly), ``message`` says both in one plain sentence,
    and ``kind`` is one of ``missing``, ``null``, ``type``, ``range``,
    ``category``, ``unexpected``.
    """

    field: str
    expected: str
    got: str
    message: str
    kind: FieldErrorKind

    def to_dict(self) -> dict[str, str]:
        """The JSON shape (one entry of a problem+json ``errors`` list)."""
        return {
            "field": self.field,
            "kind": self.kind,
            "expected": self.expected,
            "got": self.got,
            "message": self.message,
        }


_Check = Callable[[Any], FieldError | None]
_Validate = Callable[[Mapping[str, Any]], list[FieldError]]


class _Missing:
    """The marker for a field that is not in the record (distinct from ``None``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()
_MAX_REPR = 40
_MAX_LISTED_CATEGORIES = 10


class RecordValidator:
    """Checks single records against ``contract``; compile once, call many times.

    ``unexpected`` says what to do with a field the contract does not name:
    ``"error"`` (one :class:`FieldError` each) or ``"ignore"``.
    """

    __slots__ = ("_validate", "contract", "unexpected")

    def __init__(self, contract: Contract, *, unexpected: Unexpected = "error") -> None:
        if unexpected not in ("error", "ignore"):
            raise InputError(
                f"unexpected must be 'error' or 'ignore', got {unexpected!r}", field="unexpected"
            )
        self.contract = contract
        self.unexpected: Unexpected = unexpected
        self._validate = _compile(contract, report_unexpected=unexpected == "error")

    def validate(self, record: Mapping[str, Any]) -> list[FieldError]:
        """Every contract violation in ``record``; an empty list when it is valid.

        Raises :class:`~postpilot.errors.InputError` when ``record`` is not a mapping.
        """
        return self._validate(record)

    def validate_many(self, records: Iterable[Mapping[str, Any]]) -> list[list[FieldError]]:
        """``validate`` for each record, in order."""
        check = self._validate
        return [check(record) for record in records]

    def __repr__(self) -> str:
        return (
            f"RecordValidator(contract={self.contract.name!r}, "
            f"columns={len(self.contract.columns)}, unexpected={self.unexpected!r})"
        )


def compile_validator(contract: Contract, *, unexpected: Unexpected = "error") -> RecordValidator:
    """The :class:`RecordValidator` for ``contract`` (same as calling the class)."""
    return RecordValidator(contract, unexpected=unexpected)


# --- describing values and expectations -------------------------------------------------


def _number(value: float) -> str:
    """A bound as a person writes it: ``0``, ``132000``, ``0.5``, ``1e+20``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _got(value: Any, *, with_type: bool) -> str:
    """A short description of ``value``: its repr, cut to 40 characters, for a scalar
    (followed by its type name when the type is the problem), else its type name."""
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float, str)):
        text = repr(value)
    elif isinstance(value, (date, time, timedelta)):
        text = str(value)
    else:
        return f"a {type(value).__name__}"
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return f"{text} ({type(value).__name__})" if with_type else text


_TYPE_NAMES: Final[dict[str, str]] = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "datetime": "a datetime (a datetime object or an ISO-8601 string)",
    "date": "a date (a date object or an ISO-8601 string)",
    "time": "a time (a string or a time object)",
    "duration": "a duration (a string or a timedelta object)",
    "null": "null",
}


def _expected(spec: ColumnSpec) -> str:
    """Everything the column allows, in words."""
    if spec.categories is not None:
        shown = [repr(c) for c in spec.categories[:_MAX_LISTED_CATEGORIES]]
        rest = len(spec.categories) - len(shown)
        listed = ", ".join(shown) + (f" and {rest} more" if rest else "")
        return "nothing (the column allows no values)" if not shown else f"one of {listed}"
    text = _TYPE_NAMES[spec.type]
    bounds = spec.range
    if spec.type == "float" and not (
        bounds is not None
        and all(b is not None and math.isfinite(b) for b in (bounds.min, bounds.max))
    ):
        text = "a finite number"  # with two finite bounds, "between" already says it
    if bounds is None or (bounds.min is None and bounds.max is None):
        return text
    if bounds.min is not None and bounds.max is not None:
        return f"{text} between {_number(bounds.min)} and {_number(bounds.max)}"
    if bounds.min is not None:
        return f"{text} of at least {_number(bounds.min)}"
    assert bounds.max is not None
    return f"{text} of at most {_number(bounds.max)}"


# --- the full check of one column (slow path; decides exactly) --------------------------


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            return math.isfinite(value)
        return isinstance(value, int)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind in ("datetime", "date"):
        if isinstance(value, date):
            return True
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                return False
            return True
        return False
    if kind == "time":
        return isinstance(value, (str, time))
    if kind == "duration":
        return isinstance(value, (str, timedelta))
    return value is None  # "null"


def _column_check(name: str, spec: ColumnSpec) -> _Check:
    """The exact check of one column's value; ``None`` when it is valid."""
    expected = _expected(spec)
    kind = spec.type
    nullable = spec.nullable
    lo = spec.range.min if spec.range is not None else None
    hi = spec.range.max if spec.range is not None else None
    categories = frozenset(spec.categories) if spec.categories is not None else None

    def error(error_kind: FieldErrorKind, got: str, message: str | None = None) -> FieldError:
        text = message or f"{name}: expected {expected}, got {got}"
        return FieldError(name, expected, got, text, error_kind)

    def check(value: Any) -> FieldError | None:
        if value is _MISSING or value is None:
            if nullable:
                return None
            if value is _MISSING:
                return error("missing", "missing", f"{name}: missing (expected {expected})")
            return error("null", "null")
        if not _type_ok(kind, value):
            return error("type", _got(value, with_type=True))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return error("range", _got(value, with_type=False))
        if categories is not None:
            key = str(value).lower() if isinstance(value, bool) else value
            if key not in categories:
                return error("category", _got(value, with_type=False))
        return None

    return check


def _unexpected_error(key: Any, value: Any, columns: Mapping[str, ColumnSpec]) -> FieldError:
    field = key if isinstance(key, str) else repr(key)
    close = difflib.get_close_matches(field, list(columns), n=1) if isinstance(key, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    message = f"{field}: unexpected field (the contract has no column of that name{hint})"
    return FieldError(field, "no such field", _got(value, with_type=False), message, "unexpected")


# --- code generation (fast path) --------------------------------------------------------

# Every template below is fixed text; ``{v}`` is only ever replaced by a generated local
# name (``v``, ``v3``) and ``{i}`` by a column's index, so nothing from the contract
# reaches the generated source.
_QUICK: Final[dict[str, str]] = {
    "int": "{v}.__class__ is int",
    "float": "((c := {v}.__class__) is float or c is int)",
    "bool": "{v}.__class__ is bool",
    "string": "{v}.__class__ is str",
    "datetime": "((c := {v}.__class__) is datetime or c is date)",
    "date": "((c := {v}.__class__) is date or c is datetime)",
    "time": "((c := {v}.__class__) is str or c is time)",
    "duration": "((c := {v}.__class__) is str or c is timedelta)",
    "null": "{v} is None",
}


def _quick_test(i: int, spec: ColumnSpec, v: str, namespace: dict[str, Any]) -> str:
    """Source of an expression in the local ``v`` that is true only for valid values."""
    parts = [_QUICK[spec.type]]
    if spec.type in ("int", "float"):
        lo = spec.range.min if spec.range is not None else None
        hi = spec.range.max if spec.range is not None else None
        # For floats the bounds also reject NaN and infinities: every comparison with NaN
        # is false, and an open (or infinite) end is replaced by a strict finite test.
        finite_only = spec.type == "float"
        # An int column compares with int bounds (the same test for integers, and
        # CPython's int-int comparison is much faster than int-float).
        integral = spec.type == "int"
        if lo is not None and math.isfinite(lo):
            namespace[f"_lo{i}"] = math.ceil(lo) if integral else lo
            parts.append("_lo{i} <= {v}")
        elif finite_only:
            parts.append("_NEG_INF < {v}")
        if hi is not None and math.isfinite(hi):
            namespace[f"_hi{i}"] = math.floor(hi) if integral else hi
            parts.append("{v} <= _hi{i}")
        elif finite_only:
            parts.append("{v} < _POS_INF")
    if spec.categories is not None:
        if spec.type == "bool":
            namespace[f"_cat{i}"] = frozenset(
                b for b in (True, False) if str(b).lower() in spec.categories
            )
        else:
            namespace[f"_cat{i}"] = frozenset(spec.categories)
        parts.append("{v} in _cat{i}")
    if spec.type == "null":
        template = parts[0] if spec.nullable else "False"  # null in a non-nullable column
    elif spec.nullable:
        template = "({v} is None or (" + " and ".join(parts) + "))"
    else:
        template = "(" + " and ".join(parts) + ")"
    return template.format(v=v, i=i)


def _compile(contract: Contract, *, report_unexpected: bool) -> _Validate:
    """Generate the validating function: a one-expression accept for a plain ``dict``
    with every field valid, and a per-field path (``full``) that finds every error."""
    columns = contract.columns
    for name, spec in columns.items():
        bounds = spec.range
        if bounds is not None and any(
            b is not None and math.isnan(b) for b in (bounds.min, bounds.max)
        ):
            raise ContractError(
                f"the range of column {name!r} has a bound that is not a number (NaN)",
                field=name,
                hint="Give the bound as a number or leave it out for an open end.",
            )
    namespace: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_NEG_INF": -math.inf,
        "_POS_INF": math.inf,
        "_COLUMNS": frozenset(columns),
        "_N": len(columns),
        "_fetch": operator.itemgetter(*columns),
        "_unexpected": lambda key, value: _unexpected_error(key, value, columns),
        "_not_a_mapping": _not_a_mapping,
        "date": date,
        "datetime": datetime,
        "time": time,
        "timedelta": timedelta,
    }
    n = len(columns)
    # full(record): every field through its quick test, and its exact check when that fails.
    lines = [
        "def full(record):",
        "    try:",
        "        get = record.get",
        "    except AttributeError:",
        "        _not_a_mapping(record)",
        "    errors = []",
        "    slow = False",
    ]
    for i, (name, spec) in enumerate(columns.items()):
        namespace[f"_k{i}"] = name
        namespace[f"_check{i}"] = _column_check(name, spec)
        lines += [
            f"    v = get(_k{i}, _MISSING)",
            f"    if not {_quick_test(i, spec, 'v', namespace)}:",
            "        slow = True",
            f"        e = _check{i}(v)",
            "        if e is not None:",
            "            errors.append(e)",
        ]
    if report_unexpected:
        # When every column was present and passed the quick test, the record holds
        # exactly the contract's fields iff it has as many keys as the contract.
        lines += [
            "    if slow or len(record) != _N:",
            "        for key in record:",
            "            if key not in _COLUMNS:",
            "                errors.append(_unexpected(key, record[key]))",
        ]
    lines.append("    return errors")
    # validate(record): for a plain dict, fetch every value in one C call (a missing key
    # raises KeyError) and accept the record when all quick tests hold; else full().
    names = [f"v{i}" for i in range(n)]
    target = names[0] if n == 1 else ", ".join(names)
    tests = [_quick_test(i, spec, f"v{i}", namespace) for i, spec in enumerate(columns.values())]
    if report_unexpected:
        tests.insert(0, "len(record) == _N")
    lines += [
        "def validate(record):",
        "    if record.__class__ is dict:",
        "        try:",
        f"            {target} = _fetch(record)",
        "        except KeyError:",
        "            return full(record)",
        "        if " + " and ".join(tests) + ":",
        "            return []",
        "    return full(record)",
    ]
    source = "\n".join(lines) + "\n"
    code = compile(source, "<postpilot record validator>", "exec")
    exec(code, namespace)  # noqa: S102 - source built from fixed templates only (see above)
    validate: _Validate = namespace["validate"]
    return validate


def _not_a_mapping(record: object) -> None:
    raise InputError(
        f"a record must be a mapping of field names to values, got {type(record).__name__}",
        hint="Send one JSON object per record.",
    )
