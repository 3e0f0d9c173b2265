"""Seeded test data shaped like a CRM export, and the migrations that break it."""

from __future__ import annotations

import numpy as np
import polars as pl

STAGES = ["won", "lost", "open", "negotiation"]


def crm(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    discount = pl.Series("discount", rng.random(n) * 0.3)
    discount = discount.scatter(np.flatnonzero(rng.random(n) < 0.05), None)
    return pl.DataFrame(
        {
            "account_id": [f"A{i:08d}" for i in rng.choice(50_000_000, n, replace=False)],
            "amount_usd": np.round(rng.lognormal(8, 1, n), 2),
            "stage": rng.choice(STAGES, n, p=[0.3, 0.3, 0.3, 0.1]),
            "region": rng.choice(["EU", "US", "APAC"], n),
            "employees": rng.integers(1, 5000, n),
            "close_prob": rng.beta(2, 5, n),
            "discount": discount,
        }
    )


def migrated(n: int, seed: int) -> pl.DataFrame:
    """The CRM migration: two fields renamed, dollars to cents, a new stage."""
    frame = crm(n, seed).rename({"amount_usd": "amount", "close_prob": "win_probability"})
    return frame.with_columns(
        (pl.col("amount") * 100).round().cast(pl.Int64),
        pl.when(pl.int_range(pl.len()) % 10 == 0)
        .then(pl.lit("closed_won"))
        .otherwise(pl.col("stage"))
        .alias("stage"),
    )
