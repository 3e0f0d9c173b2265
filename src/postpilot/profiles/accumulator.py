"""One column's accumulator, whatever its type turns out to be.

The first batch with a typed value picks the kind (numeric, temporal or
categorical); untyped all-null batches before it count as nulls. Later batches
may widen ``int`` to ``float``; any other change of type raises InputError
naming the column.
"""

from __future__ import annotations

from dataclasses import dataclass

from postpilot.profiles.categorical import CategoricalAccumulator
from postpilot.profiles.column import ColumnProfile, NullColumn, type_conflict
from postpilot.profiles.dtypes import TEMPORAL_TYPES
from postpilot.profiles.numeric import NumericAccumulator
from postpilot.profiles.summary import CategoricalBatch, ColumnBatch, NullBatch, NumericBatch
from postpilot.profiles.temporal import TemporalAccumulator

__all__ = ["ColumnAccumulator", "Settings"]

_WIDENING = {"int", "float"}  # the one change of type a column may make: int to float


@dataclass(frozen=True, slots=True)
class Settings:
    """The sketch sizes and limits of a profiling run.

    ``continuous_distinct`` False leaves out the distinct-count (HLL) sketch of float
    and temporal columns, whose ``distinct_count`` then raises InputError. A drift run
    does so: it asks only string and int columns for their distinct count (to tell an
    identifier), and hashing nearly every value of a float column is a good part of
    the cost of its profile.
    """

    kll_k: int
    hll_lg_k: int
    frequent_lg_size: int
    max_exact_values: int
    continuous_distinct: bool = True


class ColumnAccumulator:
    """Folds the batch summaries of one column into its ColumnProfile."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._untyped_rows = 0
        self._inner: NumericAccumulator | CategoricalAccumulator | None = None

    def update(self, batch: ColumnBatch) -> None:
        """Add one batch of the column."""
        inner = self._inner
        if isinstance(batch, NullBatch):
            if inner is None:
                self._untyped_rows += batch.rows
            else:
                inner.add_missing(batch.rows)
            return
        if inner is None:
            inner = self._inner = self._start(batch)
            inner.add_missing(self._untyped_rows)
        elif inner.type != batch.kind:
            if isinstance(inner, TemporalAccumulator) or {inner.type, batch.kind} != _WIDENING:
                raise type_conflict(self.name, inner.type, batch.kind)
            inner.type = "float"
        if isinstance(batch, CategoricalBatch):
            if not isinstance(inner, CategoricalAccumulator):
                raise type_conflict(self.name, inner.type, batch.kind)
            inner.update(batch)
        elif isinstance(inner, NumericAccumulator):
            inner.update(batch)
        else:
            raise type_conflict(self.name, inner.type, batch.kind)

    def finish(self) -> ColumnProfile:
        """The profile of every batch added."""
        if self._inner is None:
            return NullColumn(self.name, self._untyped_rows)
        return self._inner.finish()

    def _start(
        self, batch: NumericBatch | CategoricalBatch
    ) -> NumericAccumulator | CategoricalAccumulator:
        s = self.settings
        if isinstance(batch, CategoricalBatch):
            return CategoricalAccumulator(
                self.name,
                batch.kind,
                max_exact_values=s.max_exact_values,
                frequent_lg_size=s.frequent_lg_size,
                hll_lg_k=s.hll_lg_k,
            )
        continuous = batch.kind == "float" or batch.kind in TEMPORAL_TYPES
        lg_k = s.hll_lg_k if s.continuous_distinct or not continuous else None
        if batch.kind in TEMPORAL_TYPES:
            return TemporalAccumulator(
                self.name,
                batch.kind,
                timezone=batch.timezone,
                kll_k=s.kll_k,
                hll_lg_k=lg_k,
            )
        return NumericAccumulator(self.name, batch.kind, kll_k=s.kll_k, hll_lg_k=lg_k)
