"""The results of a drift run: per chunk, per column, and multivariate.

``DriftReport.to_dict()`` is the public JSON shape of ``postpilot drift
--format json``::

    {"chunks": [{"key", "start", "end", "rows",
                 "columns": [{"column", "test", "statistic", "p_value",
                              "adjusted_p_value", "threshold", "drifted", ...}],
                 "multivariate": {"value", "lower", "upper", "alert"}}],
     "drifted_columns": [...],
     "schema_changes": [{"column", "change", "reference", "current",
                         "severity", "detail", "chunks"}]}

``drifted_columns`` lists the compared columns that drifted in some chunk, then the
columns with a counted schema change (a column lost, a type changed, a column that
became entirely null): evidence that was lost is drift, never a silent skip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from postpilot.performance.results import PerformanceReport
    from postpilot.profiles import Profile

__all__ = [
    "SCHEMA_VERSION",
    "ChunkDrift",
    "ColumnDrift",
    "DriftReport",
    "MultivariateDrift",
    "SchemaChange",
]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift in one chunk, with the threshold actually used and where it came
    from (the test's own threshold, or the band of natural variation over reference chunks).

    For a test with a p-value, ``p_value`` is the test's own and ``adjusted_p_value``
    Holm's adjustment over every p-value test of the chunk: the verdict compares the
    adjusted one with ``threshold``, so the chance that a chunk of unchanged data flags
    any column stays under ``threshold``. Distance tests have neither.
    """

    column: str
    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    threshold_source: str = "test"
    method: str = "sketch"
    error_bound: float = 0.0
    adjusted_p_value: float | None = None


@dataclass(frozen=True)
class SchemaChange:
    """A column left out of the comparison because the data changed under it.

    ``change`` is ``missing`` (only in the reference), ``type_change`` (severity
    ``severe``), ``all_null`` (values in the reference, none in the current data),
    ``no_reference_values`` (the reverse), or ``new_column`` (only in the current data;
    severity ``info``, the one change that loses no evidence and is not counted).
    ``chunks`` names the chunks it applies to (``drift-history``: the runs' chunks).
    """

    column: str
    change: str
    reference: str | None
    current: str | None
    severity: str
    detail: str
    chunks: list[str] = field(default_factory=list)

    @property
    def counted(self) -> bool:
        """True when the change makes the verdict drifted."""
        return self.severity != "info"


@dataclass(frozen=True)
class MultivariateDrift:
    """A chunk's reconstruction error and its band. ``band_source``: "reference chunks",
    "sampling error", or "none" (no band, NaN bounds, never alerts); ``direction``:
    where an alerting value lies, "above" or "below" the band (None when inside)."""

    value: float
    lower: float
    upper: float
    alert: bool
    band_source: str = "reference chunks"
    direction: Literal["above", "below"] | None = None


@dataclass(frozen=True)
class ChunkDrift:
    key: str
    start: Any
    end: Any
    rows: int
    columns: list[ColumnDrift]
    multivariate: MultivariateDrift | None = None
    period: str = "analysis"

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]


@dataclass(frozen=True)
class DriftReport:
    """Every analysis chunk's results, the reference chunks' results (the bands' source),
    and the settings that produced them."""

    chunks: list[ChunkDrift]
    reference_chunks: list[ChunkDrift] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    reference_rows: int = 0
    columns: list[str] = field(default_factory=list)
    profiles: tuple[Profile, Profile] | None = field(default=None, repr=False, compare=False)
    """The merged reference and current profiles, for the HTML report (not serialised)."""
    chunk_profiles: list[Profile] = field(default_factory=list, repr=False, compare=False)
    """Each analysis chunk's profile, in chunk order (stored with ``--product``)."""
    reference_chunk_profiles: list[Profile] = field(default_factory=list, repr=False, compare=False)
    """Each reference chunk's profile when bands were used (stored too: the bands'
    source when drift is recomputed from the store)."""
    schema_changes: list[SchemaChange] = field(default_factory=list)
    """Columns left out because the data changed under them (see SchemaChange)."""

    def to_html(
        self, title: str = "Drift report", *, performance: PerformanceReport | None = None
    ) -> str:
        """The self-contained HTML report (``postpilot.reports.drift``); with
        ``performance``, its estimated and realized metrics are a section of the same
        page."""
        from postpilot.reports.drift import render

        return render(self, title, performance=performance)

    def _repr_html_(self) -> str:
        return self.to_html()

    @property
    def drifted_columns(self) -> list[str]:
        """Columns that drifted in at least one analysis chunk, in column order, then the
        columns with a counted schema change."""
        hit = {c for chunk in self.chunks for c in chunk.drifted_columns}
        drifted = [c for c in self.columns if c in hit]
        changed = [s.column for s in self.schema_changes if s.counted]
        return drifted + [c for c in dict.fromkeys(changed) if c not in drifted]

    @property
    def multivariate_alerts(self) -> list[str]:
        return [c.key for c in self.chunks if c.multivariate and c.multivariate.alert]

    @property
    def alert(self) -> bool:
        return bool(self.drifted_columns or self.multivariate_alerts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "chunks": [_chunk(c) for c in self.chunks],
            "drifted_columns": self.drifted_columns,
            "multivariate_alerts": self.multivariate_alerts,
            "reference_rows": self.reference_rows,
            "reference_chunks": [_chunk(c) for c in self.reference_chunks],
            "settings": self.settings,
            "schema_changes": [asdict(s) for s in self.schema_changes],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _chunk(chunk: ChunkDrift) -> dict[str, Any]:
    return {
        "key": chunk.key,
        "start": _plain(chunk.start),
        "end": _plain(chunk.end),
        "rows": chunk.rows,
        "columns": [{k: _plain(v) for k, v in asdict(c).items()} for c in chunk.columns],
        "multivariate": (
            {k: _plain(v) for k, v in asdict(chunk.multivariate).items()}
            if chunk.multivariate
            else None
        ),
    }
