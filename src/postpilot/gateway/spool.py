"""The spool: where log records go when the store cannot take them, until it can.

When the metadata store is unreachable, the gateway keeps acknowledging requests
only because each record is first made durable here: appended to a local segment
file and fsynced before the request is answered. When the store is back, the
segments are replayed into it; inserts are idempotent by the rows' ids
(predictions and quarantined records carry time-sorted unique ids), so a replay
that is interrupted and repeated stores each row once.

**Format.** A segment is a sequence of records, each::

    magic b"PPS1" | length (4 bytes, big-endian) | CRC32 of the payload (4 bytes) | payload

where the payload is UTF-8 JSON: ``{"table": "predictions", "rows": [...]}``.
A record whose magic, length or checksum is wrong (a torn write at a crash, a
flipped bit) is set aside into ``corrupt/`` with a warning, never retried in a
loop; the records after it are still replayed when the magic can be found again.

**Segments.** Each writer (process) appends to its own segment, named with its
pid and start time, and holds an exclusive ``flock`` on it while it writes. A
replayer, in any process, replays only segments it can lock: a closed segment,
or one whose writer died. A writer starts a new segment after each replay round,
so its earlier records become replayable.

If a record cannot be written (disk full, folder unwritable), :meth:`Spool.append`
raises :class:`SpoolError`, and the gateway answers 503 rather than acknowledge a
prediction it has not recorded.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> spool = Spool(folder)
>>> spool.append("predictions", [{"id": "pr_1", "inputs": "{}"}])
>>> spool.close_segment()
>>> [(t, rows) for t, rows in spool.replayable_records(spool.segments()[0])]
[('predictions', [{'id': 'pr_1', 'inputs': '{}'}])]
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from postpilot.errors import PostpilotError

__all__ = ["MAGIC", "Spool", "SpoolError"]

log = logging.getLogger("postpilot.gateway")

MAGIC: Final = b"PPS1"
_HEADER: Final = struct.Struct(">4sII")
MAX_RECORD: Final = 64 * 1024 * 1024


class SpoolError(PostpilotError):
    """A record could not be made durable in the spool (disk full, folder unwritable)."""


class Spool:
    """Append-only, fsynced, checksummed segments in ``folder``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._path: Path | None = None

    # -- writing -------------------------------------------------------------------------

    def _open(self) -> BinaryIO:
        if self._file is None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                name = f"segment-{os.getpid()}-{time.time_ns():020d}.spool"
                path = self.folder / name
                handle = path.open("ab")
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                _fsync_folder(self.folder)
            except OSError as exc:
                raise SpoolError(
                    f"cannot open a spool segment in {self.folder}: {exc.strerror or exc}",
                    file=str(self.folder),
                ) from exc
            self._file, self._path = handle, path
        return self._file

    def append(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append one record and fsync it; SpoolError when it is not durable."""
        payload = json.dumps({"table": table, "rows": rows}, default=str).encode()
        record = _HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            handle = self._open()
            try:
                handle.write(record)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                self._abandon()
                raise SpoolError(
                    f"cannot write to the spool in {self.folder}: {exc.strerror or exc}",
                    file=str(self.folder),
                ) from exc

    def _abandon(self) -> None:
        """After a failed write the segment may hold a torn record: close it (replay sets
        the torn tail aside) and start a new one next time."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = self._path = None

    def close_segment(self) -> None:
        """Close the current segment (its lock goes with it), making it replayable."""
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file = self._path = None

    @property
    def writing(self) -> bool:
        return self._file is not None

    # -- replaying -----------------------------------------------------------------------

    def segments(self) -> list[Path]:
        """Every segment in the folder, oldest first (its own open one included)."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("segment-*.spool"), key=lambda p: p.name.split("-")[-1])

    def pending(self) -> int:
        """How many segments wait for replay (the open one included)."""
        return len(self.segments())

    def claim(self, segment: Path) -> BinaryIO | None:
        """The segment opened and locked for replay; None when its writer holds it."""
        if self._path is not None and segment == self._path:
            return None
        try:
            handle = segment.open("rb")
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        if not segment.exists():  # replayed and removed by another process meanwhile
            handle.close()
            return None
        return handle

    def read(self, segment: Path) -> list[tuple[str, list[dict[str, Any]]]] | None:
        """The segment's good records (bad ones are set aside with a warning); None when
        it cannot be claimed (its writer holds it, or it is gone)."""
        handle = self.claim(segment)
        if handle is None:
            return None
        with handle:
            data = handle.read()
        return list(self._records(segment, data))

    def replayable_records(self, segment: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """:meth:`read`, as an iterator (nothing when the segment cannot be claimed)."""
        yield from self.read(segment) or []

    def _records(self, segment: Path, data: bytes) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        at = 0
        while at < len(data):
            problem, record, size = _read_record(data, at)
            if problem is None and record is not None:
                yield record
                at += size
                continue
            found = data.find(MAGIC, at + 1)
            end = len(data) if found < 0 else found
            self._set_aside(segment, at, data[at:end], problem or "unreadable")
            at = end

    def _set_aside(self, segment: Path, offset: int, raw: bytes, problem: str) -> None:
        corrupt = self.folder / "corrupt"
        corrupt.mkdir(parents=True, exist_ok=True)
        target = corrupt / f"{segment.name}.{offset}.bad"
        target.write_bytes(raw)
        log.warning(
            "spool: set aside %d bytes at offset %d of %s (%s) in %s",
            len(raw),
            offset,
            segment.name,
            problem,
            target,
        )

    def remove(self, segment: Path) -> None:
        segment.unlink(missing_ok=True)
        _fsync_folder(self.folder)


def _read_record(data: bytes, at: int) -> tuple[str | None, Any, int]:
    """(problem, (table, rows), size) of the record at ``at``."""
    if len(data) - at < _HEADER.size:
        return "a torn record header at the end", None, 0
    magic, length, checksum = _HEADER.unpack_from(data, at)
    if magic != MAGIC:
        return "no record marker", None, 0
    if length > MAX_RECORD or at + _HEADER.size + length > len(data):
        return "a torn or oversized record", None, 0
    payload = data[at + _HEADER.size : at + _HEADER.size + length]
    if zlib.crc32(payload) != checksum:
        return "a checksum mismatch", None, 0
    try:
        parsed = json.loads(payload)
        table, rows = parsed["table"], parsed["rows"]
    except (ValueError, KeyError, TypeError):
        return "a payload that is not a spool record", None, 0
    if not isinstance(table, str) or not isinstance(rows, list):
        return "a payload that is not a spool record", None, 0
    return None, (table, rows), _HEADER.size + length


def _fsync_folder(folder: Path) -> None:
    """Make a file's creation or removal in ``folder`` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
