"""What the multivariate detector's fit cap costs: per-chunk errors and alerts with the
PCA fitted on a capped sample of the reference against the PCA fitted on all of it.

``run_drift`` fits the PCA on a seeded uniform sample of at most ``FIT_ROWS`` reference
rows (``postpilot.monitoring.multivariate``) and measures every current row with it.
This script runs ``run_drift`` with the cap lowered (several sample seeds) and with it
raised above the reference's size (no cap), on the same data and chunks, and reports
how far each chunk's value moves, against the band's half-width, and whether any alert
changes.

- NannyML's synthetic car loan data (50,000 reference rows, 50,000 analysis rows,
  the 7 inputs of ``tests/realdata.py``, ``chunk_size=5000``): caps of 5,000 to
  20,000 rows against all 50,000, 5 sample seeds each;
- optionally (``--reference``/``--current``, Parquet files such as the drift
  benchmark's 20 columns), the default cap of 100,000 rows against no cap, 10 chunks.

Usage::

    .venv/bin/python bench/multivariate_cap.py [--reference R.parquet --current C.parquet]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
RESULTS = BENCH / "results" / "multivariate-cap.md"


def _run(reference: Any, current: Any, options: Any, cap: int, seed: int) -> Any:
    from postpilot.monitoring import multivariate
    from postpilot.monitoring.run import run_drift

    defaults = multivariate.RowSampler.__init__.__kwdefaults__
    assert defaults is not None
    saved = multivariate.FIT_ROWS, multivariate.FIT_CELLS, defaults["seed"]
    multivariate.FIT_ROWS = cap
    multivariate.FIT_CELLS = 10**15  # the row cap alone
    defaults["seed"] = seed
    try:
        return run_drift(reference, current, options)
    finally:
        multivariate.FIT_ROWS, multivariate.FIT_CELLS, defaults["seed"] = saved


def _place(mv: Any) -> float:
    """Where the value lies in its band: 0 at the middle, 1 or -1 at an edge."""
    half = (mv.upper - mv.lower) / 2
    return float((mv.value - (mv.upper + mv.lower) / 2) / half) if half > 0 else float("nan")


def _compare(full: Any, capped: Any) -> dict[str, float | bool]:
    """Largest per-chunk change of the value, absolute and relative; of its place in
    its band (value minus the band's middle, in half-widths: 1 is the edge, where an
    alert starts), and whether the alerts are the same."""
    moved, relative, in_bands = 0.0, 0.0, 0.0
    for a, b in zip(
        [*full.reference_chunks, *full.chunks],
        [*capped.reference_chunks, *capped.chunks],
        strict=True,
    ):
        if a.multivariate is None or b.multivariate is None:
            continue
        delta = abs(b.multivariate.value - a.multivariate.value)
        moved = max(moved, delta)
        relative = max(relative, delta / abs(a.multivariate.value))
        if abs(_place(a.multivariate)) <= 2:  # near the band: where the cap could flip an alert
            in_bands = max(in_bands, abs(_place(b.multivariate) - _place(a.multivariate)))
    return {
        "moved": moved,
        "relative": relative,
        "bands": in_bands,
        "same_alerts": full.multivariate_alerts == capped.multivariate_alerts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--current", type=Path)
    args = parser.parse_args()

    import polars as pl
    from tests.realdata import CAR_LOAN_INPUTS, nannyml_table

    from postpilot.monitoring.run import DriftOptions

    started = time.perf_counter()
    load = os.getloadavg()
    reference, analysis = nannyml_table("synthetic_car_loan_dataset")
    reference, analysis = reference.select(CAR_LOAN_INPUTS), analysis.select(CAR_LOAN_INPUTS)
    options = DriftOptions(chunk_size=5000)
    full = _run(reference, analysis, options, 10**9, 0)
    rows = [
        "| data | reference rows | cap (rows fitted on) | seeds | largest change of a chunk's "
        "value | relative | largest move of its place in the band, chunks within 2 "
        "half-widths of the middle | alerts as "
        "without the cap |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    print("car loan alerts without cap:", full.multivariate_alerts, file=sys.stderr)
    for cap in (5_000, 10_000, 20_000):
        found = [_compare(full, _run(reference, analysis, options, cap, s)) for s in range(5)]
        same = sum(bool(f["same_alerts"]) for f in found)
        rows.append(
            f"| car loan, `chunk_size=5000` | {reference.height:,} | {cap:,} | 5 | "
            f"{max(float(f['moved']) for f in found):.4f} | "
            f"{max(float(f['relative']) for f in found):.2%} | "
            f"{max(float(f['bands']) for f in found):.2f} | {same} of 5 |"
        )
        print(rows[-1], file=sys.stderr)
    if args.reference and args.current:
        big = DriftOptions(chunk_number=10)
        ref_rows = pl.scan_parquet(args.reference).select(pl.len()).collect().item()
        uncapped = _run(args.reference, args.current, big, 10**9, 0)
        capped = _run(args.reference, args.current, big, 100_000, 0)
        found = _compare(uncapped, capped)
        rows.append(
            f"| drift benchmark's 20 columns (`{args.reference.name}`), `chunk_number=10` | "
            f"{ref_rows:,} | 100,000 (the default) | 1 | {float(found['moved']):.4f} | "
            f"{float(found['relative']):.2%} | {float(found['bands']):.2f} | "
            f"{'yes' if found['same_alerts'] else 'no'} |"
        )
        print(rows[-1], file=sys.stderr)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = ".venv/bin/python bench/multivariate_cap.py" + (
        f" --reference {args.reference} --current {args.current}" if args.reference else ""
    )
    text = "\n".join(
        [
            "## Multivariate drift: what the fit cap costs (`bench/multivariate_cap.py`)",
            "",
            f"Measured {stamp}, {time.perf_counter() - started:.0f} s in all; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
            f"average at the start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (shared machine).",
            "",
            "Reproduce (from the repository root):",
            "",
            "```",
            command,
            "```",
            "",
            *(
                [
                    "The `--reference`/`--current` files: 1M rows of the drift benchmark's "
                    "20 columns (`generate_chunk` of `bench/profile_bench.py`, the current set "
                    "with `drift_chunk`'s five planted drifts from `bench/drift_bench.py`), "
                    "written as Parquet.",
                    "",
                ]
                if args.reference
                else []
            ),
            "`run_drift` fits the PCA on a seeded uniform sample of at most `FIT_ROWS` "
            "(100,000) reference rows and measures every row of the data with it. Each row "
            "compares a run with a lower cap (seeds: the sampler's seed) with the run "
            "without a cap (fitted on every reference row), same data and chunks: the "
            "largest change of any chunk's value (reference and analysis chunks), that "
            "change relative to the value, the largest move of a chunk's place in its band "
            "(value minus the band's middle, in half-widths of the band: 1 is the edge where "
            "an alert starts; the band moves with the model, so this, not the value, decides "
            "alerts), over the chunks within 2 half-widths of the middle without the cap "
            "(a drifted chunk 50 half-widths above the band stays far above it); then "
            "whether the chunks that alert are the same.",
            "",
            *rows,
            "",
        ]
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
