"""Whole-process start-up: how long ``postpilot --help`` takes as a user waits for it.

Times, as separate processes from ``fork`` to exit, the commands a person types first:

- ``postpilot --help``, ``postpilot version``, ``postpilot drift --help`` (the project
  venv's console script);
- the same three with the code of an older revision (``--before REV``, default ``main``):
  ``git archive REV src`` unpacked to a temporary folder and put first on ``PYTHONPATH``,
  so both rows run the same interpreter and packages;
- peers' command-line tools that are installed in the same venv (``mlflow --help`` from
  mlflow-skinny in the dev extras, ``nannyml --help`` from the compare extra), each
  skipped with a note when missing;
- ``python -c pass``: the floor, the interpreter alone.

Every command runs ``--runs`` times (default 5), round robin so a busy neighbour slows
every command alike; the table shows the median wall time with its min and max, and the
median CPU time (user + system, from ``getrusage`` of the children), which a loaded
machine inflates less than wall time. The target (issue 12): ``postpilot --help`` and
``postpilot version`` under 0.3 s, median of 5, on this machine; it is reported here,
not asserted in a test (``tests/cli/test_startup_imports.py`` checks the structure: no
heavy import for help or version).

Writes ``bench/results/startup.md`` and runs ``bench/report.py`` (not with ``--no-report``).

Run (from the repository root)::

    .venv/bin/python bench/startup_bench.py
    .venv/bin/python bench/startup_bench.py --runs 9 --before a703a4e
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from profile_bench import log, machine, publish

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "startup.md"
TARGET_S = 0.3
POSTPILOT_COMMANDS = (["--help"], ["version"], ["drift", "--help"])
PEERS = (
    ("mlflow", ["--help"], "mlflow-skinny (dev extra)"),
    ("nannyml", ["--help"], "nannyml (compare extra)"),
)


@dataclass
class Command:
    """One command line to time, and its measurements."""

    label: str
    argv: list[str]
    env: dict[str, str]
    note: str = ""
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    failed: str = ""

    def run_once(self) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            self.argv, env=self.env, capture_output=True, text=True, check=False, timeout=120
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            self.failed = f"exit {done.returncode}: {last}"
            return
        self.walls.append(wall)
        self.cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def fetch_src(revision: str, into: Path) -> Path:
    """``src/`` of ``revision``, unpacked under ``into``."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", revision, "src"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def commit_of(revision: str) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or revision


def tree_state() -> str:
    """This checkout's commit, and whether src/ has uncommitted changes."""
    head = commit_of("HEAD")
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return f"{head} + uncommitted changes" if dirty else head


def plan(args: argparse.Namespace, before_src: Path | None) -> list[Command]:
    venv_bin = Path(args.python).parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "100"
    script = str(venv_bin / "postpilot")
    commands = [Command("`python -c pass` (the floor)", [args.python, "-c", "pass"], env)]
    for argv in POSTPILOT_COMMANDS:
        shown = " ".join(argv)
        commands.append(Command(f"`postpilot {shown}`", [script, *argv], env))
    if before_src is not None:
        old = {**env, "PYTHONPATH": str(before_src)}
        for argv in POSTPILOT_COMMANDS:
            shown = " ".join(argv)
            commands.append(
                Command(
                    f"`postpilot {shown}` before ({commit_of(args.before)})", [script, *argv], old
                )
            )
    for name, argv, note in PEERS:
        path = venv_bin / name
        label = f"`{name} {' '.join(argv)}`"
        if not path.exists():
            skipped = Command(label, [], env, note=note)
            skipped.failed = f"not installed in {venv_bin.parent}"
            commands.append(skipped)
            continue
        commands.append(Command(label, [str(path), *argv], env, note=note))
    return commands


def measure(commands: list[Command], runs: int) -> None:
    for command in commands:  # one untimed run each: file caches warm, .pyc written
        if command.argv and not command.failed:
            command.run_once()
            command.walls.clear()
            command.cpus.clear()
    for index in range(runs):
        for command in commands:
            if command.argv and not command.failed:
                command.run_once()
        log(f"round {index + 1}/{runs} done")


def fmt(seconds: float) -> str:
    return f"{seconds:.3f} s"


def render(
    commands: list[Command], args: argparse.Namespace, load: tuple[list[float], list[float]]
) -> str:
    mach = machine()
    start, end = load
    command_line = f".venv/bin/python bench/startup_bench.py --runs {args.runs}"
    if args.before != "main":
        command_line += f" --before {args.before}"
    lines = [
        "## Start-up: whole-process time of the first commands (`bench/startup_bench.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this tree ({tree_state()}).",
        "",
        f"- Machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs, RAM {mach.get('RAM')}",
        f"- OS: {mach['OS']}; Python {platform.python_version()}",
        f"- Load average at the start: {start[0]:.2f}, {start[1]:.2f}, {start[2]:.2f}; at the "
        f"end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}. On a machine shared with other work "
        "the wall times include waiting for a CPU; the CPU time does not.",
        "",
        "Each command is a fresh process, timed from start to exit (output captured), "
        f"{args.runs} runs each after one untimed warm-up run, round robin. 'before' rows run "
        f"the code of `{args.before}` with the same interpreter and packages (its `src/` "
        "first on `PYTHONPATH`). Peers run from the same venv.",
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        command_line,
        "```",
        "",
        "| command | wall (median) | min .. max | CPU time (median) | note |",
        "|---|---:|---:|---:|---|",
    ]
    for c in commands:
        if c.failed:
            lines.append(f"| {c.label} | | | | {c.note + ': ' if c.note else ''}{c.failed} |")
            continue
        lines.append(
            f"| {c.label} | {fmt(statistics.median(c.walls))} "
            f"| {fmt(min(c.walls))} .. {fmt(max(c.walls))} | {fmt(statistics.median(c.cpus))} "
            f"| {c.note} |"
        )
    lines += ["", "### Target", ""]
    for c in commands:
        if c.label in ("`postpilot --help`", "`postpilot version`") and c.walls:
            median = statistics.median(c.walls)
            verdict = "**met**" if median < TARGET_S else "**MISSED**"
            lines.append(
                f"- {c.label} under {TARGET_S} s (median of {len(c.walls)}): {verdict}: "
                f"{fmt(median)} wall, {fmt(statistics.median(c.cpus))} CPU."
            )
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument(
        "--before",
        default="main",
        help="git revision whose src/ gives the 'before' rows (default: main); "
        "'none' to leave them out",
    )
    parser.add_argument(
        "--python",
        default=str(ROOT / ".venv" / "bin" / "python"),
        help="the venv's Python; its bin/ holds the postpilot console script and the peers",
    )
    parser.add_argument(
        "--no-report", action="store_true", help=f"print the section instead of {RESULTS.name}"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not Path(args.python).exists():
        print(f"error: {args.python} does not exist", file=sys.stderr)
        return 2
    start = list(os.getloadavg())
    log(f"load average {start[0]:.2f}, {start[1]:.2f}, {start[2]:.2f}")
    workdir = Path(tempfile.mkdtemp(prefix="postpilot-startup-"))
    try:
        before_src = None if args.before == "none" else fetch_src(args.before, workdir)
        commands = plan(args, before_src)
        measure(commands, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section = render(commands, args, (start, list(os.getloadavg())))
    publish(section, RESULTS, no_report=args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
