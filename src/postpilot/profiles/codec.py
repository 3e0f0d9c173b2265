"""The stored form of a profile: versioned, compact, and self-describing.

Layout (all integers little-endian)::

    b"PPRF"                  4 bytes, magic
    schema_version           u16, currently 1
    metadata length          u32
    metadata                 UTF-8 JSON: {"schema_version", "rows", "columns": [...]}
    sketches                 the sketches' own serialize() bytes, back to back

Each column's metadata holds its exact parts (counts, min, max, moments, exact
value counts) and, under ``"sketches"``, the ``[offset, length]`` of each of its
sketches within the sketch section. JSON keys are sorted, so equal profiles
encode to equal bytes.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Final

from postpilot.errors import InputError
from postpilot.profiles.categorical import CategoricalColumn
from postpilot.profiles.column import ColumnProfile, NullColumn
from postpilot.profiles.numeric import NumericColumn
from postpilot.profiles.temporal import TemporalColumn

__all__ = ["SCHEMA_VERSION", "decode", "encode"]

SCHEMA_VERSION: Final = 1
_MAGIC: Final = b"PPRF"
_HEADER = struct.Struct("<4sHI")
_KINDS: Final[dict[str, type[ColumnProfile]]] = {
    cls.kind: cls for cls in (NumericColumn, TemporalColumn, CategoricalColumn, NullColumn)
}


def encode(rows: int, columns: list[ColumnProfile]) -> bytes:
    """The bytes of a profile with ``rows`` rows and these columns, in order."""
    blob = bytearray()
    metas = []
    for column in columns:
        meta, sketches = column._state()
        placed = {}
        for key, data in sketches.items():
            placed[key] = [len(blob), len(data)]
            blob += data
        metas.append({**meta, "sketches": placed})
    document = {"schema_version": SCHEMA_VERSION, "rows": rows, "columns": metas}
    text = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return _HEADER.pack(_MAGIC, SCHEMA_VERSION, len(text)) + text + bytes(blob)


def decode(data: bytes) -> tuple[int, list[ColumnProfile]]:
    """The row count and columns of an encoded profile; InputError if it is not one."""
    if len(data) < _HEADER.size or data[:4] != _MAGIC:
        raise InputError(
            "these bytes are not a postpilot profile (no PPRF header)", field="profile"
        )
    _, version, size = _HEADER.unpack_from(data)
    if version != SCHEMA_VERSION:
        raise InputError(
            f"profile schema_version {version} is not supported; this postpilot reads "
            f"schema_version {SCHEMA_VERSION}",
            field="schema_version",
            hint="Upgrade postpilot to read profiles written by a newer version",
        )
    start = _HEADER.size
    blob = memoryview(data)[start + size :]
    try:
        document = json.loads(bytes(data[start : start + size]))
        if document["schema_version"] != SCHEMA_VERSION:
            raise ValueError("schema_version in header and metadata differ")
        columns = [_decode_column(meta, blob) for meta in document["columns"]]
        return int(document["rows"]), columns
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
        raise InputError(f"profile bytes are corrupt: {exc}", field="profile") from exc


def _decode_column(meta: dict[str, Any], blob: memoryview) -> ColumnProfile:
    cls = _KINDS[meta["kind"]]
    sketches = {}
    for key, (offset, length) in meta["sketches"].items():
        if offset < 0 or length < 0 or offset + length > len(blob):
            raise ValueError(f"sketch '{key}' of column '{meta['name']}' is truncated")
        sketches[key] = bytes(blob[offset : offset + length])
    return cls._from_state(meta, sketches)
