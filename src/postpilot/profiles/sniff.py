"""Tell a CSV file's encoding, delimiter and header from a bounded prefix of it.

Files come as people save them: Excel in much of Europe writes semicolons,
databases export tabs or pipes, Windows tools write UTF-16 with a byte-order
mark. :func:`sniff_csv` reads the first :data:`SNIFF_BYTES` (more only while
the header row is not complete, up to :data:`MAX_HEADER_BYTES`), never the
whole file, and decides:

- **encoding**: a byte-order mark names it (UTF-8, UTF-16 LE/BE, UTF-32);
  without one, ASCII text saved as UTF-16 (a zero byte beside every character)
  is recognised, anything else must be UTF-8. A prefix that is not UTF-8 is an
  InputError naming the file and the line; one with more than 1% control
  bytes (and at least 4), or the signature of Parquet, gzip or zip (Excel), is "not a text
  CSV", with a hint saying what it is when the signature tells.
- **delimiter**: one of comma, semicolon, tab and pipe. Each is tried on the
  header and the first :data:`SNIFF_ROWS` rows (quotes respected); the ones
  that split the header in two or more and every row into as many fields as
  the header are consistent, and the one giving the most fields wins (ties
  in the order above, so a plain comma file stays a comma file). When none is
  consistent, the one splitting the header most is kept so that the reader
  reports the ragged row itself.
- **header**: the column names; a name given twice is an InputError naming it
  (as for Parquet), never a silent rename. A zero character in the prefix is
  an InputError naming its line and column.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "prices.csv"
>>> _ = path.write_bytes("item;price\\nbread;1,5\\n".encode("utf-16"))
>>> sniff_csv(path)
CsvFormat(encoding='utf-16', delimiter=';', header=('item', 'price'))
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from postpilot.errors import InputError

__all__ = [
    "DELIMITERS",
    "CsvFormat",
    "count_blank_tail",
    "open_decompressed",
    "sniff_csv",
    "trailing_blank_lines",
]

SNIFF_BYTES = 64 << 10
MAX_HEADER_BYTES = 16 << 20
SNIFF_ROWS = 50
DELIMITERS: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_BOMS: Final = (  # UTF-32 LE first: its mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SIGNATURES: Final = (
    (b"PAR1", "it is a Parquet file: name it .parquet"),
    (b"\x1f\x8b", "it is gzip-compressed: name it .csv.gz"),
    (b"BZh", "it is bzip2-compressed: name it .csv.bz2"),
    (b"PK\x03\x04", "it is a zip archive (an Excel workbook?): export the sheet as CSV"),
)
_TEXT_CONTROLS: Final = frozenset(b"\t\n\r\f")


@dataclass(frozen=True)
class CsvFormat:
    """How to read a CSV file.

    ``encoding`` is a Python codec name: ``"utf-8"`` (``"utf-8-sig"`` when the
    file starts with a byte-order mark), ``"utf-16"``/``"utf-32"`` (with a
    mark) or ``"utf-16-le"``/``"utf-16-be"`` (without). ``header`` is the
    first row's names, in order.
    """

    encoding: str
    delimiter: str
    header: tuple[str, ...]

    @property
    def utf8(self) -> bool:
        """Whether the bytes are UTF-8 (polars reads these directly, mark or not)."""
        return self.encoding in ("utf-8", "utf-8-sig")

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS[self.delimiter]


def sniff_csv(path: Path) -> CsvFormat:
    """The encoding, delimiter and header of the CSV at ``path`` (``.gz``/``.bz2`` too).

    Raises InputError naming the file when it is empty, not text, not in a
    known encoding, or names a column twice.
    """
    prefix, complete = _prefix(path)
    encoding, start = _encoding(prefix)
    text = _decode(path, prefix[start:], encoding, complete)
    if complete and not text.strip():
        raise InputError(
            "the file is empty: a CSV needs at least a header row naming its columns",
            file=str(path),
        )
    if not complete:  # the last line may be cut short: keep whole lines only
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut > 0 else text
    delimiter, header = _delimiter(text)
    _refuse_duplicates(path, header)
    _refuse_nul(path, text, delimiter, header)
    return CsvFormat(encoding, delimiter, tuple(header))


def trailing_blank_lines(path: Path) -> int:
    """How many empty lines end the (uncompressed, UTF-8) file, from its last bytes only.

    polars reads each as a row of nulls; pyarrow and pandas skip them, and so
    does postpilot: a file saved with a blank line at its end has no extra row.
    """
    with open(path, "rb") as stream:
        size = stream.seek(0, 2)
        stream.seek(max(0, size - SNIFF_BYTES))
        return count_blank_tail(stream.read())


def count_blank_tail(tail: bytes) -> int:
    """How many empty lines end ``tail`` (UTF-8 bytes; its first line is never counted)."""
    lines = tail.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline ending the last line
    blank = 0
    for line in reversed(lines[1:]):  # lines[0] may be cut short: never counted
        if line not in (b"", b"\r"):
            break
        blank += 1
    return blank


def open_decompressed(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes, decompressed when named ``.gz`` or ``.bz2``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile reads bytes
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _prefix(path: Path) -> tuple[bytes, bool]:
    """The first bytes of the (decompressed) file: enough for a complete header row,
    and whether they are the whole file."""
    size = SNIFF_BYTES
    try:
        with open_decompressed(path) as stream:
            data = stream.read(size)
            while len(data) == size and b"\n" not in data[: size - 4] and size < MAX_HEADER_BYTES:
                more = stream.read(size)
                data += more
                size *= 2
                if not more:
                    break
            complete = not stream.read(1)
    except (OSError, EOFError, ValueError) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(f"the file cannot be read: {exc}", file=str(path)) from exc
    return data, complete


def _encoding(prefix: bytes) -> tuple[str, int]:
    """The codec and where the text starts (after a mark the codec does not skip itself)."""
    for bom, encoding in _BOMS:
        if prefix.startswith(bom):
            # polars and pyarrow both skip a UTF-8 mark; utf-16/utf-32 consume theirs
            return encoding, len(bom) if encoding == "utf-8-sig" else 0
    pairs = len(prefix) // 2
    if pairs >= 2:
        even_zero = prefix[0 : 2 * pairs : 2].count(0)
        odd_zero = prefix[1 : 2 * pairs : 2].count(0)
        if odd_zero >= 0.9 * pairs and even_zero == 0:
            return "utf-16-le", 0
        if even_zero >= 0.9 * pairs and odd_zero == 0:
            return "utf-16-be", 0
    return "utf-8", 0


def _decode(path: Path, data: bytes, encoding: str, complete: bool) -> str:
    if encoding == "utf-8":
        _refuse_binary(path, data)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return decoder.decode(data, final=complete)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        found = data[exc.start : exc.start + 1].hex().upper()
        name = "UTF-8" if encoding == "utf-8" else encoding.upper()
        raise InputError(
            f"the file is not {name} text: line {line} holds the byte 0x{found}",
            file=str(path),
            hint="Save it as UTF-8 (or UTF-16 with a byte-order mark), e.g. "
            "`iconv -f latin1 -t utf-8` for a Latin-1 file",
        ) from exc


def _refuse_binary(path: Path, data: bytes) -> None:
    hint = next((h for magic, h in _SIGNATURES if data.startswith(magic)), None)
    controls = sum(1 for byte in data[:4096] if byte < 32 and byte not in _TEXT_CONTROLS)
    if hint is None and (controls < 4 or controls <= len(data[:4096]) // 100):
        return  # text, maybe with a stray control byte: _refuse_nul names where
    raise InputError(
        "the file is not a text CSV: it holds binary data",
        file=str(path),
        hint=hint[0].upper() + hint[1:] if hint else "Give a CSV (text) or Parquet file",
    )


def _refuse_nul(path: Path, text: str, delimiter: str, header: list[str]) -> None:
    """A zero character in text: a damaged export, which no store would keep."""
    if "\x00" not in text:
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    where = f"line {text[: text.index(chr(0))].count(chr(10)) + 1}"
    for row in reader:
        for position, value in enumerate(row):
            if "\x00" in value:
                column = header[position] if position < len(header) else f"#{position + 1}"
                where = f"line {reader.line_num}, column {column!r},"
                break
        else:
            continue
        break
    raise InputError(
        f"the file is not a text CSV: {where} holds a zero character",
        file=str(path),
        hint="Check the export that wrote it; a CSV holds printable text",
    )


def _rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:  # blank lines split into nothing
                rows.append(row)
            if len(rows) > SNIFF_ROWS:
                break
    except csv.Error:  # a field larger than the csv module takes: judge on what was read
        pass
    return rows


def _delimiter(text: str) -> tuple[str, list[str]]:
    """The delimiter that splits the header and the first rows consistently, and the header."""
    best: tuple[int, str, list[str]] | None = None  # fields, delimiter, header
    widest: tuple[int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        rows = _rows(text, delimiter)
        if not rows:
            return ",", []
        fields = len(rows[0])
        if widest is None or fields > widest[0]:
            widest = (fields, delimiter, rows[0])
        if fields < 2 or any(len(row) != fields for row in rows[1:]):
            continue
        if best is None or fields > best[0]:
            best = (fields, delimiter, rows[0])
    chosen = best or widest
    assert chosen is not None
    return chosen[1], chosen[2]


def _refuse_duplicates(path: Path, header: list[str]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            what = f"the column {name!r}" if name else "a column with no name"
            raise InputError(
                f"the header names {what} twice (columns {seen[name]} and {position})",
                file=str(path),
                hint="Give every column a distinct name",
            )
        seen[name] = position
