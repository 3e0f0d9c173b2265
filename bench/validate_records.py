"""Single-record validation throughput on one core: postpilot vs the tools users would pick.

Builds a 20-field contract (10 float, 5 int, 5 categorical string with 5-20 categories),
generates records (90% valid, 10% with one broken field), and times validating every
record, one call per record, with:

- postpilot's ``RecordValidator.validate`` (and ``validate_many``);
- a pydantic v2 model from ``create_model`` with the same rules (strict types, ``ge``/``le``,
  ``Literal`` categories, no NaN/inf, extra fields forbidden), errors collected per record;
- ``jsonschema``'s ``Draft202012Validator`` (``iter_errors``, every error collected);
- ``fastjsonschema`` (compiled; stops at the first error).

A peer that is not installed is skipped. Each tool runs ``--runs`` times (interleaved, so
a noisy neighbour hurts every tool alike); the table shows the median. The script also
counts on how many records each peer agrees with postpilot about valid/invalid, broken
down by the kind of fault, writes ``bench/results/validation.md`` and runs ``report.py``.

Run (from the repository root)::

    python3 -m venv bench/.venv-validate
    bench/.venv-validate/bin/pip install -e . jsonschema fastjsonschema
    bench/.venv-validate/bin/python bench/validate_records.py
"""

from __future__ import annotations

import os

# One core, set before any library that starts a thread pool is imported.
os.environ["POLARS_MAX_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import gc
import importlib.metadata
import math
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from postpilot.contracts.model import ColumnSpec, Contract, Range
from postpilot.contracts.validator import RecordValidator

BENCH = Path(__file__).resolve().parent
TARGET = 100_000  # records per second, one core
Record = dict[str, Any]
Validate = Callable[[Record], Any]  # returns something truthy when the record is invalid


# --- the contract and the records -------------------------------------------------------


def build_contract(seed: int) -> Contract:
    rng = random.Random(seed)
    columns: dict[str, ColumnSpec] = {}
    for i in range(10):
        lo = rng.choice([0.0, -100.0, -1e4, 0.5])
        columns[f"f{i:02}"] = ColumnSpec(
            type="float", nullable=False, range=Range(min=lo, max=lo + rng.choice([1, 100, 1e6]))
        )
    for i in range(5):
        lo = rng.choice([0, 1, -50])
        columns[f"i{i:02}"] = ColumnSpec(
            type="int", nullable=False, range=Range(min=lo, max=lo + rng.choice([10, 1000, 10**6]))
        )
    for i, size in enumerate([5, 8, 12, 16, 20]):
        columns[f"c{i:02}"] = ColumnSpec(
            type="string", nullable=False, categories=[f"cat{i}_{j:02}" for j in range(size)]
        )
    return Contract(name="bench-20-fields", columns=columns)


FAULTS = (
    "out_of_range",
    "wrong_type",
    "unknown_category",
    "null",
    "missing",
    "unexpected_field",
    "integral_float_in_int",
    "bool_in_int",
    "nan_in_float",
)


def bounds_of(spec: ColumnSpec) -> tuple[float, float]:
    """The (closed) range of a numeric column of the bench contract."""
    if spec.range is None or spec.range.min is None or spec.range.max is None:
        raise ValueError("every numeric column of the bench contract has a closed range")
    return spec.range.min, spec.range.max


def valid_value(spec: ColumnSpec, rng: random.Random) -> Any:
    if spec.type in ("int", "float"):
        lo, hi = bounds_of(spec)
        return rng.uniform(lo, hi) if spec.type == "float" else rng.randint(int(lo), int(hi))
    assert spec.categories is not None
    return rng.choice(spec.categories)


def generate(
    contract: Contract, n: int, bad_share: float, seed: int
) -> tuple[list[Record], list[str | None]]:
    """``n`` records and, for each, the fault put into it (``None``: a valid record)."""
    rng = random.Random(seed)
    cols = contract.columns
    numeric = [k for k, s in cols.items() if s.type in ("int", "float")]
    ints = [k for k, s in cols.items() if s.type == "int"]
    floats = [k for k, s in cols.items() if s.type == "float"]
    cats = [k for k, s in cols.items() if s.categories is not None]
    records: list[Record] = []
    faults: list[str | None] = []
    for _ in range(n):
        record = {name: valid_value(spec, rng) for name, spec in cols.items()}
        fault = rng.choice(FAULTS) if rng.random() < bad_share else None
        if fault == "out_of_range":
            name = rng.choice(numeric)
            lo, hi = bounds_of(cols[name])
            record[name] = hi + (hi - lo) if rng.random() < 0.5 else lo - (hi - lo)
            if cols[name].type == "int":
                record[name] = int(record[name])
        elif fault == "wrong_type":
            name = rng.choice(list(cols))
            record[name] = str(record[name]) if name in numeric else rng.randint(0, 9)
        elif fault == "unknown_category":
            record[rng.choice(cats)] = "no-such-category"
        elif fault == "null":
            record[rng.choice(list(cols))] = None
        elif fault == "missing":
            del record[rng.choice(list(cols))]
        elif fault == "unexpected_field":
            record["extra_field"] = 1
        elif fault == "integral_float_in_int":
            name = rng.choice(ints)
            record[name] = float(record[name])
        elif fault == "bool_in_int":
            record[rng.choice(ints)] = True
        elif fault == "nan_in_float":
            record[rng.choice(floats)] = math.nan
        records.append(record)
        faults.append(fault)
    return records, faults


# --- the tools --------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    validate: Validate
    note: str
    per_record: bool = True  # False: the tool's own batch call (one call for all records)


def postpilot_tools(contract: Contract) -> list[Tool]:
    validator = RecordValidator(contract)
    return [
        Tool(
            "postpilot RecordValidator.validate",
            validator.validate,
            "every error, as FieldError objects",
        ),
        Tool(
            "postpilot RecordValidator.validate_many",
            validator.validate_many,  # type: ignore[arg-type]
            "same, one call for the whole list",
            per_record=False,
        ),
    ]


def pydantic_tool(contract: Contract) -> Tool | str:
    try:
        from pydantic import ConfigDict, Field, ValidationError, create_model
    except ImportError:
        return "pydantic is not installed"
    fields: dict[str, Any] = {}
    for name, spec in contract.columns.items():
        bounds = spec.range
        lo = bounds.min if bounds is not None else None
        hi = bounds.max if bounds is not None else None
        if spec.type == "float":
            kind: Any = Annotated[float, Field(ge=lo, le=hi, allow_inf_nan=False)]
        elif spec.type == "int":
            kind = Annotated[int, Field(ge=lo, le=hi)]
        else:
            assert spec.categories is not None
            kind = Literal[tuple(spec.categories)]
        fields[name] = (kind, ...)
    model = create_model(  # type: ignore[call-overload]
        "BenchRecord", __config__=ConfigDict(extra="forbid", strict=True), **fields
    )
    validate_model = model.model_validate

    def validate(record: Record) -> Any:
        try:
            validate_model(record)
        except ValidationError as exc:
            return exc.errors()
        return None

    return Tool("pydantic v2 create_model (strict)", validate, "every error, as dicts")


def json_schema(contract: Contract) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, spec in contract.columns.items():
        prop: dict[str, Any]
        if spec.categories is not None:
            prop = {"type": "string", "enum": list(spec.categories)}
        else:
            prop = {"type": "number" if spec.type == "float" else "integer"}
            if spec.range is not None and spec.range.min is not None:
                prop["minimum"] = spec.range.min
            if spec.range is not None and spec.range.max is not None:
                prop["maximum"] = spec.range.max
        properties[name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": list(contract.columns),
        "additionalProperties": False,
    }


def jsonschema_tool(contract: Contract) -> Tool | str:
    try:
        import jsonschema
    except ImportError:
        return "jsonschema is not installed"
    schema = json_schema(contract)
    jsonschema.Draft202012Validator.check_schema(schema)
    iter_errors = jsonschema.Draft202012Validator(schema).iter_errors
    return Tool(
        "jsonschema Draft202012Validator",
        lambda record: list(iter_errors(record)),
        "every error (iter_errors)",
    )


def fastjsonschema_tool(contract: Contract) -> Tool | str:
    try:
        import fastjsonschema
    except ImportError:
        return "fastjsonschema is not installed"
    check = fastjsonschema.compile(json_schema(contract))
    failure = fastjsonschema.JsonSchemaValueException

    def validate(record: Record) -> Any:
        try:
            check(record)
        except failure as exc:
            return [exc]
        return None

    return Tool("fastjsonschema (compiled)", validate, "first error only")


# --- measuring --------------------------------------------------------------------------


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (os.sched_setaffinity is not available on this platform)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu} with os.sched_setaffinity"


def run_once(tool: Tool, records: list[Record]) -> tuple[float, list[Any]]:
    gc.collect()
    check = tool.validate
    start = time.perf_counter()
    results = [check(r) for r in records] if tool.per_record else check(records)  # type: ignore[arg-type]
    return time.perf_counter() - start, results


def invalid_flags(results: list[Any]) -> list[bool]:
    return [bool(r) for r in results]


# --- the report -------------------------------------------------------------------------


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
                info[key.strip()] = value.strip()
    except (OSError, subprocess.CalledProcessError):
        info["Model name"] = platform.processor() or "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["RAM"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        info["RAM"] = "unknown"
    info["Python"] = f"{platform.python_implementation()} {platform.python_version()}"
    info["OS"] = platform.platform()
    return info


def versions() -> str:
    out = []
    for package in ("postpilot", "pydantic", "pydantic-core", "jsonschema", "fastjsonschema"):
        try:
            out.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{package} (not installed)")
    return ", ".join(out)


def render(
    *,
    args: argparse.Namespace,
    tools: list[Tool],
    skipped: list[str],
    times: dict[str, list[float]],
    flags: dict[str, list[bool]],
    faults: list[str | None],
    pinning: str,
    load: tuple[float, float, float],
) -> str:
    n = len(faults)
    rate = {t.name: n / statistics.median(times[t.name]) for t in tools}
    base = rate[tools[0].name]
    mach = machine()
    command = (
        "bench/.venv-validate/bin/python bench/validate_records.py "
        f"--records {n} --runs {args.runs} --seed {args.seed}"
    )
    lines = [
        "## Single-record validation (`bench/validate_records.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. One core ({pinning}; "
        "`POLARS_MAX_THREADS=1`, `OMP_NUM_THREADS=1`).",
        "",
        f"- Machine: {mach.get('Model name', 'unknown')}, {mach.get('CPU(s)', '?')} CPUs "
        f"({mach.get('Thread(s) per core', '?')} thread(s) per core), RAM {mach.get('RAM', '?')}",
        f"- {mach['Python']} on {mach['OS']}",
        f"- Packages: {versions()}",
        f"- Load average when the run started: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
        f"(on {os.cpu_count()} CPUs; other work on the machine adds noise to every tool alike, "
        "since runs are interleaved)",
        "",
        f"Workload: a 20-field contract (10 float with ranges, 5 int with ranges, 5 categorical "
        f"strings with 5, 8, 12, 16 and 20 categories, none nullable); {n:,} records, "
        f"{sum(f is None for f in faults) / n:.0%} valid, the rest with one broken field "
        f"(kinds: {', '.join(FAULTS)}). Each tool validates every record, one call per record, "
        f"and collects the errors; median of {args.runs} runs.",
        "",
        "Reproduce (from the repository root):",
        "",
        "```",
        "python3 -m venv bench/.venv-validate",
        "bench/.venv-validate/bin/pip install -e . jsonschema fastjsonschema",
        command,
        "```",
        "",
        "| tool | records/s (median) | min .. max of runs | ratio vs postpilot | reports |",
        "|---|---:|---:|---:|---|",
    ]
    for tool in tools:
        runs = [n / t for t in times[tool.name]]
        lines.append(
            f"| {tool.name} | {rate[tool.name]:,.0f} | {min(runs):,.0f} .. {max(runs):,.0f} "
            f"| {rate[tool.name] / base:.2f}x | {tool.note} |"
        )
    for reason in skipped:
        lines.append(f"| skipped: {reason} | | | | |")
    met = rate[tools[0].name] >= TARGET
    lines += [
        "",
        f"**Target (at least {TARGET:,} records/s on one core): "
        f"{'met' if met else 'NOT met'}**, {rate[tools[0].name]:,.0f} records/s "
        f"({rate[tools[0].name] / TARGET:.1f}x the target).",
        "",
        "### Agreement on which records are invalid",
        "",
        "Every tool's valid/invalid verdict per record, compared with postpilot's "
        "(and postpilot's with the fault the generator put in).",
        "",
    ]
    truth = [f is not None for f in faults]
    ours = flags[tools[0].name]
    lines.append(
        f"- postpilot vs the generator: {sum(a == b for a, b in zip(ours, truth, strict=True)):,}"
        f" of {n:,} records agree."
    )
    for tool in tools[1:]:
        theirs = flags[tool.name]
        agree = sum(a == b for a, b in zip(ours, theirs, strict=True))
        differ: Counter[str] = Counter()
        for fault, a, b in zip(faults, ours, theirs, strict=True):
            if a != b:
                verdict = "accepted" if not b else "rejected"
                differ[f"{fault or 'valid record'} ({verdict} by {tool.name.split()[0]})"] += 1
        detail = "; ".join(f"{k}: {v:,}" for k, v in sorted(differ.items())) or "none"
        lines.append(f"- {tool.name}: {agree:,} of {n:,} agree. Disagreements: {detail}.")
    lines += [
        "",
        "JSON Schema (both `jsonschema` and `fastjsonschema`) counts `7.0` as an integer and "
        "has no notion of NaN (`NaN < minimum` is false), so it accepts those two faults; "
        "postpilot and pydantic's strict mode reject them.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bad-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument(
        "--output", type=Path, default=BENCH / "results" / "validation.md", help="section file"
    )
    parser.add_argument("--no-report", action="store_true", help="do not run report.py")
    args = parser.parse_args(argv)

    pinning = pin_to_one_core()
    load = os.getloadavg()
    contract = build_contract(args.seed)
    records, faults = generate(contract, args.records, args.bad_share, args.seed)

    tools = postpilot_tools(contract)
    skipped: list[str] = []
    for make in (pydantic_tool, jsonschema_tool, fastjsonschema_tool):
        tool = make(contract)
        if isinstance(tool, str):
            skipped.append(tool)
            print(f"skipped: {tool}")
        else:
            tools.append(tool)

    times: dict[str, list[float]] = {t.name: [] for t in tools}
    flags: dict[str, list[bool]] = {}
    for run in range(args.runs):
        for tool in tools:
            elapsed, results = run_once(tool, records)
            times[tool.name].append(elapsed)
            flags.setdefault(tool.name, invalid_flags(results))
            print(f"run {run + 1}/{args.runs} {tool.name}: {len(records) / elapsed:,.0f} records/s")
            del results

    text = render(
        args=args,
        tools=tools,
        skipped=skipped,
        times=times,
        flags=flags,
        faults=faults,
        pinning=pinning,
        load=load,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.output}")
    if not args.no_report:
        subprocess.run([sys.executable, str(BENCH / "report.py")], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
