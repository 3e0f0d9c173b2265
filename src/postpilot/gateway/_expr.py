"""The expression language of an adapter's ``derive`` step: small, safe, compiled once.

An expression is parsed with :func:`ast.parse` (``mode="eval"``) and every node is
checked against a whitelist, then turned into a tree of closures; user text is never
given to ``eval`` or ``exec``. What it may use:

- numbers, strings, ``True``, ``False``, ``None`` and field names (``amount_usd``);
- ``+ - * / // % **``, unary ``-`` and ``+``, comparisons (``== != < <= > >=``,
  chained), ``and``, ``or``, ``not`` and ``a if condition else b``;
- the functions in :data:`FUNCTIONS`: ``abs min max round log exp sqrt lower upper
  strip float int str coalesce``.

Anything else (attribute access, subscripts, lambdas, comprehensions, other names
called as functions) is refused when the adapter is loaded, as is a constant part
that cannot be computed (``10 ** 10 ** 10``, ``1 / 0``): constant parts are computed
once, at load. At run time ``*``, ``%`` and ``**`` take numbers only (no string
repetition or formatting), an integer result larger than :data:`MAX_INT_BITS` bits
is refused, and a null (``None``) operand makes arithmetic, ordering comparisons and
functions other than ``coalesce`` null; ``==`` and ``!=`` compare as Python does, and
``and``, ``or``, ``not`` and ``if`` take null as false.

>>> ratio = compile_expression("clicks / max(visits, 1)")
>>> sorted(ratio.fields), ratio({"clicks": 3, "visits": 0}), ratio({"clicks": None, "visits": 2})
(['clicks', 'visits'], 3.0, None)
>>> compile_expression("x.__class__")
Traceback (most recent call last):
...
postpilot.gateway._expr.ExpressionError: not allowed: attribute access (`x.__class__`); ...
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "MAX_LENGTH",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "compile_expression",
]

MAX_LENGTH = 1000
"""The longest expression accepted, in characters."""
MAX_DEPTH = 40
"""How deeply an expression's syntax tree may nest."""
MAX_INT_BITS = 4096
"""The largest integer a ``*`` or ``**`` may produce (about 1,200 digits)."""
_MAX_ROUND_DIGITS = 100
_MAX_SHOWN = 40

Record = Mapping[str, Any]
_Fn = Callable[[Record], Any]


class ExpressionError(ValueError):
    """An expression the language does not allow (raised when the adapter loads)."""


class EvaluationError(Exception):
    """An expression could not be computed for one record; ``field`` is the input field
    at fault when one is (a field the record does not have)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: its ``text``, the ``fields`` it reads, and the closure
    ``fn`` (which may raise TypeError, ValueError or ArithmeticError besides
    :class:`EvaluationError`; calling the expression turns those into the latter)."""

    text: str
    fields: frozenset[str]
    fn: _Fn

    def __call__(self, record: Record) -> Any:
        try:
            return self.fn(record)
        except EvaluationError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise EvaluationError(describe_failure(exc)) from exc


def describe_failure(exc: BaseException) -> str:
    """A Python error raised while computing, as one short line."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def kind_of(value: Any) -> str:
    """The value's type, and the value itself when it is short: ``a str ('abc')``."""
    if value is None:
        return "null"
    name = type(value).__name__
    article = "an" if name[:1] in "aeiou" else "a"
    text = repr(value)
    return f"{article} {name} ({text})" if len(text) <= _MAX_SHOWN else f"{article} {name}"


# --- run-time operations ----------------------------------------------------------------


def _numbers(symbol: str, a: Any, b: Any) -> None:
    if not (isinstance(a, int | float) and isinstance(b, int | float)):
        raise EvaluationError(f"{symbol} takes numbers, got {kind_of(a)} and {kind_of(b)}")


def _mul(a: Any, b: Any) -> Any:
    _numbers("*", a, b)
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise EvaluationError(f"the product is larger than {MAX_INT_BITS} bits")
    return a * b


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 20 else text[:17] + "..."


def _mod(a: Any, b: Any) -> Any:
    _numbers("%", a, b)
    return a % b


def _pow(a: Any, b: Any) -> Any:
    _numbers("**", a, b)
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
        raise EvaluationError(f"{_brief(a)} ** {_brief(b)} is larger than {MAX_INT_BITS} bits")
    result = a**b
    if isinstance(result, complex):
        raise EvaluationError(f"{_brief(a)} ** {_brief(b)} is not a real number")
    return result


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}
_ORDERING: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_EQUALITY: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _number(name: str, value: Any) -> float | int:
    if not isinstance(value, int | float):
        raise EvaluationError(f"{name}() takes a number, got {kind_of(value)}")
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EvaluationError(f"{name}() takes a string, got {kind_of(value)}")
    return value


def _round(x: Any, digits: Any = None) -> Any:
    _number("round", x)
    if digits is None:
        return round(x)
    if not isinstance(digits, int) or isinstance(digits, bool):
        raise EvaluationError(f"round()'s digits must be an integer, got {kind_of(digits)}")
    if abs(digits) > _MAX_ROUND_DIGITS:
        raise EvaluationError(f"round()'s digits must be within +-{_MAX_ROUND_DIGITS}")
    return round(x, digits)


def _log(x: Any, base: Any = None) -> float:
    _number("log", x)
    return math.log(x) if base is None else math.log(x, _number("log", base))


def _convert(name: str, kind: type[Any], value: Any) -> Any:
    if not isinstance(value, str | int | float):
        raise EvaluationError(f"{name}() takes a number or a string, got {kind_of(value)}")
    return kind(value.strip() if isinstance(value, str) else value)


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise EvaluationError(f"str() takes a number, a string or a bool, got {kind_of(value)}")
    return str(value)


def _minmax(name: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return pick(args)

    call.__name__ = name
    return call


FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "abs": (1, 1, lambda x: abs(_number("abs", x))),
    "min": (2, 20, _minmax("min", min)),
    "max": (2, 20, _minmax("max", max)),
    "round": (1, 2, _round),
    "log": (1, 2, _log),
    "exp": (1, 1, lambda x: math.exp(_number("exp", x))),
    "sqrt": (1, 1, lambda x: math.sqrt(_number("sqrt", x))),
    "lower": (1, 1, lambda s: _text("lower", s).lower()),
    "upper": (1, 1, lambda s: _text("upper", s).upper()),
    "strip": (1, 1, lambda s: _text("strip", s).strip()),
    "float": (1, 1, lambda x: _convert("float", float, x)),
    "int": (1, 1, lambda x: _convert("int", int, x)),
    "str": (1, 1, _str),
    "coalesce": (1, 20, lambda *args: next((a for a in args if a is not None), None)),
}
"""Each function allowed: (fewest arguments, most arguments, implementation)."""


# --- checking and compiling -------------------------------------------------------------

_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignments (:=)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.JoinedStr: "f-strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Starred: "starred arguments",
    ast.Slice: "slices",
}
_ALLOWED = (
    "an expression uses fields, numbers, strings, + - * / // % **, comparisons, "
    "and/or/not, `a if c else b` and the functions " + ", ".join(FUNCTIONS)
)


@functools.lru_cache(maxsize=1024)
def compile_expression(text: str) -> Expression:
    """The compiled expression in ``text``; :class:`ExpressionError` saying what is not
    allowed (and where) when the language does not allow it."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression is a string, got {kind_of(text)}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; at most {MAX_LENGTH}"
        )
    try:
        with warnings.catch_warnings():  # "1and x", "'\\d'": refused rather than printed
            warnings.simplefilter("error")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"not a valid expression{where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError, Warning) as exc:
        raise ExpressionError(f"not a valid expression: {describe_failure(exc)}") from None
    compiler = _Compiler(text.strip())
    fn, _ = compiler.compile(tree.body, 1)
    return Expression(text, frozenset(compiler.fields), fn)


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text
        self.fields: set[str] = set()

    def refuse(self, node: ast.AST, problem: str) -> ExpressionError:
        shown = ast.get_source_segment(self.text, node) or ast.unparse(node)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return ExpressionError(f"not allowed: {problem} (`{shown}`); {_ALLOWED}")

    def compile(self, node: ast.expr, depth: int) -> tuple[_Fn, bool]:
        """The closure of ``node`` and whether it is constant (reads no field); a
        constant part is computed here, once."""
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests more than {MAX_DEPTH} levels deep")
        fn, constant = self._node(node, depth)
        if constant and not isinstance(node, ast.Constant):
            try:
                value = fn({})
            except EvaluationError as exc:
                raise self.constant_error(node, exc.message) from None
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise self.constant_error(node, describe_failure(exc)) from None
            return (lambda _r, v=value: v), True
        return fn, constant

    def constant_error(self, node: ast.AST, problem: str) -> ExpressionError:
        shown = ast.get_source_segment(self.text, node) or ast.unparse(node)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return ExpressionError(f"`{shown}` cannot be computed: {problem}")

    def _node(self, node: ast.expr, depth: int) -> tuple[_Fn, bool]:
        if isinstance(node, ast.Constant):
            value = node.value
            if value is not None and not isinstance(value, bool | int | float | str):
                raise self.refuse(node, f"a {type(value).__name__} constant")
            return (lambda _r, v=value: v), True
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node, depth)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, depth)
        if isinstance(node, ast.BoolOp):
            return self._boolean(node, depth)
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.IfExp):
            test, c1 = self.compile(node.test, depth + 1)
            body, c2 = self.compile(node.body, depth + 1)
            orelse, c3 = self.compile(node.orelse, depth + 1)
            return (lambda r: body(r) if test(r) else orelse(r)), c1 and c2 and c3
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        problem = _REFUSED.get(type(node), type(node).__name__)
        raise self.refuse(node, problem)

    def _name(self, node: ast.Name) -> tuple[_Fn, bool]:
        name = node.id
        if name in FUNCTIONS:
            raise ExpressionError(f"{name} is a function: call it, as in {name}(x)")
        self.fields.add(name)

        def field(record: Record) -> Any:
            try:
                return record[name]
            except KeyError:
                raise EvaluationError(f"field {name!r} is not in the record", name) from None

        return field, False

    def _binary(self, node: ast.BinOp, depth: int) -> tuple[_Fn, bool]:
        op = _BINARY.get(type(node.op))
        if op is None:
            symbol = type(node.op).__name__
            raise self.refuse(node, f"the operator {symbol}")
        left, c1 = self.compile(node.left, depth + 1)
        right, c2 = self.compile(node.right, depth + 1)

        def binary(record: Record) -> Any:
            a = left(record)
            b = right(record)
            if a is None or b is None:
                return None
            return op(a, b)

        return binary, c1 and c2

    def _unary(self, node: ast.UnaryOp, depth: int) -> tuple[_Fn, bool]:
        operand, constant = self.compile(node.operand, depth + 1)
        if isinstance(node.op, ast.Not):
            return (lambda r: not operand(r)), constant
        if isinstance(node.op, ast.USub | ast.UAdd):
            sign = operator.neg if isinstance(node.op, ast.USub) else operator.pos

            def unary(record: Record) -> Any:
                value = operand(record)
                if value is None:
                    return None
                if not isinstance(value, int | float):
                    raise EvaluationError(f"unary minus takes a number, got {kind_of(value)}")
                return sign(value)

            return unary, constant
        raise self.refuse(node, "the operator ~")

    def _boolean(self, node: ast.BoolOp, depth: int) -> tuple[_Fn, bool]:
        parts = [self.compile(value, depth + 1) for value in node.values]
        fns = [fn for fn, _ in parts]
        constant = all(c for _, c in parts)
        if isinstance(node.op, ast.And):

            def all_of(record: Record) -> Any:
                value = None
                for fn in fns:
                    value = fn(record)
                    if not value:
                        return value
                return value

            return all_of, constant

        def any_of(record: Record) -> Any:
            value = None
            for fn in fns:
                value = fn(record)
                if value:
                    return value
            return value

        return any_of, constant

    def _compare(self, node: ast.Compare, depth: int) -> tuple[_Fn, bool]:
        ops: list[tuple[Callable[[Any, Any], Any], bool]] = []
        for op in node.ops:
            if type(op) in _ORDERING:
                ops.append((_ORDERING[type(op)], True))
            elif type(op) in _EQUALITY:
                ops.append((_EQUALITY[type(op)], False))
            else:
                symbol = {ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
                raise self.refuse(node, f"the comparison `{symbol.get(type(op), '?')}`")
        parts = [self.compile(node.left, depth + 1)]
        parts += [self.compile(c, depth + 1) for c in node.comparators]
        fns = [fn for fn, _ in parts]
        constant = all(c for _, c in parts)
        steps = list(zip(ops, fns[1:], strict=True))
        first = fns[0]

        def compare(record: Record) -> Any:
            a = first(record)
            for (op, ordering), fn in steps:
                b = fn(record)
                if ordering and (a is None or b is None):
                    return None
                if not op(a, b):
                    return False
                a = b
            return True

        return compare, constant

    def _call(self, node: ast.Call, depth: int) -> tuple[_Fn, bool]:
        if isinstance(node.func, ast.Attribute) and node.func.attr in FUNCTIONS:
            name = node.func.attr
            raise ExpressionError(f"not allowed: method calls; write {name}(x), not x.{name}()")
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, "calling anything but a named function")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(f"unknown function {name!r}; allowed: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExpressionError(f"{name}() takes no keyword arguments")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(node, "starred arguments")
        fewest, most, impl = FUNCTIONS[name]
        if not fewest <= len(node.args) <= most:
            count = f"{fewest}" if fewest == most else f"{fewest} to {most}"
            raise ExpressionError(f"{name}() takes {count} argument(s), got {len(node.args)}")
        parts = [self.compile(a, depth + 1) for a in node.args]
        fns = [fn for fn, _ in parts]
        constant = all(c for _, c in parts)
        if name == "coalesce":

            def coalesce(record: Record) -> Any:
                for fn in fns:
                    value = fn(record)
                    if value is not None:
                        return value
                return None

            return coalesce, constant
        if len(fns) == 1:
            (only,) = fns

            def call1(record: Record) -> Any:
                value = only(record)
                return None if value is None else impl(value)

            return call1, constant

        def call(record: Record) -> Any:
            args = [fn(record) for fn in fns]
            if any(a is None for a in args):
                return None
            return impl(*args)

        return call, constant
