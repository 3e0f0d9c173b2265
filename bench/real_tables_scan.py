"""Random halves of every real table postpilot's dev extra ships: contracts and drift.

The random-halves benchmarks (contract_false_alarms.py, drift_false_alarms.py) study a
few tables closely; this scan asks the broad question on every table with at least 40
rows that scikit-learn, NannyML and statsmodels bundle (statsmodels comes with NannyML):
infer a contract on one random half and check the other (an error finding is a false
alarm), and run ``run_drift`` on the two halves with the default options, as
``postpilot drift`` does (``report.alert``, the CLI's exit 1, is a false alarm). None of
these tables was used to tune postpilot, except those the other two benchmarks name.
Tables above 20,000 rows are sampled down to 20,000 (seeded). Writes
bench/results/real-tables-scan.md.

    .venv/bin/python bench/real_tables_scan.py [--splits 20]
"""

from __future__ import annotations

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

import polars as pl  # noqa: E402
from profile_bench import log, machine, publish, versions_of  # noqa: E402
from tests.realdata import nannyml_table, random_halves, sklearn_table  # noqa: E402

from postpilot.contracts import check_contract, infer_contract  # noqa: E402
from postpilot.monitoring.run import DriftOptions, run_drift  # noqa: E402

RESULTS = HERE / "results" / "real-tables-scan.md"
MIN_ROWS = 40
MAX_ROWS = 20_000
SKLEARN = ("iris", "wine", "breast_cancer", "diabetes", "digits", "linnerud")
NANNYML = (
    "synthetic_car_loan_dataset",
    "synthetic_binary_classification_dataset",
    "synthetic_multiclass_classification_dataset",
    "us_census_ma_employment_data",
    "titanic_dataset",
)
STATSMODELS = (
    "anes96",
    "ccard",
    "co2",
    "elnino",
    "engel",
    "fair",
    "fertility",
    "grunfeld",
    "heart",
    "interest_inflation",
    "macrodata",
    "modechoice",
    "nile",
    "randhie",
    "star98",
    "statecrime",
    "strikes",
    "sunspots",
)


def tables() -> Iterator[tuple[str, str, Callable[[], pl.DataFrame]]]:
    for name in SKLEARN:
        yield "scikit-learn", name, lambda name=name: sklearn_table(name)
    for name in NANNYML:
        yield "NannyML", name, lambda name=name: nannyml_table(name)[0]
    for name in STATSMODELS:
        yield "statsmodels", name, lambda name=name: _statsmodels(name)


def _statsmodels(name: str) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from statsmodels import datasets

    return pl.from_pandas(getattr(datasets, name).load_pandas().data.reset_index(drop=True))


@dataclass
class Row:
    source: str
    name: str
    shape: str
    splits: int = 0
    contract_errors: int = 0
    drift_alerts: int = 0
    multivariate: int = 0
    findings: collections.Counter[str] = field(default_factory=collections.Counter)
    flagged: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0


def scan(source: str, name: str, frame: pl.DataFrame, splits: int, folder: Path) -> Row:
    if frame.height > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, seed=1)
    # timestamps are chunking keys, not features; drop them as a user comparing halves would
    frame = frame.select(c for c, t in frame.schema.items() if not t.is_temporal())
    row = Row(source, name, f"{frame.height:,} x {frame.width}", splits)
    started = time.perf_counter()
    reference, current = folder / "reference.parquet", folder / "current.parquet"
    for left, right in random_halves(frame, splits, seed=2026):
        result = check_contract(infer_contract(left, name=name), right)
        row.contract_errors += bool(result.errors)
        row.findings.update(f"{f.kind.value} ({f.column})" for f in result.errors)
        left.write_parquet(reference)
        right.write_parquet(current)
        report = run_drift(reference, current, DriftOptions())
        row.drift_alerts += report.alert
        row.multivariate += bool(report.multivariate_alerts)
        row.flagged.update(c for chunk in report.chunks for c in chunk.drifted_columns)
        if report.multivariate_alerts:
            row.flagged["(multivariate)"] += 1
    row.seconds = time.perf_counter() - started
    return row


def wilson(k: int, n: int) -> str:
    """95% Wilson interval of k successes in n, as percentages."""
    if n == 0:
        return ""
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{max(0.0, centre - half):.1%}-{min(1.0, centre + half):.1%}"


def render(rows: list[Row], skipped: list[str], args: argparse.Namespace, seconds: float) -> str:
    info = machine()
    packages = versions_of("polars", "numpy", "scikit-learn", "nannyml", "statsmodels")
    lines = [
        "## Real tables: random halves of every bundled table (`bench/real_tables_scan.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s in all.",
        "",
        f"- Machine: {info.get('Model name')}, {info.get('CPU(s)')} CPUs; "
        f"Python {platform.python_version()}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()),
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        f".venv/bin/python bench/real_tables_scan.py --splits {args.splits}",
        "```",
        "",
        "Every table with at least 40 rows that scikit-learn, NannyML and statsmodels ship "
        f"(above {MAX_ROWS:,} rows, a seeded sample of {MAX_ROWS:,}; timestamp columns "
        f"dropped). {args.splits} seeded random halves each: a contract inferred on one "
        "half and checked on the other (a split with an error finding is a false alarm), "
        "and `run_drift` on the two halves written to Parquet with default options "
        "(`report.alert`, the exit code `postpilot drift` gives; multivariate included).",
        "",
        "| source | table | rows x columns | splits | contract: splits with an error "
        "| drift: splits alerting | of which multivariate | flagged (most often) | s |",
        "|---|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        flagged = ", ".join(f"{k} ({v})" for k, v in r.flagged.most_common(3)) or "-"
        found = ", ".join(f"{k} ({v})" for k, v in r.findings.most_common(2))
        lines.append(
            f"| {r.source} | {r.name} | {r.shape} | {r.splits} | {r.contract_errors}"
            + (f": {found}" if found else "")
            + f" | {r.drift_alerts} | {r.multivariate} | {flagged} | {r.seconds:.1f} |"
        )
    n = sum(r.splits for r in rows)
    contract = sum(r.contract_errors for r in rows)
    drift = sum(r.drift_alerts for r in rows)
    worst = max(rows, key=lambda r: r.drift_alerts)
    lines += [
        "",
        f"In all: {len(rows)} tables, {n} splits. Contract check: {contract} with an error "
        f"({contract / n:.1%}, 95% CI {wilson(contract, n)}). Drift verdict: {drift} "
        f"alerting ({drift / n:.1%}, 95% CI {wilson(drift, n)}); the most on one table: "
        f"{worst.name}, {worst.drift_alerts} of {worst.splits} (with {args.splits} splits "
        f"a table at a true 5% rate shows 3 or more in about 1 table of 13).",
    ]
    if skipped:
        lines += ["", "Left out (fewer than 40 rows or not loadable): " + ", ".join(skipped) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", type=int, default=20, help="random halves per table")
    parser.add_argument("--no-report", action="store_true", help="print, do not write")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # nannyml and statsmodels warn on import
    started = time.perf_counter()
    rows: list[Row] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, name, load in tables():
            try:
                frame = load()
            except Exception as error:  # a dataset a package no longer ships
                skipped.append(f"{name} ({type(error).__name__})")
                continue
            if frame.height < MIN_ROWS:
                skipped.append(f"{name} ({frame.height} rows)")
                continue
            rows.append(scan(source, name, frame, args.splits, Path(tmp)))
            r = rows[-1]
            log(f"{name}: contract {r.contract_errors}, drift {r.drift_alerts} of {r.splits}")
    section = render(rows, skipped, args, time.perf_counter() - started)
    publish(section, RESULTS, no_report=args.no_report)


if __name__ == "__main__":
    main()
