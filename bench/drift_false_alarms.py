"""Measure the drift verdict's false-alarm rate on random halves, real and synthetic,
and check that real shifts do alarm.

Every comparison goes through ``postpilot.monitoring.run.run_drift`` on two Parquet
files written to a temporary folder (as ``postpilot drift`` reads them), default
options unless stated:

- **Random halves** of real tables that ship inside packages (``tests/realdata.py``:
  scikit-learn's breast cancer, wine and diabetes, the Palmer penguins as collected and
  cleaned): one half is the reference, the other the current data; the same population
  on both sides, so any alert is a false alarm. Unchunked, and chunked by count
  (``chunk_number`` = min(4, half // 40), so chunks hold at least 40 rows), once with
  each half in the table's own row order (chunks are then consecutive stretches of the
  original table: an order effect in the source is a real difference between chunks)
  and once with each half's rows shuffled (a pure null). Each run's alert is split
  into the univariate verdict (a compared column drifted, Holm-adjusted per chunk),
  multivariate alerts, and counted schema changes; "per-column rule" recomputes the
  univariate verdict from the raw p-values in the report against each column's
  threshold (the rule before Holm's adjustment; everything else unchanged).
- **Synthetic halves**: the same on a generated table of 20 independent columns
  (normal, log-normal, Poisson, categorical), 500 and 50,000 rows.
- **Real shifts** that must alarm: one class against another (iris versicolor vs
  virginica, wine class 0 vs 1, breast cancer malignant vs benign), and NannyML's
  synthetic car loan (7 inputs, ``chunk_size=5000``), where NannyML's
  ``DataReconstructionDriftCalculator`` flags analysis chunks 5-9; it runs on the same
  columns and chunks beside postpilot when nannyml is importable.

Writes bench/results/drift-false-alarms.md and runs bench/report.py (not with
``--quick`` or ``--no-report``). Pins itself to one CPU. From the repository root::

    .venv/bin/python bench/drift_false_alarms.py [--splits 100] [--large-splits 50]
    .venv/bin/python bench/drift_false_alarms.py --quick   # 5 splits, no report
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:1])

import argparse
import collections
import math
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from profile_bench import log, machine, publish, versions_of  # noqa: E402
from tests.realdata import (  # noqa: E402
    CAR_LOAN_INPUTS,
    REAL_TABLES,
    nannyml_table,
    penguins,
    random_halves,
    real_table,
    sklearn_table,
)

from postpilot.monitoring.results import DriftReport  # noqa: E402
from postpilot.monitoring.run import DriftOptions, _band_upper, run_drift  # noqa: E402

RESULTS = HERE / "results" / "drift-false-alarms.md"
TABLES = (*REAL_TABLES, "penguins")
MIN_CHUNK_ROWS = 40
MAX_CHUNKS = 4
SYNTHETIC_ROWS = (500, 50_000)
TARGET = 0.05  # the issue: the verdict exits 1 in at most about 5% of random halves
BANDED = "test and reference chunks"
CAR_LOAN_EXPECTED = ["5", "6", "7", "8", "9"]


# --- one comparison ---------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run_drift call said, split by the part of the verdict that said it."""

    alert: bool
    univariate: bool
    univariate_raw: bool
    multivariate: bool
    schema: bool
    multivariate_ran: bool
    columns: list[str]
    columns_raw: list[str]
    chunks: int
    seconds: float
    sketch_only: int = 0
    """Flagged normed-Wasserstein results (sketch path) whose exact statistic, from the
    same rows with scipy, is not over the threshold used."""
    sketch_flags: int = 0


def raw_rule(report: DriftReport) -> list[str]:
    """The columns the per-column rule (raw p-value below the column's threshold, no
    adjustment across columns) flags in some analysis chunk; the band from the reference
    chunks and every distance test as the report applied them."""
    uppers: dict[str, float | None] = {}
    for name in report.columns:
        stats = [
            c.statistic for ch in report.reference_chunks for c in ch.columns if c.column == name
        ]
        uppers[name] = _band_upper(stats)
    hit: set[str] = set()
    for chunk in report.chunks:
        for c in chunk.columns:
            if c.p_value is None or c.p_value != c.p_value:
                flagged = c.drifted
            else:
                upper = uppers.get(c.column)
                in_band = c.threshold_source == BANDED and upper is not None
                flagged = c.p_value < c.threshold and (not in_band or c.statistic > upper)
            if flagged:
                hit.add(c.column)
    return [n for n in report.columns if n in hit]


def compare(
    folder: Path, reference: pl.DataFrame, current: pl.DataFrame, options: DriftOptions
) -> tuple[Outcome, DriftReport]:
    ref_path, cur_path = folder / "reference.parquet", folder / "current.parquet"
    reference.write_parquet(ref_path)
    current.write_parquet(cur_path)
    started = time.perf_counter()
    report = run_drift(ref_path, cur_path, options)
    seconds = time.perf_counter() - started
    compared = sorted(
        {c.column for ch in report.chunks for c in ch.columns if c.drifted},
        key=report.columns.index,
    )
    raw = raw_rule(report)
    sketch_flags, sketch_only = exact_check(report, reference, current)
    schema = any(s.counted for s in report.schema_changes)
    outcome = Outcome(
        alert=report.alert,
        univariate=bool(compared),
        univariate_raw=bool(raw),
        multivariate=bool(report.multivariate_alerts),
        schema=schema,
        multivariate_ran=report.settings.get("multivariate_skipped") is None,
        columns=compared,
        columns_raw=raw,
        chunks=len(report.chunks),
        seconds=seconds,
        sketch_only=sketch_only,
        sketch_flags=sketch_flags,
    )
    return outcome, report


def exact_check(
    report: DriftReport, reference: pl.DataFrame, current: pl.DataFrame
) -> tuple[int, int]:
    """The flagged normed-Wasserstein results computed from sketches, and how many of
    them the exact statistic (scipy on the chunk's rows against the whole reference,
    divided by the reference's population sd) would not flag."""
    from scipy.stats import wasserstein_distance

    flagged = only = 0
    for chunk in report.chunks:
        for c in chunk.columns:
            if not (c.drifted and c.test == "wasserstein" and c.method == "sketch"):
                continue
            ref = reference.get_column(c.column).drop_nulls().to_numpy()
            rows = current.get_column(c.column).slice(int(chunk.start), chunk.rows)
            cur = rows.drop_nulls().to_numpy()
            exact = wasserstein_distance(ref, cur) / float(np.std(ref))
            flagged += 1
            only += exact <= c.threshold
    return flagged, only


# --- random halves ----------------------------------------------------------------------


@dataclass
class Tally:
    """Random-halves outcomes of one table in one setting."""

    table: str
    shape: str
    setting: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped_reason: str | None = None

    def count(self, what: Callable[[Outcome], bool]) -> int:
        return sum(what(o) for o in self.outcomes)

    @property
    def splits(self) -> int:
        return len(self.outcomes)

    @property
    def alerts(self) -> int:
        return self.count(lambda o: o.alert)

    @property
    def within_target(self) -> bool:
        return self.alerts <= TARGET * self.splits

    def rate(self) -> str:
        return f"{self.table} {self.alerts}/{self.splits}"

    def alerts_raw(self) -> int:
        """Alerts had the univariate verdict used the per-column rule."""
        return self.count(lambda o: o.univariate_raw or o.multivariate or o.schema)

    def top_columns(self, raw: bool = False, most: int = 3) -> str:
        seen: collections.Counter[str] = collections.Counter()
        for o in self.outcomes:
            seen.update(o.columns_raw if raw else o.columns)
        return ", ".join(f"{escape(c)} ({n})" for c, n in seen.most_common(most)) or "none"


def chunk_number(half_rows: int) -> int:
    """The chunk count of the chunked setting: at most 4, chunks of at least 40 rows."""
    return max(1, min(MAX_CHUNKS, half_rows // MIN_CHUNK_ROWS))


def shuffled(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    return frame[rng.permutation(frame.height)]


def halves_tallies(
    folder: Path,
    table: str,
    pairs: Iterator[tuple[pl.DataFrame, pl.DataFrame]],
    shape: str,
    *,
    ordered: bool = True,
) -> list[Tally]:
    """Unchunked, chunked in the table's order, chunked with each half shuffled
    (``ordered``: a real table's rows have an order; a synthetic table's are already
    a random sample, chunked once)."""
    tallies: list[Tally] = []
    rng = np.random.default_rng(7)
    for reference, current in pairs:
        chunks = chunk_number(min(reference.height, current.height))
        chunked = DriftOptions(chunk_number=chunks)
        if not tallies:
            tallies = [Tally(table, shape, "unchunked")]
            if ordered:
                tallies.append(Tally(table, shape, f"`chunk_number={chunks}`, table order"))
                tallies.append(Tally(table, shape, f"`chunk_number={chunks}`, rows shuffled"))
            else:
                tallies.append(Tally(table, shape, f"`chunk_number={chunks}`"))
        runs = [(DriftOptions(), reference, current), (chunked, reference, current)]
        if ordered:
            runs.append((chunked, shuffled(reference, rng), shuffled(current, rng)))
        for tally, (options, ref, cur) in zip(tallies, runs, strict=True):
            outcome, _ = compare(folder, ref, cur, options)
            tally.outcomes.append(outcome)
    return tallies


def table_frame(name: str) -> pl.DataFrame:
    return penguins() if name == "penguins" else real_table(name)


def synthetic(rows: int, seed: int) -> pl.DataFrame:
    """20 independent columns: 8 normal, 5 log-normal, 2 Poisson counts (one with 2%
    nulls), 5 categorical with 3 to 8 levels and long-tailed frequencies (46 encoded dimensions
    for the multivariate detector: 250 rows fit it)."""
    rng = np.random.default_rng([20_261, rows, seed])
    columns: dict[str, object] = {}
    for i in range(8):
        columns[f"normal_{i}"] = rng.normal(10.0 * i, 1.0 + i, rows)
    for i in range(5):
        columns[f"lognormal_{i}"] = rng.lognormal(1.0 + 0.5 * i, 0.5 + 0.2 * i, rows)
    for i, lam in enumerate((2.0, 9.0)):
        columns[f"count_{i}"] = rng.poisson(lam, rows).astype(np.float64)
    columns["count_1"][rng.random(rows) < 0.02] = np.nan  # type: ignore[index]
    for i, levels in enumerate((3, 4, 5, 6, 8)):
        weights = 1.0 / np.arange(1, levels + 1) ** 0.8
        picks = rng.choice(levels, rows, p=weights / weights.sum())
        columns[f"category_{i}"] = np.array([f"c{i}_{j}" for j in range(levels)])[picks]
    return pl.DataFrame(columns, nan_to_null=True)


def synthetic_halves(rows: int, splits: int) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    for seed in range(splits):
        frame = synthetic(rows, seed)
        half = rows // 2
        yield frame.head(half), frame.tail(rows - half)


# --- real shifts ------------------------------------------------------------------------


@dataclass
class Shift:
    name: str
    rows: str
    outcome: Outcome
    mv: str


def class_pairs(folder: Path) -> list[Shift]:
    out = []
    for dataset, a, b, label in (
        ("iris", 1, 2, "iris: versicolor vs virginica"),
        ("wine", 0, 1, "wine: class 0 vs class 1"),
        ("breast_cancer", 0, 1, "breast cancer: malignant vs benign"),
    ):
        frame = sklearn_table(dataset, with_target=True)
        reference = frame.filter(pl.col("target") == a).drop("target")
        current = frame.filter(pl.col("target") == b).drop("target")
        outcome, report = compare(folder, reference, current, DriftOptions())
        mv = report.chunks[0].multivariate
        if mv is None:
            mv_text = f"skipped: {report.settings.get('multivariate_skipped')}"
        else:
            mv_text = f"{mv.value:.3f} in [{mv.lower:.3f}, {mv.upper:.3f}] ({mv.band_source}): " + (
                f"alert, {mv.direction}" if mv.alert else "no alert"
            )
        rows = f"{reference.height} vs {current.height} x {reference.width}"
        out.append(Shift(label, rows, outcome, mv_text))
    return out


@dataclass
class CarLoan:
    postpilot_alerts: list[str]
    postpilot_seconds: float
    univariate: dict[str, list[str]]
    values: list[str]
    reference_chunks: int
    analysis_chunks: int
    nannyml_alerts: list[str] | None = None
    nannyml_seconds: float | None = None
    nannyml_values: list[str] = field(default_factory=list)
    nannyml_error: str | None = None


def car_loan(folder: Path) -> CarLoan | str:
    try:
        reference, analysis = nannyml_table("synthetic_car_loan_dataset")
    except Exception as exc:  # a missing peer is reported, not fatal
        return f"not run: loading NannyML's car loan failed ({type(exc).__name__}: {exc})"
    ref_path, cur_path = folder / "car-reference.parquet", folder / "car-analysis.parquet"
    reference.write_parquet(ref_path)
    analysis.write_parquet(cur_path)
    options = DriftOptions(columns=CAR_LOAN_INPUTS, chunk_size=5000)
    started = time.perf_counter()
    report = run_drift(ref_path, cur_path, options)
    seconds = time.perf_counter() - started
    univariate: dict[str, list[str]] = {}
    for chunk in report.chunks:
        for name in chunk.drifted_columns:
            univariate.setdefault(name, []).append(chunk.key)
    values = []
    for chunk in report.chunks:
        mv = chunk.multivariate
        if mv is not None:
            values.append(
                f"{chunk.key}: {mv.value:.3f} [{mv.lower:.3f}, {mv.upper:.3f}]"
                + (" **alert**" if mv.alert else "")
            )
    result = CarLoan(
        report.multivariate_alerts,
        seconds,
        univariate,
        values,
        len(report.reference_chunks),
        len(report.chunks),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import nannyml as nml
            import pandas as pd

            started = time.perf_counter()
            ref_pd = pd.read_parquet(ref_path)
            cur_pd = pd.read_parquet(cur_path)
            calc = nml.DataReconstructionDriftCalculator(
                column_names=CAR_LOAN_INPUTS, chunk_size=5000
            )
            calc.fit(ref_pd)
            frame = calc.calculate(cur_pd).filter(period="analysis").to_df()
            result.nannyml_seconds = time.perf_counter() - started
        error = frame[("reconstruction_error", "value")].to_numpy()
        upper = frame[("reconstruction_error", "upper_threshold")].to_numpy()
        lower = frame[("reconstruction_error", "lower_threshold")].to_numpy()
        alerts = frame[("reconstruction_error", "alert")].to_numpy()
        result.nannyml_alerts = [str(i) for i, hit in enumerate(alerts) if hit]
        result.nannyml_values = [
            f"{i}: {v:.3f} [{lo:.3f}, {hi:.3f}]" + (" **alert**" if a else "")
            for i, (v, lo, hi, a) in enumerate(zip(error, lower, upper, alerts, strict=True))
        ]
    except Exception as exc:  # a peer that fails is reported with its error
        result.nannyml_error = f"{type(exc).__name__}: {exc}"
    return result


# --- the section ------------------------------------------------------------------------


def escape(text: str) -> str:
    return text.replace("|", "\\|")


def share(count: int, total: int) -> str:
    return f"{count} ({count / total:.0%})" if total else "n/a"


def wilson(count: int, total: int) -> str:
    """The 95% Wilson interval of a rate, as "a-b%"."""
    if not total:
        return "n/a"
    z = 1.959964
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return f"{max(0.0, centre - half):.0%}-{min(1.0, centre + half):.0%}"


def tally_rows(tallies: list[Tally]) -> list[str]:
    rows = []
    for t in tallies:
        n = t.splits
        mv_ran = t.count(lambda o: o.multivariate_ran)
        mv = share(t.count(lambda o: o.multivariate), n) if mv_ran else "skipped"
        if mv_ran and mv_ran < n:
            mv += f" (ran in {mv_ran})"
        seconds = sum(o.seconds for o in t.outcomes) / n if n else 0.0
        rows.append(
            f"| {t.table} | {t.shape} | {t.setting} | {n} "
            f"| **{share(t.alerts, n)}** | {wilson(t.alerts, n)} "
            f"| {share(t.count(lambda o: o.univariate), n)} | {mv} "
            f"| {share(t.count(lambda o: o.schema), n)} "
            f"| {share(t.alerts_raw(), n)} | {t.top_columns()} | {seconds:.2f} s |"
        )
    return rows


TABLE_HEAD = [
    "| table | rows x columns (a half) | setting | splits | alert (false alarm) | 95% CI "
    "| univariate verdict | multivariate | schema change | alert with the per-column rule "
    "(before Holm) | columns flagged (most often, splits) | s / run |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
]


def verdict(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def render(
    args: argparse.Namespace,
    real: list[Tally],
    synth: list[Tally],
    shifts: list[Shift],
    car: CarLoan | str,
    elapsed: float,
    load: tuple[float, ...],
) -> str:
    mach = machine()
    versions = versions_of("postpilot", "polars", "pyarrow", "numpy", "scipy", "nannyml")
    command = f".venv/bin/python bench/drift_false_alarms.py --splits {args.splits}"
    command += f" --large-splits {args.large_splits}"
    lines = [
        "## Drift verdict: false alarms on random halves, alarms on real shifts "
        "(`bench/drift_false_alarms.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, pinned to one CPU, "
        f"{elapsed:.0f} s in all.",
        "",
        f"- Machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs, RAM {mach.get('RAM')}; "
        f"load average at the start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}",
        f"- OS: {mach['OS']}; Python {platform.python_version()}",
        "- Packages: " + ", ".join(f"{p} {v}" for p, v in versions.items()),
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        command,
        "```",
        "",
        "Every comparison is `run_drift(reference.parquet, current.parquet, options)` on two "
        "Parquet files written to a temporary folder, as `postpilot drift` reads them, with "
        "the default tests and thresholds (a column with at most 1,000 values on both sides: "
        "KS / chi-square, p < 0.05 after Holm's adjustment across the chunk's columns; "
        "otherwise normed Wasserstein / Jensen-Shannon > 0.1) and the multivariate detector "
        "on. 'Alert' is `report.alert` (the CLI's exit 1), split into the univariate verdict "
        "(a compared column drifted in some chunk), multivariate alerts and counted schema "
        "changes (a run can count under several). 'Per-column rule' is the verdict had each "
        "column's raw p-value been compared with its threshold, as before Holm's adjustment "
        "(recomputed from the report's `p_value`s; bands and distance tests as applied).",
        "",
        "Settings: unchunked (the CLI's default: the current half is one chunk), and chunked "
        f"by count with `chunk_number` = min({MAX_CHUNKS}, half rows // {MIN_CHUNK_ROWS}) on "
        "both sides (4 chunks of 43 to 71 rows, 6,250 for the 50,000-row synthetic table; "
        "wine, 89 rows a half: 2 chunks of 44-45). "
        "Chunked by count, a chunk is a stretch of consecutive rows, so it is run twice: "
        "with each half in the table's own row order (a table sorted or collected in "
        "batches differs between its stretches: that is a real difference, not noise), "
        "and with each half's rows shuffled (every chunk a random sample: a pure null). "
        "Holm bounds the false-alarm rate per chunk; a run of k chunks has k chances, "
        "about 1 - 0.95^k (19% for 4) at most before the reference-chunk band, which a "
        "p-value column must also exceed, cuts it down.",
        "",
        f"### Real tables: random halves ({args.splits} seeded splits each, `--splits`)",
        "",
        "Tables from `tests/realdata.py`: scikit-learn's breast cancer (30 numbers), wine "
        "(13), diabetes (10), the Palmer penguins as collected (`penguins_raw`: 17 columns, "
        "free-text comments, dates as text, nulls) and cleaned (`penguins`: 8 columns). "
        "Splits by `random_halves(frame, splits, seed=2026)`.",
        "",
        *TABLE_HEAD,
        *tally_rows(real),
        "",
        "### Synthetic table: random halves",
        "",
        "A generated table of 20 independent columns (8 normal, 5 log-normal, 2 Poisson "
        "counts, one with 2% nulls, 5 categorical with 3 to 8 long-tailed levels), a fresh "
        f"draw per split cut into halves; {args.splits} splits at 500 rows, "
        f"{args.large_splits} at 50,000 (`--large-splits`). At 50,000 rows every column has "
        "more than 1,000 values, so the default tests are distances and Holm has nothing to "
        "adjust.",
        "",
        *TABLE_HEAD,
        *tally_rows(synth),
        "",
        *sketch_note(real + synth),
    ]
    lines += shift_lines(shifts, car)
    lines += targets(real, synth, shifts, car)
    return "\n".join(lines).rstrip() + "\n"


def sketch_note(tallies: list[Tally]) -> list[str]:
    """What the exact statistic says about the flagged normed-Wasserstein results."""
    lines = []
    for t in tallies:
        flags = sum(o.sketch_flags for o in t.outcomes)
        if flags:
            only = sum(o.sketch_only for o in t.outcomes)
            lines.append(
                f"- {t.table}, {t.shape}, {t.setting.replace('`', '')}: {flags} flagged "
                f"normed-Wasserstein result(s) computed from sketches; the exact statistic "
                f"(scipy on the same rows against the whole reference half) is at or under "
                f"the threshold in {only} of them."
            )
    if not lines:
        return []
    return [
        "Flagged distances checked against the exact statistic (a flag the exact value "
        "would not raise is a sketch error, not drift):",
        "",
        *lines,
        "",
    ]


def shift_lines(shifts: list[Shift], car: CarLoan | str) -> list[str]:
    lines = [
        "### Real shifts (must alarm)",
        "",
        "One class as the reference, another as the current data (unchunked, default options):",
        "",
        "| comparison | rows x columns | alert | columns drifted | multivariate |",
        "|---|---|---:|---|---|",
    ]
    for s in shifts:
        o = s.outcome
        total = s.rows.rsplit("x", 1)[-1].strip()
        lines.append(
            f"| {s.name} | {s.rows} | {'yes' if o.alert else '**no**'} "
            f"| {len(o.columns)} of {total} | {s.mv} |"
        )
    lines += [
        "",
        'NannyML\'s synthetic car loan (`nannyml_table("synthetic_car_loan_dataset")`, '
        f"inputs {', '.join(f'`{c}`' for c in CAR_LOAN_INPUTS)}; `chunk_size=5000`; "
        "50,000 reference and 50,000 analysis rows, written to Parquet; NannyML's "
        "calculator reads the same files with pandas, its time includes that read):",
        "",
    ]
    if isinstance(car, str):
        return [*lines, car, ""]
    uni = (
        "; ".join(f"`{c}` in chunk(s) {', '.join(keys)}" for c, keys in car.univariate.items())
        or "none"
    )
    lines += [
        "| tool | analysis chunks alerting | time |",
        "|---|---|---:|",
        f"| postpilot `run_drift` multivariate (PCA reconstruction) | "
        f"{', '.join(car.postpilot_alerts) or 'none'} | {car.postpilot_seconds:.2f} s "
        "(whole run, univariate included) |",
    ]
    if car.nannyml_error:
        lines.append(
            f"| NannyML `DataReconstructionDriftCalculator` | failed: "
            f"{escape(car.nannyml_error)} | |"
        )
    elif car.nannyml_alerts is not None and car.nannyml_seconds is not None:
        lines.append(
            f"| NannyML `DataReconstructionDriftCalculator` | "
            f"{', '.join(car.nannyml_alerts) or 'none'} | {car.nannyml_seconds:.2f} s |"
        )
    lines += [
        "",
        f"postpilot per analysis chunk, value [band] ({car.reference_chunks} reference "
        f"chunks): {'; '.join(car.values)}.",
        "",
    ]
    if car.nannyml_values:
        lines += [f"NannyML per analysis chunk: {'; '.join(car.nannyml_values)}.", ""]
    lines += [f"postpilot univariate drift on car loan: {uni}.", ""]
    return lines


def targets(
    real: list[Tally], synth: list[Tally], shifts: list[Shift], car: CarLoan | str
) -> list[str]:
    lines = ["### Targets", ""]
    plain = [t for t in real if t.setting == "unchunked"]
    worst = max(plain, key=lambda t: t.alerts)
    met = all(t.within_target for t in plain)
    lines.append(
        f"- Random halves of real tables, unchunked: the verdict alerts in at most "
        f"{TARGET:.0%} of splits (issue 13): {verdict(met)}: "
        + ", ".join(t.rate() for t in plain)
        + f" (worst {worst.table}, {worst.alerts / worst.splits:.0%})."
    )
    chunked = [t for t in real if "shuffled" in t.setting]
    if chunked:
        met = all(t.within_target for t in chunked)
        lines.append(
            f"- The same, chunked, rows shuffled (not an issue-13 target: Holm bounds each "
            f"chunk, a run of 4 chunks has 4 chances): {verdict(met)}: "
            + ", ".join(t.rate() for t in chunked)
            + "."
        )
    ordered = [t for t in real if "table order" in t.setting]
    if ordered:
        lines.append(
            "- Chunked in the table's own order (no target: stretches of a sorted table "
            "differ for real; wine is sorted by class, the penguins by species): "
            + ", ".join(t.rate() for t in ordered)
            + "."
        )
    met = all(t.within_target for t in synth)
    lines.append(
        f"- Synthetic halves, at most {TARGET:.0%}: {verdict(met)}: "
        + ", ".join(
            f"{t.shape.split(' ')[0]} rows {t.setting.replace('`', '')} {t.alerts}/{t.splits}"
            for t in synth
        )
        + "."
    )
    met = all(s.outcome.alert for s in shifts)
    lines.append(
        f"- Every class-vs-class comparison alerts: {verdict(met)}: "
        + ", ".join(f"{s.name} {'yes' if s.outcome.alert else 'no'}" for s in shifts)
        + "."
    )
    if isinstance(car, CarLoan):
        peer = (
            f" (NannyML: {', '.join(car.nannyml_alerts) or 'none'})"
            if car.nannyml_alerts is not None
            else ""
        )
        lines.append(
            "- Car loan, multivariate alerts on exactly analysis chunks 5-9: "
            f"{verdict(car.postpilot_alerts == CAR_LOAN_EXPECTED)}: "
            f"{', '.join(car.postpilot_alerts) or 'none'}{peer}."
        )
    return lines


# --- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--splits",
        type=int,
        default=100,
        help="random halves per real table and of the 500-row synthetic table (default 100)",
    )
    parser.add_argument(
        "--large-splits",
        type=int,
        default=50,
        help="random halves of the 50,000-row synthetic table (default 50)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="5 splits (2 at 50,000 rows), no report written"
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help=f"print the section instead of writing {RESULTS.name}",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.splits, args.large_splits, args.no_report = 5, 2, True
    if args.splits < 1 or args.large_splits < 1:
        parser.error("--splits and --large-splits must be positive")
    load = os.getloadavg()
    started = time.perf_counter()
    real: list[Tally] = []
    synth: list[Tally] = []
    with tempfile.TemporaryDirectory(prefix="postpilot-drift-fa-") as tmp:
        folder = Path(tmp)
        for name in TABLES:
            frame = table_frame(name)
            shape = f"{frame.height // 2} x {frame.width}"
            real += halves_tallies(
                folder, name, random_halves(frame, args.splits, seed=2026), shape
            )
            log(f"{name}: " + ", ".join(f"{t.alerts}/{t.splits}" for t in real[-3:]))
        for rows in SYNTHETIC_ROWS:
            splits = args.splits if rows <= 1_000 else args.large_splits
            shape = f"{rows // 2:,} x 20"
            synth += halves_tallies(
                folder, "synthetic", synthetic_halves(rows, splits), shape, ordered=False
            )
            log(f"synthetic {rows}: " + ", ".join(f"{t.alerts}/{t.splits}" for t in synth[-2:]))
        shifts = class_pairs(folder)
        log("class pairs: " + ", ".join(f"{s.name} {s.outcome.alert}" for s in shifts))
        car = car_loan(folder)
        log(f"car loan: {car if isinstance(car, str) else car.postpilot_alerts}")
    section = render(args, real, synth, shifts, car, time.perf_counter() - started, load)
    publish(section, RESULTS, no_report=args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
