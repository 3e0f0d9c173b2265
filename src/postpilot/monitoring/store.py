"""Turn a drift report's profiles into chunk rows for the store, and back.

Stored per run: the reference profile (period ``reference``), each reference
chunk's profile when bands were used (``reference_chunk``) and each analysis
chunk's profile (``analysis``). :func:`load_history` gathers every drift run
of a product into the inputs of ``drift_from_profiles``: drift over a year of
daily chunks without reading a row of raw data again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from postpilot.errors import NotFoundError
from postpilot.monitoring.chunked import ChunkProfile
from postpilot.monitoring.chunking import Chunk
from postpilot.monitoring.results import DriftReport
from postpilot.profiles import Profile
from postpilot.registry import Registry
from postpilot.registry.monitoring import StoredChunk

__all__ = ["History", "load_history", "stored_chunks"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")


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
    for chunk, profile in zip(
        report.reference_chunks, report.reference_chunk_profiles, strict=False
    ):
        out.append(
            StoredChunk(
                "reference_chunk",
                chunk.key,
                _text(chunk.start),
                _text(chunk.end),
                chunk.rows,
                profile.to_bytes(),
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


@dataclass(frozen=True)
class History:
    reference: Profile
    reference_chunks: list[ChunkProfile]
    chunks: list[ChunkProfile]
    runs: list[int]
    chunk_runs: dict[str, int] = field(default_factory=dict)
    """The run each chunk comes from, by chunk key."""


def load_history(reg: Registry, product: str) -> History:
    """Every stored drift run of ``product``, as one series of chunks.

    The reference (and its chunks) is the latest run's. Chunks keyed by date
    (period chunking) are merged across runs, a later run replacing an earlier
    one's chunk of the same day; row chunks are keyed ``RUN/KEY``.
    """
    runs = reg.monitoring_runs(product, kind="drift")
    if not runs:
        raise NotFoundError(
            f"product {product!r} has no stored drift runs",
            field="product",
            hint=f"Run `postpilot drift REFERENCE CURRENT --product {product}` first",
        )
    chunks: dict[str, ChunkProfile] = {}
    chunk_runs: dict[str, int] = {}
    reference: Profile | None = None
    reference_chunks: list[ChunkProfile] = []
    for run in runs:
        stored = reg.monitoring_chunks(run.id)
        ref = [c for c in stored if c.period == "reference"]
        if ref:
            reference = Profile.from_bytes(ref[0].profile)
            reference_chunks = [_chunk(c.key, c) for c in stored if c.period == "reference_chunk"]
        for c in stored:
            if c.period == "analysis":
                key = c.key if _DATE.match(c.key) else f"{run.id}/{c.key}"
                chunks[key] = _chunk(key, c)
                chunk_runs[key] = run.id
    assert reference is not None  # every stored drift run has its reference
    dated = sorted((c for k, c in chunks.items() if _DATE.match(k)), key=lambda c: c.chunk.key)
    ordered = dated + [c for k, c in chunks.items() if not _DATE.match(k)]
    return History(reference, reference_chunks, ordered, [r.id for r in runs], chunk_runs)


def _chunk(key: str, stored: StoredChunk) -> ChunkProfile:
    return ChunkProfile(
        Chunk(key=key, start=stored.start, end=stored.end, rows=stored.rows),
        Profile.from_bytes(stored.profile),
    )
