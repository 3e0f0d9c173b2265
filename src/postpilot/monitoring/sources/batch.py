"""A batch of new data, and what every batch source does."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = ["KEY_LENGTH", "Batch", "BatchSource"]

KEY_LENGTH: Final = 300
"""The longest key a batch has (what the store keeps)."""


@dataclass(frozen=True)
class Batch:
    """New data to monitor: ``data`` is what postpilot's readers take (a path string,
    or an :class:`~postpilot.profiles.sql.SQLSource`)."""

    key: str
    """Unique within its source, at most 300 characters; stored once processed."""
    label: str
    """For people: the path, or the query with its watermark range."""
    data: object
    watermark: str | None
    """SQL: the batch's upper watermark, serialized (store it once processed)."""
    modified: datetime | None
    """Files: the modification time, in UTC."""


class BatchSource:
    """What every source does: list the batches not processed yet."""

    def pending(self, done: Collection[str], watermark: str | None) -> list[Batch]:
        """The batches whose keys are not in ``done`` (and, for SQL, whose rows lie
        above ``watermark``), oldest first."""
        raise NotImplementedError


def short_key(text: str, limit: int = KEY_LENGTH) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and a hash of it."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[: limit - len(digest) - 1]}#{digest}"
