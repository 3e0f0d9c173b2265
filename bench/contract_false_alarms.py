"""Measure the contract check's false-alarm rate on clean resamples.

A contract is inferred from a training set; fresh samples drawn from the same
generating distribution (new seeds, several batch sizes) are checked against
it. Any error-severity finding on such a sample is a false alarm. Writes
bench/results/contracts-false-alarms.md.

    .venv/bin/python bench/contract_false_alarms.py [--samples 300]
"""

from __future__ import annotations

import argparse
import collections
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.contracts.data import crm  # noqa: E402

from postpilot.contracts import check_contract, infer_contract  # noqa: E402
from postpilot.profiles import profile  # noqa: E402

SIZES = (100, 1_000, 10_000, 50_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=300, help="resamples per batch size")
    parser.add_argument("--train-rows", type=int, default=50_000)
    args = parser.parse_args()
    contract = infer_contract(profile(crm(args.train_rows, seed=1)), name="crm")
    started = time.perf_counter()
    errors: dict[int, int] = collections.Counter()
    warnings: dict[int, int] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for size in SIZES:
        for i in range(args.samples):
            result = check_contract(contract, crm(size, seed=1_000 + 10_000 * size + i))
            errors[size] += bool(result.errors)
            warnings[size] += any(f.severity.value == "warning" for f in result.findings)
            kinds.update(f"{f.kind.value} ({f.severity.value})" for f in result.findings)
    elapsed = time.perf_counter() - started
    total = args.samples * len(SIZES)
    lines = [
        "## Contract check: false alarms on clean resamples",
        "",
        f"Command: `.venv/bin/python bench/contract_false_alarms.py --samples {args.samples}` "
        f"({elapsed:.0f} s on {platform.machine()}, Python {platform.python_version()}).",
        "",
        f"Contract inferred from {args.train_rows:,} rows of the CRM-shaped test data "
        "(`tests/contracts/data.py`: an identifier, a log-normal amount, a beta probability, "
        "integers, three categorical columns, 5% nulls in one column); each resample is a "
        "fresh draw from the same distributions with a new seed.",
        "",
        "| batch rows | resamples | with an error finding (false alarm) | with a warning |",
        "|---:|---:|---:|---:|",
    ]
    for size in SIZES:
        lines.append(
            f"| {size:,} | {args.samples} | {errors[size]} "
            f"({errors[size] / args.samples:.2%}) | {warnings[size]} |"
        )
    false_alarms = sum(errors.values())
    lines += ["", f"False-alarm rate: {false_alarms}/{total} = {false_alarms / total:.3%}.", ""]
    if kinds:
        lines.append(
            "Findings seen: " + ", ".join(f"{k}: {n}" for k, n in kinds.most_common()) + "."
        )
        lines.append("")
    out = HERE / "results" / "contracts-false-alarms.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
