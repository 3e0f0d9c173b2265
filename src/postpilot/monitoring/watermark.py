"""A SQL source's watermark, stored as text and bound back exactly as it was read.

``monitor run`` remembers, per product, the largest value of the source's
watermark column it has processed, and asks next time for the rows above it.
The value is stored as JSON ``{"type": ..., "value": ...}`` with the Python
type the database driver returned, so the value bound into the next query is
the same value of the same type: an ``int`` stays an ``int`` (never ``5.0``),
a ``Decimal`` keeps its digits, a ``float`` its every bit (``repr``), a
datetime its microseconds and its UTC offset, or its lack of one.

>>> from datetime import datetime, timezone
>>> text = dump_watermark(datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc))
>>> text
'{"type":"datetime","value":"2026-03-01T09:30:00+00:00"}'
>>> load_watermark(text)
datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.timezone.utc)
>>> load_watermark(dump_watermark(12))
12
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from postpilot.errors import InputError

__all__ = ["WATERMARK_TYPES", "Watermark", "dump_watermark", "load_watermark", "watermark_text"]

Watermark = int | float | Decimal | date | datetime | str
"""The Python types a watermark may hold (what drivers return for numbers, dates,
timestamps and text)."""

_LOADERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "decimal": Decimal,
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
    "str": str,
}
WATERMARK_TYPES = tuple(_LOADERS)
"""The ``type`` values of a serialized watermark."""


def _typed(value: object) -> tuple[str, str]:
    """The (type, text) pair of ``value``; InputError for a type that cannot be one."""
    if isinstance(value, bool):  # before int: True is an int to Python, not to a watermark
        pass
    elif isinstance(value, int):
        return "int", str(value)
    elif isinstance(value, float):
        return "float", repr(value)  # the shortest text that reads back as the same bits
    elif isinstance(value, Decimal):
        return "decimal", str(value)
    elif isinstance(value, datetime):  # before date: a datetime is a date to Python
        return "datetime", value.isoformat()
    elif isinstance(value, date):
        return "date", value.isoformat()
    elif isinstance(value, str):
        return "str", value
    raise InputError(
        f"a watermark must be a number, a date, a timestamp or a string; got "
        f"{type(value).__name__} {value!r}",
        field="watermark",
        hint="Use a column that increases with every new row, such as an insertion "
        "timestamp or an auto-incremented id",
    )


def dump_watermark(value: object) -> str:
    """``value`` as the text stored between passes; :func:`load_watermark` reverses it."""
    kind, text = _typed(value)
    return json.dumps({"type": kind, "value": text}, separators=(",", ":"))


def watermark_text(value: object) -> str:
    """``value`` as people read it (the ``value`` part of its serialized form)."""
    return _typed(value)[1]


def load_watermark(text: str) -> Watermark:
    """The value :func:`dump_watermark` serialized, of the same type."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        data = None
    if (
        not isinstance(data, dict)
        or set(data) != {"type", "value"}
        or data["type"] not in _LOADERS
        or not isinstance(data["value"], str)
    ):
        raise InputError(
            f"not a stored watermark: {str(text)[:200]!r}",
            field="watermark",
            hint='A watermark is JSON {"type": T, "value": "..."} with T one of '
            + ", ".join(WATERMARK_TYPES),
        )
    try:
        value: Watermark = _LOADERS[data["type"]](data["value"])
    except (ValueError, InvalidOperation) as exc:
        raise InputError(
            f"the stored watermark {data['value']!r} is not a valid {data['type']}",
            field="watermark",
        ) from exc
    return value
