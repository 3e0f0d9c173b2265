"""Input adapters: a declared fix for a changed input format, applied once, at the gateway.

A CRM migration renames ``AccountAmount`` to ``AccountAmountCents`` and switches it to
cents. Rather than changing every model, the product's owner declares an adapter
(YAML, per product or per consumer of a product) and the gateway applies it to each
incoming record before the record is checked against the product's contract and
given to the model::

    schema_version: 1
    product: churn
    consumer: crm-eu                   # optional: only this consumer's records
    rename: {AccountAmountCents: amount_usd, tenure: tenure_months}
    drop: [debug_flag]
    coerce: {tenure_months: int}       # int | float | string | bool | datetime | date
    units:
      amount_usd: {from: cents, to: dollars}     # or {multiply: 0.01, add: 0, round: 2}
    defaults: {region: unknown}        # when the field is missing or null
    derive:
      ratio: "clicks / max(visits, 1)" # see postpilot.gateway._expr

The steps run in this order, which is also the order of the keys in a written file:
**rename, drop, coerce, units, defaults, derive**. Renames apply at once (every
incoming name is read from the incoming record, so ``a: b`` with ``b: a`` swaps two
fields); every later step names fields by their new names. A renamed field replaces
an incoming field of its new name. ``derive`` computes its fields in the order
written, each may use those above it. A missing field is left alone by ``coerce``
and ``units`` (``defaults`` may fill it); a null stays null.

Loading checks the whole file and reports every mistake as ``file:line: field: problem``
(:class:`~postpilot.errors.AdapterError`), including the mistakes between steps: two
fields renamed to one name, a chain of renames, a renamed field dropped, a step naming
a field by its old name or one already dropped, a conversion of a field coerced to
text, an expression reading a field that does not exist at that point.

:func:`compile_adapter` turns an adapter into a precomputed plan: one pass over the
record for rename and drop, then a tuple of prepared steps. A record that cannot be
adapted raises :class:`RecordAdaptError` naming the field, the step and the value's
type. :func:`suggest_adapter` writes an adapter from a contract check's findings.

>>> adapter = loads_adapter('''
... schema_version: 1
... product: churn
... rename: {AccountAmountCents: amount_usd}
... coerce: {tenure: int}
... units: {amount_usd: {from: cents, to: dollars}}
... derive: {amount_k: amount_usd / 1000}
... ''')
>>> compile_adapter(adapter)({"AccountAmountCents": 1250000, "tenure": "12"})
{'tenure': 12, 'amount_usd': 12500, 'amount_k': 12.5}
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from postpilot._yaml import describe_errors, load_yaml_document, raise_problems
from postpilot.contracts.findings import CheckResult, Kind
from postpilot.contracts.units import CONVERSIONS, Conversion
from postpilot.errors import AdapterError
from postpilot.gateway._expr import (
    EvaluationError,
    ExpressionError,
    compile_expression,
    describe_failure,
    kind_of,
)

__all__ = [
    "COERCE_TYPES",
    "SCHEMA_ID",
    "STEPS",
    "UNIT_NAMES",
    "Adapter",
    "CompiledAdapter",
    "RecordAdaptError",
    "UnitSpec",
    "adapter_schema",
    "compile_adapter",
    "dumps_adapter",
    "load_adapter",
    "loads_adapter",
    "suggest_adapter",
    "unit_conversion",
]

SCHEMA_ID = "urn:postpilot:schema:adapter:1"
STEPS = ("rename", "drop", "coerce", "units", "defaults", "derive")
"""The steps, in the order they run (and are written)."""
COERCE_TYPES = ("int", "float", "string", "bool", "datetime", "date")
CoerceType = Literal["int", "float", "string", "bool", "datetime", "date"]
FailureKind = Literal["coerce", "unit", "derive", "record"]
_T = TypeVar("_T")


# --- unit names, read from the conversions the contract check recognises ----------------


def _unit_key(text: str) -> str:
    key = re.sub(r"^(?:a|an|the|degrees)\s+", "", text.strip().lower())
    return re.sub(r"\s+", "_", key)


def _unit_graph() -> dict[str, list[tuple[str, float, float]]]:
    """Every unit named in :data:`~postpilot.contracts.units.CONVERSIONS`' descriptions
    ("x100 (dollars to cents, ...)"), with the conversions to its neighbours."""
    graph: dict[str, list[tuple[str, float, float]]] = {}
    for conversion in CONVERSIONS:
        for old, new in _named_pairs(conversion):
            f, o = conversion.factor, conversion.offset
            graph.setdefault(old, []).append((new, f, o))
            graph.setdefault(new, []).append((old, 1 / f, -o / f))
    return graph


def _named_pairs(conversion: Conversion) -> list[tuple[str, str]]:
    """The ``(from, to)`` unit names a forward conversion's description gives."""
    if conversion.description.startswith("the reverse of"):
        return []
    inside = conversion.description.partition("(")[2].rstrip(")")
    pairs = []
    for part in re.split(r",\s*", inside):
        text = re.sub(r"^(?:or|for example)\s+", "", part.split(": ")[-1])
        if " to " in text:
            old, new = text.split(" to ", 1)
            pairs.append((_unit_key(old), _unit_key(new)))
    return pairs


_GRAPH = _unit_graph()
_ALIASES = {
    "mm": "millimetres",
    "millimeters": "millimetres",
    "cm": "centimetres",
    "centimeters": "centimetres",
    "m": "metres",
    "meters": "metres",
    "in": "inches",
    "inch": "inches",
    "ft": "feet",
    "foot": "feet",
    "g": "grams",
    "kg": "kilograms",
    "lb": "pounds",
    "lbs": "pounds",
    "oz": "ounces",
    "s": "seconds",
    "ms": "milliseconds",
    "ns": "nanoseconds",
    "min": "minutes",
    "h": "hours",
    "percent": "percentage",
    "c": "celsius",
    "f": "fahrenheit",
}
UNIT_NAMES: tuple[str, ...] = tuple(sorted(_GRAPH))
"""The unit names ``units: {from: ..., to: ...}`` accepts (also in the singular, and
common abbreviations: mm, cm, m, in, ft, g, kg, lb, oz, s, ms, min, h, c, f)."""


def _canonical(name: str) -> str | None:
    key = _unit_key(name)
    key = _ALIASES.get(key, key)
    for candidate in (key, f"{key}s", f"{key}es"):
        if candidate in _GRAPH:
            return candidate
    return None


def unit_conversion(old: str, new: str) -> tuple[float, float]:
    """``(factor, offset)`` turning a value in unit ``old`` into unit ``new``
    (``new = old * factor + offset``), through the known conversions; ValueError
    when a name is unknown or no conversion links the two.

    >>> unit_conversion("cents", "dollars"), unit_conversion("inches", "mm")
    ((0.01, 0.0), (25.4, 0.0))
    """
    start, goal = _canonical(old), _canonical(new)
    for name, found in ((old, start), (new, goal)):
        if found is None:
            raise ValueError(f"unknown unit {name!r}; known: {', '.join(UNIT_NAMES)}")
    assert start is not None
    assert goal is not None
    if start == goal:
        raise ValueError(f"{old!r} and {new!r} are the same unit")
    seen = {start: (1.0, 0.0)}
    queue = deque([start])
    while queue:
        unit = queue.popleft()
        f, o = seen[unit]
        for neighbour, f2, o2 in _GRAPH[unit]:
            if neighbour not in seen:
                seen[neighbour] = (f * f2, o * f2 + o2)
                queue.append(neighbour)
    if goal not in seen:
        raise ValueError(f"no known conversion from {old!r} to {new!r}")
    return seen[goal]


# --- the file's model --------------------------------------------------------------------

FieldName = Annotated[str, Field(min_length=1, max_length=200)]


def _expression(text: str) -> str:
    try:
        compile_expression(text)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return text


def _number_as_text(value: Any) -> Any:
    """``n: 2`` in YAML is the constant expression ``"2"``."""
    return str(value) if isinstance(value, bool | int | float) else value


ExpressionText = Annotated[
    str, BeforeValidator(_number_as_text), Field(min_length=1), AfterValidator(_expression)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class UnitSpec(_Strict):
    """One conversion: by unit names (``from``, ``to``) or by ``multiply`` and ``add``
    (``new = old * multiply + add``); ``round`` rounds the result to that many decimals
    (0: to an integer)."""

    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    multiply: float | None = None
    add: float | None = None
    round: int | None = Field(default=None, ge=0, le=15)

    @field_validator("from_", "to")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and _canonical(value) is None:
            raise ValueError(f"unknown unit {value!r}; known: {', '.join(UNIT_NAMES)}")
        return value

    @field_validator("multiply", "add")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> UnitSpec:
        named = self.from_ is not None or self.to is not None
        if named and (self.multiply is not None or self.add is not None):
            raise ValueError("give either from/to or multiply/add, not both")
        if named and (self.from_ is None or self.to is None):
            raise ValueError("from and to go together: {from: cents, to: dollars}")
        if not named and self.multiply is None and self.add is None:
            raise ValueError("give from/to ({from: cents, to: dollars}) or multiply/add")
        if self.multiply == 0:
            raise ValueError("multiply: 0 would turn every value into the same number")
        if named:
            assert self.from_ is not None
            assert self.to is not None
            unit_conversion(self.from_, self.to)
        return self

    def conversion(self) -> tuple[float, float]:
        """``(factor, offset)``: ``new = old * factor + offset``."""
        if self.from_ is not None and self.to is not None:
            return unit_conversion(self.from_, self.to)
        return (1.0 if self.multiply is None else self.multiply, self.add or 0.0)


class Adapter(_Strict):
    """An input adapter file (see the module docstring). Load with :func:`load_adapter`."""

    schema_version: Literal[1] = 1
    product: str = Field(min_length=1, max_length=100)
    consumer: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = None
    rename: dict[FieldName, FieldName] = Field(default_factory=dict)
    drop: list[FieldName] = Field(default_factory=list)
    coerce: dict[FieldName, CoerceType] = Field(default_factory=dict)
    units: dict[FieldName, UnitSpec] = Field(default_factory=dict)
    defaults: dict[FieldName, bool | int | float | str] = Field(default_factory=dict)
    derive: dict[FieldName, ExpressionText] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Adapter:
        problems = _cross_check(self)
        if problems:
            raise ValidationError.from_exception_data(
                "Adapter",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("adapter", message), loc=loc, input=None
                    )
                    for loc, message in problems
                ],
            )
        return self


def _cross_check(a: Adapter) -> list[tuple[tuple[str | int, ...], str]]:
    """Mistakes between steps, each at its place in the file."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    targets: dict[str, str] = {}
    for old, new in a.rename.items():
        if old == new:
            out.append((("rename", old), f"{old!r} is renamed to itself; remove it"))
        elif new in targets:
            out.append(
                (
                    ("rename", old),
                    f"{targets[new]!r} is already renamed to {new!r}; two fields cannot "
                    "take one name",
                )
            )
        elif new in a.rename and a.rename[new] != old:
            out.append(
                (
                    ("rename", old),
                    f"{new!r} is renamed too (to {a.rename[new]!r}): renames apply at once, "
                    f"so a chain is ambiguous; rename {old!r} straight to its final name "
                    "(only a swap, a: b with b: a, may name a field on both sides)",
                )
            )
        targets.setdefault(new, old)
    dropped: set[str] = set()
    for index, name in enumerate(a.drop):
        if name in dropped:
            out.append((("drop", index), f"{name!r} is listed twice"))
        elif name in targets:
            out.append(
                (
                    ("drop", index),
                    f"{name!r} is what {targets[name]!r} is renamed to; to remove the "
                    f"field, delete the rename and drop {targets[name]!r}",
                )
            )
        elif name in a.rename:
            out.append(
                (
                    ("drop", index),
                    f"{name!r} is renamed to {a.rename[name]!r} before drop runs; "
                    "delete the rename to drop it",
                )
            )
        dropped.add(name)
    gone = {name: "dropped" for name in dropped}
    gone.update({old: f"renamed to {new!r}" for old, new in a.rename.items() if old not in targets})
    for step in ("coerce", "units", "defaults"):
        for name in getattr(a, step):
            if name in gone:
                fix = "name it by its new name" if name in a.rename else "remove it from drop"
                out.append(((step, name), f"{name!r} is {gone[name]} before {step} runs; {fix}"))
    for name in a.units:
        if a.coerce.get(name, "float") not in ("int", "float"):
            out.append(
                (
                    ("units", name),
                    f"{name!r} is coerced to {a.coerce[name]}; a unit conversion needs a number",
                )
            )
    derived: list[str] = []
    for name, text in a.derive.items():
        if name in dropped:
            out.append(
                (("derive", name), f"{name!r} is dropped before derive runs; remove it from drop")
            )
        later = list(a.derive)[len(derived) + 1 :]
        for field in sorted(compile_expression(text).fields):
            if field in derived:
                continue
            if field in gone:
                out.append((("derive", name), f"reads {field!r}, which is {gone[field]}"))
            elif field in later:
                out.append(
                    (
                        ("derive", name),
                        f"reads {field!r}, which is derived below it; derive computes fields "
                        f"in the order written, so move {field!r} above {name!r}",
                    )
                )
        derived.append(name)
    return out


# --- reading and writing -----------------------------------------------------------------


def load_adapter(path: str | Path) -> Adapter:
    """Load an adapter file; a malformed file raises :class:`AdapterError` listing every
    mistake as ``file:line: field.path: problem``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AdapterError(f"adapter file not found: {file}", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AdapterError(f"cannot read adapter file: {exc}", file=str(file)) from exc
    return loads_adapter(text, source=str(file))


def loads_adapter(text: str, source: str = "<adapter>") -> Adapter:
    """The adapter in ``text`` (YAML); see :func:`load_adapter`."""
    data, node = load_yaml_document(text, source, AdapterError, unique_keys=True)
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise AdapterError(
            f"{source}:1: an adapter is a mapping with schema_version, product and its "
            f"steps ({', '.join(STEPS)}), got {found}",
            file=source,
        )
    try:
        return Adapter.model_validate(data)
    except ValidationError as exc:
        raise_problems(AdapterError, describe_errors(exc, Adapter, node, source), source)


def dumps_adapter(adapter: Adapter, *, comments: Mapping[str, str] | None = None) -> str:
    """The adapter as YAML that :func:`loads_adapter` reads back equal, its steps in the
    order they run. ``comments`` are written above keys: ``"units.amount_usd"`` above
    that entry, ``"rename"`` above the whole step (a comment may span lines)."""
    notes = dict(comments or {})
    lines = [
        "# postpilot input adapter: edit by hand, keep schema_version.",
        f"# Steps run in this order: {', '.join(STEPS)}.",
    ]
    data = adapter.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in ("schema_version", "product", "consumer", "description"):
        if key in data:
            lines += _comment(notes.get(key), "") + _entry(key, data[key], "")
    for step in STEPS:
        value = data.get(step)
        if not value:
            continue
        lines += _comment(notes.get(step), "")
        if step == "drop":
            lines += _entry(step, value, "")
            continue
        lines.append(f"{step}:")
        for name, item in value.items():
            lines += _comment(notes.get(f"{step}.{name}"), "  ")
            lines += _entry(name, item, "  ")
    return "\n".join(lines) + "\n"


def _comment(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    return [f"{indent}# {line}".rstrip() for line in text.splitlines()]


class _Entry(dict[str, Any]):
    """One ``key: value`` line, written in block style (its value in flow style)."""


class _Dumper(yaml.SafeDumper):
    def represent_entry(self, data: _Entry) -> yaml.Node:
        return self.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)


_Dumper.add_representer(_Entry, _Dumper.represent_entry)


def _entry(key: str, value: Any, indent: str) -> list[str]:
    text: str = yaml.dump(
        _Entry({key: value}),
        Dumper=_Dumper,
        default_flow_style=True,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 30,
    )
    return [indent + line for line in text.splitlines()]


def adapter_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an adapter file, for editors."""
    schema = Adapter.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


# --- applying ----------------------------------------------------------------------------


class RecordAdaptError(AdapterError):
    """A record the adapter cannot adapt: ``field`` is the field at fault and ``kind``
    the step (``coerce``, ``unit``, ``derive``; ``record`` when it is not a mapping)."""

    def __init__(self, message: str, *, field: str | None, kind: FailureKind) -> None:
        super().__init__(message, field=field)
        self.kind: FailureKind = kind

    def __str__(self) -> str:
        return self.message


def _parse(parse: Callable[[str], _T], text: str, what: str) -> _T:
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"it is not {what}") from None


_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _to_int(v: Any) -> int:
    if v.__class__ is int:
        return v
    if isinstance(v, str):
        text = v.strip()
        try:
            return int(text)
        except ValueError:
            v = _parse(float, text, "a number")  # "12.0"
    if isinstance(v, float) and not isinstance(v, bool):
        if v.is_integer():
            return int(v)
        raise ValueError("it is not a whole number" if math.isfinite(v) else "it is not finite")
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    raise TypeError


def _to_float(v: Any) -> float:
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, str):
        v = _parse(float, v.strip(), "a number")
    elif not isinstance(v, int | float):
        raise TypeError
    result = float(v)
    if not math.isfinite(result):
        raise ValueError("it is not a finite number")
    return result


def _to_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, date):
        return v.isoformat()
    raise TypeError


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    key = v.strip().lower() if isinstance(v, str) else v if isinstance(v, int) else None
    if key in _TRUE or key == 1:
        return True
    if key in _FALSE or key == 0:
        return False
    raise ValueError("it is not one of true/false, yes/no, 1/0")


def _to_datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime.combine(v, time())
    if isinstance(v, str):
        return _parse(datetime.fromisoformat, v.strip(), "an ISO-8601 datetime")
    raise TypeError


def _to_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        text = v.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            return _parse(datetime.fromisoformat, text, "an ISO-8601 date").date()
    raise TypeError


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "float": _to_float,
    "string": _to_string,
    "bool": _to_bool,
    "datetime": _to_datetime,
    "date": _to_date,
}


def _unit_step(spec: UnitSpec) -> Callable[[Any], Any]:
    """The conversion of one value. A factor that is 1/n for a whole n divides by n
    (``1234 / 100`` is exact where ``1234 * 0.01`` is not), an int stays an int when the
    result is whole, and ``round`` rounds (``round: 0`` gives an int)."""
    factor, offset = spec.conversion()
    divisor = round(1 / factor) if abs(factor) < 1 else 0
    if divisor and abs(1 / factor - divisor) > 1e-9 * abs(divisor):
        divisor = 0
    whole_offset = offset.is_integer()
    int_factor = int(factor) if factor.is_integer() else None
    digits = spec.round

    def convert(v: Any) -> Any:
        if v.__class__ is bool or not isinstance(v, int | float):
            raise TypeError
        if v.__class__ is int and whole_offset:
            if int_factor is not None:
                return v * int_factor + int(offset)
            if divisor:
                quotient, remainder = divmod(v, divisor)
                if not remainder:
                    return quotient + int(offset)
        result = v / divisor + offset if divisor else v * factor + offset
        if digits is not None:
            return round(result) if digits == 0 else round(result, digits)
        if v.__class__ is int and result.is_integer():
            return int(result)
        return result

    return convert


def _failure(step: str, name: str, value: Any, problem: str) -> str:
    return f"{step} {name!r}: cannot convert {kind_of(value)}{problem}"


class CompiledAdapter:
    """An adapter prepared for the hot path: call it with a record (a mapping) to get a
    new, adapted dict; the record itself is never changed. Raises
    :class:`RecordAdaptError` for a record it cannot adapt.

    Speed: about 330,000 records/s on one core for a 5-step adapter (rename, coerce,
    units, defaults and derive ``clicks / max(visits, 1)`` over a 10-field record;
    CPython 3.11, ``timeit`` best of 5 runs of 200,000 calls, measured when this was
    written).
    """

    __slots__ = ("_apply", "adapter")

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self._apply = _plan(adapter)

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self._apply(record)

    def __repr__(self) -> str:
        who = f", consumer={self.adapter.consumer!r}" if self.adapter.consumer else ""
        return f"CompiledAdapter(product={self.adapter.product!r}{who})"


def compile_adapter(adapter: Adapter) -> CompiledAdapter:
    """The :class:`CompiledAdapter` for ``adapter``."""
    return CompiledAdapter(adapter)


def _plan(adapter: Adapter) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    renames = tuple(adapter.rename.items())
    skip = frozenset(adapter.rename) | frozenset(adapter.drop)
    coerce = tuple((name, _COERCERS[kind], kind) for name, kind in adapter.coerce.items())
    units = tuple((name, _unit_step(spec)) for name, spec in adapter.units.items())
    defaults = tuple(adapter.defaults.items())
    derive = tuple((name, compile_expression(text)) for name, text in adapter.derive.items())
    _Bad = (TypeError, ValueError, ArithmeticError)

    def apply(record: Mapping[str, Any]) -> dict[str, Any]:
        if record.__class__ is not dict and not isinstance(record, Mapping):
            raise RecordAdaptError(
                f"a record must be a mapping of field names to values, got {kind_of(record)}",
                field=None,
                kind="record",
            )
        if skip:
            out = {k: v for k, v in record.items() if k not in skip}
            for old, new in renames:
                if old in record:
                    out[new] = record[old]
        else:
            out = dict(record)
        for name, fn, kind in coerce:
            v = out.get(name)
            if v is not None:
                try:
                    out[name] = fn(v)
                except _Bad as exc:
                    detail = f": {describe_failure(exc)}" if str(exc) else ""
                    raise RecordAdaptError(
                        _failure("coerce", name, v, f" to {kind}{detail}"),
                        field=name,
                        kind="coerce",
                    ) from None
        for name, convert in units:
            v = out.get(name)
            if v is not None:
                try:
                    out[name] = convert(v)
                except _Bad as exc:
                    detail = f": {describe_failure(exc)}" if str(exc) else " (it needs a number)"
                    raise RecordAdaptError(
                        _failure("units", name, v, detail), field=name, kind="unit"
                    ) from None
        for name, default in defaults:
            if out.get(name) is None:
                out[name] = default
        for name, expression in derive:
            try:
                out[name] = expression.fn(out)
            except EvaluationError as exc:
                raise RecordAdaptError(
                    f"derive {name!r} = {expression.text}: {exc.message}",
                    field=exc.field or name,
                    kind="derive",
                ) from None
            except _Bad as exc:
                raise RecordAdaptError(
                    f"derive {name!r} = {expression.text}: {describe_failure(exc)}",
                    field=name,
                    kind="derive",
                ) from None
        return out

    return apply


# --- suggesting --------------------------------------------------------------------------


def suggest_adapter(
    result: CheckResult, *, product: str, consumer: str | None = None
) -> tuple[Adapter, dict[str, str]]:
    """An adapter undoing what a contract check found (renames, swapped columns and unit
    changes), and the evidence for each entry, keyed for :func:`dumps_adapter`'s
    ``comments``. A unit change converts the batch's unit back to the contract's (a batch
    in cents against a contract in dollars divides by 100), on the contract's name when
    the column was renamed too, rounding to an integer when the contract column is an int
    and the batch's is not. A type change from text to a contract type becomes a coerce."""
    rename: dict[str, str] = {}
    comments: dict[str, str] = {}
    for finding in result.findings:
        if finding.kind is Kind.LIKELY_RENAME:
            old, new = str(finding.details["from"]), str(finding.details["to"])
            rename[new] = old
            evidence = finding.details.get("evidence", {})
            comments[f"rename.{new}"] = (
                f"likely rename of {old!r}: confidence {finding.details['confidence']:.0%} "
                f"(name similarity {evidence.get('name_similarity', '?')}, distribution "
                f"similarity {evidence.get('distribution_similarity', '?')})"
            )
    incoming = {contract: batch for batch, contract in rename.items()}
    for finding in result.findings:
        if finding.kind is Kind.SWAPPED_COLUMNS and len(finding.details.get("columns", ())) == 2:
            a, b = (str(c) for c in finding.details["columns"])
            in_a, in_b = incoming.get(a, a), incoming.get(b, b)
            rename[in_a], rename[in_b] = b, a
            distances = ", ".join(f"{d:g}" for d in finding.details.get("distance", {}).values())
            for name in (in_a, in_b):
                comments[f"rename.{name}"] = (
                    f"columns {a!r} and {b!r} look swapped: each one's values fit the other's "
                    f"reference (fit distances {distances or '?'})"
                )
    types = {
        f.column: f.details
        for f in result.findings
        if f.kind is Kind.TYPE_CHANGE and f.column is not None
    }
    units: dict[str, UnitSpec] = {}
    coerce: dict[str, CoerceType] = {}
    for finding in result.findings:
        if finding.kind is not Kind.UNIT_CHANGE or finding.column is None:
            continue
        name = rename.get(finding.column, finding.column)
        factor, offset = float(finding.details["factor"]), float(finding.details["offset"])
        whole = types.get(finding.column, {}).get("expected") == "int"
        units[name] = _undo(factor, offset, 0 if whole else None)
        comments[f"units.{name}"] = (
            f"unit change: the batch's {finding.column!r} is the contract's {name!r} converted "
            f"by {_description(factor, offset)}; quantile ratios "
            f"{finding.details.get('quantile_ratios')}, fit distance "
            f"{finding.details.get('distance')} within {finding.details.get('tolerance')}"
        )
    for column, details in types.items():
        expected, got = details.get("expected"), details.get("got")
        name = rename.get(column, column)
        if got == "string" and expected in COERCE_TYPES and name not in units:
            coerce[name] = expected
            comments[f"coerce.{name}"] = f"the batch has text where the contract has {expected}"
    adapter = Adapter(product=product, consumer=consumer, rename=rename, coerce=coerce, units=units)
    return adapter, comments


def _conversion_of(factor: float, offset: float) -> Conversion | None:
    return next((c for c in CONVERSIONS if c.factor == factor and c.offset == offset), None)


def _description(factor: float, offset: float) -> str:
    conversion = _conversion_of(factor, offset)
    if conversion is not None:
        return conversion.description
    return f"x{factor:g}{f' {offset:+g}' if offset else ''} (not a known conversion)"


def _undo(factor: float, offset: float, digits: int | None) -> UnitSpec:
    """The spec converting ``batch = contract * factor + offset`` back to the contract: by
    unit names when the conversion names exactly one pair of units, else by numbers."""
    conversion = _conversion_of(factor, offset)
    if conversion is not None:
        forward = conversion
        reverse = False
        if conversion.description.startswith("the reverse of"):
            forward = next(
                (c for c in CONVERSIONS if c.inverse().description == conversion.description),
                conversion,
            )
            reverse = True
        pairs = _named_pairs(forward)
        if len(pairs) == 1:
            contract_unit, batch_unit = pairs[0][::-1] if reverse else pairs[0]
            return UnitSpec.model_validate(
                {"from": batch_unit, "to": contract_unit, "round": digits}
            )
    multiply = float(f"{1 / factor:.12g}")
    add = float(f"{-offset / factor:.12g}") if offset else None
    return UnitSpec(multiply=multiply, add=add, round=digits)
