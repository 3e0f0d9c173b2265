"""Drift detection on two data sets: postpilot vs a plain polars PSI pass vs Evidently,
NannyML and whylogs.

Generates (seeded, with polars, in 1M-row chunks through a ``ParquetWriter``) a reference
and a current Parquet file per row count under ``bench/.data/``: the 20 columns of
``profile_bench.py`` (10 float, 5 int, 5 categorical strings). The current set is drawn
with another seed, and exactly five columns drift (``DRIFTS``); the other fifteen come
from the same distributions. Existing files with the right row count and generator
version are reused. Then, per row count, each tool runs in its own subprocess under
``/usr/bin/time -v`` (so peak RSS is per tool), ``--runs`` times, interleaved; the tables
show the median. Every tool's time includes reading both Parquet files:

- **postpilot**: ``run_drift(ref, cur, DriftOptions(multivariate=False))``, one chunk,
  its default test per column; flagged = ``report.drifted_columns``;
- **polars PSI (the floor)**: ``pl.scan_parquet`` of both files; reference deciles as
  bins for numbers (one streaming query), bin counts of both files (one query each:
  ``(col <= edge).sum()`` per edge, value counts per string column), PSI > 0.1 flags;
- **Evidently**: ``Report([DataDriftPreset()])`` on the two pandas frames (column types
  given: numbers numerical, strings categorical), flagged = its ``ValueDrift`` results
  over their threshold;
- **NannyML**: ``UnivariateDriftCalculator`` with its default methods and thresholds,
  ``chunk_number=1``, fitted on the reference and run on the current frame; flagged =
  columns with an alert;
- **whylogs**: ``why.log`` of both frames and ``calculate_drift_scores`` with its default
  algorithm per column; flagged = ``drift_category == "DRIFT"`` (``POSSIBLE_DRIFT``
  counted apart).

Peers run in their own virtualenv (``bench/.venv-drift``) with telemetry switched off
through the environment. A peer that is not installed or crashes is listed with its
error. At a row count where a peer's runs would take more than ``--peer-budget`` seconds
(extrapolated linearly from the smaller row count) it runs once, or not at all if one
run would exceed the budget.

Writes ``bench/results/drift.md`` and runs ``bench/report.py`` (not with ``--quick`` or
``--no-report``).

Run (from the repository root)::

    python3 -m venv bench/.venv-drift
    bench/.venv-drift/bin/pip install 'pandas<3' pyarrow polars evidently nannyml \\
        statsmodels 'whylogs[viz]'   # nannyml imports statsmodels without declaring it
    .venv/bin/python bench/drift_bench.py --rows 1000000 10000000 --runs 3
    .venv/bin/python bench/drift_bench.py --quick   # 100k rows, 1 run, no report

Tools get every core of the machine by default (as in ``profile_bench.py``);
``--cores N`` pins every tool to N CPUs.

``--reuse-peers bench/results/drift.md`` measures only the tools in ``--tools`` and shows
the peers' rows of that earlier section beside them, marked as not measured again (with
the date they were measured); their times count for the ratios. For a change to
postpilot alone, where the peers' runs would take most of an hour::

    .venv/bin/python bench/drift_bench.py --rows 1000000 --tools postpilot polars \\
        --reuse-peers bench/results/drift.md --before main

The row counts of that section this run does not measure are kept, verbatim and dated.
``--before REV`` also runs postpilot with the ``src/`` of git revision ``REV`` (same
interpreter and packages), interleaved with the other tools, so a change's effect is
measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# profile_bench.py only needs the standard library at import time, in any venv.
import profile_bench
from profile_bench import (
    CATEGORICALS,
    CHUNK_ROWS,
    FLOATS,
    INTS,
    Run,
    existing_stamp,
    fmt_mib,
    fmt_s,
    generate_chunk,
    log,
    machine,
    versions_of,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
RESULTS = BENCH / "results" / "drift.md"
DRIFT_VENV = BENCH / ".venv-drift"

GENERATOR_VERSION = 1
SETS = {"reference": 0, "current": 1}  # the data set and its seed offset
DRIFT_SEED = 2  # seed offset of the drift's own random draws

# The five planted drifts (column: what changes in the current set). Sizes are modest but
# above the usual thresholds of every method compared: a 0.3 sd mean shift has PSI 0.088
# on deciles (under the 0.1 of the floor) and a variance x1.5 a JS distance of about 0.08
# (under NannyML's and Evidently's 0.1), so those would measure the thresholds, not speed.
DRIFTS = {
    "f00": "mean shifted by +0.4 sd (normal 100, 15 -> 106, 15)",
    "f05": "variance x2 (normal 0, sd 1,000 -> sd 1,414)",
    "i01": "range shifted by +10 (uniform 0..99 -> 10..109)",
    "c00": "top category's share down 15 points (38.5% -> 23.5%), moved to the two rarest",
    "c02": "a new category at 15% (the 20 others scaled by 0.85)",
}
DRIFTED = sorted(DRIFTS)
NUMERIC = FLOATS + INTS

# The targets of the drift-monitoring issue.
DEFAULT_PEER_BUDGET = 600.0
DEFAULT_TIMEOUT = 1800.0
PEER_TARGET = 5.0  # postpilot at least 5x faster than the fastest peer
FLOOR_TARGET = 3.0  # postpilot within 3x of the polars floor
RSS_TARGET = 2e9  # bytes, postpilot peak RSS at 10M rows
RSS_TARGET_ROWS = 10_000_000
MEMORY_SHARE = 0.6  # a peer whose extrapolated peak RSS exceeds this share of RAM is skipped
PSI_THRESHOLD = 0.1
PSI_EPSILON = 1e-4

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "NML_DISABLE_USAGE_LOGGING": "1",
    "WHYLOGS_NO_ANALYTICS": "True",
    "EVIDENTLY_DISABLE_TELEMETRY": "1",
    "POLARS_SKIP_CPU_CHECK": "1",
}
TOOLS = (
    "postpilot",
    "postpilot-before",
    "polars",
    "evidently",
    "nannyml",
    "nannyml-chunked",
    "whylogs",
)
POSTPILOT, BEFORE, FLOOR, EVIDENTLY, NANNYML, NANNYML_CHUNKED, WHYLOGS = TOOLS
DEFAULT_TOOLS = [t for t in TOOLS if t != BEFORE]  # BEFORE runs with --before REV
PEERS = (EVIDENTLY, NANNYML, NANNYML_CHUNKED, WHYLOGS)
LABELS = {
    POSTPILOT: "postpilot `run_drift` (no multivariate)",
    BEFORE: "postpilot `run_drift`, older code",  # named after the revision in main()
    FLOOR: "polars PSI pass (the floor)",
    EVIDENTLY: "Evidently `DataDriftPreset`",
    NANNYML: "NannyML `UnivariateDriftCalculator`, `chunk_number=1`",
    NANNYML_CHUNKED: "NannyML `UnivariateDriftCalculator`, default chunking",
    WHYLOGS: "whylogs `calculate_drift_scores`",
}


# --- the data -------------------------------------------------------------------------------


def drift_chunk(frame: Any, seed: list[int]) -> Any:
    """The current chunk with the five ``DRIFTS`` applied."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    rows = frame.height
    top, rare = "c00_value_00", ["c00_value_03", "c00_value_04"]
    # 38.5% of rows hold the top value; moving 15 points means 0.15 / 0.385 of them.
    weights = 1.0 / np.arange(1, 6) ** 0.8
    move = 0.15 / (weights[0] / weights.sum())
    moved = pl.Series(rng.random(rows) < move)
    to_rare = pl.Series(np.array(rare)[rng.integers(0, 2, rows)])
    new = pl.Series(rng.random(rows) < 0.15)
    return frame.with_columns(
        (pl.col("f00") + 0.4 * 15.0).alias("f00"),
        (pl.col("f05") * 2**0.5).alias("f05"),
        (pl.col("i01") + 10).alias("i01"),
        pl.when(moved & (pl.col("c00") == top)).then(to_rare).otherwise(pl.col("c00")).alias("c00"),
        pl.when(new).then(pl.lit("c02_value_new")).otherwise(pl.col("c02")).alias("c02"),
    )


def work_generate(path: Path, rows: int, seed: int, which: str) -> dict[str, Any]:
    """Write one data set in chunks, so memory stays at one chunk whatever ``rows``."""
    import polars as pl
    import pyarrow.parquet as pq

    wanted = {"version": GENERATOR_VERSION, "rows": rows, "seed": seed, "set": which}
    wanted["drifts"] = DRIFTED if which == "current" else []
    if existing_stamp(path) == wanted:
        return {"reused": True, "bytes": path.stat().st_size}
    start = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for index, offset in enumerate(range(0, rows, CHUNK_ROWS)):
            chunk = generate_chunk(min(CHUNK_ROWS, rows - offset), [seed, SETS[which], index])
            if which == "current":
                chunk = drift_chunk(chunk, [seed, DRIFT_SEED, index])
            table = chunk.to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                schema = table.schema.with_metadata({"postpilot_bench": json.dumps(wanted)})
                writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
            del chunk, table
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return {"reused": False, "bytes": path.stat().st_size, "s": time.perf_counter() - start}


# --- the workers (each runs in its own subprocess) -----------------------------------------


def work_postpilot(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    from postpilot.monitoring.run import DriftOptions, run_drift

    imported = time.perf_counter()
    report = run_drift(reference, current, DriftOptions(multivariate=False))
    done = time.perf_counter()
    tests = {c.column: [c.test, round(c.statistic, 4)] for c in report.chunks[0].columns}
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "flagged": report.drifted_columns,
        "detail": tests,
        "versions": versions_of("postpilot", "polars", "pyarrow", "datasketches", "numpy"),
    }


def psi(expected: list[float], actual: list[float]) -> float:
    import math

    total_e, total_a = sum(expected) or 1.0, sum(actual) or 1.0
    value = 0.0
    for e, a in zip(expected, actual, strict=True):
        pe, pa = max(e / total_e, PSI_EPSILON), max(a / total_a, PSI_EPSILON)
        value += (pa - pe) * math.log(pa / pe)
    return value


def work_polars(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import polars as pl

    imported = time.perf_counter()
    deciles = [i / 10 for i in range(1, 10)]
    ref_scan = pl.scan_parquet(reference)
    schema = ref_scan.collect_schema()
    numeric = [n for n, t in schema.items() if t.is_numeric()]
    strings = [n for n in schema if n not in numeric]
    edges_row = ref_scan.select(
        pl.col(n).quantile(q).alias(f"{n}:{i}") for n in numeric for i, q in enumerate(deciles)
    ).collect(engine="streaming")
    edges = {
        n: sorted({edges_row.item(0, f"{n}:{i}") for i in range(len(deciles))}) for n in numeric
    }

    def counts(path: Path) -> dict[str, list[float]]:
        exprs = []
        for n in numeric:
            exprs.append(pl.col(n).count().alias(f"{n}:n"))
            exprs += [(pl.col(n) <= e).sum().alias(f"{n}:{i}") for i, e in enumerate(edges[n])]
        exprs += [pl.col(n).drop_nulls().value_counts().implode().alias(n) for n in strings]
        row = pl.scan_parquet(path).select(exprs).collect(engine="streaming").row(0, named=True)
        out: dict[str, Any] = {}
        for n in numeric:
            cumulative = [row[f"{n}:{i}"] for i in range(len(edges[n]))] + [row[f"{n}:n"]]
            out[n] = [b - a for a, b in zip([0, *cumulative[:-1]], cumulative, strict=True)]
        for n in strings:
            out[n] = {d[n]: d["count"] for d in row[n]}
        return out

    ref, cur = counts(reference), counts(current)
    scores = {}
    for n in numeric:
        scores[n] = psi(ref[n], cur[n])
    for n in strings:
        keys = sorted(set(ref[n]) | set(cur[n]))
        scores[n] = psi([ref[n].get(k, 0) for k in keys], [cur[n].get(k, 0) for k in keys])
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "flagged": sorted(n for n, v in scores.items() if v > PSI_THRESHOLD),
        "detail": {n: round(v, 4) for n, v in scores.items()},
        "threads": pl.thread_pool_size(),
        "versions": versions_of("polars", "pyarrow"),
    }


def read_frames(reference: Path, current: Path) -> tuple[Any, Any]:
    import pandas as pd

    return (
        pd.read_parquet(reference, engine="pyarrow"),
        pd.read_parquet(current, engine="pyarrow"),
    )


PEER_VERSIONS = ("evidently", "nannyml", "whylogs", "pandas", "pyarrow", "numpy", "scipy")


def work_evidently(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    imported = time.perf_counter()
    ref, cur = read_frames(reference, current)
    read = time.perf_counter()
    definition = DataDefinition(
        numerical_columns=[c for c in ref.columns if c in NUMERIC],
        categorical_columns=[c for c in ref.columns if c in CATEGORICALS],
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    result = snapshot.dict()
    done = time.perf_counter()
    flagged, detail = [], {}
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            column, value = config["column"], metric["value"]
            method, threshold = config.get("method", ""), config.get("threshold")
            detail[column] = [method, round(float(value), 4), threshold]
            # p-value tests drift below the threshold, distances above it.
            if threshold is not None and (
                value < threshold if "p_value" in method else value >= threshold
            ):
                flagged.append(column)
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "read_s": read - imported,
        "flagged": sorted(flagged),
        "detail": detail,
        "versions": versions_of(*PEER_VERSIONS),
    }


def work_nannyml(reference: Path, current: Path, chunked: bool = False) -> dict[str, Any]:
    start = time.perf_counter()
    import nannyml as nml

    imported = time.perf_counter()
    ref, cur = read_frames(reference, current)
    read = time.perf_counter()
    # One chunk as asked; ``chunked``: NannyML's default chunker (10 chunks a set).
    chunking = {} if chunked else {"chunk_number": 1}
    calc = nml.UnivariateDriftCalculator(column_names=list(ref.columns), **chunking)
    calc.fit(ref)
    table = calc.calculate(cur).filter(period="analysis").to_df()
    done = time.perf_counter()
    flagged, detail = [], {}
    for column in ref.columns:
        for method in ("jensen_shannon", "kolmogorov_smirnov", "chi2", "wasserstein"):
            if (column, method, "alert") not in table.columns:
                continue
            alert = bool(table[(column, method, "alert")].any())
            value = float(table[(column, method, "value")].max())
            upper = table[(column, method, "upper_threshold")].iloc[0]
            detail[column] = [method, round(value, 4), None if upper != upper else float(upper)]
            if alert:
                flagged.append(column)
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "read_s": read - imported,
        "flagged": sorted(set(flagged)),
        "detail": detail,
        "versions": versions_of(*PEER_VERSIONS),
    }


def work_whylogs(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    imported = time.perf_counter()
    ref, cur = read_frames(reference, current)
    read = time.perf_counter()
    ref_view = why.log(ref).view()
    cur_view = why.log(cur).view()
    scores = calculate_drift_scores(
        target_view=cur_view, reference_view=ref_view, with_thresholds=True
    )
    done = time.perf_counter()
    detail = {
        c: None if s is None else [s.get("algorithm"), s.get("pvalue"), s.get("drift_category")]
        for c, s in scores.items()
    }
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "read_s": read - imported,
        "flagged": sorted(c for c, s in scores.items() if s and s["drift_category"] == "DRIFT"),
        "possible": sorted(
            c for c, s in scores.items() if s and s["drift_category"] == "POSSIBLE_DRIFT"
        ),
        "detail": detail,
        "versions": versions_of(*PEER_VERSIONS),
    }


WORKERS = {
    POSTPILOT: work_postpilot,
    BEFORE: work_postpilot,  # run with the older revision's src/ first on PYTHONPATH
    FLOOR: work_polars,
    EVIDENTLY: work_evidently,
    NANNYML: work_nannyml,
    NANNYML_CHUNKED: lambda ref, cur: work_nannyml(ref, cur, chunked=True),
    WHYLOGS: work_whylogs,
}


def worker(args: argparse.Namespace) -> int:
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    paths = [Path(p) for p in args.paths]
    if args.worker == "generate":
        out = work_generate(paths[0], args.gen_rows, args.seed, args.gen_set)
    else:
        out = WORKERS[args.worker](paths[0], paths[1])
    Path(args.out).write_text(json.dumps(out, default=str), encoding="utf-8")
    return 0


# --- measuring a subprocess ---------------------------------------------------------------


def measure(python: str, worker_args: list[str], env: dict[str, str], timeout: float) -> Run:
    """Run this script as a worker, measured as profile_bench measures its own."""
    return profile_bench.measure(python, worker_args, env, timeout, script=Path(__file__).resolve())


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class Size:
    """Everything measured at one row count."""

    rows: int
    files: dict[str, Path]
    generation: list[Run] = field(default_factory=list)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    reused: dict[str, Reused] = field(default_factory=dict)

    def ok_runs(self, tool: str) -> list[Run]:
        return [r for r in self.runs.get(tool, []) if r.ok]

    def median(self, tool: str, key: str = "work_s") -> float | None:
        runs = self.ok_runs(tool)
        return statistics.median(r.out[key] for r in runs) if runs else None

    def fastest_peer(self, key: str = "work_s") -> tuple[str, float] | None:
        """The fastest peer and its median ``work_s`` (time in the process) or ``wall_s``
        (the whole process), over measured and reused peers."""
        found = []
        for tool in PEERS:
            runs = self.ok_runs(tool)
            if runs:
                values = [r.wall_s if key == "wall_s" else r.out[key] for r in runs]
                found.append((tool, statistics.median(values)))
            elif tool in self.reused:
                reused = self.reused[tool]
                found.append((tool, reused.wall_s if key == "wall_s" else reused.work_s))
        return min(found, key=lambda p: p[1]) if found else None


@dataclass
class Reused:
    """A peer's row of an earlier run's section, shown again but not measured again."""

    measured: str  # when, as the earlier section says
    versions: str  # the peer venv's packages, as the earlier section lists them
    work_s: float  # its median time in the process
    wall_s: float  # its median process wall
    cells: list[str]  # the row's cells from "time (median)" to "columns flagged"


def load_reused(text: str, rows: list[int]) -> dict[int, dict[str, Reused]]:
    """The peers' rows at each of ``rows`` in an earlier drift.md section's ``text``."""
    when = re.search(r"^Measured (.+? UTC)", text, re.M)
    measured = when.group(1) if when else "an earlier run"
    load = re.search(r"Load average at the start: ([\d.]+)", text)
    if load:  # a ratio against rows measured at another load says less: name it
        measured += f" at load average {load.group(1)}"
    model = re.search(r"^- Machine: (.+?), \d+ CPUs", text, re.M)
    if model and model.group(1) != machine().get("Model name"):  # nor on another CPU
        measured += f" on {model.group(1)}"
    packages = re.search(r"peer venv: ([^\n]*)", text)
    versions = packages.group(1).strip() if packages else "unknown"
    labels = {LABELS[t]: t for t in PEERS}
    found: dict[int, dict[str, Reused]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^### ([\d,]+) rows per set", line)
        if heading:
            current = int(heading.group(1).replace(",", ""))
            continue
        if current not in rows or not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        tool = labels.get(cells[0])
        if tool is None or len(cells) < 8:
            continue
        found.setdefault(current, {})[tool] = Reused(
            measured, versions, _seconds(cells[1]), _seconds(cells[4]), cells[1:8]
        )
    return found


@dataclass
class Kept:
    """An earlier section's results at a row count this run does not measure."""

    measured: str
    lines: list[str]  # its table and per-column statistics, as they were
    targets: list[str]  # its target lines


def load_kept(text: str, rows: list[int]) -> dict[int, Kept]:
    """The row counts of an earlier drift.md section's ``text`` other than ``rows``, verbatim."""
    when = re.search(r"^Measured (.+? UTC)", text, re.M)
    measured = when.group(1) if when else "an earlier run"
    kept: dict[int, Kept] = {}
    current: int | None = None
    in_targets = False
    for line in text.splitlines():
        heading = re.match(r"^### ([\d,]+) rows per set", line)
        if heading:
            current = int(heading.group(1).replace(",", ""))
            in_targets = False
            if current not in rows:
                kept[current] = Kept(measured, [], [])
            continue
        if line.startswith("### Targets"):
            current, in_targets = None, True
            continue
        if in_targets:
            for count, item in kept.items():
                if f" {count:,} rows" in line:
                    item.targets.append(line)
        elif current in kept:
            kept[current].lines.append(line)
    return kept


def _seconds(cell: str) -> float:
    return float(cell.removesuffix(" s").replace(",", ""))


def child_env(cores: int | None) -> dict[str, str]:
    env = {**os.environ, **TELEMETRY_OFF}
    env.pop("VIRTUAL_ENV", None)
    if cores:
        for name in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(cores)
    return env


def prepare(rows: int, args: argparse.Namespace, env: dict[str, str]) -> Size:
    DATA.mkdir(parents=True, exist_ok=True)
    size = Size(rows, {})
    for which in SETS:
        path = DATA / f"drift-{rows}-{which}.parquet"
        size.files[which] = path
        worker_args = ["--worker", "generate", "--gen-rows", str(rows), "--gen-set", which]
        worker_args += ["--seed", str(args.seed), str(path)]
        run = measure(args.postpilot_python, worker_args, env, timeout=3600)
        if not run.ok:
            raise SystemExit(f"generating {path} failed: {run.error}")
        size.generation.append(run)
        action = "reused" if run.out["reused"] else f"generated in {run.wall_s:.1f} s"
        log(f"{path.name}: {action}, {run.out['bytes'] / 2**20:.0f} MiB")
    return size


def mem_total() -> int:
    """Bytes of RAM, 0 where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def runs_for(tool: str, rows: int, done: list[Size], args: argparse.Namespace) -> tuple[int, str]:
    """How many runs ``tool`` gets at ``rows``, and why fewer than ``--runs``."""
    if tool in PEERS and not Path(args.peer_python).exists():
        return 0, f"not installed ({args.peer_python} does not exist)"
    smaller = [s for s in done if s.rows < rows and s.ok_runs(tool)]
    if tool not in PEERS or not smaller:
        return args.runs, ""
    base = max(smaller, key=lambda s: s.rows)
    scale = rows / base.rows
    per_run = statistics.median(r.wall_s for r in base.ok_runs(tool)) * scale
    rss = max(r.max_rss for r in base.ok_runs(tool)) * scale
    basis = f"linear from {base.rows:,} rows"
    ram = mem_total()
    share = args.memory_share
    if ram and rss > share * ram:
        return 0, (
            f"not run: its peak RSS would be about {rss / 2**30:.0f} GiB ({basis}), over "
            f"{share:.0%} of the machine's {ram / 2**30:.1f} GiB"
        )
    if per_run * args.runs <= args.peer_budget:
        return args.runs, ""
    if per_run <= args.peer_budget:
        return 1, (
            f"1 run only: {args.runs} would take about {per_run * args.runs:.0f} s ({basis}), "
            f"over the {args.peer_budget:.0f}-s budget"
        )
    return 0, (
        f"not run: one run would take about {per_run:.0f} s ({basis}), over the "
        f"{args.peer_budget:.0f}-s budget"
    )


def load_previous(args: argparse.Namespace) -> list[Size]:
    """The row counts of the last run's raw file that this run does not measure again."""
    raw_path = DATA / "drift-bench-last.json"
    if not args.keep_previous or not raw_path.exists():
        return []
    raw = json.loads(raw_path.read_text(encoding="utf-8"))
    args.previous_args = raw["args"]
    sizes = []
    for item in raw["sizes"]:
        if item["rows"] in args.rows:
            continue
        size = Size(item["rows"], {}, skipped=item["skipped"])
        size.runs = {t: [Run(**r) for r in runs] for t, runs in item["runs"].items()}
        sizes.append(size)
    return sizes


def bench(args: argparse.Namespace) -> list[Size]:
    env = child_env(args.cores)
    done: list[Size] = load_previous(args)
    reused = load_reused(args.reuse_text, args.rows) if args.reuse_peers else {}
    before_env = {**env, "PYTHONPATH": str(args.before_src)} if args.before else env
    for rows in sorted(args.rows):
        size = prepare(rows, args, env)
        size.reused = {t: r for t, r in reused.get(rows, {}).items() if t not in args.tools}
        for tool in size.reused:
            log(f"{tool} at {rows:,} rows: reused from {args.reuse_peers}, not measured")
        planned = {}
        for tool in (t for t in TOOLS if t in args.tools):
            count, why = runs_for(tool, rows, done, args)
            planned[tool] = count
            if why:
                size.skipped[tool] = why
                log(f"{tool} at {rows:,} rows: {why}")
        files = [str(size.files["reference"]), str(size.files["current"])]
        for run_index in range(args.runs):
            for tool, count in planned.items():
                if run_index >= count:
                    continue
                if run_index and not size.ok_runs(tool):
                    continue  # it failed on the first run: record that once
                python = args.peer_python if tool in PEERS else args.postpilot_python
                pin = ["--cores", str(args.cores)] if args.cores else []
                run_env = before_env if tool == BEFORE else env
                run = measure(python, ["--worker", tool, *pin, *files], run_env, args.timeout)
                size.runs.setdefault(tool, []).append(run)
                state = (
                    f"{run.out['work_s']:.2f} s work, flagged {run.out['flagged']}"
                    if run.ok
                    else f"FAILED ({run.error})"
                )
                log(
                    f"{rows:,} rows, run {run_index + 1}/{count}, {tool}: {state}, "
                    f"{run.wall_s:.2f} s process, peak RSS {run.max_rss / 2**20:.0f} MiB"
                )
        done.append(size)
        done.sort(key=lambda s: s.rows)
        save_raw(done, args)
        if not args.no_report:  # after each row count, so an interrupted run leaves results
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            section = render(done, args, (args.start_load, list(os.getloadavg())))
            RESULTS.write_text(section, encoding="utf-8")
            log(f"wrote {RESULTS} ({len(done)} row count(s))")
    return done


# --- the report ------------------------------------------------------------------------------


def flagged_cell(run: Run) -> str:
    flagged = run.out["flagged"]
    exact = sorted(flagged) == DRIFTED
    missed = [c for c in DRIFTED if c not in flagged]
    extra = [c for c in flagged if c not in DRIFTED]
    text = f"{len(flagged)}: " + ("exactly the 5 planted" if exact else "not the 5 planted")
    if missed:
        text += f"; missed {', '.join(missed)}"
    if extra:
        text += f"; also {', '.join(extra)}"
    if run.out.get("possible"):
        text += f" (+{len(run.out['possible'])} POSSIBLE_DRIFT)"
    return text


def table(size: Size) -> list[str]:
    floor = size.median(FLOOR)
    fastest = size.fastest_peer()
    lines = [
        f"### {size.rows:,} rows per set (two sets)",
        "",
        "| tool | time (median) | min .. max | runs | process wall (median) | peak RSS (max) "
        "| CPU time (median) | columns flagged | vs polars floor | vs fastest peer |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for tool in TOOLS:
        runs = size.ok_runs(tool)
        if runs:
            times = [r.out["work_s"] for r in runs]
            med = statistics.median(times)
            vs_floor = f"{med / floor:.2f}x" if floor else "n/a"
            if fastest and tool not in PEERS:
                vs_peer = f"{fastest[1] / med:.1f}x faster"
            elif fastest:
                vs_peer = "fastest peer" if tool == fastest[0] else f"{med / fastest[1]:.2f}x"
            else:
                vs_peer = "n/a"
            lines.append(
                f"| {LABELS[tool]} | {fmt_s(med)} | {fmt_s(min(times))} .. {fmt_s(max(times))} "
                f"| {len(runs)} | {fmt_s(statistics.median(r.wall_s for r in runs))} "
                f"| {fmt_mib(max(r.max_rss for r in runs))} "
                f"| {fmt_s(statistics.median(r.cpu_s for r in runs))} | {flagged_cell(runs[0])} "
                f"| {vs_floor} | {vs_peer} |"
            )
        failed = [r for r in size.runs.get(tool, []) if not r.ok]
        if failed:
            lines.append(
                f"| {LABELS[tool]}: failed: {failed[0].error.replace('|', '/')} "
                f"| | | | | {fmt_mib(failed[0].max_rss)} | | | | |"
            )
        if tool in size.reused and not runs:
            old = size.reused[tool]
            vs_floor = f"{old.work_s / floor:.2f}x" if floor else "n/a"
            vs_peer = (
                "fastest peer"
                if fastest and tool == fastest[0]
                else f"{old.work_s / fastest[1]:.2f}x"
                if fastest
                else "n/a"
            )
            lines.append(
                f"| {LABELS[tool]} (measured {old.measured}, not again) | "
                + " | ".join(old.cells)
                + f" | {vs_floor} | {vs_peer} |"
            )
        if tool in size.skipped and not runs:
            lines.append(f"| {LABELS[tool]}: {size.skipped[tool]} | | | | | | | | | |")
        elif tool in size.skipped:
            lines.append(f"| ({LABELS[tool]}: {size.skipped[tool]}) | | | | | | | | | |")
    return lines


def verdict(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def targets(sizes: list[Size]) -> list[str]:
    lines = ["### Targets", ""]
    for size in sizes:
        runs = size.ok_runs(POSTPILOT)
        if runs:
            flagged = {tuple(sorted(r.out["flagged"])) for r in runs}
            exact = flagged == {tuple(DRIFTED)}
            lines.append(
                f"- Exactly the 5 drifted columns flagged, {size.rows:,} rows: {verdict(exact)}: "
                f"{flagged_cell(runs[0])} ({', '.join(runs[0].out['flagged']) or 'none'})."
            )
    for size in sizes:
        post, fastest = size.median(POSTPILOT), size.fastest_peer()
        if post is None:
            continue
        if fastest is None:
            lines.append(
                f"- At least {PEER_TARGET:g}x faster than the fastest peer, {size.rows:,} rows: "
                "not measured (no peer ran)."
            )
            continue
        speedup = fastest[1] / post
        how = (
            f"{speedup / PEER_TARGET:.2f}x the target"
            if speedup >= PEER_TARGET
            else f"needs to be {PEER_TARGET / speedup:.2f}x faster"
        )
        lines.append(
            f"- At least {PEER_TARGET:g}x faster than the fastest of Evidently / NannyML / "
            f"whylogs, {size.rows:,} rows: {verdict(speedup >= PEER_TARGET)}: {speedup:.1f}x "
            f"({fmt_s(post)} vs {fmt_s(fastest[1])} for {fastest[0]}; {how})."
        )
    for size in sizes:
        runs, fastest = size.ok_runs(POSTPILOT), size.fastest_peer("wall_s")
        if not runs or fastest is None:
            continue
        post = statistics.median(r.wall_s for r in runs)
        speedup = fastest[1] / post
        how = (
            f"{speedup / PEER_TARGET:.2f}x the target"
            if speedup >= PEER_TARGET
            else f"needs to be {PEER_TARGET / speedup:.2f}x faster"
        )
        reused = (
            f"; {fastest[0]} measured {size.reused[fastest[0]].measured}"
            if (fastest[0] in size.reused)
            else ""
        )
        lines.append(
            f"- At least {PEER_TARGET:g}x faster than the fastest peer as a user waits for it "
            f"(whole process: interpreter start, imports, reading, the work), {size.rows:,} "
            f"rows: {verdict(speedup >= PEER_TARGET)}: {speedup:.1f}x ({fmt_s(post)} vs "
            f"{fmt_s(fastest[1])} for {fastest[0]}{reused}; {how})."
        )
    for size in sizes:
        now, then = size.ok_runs(POSTPILOT), size.ok_runs(BEFORE)
        if not now or not then:
            continue
        wall = [statistics.median(r.wall_s for r in runs) for runs in (then, now)]
        cpu = [statistics.median(r.cpu_s for r in runs) for runs in (then, now)]
        lines.append(
            f"- This tree against {LABELS[BEFORE]} (`--before`), interleaved in the same "
            f"runs, {size.rows:,} rows: whole "
            f"process {fmt_s(wall[0])} -> {fmt_s(wall[1])} ({wall[1] / wall[0] - 1:+.0%}), CPU "
            f"time {fmt_s(cpu[0])} -> {fmt_s(cpu[1])} ({cpu[1] / cpu[0] - 1:+.0%})."
        )
    for size in sizes:
        post, floor = size.median(POSTPILOT), size.median(FLOOR)
        if post is None or floor is None:
            continue
        ratio = post / floor
        how = (
            f"{FLOOR_TARGET / ratio:.2f}x headroom"
            if ratio <= FLOOR_TARGET
            else f"needs to be {ratio / FLOOR_TARGET:.2f}x faster"
        )
        lines.append(
            f"- Within {FLOOR_TARGET:g}x of the plain polars PSI pass, {size.rows:,} rows: "
            f"{verdict(ratio <= FLOOR_TARGET)}: {ratio:.2f}x ({fmt_s(post)} vs {fmt_s(floor)}; "
            f"{how})."
        )
    measured = False
    for size in sizes:
        runs = size.ok_runs(POSTPILOT)
        if size.rows != RSS_TARGET_ROWS or not runs:
            continue
        measured = True
        rss = max(r.max_rss for r in runs)
        how = (
            f"{(RSS_TARGET - rss) / 2**20:,.0f} MiB to spare"
            if rss < RSS_TARGET
            else f"{(rss - RSS_TARGET) / 2**20:,.0f} MiB over"
        )
        lines.append(
            f"- Peak RSS under 2 GB (1,907 MiB) at {RSS_TARGET_ROWS:,} rows (whole postpilot "
            f"process, worst of the runs): {verdict(rss < RSS_TARGET)}: {fmt_mib(rss)} ({how})."
        )
    if not measured:
        lines.append(
            f"- Peak RSS under 2 GB at {RSS_TARGET_ROWS:,} rows: not measured in this run."
        )
    return lines


def versions_seen(sizes: list[Size]) -> str:
    parts = []
    for tool, label in ((POSTPILOT, "project venv"), (EVIDENTLY, "peer venv")):
        tools = [tool] if tool == POSTPILOT else list(PEERS)
        runs = [r for s in sizes for t in tools for r in s.ok_runs(t)]
        if runs:
            found = ", ".join(f"{p} {v}" for p, v in runs[0].out["versions"].items())
            parts.append(f"{label}: {found}")
    reused = [r for s in sizes for r in s.reused.values()]
    if reused and not any(s.ok_runs(t) for s in sizes for t in PEERS):
        parts.append(f"peer venv (rows measured {reused[0].measured}): {reused[0].versions}")
    return "; ".join(parts) or "unknown (no tool ran)"


def details(size: Size) -> list[str]:
    """Each tool's statistic per column, for the planted columns and the largest clean one."""
    lines = [f"Per-column statistics at {size.rows:,} rows (first run of each tool):", ""]
    for tool in TOOLS:
        runs = size.ok_runs(tool)
        if not runs:
            continue
        detail = runs[0].out.get("detail") or {}
        shown = ", ".join(f"{c} {json.dumps(detail.get(c))}" for c in DRIFTED)
        lines.append(f"- {tool}: {shown}")
    return [*lines, ""]


def command_of(args: argparse.Namespace, rows: str) -> str:
    """The command line that measures ``rows`` with ``args``."""
    command = f".venv/bin/python bench/drift_bench.py --rows {rows} --runs {args.runs}"
    if args.cores:
        command += f" --cores {args.cores}"
    if args.seed != 0:
        command += f" --seed {args.seed}"
    tools = [t for t in args.tools if t != BEFORE]
    if tools != DEFAULT_TOOLS:
        command += f" --tools {' '.join(tools)}"
    if getattr(args, "before", None):
        command += f" --before {args.before}"
    if args.peer_budget != DEFAULT_PEER_BUDGET:
        command += f" --peer-budget {args.peer_budget:g}"
    if args.timeout != DEFAULT_TIMEOUT:
        command += f" --timeout {args.timeout:g}"
    if getattr(args, "memory_share", MEMORY_SHARE) != MEMORY_SHARE:
        command += f" --memory-share {args.memory_share:g}"
    if getattr(args, "keep_previous", False):
        command += " --keep-previous"
    if getattr(args, "reuse_peers", None):
        command += f" --reuse-peers {args.reuse_peers}"
    peer = getattr(args, "peer_python", None)
    if peer and Path(peer) != DRIFT_VENV / "bin" / "python":
        # Peers run in another venv, e.g. the project's (nannyml is in its compare extra).
        same = Path(peer) == Path(getattr(args, "postpilot_python", ""))
        command += f" --peer-python {'.venv/bin/python' if same else peer}"
    return command


def render(sizes: list[Size], args: argparse.Namespace, load: tuple[list[float], ...]) -> str:
    mach = machine()
    measured = " ".join(str(r) for r in args.rows)
    commands = [command_of(args, measured)]
    previous = getattr(args, "previous_args", None)
    if previous and len(sizes) > len(args.rows):
        earlier = " ".join(str(s.rows) for s in sizes if s.rows not in args.rows)
        commands = [command_of(argparse.Namespace(**previous), earlier), *commands]
    cores = (
        f"pinned to {args.cores} CPU(s) (`sched_setaffinity`, `POLARS_MAX_THREADS`)"
        if args.cores
        else f"every tool may use all {os.cpu_count()} CPUs"
    )
    other = [r.other_cpus for s in sizes for runs in s.runs.values() for r in runs]
    start, end = load
    lines = [
        "## Drift detection on two data sets (`bench/drift_bench.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cores}.",
        "",
        f"- Machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs "
        f"({mach.get('Thread(s) per core', '?')} thread(s) per core), RAM {mach.get('RAM')}",
        f"- OS: {mach['OS']}; Python {platform.python_version()}",
        f"- Packages: {versions_seen(sizes)}",
        f"- Load average at the start: {start[0]:.2f}, {start[1]:.2f}, {start[2]:.2f}; at the "
        f"end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}. 'Other load' (CPUs busy with other "
        "processes while a tool ran, from /proc/stat) "
        + (
            f"averaged {statistics.mean(other):.2f}, up to {max(other):.2f}."
            if other
            else "was not measured."
        ),
        "",
        "Workload: per row count, a reference and a current Parquet file (zstd, 1M-row row "
        "groups) with the 20 columns of `profile_bench.py` (10 float64, 5 int64, 5 strings "
        "with 5 to 50 categories; one float with 2% nulls, one string with 1% nulls). The "
        f"current set is drawn with another seed (`--seed {args.seed}`); exactly 5 columns "
        "drift, the other 15 come from the same distributions:",
        "",
        *(f"- `{c}`: {what}" for c, what in DRIFTS.items()),
        "",
        "Each tool runs in its own subprocess under `/usr/bin/time -v` (peak RSS is that "
        "process's maximum resident set), runs interleaved. 'time' is measured inside the "
        "process after its imports and includes reading both Parquet files (pandas "
        "`read_parquet` for the peers); 'process wall' adds interpreter start and imports. "
        "Telemetry is off (`DO_NOT_TRACK`, `NML_DISABLE_USAGE_LOGGING`, "
        "`WHYLOGS_NO_ANALYTICS`, `EVIDENTLY_DISABLE_TELEMETRY`). Flags: postpilot its "
        "default test (normalised Wasserstein > 0.1 for numbers, Jensen-Shannon > 0.1 for "
        "strings, one chunk); the floor PSI > 0.1 on reference deciles / categories; "
        "Evidently its `ValueDrift` results past their threshold (same default rule as "
        "postpilot); NannyML a column with an alert in any analysis chunk (default: "
        "Jensen-Shannon with a threshold of the reference chunks' mean + 3 sd; with "
        "`chunk_number=1` the one reference chunk has no spread, so the threshold is the "
        "reference-vs-itself value, about 0, and nearly every column alerts; the "
        "default-chunking row, 10 chunks a set, shows NannyML as it is meant to run); "
        "whylogs `drift_category == DRIFT` (default: KS "
        "p-value on KLL sketches for numbers, chi-square on frequent items for strings).",
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        "python3 -m venv bench/.venv-drift",
        "bench/.venv-drift/bin/pip install 'pandas<3' pyarrow polars evidently nannyml "
        "statsmodels 'whylogs[viz]'",
        *commands,
        "```",
        "",
    ]
    measured_rows = [s.rows for s in sizes]
    kept = load_kept(args.reuse_text, measured_rows) if args.reuse_peers else {}
    for size in sizes:
        lines += [*table(size), ""]
        lines += details(size)
    for rows, item in sorted(kept.items()):
        lines += [
            f"### {rows:,} rows per set (two sets; measured {item.measured}, not in this run)",
            *item.lines,
        ]
    lines += [
        line
        for line in targets(sizes)  # a kept row count's RSS line replaces "not measured"
        if not (RSS_TARGET_ROWS in kept and line.endswith("not measured in this run."))
    ]
    for _, item in sorted(kept.items()):
        lines += [f"{line} (Measured {item.measured}.)" for line in item.targets]
    return "\n".join(lines).rstrip() + "\n"


def save_raw(sizes: list[Size], args: argparse.Namespace) -> None:
    """Every run's measurements, as JSON, next to the data (not committed)."""
    raw = {
        "args": {k: v for k, v in vars(args).items() if k not in ("paths", "reuse_text")},
        "sizes": [
            {
                "rows": s.rows,
                "skipped": s.skipped,
                "runs": {t: [asdict(r) for r in runs] for t, runs in s.runs.items()},
            }
            for s in sizes
        ],
    }
    name = "drift-bench-quick.json" if args.quick else "drift-bench-last.json"
    (DATA / name).write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="row counts per data set (default: 1000000 10000000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (the median counts)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 100,000 rows, 1 run, no report written"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    parser.add_argument("--cores", type=int, default=None, help="pin every tool to N CPUs")
    parser.add_argument("--tools", nargs="+", choices=DEFAULT_TOOLS, default=DEFAULT_TOOLS)
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also run postpilot with the src/ of this git revision (same interpreter and "
        "packages, its src/ first on PYTHONPATH), interleaved with the others",
    )
    parser.add_argument(
        "--memory-share",
        type=float,
        default=MEMORY_SHARE,
        help="skip a peer whose peak RSS, extrapolated from the smaller row count, would "
        "exceed this share of RAM",
    )
    parser.add_argument(
        "--peer-budget",
        type=float,
        default=DEFAULT_PEER_BUDGET,
        help="seconds a peer may take at one row count over all its runs, extrapolated "
        "from the smaller row count; over it, one run (or none if one would exceed it)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds before a run is killed"
    )
    parser.add_argument(
        "--keep-previous",
        action="store_true",
        help="keep the other row counts of the last run (bench/.data/drift-bench-last.json) "
        "in the results, e.g. to add 10M rows to a finished 1M run",
    )
    parser.add_argument(
        "--reuse-peers",
        metavar="SECTION_MD",
        help="show the peers' rows of this earlier drift.md section (at the same row counts) "
        "instead of measuring them again, marked as such; the tools in --tools are measured",
    )
    parser.add_argument(
        "--postpilot-python",
        default=str(ROOT / ".venv" / "bin" / "python"),
        help="Python with postpilot installed (runs postpilot and the polars floor)",
    )
    parser.add_argument(
        "--peer-python",
        default=str(DRIFT_VENV / "bin" / "python"),
        help="Python with evidently, nannyml, whylogs[viz] and pandas installed",
    )
    parser.add_argument(
        "--no-report", action="store_true", help=f"print the section instead of {RESULTS.name}"
    )
    # Internal: run as one measured worker.
    parser.add_argument("--worker", choices=[*TOOLS, "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--gen-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--gen-set", choices=list(SETS), help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.runs, args.no_report = [100_000], 1, True
    if args.runs < 1 or any(r < 1 for r in args.rows):
        parser.error("--runs and --rows must be positive")
    if args.cores is not None and args.cores < 1:
        parser.error("--cores must be positive")
    return args


def checkout_src(revision: str, into: Path) -> Path:
    """``src/`` of git ``revision``, unpacked under ``into``."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", revision, "src"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        return worker(args)
    if not Path(args.postpilot_python).exists():
        print(f"error: {args.postpilot_python} does not exist", file=sys.stderr)
        return 2
    # read once: the run rewrites bench/results/drift.md, which may be this very file
    args.reuse_text = Path(args.reuse_peers).read_text(encoding="utf-8") if args.reuse_peers else ""
    start_load = args.start_load = list(os.getloadavg())
    log(f"load average {start_load[0]:.2f}, {start_load[1]:.2f}, {start_load[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="drift-bench-before-") as tmp:
        if args.before:
            args.before_src = checkout_src(args.before, Path(tmp))
            args.before_commit = subprocess.run(
                ["git", "rev-parse", "--short", args.before],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            args.tools = [*args.tools, BEFORE]
            LABELS[BEFORE] = f"postpilot `run_drift`, the code of {args.before_commit}"
        sizes = bench(args)
    section = render(sizes, args, (start_load, list(os.getloadavg())))
    profile_bench.publish(section, RESULTS, no_report=args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
