"""A batch of new data, and what every batch source does."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    from postpilot.monitoring.sources.gateway import GatewayWindow

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
    window: GatewayWindow | None = None
    """Gateway: what else the gateway saw in the batch's window (refused records,
    fallbacks, latency); None for other sources."""


class BatchSource:
    """What every source does: list the batches not processed yet, and release what
    its batches hold (:meth:`close`; also a context manager)."""

    def pending(self, done: Collection[str], watermark: str | None) -> list[Batch]:
        """The batches whose keys are not in ``done`` (and, for SQL, whose rows lie
        above ``watermark``), oldest first."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the listed batches hold (temporary files); they are unusable after.
        Nothing to do for sources whose batches point at data that lives elsewhere."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def short_key(text: str, limit: int = KEY_LENGTH) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and a hash of it."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[: limit - len(digest) - 1]}#{digest}"
