"""The gateway's prediction log as batches: what a product served since the last pass.

The gateway records every served prediction in the store's ``predictions`` table
and every refused record in ``quarantine`` (:mod:`postpilot.gateway.log`). A pass
reads the product's predictions not processed yet as **one batch**: a Parquet
file in a temporary folder the source owns, removed by :meth:`GatewaySource.close`
(the monitor closes its source after the pass) or, failing that, when the source
is garbage collected. Its columns:

- ``prediction_id``, ``created_at`` (UTC time of the request), ``consumer``,
  ``served_by`` (``primary`` or ``fallback``), ``model_version`` (the registry
  version that answered; null for a constant or rule fallback), ``latency_ms``;
- every input field, as the model received it (after the input adapter);
- ``prediction`` and one ``probability_<class>`` per class any output named.

These are the gateway's names: an input field called like one of them is kept as
``input_<name>``. Values that are not scalars (a list, an object) are kept as JSON
text. The rows are read 50,000 at a time (keyset pagination on the id), each slice
written to its own part file; the parts are then rewritten into the batch's file
under the schema that holds them all (a field that is an integer in one slice and
a float in another is a float), one part in memory at a time.

**Watermark.** Prediction ids sort by time (``pr_`` + 16 hex digits of the
gateway's nanosecond clock + 16 random ones); the watermark holds the last id
processed, and a batch is every id above it. Several gateway workers insert
concurrently, and an id is made before its row commits: a worker can commit an id
*below* one another worker already committed. A pass therefore reads only ids
whose clock is at least ``settle`` seconds old (default 5 s, far longer than a
request takes to commit its log rows); later ones wait for the next pass. Workers
on several machines must keep their clocks within that margin (NTP does).

**Quarantine.** A batch carries the records the gateway refused in its window
(:class:`GatewayWindow`): those whose time lies after the previous window's end and
at or before this pass's settled cutoff, so windows follow one another without gap
or overlap and each refused record counts once. A window with refused records and
no new prediction is a batch too, without data (``data`` is None): a product whose
every request is refused (a CRM migration renamed a field) is caught on its first
pass, not mistaken for a quiet one. The watermark holds both the last prediction id
and the window's end.

>>> from postpilot.monitoring.sources.gateway import id_clock
>>> id_clock("pr_18a2b3c4d5e6f708" + "0" * 16)
1775178861121042184
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postpilot.errors import InputError, NotFoundError
from postpilot.monitoring.sources.batch import Batch, BatchSource
from postpilot.store.models import PredictionRow, ProductRow, QuarantineRow

__all__ = [
    "DEFAULT_SETTLE",
    "GATEWAY_COLUMNS",
    "PROBABILITY_PREFIX",
    "SLICE_ROWS",
    "GatewaySource",
    "GatewayWindow",
    "Refusal",
    "export_log",
    "id_clock",
]

DEFAULT_SETTLE: Final = 5.0
"""Seconds a prediction id's clock must be old before a pass reads it."""
SLICE_ROWS: Final = 50_000
"""Rows read (and held in memory) at a time."""
GATEWAY_COLUMNS: Final = (
    "prediction_id",
    "created_at",
    "consumer",
    "served_by",
    "model_version",
    "latency_ms",
)
"""The columns the gateway adds to every row of a batch (not model inputs)."""
PREDICTION: Final = "prediction"
PROBABILITY_PREFIX: Final = "probability_"
MAX_REFUSAL_GROUPS: Final = 200
"""Distinct (kind, field) groups kept per window; further fields count as ``*``."""
_ID = re.compile(r"pr_([0-9a-f]{16})[0-9a-f]*")

Reading = Callable[[], AbstractContextManager[Session]]


def id_clock(prediction_id: str) -> int | None:
    """The nanosecond clock a prediction id starts with; None if it is not one."""
    match = _ID.fullmatch(prediction_id)
    return int(match.group(1), 16) if match else None


def _id_below(clock_ns: int) -> str:
    """The smallest id string whose clock is ``clock_ns``: ids below it are older."""
    return f"pr_{clock_ns:016x}"


def _time(clock_ns: int) -> datetime:
    """A clock as a UTC time, floored to the microsecond (what the store keeps)."""
    return datetime.fromtimestamp(clock_ns // 1000 / 1e6, UTC)


@dataclass(frozen=True)
class Refusal:
    """Records the gateway refused for one reason: an error ``kind`` (``missing``,
    ``type``, ``adapter.unit``, ...) on one ``field``."""

    kind: str
    field: str | None
    records: int
    example: str
    """One of the error messages, as the consumer got it."""


@dataclass(frozen=True)
class GatewayWindow:
    """What the gateway did in a batch's window besides the batch's rows.

    ``start`` (exclusive, None: from the beginning) and ``end`` (inclusive) bound the
    window; ``first`` and ``last`` are the served predictions' earliest and latest
    ``created_at``. ``columns`` are the batch's columns that are not model inputs.
    """

    start: datetime | None
    end: datetime
    first: datetime | None
    last: datetime | None
    served: int
    fallback: int
    latency_p99_ms: float | None
    refused: int
    refusals: tuple[Refusal, ...]
    columns: tuple[str, ...]

    @property
    def records(self) -> int:
        """Records sent: served and refused."""
        return self.served + self.refused

    @property
    def error_rate(self) -> float:
        """Refused records over records sent (0 when none was sent)."""
        return self.refused / self.records if self.records else 0.0

    @property
    def fallback_share(self) -> float:
        """Predictions the fallback served over predictions served."""
        return self.fallback / self.served if self.served else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": None if self.start is None else self.start.isoformat(),
            "end": self.end.isoformat(),
            "served": self.served,
            "refused": self.refused,
            "fallback": self.fallback,
            "error_rate": self.error_rate,
            "fallback_share": self.fallback_share,
            "latency_p99_ms": self.latency_p99_ms,
            "refusals": [
                {"kind": r.kind, "field": r.field, "records": r.records, "example": r.example}
                for r in self.refusals
            ],
        }


class GatewaySource(BatchSource):
    """A product's served predictions not processed yet, as one batch per pass.

    ``reading`` opens a read-only session on the store holding the log (a
    registry's ``store.reading``). ``now`` is the pass's time (``monitor run
    --as-of``): only predictions before it, and ``settle`` seconds older than the
    clock, are read. ``slice_rows`` bounds the rows held in memory at a time.
    """

    def __init__(
        self,
        reading: Reading,
        product: str,
        *,
        settle: float = DEFAULT_SETTLE,
        now: datetime | None = None,
        slice_rows: int = SLICE_ROWS,
    ) -> None:
        self.reading = reading
        self.product = product
        self.settle = settle
        self.now = now
        self._cutoff: tuple[datetime | None, int] | None = None
        self.slice_rows = max(1, slice_rows)
        self._folder: Path | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._written = 0
        self._made: dict[str, Batch] = {}

    def __repr__(self) -> str:
        return f"GatewaySource({self.product!r}, settle={self.settle})"

    @property
    def folder(self) -> Path:
        """The temporary folder holding the batches' files (made on first use)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="postpilot-gateway-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._folder, True)
        return self._folder

    def close(self) -> None:
        """Remove the batches' files."""
        if self._finalizer is not None:
            self._finalizer()
        self._folder = self._finalizer = None
        self._made.clear()

    def cutoff_ns(self) -> int:
        """Ids whose clock is below this are settled."""
        wall = time.time_ns()
        if self.now is not None:
            wall = min(wall, math.floor(self.now.timestamp() * 1e6) * 1000)
        return wall - int(self.settle * 1e9)

    def pending(self, done: Collection[str], watermark: str | None) -> list[Batch]:
        """At most one batch: the settled predictions above the watermark's id, and the
        records refused in the window since the watermark's time.

        A window with refused records but no new prediction is still a batch (its
        ``data`` is None): a product whose every request is refused, the CRM migration
        the gateway exists to catch, must not look like a quiet one.
        """
        lo, start = _read_watermark(watermark)
        cutoff = self._settled_ns()
        end = _time(cutoff)
        with self.reading() as session:
            product_id = _product_id(session, self.product)
            query = select(func.max(PredictionRow.id)).where(
                PredictionRow.product_id == product_id, PredictionRow.id < _id_below(cutoff)
            )
            if lo is not None:
                query = query.where(PredictionRow.id > lo)
            hi = session.scalar(query)
        key = f"gateway:{lo or ''}..{hi or lo or ''}@{end.isoformat()}"
        if key in done:
            return []
        if key in self._made:  # listed before: the same batch, its file written once
            return [self._made[key]]
        refused, refusals = self._refused(product_id, start, end)
        if hi is None and refused == 0:
            return []
        path: Path | None = None
        columns: list[str] = list(GATEWAY_COLUMNS)
        if hi is not None:
            self._written += 1
            path = self.folder / f"batch-{self._written:05d}.parquet"
            written = self._write(path, product_id, lo, hi)
            if written is None:  # the rows were deleted since: nothing to read
                path, hi = None, None
            else:
                columns = written
        if path is not None:
            window = _window(path, columns, start, end)
        else:
            window = GatewayWindow(start, end, None, None, 0, 0, None, 0, (), tuple(columns))
        window = replace(window, refused=refused, refusals=tuple(refusals))
        if hi is None and refused == 0:
            return []
        last = hi or lo
        label = (
            f"gateway log of {self.product}: predictions {lo or 'from the first'} .. {hi}"
            if hi is not None
            else f"gateway log of {self.product}: {refused:,} refused record(s), no prediction"
        )
        mark = json.dumps({"prediction": last, "until": end.isoformat()})
        self._made[key] = Batch(
            key, label, None if path is None else str(path), mark, None, window=window
        )
        return [self._made[key]]

    def _settled_ns(self) -> int:
        """The pass's cutoff, fixed at its first use: a source listed twice in one pass
        lists the same batch."""
        if self._cutoff is None or self._cutoff[0] != self.now:
            self._cutoff = (self.now, self.cutoff_ns())
        return self._cutoff[1]

    # -- predictions -------------------------------------------------------------------

    def _slices(self, product_id: int, lo: str | None, hi: str) -> Iterator[list[Any]]:
        after = lo
        while True:
            query = (
                select(
                    PredictionRow.id,
                    PredictionRow.created_at,
                    PredictionRow.consumer,
                    PredictionRow.served_by,
                    PredictionRow.version,
                    PredictionRow.latency_ms,
                    PredictionRow.inputs,
                    PredictionRow.output,
                )
                .where(PredictionRow.product_id == product_id, PredictionRow.id <= hi)
                .order_by(PredictionRow.id)
                .limit(self.slice_rows)
            )
            if after is not None:
                query = query.where(PredictionRow.id > after)
            with self.reading() as session:
                rows = list(session.execute(query).all())
            if rows:
                yield rows
            if len(rows) < self.slice_rows:
                return
            after = rows[-1].id

    def _write(self, path: Path, product_id: int, lo: str | None, hi: str) -> list[str] | None:
        """Write the batch's rows to ``path``; its columns that are not inputs (None
        when there is no row)."""
        parts: list[Path] = []
        extra: dict[str, None] = dict.fromkeys(GATEWAY_COLUMNS)
        for rows in self._slices(product_id, lo, hi):
            frame = _frame(rows)
            extra.update(dict.fromkeys(c for c in frame.columns if _is_output(c)))
            part = path.with_name(f"{path.stem}.part{len(parts):05d}.parquet")
            frame.write_parquet(part)
            parts.append(part)
        if not parts:
            return None
        _combine(parts, path)
        return list(extra)

    # -- quarantine --------------------------------------------------------------------

    def _refused(
        self, product_id: int, start: datetime | None, end: datetime
    ) -> tuple[int, list[Refusal]]:
        """How many records were refused in ``(start, end]``, grouped by kind and field."""
        counts: Counter[tuple[str, str | None]] = Counter()
        examples: dict[tuple[str, str | None], str] = {}
        total, after = 0, None
        while True:
            query = (
                select(QuarantineRow.id, QuarantineRow.errors)
                .where(QuarantineRow.product_id == product_id, QuarantineRow.created_at <= end)
                .order_by(QuarantineRow.id)
                .limit(self.slice_rows)
            )
            if start is not None:
                query = query.where(QuarantineRow.created_at > start)
            if after is not None:
                query = query.where(QuarantineRow.id > after)
            with self.reading() as session:
                rows = list(session.execute(query).all())
            for row in rows:
                total += 1
                for group, message in _groups(row.errors).items():
                    if group not in counts and len(counts) >= MAX_REFUSAL_GROUPS:
                        group = (group[0], "*")
                    counts[group] += 1
                    examples.setdefault(group, message)
            if len(rows) < self.slice_rows:
                break
            after = rows[-1].id
        refusals = [
            Refusal(kind, field, n, examples[(kind, field)])
            for (kind, field), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))
        ]
        return total, refusals


def export_log(
    reading: Reading,
    product: str,
    path: Path,
    *,
    fmt: str = "parquet",
    since: datetime | None = None,
    slice_rows: int = SLICE_ROWS,
) -> int:
    """Write the product's prediction log (from ``since``) to ``path``; the rows written.

    ``parquet``: the columns of a monitor batch (the gateway's, the inputs flattened,
    ``prediction`` and ``probability_<class>``), plus ``request_id``, ``model``,
    ``key_id`` and ``fallback_reason``. ``jsonl``: one object per prediction, with
    ``inputs`` and ``output`` as they were logged. Rows are read ``slice_rows`` at a
    time, so memory does not grow with the log.
    """
    if fmt not in ("parquet", "jsonl"):
        raise InputError(f"unknown format {fmt!r}", field="format", hint="Use parquet or jsonl")
    with reading() as session:
        product_id = _product_id(session, product)
    written = 0
    after: str | None = None
    parts: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="postpilot-export-") as tmp, ExitStack() as files:
        lines = files.enter_context(path.open("w", encoding="utf-8")) if fmt == "jsonl" else None
        while True:
            query = (
                select(PredictionRow)
                .where(PredictionRow.product_id == product_id)
                .order_by(PredictionRow.id)
                .limit(slice_rows)
            )
            if since is not None:
                query = query.where(PredictionRow.created_at >= since)
            if after is not None:
                query = query.where(PredictionRow.id > after)
            with reading() as session:
                rows = list(session.scalars(query).all())
            if not rows:
                break
            after = rows[-1].id
            written += len(rows)
            if lines is not None:
                for row in rows:
                    lines.write(json.dumps(_export_line(row), ensure_ascii=False) + "\n")
            else:
                frame = _frame(rows).with_columns(
                    pl.Series("request_id", [r.request_id for r in rows]),
                    pl.Series("model", [r.model for r in rows], dtype=pl.String),
                    pl.Series("key_id", [r.key_id for r in rows]),
                    pl.Series(
                        "fallback_reason", [r.fallback_reason for r in rows], dtype=pl.String
                    ),
                )
                part = Path(tmp) / f"part{len(parts):05d}.parquet"
                frame.write_parquet(part)
                parts.append(part)
            if len(rows) < slice_rows:
                break
        if lines is None:
            if parts:
                _combine(parts, path)
            else:
                pl.DataFrame(
                    {
                        name: []
                        for name in (
                            *GATEWAY_COLUMNS,
                            "request_id",
                            "model",
                            "key_id",
                            "fallback_reason",
                        )
                    }
                ).write_parquet(path)
    return written


def _export_line(row: PredictionRow) -> dict[str, Any]:
    return {
        "prediction_id": row.id,
        "request_id": row.request_id,
        "created_at": row.created_at.isoformat(),
        "consumer": row.consumer,
        "key_id": row.key_id,
        "model": row.model,
        "version": row.version,
        "served_by": row.served_by,
        "fallback_reason": row.fallback_reason,
        "latency_ms": row.latency_ms,
        "inputs": json.loads(row.inputs),
        "output": json.loads(row.output),
    }


def _read_watermark(watermark: str | None) -> tuple[str | None, datetime | None]:
    """The last prediction id processed and the end of the last window.

    A watermark is ``{"prediction": ID, "until": ISO time}``; a bare prediction id
    (what earlier passes stored) ends its window at the id's clock; anything else
    (an SQL watermark from an earlier source) is no watermark: the whole log is new.
    """
    if watermark is None:
        return None, None
    if id_clock(watermark) is not None:
        clock = id_clock(watermark)
        return watermark, None if clock is None else _time(clock)
    try:
        parsed = json.loads(watermark)
        prediction = parsed.get("prediction")
        until = datetime.fromisoformat(parsed["until"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, None
    if prediction is not None and id_clock(str(prediction)) is None:
        prediction = None
    return prediction, until


def _product_id(session: Session, slug: str) -> int:
    found = session.scalar(select(ProductRow.id).where(ProductRow.slug == slug))
    if found is None:
        raise NotFoundError(
            f"no product {slug!r}",
            field="product",
            hint="See the registered products with: postpilot product list",
        )
    return int(found)


def _is_output(column: str) -> bool:
    return column == PREDICTION or column.startswith(PROBABILITY_PREFIX)


def _reserved(name: str) -> bool:
    return name in GATEWAY_COLUMNS or _is_output(name)


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _frame(rows: list[Any]) -> pl.DataFrame:
    """One slice of the log as a frame: the gateway's columns, the inputs, the outputs."""
    records = []
    for row in rows:
        record: dict[str, Any] = {
            "prediction_id": row.id,
            "created_at": row.created_at,
            "consumer": row.consumer,
            "served_by": row.served_by,
            "model_version": row.version,
            "latency_ms": row.latency_ms,
        }
        inputs = json.loads(row.inputs)
        if isinstance(inputs, dict):
            for name, value in inputs.items():
                record[f"input_{name}" if _reserved(name) else name] = _scalar(value)
        output = json.loads(row.output)
        if isinstance(output, dict):
            record[PREDICTION] = _scalar(output.get(PREDICTION))
            probabilities = output.get("probabilities")
            if isinstance(probabilities, dict):
                for label, p in probabilities.items():
                    record[f"{PROBABILITY_PREFIX}{label}"] = p
        records.append(record)
    frame = pl.from_dicts(records, infer_schema_length=None, strict=False)
    typed: dict[str, pl.DataType] = {
        "created_at": pl.Datetime("us", "UTC"),
        "model_version": pl.Int64(),
        "latency_ms": pl.Float64(),
    }
    frame = frame.with_columns(pl.col(name).cast(dtype) for name, dtype in typed.items())
    probabilities = [c for c in frame.columns if c.startswith(PROBABILITY_PREFIX)]
    return frame.with_columns(pl.col(c).cast(pl.Float64, strict=False) for c in probabilities)


def _combine(parts: list[Path], path: Path) -> None:
    """The part files as one Parquet file under the schema that holds them all, written
    one part at a time."""
    if len(parts) == 1:
        parts[0].replace(path)
        return
    import pyarrow.parquet as pq

    schemas = [pl.read_parquet_schema(part) for part in parts]
    empty = [pl.DataFrame(schema=schema) for schema in schemas]
    unified = pl.concat(empty, how="diagonal_relaxed")
    arrow = unified.to_arrow().schema
    with pq.ParquetWriter(path, arrow) as writer:
        for part in parts:
            frame = pl.concat([unified, pl.read_parquet(part)], how="diagonal_relaxed")
            writer.write_table(frame.select(unified.columns).cast(unified.schema).to_arrow())
            part.unlink()


QUANTILE_ROWS: Final = 1 << 20
"""The most values :func:`exact_quantile` holds at once."""


def exact_quantile(
    frame: pl.LazyFrame, column: str, q: float, *, max_rows: int = QUANTILE_ROWS
) -> float | None:
    """The ``q`` quantile of a number column (nulls and NaNs left out), exactly as
    polars' ``quantile(q, "linear")`` gives it, holding at most ``max_rows`` values:
    streaming passes count the values below a bound and narrow a value range by
    halves until the values around the quantile's rank fit, then those are sorted.
    None for a column without values."""
    values = frame.select(pl.col(column).cast(pl.Float64)).filter(
        pl.col(column).is_not_null() & pl.col(column).is_not_nan()
    )
    counted = values.select(
        pl.len().alias("n"), pl.col(column).min().alias("lo"), pl.col(column).max().alias("hi")
    ).collect(engine="streaming")
    n, lo, hi = counted.row(0)
    if not n:
        return None
    position = q * (n - 1)
    first, last = math.floor(position), min(math.ceil(position), n - 1)
    below = 0  # values under lo: every rank counts from there
    while True:
        inside = values.filter((pl.col(column) >= lo) & (pl.col(column) <= hi))
        count = inside.select(pl.len()).collect(engine="streaming").item()
        mid = lo + (hi - lo) / 2
        if count <= max_rows or not lo < mid < hi:
            break
        under = inside.filter(pl.col(column) < mid).select(pl.len()).collect(engine="streaming")
        left = int(under.item())
        if below + left > last:  # both ranks lie under mid
            hi = math.nextafter(mid, -math.inf)
        elif below + left <= first:  # both at or over mid
            below, lo = below + left, mid
        else:  # mid splits them: they are the largest under mid and the smallest over it
            return _split_quantile(values, column, mid, position, first)
    if count > max_rows:  # no float between lo and hi: every value left is one of them
        at_lo = values.filter(pl.col(column) == lo).select(pl.len()).collect(engine="streaming")
        under_hi = below + int(at_lo.item())
        low, high = (float(lo if rank < under_hi else hi) for rank in (first, last))
    else:
        kept = inside.collect(engine="streaming").get_column(column).sort().to_numpy()
        low = float(kept[min(first - below, kept.size - 1)])
        high = float(kept[min(last - below, kept.size - 1)])
    return float(low + (position - first) * (high - low))


def _split_quantile(
    values: pl.LazyFrame, column: str, mid: float, position: float, first: int
) -> float:
    """The quantile when its two ranks straddle ``mid``: the largest value under it and
    the smallest at or over it."""
    ends = values.select(
        pl.col(column).filter(pl.col(column) < mid).max().alias("low"),
        pl.col(column).filter(pl.col(column) >= mid).min().alias("high"),
    ).collect(engine="streaming")
    low, high = (float(v) for v in ends.row(0))
    return low + (position - first) * (high - low)


def _window(path: Path, columns: list[str], start: datetime | None, end: datetime) -> GatewayWindow:
    """The served side of the window, from the batch's file (only the columns needed)."""
    stats = (
        pl.scan_parquet(path)
        .select(
            pl.len().alias("served"),
            (pl.col("served_by") == "fallback").sum().alias("fallback"),
            pl.col("created_at").min().alias("first"),
            pl.col("created_at").max().alias("last"),
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )
    p99 = exact_quantile(pl.scan_parquet(path), "latency_ms", 0.99)
    return GatewayWindow(
        start=start,
        end=end,
        first=stats["first"],
        last=stats["last"],
        served=int(stats["served"]),
        fallback=int(stats["fallback"] or 0),
        latency_p99_ms=None if p99 is None else float(p99),
        refused=0,
        refusals=(),
        columns=tuple(columns),
    )


def _groups(errors: str) -> dict[tuple[str, str | None], str]:
    """A refused record's (kind, field) groups, each with one of its messages."""
    try:
        found = json.loads(errors)
    except ValueError:
        found = None
    if not isinstance(found, list) or not found:
        return {("unknown", None): "the record was refused (no error was recorded)"}
    out: dict[tuple[str, str | None], str] = {}
    for error in found:
        if not isinstance(error, dict):
            continue
        kind = str(error.get("kind") or "unknown")[:64]
        field = error.get("field")
        group = (kind, None if field is None else str(field)[:200])
        out.setdefault(group, str(error.get("message") or kind)[:500])
    return out or {("unknown", None): "the record was refused (no error was recorded)"}
