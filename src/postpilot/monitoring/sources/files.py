"""Files as batches: a Parquet or CSV file, a folder or a glob, one batch per file.

A batch's key is the file's resolved path, size and modification time (in
nanoseconds), so a file changed after it was processed is processed again.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from postpilot.errors import InputError
from postpilot.monitoring.sources.batch import KEY_LENGTH, Batch, BatchSource, short_key
from postpilot.profiles.readers import CSV_SUFFIXES, PARQUET_SUFFIXES

__all__ = ["FORMATS", "FileSource"]

FORMATS: Final = {
    "auto": PARQUET_SUFFIXES + CSV_SUFFIXES,
    "parquet": PARQUET_SUFFIXES,
    "csv": CSV_SUFFIXES,
}
"""The ``format`` values of a file source and the file names each takes."""
_GLOB = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")


def _natural(path: str) -> tuple[list[Any], str]:
    """Sort key: runs of digits compare as numbers, so ``day2`` < ``day10``."""
    parts = _DIGITS.split(path)
    return [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)], path


class FileSource(BatchSource):
    """A Parquet or CSV file, a folder (its ``*.parquet`` and ``*.csv`` files, not its
    sub-folders) or a glob (``data/*.parquet``, ``data/**/*.csv``).

    ``format`` keeps only Parquet (``parquet``) or CSV (``csv``) files; ``auto`` takes
    both. Files modified in the last ``settle`` seconds are left for the next pass:
    they may still be being written. A glob that matches nothing, or a named file
    that does not exist yet, is no new data; a folder that does not exist is an
    InputError naming the path.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: str = "auto",
        base_dir: Path | None = None,
        settle: float = 0.0,
    ) -> None:
        if format not in FORMATS:
            raise InputError(
                f"unknown file format {format!r}",
                field="source.format",
                hint=f"Use one of: {', '.join(FORMATS)}",
            )
        text = os.fspath(path)
        if not text.strip():
            raise InputError("the source path is empty", field="source.path")
        self.path = Path(base_dir or Path.cwd()) / Path(text).expanduser()
        self.format = format
        self.settle = settle
        self._suffixes = FORMATS[format]

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, format={self.format!r})"

    def _wanted(self, path: Path) -> bool:
        return path.name.lower().endswith(self._suffixes)

    def _missing_folder(self, folder: Path) -> InputError:
        return InputError(
            f"the folder {str(folder)!r} does not exist",
            field="source.path",
            file=str(self.path),
            hint="Create it, or fix the source's path (a relative path is read from the "
            "policy file's folder)",
        )

    def files(self) -> list[Path]:
        """Every file the source names now, resolved, in natural order."""
        text = str(self.path)
        if _GLOB.search(text):
            parts = self.path.parts
            first = next(i for i, p in enumerate(parts) if _GLOB.search(p))
            folder = Path(*parts[:first])
            if not folder.is_dir():
                raise self._missing_folder(folder)
            found = [p for p in folder.glob("/".join(parts[first:])) if self._listed(p, folder)]
        elif self.path.is_dir():
            found = [p for p in self.path.iterdir() if self._listed(p, self.path)]
        else:
            if not self.path.exists() and not self.path.suffix:
                raise self._missing_folder(self.path)  # a folder that is not there (yet)
            if not self._wanted(self.path):
                kinds = ", ".join(self._suffixes)
                what = "Parquet or CSV" if self.format == "auto" else self.format
                raise InputError(
                    f"{self.path.name!r} is not a {what} file",
                    field="source.path",
                    file=text,
                    hint=f"Name a file ending in {kinds}, a folder or a glob",
                )
            if not self.path.parent.is_dir():
                raise self._missing_folder(self.path.parent)
            found = [self.path] if self.path.is_file() else []  # not there yet: no new data
        resolved = {str(p.resolve()) for p in found}
        return [Path(p) for p in sorted(resolved, key=_natural)]

    def _listed(self, path: Path, folder: Path) -> bool:
        """A supported file, not hidden, in no hidden folder below ``folder``."""
        hidden = any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)
        return not hidden and self._wanted(path) and path.is_file()

    def pending(self, done: Collection[str], watermark: str | None = None) -> list[Batch]:
        """Every file not processed yet (``watermark`` is ignored), in natural order."""
        now = time.time_ns()
        out = []
        for path in self.files():
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed since it was listed
                continue
            if self.settle > 0 and now - stat.st_mtime_ns < self.settle * 1e9:
                continue
            text = str(path)
            tail = f"|{stat.st_size}|{stat.st_mtime_ns}"
            key = short_key(text, KEY_LENGTH - len(tail)) + tail
            if key in done:
                continue
            modified = datetime.fromtimestamp(stat.st_mtime_ns / 1e9, UTC)
            out.append(Batch(key, text, text, None, modified))
        return out
