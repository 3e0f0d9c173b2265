"""Turn a drift report's profiles into chunk rows for the store."""

from __future__ import annotations

from typing import Any

from postpilot.monitoring.results import DriftReport
from postpilot.registry.monitoring import StoredChunk

__all__ = ["stored_chunks"]


def _text(value: Any) -> str | None:
    return (
        None
        if value is None
        else (value.isoformat() if hasattr(value, "isoformat") else str(value))
    )


def stored_chunks(report: DriftReport) -> list[StoredChunk]:
    """The reference profile and every analysis chunk's profile, serialized."""
    out = []
    if report.profiles is not None:
        out.append(
            StoredChunk(
                "reference", "all", None, None, report.reference_rows, report.profiles[0].to_bytes()
            )
        )
    for chunk, profile in zip(report.chunks, report.chunk_profiles, strict=True):
        out.append(
            StoredChunk(
                "analysis",
                chunk.key,
                _text(chunk.start),
                _text(chunk.end),
                chunk.rows,
                profile.to_bytes(),
            )
        )
    return out
