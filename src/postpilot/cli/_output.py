"""Files a command writes: checked before any work, written all or nothing.

A command that writes a report and stores a result must not leave one without the
other. The pattern::

    outputs = check_outputs({"--output": output}, inputs=[reference, current])
    ...  # the long part: nothing written yet
    with staged() as files:
        files.write_text(output, text)  # to a hidden temporary file beside the target
        reg.record_monitoring(...)      # the store commits
    # leaving the block renames every staged file into place; an exception removes them

:func:`check_outputs` refuses, before anything runs, an output that is a folder or
not a regular file (a device, a pipe: renaming over it would replace it), whose folder
does not exist or is not writable, that is one of the inputs, or that two outputs share.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from postpilot.errors import InputError

__all__ = ["Staged", "check_outputs", "staged"]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_outputs(
    outputs: Mapping[str, Path | str | None], *, inputs: Iterable[Path | str | None] = ()
) -> None:
    """Refuse unusable output paths before any work: ``outputs`` maps the option as the
    user typed it (``--output``) to its path (None when not given)."""
    given = {option: Path(path) for option, path in outputs.items() if path is not None}
    sources = [Path(p) for p in inputs if p is not None and "://" not in str(p)]
    seen: dict[Path, str] = {}
    for option, path in given.items():
        if path.is_dir():
            raise InputError(
                f"{path} is a folder", field=option, hint="Name a file to write, not a folder"
            )
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):
            raise InputError(
                f"{path} is not a regular file (a device, pipe or socket)",
                field=option,
                hint="Name a file to write",
            )
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise InputError(
                f"cannot write {path}: the folder {folder} does not exist",
                field=option,
                hint="Create the folder first, or write somewhere else",
            )
        if not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.W_OK)
        ):
            raise InputError(f"cannot write {path}: permission denied", field=option)
        for source in sources:
            if _same_file(path, source):
                raise InputError(
                    f"{path} is also an input; writing it would destroy the data",
                    field=option,
                    hint="Write the output to another file",
                )
        for other, other_option in seen.items():
            if _same_file(path, other):
                raise InputError(
                    f"{path} would be written twice (also by {other_option})", field=option
                )
        seen[path] = option


class Staged:
    """Files written to temporary names beside their targets, renamed into place by
    :meth:`commit`, removed by :meth:`discard`."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def write_bytes(self, target: Path | str, data: bytes) -> None:
        target = Path(target)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            self._pending.append((Path(tmp), target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:  # the temporary file's name means nothing to the user
            reason = (exc.strerror or str(exc)).lower()
            raise InputError(f"cannot write {target}: {reason}") from exc

    def write_text(self, target: Path | str, text: str) -> None:
        self.write_bytes(target, text.encode("utf-8"))

    def commit(self) -> None:
        for tmp, target in self._pending:
            os.replace(tmp, target)
        self._pending.clear()

    def discard(self) -> None:
        for tmp, _ in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending.clear()


@contextmanager
def staged() -> Iterator[Staged]:
    """Stage files inside the block; they land together when it ends, or not at all."""
    files = Staged()
    try:
        yield files
    except BaseException:
        files.discard()
        raise
    files.commit()
