"""Models the gateway's tests serve, importable so joblib can pickle them by reference."""

from __future__ import annotations

from typing import Any

CALLS: dict[str, int] = {"calls": 0, "records": 0}


def counting_model(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Says ``big`` when the mean radius is over 15; counts every call and record."""
    CALLS["calls"] += 1
    CALLS["records"] += len(records)
    return [{"prediction": "big" if r["mean_radius"] > 15 else "small"} for r in records]


def failing_model(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raise RuntimeError("the model fell over")


def churn_rule(records: list[dict[str, Any]]) -> list[Any]:
    """A business rule the model replaced: a fallback of kind ``rule``."""
    return ["rule-big" if r["mean_radius"] > 17 else "rule-small" for r in records]
