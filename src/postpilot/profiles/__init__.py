"""Mergeable dataset profiles: per-column exact statistics and Apache DataSketches.

``profile(data)`` streams a Parquet or CSV file, Arrow, polars or pandas data,
or a SQL query (``SQLSource``) in batches and returns a ``Profile``: the row
count, the column order, and per column

- numeric (``int``, ``float``): counts, nulls, NaNs, min, max, mean and
  variance (mergeable moments), a KLL quantiles sketch and an HLL distinct count;
- temporal (``datetime``, ``date``, ``time``, ``duration``): the same over
  microseconds, plus the time range as Python objects;
- categorical (``string``, ``bool``): exact value counts up to a cap, a
  frequent-items sketch and an HLL distinct count.

Profiles merge (``a.merge(b)`` is the profile of both datasets) and round-trip
through ``to_bytes``/``from_bytes``.

>>> import polars as pl
>>> from postpilot.profiles import Profile, profile
>>> p = profile(pl.DataFrame({"amount": [12.5, 3.0, None], "channel": ["web", "app", "web"]}))
>>> amount = p.column("amount")
>>> (amount.count, amount.null_rate, amount.min, amount.max)
(2, 0.3333333333333333, 3.0, 12.5)
>>> p.column("channel").value_counts().counts
{'web': 2, 'app': 1}
>>> Profile.from_bytes(p.to_bytes()).rows
3
"""

from postpilot.profiles.categorical import CategoricalColumn, ValueCounts
from postpilot.profiles.codec import SCHEMA_VERSION
from postpilot.profiles.column import ColumnProfile, Estimate, NullColumn
from postpilot.profiles.dtypes import ObservedType
from postpilot.profiles.moments import Moments
from postpilot.profiles.numeric import NumericColumn
from postpilot.profiles.profile import Profile
from postpilot.profiles.profiler import DEFAULT_BATCH_SIZE, profile
from postpilot.profiles.sql import SQLSource
from postpilot.profiles.temporal import TemporalColumn

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "SCHEMA_VERSION",
    "CategoricalColumn",
    "ColumnProfile",
    "Estimate",
    "Moments",
    "NullColumn",
    "NumericColumn",
    "ObservedType",
    "Profile",
    "SQLSource",
    "TemporalColumn",
    "ValueCounts",
    "profile",
]
