"""Profiling two data sets: postpilot vs a plain polars pass (the floor) vs whylogs.

Generates (seeded, with polars, in 1M-row chunks through a ``ParquetWriter``) a reference
and a "current" Parquet file per row count under ``bench/.data/``: 20 columns, 10 float,
5 int and 5 categorical strings (5 to 50 categories), the current set drawn from the same
distributions with another seed. Existing files with the right row count and generator
version are reused. Then, per row count, each tool runs in its own subprocess under
``/usr/bin/time -v`` (so peak RSS is per tool), ``--runs`` times, interleaved so that a
busy neighbour slows every tool alike; the tables show the median:

- **postpilot**: ``profile()`` of both files, ``infer_contract`` from the reference
  profile, ``check_contract`` of the current profile (profile-only time reported too);
- **polars floor**: one ``pl.scan_parquet(f).select([...]).collect(engine="streaming")``
  per file: count, null count, mean, std, min, max per numeric column, ``n_unique`` and
  value counts per categorical column;
- **whylogs**: ``pd.read_parquet`` then ``why.log(df).view().to_pandas()`` for both files,
  in its own virtualenv. If it is not installed or crashes, the table says so with the
  error. At a row count where the runs would take more than ``--whylogs-budget`` seconds
  (extrapolated linearly from the smaller row count), whylogs is not run there.

Writes ``bench/results/profiling.md`` and runs ``bench/report.py`` (not with ``--quick``
or ``--no-report``).

Run (from the repository root)::

    python3 -m venv bench/.venv-profile
    bench/.venv-profile/bin/pip install 'whylogs' 'pandas<3' pyarrow polars
    .venv/bin/python bench/profile_bench.py --rows 1000000 10000000 --runs 3
    .venv/bin/python bench/profile_bench.py --quick   # 100k rows, 1 run, no report

Tools get every core of the machine by default, on purpose: ``profile()`` overlaps reading
with sketching on a second thread, and the floor uses polars' thread pool. ``--cores N``
pins every tool to N CPUs (``sched_setaffinity`` and ``POLARS_MAX_THREADS=N``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
RESULTS = BENCH / "results" / "profiling.md"
PROFILE_VENV = BENCH / ".venv-profile"

GENERATOR_VERSION = 1
CHUNK_ROWS = 1_000_000
FLOATS = [f"f{i:02}" for i in range(10)]
INTS = [f"i{i:02}" for i in range(5)]
CATEGORY_SIZES = (5, 12, 20, 35, 50)
CATEGORICALS = [f"c{i:02}" for i in range(len(CATEGORY_SIZES))]
SETS = {"reference": 0, "current": 1}  # the data set and its seed offset

# The targets of the data-contracts issue.
FLOOR_TARGET = 3.0  # postpilot profiling at most 3x the polars floor
WHYLOGS_TARGET = 20.0  # postpilot at least 20x faster than whylogs
WHYLOGS_QUOTED_1M = 48.0  # s, whylogs profiling and comparing two 1M-row sets, this machine
RSS_TARGET = 1.5e9  # bytes, postpilot peak RSS at 10M rows
RSS_TARGET_ROWS = 10_000_000

TELEMETRY_OFF = {
    "WHYLOGS_NO_ANALYTICS": "True",
    "DO_NOT_TRACK": "1",
    "POLARS_SKIP_CPU_CHECK": "1",
}
TOOLS = ("postpilot", "polars", "whylogs")
POSTPILOT, FLOOR, WHYLOGS = TOOLS


# --- the workers (each runs in its own subprocess) -----------------------------------------


def versions_of(*packages: str) -> dict[str, str]:
    import importlib.metadata

    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def generate_chunk(rows: int, seed: list[int]) -> Any:
    """``rows`` rows of the 20 columns, drawn with numpy from ``seed``."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {
        "f00": rng.normal(100.0, 15.0, rows),
        "f01": rng.lognormal(3.0, 1.0, rows),  # an amount
        "f02": rng.random(rows),  # a probability
        "f03": rng.exponential(2.0, rows),
        "f04": rng.beta(2.0, 5.0, rows),
        "f05": rng.normal(0.0, 1_000.0, rows),
        "f06": rng.gamma(2.0, 50.0, rows),
        "f07": rng.standard_t(5.0, rows),
        "f08": rng.uniform(-180.0, 180.0, rows),
        "f09": rng.normal(50.0, 10.0, rows),
        "i00": rng.poisson(3.0, rows),
        "i01": rng.integers(0, 100, rows),
        "i02": rng.integers(18, 91, rows),  # an age
        "i03": rng.geometric(0.1, rows),
        "i04": rng.integers(0, 1_000_000_000, rows),  # an identifier-like code
    }
    columns["f09"][rng.random(rows) < 0.02] = np.nan  # 2% missing, as nulls below
    frame = pl.DataFrame(columns, nan_to_null=True)
    categoricals = []
    for name, size in zip(CATEGORICALS, CATEGORY_SIZES, strict=True):
        weights = 1.0 / np.arange(1, size + 1) ** 0.8  # a long tail, like real categories
        picks = rng.choice(size, rows, p=weights / weights.sum())
        labels = pl.Series([f"{name}_value_{j:02}" for j in range(size)])
        categoricals.append(labels.gather(picks).alias(name))
    frame = frame.with_columns(categoricals)
    missing = pl.Series(rng.random(rows) < 0.01)  # 1% nulls in the last categorical
    return frame.with_columns(
        pl.when(missing).then(None).otherwise(pl.col(CATEGORICALS[-1])).alias(CATEGORICALS[-1])
    )


def stamp(rows: int, seed: int, which: str) -> dict[str, Any]:
    return {"version": GENERATOR_VERSION, "rows": rows, "seed": seed, "set": which}


def existing_stamp(path: Path) -> dict[str, Any] | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        raw = (meta.metadata or {}).get(b"postpilot_bench")
        found = json.loads(raw) if raw else None
    except (OSError, ValueError):
        return None
    if isinstance(found, dict) and found.get("rows") == meta.num_rows:
        return found
    return None


def work_generate(path: Path, rows: int, seed: int, which: str) -> dict[str, Any]:
    """Write one data set in chunks, so memory stays at one chunk whatever ``rows``."""
    import polars as pl
    import pyarrow.parquet as pq

    wanted = stamp(rows, seed, which)
    if existing_stamp(path) == wanted:
        return {"reused": True, "bytes": path.stat().st_size}
    start = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for index, offset in enumerate(range(0, rows, CHUNK_ROWS)):
            chunk = generate_chunk(min(CHUNK_ROWS, rows - offset), [seed, SETS[which], index])
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


def work_postpilot(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    from postpilot.contracts import check_contract, infer_contract
    from postpilot.profiles import profile

    imported = time.perf_counter()
    ref = profile(reference)
    cur = profile(current)
    profiled = time.perf_counter()
    contract = infer_contract(ref, name="bench-profile")
    result = check_contract(contract, cur)
    done = time.perf_counter()
    kinds: dict[str, int] = {}
    for finding in result.findings:
        key = f"{finding.kind.value} ({finding.severity.value})"
        kinds[key] = kinds.get(key, 0) + 1
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "profile_s": profiled - imported,
        "rows": [ref.rows, cur.rows],
        "check_ok": result.ok,
        "findings": kinds,
        "versions": versions_of("postpilot", "polars", "pyarrow", "datasketches", "numpy"),
    }


def floor_query(path: Path) -> Any:
    import polars as pl

    scan = pl.scan_parquet(path)
    exprs = []
    for name, dtype in scan.collect_schema().items():
        col = pl.col(name)
        if dtype.is_numeric():
            exprs += [
                col.count().alias(f"{name}:count"),
                col.null_count().alias(f"{name}:nulls"),
                col.mean().alias(f"{name}:mean"),
                col.std().alias(f"{name}:std"),
                col.min().alias(f"{name}:min"),
                col.max().alias(f"{name}:max"),
            ]
        else:
            exprs += [
                col.count().alias(f"{name}:count"),
                col.null_count().alias(f"{name}:nulls"),
                col.n_unique().alias(f"{name}:n_unique"),
                col.value_counts().implode().alias(f"{name}:value_counts"),
            ]
    return scan.select(exprs)


def work_polars(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import polars as pl

    imported = time.perf_counter()
    rows = []
    for path in (reference, current):
        stats = floor_query(path).collect(engine="streaming")
        rows.append(stats.item(0, f"{FLOATS[0]}:count"))
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "rows": rows,
        "threads": pl.thread_pool_size(),
        "versions": versions_of("polars", "pyarrow"),
    }


def work_whylogs(reference: Path, current: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import pandas as pd
    import whylogs as why

    imported = time.perf_counter()
    read_s = log_s = 0.0
    columns = []
    for path in (reference, current):
        began = time.perf_counter()
        frame = pd.read_parquet(path, engine="pyarrow")
        read = time.perf_counter()
        summary = why.log(frame).view().to_pandas()
        logged = time.perf_counter()
        read_s += read - began
        log_s += logged - read
        columns.append(len(summary))
        del frame, summary
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "work_s": done - imported,
        "read_s": read_s,
        "log_s": log_s,
        "columns": columns,
        "versions": versions_of(
            "whylogs", "whylogs-sketching", "pandas", "pyarrow", "numpy", "polars"
        ),
    }


def worker(args: argparse.Namespace) -> int:
    if args.cores:
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cpus)
    paths = [Path(p) for p in args.paths]
    if args.worker == "generate":
        out = work_generate(paths[0], args.gen_rows, args.seed, args.gen_set)
    else:
        work = {POSTPILOT: work_postpilot, FLOOR: work_polars, WHYLOGS: work_whylogs}
        out = work[args.worker](paths[0], paths[1])
    Path(args.out).write_text(json.dumps(out), encoding="utf-8")
    return 0


# --- measuring a subprocess -----------------------------------------------------------------


@dataclass
class Run:
    """One measured subprocess."""

    ok: bool
    wall_s: float  # the whole process, interpreter start and imports included
    max_rss: int  # bytes
    cpu_s: float  # user + system of the process
    other_cpus: float  # average CPUs busy with other work on the machine meanwhile
    out: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat, (0, 0) where unavailable."""
    try:
        first = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()
    except OSError:
        return 0, 0
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(values) - values[3] - values[4], sum(values)


def parse_time_v(text: str) -> tuple[int, float]:
    """(max RSS in bytes, user + system seconds) from GNU time's ``-v`` output."""
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    user = re.search(r"User time \(seconds\): ([\d.]+)", text)
    system = re.search(r"System time \(seconds\): ([\d.]+)", text)
    cpu = (float(user.group(1)) if user else 0.0) + (float(system.group(1)) if system else 0.0)
    return (int(rss.group(1)) * 1024 if rss else 0), cpu


def measure(
    python: str,
    worker_args: list[str],
    env: dict[str, str],
    timeout: float,
    script: Path | None = None,
) -> Run:
    """Run ``script`` (default: this one) as a worker in ``python`` under ``/usr/bin/time -v``.

    GNU time is a small process, so the peak RSS it reports is the worker's alone
    (``ru_maxrss`` of a child started from a large parent can include the parent's pages
    at exec). Without GNU time, ``os.wait4`` of the child is used.
    """
    time_bin = shutil.which("time", path="/usr/bin:/bin")
    worker = script or Path(__file__).resolve()
    with tempfile.TemporaryDirectory(prefix=f"{worker.stem}-") as tmp:
        out_file, time_file = Path(tmp, "out.json"), Path(tmp, "time.txt")
        command = [python, str(worker), "--out", str(out_file), *worker_args]
        if time_bin:
            command = [time_bin, "-v", "-o", str(time_file), *command]
        busy0, total0 = cpu_jiffies()
        start = time.perf_counter()
        with open(Path(tmp, "stderr.txt"), "w+", encoding="utf-8") as stderr:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            deadline = start + timeout
            status, usage = 0, None
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - start
            stderr.seek(0)
            err = stderr.read()
        busy1, total1 = cpu_jiffies()
        if time_bin and time_file.exists():
            rss, cpu = parse_time_v(time_file.read_text(encoding="utf-8"))
        else:
            rss, cpu = usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime
        ncpu = os.cpu_count() or 1
        busy_s = (busy1 - busy0) / max(total1 - total0, 1) * ncpu * wall
        other = max(busy_s - cpu, 0.0) / wall if wall else 0.0
        if proc.returncode != 0 or not out_file.exists():
            lines = [line.strip() for line in err.splitlines() if line.strip()]
            why = "timed out" if wall >= timeout else f"exit code {proc.returncode}"
            tail = " / ".join(lines[-3:]) if lines else "no error output"
            return Run(False, wall, rss, cpu, other, error=f"{why}: {tail}")
        return Run(True, wall, rss, cpu, other, json.loads(out_file.read_text(encoding="utf-8")))


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class Size:
    """Everything measured at one row count."""

    rows: int
    files: dict[str, Path]
    generation: list[Run] = field(default_factory=list)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def ok_runs(self, tool: str) -> list[Run]:
        return [r for r in self.runs.get(tool, []) if r.ok]

    def median(self, tool: str, key: str = "work_s") -> float | None:
        runs = self.ok_runs(tool)
        return statistics.median(r.out[key] for r in runs) if runs else None


def publish(section: str, results: Path, *, no_report: bool) -> None:
    """Print the section (``--no-report``), or write it to ``results`` and rebuild
    bench/RESULTS.md from every results file."""
    if no_report:
        print(section)
        return
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(section, encoding="utf-8")
    log(f"wrote {results}")
    report = BENCH / "report.py"
    if report.exists():
        subprocess.run([sys.executable, str(report)], check=False)


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


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
        path = DATA / f"profile-{rows}-{which}.parquet"
        size.files[which] = path
        worker_args = ["--worker", "generate", "--gen-rows", str(rows), "--gen-set", which]
        worker_args += ["--seed", str(args.seed), str(path)]
        run = measure(args.postpilot_python, worker_args, env, timeout=3600)
        if not run.ok:
            raise SystemExit(f"generating {path} failed: {run.error}")
        size.generation.append(run)
        action = "reused" if run.out["reused"] else f"generated in {run.wall_s:.1f} s"
        log(
            f"{path.name}: {action}, {run.out['bytes'] / 2**20:.0f} MiB, "
            f"peak RSS {run.max_rss / 2**20:.0f} MiB"
        )
    return size


def whylogs_skip_reason(rows: int, done: list[Size], args: argparse.Namespace) -> str | None:
    if not Path(args.whylogs_python).exists():
        return f"not installed ({args.whylogs_python} does not exist)"
    smaller = [s for s in done if s.rows < rows and s.ok_runs(WHYLOGS)]
    if not smaller:
        return None
    base = max(smaller, key=lambda s: s.rows)
    per_run = statistics.median(r.wall_s for r in base.ok_runs(WHYLOGS)) * rows / base.rows
    if per_run * args.runs > args.whylogs_budget:
        return (
            f"not run: {args.runs} run(s) would take about {per_run * args.runs / 60:.0f} min "
            f"(linear from {base.rows:,} rows: {per_run:.0f} s a run), over the "
            f"{args.whylogs_budget / 60:.0f}-min budget"
        )
    return None


def bench(args: argparse.Namespace) -> list[Size]:
    env = child_env(args.cores)
    done: list[Size] = []
    for rows in sorted(args.rows):
        size = prepare(rows, args, env)
        tools = [t for t in TOOLS if t in args.tools]
        if WHYLOGS in tools and (reason := whylogs_skip_reason(rows, done, args)):
            size.skipped[WHYLOGS] = reason
            tools.remove(WHYLOGS)
            log(f"whylogs at {rows:,} rows: {reason}")
        files = [str(size.files["reference"]), str(size.files["current"])]
        for run_index in range(args.runs):
            for tool in tools:
                python = args.whylogs_python if tool == WHYLOGS else args.postpilot_python
                pin = ["--cores", str(args.cores)] if args.cores else []
                run = measure(python, ["--worker", tool, *pin, *files], env, args.timeout)
                size.runs.setdefault(tool, []).append(run)
                state = f"{run.out['work_s']:.2f} s work" if run.ok else f"FAILED ({run.error})"
                log(
                    f"{rows:,} rows, run {run_index + 1}/{args.runs}, {tool}: {state}, "
                    f"{run.wall_s:.2f} s process, peak RSS {run.max_rss / 2**20:.0f} MiB, "
                    f"other load {run.other_cpus:.2f} CPUs"
                )
            if tools and all(not r.ok for t in tools for r in size.runs[t]) and run_index == 0:
                break
        done.append(size)
    return done


# --- the report ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    info = {"Model name": platform.processor() or "unknown", "CPU(s)": str(os.cpu_count())}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
                info[key.strip()] = value.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                info["RAM"] = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        info["RAM"] = "unknown"
    os_name = platform.platform()
    try:
        release = Path("/etc/os-release").read_text(encoding="utf-8")
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)', release, re.M)
        if pretty:
            os_name = f"{pretty.group(1)} ({os_name})"
    except OSError:
        pass
    info["OS"] = os_name
    return info


def fmt_s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


def versions_seen(sizes: list[Size]) -> str:
    """The package versions the workers reported, per virtualenv."""
    venvs = {POSTPILOT: "project venv", WHYLOGS: "whylogs venv"}
    parts = []
    for tool, label in venvs.items():
        runs = [r for s in sizes for r in s.ok_runs(tool)]
        if runs:
            found = ", ".join(f"{p} {v}" for p, v in runs[0].out["versions"].items())
            parts.append(f"{label}: {found}")
    return "; ".join(parts) or "unknown (no tool ran)"


@dataclass
class Row:
    label: str
    tool: str
    key: str
    note: str


ROWS = [
    Row(
        "postpilot: profile both, infer, check",
        POSTPILOT,
        "work_s",
        "`profile()` x2, `infer_contract`, `check_contract`",
    ),
    Row("postpilot: profiling only", POSTPILOT, "profile_s", "`profile()` x2 (same process)"),
    Row(
        "polars single pass (the floor)",
        FLOOR,
        "work_s",
        'one `scan_parquet().select().collect(engine="streaming")` per file',
    ),
    Row(
        "whylogs: read + profile both",
        WHYLOGS,
        "work_s",
        "`pd.read_parquet` + `why.log(df).view().to_pandas()` x2",
    ),
    Row("whylogs: profiling only", WHYLOGS, "log_s", "`why.log` + `to_pandas` x2 (same process)"),
]


def table(size: Size) -> list[str]:
    floor = size.median(FLOOR)
    whylogs = size.median(WHYLOGS)
    lines = [
        f"### {size.rows:,} rows per set (two sets)",
        "",
        "| tool | time (median) | min .. max | process wall (median) | peak RSS (max) "
        "| CPU time (median) | vs polars floor | faster than whylogs | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in ROWS:
        runs = size.ok_runs(row.tool)
        if not runs:
            continue
        times = [r.out[row.key] for r in runs]
        med = statistics.median(times)
        rss = max(r.max_rss for r in runs)
        cpu = statistics.median(r.cpu_s for r in runs)
        wall = statistics.median(r.wall_s for r in runs)
        other = statistics.mean(r.other_cpus for r in runs)
        vs_floor = f"{med / floor:.2f}x" if floor else "n/a"
        vs_why = f"{whylogs / med:.1f}x" if whylogs and row.tool != WHYLOGS else "n/a"
        lines.append(
            f"| {row.label} | {fmt_s(med)} | {fmt_s(min(times))} .. {fmt_s(max(times))} "
            f"| {fmt_s(wall)} | {fmt_mib(int(rss))} | {fmt_s(cpu)} | {vs_floor} | {vs_why} "
            f"| {other:.2f} CPUs |"
        )
    for tool in TOOLS:
        failed = [r for r in size.runs.get(tool, []) if not r.ok]
        if failed:
            lines.append(
                f"| {tool}: {len(failed)} run(s) failed: {failed[0].error} | | | | | | | | |"
            )
        if tool in size.skipped:
            lines.append(f"| {tool}: {size.skipped[tool]} | | | | | | | | |")
    return lines


def verdict(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def targets(sizes: list[Size]) -> list[str]:
    lines = ["### Targets", ""]
    for size in sizes:
        profile_s, floor = size.median(POSTPILOT, "profile_s"), size.median(FLOOR)
        if profile_s is None or floor is None:
            continue
        ratio = profile_s / floor
        how = (
            f"{FLOOR_TARGET / ratio:.2f}x headroom"
            if ratio <= FLOOR_TARGET
            else f"needs to be {ratio / FLOOR_TARGET:.2f}x faster"
        )
        lines.append(
            f"- Profiling within {FLOOR_TARGET:g}x of the polars floor, {size.rows:,} rows: "
            f"{verdict(ratio <= FLOOR_TARGET)}: {ratio:.2f}x ({fmt_s(profile_s)} vs "
            f"{fmt_s(floor)}; {how})."
        )
    for size in sizes:
        full, whylogs = size.median(POSTPILOT), size.median(WHYLOGS)
        if full is None:
            continue
        if whylogs is not None:
            speedup = whylogs / full
            how = (
                f"{speedup / WHYLOGS_TARGET:.2f}x the target"
                if speedup >= WHYLOGS_TARGET
                else f"needs to be {WHYLOGS_TARGET / speedup:.2f}x faster"
            )
            lines.append(
                f"- At least {WHYLOGS_TARGET:g}x faster than whylogs (measured in this run), "
                f"{size.rows:,} rows, profiling and comparing two sets: "
                f"{verdict(speedup >= WHYLOGS_TARGET)}: {speedup:.1f}x ({fmt_s(full)} vs "
                f"{fmt_s(whylogs)}; {how})."
            )
        if size.rows == 1_000_000:
            speedup = WHYLOGS_QUOTED_1M / full
            allowed = WHYLOGS_QUOTED_1M / WHYLOGS_TARGET
            how = (
                f"{speedup / WHYLOGS_TARGET:.2f}x the target"
                if speedup >= WHYLOGS_TARGET
                else f"needs to be {WHYLOGS_TARGET / speedup:.2f}x faster"
            )
            lines.append(
                f"- At least {WHYLOGS_TARGET:g}x faster than the {WHYLOGS_QUOTED_1M:g} s quoted "
                f"in the issue for whylogs at 1,000,000 rows (so at most {allowed:.1f} s): "
                f"{verdict(speedup >= WHYLOGS_TARGET)}: {speedup:.1f}x ({fmt_s(full)}; {how})."
            )
    for size in sizes:
        runs = size.ok_runs(POSTPILOT)
        if size.rows != RSS_TARGET_ROWS or not runs:
            continue
        rss = max(r.max_rss for r in runs)
        typical = statistics.median(r.max_rss for r in runs)
        how = (
            f"{(RSS_TARGET - rss) / 2**20:,.0f} MiB to spare"
            if rss < RSS_TARGET
            else f"{(rss - RSS_TARGET) / 2**20:,.0f} MiB over"
        )
        lines.append(
            f"- Peak RSS under 1.5 GB (1,431 MiB) at {RSS_TARGET_ROWS:,} rows (whole postpilot "
            f"process, both profiles, worst of the runs): {verdict(rss < RSS_TARGET)}: "
            f"{fmt_mib(rss)} ({how}; median of the runs {fmt_mib(int(typical))})."
        )
    if not any(s.rows == RSS_TARGET_ROWS for s in sizes):
        lines.append(f"- Peak RSS at {RSS_TARGET_ROWS:,} rows: not measured in this run.")
    return lines


def render(sizes: list[Size], args: argparse.Namespace, load: tuple[list[float], ...]) -> str:
    mach = machine()
    rows = " ".join(str(s.rows) for s in sizes)
    command = f".venv/bin/python bench/profile_bench.py --rows {rows} --runs {args.runs}"
    if args.cores:
        command += f" --cores {args.cores}"
    if args.seed != 0:
        command += f" --seed {args.seed}"
    cores = (
        f"pinned to {args.cores} CPU(s) (`sched_setaffinity`, `POLARS_MAX_THREADS`)"
        if args.cores
        else f"every tool may use all {os.cpu_count()} CPUs"
    )
    other = [r.other_cpus for s in sizes for runs in s.runs.values() for r in runs]
    start, end = load
    lines = [
        "## Profiling two data sets (`bench/profile_bench.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cores}.",
        "",
        f"- Machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs "
        f"({mach.get('Thread(s) per core', '?')} thread(s) per core), RAM {mach.get('RAM')}",
        f"- OS: {mach['OS']}; Python {platform.python_version()}",
        f"- Packages: {versions_seen(sizes)}",
        f"- Load average at the start: {start[0]:.2f}, {start[1]:.2f}, {start[2]:.2f}; at the "
        f"end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}. The machine is shared: 'other load' "
        "is the average number of CPUs busy with processes other than the measured one "
        "while it ran (from /proc/stat), "
        + (
            f"{statistics.mean(other):.2f} on average over all runs, up to {max(other):.2f}."
            if other
            else "not measured."
        ),
        "",
        "Workload: per row count, a reference and a current Parquet file (zstd, 1M-row "
        "row groups) with 20 columns: 10 float64 (normal, log-normal, uniform, exponential, "
        "beta, gamma, t; one with 2% nulls), 5 int64 (Poisson, uniform, geometric, one "
        "near-unique code) and 5 strings with 5, 12, 20, 35 and 50 categories (Zipf-like "
        "frequencies; one with 1% nulls); the current set is drawn from the same "
        f"distributions with another seed (`--seed {args.seed}`). Files are read from a warm "
        "page cache. Each tool runs in its own subprocess under `/usr/bin/time -v` (peak "
        f"RSS is that process's maximum resident set); {args.runs} run(s) per tool, "
        "interleaved. 'time' is measured inside the process, after its imports; "
        "'process wall' is the whole subprocess, interpreter start and imports included. "
        "'CPU time' is user + system of the process (over 'process wall' means it used more "
        "than one core).",
        "",
        "What each row runs:",
        "",
        *(f"- {row.label}: {row.note}" for row in ROWS),
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        "python3 -m venv bench/.venv-profile",
        "bench/.venv-profile/bin/pip install 'whylogs' 'pandas<3' pyarrow polars",
        command,
        "```",
        "",
    ]
    for size in sizes:
        lines += table(size)
        post = size.ok_runs(POSTPILOT)
        if post:
            out = post[0].out
            found = ", ".join(f"{k}: {v}" for k, v in sorted(out["findings"].items())) or "none"
            lines += [
                "",
                f"postpilot's check of the current set against the contract inferred "
                f"from the reference: ok={out['check_ok']}, findings: {found}.",
            ]
        gen = max(size.generation, key=lambda r: r.max_rss)
        if not all(r.out["reused"] for r in size.generation):
            lines += ["", f"Generating the data (two sets): peak RSS {fmt_mib(gen.max_rss)}."]
        lines.append("")
    lines += targets(sizes)
    return "\n".join(lines).rstrip() + "\n"


def save_raw(sizes: list[Size], args: argparse.Namespace) -> None:
    """Every run's measurements, as JSON, next to the data (not committed)."""
    raw = {
        "args": {k: v for k, v in vars(args).items() if k not in ("paths",)},
        "sizes": [
            {
                "rows": s.rows,
                "skipped": s.skipped,
                "runs": {t: [asdict(r) for r in runs] for t, runs in s.runs.items()},
            }
            for s in sizes
        ],
    }
    name = "profile-bench-quick.json" if args.quick else "profile-bench-last.json"
    (DATA / name).write_text(json.dumps(raw, indent=1), encoding="utf-8")


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
    parser.add_argument(
        "--cores",
        type=int,
        default=None,
        help="pin every tool to this many CPUs (default: no pinning)",
    )
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument(
        "--whylogs-budget",
        type=float,
        default=600.0,
        help="seconds whylogs may take at one row count over all its runs, "
        "extrapolated from the smaller row count (default: 600)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds before one tool's run is killed (default: 3600)",
    )
    parser.add_argument(
        "--postpilot-python",
        default=str(ROOT / ".venv" / "bin" / "python"),
        help="Python with postpilot installed (runs postpilot and polars)",
    )
    parser.add_argument(
        "--whylogs-python",
        default=str(PROFILE_VENV / "bin" / "python"),
        help="Python with whylogs and pandas installed",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help=f"print the section instead of writing {RESULTS.name}",
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


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        return worker(args)
    if not Path(args.postpilot_python).exists():
        print(
            f"error: {args.postpilot_python} does not exist; create the project venv or "
            "pass --postpilot-python",
            file=sys.stderr,
        )
        return 2
    start_load = list(os.getloadavg())
    log(f"load average {start_load[0]:.2f}, {start_load[1]:.2f}, {start_load[2]:.2f}")
    sizes = bench(args)
    save_raw(sizes, args)
    section = render(sizes, args, (start_load, list(os.getloadavg())))
    publish(section, RESULTS, no_report=args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
