"""The stored form: versioned, lossless, and strict about what it reads."""

from __future__ import annotations

import json
import struct

import polars as pl
import pytest

from postpilot.errors import InputError
from postpilot.profiles import SCHEMA_VERSION, NumericColumn, Profile, profile

from .helpers import exact_parts


def metadata(data: bytes) -> dict[str, object]:
    magic, _version, size = struct.unpack_from("<4sHI", data)
    assert magic == b"PPRF"
    return json.loads(data[10 : 10 + size])  # type: ignore[no-any-return]


def test_round_trip_preserves_everything(mixed: pl.DataFrame) -> None:
    p = profile(mixed, batch_size=1_500)
    data = p.to_bytes()
    again = Profile.from_bytes(data)
    assert again == p
    assert again.columns == p.columns
    assert exact_parts(again) == exact_parts(p)
    for column in p:
        other = again.column(column.name)
        assert type(other) is type(column)
        assert other.distinct_count(2) == column.distinct_count(2)
        if isinstance(column, NumericColumn):
            assert isinstance(other, NumericColumn)
            assert other.moments == column.moments  # bit for bit
            assert other.quantiles([0.1, 0.5, 0.9]) == column.quantiles([0.1, 0.5, 0.9])
            assert other.rank_error == column.rank_error


def test_encoding_is_deterministic_and_versioned(mixed: pl.DataFrame) -> None:
    p = profile(mixed.select("amount", "count", "at"))
    assert p.to_bytes() == p.to_bytes()
    assert Profile.from_bytes(p.to_bytes()).to_bytes() == p.to_bytes()
    meta = metadata(p.to_bytes())
    assert meta["schema_version"] == SCHEMA_VERSION == 1
    assert meta["rows"] == p.rows


def test_empty_profile_round_trips() -> None:
    p = profile(pl.DataFrame())
    assert (p.rows, p.columns) == (0, ())
    assert Profile.from_bytes(p.to_bytes()) == p


def test_unknown_schema_version_is_rejected_clearly() -> None:
    data = bytearray(profile(pl.DataFrame({"x": [1]})).to_bytes())
    data[4:6] = struct.pack("<H", 2)
    with pytest.raises(InputError) as info:
        Profile.from_bytes(bytes(data))
    assert info.value.field == "schema_version"
    assert "schema_version 2" in str(info.value)
    assert "1" in str(info.value)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b"",
        lambda b: b"PK\x03\x04" + b[4:],
        lambda b: b[:20],
        lambda b: b[:-10],
        lambda b: b[:10] + b"!" + b[11:],
    ],
    ids=["empty", "wrong-magic", "truncated-metadata", "truncated-sketch", "bad-json"],
)
def test_corrupt_bytes_raise_input_error(mangle: object) -> None:
    data = profile(pl.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})).to_bytes()
    with pytest.raises(InputError) as info:
        Profile.from_bytes(mangle(data))  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_metadata_version_must_match_header() -> None:
    data = profile(pl.DataFrame({"x": [1]})).to_bytes()
    _, _, size = struct.unpack_from("<4sHI", data)
    meta = json.loads(data[10 : 10 + size])
    meta["schema_version"] = 3
    text = json.dumps(meta).encode()
    forged = struct.pack("<4sHI", b"PPRF", 1, len(text)) + text + data[10 + size :]
    with pytest.raises(InputError, match="corrupt"):
        Profile.from_bytes(forged)
