"""The observed type of a column: a small, stable set of strings.

Stored profiles carry these strings, so they never change meaning:

==============  ==========================================  ===============
observed type   polars / Arrow types                        column profile
==============  ==========================================  ===============
``"int"``       signed and unsigned integers                NumericColumn
``"float"``     floats and decimals                         NumericColumn
``"datetime"``  datetimes (any unit, with or without zone)  TemporalColumn
``"date"``      dates                                       TemporalColumn
``"time"``      times of day                                TemporalColumn
``"duration"``  durations                                   TemporalColumn
``"string"``    strings, categoricals, enums                CategoricalColumn
``"bool"``      booleans                                    CategoricalColumn
``"null"``      a column of only nulls with no type         NullColumn
==============  ==========================================  ===============

>>> import polars as pl
>>> observed_type(pl.Int32, column="age")
'int'
"""

from __future__ import annotations

from typing import Final, Literal

import polars as pl

from postpilot.errors import InputError

__all__ = ["CATEGORICAL_TYPES", "NUMERIC_TYPES", "TEMPORAL_TYPES", "ObservedType", "observed_type"]

ObservedType = Literal[
    "int", "float", "datetime", "date", "time", "duration", "string", "bool", "null"
]

NUMERIC_TYPES: Final = frozenset({"int", "float"})
TEMPORAL_TYPES: Final = frozenset({"datetime", "date", "time", "duration"})
CATEGORICAL_TYPES: Final = frozenset({"string", "bool"})


def observed_type(dtype: pl.DataType | type[pl.DataType], *, column: str) -> ObservedType:
    """Map a polars dtype to its observed type; raise InputError for nested or binary types."""
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return "string"
    if dtype == pl.Datetime:
        return "datetime"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Time:
        return "time"
    if dtype == pl.Duration:
        return "duration"
    if dtype == pl.Null:
        return "null"
    raise InputError(
        f"column '{column}' has type {dtype}, which cannot be profiled",
        field=column,
        hint="Profile numbers, strings, booleans, dates and times; leave this column "
        "out with columns=[...]",
    )
