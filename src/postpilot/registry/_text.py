"""Text the registry stores: checked against the store's limits before any write.

The limits are the ``String(n)`` lengths of :mod:`postpilot.store.models`, read
from the columns themselves, so SQLite (which would accept any length) and
PostgreSQL (which would fail with ``DataError``) refuse the same values, with
the same message, before the store sees them.

* a **name** (a person's, a team's, a product's, a data source's, a model's, a
  contract's) is stripped, must not be empty, must fit its column, and may not
  hold control characters (a NUL byte, a newline, an escape sequence);
* **free text** (a description, a purpose, a reason, a URI) may hold newlines
  and tabs but no NUL byte (PostgreSQL cannot store one), and must fit its
  column when the column is limited.

>>> check_name("  Maya Chen ", field="name", limit=200, what="a person's name")
'Maya Chen'
>>> try:
...     check_name("a\\x00b", field="name", limit=200, what="a person's name")
... except InputError as exc:
...     print(exc.message)
a person's name cannot contain control characters such as '\\x00'
>>> try:
...     check_name("x" * 201, field="name", limit=200, what="a person's name")
... except InputError as exc:
...     print(exc.message)
a person's name has 201 characters; at most 200 fit
"""

from __future__ import annotations

import unicodedata
from typing import Any

from postpilot.errors import InputError

__all__ = ["check_name", "check_text", "limit_of", "storable"]


def limit_of(column: Any) -> int:
    """The length of a ``String(n)`` column attribute, e.g. ``limit_of(PersonRow.name)``."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):  # pragma: no cover - a programming error
        raise TypeError(f"{column} is not a String(n) column")
    return length


def _control(value: str, allowed: str = "") -> str | None:
    """The first control character of ``value`` not in ``allowed``, if any."""
    for char in value:
        if char not in allowed and unicodedata.category(char) == "Cc":
            return char
    return None


def check_name(value: str, *, field: str, limit: int, what: str) -> str:
    """``value`` stripped, refused when empty, too long or holding control characters."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}", field=field)
    name = value.strip()
    if not name:
        raise InputError(f"{what} cannot be empty", field=field)
    bad = _control(name)
    if bad is not None:
        raise InputError(
            f"{what} cannot contain control characters such as {bad!r}",
            field=field,
            hint="Use printable characters only (no NUL bytes, newlines or tabs)",
        )
    if len(name) > limit:
        raise InputError(
            f"{what} has {len(name):,} characters; at most {limit} fit",
            field=field,
            hint=f"Shorten it to {limit} characters or fewer",
        )
    return name


def check_text(value: str | None, *, field: str, what: str, limit: int | None = None) -> str | None:
    """Free text: newlines and tabs allowed, no NUL byte, at most ``limit`` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}", field=field)
    if "\x00" in value:
        raise InputError(
            f"{what} cannot contain a NUL byte ('\\x00')",
            field=field,
            hint="Remove the NUL byte; the store cannot keep it",
        )
    if limit is not None and len(value) > limit:
        raise InputError(
            f"{what} has {len(value):,} characters; at most {limit} fit",
            field=field,
            hint=f"Shorten it to {limit} characters or fewer",
        )
    return value


def storable(value: str, limit: int | None = None) -> bool:
    """Whether ``value`` could be stored at all: a lookup of one that cannot finds nothing.

    Lookups use it to answer "not found" without sending the store a value it
    would refuse (PostgreSQL fails on a NUL byte even in a ``WHERE`` clause).
    """
    return "\x00" not in value and (limit is None or len(value) <= limit)
