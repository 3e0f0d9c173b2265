"""Scale: ``postpilot drift`` and ``postpilot estimate`` at 1M to 100M rows, whole-process,
beside NannyML and Evidently where they fit in memory.

Data (seeded, written in 1M-row chunks through a ``ParquetWriter``, zstd, one row group
per chunk, under ``bench/.data/``; reused when the file's stamp matches):

- **drift**: ``drift_bench.py``'s reference and current sets (20 columns, five planted
  drifts), made by its own generator. Chunk ``i`` of a set depends only on the seed and
  ``i``, so the 10M-row file is exactly the first 10M rows of the 100M-row file: the
  10M run is the 100M data's 10M-row sample.
- **estimate**: a scored binary classifier, reference and analysis: ``timestamp``
  (one row a second), four features ``x1..x4`` (standard normal), ``y_true`` drawn from
  ``sigmoid(-1 + 1.2 x1 - 0.8 x2 + 0.6 x3 + 0.4 x4)``, the model's ``score`` (it does not
  see ``x4``, so it is not calibrated as is) and ``y_pred = score >= 0.5``. Planted
  performance drop: in the analysis set, chunks 7, 8 and 9 of every ten (1M rows each)
  have every feature shrunk to 0.5x (a covariate shift that pulls scores toward the
  middle: ROC AUC falls from about 0.79 to about 0.67, which CBPE can see without
  labels). Again chunk ``i`` depends only on ``i``: the 10M set is the 100M set's first
  10M rows.

Every run is one process under ``/usr/bin/time -v`` (wall time and peak RSS of the whole
process, interpreter start, imports and reading the Parquet files included), watched by
a watchdog that polls the process tree's RSS in ``/proc`` every 0.2 s and kills the run
past ``--rss-limit`` (default 10 GiB: the machine's 24 GiB are shared) or past its time
budget. Postpilot runs as the user types it::

    postpilot drift REF CUR -f json -o OUT
    postpilot estimate --reference REF --analysis ANA --problem binary --y-true y_true \\
        --y-pred y_pred --y-pred-proba score --metric roc_auc,accuracy,f1 \\
        --chunk-size 1000000 -f json -o OUT

(``--postpilot-src PATH`` runs it from another source tree: ``PYTHONPATH=PATH/src``
before the venv's editable install; ``--snapshot COMMIT`` from ``src/`` of a commit,
unpacked with ``git archive`` under ``bench/.data/``, so a worktree that keeps changing
can be measured at a named commit. The run checks where ``import postpilot`` resolves
and records the commit.) Peers run in ``bench/.venv-drift`` (see
``drift_bench.py``), in this script's worker mode: NannyML's
``UnivariateDriftCalculator`` (default chunking) and Evidently's ``DataDriftPreset``
for drift (``drift_bench.py``'s workers), NannyML's ``CBPE`` (same metrics, 1M-row
chunks) for estimate. Evidently has no estimation without labels, so estimate has
NannyML alone. A peer is not run at a row count where it was killed or failed at a
smaller one; there (and wherever it was killed) the table gives an extrapolation from
its measured points, labelled as such.

Results accumulate in ``bench/.data/scale-bench.json`` (one record per task, tool and
row count; a later run replaces the record), so sizes and tasks can be run in separate
invocations; each invocation rewrites ``bench/results/scale.md`` and
``bench/results/scale.svg`` and runs ``bench/report.py``.

Run (from the repository root)::

    .venv/bin/python bench/scale_bench.py --generate-only
    .venv/bin/python bench/scale_bench.py --tasks drift --rows 1000000 3000000 10000000
    .venv/bin/python bench/scale_bench.py --tasks drift --rows 100000000 --tools postpilot
    .venv/bin/python bench/scale_bench.py --tasks estimate --snapshot wt-bounded
    .venv/bin/python bench/scale_bench.py --report-only

The 100M-row files take about 26 GB (drift 2 x 8.4 GB, estimate 2 x 4.1 GB) and 20
minutes to write on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import drift_bench
import profile_bench
from drift_bench import DRIFTED, DRIFTS
from profile_bench import CHUNK_ROWS, log, machine, versions_of

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
RECORDS = DATA / "scale-bench.json"
NOTES = DATA / "scale-notes.json"
OUTPUTS = DATA / "scale-outputs"
RESULTS = BENCH / "results" / "scale.md"
PLOT = BENCH / "results" / "scale.svg"
PEER_VENV = BENCH / ".venv-drift"

SIZES = [1_000_000, 3_000_000, 10_000_000, 100_000_000]
SAMPLE_ROWS = 10_000_000  # the answers check: 100M vs its first 10M rows
GiB = 2**30
RSS_LIMIT = 10 * GiB
PEER_BUDGET = 1200.0  # seconds
POSTPILOT_TIMEOUT = 3600.0
RSS_TARGET = 1 * GiB  # issue 12: drift and estimate at 100M under 1 GiB
POLL_S = 0.2

CLF_VERSION = 1
CLF_SETS = {"reference": 10, "analysis": 11}  # seed offsets (drift_bench uses 0, 1, 2)
CLF_WEIGHTS = (1.2, -0.8, 0.6, 0.4)
CLF_BIAS = -1.0
CLF_SHRINK = 0.5  # features of a degraded analysis chunk
CLF_DEGRADED = (7, 8, 9)  # chunk index % 10 of the degraded analysis chunks
EST_CHUNK = 1_000_000
METRICS = ["roc_auc", "accuracy", "f1"]

TASKS = ("drift", "estimate")
POSTPILOT, NANNYML, EVIDENTLY = "postpilot", "nannyml", "evidently"
TOOLS = (POSTPILOT, NANNYML, EVIDENTLY)
TASK_TOOLS = {"drift": (POSTPILOT, NANNYML, EVIDENTLY), "estimate": (POSTPILOT, NANNYML)}
LABELS = {
    ("drift", POSTPILOT): "postpilot `drift` (CLI, defaults)",
    ("drift", NANNYML): "NannyML `UnivariateDriftCalculator`",
    ("drift", EVIDENTLY): "Evidently `DataDriftPreset`",
    ("estimate", POSTPILOT): "postpilot `estimate` (CLI, CBPE)",
    ("estimate", NANNYML): "NannyML `CBPE`",
}


# --- the data -------------------------------------------------------------------------------


def clf_chunk(rows: int, seed: int, which: str, index: int) -> Any:
    """Chunk ``index`` of the classifier set ``which``: depends on the seed and index only."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng([seed, CLF_SETS[which], index])
    x = rng.standard_normal((rows, len(CLF_WEIGHTS)))
    if which == "analysis" and index % 10 in CLF_DEGRADED:
        x *= CLF_SHRINK
    weights = np.array(CLF_WEIGHTS)
    truth = CLF_BIAS + x @ weights
    seen = CLF_BIAS + x[:, :3] @ weights[:3]  # the model misses x4
    y_true = (rng.random(rows) < 1.0 / (1.0 + np.exp(-truth))).astype(np.int8)
    score = 1.0 / (1.0 + np.exp(-seen))
    year = 2024 if which == "reference" else 2028
    start = int((datetime(year, 1, 1) - datetime(1970, 1, 1)).total_seconds()) + index * CHUNK_ROWS
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(np.arange(start, start + rows, dtype=np.int64) * 1_000_000).cast(
                pl.Datetime("us")
            ),
            **{f"x{i + 1}": x[:, i] for i in range(x.shape[1])},
            "y_true": y_true,
            "score": score,
            "y_pred": (score >= 0.5).astype(np.int8),
        }
    )
    return frame


def work_generate_clf(path: Path, rows: int, seed: int, which: str) -> dict[str, Any]:
    import polars as pl
    import pyarrow.parquet as pq

    wanted = {"version": CLF_VERSION, "rows": rows, "seed": seed, "set": which, "task": "clf"}
    if profile_bench.existing_stamp(path) == wanted:
        return {"reused": True, "bytes": path.stat().st_size}
    start = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for index, offset in enumerate(range(0, rows, CHUNK_ROWS)):
            table = clf_chunk(min(CHUNK_ROWS, rows - offset), seed, which, index).to_arrow(
                compat_level=pl.CompatLevel.oldest()
            )
            if writer is None:
                schema = table.schema.with_metadata({"postpilot_bench": json.dumps(wanted)})
                writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return {"reused": False, "bytes": path.stat().st_size, "s": time.perf_counter() - start}


def files(task: str, rows: int) -> tuple[Path, Path]:
    if task == "drift":
        return DATA / f"drift-{rows}-reference.parquet", DATA / f"drift-{rows}-current.parquet"
    return DATA / f"clf-{rows}-reference.parquet", DATA / f"clf-{rows}-analysis.parquet"


def generate(task: str, rows: int, seed: int) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    sets = ("reference", "current") if task == "drift" else ("reference", "analysis")
    for which, path in zip(sets, files(task, rows), strict=True):
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", f"generate-{task}"]
        command += ["--gen-rows", str(rows), "--gen-set", which, "--seed", str(seed)]
        command += ["--out", "-", str(path)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"generating {path} failed: {done.stderr.strip()[-500:]}")
        out = json.loads(done.stdout)
        action = "reused" if out["reused"] else f"generated in {time.perf_counter() - start:.0f} s"
        log(f"{path.name}: {action}, {out['bytes'] / 2**20:,.0f} MiB")


# --- the peer workers (each runs in its own subprocess, in the peer venv) -------------------


def work_nannyml_cbpe(reference: Path, analysis: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import nannyml as nml
    import pandas as pd

    imported = time.perf_counter()
    ref = pd.read_parquet(reference, engine="pyarrow")
    ana = pd.read_parquet(analysis, engine="pyarrow")
    read = time.perf_counter()
    calc = nml.CBPE(
        y_pred_proba="score",
        y_pred="y_pred",
        y_true="y_true",
        timestamp_column_name="timestamp",
        metrics=METRICS,
        chunk_size=EST_CHUNK,
        problem_type="classification_binary",
    )
    calc.fit(ref)
    table = calc.estimate(ana).filter(period="analysis").to_df()
    done = time.perf_counter()
    chunks = []
    for i in range(len(table)):
        metrics = {}
        for metric in METRICS:
            row = table[metric].iloc[i]
            metrics[metric] = {
                "estimated": float(row["value"]),
                "lower": _num(row.get("lower_confidence_boundary")),
                "upper": _num(row.get("upper_confidence_boundary")),
                "realized": _num(row.get("realized")),
                "alert": bool(row["alert"]),
            }
        chunks.append({"key": str(table[("chunk", "key")].iloc[i]), "metrics": metrics})
    return {
        "import_s": imported - start,
        "read_s": read - imported,
        "work_s": done - imported,
        "chunks": chunks,
        "versions": versions_of("nannyml", "pandas", "pyarrow", "numpy"),
    }


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def worker(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    if args.worker == "generate-drift":
        out = drift_bench.work_generate(paths[0], args.gen_rows, args.seed, args.gen_set)
    elif args.worker == "generate-estimate":
        out = work_generate_clf(paths[0], args.gen_rows, args.seed, args.gen_set)
    elif args.worker == "drift-nannyml":
        out = drift_bench.work_nannyml(paths[0], paths[1], chunked=True)
    elif args.worker == "drift-evidently":
        out = drift_bench.work_evidently(paths[0], paths[1])
    elif args.worker == "estimate-nannyml":
        out = work_nannyml_cbpe(paths[0], paths[1])
    else:
        raise SystemExit(f"unknown worker {args.worker}")
    text = json.dumps(out, default=str)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


# --- measuring one process under a watchdog -------------------------------------------------


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text(encoding="utf-8")
            statm = Path(entry.path, "statm").read_text(encoding="utf-8")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        pid = int(entry.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(statm.split()[1]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def descendants(root: int) -> list[int]:
    """The processes of ``root``'s process group (it leads a new session), but ``root``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != root:
            try:
                stat = Path(entry.path, "stat").read_text(encoding="utf-8")
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[2]) == root:
                found.append(int(entry.name))
    return found


def run_watched(
    command: list[str], env: dict[str, str], rss_limit: int, timeout: float
) -> dict[str, Any]:
    """Run ``command`` under GNU time; kill it past ``rss_limit`` bytes or ``timeout`` s.

    The command (not GNU time) is killed, so time still reports its peak RSS.
    """
    time_bin = shutil.which("time", path="/usr/bin:/bin")
    if not time_bin:
        raise SystemExit("GNU time (/usr/bin/time) is needed: apt-get install time")
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        time_file, err_file = Path(tmp, "time.txt"), Path(tmp, "stderr.txt")
        load0 = os.getloadavg()
        start = time.perf_counter()
        with open(err_file, "w+", encoding="utf-8") as stderr:
            proc = subprocess.Popen(
                [time_bin, "-v", "-o", str(time_file), *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
            peak, killed, killed_after = 0, "", 0.0
            while proc.poll() is None:
                rss = tree_rss(proc.pid)
                peak = max(peak, rss)
                elapsed = time.perf_counter() - start
                reason = ""
                if rss > rss_limit:
                    reason = f"killed at {rss_limit / GiB:.0f} GiB"
                elif elapsed > timeout:
                    reason = f"stopped at the {timeout:.0f}-s budget"
                if reason and not killed:
                    killed, killed_after = reason, elapsed
                    for pid in descendants(proc.pid):
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                time.sleep(POLL_S)
            wall = time.perf_counter() - start
            stderr.seek(0)
            err = stderr.read()
        load1 = os.getloadavg()
        text = time_file.read_text(encoding="utf-8") if time_file.exists() else ""
    max_rss, cpu = profile_bench.parse_time_v(text)
    status = _exit_status(text)
    return {
        "wall_s": wall,
        "max_rss": max_rss,
        "tree_peak": peak,
        "cpu_s": cpu,
        "exit": status,
        "killed": killed,
        "killed_after": killed_after,
        "load": [round(load0[0], 2), round(load1[0], 2)],
        "stderr_tail": " / ".join(line.strip() for line in err.splitlines()[-4:] if line.strip()),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _exit_status(text: str) -> int:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Exit status:"):
            return int(line.split(":")[1])
        if line.startswith("Command terminated by signal"):
            return -int(line.rsplit(" ", 1)[1])
        if line.startswith("Command exited with non-zero status"):
            return int(line.rsplit(" ", 1)[1])
    return -1


# --- one tool at one size -------------------------------------------------------------------


def postpilot_command(task: str, rows: int, out: Path, bin_dir: Path) -> list[str]:
    ref, cur = files(task, rows)
    exe = str(bin_dir / "postpilot")
    if task == "drift":
        return [exe, "drift", str(ref), str(cur), "-f", "json", "-o", str(out)]
    return [
        exe,
        "estimate",
        "--reference",
        str(ref),
        "--analysis",
        str(cur),
        "--problem",
        "binary",
        "--y-true",
        "y_true",
        "--y-pred",
        "y_pred",
        "--y-pred-proba",
        "score",
        "--metric",
        ",".join(METRICS),
        "--chunk-size",
        str(EST_CHUNK),
        "-f",
        "json",
        "-o",
        str(out),
    ]


def postpilot_env(src: Path | None) -> dict[str, str]:
    env = drift_bench.child_env(None)
    if src is not None:
        env["PYTHONPATH"] = str(src / "src")
    return env


def postpilot_origin(python: Path, env: dict[str, str], src: Path | None) -> dict[str, str]:
    """Where ``import postpilot`` resolves in the measured environment, and its commit."""
    found = subprocess.run(
        [str(python), "-c", "import postpilot; print(postpilot.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = src if src is not None else ROOT
    if not Path(found).resolve().is_relative_to((tree / "src").resolve()):
        raise SystemExit(f"postpilot resolves to {found}, not under {tree / 'src'}")
    stamp = tree / ".commit"  # a snapshot made with `git archive` (see --snapshot)
    if stamp.exists():
        commit, dirty = stamp.read_text(encoding="utf-8").strip(), "no (a git archive)"
    else:
        git = ["git", "-C", str(tree)]
        log1 = subprocess.run(  # the last commit that changed src/
            [*git, "log", "-1", "--format=%h %s", "--", "src"], capture_output=True, text=True
        )
        status = subprocess.run(
            [*git, "status", "--porcelain", "src"], capture_output=True, text=True
        )
        commit, dirty = log1.stdout.strip(), "yes" if status.stdout.strip() else "no"
    return {"module": found, "commit": commit[:72], "dirty": dirty, "tree": str(tree.resolve())}


def snapshot(ref: str) -> Path:
    """``src/`` of commit ``ref`` of this repository, unpacked under bench/.data (a clean
    tree to measure while another worktree keeps changing)."""
    git = ["git", "-C", str(ROOT)]
    line = subprocess.run(
        [*git, "log", "-1", "--format=%h %s", ref], capture_output=True, text=True, check=True
    ).stdout.strip()
    target = DATA / f"src-{line.split()[0]}"
    if not (target / ".commit").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run([*git, "archive", ref, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
        (target / ".commit").write_text(line + "\n", encoding="utf-8")
    return target


def measure_one(task: str, tool: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    out = OUTPUTS / f"{task}-{tool}-{rows}.json"
    out.unlink(missing_ok=True)
    ref, cur = files(task, rows)
    record: dict[str, Any] = {"task": task, "tool": tool, "rows": rows}
    if tool == POSTPILOT:
        src = Path(args.postpilot_src).resolve() if args.postpilot_src else None
        env = postpilot_env(src)
        bin_dir = Path(args.postpilot_python).parent
        record["origin"] = postpilot_origin(Path(args.postpilot_python), env, src)
        command = postpilot_command(task, rows, out, bin_dir)
        timeout = args.timeout
        record["versions"] = json.loads(
            subprocess.run(
                [
                    args.postpilot_python,
                    "-c",
                    "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) "
                    "for p in ('polars', 'pyarrow', 'numpy', 'scikit-learn')}))",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    else:
        env = drift_bench.child_env(None)
        command = [args.peer_python, str(Path(__file__).resolve()), "--worker", f"{task}-{tool}"]
        command += ["--out", str(out), str(ref), str(cur)]
        timeout = args.peer_budget
    shown = [c.replace(str(ROOT) + "/", "") for c in command]
    if tool == POSTPILOT:
        shown[0] = "postpilot"
    record["command"] = " ".join(shown)
    log(f"{task} {tool} {rows:,} rows: {record['command']}")
    record.update(run_watched(command, env, args.rss_limit, timeout))
    ok_exit = (0, 1) if tool == POSTPILOT else (0,)
    record["ok"] = not record["killed"] and record["exit"] in ok_exit and out.exists()
    if record["ok"]:
        record["answer"] = answer(task, tool, json.loads(out.read_text(encoding="utf-8")))
    log(
        f"  -> {'ok' if record['ok'] else 'FAILED'} {record['wall_s']:.1f} s, peak RSS "
        f"{record['max_rss'] / 2**20:,.0f} MiB (tree {record['tree_peak'] / 2**20:,.0f} MiB), "
        f"exit {record['exit']} {record['killed']} load {record['load']}"
        + ("" if record["ok"] else f" {record['stderr_tail'][-300:]}")
    )
    return record


def answer(task: str, tool: str, out: dict[str, Any]) -> dict[str, Any]:
    """What the run concluded, small enough to keep in the records."""
    if task == "drift" and tool == POSTPILOT:
        chunk = out["chunks"][0]
        return {
            "flagged": sorted(out["drifted_columns"]),
            "multivariate_alerts": out.get("multivariate_alerts"),
            "chunks": len(out["chunks"]),
            "statistics": {
                c["column"]: [c.get("test"), c.get("statistic"), c.get("threshold")]
                for c in chunk["columns"]
            },
        }
    if task == "drift":
        return {"flagged": sorted(out["flagged"]), "work_s": out.get("work_s")}
    if tool == POSTPILOT:
        chunks = [
            {
                "key": c["key"],
                "rows": c["rows"],
                "metrics": {
                    m["metric"]: {k: m.get(k) for k in ("estimated", "lower", "upper", "realized")}
                    | {"alert": m["alert"]}
                    for m in c["metrics"]
                },
            }
            for c in out["chunks"]
        ]
        return {"chunks": chunks, "alerts": out.get("alerts"), "settings": out.get("settings")}
    return {"chunks": out["chunks"], "work_s": out.get("work_s")}


# --- records --------------------------------------------------------------------------------


def load_records() -> list[dict[str, Any]]:
    if RECORDS.exists():
        records: list[dict[str, Any]] = json.loads(RECORDS.read_text(encoding="utf-8"))
        return records
    return []


def load_notes() -> list[str]:
    """Notes on the runs (``--note``), kept beside the records."""
    if NOTES.exists():
        notes: list[str] = json.loads(NOTES.read_text(encoding="utf-8"))
        return notes
    return []


def save_record(record: dict[str, Any]) -> None:
    key = (record["task"], record["tool"], record["rows"])
    records = [r for r in load_records() if (r["task"], r["tool"], r["rows"]) != key]
    records.append(record)
    records.sort(key=lambda r: (TASKS.index(r["task"]), TOOLS.index(r["tool"]), r["rows"]))
    RECORDS.write_text(json.dumps(records, indent=1, default=str), encoding="utf-8")


def skip_reason(task: str, tool: str, rows: int, budget: float, limit: float) -> str:
    """Why a peer is not run at ``rows``: it was killed or failed at a smaller size, or
    its time at ``rows``, extrapolated from its measured sizes, exceeds ``budget`` while
    its memory stays under ``limit``."""
    if tool == POSTPILOT:
        return ""
    for r in load_records():
        if (r["task"], r["tool"]) == (task, tool) and r["rows"] < rows and not r["ok"]:
            why = r.get("killed") or r.get("skipped") or f"failed (exit {r['exit']})"
            return f"not run: {why} at {fmt_rows(r['rows'])} rows"
    guess = extrapolate([r for r in load_records() if (r["task"], r["tool"]) == (task, tool)], rows)
    # Past the memory limit it is run anyway, until the watchdog kills it (usually soon).
    if guess and guess["wall_s"] > budget and guess["max_rss"] <= limit:
        return (
            f"not run: it would take ~{fmt_time(guess['wall_s'])}, over the "
            f"{fmt_time(budget)} budget"
        )
    return ""


def bench(args: argparse.Namespace) -> None:
    for rows in sorted(args.rows):
        for task in args.tasks:
            generate(task, rows, args.seed)
        if args.generate_only:
            continue
        for task in args.tasks:
            for tool in (t for t in TASK_TOOLS[task] if t in args.tools):
                if tool != POSTPILOT and not Path(args.peer_python).exists():
                    log(f"{tool}: {args.peer_python} does not exist, skipped")
                    continue
                why = skip_reason(task, tool, rows, args.peer_budget, args.rss_limit)
                if why:
                    log(f"{task} {tool} {rows:,} rows: {why}")
                    save_record(
                        {
                            "task": task,
                            "tool": tool,
                            "rows": rows,
                            "ok": False,
                            "skipped": why,
                            "killed": "",
                            "exit": None,
                        }
                    )
                    continue
                save_record(measure_one(task, tool, rows, args))


# --- extrapolation, answers check, report ---------------------------------------------------


def fit(records: list[dict[str, Any]], key: str) -> tuple[float, float, list[int]] | None:
    """``value = a + b * rows`` through the two largest measured sizes (b >= 0)."""
    ok = sorted((r for r in records if r["ok"]), key=lambda r: r["rows"])
    if not ok:
        return None
    if len(ok) == 1:
        return 0.0, ok[0][key] / ok[0]["rows"], [ok[0]["rows"]]
    (x1, y1), (x2, y2) = ((r["rows"], r[key]) for r in ok[-2:])
    b = max((y2 - y1) / (x2 - x1), 0.0)
    return y2 - b * x2, b, [x1, x2]


def extrapolate(records: list[dict[str, Any]], rows: int) -> dict[str, Any] | None:
    wall, rss = fit(records, "wall_s"), fit(records, "max_rss")
    if wall is None or rss is None:
        return None
    return {
        "wall_s": wall[0] + wall[1] * rows,
        "max_rss": rss[0] + rss[1] * rows,
        "basis": wall[2],
    }


def fmt_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 100:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def fmt_rss(nbytes: float) -> str:
    return f"{nbytes / GiB:.2f} GiB" if nbytes >= GiB else f"{nbytes / 2**20:,.0f} MiB"


def fmt_rows(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows:,}"


def verdict(record: dict[str, Any]) -> str:
    found = record.get("answer") or {}
    if record["task"] == "drift":
        flagged = found.get("flagged", [])
        text = "the 5 planted" if flagged == DRIFTED else ", ".join(flagged) or "none"
        if flagged != DRIFTED:
            missed = [c for c in DRIFTED if c not in flagged]
            text = f"{len(flagged)} flagged" + (f", missed {', '.join(missed)}" if missed else "")
        return text
    chunks = found.get("chunks", [])
    alerting = [i for i, c in enumerate(chunks) if any(m["alert"] for m in c["metrics"].values())]
    planted = [i for i in range(len(chunks)) if i % 10 in CLF_DEGRADED]
    missed = [i for i in planted if i not in alerting]
    extra = [i for i in alerting if i not in planted]
    text = f"{len(chunks)} chunk{'s' if len(chunks) != 1 else ''}; alerts: "
    if not alerting:
        return text + "none" + ("" if planted else " (none degraded)")
    parts = []
    if planted and len(missed) < len(planted):
        caught = len(planted) - len(missed)
        parts.append(
            f"the {caught} degraded" if not missed else f"{caught} of {len(planted)} degraded"
        )
    if extra:
        parts.append(_listed(extra))
    return text + " + ".join(parts) + ("" if planted else " (none degraded)")


def _listed(indexes: list[int]) -> str:
    shown = ", ".join(map(str, indexes[:6])) + (", ..." if len(indexes) > 6 else "")
    return f"chunk{'s' if len(indexes) > 1 else ''} {shown}"


def table_rows(
    records: list[dict[str, Any]], sizes: list[int], args: argparse.Namespace
) -> tuple[list[str], list[Any]]:
    """The Markdown table, and the points to plot: (task, tool, rows, wall, rss, kind)."""
    lines = [
        "| task | tool | rows per set | wall time | peak RSS | answer | how |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    points: list[Any] = []
    for task in TASKS:
        for tool in TASK_TOOLS[task]:
            mine = [r for r in records if (r["task"], r["tool"]) == (task, tool)]
            if not mine:
                continue
            for rows in sizes:
                record = next((r for r in mine if r["rows"] == rows), None)
                label = LABELS[(task, tool)]
                if record and record["ok"]:
                    cells = [fmt_time(record["wall_s"]), fmt_rss(record["max_rss"])]
                    how = f"measured (load {record['load'][0]:.1f} -> {record['load'][1]:.1f})"
                    lines.append(
                        f"| {task} | {label} | {fmt_rows(rows)} | {' | '.join(cells)} "
                        f"| {verdict(record)} | {how} |"
                    )
                    points.append((task, tool, rows, record["wall_s"], record["max_rss"], "m"))
                    continue
                guess = extrapolate(mine, rows)
                if record and record.get("killed"):
                    what = f"{record['killed']} after {record['killed_after']:.0f} s"
                elif record and record.get("skipped"):
                    what = record["skipped"]
                elif record:
                    what = f"failed (exit {record['exit']}): {record['stderr_tail'][-160:]}"
                else:
                    what = (
                        skip_reason(task, tool, rows, args.peer_budget, args.rss_limit) or "not run"
                    )
                if guess:
                    basis = " and ".join(fmt_rows(b) for b in guess["basis"])
                    cells = [f"~{fmt_time(guess['wall_s'])}", f"~{fmt_rss(guess['max_rss'])}"]
                    how = f"{what}; **extrapolated** (affine in rows from {basis})"
                    points.append((task, tool, rows, guess["wall_s"], guess["max_rss"], "x"))
                else:
                    cells, how = ["-", "-"], what
                lines.append(
                    f"| {task} | {label} | {fmt_rows(rows)} | {' | '.join(cells)} | - | {how} |"
                )
    return lines, points


def drift_check(records: list[dict[str, Any]], big: int) -> list[str]:
    by = {r["rows"]: r for r in records if (r["task"], r["tool"]) == ("drift", POSTPILOT)}
    if not (big in by and SAMPLE_ROWS in by and by[big]["ok"] and by[SAMPLE_ROWS]["ok"]):
        return [f"- drift: not both of {fmt_rows(big)} and {fmt_rows(SAMPLE_ROWS)} measured."]
    a, b = by[big]["answer"], by[SAMPLE_ROWS]["answer"]
    same = a["flagged"] == b["flagged"]
    diffs = []
    for column, (test, value, _threshold) in a["statistics"].items():
        other = b["statistics"].get(column)
        if other and value is not None and other[1] is not None:
            diffs.append((abs(value - other[1]), column, test, value, other[1]))
    diffs.sort(reverse=True)
    lines = [
        f"- drift: flagged at {fmt_rows(big)}: {', '.join(a['flagged']) or 'none'}; at "
        f"{fmt_rows(SAMPLE_ROWS)}: {', '.join(b['flagged']) or 'none'}: "
        + ("**identical**" if same else "**different**")
        + (
            ", and equal to the 5 planted."
            if a["flagged"] == DRIFTED
            else "; planted: " + ", ".join(DRIFTED) + "."
        )
    ]
    if diffs:
        for test in sorted({d[2] for d in diffs}):
            mine = [d for d in diffs if d[2] == test]
            calm = [d[0] for d in mine if d[1] not in DRIFTED]
            moved = [d[0] for d in mine if d[1] in DRIFTED]
            lines.append(
                f"  {test} ({len(mine)} columns): largest |difference| "
                + (f"{max(calm):.4f} on the undrifted columns" if calm else "")
                + (", " if calm and moved else "")
                + (f"{max(moved):.4f} on the drifted ones" if moved else "")
                + " (threshold 0.1"
                + (
                    "; `docs/drift.md` states the sketched distance's error at under 0.01 "
                    "for its KLL k=1000)."
                    if test == "wasserstein"
                    else ")."
                )
            )
        top = ", ".join(f"`{c}` {t} {v:.6g} vs {w:.6g}" for _, c, t, v, w in diffs[:3])
        lines.append(
            f"  Largest per-column statistic differences ({fmt_rows(big)} vs "
            f"{fmt_rows(SAMPLE_ROWS)}): {top}; multivariate alerts "
            f"{a.get('multivariate_alerts')} vs {b.get('multivariate_alerts')}."
        )
    return lines


def estimate_check(records: list[dict[str, Any]], big: int) -> list[str]:
    by = {r["rows"]: r for r in records if (r["task"], r["tool"]) == ("estimate", POSTPILOT)}
    if not (big in by and SAMPLE_ROWS in by and by[big]["ok"] and by[SAMPLE_ROWS]["ok"]):
        return [f"- estimate: not both of {fmt_rows(big)} and {fmt_rows(SAMPLE_ROWS)} measured."]
    a, b = by[big]["answer"]["chunks"], by[SAMPLE_ROWS]["answer"]["chunks"]
    worst: dict[str, tuple[float, float]] = {}
    inside = True
    for ca, cb in zip(a, b, strict=False):
        for metric, ma in ca["metrics"].items():
            mb = cb["metrics"].get(metric)
            if not mb or ma["estimated"] is None or mb["estimated"] is None:
                continue
            diff = abs(ma["estimated"] - mb["estimated"])
            half = (mb["upper"] - mb["lower"]) / 2 if mb["upper"] is not None else float("nan")
            inside = inside and diff <= half
            if diff > worst.get(metric, (-1.0, 0.0))[0]:
                worst[metric] = (diff, half)
    alerts_a = [
        i for i, c in enumerate(a[: len(b)]) if any(m["alert"] for m in c["metrics"].values())
    ]
    alerts_b = [i for i, c in enumerate(b) if any(m["alert"] for m in c["metrics"].values())]
    detail = "; ".join(
        f"{m}: largest |difference| {d:.2e} (band half-width {h:.2e})"
        for m, (d, h) in worst.items()
    )
    cap = (by[big]["answer"].get("settings") or {}).get("reference_sample_rows")
    lines = []
    peer = next(
        (
            r
            for r in records
            if (r["task"], r["tool"], r["rows"]) == ("estimate", NANNYML, SAMPLE_ROWS) and r["ok"]
        ),
        None,
    )
    if peer:
        pairs = list(zip(b, peer["answer"]["chunks"], strict=False))

        def gap(m: str) -> float:
            return max(
                abs(x["metrics"][m]["estimated"] - y["metrics"][m]["estimated"]) for x, y in pairs
            )

        gaps = ", ".join(f"{m} {gap(m):.1e}" for m in METRICS)
        lines.append(
            f"  Postpilot vs NannyML CBPE at {fmt_rows(SAMPLE_ROWS)} (same chunks): largest "
            f"|difference| of the estimates: {gaps}."
        )
    return [
        f"- estimate: the first {len(b)} chunks (the same rows) at {fmt_rows(big)} vs "
        f"{fmt_rows(SAMPLE_ROWS)}: every estimate "
        + ("**within**" if inside else "**not within**")
        + f" the 10M run's confidence band (estimate ± 3 sampling errors). {detail}. Chunks "
        f"alerting among them: {alerts_a} vs {alerts_b} (degraded: chunk index % 10 in "
        f"{list(CLF_DEGRADED)})."
        + (
            f" The differences come from the calibrator's fit: postpilot fits CBPE on a "
            f"sample of {cap:,} reference rows (`reference_sample_rows`), a different sample "
            "of a 10M and of a 100M reference."
            if cap
            else ""
        ),
        *lines,
    ]


def throughput(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    for task in TASKS:
        runs = sorted(
            (r for r in records if (r["task"], r["tool"]) == (task, POSTPILOT) and r.get("ok")),
            key=lambda r: r["rows"],
        )
        if runs:
            cells = ", ".join(
                f"{fmt_rows(r['rows'])} {r['wall_s'] / (r['rows'] / 1e6):.1f} s "
                f"(load {r['load'][0]:.1f})"
                for r in runs
            )
            lines.append(f"  {task}: {cells}.")
    return lines


def ratios(records: list[dict[str, Any]], sizes: list[int]) -> list[str]:
    """Whole-process wall time of the fastest measured peer over postpilot's, per size."""
    lines = []
    for task in TASKS:
        for rows in sizes:
            at = {r["tool"]: r for r in records if (r["task"], r["rows"]) == (task, rows)}
            mine = at.get(POSTPILOT)
            peers = [r for t, r in at.items() if t != POSTPILOT and r.get("ok")]
            if mine and mine.get("ok") and peers:
                best = min(peers, key=lambda r: r["wall_s"])
                lines.append(
                    f"- {task}, {fmt_rows(rows)} rows: postpilot {fmt_time(mine['wall_s'])}, "
                    f"fastest peer ({best['tool']}) {fmt_time(best['wall_s'])}: "
                    f"**{best['wall_s'] / mine['wall_s']:.1f}x** faster, with "
                    f"{best['max_rss'] / mine['max_rss']:.1f}x less peak memory"
                )
    if not lines:
        return []
    return [
        "### Whole-process ratios against the fastest peer",
        "",
        "Both measured in the same session, one after the other, on the shared machine "
        "(start-up and imports included on both sides):",
        "",
        *lines,
        "",
    ]


def svg_plot(points: list[Any], sizes: list[int]) -> str:
    """Two log-log panels (wall time, peak RSS against rows), plain SVG."""
    width, height, pad_l, pad_r, pad_t, pad_b, gap = 980, 450, 70, 20, 40, 120, 80
    panel_w = (width - pad_l - pad_r - gap) / 2
    panel_h = height - pad_t - pad_b
    colors = {POSTPILOT: "#1f77b4", NANNYML: "#d62728", EVIDENTLY: "#2ca02c"}
    dashes = {"drift": "", "estimate": "6,4"}
    xs = [math.log10(s) for s in sizes] or [6.0, 8.0]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1

    def ticks(lo: float, hi: float, unit: float) -> list[float]:
        """1-2-5 ticks (in ``unit``s) between 10**lo and 10**hi, as raw values."""
        low, high = math.log10(10.0**lo / unit), math.log10(10.0**hi / unit)
        found = [
            m * 10.0**e for e in range(math.floor(low), math.ceil(high) + 1) for m in (1, 2, 5)
        ]
        return [t * unit for t in found if low <= math.log10(t) <= high]

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for panel, (index, title, unit_fmt, lines) in enumerate(
        [
            (3, "wall time, whole process (s)", lambda v: f"{v:g}", []),
            (
                4,
                "peak RSS (GiB)",
                lambda v: f"{v / GiB:.3g}",
                [(RSS_TARGET, "1 GiB target"), (RSS_LIMIT, "10 GiB watchdog")],
            ),
        ]
    ):
        left = pad_l + panel * (panel_w + gap)
        values = [p[index] for p in points if p[index] > 0] + [v for v, _ in lines]
        if not values:
            continue
        y0, y1 = math.log10(min(values)) - 0.1, math.log10(max(values)) + 0.1

        def px(rows: float, left: float = left) -> float:
            return left + (math.log10(rows) - x0) / (x1 - x0) * panel_w

        def py(value: float, y0: float = y0, y1: float = y1) -> float:
            return pad_t + panel_h - (math.log10(value) - y0) / (y1 - y0) * panel_h

        out.append(
            f'<rect x="{left:.1f}" y="{pad_t}" width="{panel_w:.1f}" height="{panel_h}" '
            'fill="none" stroke="#888"/>'
        )
        out.append(
            f'<text x="{left + panel_w / 2:.1f}" y="{pad_t - 12}" text-anchor="middle" '
            f'font-weight="bold">{title}</text>'
        )
        for t in ticks(y0, y1, 1.0 if index == 3 else GiB):
            y = py(t)
            out.append(
                f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + panel_w:.1f}" '
                f'y2="{y:.1f}" stroke="#eee"/>'
            )
            out.append(
                f'<text x="{left - 5:.1f}" y="{y + 4:.1f}" text-anchor="end">{unit_fmt(t)}</text>'
            )
        for s in sizes:
            x = px(s)
            out.append(
                f'<line x1="{x:.1f}" y1="{pad_t}" x2="{x:.1f}" y2="{pad_t + panel_h}" '
                'stroke="#eee"/>'
            )
            out.append(
                f'<text x="{x:.1f}" y="{pad_t + panel_h + 16}" text-anchor="middle">'
                f"{fmt_rows(s)}</text>"
            )
        out.append(
            f'<text x="{left + panel_w / 2:.1f}" y="{pad_t + panel_h + 34}" '
            'text-anchor="middle">rows per set (log)</text>'
        )
        for value, text in lines:
            y = py(value)
            out.append(
                f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + panel_w:.1f}" '
                f'y2="{y:.1f}" stroke="#999" stroke-dasharray="2,3"/>'
            )
            out.append(f'<text x="{left + 4:.1f}" y="{y - 4:.1f}" fill="#666">{text}</text>')
        for task in TASKS:
            for tool in TASK_TOOLS[task]:
                series = sorted(
                    (p for p in points if (p[0], p[1]) == (task, tool)), key=lambda p: p[2]
                )
                if not series:
                    continue
                coords = [(px(p[2]), py(p[index]), p[5]) for p in series]
                for (ax, ay, ak), (bx, by, bk) in itertools.pairwise(coords):
                    dash = "3,3" if "x" in (ak, bk) else dashes[task]
                    extra = f' stroke-dasharray="{dash}"' if dash else ""
                    out.append(
                        f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
                        f'stroke="{colors[tool]}" stroke-width="2"{extra}/>'
                    )
                for x, y, kind in coords:
                    fill = colors[tool] if kind == "m" else "white"
                    shape = "circle" if task == "drift" else "rect"
                    if shape == "circle":
                        out.append(
                            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{fill}" '
                            f'stroke="{colors[tool]}" stroke-width="2"/>'
                        )
                    else:
                        out.append(
                            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                            f'fill="{fill}" stroke="{colors[tool]}" stroke-width="2"/>'
                        )
    # legend
    legend_y = height - 58
    x = pad_l
    for task in TASKS:
        for tool in TASK_TOOLS[task]:
            if not any((p[0], p[1]) == (task, tool) for p in points):
                continue
            dash = f' stroke-dasharray="{dashes[task]}"' if dashes[task] else ""
            out.append(
                f'<line x1="{x}" y1="{legend_y}" x2="{x + 24}" y2="{legend_y}" '
                f'stroke="{colors[tool]}" stroke-width="2"{dash}/>'
            )
            out.append(f'<text x="{x + 30}" y="{legend_y + 4}">{task}: {tool}</text>')
            x += 175
    out.append(
        f'<text x="{pad_l}" y="{legend_y + 22}" fill="#444">circles: drift, squares: '
        "estimate; filled marker: measured; hollow marker and dotted line: extrapolated "
        f'from measured points</text><text x="{pad_l}" y="{legend_y + 38}" fill="#444">'
        "(the run was killed past the memory limit or time budget, or not run)</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def src_commit(origin: dict[str, str]) -> str:
    """The last commit that changed src/ at the measured commit (a run recorded the
    checkout's HEAD, which may only have added benchmark files)."""
    if (Path(origin["tree"]) / ".commit").exists():
        return origin["commit"]
    at = origin["commit"].split()[0]
    found = subprocess.run(
        ["git", "-C", origin["tree"], "log", "-1", "--format=%h %s", at, "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (found or origin["commit"])[:72]


def render(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    sizes = sorted({r["rows"] for r in records})
    lines, points = table_rows(records, sizes, args)
    big = max(sizes) if sizes else 0
    info = machine()
    origins = {
        (r["task"], src_commit(r["origin"]), r["origin"].get("tree"))
        for r in records
        if r["tool"] == POSTPILOT and r.get("origin")
    }
    versions: dict[str, dict[str, str]] = {"postpilot's venv": {}, "the peers' venv": {}}
    for r in records:
        if r.get("ok") and r["tool"] != POSTPILOT:
            out = OUTPUTS / f"{r['task']}-{r['tool']}-{r['rows']}.json"
            if out.exists():
                found = json.loads(out.read_text(encoding="utf-8")).get("versions", {})
                versions["the peers' venv"] |= found
        elif r.get("ok"):
            versions["postpilot's venv"] |= r.get("versions", {})
    shown = "; ".join(
        f"{venv}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(found.items()) if v != "not installed")
        for venv, found in versions.items()
        if found
    )
    loads = [r["load"] for r in records if r.get("load")]
    text = [
        "## Scale: drift and estimate at 1M to 100M rows (whole process)",
        "",
        f"Generated by `bench/scale_bench.py`, last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {info.get('Model name')}, {info.get('CPU(s)')} CPUs, {info.get('RAM')} RAM, "
        f"{info.get('OS')}. **The machine was shared**: other sessions ran on the same 2 "
        "cores and 24 GiB throughout; the 1-minute load average at each run's start and end "
        "is in the table"
        + (
            f" (from {min(min(x) for x in loads):.1f} to {max(max(x) for x in loads):.1f})"
            if loads
            else ""
        )
        + ", so times are upper bounds of what the tools take on an idle machine.",
        "",
        "Each run is one process (`/usr/bin/time -v`: wall time and peak RSS, start-up, "
        "imports and reading both Parquet files included), watched: past "
        f"{args.rss_limit / GiB:.0f} GiB of process-tree RSS (polled every {POLL_S} s) or its "
        f"time budget ({args.peer_budget:.0f} s for a peer) it is killed, and the table says "
        "so and gives an **extrapolation** (affine in rows through the two largest measured "
        "sizes of that tool: the time and memory such a run would need), marked `~`. A peer is "
        "not run at a size where it was killed at a smaller one.",
        "",
        "Data (`bench/.data/`, zstd Parquet, 1M-row row groups, written in 1M-row chunks that "
        "depend only on the seed and the chunk's index, so each file is the first rows of the "
        "next larger one):",
        "",
        "- drift: `drift_bench.py`'s reference and current sets, 20 columns (10 float, 5 int, "
        "5 strings), five planted drifts: "
        + "; ".join(f"`{c}` {what}" for c, what in DRIFTS.items())
        + ". Postpilot runs `postpilot drift` with its defaults (one chunk, multivariate PCA on "
        "a bounded sample); NannyML `UnivariateDriftCalculator` with its default chunking and "
        "methods, flagged = a column with an alert in any chunk; Evidently `DataDriftPreset`, "
        "flagged = `ValueDrift` past its threshold (as in `drift.md`).",
        "- estimate: a scored binary classifier (timestamp, features `x1..x4`, `y_true`, "
        "`score`, `y_pred`; the model misses `x4`, so its scores need calibrating). In the "
        f"analysis set, chunks {', '.join(map(str, CLF_DEGRADED))} of every ten (1M rows each) "
        f"have their features shrunk to {CLF_SHRINK}x: a covariate shift that lowers ROC AUC, "
        "visible to CBPE. Postpilot `estimate` (CBPE) and NannyML `CBPE`, both with 1M-row "
        f"chunks and the metrics {', '.join(METRICS)}; Evidently has no estimation without "
        "labels, so estimate compares NannyML alone.",
        "",
        "Postpilot measured from: "
        + "; ".join(f"{task} at `{commit}` ({tree})" for task, commit, tree in sorted(origins))
        + ".",
        "",
        f"Versions: {shown}.",
        "",
        "Commands (from the repository root):",
        "",
        "```",
        *sorted({r["command"] for r in records if r.get("command")}),
        "```",
        "",
        *lines,
        "",
        "![Wall time and peak RSS against rows, log-log](results/scale.svg)",
        "",
        f"### Answers at {fmt_rows(big)} vs the same data's first {fmt_rows(SAMPLE_ROWS)} rows",
        "",
        *drift_check(records, big),
        *estimate_check(records, big),
        "",
        "Reading the table:",
        "",
        "- 'answer', drift: the columns flagged (the 5 planted are "
        f"{', '.join(DRIFTED)}). NannyML's default chunking alerts a column when any of its "
        "10 analysis chunks lies beyond the reference chunks' mean + 3 sd, which flags "
        "undrifted columns too (as in `drift.md`).",
        "- 'answer', estimate: the chunks with an alert on any metric, against the degraded "
        f"ones (index % 10 in {list(CLF_DEGRADED)}). Postpilot also alerts when a chunk's "
        "*realized* value (labels are in the analysis data) lies beyond the threshold, "
        "NannyML's CBPE on the estimate alone. At 1M rows (one reference chunk, so no "
        "spread to set a threshold from) NannyML alerted on every metric of its one chunk. "
        "Analysis chunk 1 (undegraded) alerts in postpilot's runs from 3M rows on, on its "
        "realized ROC AUC: 0.8152 (scikit-learn's `roc_auc_score` on that row group agrees) "
        "under the floor the reference chunks set (about 0.8160); its estimate is inside. "
        "That is the drawn data (seed 0), the same at every row count.",
        "- Times are of the whole process on a machine shared with other sessions, whose "
        "load average was often far above its 2 cores; compare tools at one size (they ran "
        "one after the other), not with `drift.md`'s idle-machine numbers. Postpilot's "
        "seconds per million rows, with the load average at the run's start:",
        *throughput(records),
        *(f"- {note}" for note in load_notes()),
        "",
    ]
    text += ratios(records, sizes)
    pp = [r for r in records if r["tool"] == POSTPILOT and r["rows"] == big and r.get("ok")]
    if pp:
        text.append(
            f"### Target (issue 12): postpilot under {fmt_rss(RSS_TARGET)} at {fmt_rows(big)} rows"
        )
        text.append("")
        for r in pp:
            met = r["max_rss"] < RSS_TARGET
            text.append(
                f"- {r['task']}: peak RSS {fmt_rss(r['max_rss'])}, wall "
                f"{fmt_time(r['wall_s'])}: {'met' if met else '**not met**'}"
            )
        text.append("")
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    PLOT.write_text(svg_plot(points, sizes), encoding="utf-8")
    return "\n".join(text).rstrip() + "\n"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=SIZES, help="rows per set")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generate-only", action="store_true", help="write the data, run nothing")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the results from the records"
    )
    parser.add_argument(
        "--postpilot-src",
        help="run postpilot from this source tree (PYTHONPATH=PATH/src in front of the venv)",
    )
    parser.add_argument(
        "--snapshot",
        metavar="COMMIT",
        help="run postpilot from src/ of this commit (git archive under bench/.data/)",
    )
    parser.add_argument("--postpilot-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--peer-python", default=str(PEER_VENV / "bin" / "python"))
    parser.add_argument(
        "--rss-limit",
        type=lambda v: int(float(v) * GiB),
        default=RSS_LIMIT,
        help="GiB of process-tree RSS past which a run is killed (default 10)",
    )
    parser.add_argument(
        "--peer-budget", type=float, default=PEER_BUDGET, help="seconds a peer run may take"
    )
    parser.add_argument(
        "--timeout", type=float, default=POSTPILOT_TIMEOUT, help="seconds a postpilot run may take"
    )
    parser.add_argument(
        "--note", action="append", default=[], help="add a note on the runs to the section"
    )
    parser.add_argument("--no-report", action="store_true", help="print the section instead")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--gen-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--gen-set", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        return worker(args)
    if args.note:
        DATA.mkdir(parents=True, exist_ok=True)
        NOTES.write_text(json.dumps(load_notes() + args.note, indent=1), encoding="utf-8")
    if args.snapshot:
        args.postpilot_src = str(snapshot(args.snapshot))
        log(f"measuring postpilot from {args.postpilot_src}")
    if not args.report_only:
        log(f"load average {os.getloadavg()}")
        bench(args)
        log(f"load average {os.getloadavg()}")
    if args.generate_only:
        return 0
    section = render(load_records(), args)
    profile_bench.publish(section, RESULTS, no_report=args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
