"""Performance estimation without labels: postpilot vs NannyML's CBPE and DLE.

On NannyML's three bundled synthetic datasets (car loan: binary; credit card offers:
multiclass; car price: regression), each with reference, analysis and analysis targets,
both tools fit on the labelled reference and estimate every metric per analysis chunk,
with the same chunks (``chunk_size`` rows, counted from the first analysis row; both
tools agree on the chunk bounds, which the script checks). The realized value of each
chunk is computed here with scikit-learn on the chunk's rows, the same for both tools,
and each tool's error is ``|estimate - realized|`` averaged over the chunks (and, for
regression, ``|estimate - realized| / realized`` too, so metrics of different scales can
be pooled).

- **postpilot**: ``estimate_performance(reference, analysis, PerformanceOptions(...))``
  on polars frames (CBPE for classification, DLE for regression, the features listed
  explicitly);
- **NannyML**: ``CBPE(...)`` / ``DLE(...)``, ``fit(reference)``,
  ``estimate(analysis).filter(period="analysis").to_df()`` on pandas frames (NannyML's
  DLE has no R², so R² is postpilot's alone).

Both see the analysis data with its targets (as ``y_true``), so each also reports its own
realized values; the script checks them against scikit-learn's.

A scale test then builds a binary data set of ``SCALE_ROWS`` rows per set by resampling
the car loan reference and analysis with replacement (seeded; indices sorted, so the
analysis keeps its shift halfway through; scores jittered by up to +/-0.005, inside their
rounding to 2 decimals, so they are continuous like a real model's) and estimates ROC AUC
and F1 in chunks of 100,000 rows.

Each tool runs in its own subprocess under ``/usr/bin/time -v`` (``profile_bench.measure``,
so peak RSS is per tool), ``--runs`` times, interleaved; the tables show the median.
Data sets are written once as Parquet under ``bench/.data/`` and read by each worker
(polars for postpilot, pandas for NannyML; the read is timed apart).

Writes ``bench/results/performance.md`` and runs ``bench/report.py`` (not with ``--quick``
or ``--no-report``).

Run (from the repository root; NannyML is in the project's ``compare`` extra, so the
project's ``.venv`` runs both tools)::

    .venv/bin/pip install -e '.[compare]'
    .venv/bin/python bench/performance_bench.py --runs 3
    .venv/bin/python bench/performance_bench.py --quick   # 1 run, no scale test, no report

Every tool is pinned to one CPU by default (``sched_setaffinity`` and
``OMP_NUM_THREADS=1``, as ``bench/README.md`` asks). LightGBM (NannyML's DLE) and
scikit-learn's histogram gradient boosting (postpilot's DLE) both use OpenMP, and on the
2-CPU shared machine the results were measured on, two OpenMP threads sharing the CPUs
with a busy neighbour made a run up to 6x slower (car price, postpilot: 5.7 s alone, 30.5 s
next to one CPU of other load; NannyML 3.1 s and 19 s), so all-core timings measured the
neighbours. ``--cores 0`` lets every tool use every CPU; ``--cores N`` pins to N.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# profile_bench.py only needs the standard library at import time.
import profile_bench
from profile_bench import Run, existing_stamp, fmt_mib, fmt_s, log, machine, versions_of

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
RESULTS = BENCH / "results" / "performance.md"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"

GENERATOR_VERSION = 1
SCALE_ROWS = 1_000_000
SCALE_CHUNK = 100_000
SCALE_JITTER = 0.005
DEFAULT_TIMEOUT = 1800.0
SIGMAS = 3.0  # both tools' confidence band: estimate +/- 3 sampling errors
# Two errors closer than this share of a chunk's sampling error are a tie: postpilot's CBPE
# and NannyML's agree to ~1e-6, far below the noise, and that is no win either way.
TIE_SHARE = 0.01
POOLED_TIE = 0.001  # pooled errors within 0.1 % of each other are a tie

TELEMETRY_OFF = {
    "NML_DISABLE_USAGE_LOGGING": "1",
    "DO_NOT_TRACK": "1",
    "POLARS_SKIP_CPU_CHECK": "1",
}
TOOLS = ("nannyml", "postpilot")
NANNYML, POSTPILOT = TOOLS
LABELS = {NANNYML: "NannyML", POSTPILOT: "postpilot"}
VERSIONS = ("postpilot", "nannyml", "scikit-learn", "lightgbm", "numpy", "pandas", "polars")

CLASSIFICATION_METRICS = ("roc_auc", "f1", "precision", "recall", "specificity", "accuracy")
REGRESSION_METRICS = ("mae", "mse", "rmse", "mape", "r2")
NANNYML_DLE_METRICS = ("mae", "mse", "rmse", "mape")  # NannyML's DLE has no R²
CAR_PRICE_FEATURES = (
    "car_age",
    "km_driven",
    "price_new",
    "accident_count",
    "door_count",
    "fuel",
    "transmission",
)
MULTICLASS_PROBA = {
    c: f"y_pred_proba_{c}" for c in ("prepaid_card", "highstreet_card", "upmarket_card")
}


@dataclass(frozen=True)
class Dataset:
    """One data set: where it comes from, what the model outputs, how it is chunked."""

    name: str
    title: str
    problem: str  # postpilot's name: binary, multiclass, regression
    loader: str  # the nannyml.load_* function
    y_true: str
    y_pred: str
    proba: str | dict[str, str] | None
    metrics: tuple[str, ...]
    chunk_size: int
    features: tuple[str, ...] = ()
    resample_rows: int = 0  # > 0: resampled with replacement to this many rows per set

    def nannyml_metrics(self) -> tuple[str, ...]:
        if self.problem == "regression":
            return tuple(m for m in self.metrics if m in NANNYML_DLE_METRICS)
        return self.metrics

    def path(self, which: str) -> Path:
        return DATA / f"performance-{self.name}-{which}.parquet"


DATASETS = {
    d.name: d
    for d in (
        Dataset(
            "car_loan",
            "Car loan (binary classification)",
            "binary",
            "load_synthetic_car_loan_dataset",
            "repaid",
            "y_pred",
            "y_pred_proba",
            CLASSIFICATION_METRICS,
            5_000,
        ),
        Dataset(
            "multiclass",
            "Credit card offers (multiclass classification, 3 classes)",
            "multiclass",
            "load_synthetic_multiclass_classification_dataset",
            "y_true",
            "y_pred",
            MULTICLASS_PROBA,
            CLASSIFICATION_METRICS,
            5_000,
        ),
        Dataset(
            "car_price",
            "Car price (regression)",
            "regression",
            "load_synthetic_car_price_dataset",
            "y_true",
            "y_pred",
            None,
            REGRESSION_METRICS,
            6_000,
            CAR_PRICE_FEATURES,
        ),
        Dataset(
            "car_loan_1m",
            f"Car loan resampled to {SCALE_ROWS:,} rows per set (binary)",
            "binary",
            "load_synthetic_car_loan_dataset",
            "repaid",
            "y_pred",
            "y_pred_proba",
            ("roc_auc", "f1"),
            SCALE_CHUNK,
            resample_rows=SCALE_ROWS,
        ),
    )
}
ACCURACY_SETS = ("car_loan", "multiclass", "car_price")
SCALE_SET = "car_loan_1m"


# --- the workers (each runs in its own subprocess) -----------------------------------------


def load_pandas() -> Any:
    """pandas, with NannyML-compatible strings (object, not pandas 3's ``str`` dtype)."""
    import pandas as pd

    pd.set_option("future.infer_string", False)
    return pd


def build_frames(spec: Dataset, seed: int) -> tuple[Any, Any]:
    """The reference and the analysis set (its targets joined in) as pandas frames."""
    import numpy as np

    load_pandas()
    import nannyml as nml

    reference, analysis, targets = getattr(nml, spec.loader)()
    analysis = analysis.merge(targets, on="id", how="left", validate="one_to_one")
    if not spec.resample_rows:
        return reference, analysis
    rng = np.random.default_rng([seed, 7])
    frames = []
    for frame in (reference, analysis):
        rows = np.sort(rng.integers(0, len(frame), spec.resample_rows))
        out = frame.iloc[rows].reset_index(drop=True)
        jitter = rng.uniform(-SCALE_JITTER, SCALE_JITTER, len(out))
        assert isinstance(spec.proba, str)
        out[spec.proba] = np.clip(out[spec.proba].to_numpy() + jitter, 0.0, 1.0)
        out["id"] = np.arange(len(out))
        frames.append(out)
    return frames[0], frames[1]


def sklearn_metric(spec: Dataset, metric: str, part: Any) -> float:
    """The realized value of ``metric`` on the rows of ``part``, with scikit-learn."""
    import numpy as np
    from sklearn import metrics as skm

    if spec.problem == "regression":
        truth, pred = part[spec.y_true].to_numpy(float), part[spec.y_pred].to_numpy(float)
        found = {
            "mae": skm.mean_absolute_error,
            "mse": skm.mean_squared_error,
            "rmse": skm.root_mean_squared_error,
            "mape": skm.mean_absolute_percentage_error,
            "r2": skm.r2_score,
        }[metric](truth, pred)
        return float(found)
    if spec.problem == "binary":
        truth, pred = part[spec.y_true].to_numpy(int), part[spec.y_pred].to_numpy(int)
        if metric == "roc_auc":
            return float(skm.roc_auc_score(truth, part[spec.proba].to_numpy(float)))
        if metric == "specificity":
            return float(skm.recall_score(truth, pred, pos_label=0))
        scorer = {
            "f1": skm.f1_score,
            "precision": skm.precision_score,
            "recall": skm.recall_score,
            "accuracy": skm.accuracy_score,
        }[metric]
        return float(scorer(truth, pred))
    assert isinstance(spec.proba, dict)
    classes = sorted(spec.proba)
    truth, pred = part[spec.y_true].astype(str).to_numpy(), part[spec.y_pred].astype(str).to_numpy()
    if metric == "roc_auc":  # one-vs-rest, macro: sklearn's multi_class="ovr" without its
        # check that the (2-decimal) scores sum to exactly 1
        per_class = [
            skm.roc_auc_score(truth == c, part[spec.proba[c]].to_numpy(float)) for c in classes
        ]
        return float(np.mean(per_class))
    if metric == "accuracy":
        return float(skm.accuracy_score(truth, pred))
    if metric == "specificity":
        matrix = skm.multilabel_confusion_matrix(truth, pred, labels=classes)
        tn, fp = matrix[:, 0, 0], matrix[:, 0, 1]
        return float(np.mean(tn / (tn + fp)))
    scorer = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
    return float(scorer[metric](truth, pred, labels=classes, average="macro"))


def calibration_error(spec: Dataset, part: Any) -> float | None:
    """Expected calibration error of the model's raw scores on ``part`` (10 equal-width
    bins; multiclass: the mean over the classes, one-vs-rest). CBPE assumes it does not
    change from the reference; where it does, no label-free estimate can follow."""
    import numpy as np

    if spec.problem == "regression":
        return None
    if spec.problem == "binary":
        assert isinstance(spec.proba, str)
        pairs = [(part[spec.proba].to_numpy(float), part[spec.y_true].to_numpy(float))]
    else:
        assert isinstance(spec.proba, dict)
        truth = part[spec.y_true].astype(str).to_numpy()
        pairs = [
            (part[column].to_numpy(float), (truth == c).astype(float))
            for c, column in spec.proba.items()
        ]
    errors = []
    for score, label in pairs:
        bins = np.minimum((score * 10).astype(int), 9)
        gap = 0.0
        for b in np.unique(bins):
            mask = bins == b
            gap += mask.mean() * abs(label[mask].mean() - score[mask].mean())
        errors.append(gap)
    return float(np.mean(errors))


def work_prepare(spec: Dataset, seed: int) -> dict[str, Any]:
    """Write both Parquet files (unless up to date) and the realized value of each chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pd = load_pandas()
    start = time.perf_counter()
    stamps = {}
    for which in ("reference", "analysis"):
        stamps[which] = existing_stamp(spec.path(which))
    wanted = {
        "version": GENERATOR_VERSION,
        "dataset": spec.name,
        "seed": seed if spec.resample_rows else None,
        "nannyml": versions_of("nannyml")["nannyml"],
    }
    fresh = all(s is not None and {k: s.get(k) for k in wanted} == wanted for s in stamps.values())
    if fresh:
        reference = pd.read_parquet(spec.path("reference"))
        analysis = pd.read_parquet(spec.path("analysis"))
    else:
        DATA.mkdir(parents=True, exist_ok=True)
        reference, analysis = build_frames(spec, seed)
        for which, frame in (("reference", reference), ("analysis", analysis)):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            stamp = json.dumps({**wanted, "set": which, "rows": len(frame)})
            table = table.replace_schema_metadata(
                {**(table.schema.metadata or {}), b"postpilot_bench": stamp.encode()}
            )
            tmp = spec.path(which).with_suffix(".tmp")
            pq.write_table(table, tmp, compression="zstd")
            tmp.replace(spec.path(which))
    chunks, realized, calibration = [], {m: [] for m in spec.metrics}, []
    for first in range(0, len(analysis), spec.chunk_size):
        part = analysis.iloc[first : first + spec.chunk_size]
        chunks.append([first, first + len(part) - 1])
        calibration.append(calibration_error(spec, part))
        for metric in spec.metrics:
            realized[metric].append(sklearn_metric(spec, metric, part))
    reference_calibration = [
        calibration_error(spec, reference.iloc[first : first + spec.chunk_size])
        for first in range(0, len(reference), spec.chunk_size)
    ]
    return {
        "reused": fresh,
        "s": time.perf_counter() - start,
        "reference_rows": len(reference),
        "calibration": calibration,
        "reference_calibration": reference_calibration,
        "analysis_rows": len(analysis),
        "chunks": chunks,
        "realized": realized,
    }


def nannyml_estimator(spec: Dataset) -> Any:
    import nannyml as nml

    if spec.problem == "regression":
        return nml.DLE(
            feature_column_names=list(spec.features),
            y_pred=spec.y_pred,
            y_true=spec.y_true,
            metrics=list(spec.nannyml_metrics()),
            chunk_size=spec.chunk_size,
        )
    return nml.CBPE(
        y_pred_proba=spec.proba,
        y_pred=spec.y_pred,
        y_true=spec.y_true,
        metrics=list(spec.metrics),
        chunk_size=spec.chunk_size,
        problem_type=f"classification_{spec.problem}",
    )


def work_nannyml(spec: Dataset) -> dict[str, Any]:
    start = time.perf_counter()
    pd = load_pandas()
    import nannyml  # noqa: F401  (its import time counts as import, not work)

    imported = time.perf_counter()
    reference = pd.read_parquet(spec.path("reference"))
    analysis = pd.read_parquet(spec.path("analysis"))
    read = time.perf_counter()
    estimator = nannyml_estimator(spec).fit(reference)
    fitted = time.perf_counter()
    table = estimator.estimate(analysis).filter(period="analysis").to_df()
    done = time.perf_counter()

    def column(metric: str, key: str) -> list[float | None]:
        values = table[(metric, key)].tolist()
        return [None if v is None or v != v else float(v) for v in values]

    metrics = {}
    for metric in spec.nannyml_metrics():
        metrics[metric] = {
            "estimated": column(metric, "value"),
            "realized": column(metric, "realized"),
            "lower": column(metric, "lower_confidence_boundary"),
            "upper": column(metric, "upper_confidence_boundary"),
            "sampling_error": column(metric, "sampling_error"),
        }
    chunks = [
        [int(a), int(b)]
        for a, b in zip(table[("chunk", "start_index")], table[("chunk", "end_index")], strict=True)
    ]
    return {
        "import_s": imported - start,
        "read_s": read - imported,
        "fit_s": fitted - read,
        "estimate_s": done - fitted,
        "work_s": done - read,
        "chunks": chunks,
        "metrics": metrics,
        "versions": versions_of(*VERSIONS),
    }


def work_postpilot(spec: Dataset) -> dict[str, Any]:
    start = time.perf_counter()
    # postpilot imports scikit-learn lazily, at fit: count that as import time, as
    # NannyML's own import of scikit-learn and LightGBM counts.
    import polars as pl
    import sklearn.ensemble
    import sklearn.isotonic  # noqa: F401

    from postpilot.performance.run import PerformanceOptions, estimate_performance

    imported = time.perf_counter()
    reference = pl.read_parquet(spec.path("reference"))
    analysis = pl.read_parquet(spec.path("analysis"))
    read = time.perf_counter()
    options = PerformanceOptions(
        problem=spec.problem,
        y_true=spec.y_true,
        y_pred=spec.y_pred,
        y_pred_proba=spec.proba,
        metrics=list(spec.metrics),
        chunk_size=spec.chunk_size,
        features=list(spec.features) if spec.features else None,
    )
    report = estimate_performance(reference, analysis, options)
    done = time.perf_counter()
    metrics: dict[str, dict[str, list[float | None]]] = {
        m: {k: [] for k in ("estimated", "realized", "lower", "upper", "sampling_error")}
        for m in spec.metrics
    }
    for chunk in report.chunks:
        for result in chunk.metrics:
            for key in metrics[result.metric]:
                metrics[result.metric][key].append(getattr(result, key))
    return {
        "import_s": imported - start,
        "read_s": read - imported,
        "work_s": done - read,  # fit and estimate happen in one call
        "chunks": [[c.start, c.end] for c in report.chunks],
        "metrics": metrics,
        "versions": versions_of(*VERSIONS),
    }


def worker(args: argparse.Namespace) -> int:
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    spec = DATASETS[args.dataset]
    if args.worker == "prepare":
        out = work_prepare(spec, args.seed)
    elif args.worker == NANNYML:
        out = work_nannyml(spec)
    else:
        out = work_postpilot(spec)
    Path(args.out).write_text(json.dumps(out, default=str), encoding="utf-8")
    return 0


# --- the benchmark ---------------------------------------------------------------------------


def measure(python: str, worker_args: list[str], env: dict[str, str], timeout: float) -> Run:
    """Run this script as a worker, measured as profile_bench measures its own."""
    return profile_bench.measure(python, worker_args, env, timeout, script=Path(__file__).resolve())


@dataclass
class Bench:
    """Everything measured on one data set."""

    name: str
    truth: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, list[Run]] = field(default_factory=dict)

    @property
    def spec(self) -> Dataset:
        return DATASETS[self.name]

    def ok_runs(self, tool: str) -> list[Run]:
        return [r for r in self.runs.get(tool, []) if r.ok]

    def median(self, tool: str, key: str = "work_s") -> float | None:
        runs = self.ok_runs(tool)
        return statistics.median(r.out[key] for r in runs) if runs else None


def child_env(cores: int | None) -> dict[str, str]:
    env = {**os.environ, **TELEMETRY_OFF}
    env.pop("VIRTUAL_ENV", None)
    if cores:
        for name in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(cores)
    return env


def bench(args: argparse.Namespace) -> list[Bench]:
    env = child_env(args.cores)
    pin = ["--cores", str(args.cores)] if args.cores else []
    names = [n for n in args.datasets if n != SCALE_SET or args.scale]
    benches = []
    for name in names:
        run = measure(
            args.postpilot_python,
            ["--worker", "prepare", "--dataset", name, "--seed", str(args.seed), *pin],
            env,
            timeout=3600,
        )
        if not run.ok:
            raise SystemExit(f"preparing {name} failed: {run.error}")
        action = "reused" if run.out["reused"] else f"written in {run.wall_s:.1f} s"
        log(
            f"{name}: {run.out['reference_rows']:,} reference rows, "
            f"{run.out['analysis_rows']:,} analysis rows in {len(run.out['chunks'])} chunks; "
            f"Parquet {action}"
        )
        benches.append(Bench(name, truth=run.out))
    for run_index in range(args.runs):
        for item in benches:
            # Alternate which tool goes first, so neither always follows the other.
            order = TOOLS if run_index % 2 == 0 else TOOLS[::-1]
            for tool in order:
                if run_index and not item.ok_runs(tool):
                    continue  # it failed on the first run: record that once
                python = args.peer_python if tool == NANNYML else args.postpilot_python
                worker_args = ["--worker", tool, "--dataset", item.name, *pin]
                run = measure(python, worker_args, env, args.timeout)
                item.runs.setdefault(tool, []).append(run)
                state = f"{run.out['work_s']:.2f} s work" if run.ok else f"FAILED ({run.error})"
                log(
                    f"{item.name}, run {run_index + 1}/{args.runs}, {tool}: {state}, "
                    f"{run.wall_s:.2f} s process, peak RSS {run.max_rss / 2**20:.0f} MiB, "
                    f"other load {run.other_cpus:.2f} CPUs"
                )
    return benches


# --- the comparison -------------------------------------------------------------------------


@dataclass
class Score:
    """One tool's errors on one metric over the chunks."""

    errors: list[float]  # |estimate - realized| per chunk
    relative: list[float]  # the same over |realized|
    covered: int  # chunks whose realized value lies inside the tool's band
    sampling_error: float | None  # median over the chunks
    realized_gap: float  # max |tool's realized - sklearn's|
    run_spread: float  # max |estimate of a later run - of the first run|

    @property
    def mae(self) -> float:
        return statistics.fmean(self.errors) if self.errors else math.nan

    @property
    def mre(self) -> float:
        return statistics.fmean(self.relative) if self.relative else math.nan


def score(item: Bench, tool: str, metric: str) -> Score | None:
    runs = item.ok_runs(tool)
    if not runs or metric not in runs[0].out["metrics"]:
        return None
    found = runs[0].out["metrics"][metric]
    truth = item.truth["realized"][metric]
    errors, relative, covered, gaps = [], [], 0, []
    for i, real in enumerate(truth):
        estimate = found["estimated"][i]
        if estimate is None:
            errors.append(math.inf)
            relative.append(math.inf)
            continue
        errors.append(abs(estimate - real))
        relative.append(abs(estimate - real) / abs(real) if real else math.inf)
        lower, upper, error = found["lower"][i], found["upper"][i], found["sampling_error"][i]
        if error is not None:  # an unclipped band where the tool left a side out
            lower = estimate - SIGMAS * error if lower is None else lower
            upper = estimate + SIGMAS * error if upper is None else upper
        covered += lower is not None and upper is not None and lower <= real <= upper
        if found["realized"][i] is not None:
            gaps.append(abs(found["realized"][i] - real))
    spread = 0.0
    for run in runs[1:]:
        later = run.out["metrics"][metric]["estimated"]
        first = found["estimated"]
        spread = max(
            [spread] + [abs(a - b) for a, b in zip(later, first, strict=True) if None not in (a, b)]
        )
    errs = [e for e in found["sampling_error"] if e is not None]
    return Score(
        errors,
        relative,
        covered,
        statistics.median(errs) if errs else None,
        max(gaps) if gaps else math.nan,
        spread,
    )


def tolerance(a: Score, b: Score) -> float:
    """The difference in error below which two estimates are equally close."""
    errors = [s.sampling_error for s in (a, b) if s.sampling_error is not None]
    return TIE_SHARE * min(errors) if errors else 0.0


def closer(nml: float, post: float, tie: float = 0.0) -> str:
    if abs(nml - post) <= tie or math.isclose(nml, post, rel_tol=1e-9, abs_tol=1e-15):
        return "tie"
    return "**postpilot**" if post < nml else "NannyML"


def chunk_wins(a: Score, b: Score) -> tuple[int, int, int]:
    """Chunks where postpilot is closer, as close (within the tie tolerance), farther."""
    tie = tolerance(a, b)
    better = sum(p < n - tie for p, n in zip(b.errors, a.errors, strict=True))
    worse = sum(p > n + tie for p, n in zip(b.errors, a.errors, strict=True))
    return better, len(a.errors) - better - worse, worse


def fmt_err(value: float, metric: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if metric == "mse":
        return f"{value:,.0f}"
    if metric in ("mae", "rmse"):
        return f"{value:,.1f}"
    return f"{value:.4f}"


def chunk_check(item: Bench) -> list[str]:
    """Notes where a tool's chunks differ from the sklearn chunks."""
    notes = []
    for tool in TOOLS:
        runs = item.ok_runs(tool)
        if runs and runs[0].out["chunks"] != item.truth["chunks"]:
            notes.append(
                f"- **{LABELS[tool]}'s chunks differ from the reference chunking**: "
                f"{runs[0].out['chunks']} vs {item.truth['chunks']}; its errors are not "
                "comparable."
            )
    return notes


@dataclass
class Pooled:
    """A data set's errors pooled over the metrics both tools estimate."""

    nml: float
    post: float
    wins: int
    metrics: int
    unit: str

    @property
    def met(self) -> bool:
        """postpilot at least as close, counting a difference under 0.1 % as a tie."""
        return self.post <= self.nml * (1 + POOLED_TIE)


def pooled(item: Bench) -> Pooled | None:
    spec = item.spec
    nml_all, post_all, wins, shared = [], [], 0, 0
    for metric in spec.nannyml_metrics():
        a, b = score(item, NANNYML, metric), score(item, POSTPILOT, metric)
        if a is None or b is None:
            continue
        shared += 1
        wins += b.mae <= a.mae + tolerance(a, b)
        if spec.problem == "regression":
            nml_all += a.relative
            post_all += b.relative
        else:
            nml_all += a.errors
            post_all += b.errors
    if not shared:
        return None
    unit = "mean relative error" if spec.problem == "regression" else "mean absolute error"
    return Pooled(statistics.fmean(nml_all), statistics.fmean(post_all), wins, shared, unit)


def accuracy_table(item: Bench) -> list[str]:
    spec = item.spec
    regression = spec.problem == "regression"
    rows = item.truth["analysis_rows"]
    chunks = len(item.truth["chunks"])
    lines = [
        f"#### {spec.title}",
        "",
        f"{item.truth['reference_rows']:,} reference rows; {rows:,} analysis rows in "
        f"{chunks} chunks of {spec.chunk_size:,}. Errors are against the realized value of "
        "each chunk; 'closer' compares the mean over the chunks, 'chunks' counts chunk by "
        "chunk (a difference under 1% of a chunk's sampling error is a tie); 's.e.' is each "
        "tool's own sampling "
        "error of a chunk (median over the chunks), the noise the errors should be compared "
        "with; 'in band' counts the chunks whose realized value lies inside the tool's "
        "confidence band (estimate +/- 3 s.e., clipped to the metric's range).",
        "",
    ]
    head = "| metric | NannyML MAE | postpilot MAE |"
    rule = "|---|---:|---:|"
    if regression:
        head += " NannyML mean rel. error | postpilot mean rel. error |"
        rule += "---:|---:|"
    head += " closer | chunks: postpilot closer / tie / NannyML closer | postpilot / NannyML |"
    head += " s.e. NannyML / postpilot |"
    head += " in band NannyML / postpilot |"
    rule += "---|---:|---:|---:|---:|"
    lines += [head, rule]
    for metric in spec.metrics:
        a, b = score(item, NANNYML, metric), score(item, POSTPILOT, metric)
        cells = [
            f"`{metric}`",
            fmt_err(a.mae, metric) if a else "n/a (not offered)",
            fmt_err(b.mae, metric) if b else "failed",
        ]
        if regression:
            cells += [f"{a.mre:.2%}" if a else "n/a", f"{b.mre:.2%}" if b else "n/a"]
        if a and b:
            better, tied, worse = chunk_wins(a, b)
            ratio = f"{b.mae / a.mae:.4f}" if a.mae else "n/a"
            cells += [closer(a.mae, b.mae, tolerance(a, b)), f"{better} / {tied} / {worse}", ratio]
        else:
            cells += ["n/a", "n/a", "n/a"]
        se = [
            fmt_err(s.sampling_error, metric) if s and s.sampling_error is not None else "n/a"
            for s in (a, b)
        ]
        cells.append(" / ".join(se))
        cells.append(" / ".join(f"{s.covered}/{chunks}" if s else "n/a" for s in (a, b)))
        lines.append("| " + " | ".join(cells) + " |")
    total = pooled(item)
    if total:
        verdict = "at least as close" if total.met else "less close"
        lines += [
            "",
            f"Pooled over the {total.metrics} metrics both estimate ({total.unit} of every "
            f"metric-chunk pair): NannyML {total.nml:.6f}, postpilot {total.post:.6f} "
            f"(postpilot / NannyML {total.post / total.nml:.4f}); postpilot is {verdict}, and "
            f"closer or tied on {total.wins} of the {total.metrics} metrics.",
        ]
    lines += ["", agreement(item), "", *per_chunk(item), *sanity(item), *chunk_check(item)]
    return lines


def agreement(item: Bench) -> str:
    """How far apart the two tools' estimates are, chunk by chunk."""
    runs = {t: item.ok_runs(t) for t in TOOLS}
    if not all(runs.values()):
        return ""
    parts = []
    for metric in item.spec.nannyml_metrics():
        ours = runs[POSTPILOT][0].out["metrics"][metric]["estimated"]
        theirs = runs[NANNYML][0].out["metrics"][metric]["estimated"]
        gaps = [abs(a - b) for a, b in zip(ours, theirs, strict=True) if None not in (a, b)]
        if gaps:
            parts.append(f"`{metric}` {max(gaps):.2g}")
    return (
        "Largest difference between the two tools' estimates of one chunk: "
        + ", ".join(parts)
        + "."
    )


def per_chunk(item: Bench) -> list[str]:
    """The first metric chunk by chunk, to show what the means summarise."""
    spec = item.spec
    metric = spec.metrics[0]
    runs = {t: item.ok_runs(t) for t in TOOLS}
    if not all(runs.values()):
        return []
    calibration = item.truth.get("calibration") or []
    shown = any(c is not None for c in calibration)
    title = f"`{metric}` per chunk (realized with scikit-learn; estimates, error in brackets)"
    if shown:
        ref = [c for c in item.truth.get("reference_calibration") or [] if c is not None]
        span = f"{min(ref):.3f} to {max(ref):.3f}" if ref else "n/a"
        title += (
            "; 'score ECE' is the expected calibration error of the model's raw scores in "
            "the chunk (10 equal-width bins; multiclass: mean over the classes, one-vs-rest), "
            f"{span} in the reference chunks. CBPE assumes the calibration of the reference, "
            "where it moves, the estimates drift from the realized values"
        )
    lines = [
        title + ":",
        "",
        "| chunk (rows) | realized | NannyML | postpilot |" + (" score ECE |" if shown else ""),
        "|---|---:|---:|---:|" + ("---:|" if shown else ""),
    ]
    for i, (first, last) in enumerate(item.truth["chunks"]):
        real = item.truth["realized"][metric][i]
        cells = [f"{i} ({first:,}-{last:,})", fmt_err(real, metric)]
        for tool in TOOLS:
            estimate = runs[tool][0].out["metrics"][metric]["estimated"][i]
            cells.append(
                "n/a"
                if estimate is None
                else f"{fmt_err(estimate, metric)} ({fmt_err(estimate - real, metric)})"
            )
        if shown:
            cells.append(f"{calibration[i]:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def sanity(item: Bench) -> list[str]:
    """Each tool's own realized values against scikit-learn's, and run-to-run spread."""
    parts, spreads = [], []
    for tool in TOOLS:
        scores = {m: score(item, tool, m) for m in item.spec.metrics}
        gaps = {m: s.realized_gap for m, s in scores.items() if s}
        if gaps:
            worst = max(gaps, key=lambda m: gaps[m])
            parts.append(
                f"{LABELS[tool]} largest difference {gaps[worst]:.2g} (`{worst}`)"
                if gaps[worst] > 1e-9
                else f"{LABELS[tool]} equal to 1e-9 on every metric"
            )
        spread = {m: s.run_spread for m, s in scores.items() if s}
        if spread and len(item.ok_runs(tool)) > 1:
            worst = max(spread, key=lambda m: spread[m])
            spreads.append(
                f"{LABELS[tool]} identical in every run"
                if spread[worst] == 0
                else f"{LABELS[tool]} up to {spread[worst]:.2g} apart (`{worst}`)"
            )
    lines = []
    if parts:
        lines.append(f"Each tool's own realized values vs scikit-learn's: {'; '.join(parts)}.")
    if spreads:
        lines.append(f"Estimates across runs: {'; '.join(spreads)}.")
    return [" ".join(lines), ""] if lines else []


def timing_table(items: list[Bench]) -> list[str]:
    lines = [
        "| data set | tool | fit + estimate (median) | min .. max | read Parquet | imports "
        "| process wall (median) | peak RSS (max) | CPU time (median) | NannyML / postpilot "
        "(fit + estimate) | other load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in items:
        nml, post = item.median(NANNYML), item.median(POSTPILOT)
        for tool in TOOLS:
            runs = item.ok_runs(tool)
            if not runs:
                failed = item.runs.get(tool, [])
                error = failed[0].error.replace("|", "/") if failed else "not run"
                lines.append(f"| {item.name} | {LABELS[tool]}: {error} | | | | | | | | | |")
                continue
            times = [r.out["work_s"] for r in runs]
            ratio = ""
            if tool == POSTPILOT and nml and post:
                ratio = (
                    f"{nml / post:.1f}x (postpilot faster)"
                    if post <= nml
                    else f"{nml / post:.2f}x (postpilot {post / nml:.2f}x slower)"
                )
            lines.append(
                f"| {item.name} | {LABELS[tool]} | {fmt_s(statistics.median(times))} "
                f"| {fmt_s(min(times))} .. {fmt_s(max(times))} "
                f"| {fmt_s(item.median(tool, 'read_s'))} | {fmt_s(item.median(tool, 'import_s'))} "
                f"| {fmt_s(statistics.median(r.wall_s for r in runs))} "
                f"| {fmt_mib(max(r.max_rss for r in runs))} "
                f"| {fmt_s(statistics.median(r.cpu_s for r in runs))} | {ratio} "
                f"| {statistics.fmean(r.other_cpus for r in runs):.2f} CPUs |"
            )
    return lines


def nannyml_split(items: list[Bench]) -> str:
    parts = []
    for item in items:
        if item.ok_runs(NANNYML):
            parts.append(
                f"{item.name} {fmt_s(item.median(NANNYML, 'fit_s'))} + "
                f"{fmt_s(item.median(NANNYML, 'estimate_s'))}"
            )
    return "; ".join(parts)


def identical(item: Bench) -> float | None:
    """The largest gap between the tools' estimates, if every one is under the tie
    tolerance of its metric (the two computed the same numbers); else None."""
    runs = {t: item.ok_runs(t) for t in TOOLS}
    if not all(runs.values()):
        return None
    largest = 0.0
    for metric in item.spec.nannyml_metrics():
        a, b = score(item, NANNYML, metric), score(item, POSTPILOT, metric)
        if a is None or b is None:
            return None
        ours = runs[POSTPILOT][0].out["metrics"][metric]["estimated"]
        theirs = runs[NANNYML][0].out["metrics"][metric]["estimated"]
        for x, y in zip(ours, theirs, strict=True):
            if x is None or y is None or abs(x - y) > tolerance(a, b):
                return None
            largest = max(largest, abs(x - y))
    return largest


def verdicts(items: list[Bench]) -> list[str]:
    if not items:
        return []
    lines = ["### Target", ""]
    for item in items:
        total = pooled(item)
        if total is None:
            lines.append(f"- {item.spec.title}: not measured (a tool failed).")
            continue
        met = total.met
        lost = [
            m
            for m in item.spec.nannyml_metrics()
            if (a := score(item, NANNYML, m))
            and (b := score(item, POSTPILOT, m))
            and b.mae > a.mae + tolerance(a, b)
        ]
        same = identical(item)
        lines.append(
            f"- Per-chunk estimates on average at least as close to the realized value as "
            f"NannyML's, {item.spec.title}: {'**met**' if met else '**MISSED**'}: pooled "
            f"{total.unit} {total.post:.6f} vs {total.nml:.6f}; closer or tied on "
            f"{total.wins} of {total.metrics} metrics"
            + (f" (NannyML closer on {', '.join(f'`{m}`' for m in lost)})" if lost else "")
            + (
                f"; met as a tie: every estimate equals NannyML's to {same:.1g}, the same "
                "method (isotonic calibration, expected confusion matrix) computed alike."
                if same is not None
                else "."
            )
        )
    return lines


def command_of(args: argparse.Namespace) -> str:
    command = f".venv/bin/python bench/performance_bench.py --runs {args.runs}"
    if args.quick:
        command = ".venv/bin/python bench/performance_bench.py --quick"
    if args.cores != 1:
        command += f" --cores {args.cores}"
    if args.seed:
        command += f" --seed {args.seed}"
    if not args.scale and not args.quick:
        command += " --no-scale"
    if list(args.datasets) != list(DATASETS):
        command += f" --datasets {' '.join(args.datasets)}"
    return command


def source_state() -> str:
    """The commit postpilot was measured at, and any uncommitted change under src/."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        return "unknown (no git)"
    if not commit:
        return "unknown (not a git checkout)"
    if not changed:
        return f"commit {commit}, `src/` as committed"
    files = ", ".join(f"`{line[3:]}`" for line in changed)
    return f"commit {commit} with uncommitted changes to {files}"


def versions_seen(items: list[Bench]) -> str:
    for item in items:
        for tool in TOOLS:
            runs = item.ok_runs(tool)
            if runs:
                return ", ".join(f"{p} {v}" for p, v in runs[0].out["versions"].items())
    return "unknown (no tool ran)"


def render(items: list[Bench], args: argparse.Namespace, load: tuple[list[float], ...]) -> str:
    mach = machine()
    cores = (
        f"every tool pinned to {args.cores} CPU(s) (`sched_setaffinity`, `OMP_NUM_THREADS`; "
        "LightGBM and scikit-learn's gradient boosting both use OpenMP, whose threads slowed "
        "runs up to 6x when a neighbour held one of the 2 CPUs, so all-core timings measured "
        "the neighbours)"
        if args.cores
        else f"every tool may use all {os.cpu_count()} CPUs"
    )
    other = [r.other_cpus for item in items for runs in item.runs.values() for r in runs]
    start, end = load
    noisy = other and max(other) > 0.5
    accuracy = [i for i in items if i.name in ACCURACY_SETS]
    scale = [i for i in items if i.name == SCALE_SET]
    lines = [
        "## Performance estimation without labels vs NannyML (`bench/performance_bench.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cores}.",
        "",
        f"- Machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs "
        f"({mach.get('Thread(s) per core', '?')} thread(s) per core), RAM {mach.get('RAM')}",
        f"- OS: {mach['OS']}; Python {platform.python_version()}",
        f"- Packages (project venv, both tools): {versions_seen(items)}",
        f"- postpilot source at the start of the run: {args.source}",
        f"- Load average at the start: {start[0]:.2f}, {start[1]:.2f}, {start[2]:.2f}; at the "
        f"end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}. The machine is shared: 'other load' "
        "is the average number of CPUs busy with processes other than the measured one while "
        "it ran (from /proc/stat)"
        + (
            f", {statistics.fmean(other):.2f} on average over all runs, up to {max(other):.2f}."
            if other
            else "."
        )
        + (
            " Timings with other load near a whole CPU are noisy (on 2 CPUs a busy neighbour "
            "takes half the machine); the medians and the min .. max columns show how much."
            if noisy
            else ""
        ),
        "",
        "Workload: NannyML's bundled synthetic data sets (`nannyml.load_synthetic_*`), each "
        "with its reference set, analysis set and analysis targets (joined on `id`), written "
        "once to Parquet. Both tools fit on the reference and estimate every metric per "
        "analysis chunk, the same chunks for both (fixed-size, from the first analysis row; "
        "the script checks that both report the same chunk bounds). The realized value of "
        "a chunk is computed by the script with scikit-learn on that chunk's rows "
        "(classification: macro averages over the classes, one-vs-rest ROC AUC; "
        "specificity is the recall of the negative class), the same for both tools. A "
        "tool's error on a metric is `|estimate - realized|` averaged over the chunks (MAE "
        "of the estimate); for regression also divided by the realized value (mean relative "
        "error), so metrics of different scales can be pooled.",
        "",
        "What each tool runs, in its own subprocess under `/usr/bin/time -v` (peak RSS is "
        f"that process's maximum resident set), {args.runs} run(s) each, interleaved:",
        "",
        "- postpilot: `estimate_performance(reference, analysis, PerformanceOptions(problem, "
        "y_true, y_pred, y_pred_proba, metrics, chunk_size, features))` on polars frames "
        "(isotonic-calibrated CBPE for classification; DLE with scikit-learn's histogram "
        "gradient boosting for regression, features listed explicitly);",
        "- NannyML: `CBPE(..., problem_type='classification_binary' | "
        "'classification_multiclass')` or `DLE(feature_column_names=..., ...)`, `.fit("
        "reference)`, `.estimate(analysis).filter(period='analysis').to_df()` on pandas "
        "frames (LightGBM for DLE, its default hyperparameters; its DLE has no R²).",
        "",
        "'fit + estimate' is measured inside the process after imports and reading both "
        "Parquet files (it includes each tool's reference-chunk results, sampling errors "
        "and thresholds, which both compute in fit or estimate); 'process wall' is the "
        "whole subprocess: interpreter start, imports, read, fit and estimate. NannyML's "
        f"fit + estimate split: {nannyml_split(items) or 'n/a'}.",
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        ".venv/bin/pip install -e '.[compare]'   # nannyml and statsmodels",
        command_of(args),
        "```",
        "",
    ]
    if accuracy:
        lines += ["### Accuracy of the estimates", ""]
        for item in accuracy:
            lines += [*accuracy_table(item), ""]
    if items:
        lines += [
            "### Time and memory",
            "",
            *timing_table([i for i in items if i.name != SCALE_SET]),
            "",
        ]
    for item in scale:
        spec = item.spec
        lines += [
            f"### Scale: {spec.resample_rows:,} rows per set",
            "",
            f"The car loan reference and analysis sets, each resampled with replacement to "
            f"{spec.resample_rows:,} rows (`--seed {args.seed}`; row indices sorted, so the "
            "analysis keeps its shift halfway through; `y_pred_proba` jittered uniformly by "
            f"up to +/-{SCALE_JITTER} and clipped to [0, 1], inside the data's rounding to 2 "
            "decimals, so scores are continuous like a real model's; `y_pred` unchanged), "
            f"ROC AUC and F1 in {len(item.truth['chunks'])} chunks of {spec.chunk_size:,}.",
            "",
            *timing_table([item]),
            "",
        ]
        for metric in spec.metrics:
            a, b = score(item, NANNYML, metric), score(item, POSTPILOT, metric)
            if a and b:
                verdict = closer(a.mae, b.mae, tolerance(a, b))
                lines.append(
                    f"- `{metric}` MAE of the estimate: NannyML {a.mae:.4f}, postpilot "
                    f"{b.mae:.4f} ({verdict if verdict == 'tie' else verdict + ' closer'}; "
                    f"sampling error of a {spec.chunk_size:,}-row chunk about "
                    f"{b.sampling_error or math.nan:.4f})."
                )
        lines += ["", agreement(item)]
        lines += ["", *sanity(item), *chunk_check(item)]
    lines += verdicts(accuracy)
    return "\n".join(lines).rstrip() + "\n"


def save_raw(items: list[Bench], args: argparse.Namespace) -> None:
    """Every run's measurements, as JSON, next to the data (not committed)."""
    raw = {
        "args": vars(args),
        "datasets": [
            {
                "name": i.name,
                "truth": i.truth,
                "runs": {t: [asdict(r) for r in runs] for t, runs in i.runs.items()},
            }
            for i in items
        ],
    }
    name = "performance-bench-quick.json" if args.quick else "performance-bench-last.json"
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / name).write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (the median counts)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 run, no scale test, no report written"
    )
    parser.add_argument(
        "--no-scale", dest="scale", action="store_false", help="skip the 1M-row scale test"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(DATASETS),
        help="data sets to run (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the scale test's resample")
    parser.add_argument(
        "--cores", type=int, default=1, help="pin every tool to N CPUs (default 1; 0: all CPUs)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds before a run is killed"
    )
    parser.add_argument(
        "--postpilot-python",
        default=str(PROJECT_PYTHON),
        help="Python with postpilot installed (also prepares the data: needs nannyml too)",
    )
    parser.add_argument(
        "--peer-python",
        default=str(PROJECT_PYTHON),
        help="Python with nannyml installed (default: the project's, whose compare extra has it)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help=f"print the section instead of {RESULTS.name}"
    )
    # Internal: run as one measured worker.
    parser.add_argument("--worker", choices=["prepare", *TOOLS], help=argparse.SUPPRESS)
    parser.add_argument("--dataset", choices=list(DATASETS), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.scale, args.no_report = 1, False, True
    if args.runs < 1:
        parser.error("--runs must be positive")
    if args.cores < 0:
        parser.error("--cores must be 0 (all CPUs) or positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        return worker(args)
    for python in {args.postpilot_python, args.peer_python}:
        if not Path(python).exists():
            print(f"error: {python} does not exist", file=sys.stderr)
            return 2
    start_load = list(os.getloadavg())
    args.source = source_state()
    log(f"postpilot: {args.source}")
    log(f"load average {start_load[0]:.2f}, {start_load[1]:.2f}, {start_load[2]:.2f}")
    items = bench(args)
    save_raw(items, args)
    section = render(items, args, (start_load, list(os.getloadavg())))
    profile_bench.publish(section, RESULTS, no_report=args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
