"""Seeded data with planted drift, for the drift runner's tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

DRIFTED = ["f0", "f1", "i0", "c0", "c1"]


def frame(
    rows: int, seed: int, *, drift: bool = False, start: datetime | None = None
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(6):
        data[f"f{i}"] = rng.normal(10.0, 2.0, rows)
    data["f0"] = rng.normal(10.0 + (1.0 if drift else 0.0), 2.0, rows)  # mean + 0.5 sd
    data["f1"] = rng.normal(10.0, 2.0 * (1.6 if drift else 1.0), rows)  # wider
    for i in range(3):
        data[f"i{i}"] = rng.integers(0, 50, rows)
    if drift:
        data["i0"] = rng.integers(10, 60, rows)
    shares = [0.5, 0.3, 0.2]
    for i in range(3):
        p = shares
        if drift and i == 0:
            p = [0.25, 0.35, 0.4]
        data[f"c{i}"] = rng.choice(["x", "y", "z"], rows, p=p)
    if drift:
        data["c1"] = rng.choice(["x", "y", "z", "new"], rows, p=[0.35, 0.25, 0.2, 0.2])
    begin = start or datetime(2026, 1, 5)
    data["ts"] = [begin + timedelta(minutes=10 * k) for k in range(rows)]
    return pl.DataFrame(data)


def correlated(rows: int, seed: int, *, flipped: bool = False) -> pl.DataFrame:
    """Two features whose relation flips sign while each marginal stays the same."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = (-a if flipped else a) + rng.normal(scale=0.2, size=rows)
    return pl.DataFrame({"a": a, "b": b, "noise": rng.normal(size=rows)})
