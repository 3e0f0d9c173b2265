"""Write a scored binary classifier's outputs as Parquet, in row groups, for scale runs.

Not a test: ``python tests/performance/scored_data.py ROWS OUT.parquet [--seed N]
[--shift-from ROW]`` writes ``ROWS`` rows, one row group of ``GROUP_ROWS`` at a time
(memory stays at one group), of a calibrated model: the label is 1 with exactly the
score's probability, so CBPE's estimate should equal the realized value. Columns:
``pid`` (prediction id, int64), ``ts`` (one row a second from 2026-01-01), ``x0..x4``
(inputs), ``score`` (probability of class 1), ``pred`` (score >= 0.5) and ``y``.
From row ``--shift-from`` on, the inputs move toward the region where the model is
unsure (its ROC AUC falls), which the estimate must follow.

Used by ``postpilot estimate`` memory measurements (see docs/performance.md,
"Memory and the reference sample") and reusable by the scale benchmark.
"""

from __future__ import annotations

import argparse
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GROUP_ROWS = 1_000_000


def group(rng: np.random.Generator, first: int, rows: int, shift_from: int | None) -> pa.Table:
    index = np.arange(first, first + rows, dtype=np.int64)
    x = rng.normal(0.0, 1.0, (rows, 5))
    signal = x[:, 0] + 0.5 * x[:, 1]
    if shift_from is not None:
        signal = np.where(index >= shift_from, signal * 0.3, signal)
    score = 1.0 / (1.0 + np.exp(-2.0 * signal))
    y = (rng.random(rows) < score).astype(np.int64)
    start = np.datetime64(datetime(2026, 1, 1), "s")
    columns: dict[str, object] = {
        "pid": index,
        "ts": start + index.astype("timedelta64[s]"),
        **{f"x{j}": x[:, j] for j in range(5)},
        "score": score,
        "pred": (score >= 0.5).astype(np.int64),
        "y": y,
    }
    return pa.table(columns)


def write(rows: int, path: str, seed: int = 0, shift_from: int | None = None) -> None:
    rng = np.random.default_rng(seed)
    writer: pq.ParquetWriter | None = None
    try:
        for first in range(0, rows, GROUP_ROWS):
            table = group(rng, first, min(GROUP_ROWS, rows - first), shift_from)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=GROUP_ROWS)
    finally:
        if writer is not None:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shift-from", type=int, default=None)
    args = parser.parse_args()
    write(args.rows, args.out, args.seed, args.shift_from)


if __name__ == "__main__":
    main()
