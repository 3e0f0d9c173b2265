"""Every accepted input gives the same profile; bad files give InputError naming them."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet
import pytest

from postpilot.errors import InputError
from postpilot.profiles import CategoricalColumn, NumericColumn, Profile, profile, readers, sniff
from postpilot.profiles import profiler as profiler_module

from .helpers import assert_moments_close, exact_parts


@pytest.fixture
def frame() -> pl.DataFrame:
    n = 3_000
    return pl.DataFrame(
        {
            "id": range(n),
            "price": [None if i % 13 == 0 else i * 0.25 - 100 for i in range(n)],
            "name": [f"item {i % 17}" for i in range(n)],
            "flag": [i % 3 == 0 for i in range(n)],
            "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 40) for i in range(n)],
        }
    )


@pytest.fixture
def expected(frame: pl.DataFrame) -> Profile:
    return profile(frame)


def same(got: Profile, want: Profile) -> None:
    assert got.columns == want.columns
    assert exact_parts(got) == exact_parts(want)
    assert_moments_close(got, want)


def test_parquet_path_str_and_pathlike(
    tmp_path: Path, frame: pl.DataFrame, expected: Profile
) -> None:
    path = tmp_path / "data.parquet"
    frame.write_parquet(path)
    same(profile(path), expected)
    same(profile(str(path)), expected)
    upper = tmp_path / "DATA.PQ"
    frame.write_parquet(upper)
    same(profile(upper), expected)


@pytest.mark.parametrize("name", ["data.csv", "DATA.CSV", "data.csv.gz"])
def test_csv(tmp_path: Path, frame: pl.DataFrame, expected: Profile, name: str) -> None:
    path = tmp_path / name
    text = frame.write_csv().encode()
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    got = profile(path, batch_size=500)
    same(got, expected)
    assert [got.column(c).type for c in got.columns] == ["int", "float", "string", "bool", "date"]


@pytest.mark.parametrize(
    "convert",
    [
        lambda f: f.to_arrow(),
        lambda f: f.to_arrow().to_batches()[0],
        lambda f: pa.RecordBatchReader.from_batches(
            f.to_arrow().schema, f.to_arrow().to_batches(max_chunksize=700)
        ),
        lambda f: f,
        lambda f: f.lazy(),
        lambda f: f.lazy().filter(pl.col("id") >= 0).with_columns(pl.col("price")),
    ],
    ids=["table", "record-batch", "batch-reader", "polars", "lazy", "lazy-query"],
)
def test_in_memory_inputs(
    frame: pl.DataFrame, expected: Profile, convert: Callable[[pl.DataFrame], object]
) -> None:
    same(profile(convert(frame), batch_size=1_000), expected)


def test_pandas(frame: pl.DataFrame) -> None:
    pytest.importorskip("pandas")
    # pandas holds dates as datetime64, so leave the date column to the other tests
    frame = frame.drop("day")
    same(profile(frame.to_pandas(), batch_size=1_000), profile(frame))
    picked = profile(frame.to_pandas(), columns=["name", "id"])
    assert picked.columns == ("name", "id")
    numbered = frame.select("id", "name").to_pandas()
    numbered.columns = [0, 1]  # labels need not be strings in pandas
    unnamed = profile(numbered)
    assert unnamed.columns == ("0", "1")
    assert [c.type for c in unnamed] == ["int", "string"]


def test_columns_pick_and_order(tmp_path: Path, frame: pl.DataFrame) -> None:
    path = tmp_path / "data.parquet"
    frame.write_parquet(path)
    csv = tmp_path / "data.csv"
    frame.write_csv(csv)
    for data in (path, csv, frame, frame.lazy(), frame.to_arrow()):
        p = profile(data, columns=["name", "id"])
        assert p.columns == ("name", "id")
        assert p.rows == frame.height


@pytest.mark.parametrize("data", ["frame", "parquet", "csv"])
def test_unknown_column_is_named(tmp_path: Path, frame: pl.DataFrame, data: str) -> None:
    source: object = frame
    if data != "frame":
        source = tmp_path / f"data.{data}"
        getattr(frame, f"write_{data}")(source)
    with pytest.raises(InputError) as info:
        profile(source, columns=["id", "nope"])
    assert info.value.field == "nope"
    assert "id" in (info.value.hint or "")
    with pytest.raises(InputError) as info:
        profile(source, columns="id")
    assert info.value.field == "columns"


def test_parquet_streams_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: pl.DataFrame
) -> None:
    path = tmp_path / "groups.parquet"
    frame.write_parquet(path, row_group_size=400)
    calls: list[int] = []
    real = profiler_module.summarize

    def counting(batch: pl.DataFrame) -> object:
        calls.append(batch.height)
        return real(batch)

    monkeypatch.setattr(profiler_module, "summarize", counting)
    streamed = profile(path, batch_size=250)
    assert len(calls) >= 12
    assert max(calls) <= 250
    assert sum(calls) == frame.height
    calls.clear()
    single = profile(path, batch_size=10**9)
    assert len(calls) <= 8  # at most a batch per row group
    same(streamed, single)


@pytest.mark.parametrize("name", ["drift.csv", "drift.csv.gz"])
def test_csv_types_are_widened_when_later_rows_disagree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(readers, "CSV_SAMPLE_ROWS", 50)  # plain CSV, on polars
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 256)  # compressed CSV, on pyarrow
    lines = ["n,code,late,flag"]
    lines += [f"{i},{i},,true" for i in range(200)]
    lines += ["2.5,X7,4,maybe"]
    lines += [f"{i},{i},{i},false" for i in range(50)]
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    p = profile(path, batch_size=64)
    assert [p.column(c).type for c in p.columns] == ["float", "string", "int", "string"]
    n, code, late, flag = (p.column(c) for c in p.columns)
    assert isinstance(n, NumericColumn)
    assert n.max == 199.0
    assert n.moments.count == 251
    assert isinstance(code, CategoricalColumn)
    assert code.count == 251
    assert isinstance(late, NumericColumn)
    assert (late.nulls, late.min, late.max) == (200, 0, 49)
    assert isinstance(flag, CategoricalColumn)
    assert flag.counts == {
        "true": 200,
        "maybe": 1,
        "false": 50,
    }
    assert p.rows == 251


def test_empty_dataset_keeps_columns_and_types(tmp_path: Path, frame: pl.DataFrame) -> None:
    empty = frame.clear()
    path = tmp_path / "empty.parquet"
    empty.write_parquet(path)
    for data in (empty, empty.lazy(), empty.to_arrow(), path):
        p = profile(data)
        assert p.rows == 0
        assert [p.column(c).type for c in p.columns] == ["int", "float", "string", "bool", "date"]


def error_for(data: object, **options: object) -> InputError:
    with pytest.raises(InputError) as info:
        profile(data, **options)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return info.value


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.parquet"
    error = error_for(missing)
    assert error.file == str(missing)
    assert "not found" in error.message
    assert str(missing) in str(error)
    assert error_for(str(tmp_path / "nope.csv")).file == str(tmp_path / "nope.csv")


def test_directory_and_unknown_suffix(tmp_path: Path) -> None:
    assert error_for(tmp_path).file == str(tmp_path)
    other = tmp_path / "data.json"
    other.write_text("{}")
    error = error_for(other)
    assert error.file == str(other)
    assert ".parquet" in (error.hint or "")


@pytest.mark.parametrize("name", ["bad.csv", "bad.csv.gz"])
@pytest.mark.parametrize(
    "content",
    [b"a,b\n1,2\n3,4,5\n", b'a,b\n"unclosed,2\n', b"a;b\n1;2\n3;4;5\n"],
    ids=["ragged-row", "unclosed-quote", "ragged-semicolon-row"],
)
def test_malformed_csv_names_the_file(tmp_path: Path, content: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    error = error_for(path)
    assert error.file == str(path)
    assert error.__cause__ is not None  # translated, with the library's error kept as cause


@pytest.mark.parametrize("name", ["late.csv", "late.csv.gz"])
def test_malformed_row_after_the_first_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(readers, "CSV_SAMPLE_ROWS", 20)
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 128)
    path = tmp_path / name
    text = b"a,b\n" + b"1,2\n" * 200 + b"1,2,3\n"
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    assert error_for(path).file == str(path)


def test_csv_column_empty_everywhere_is_untyped(tmp_path: Path) -> None:
    path = tmp_path / "sparse.csv"
    path.write_text("a,b\n" + "1,\n" * 30)
    p = profile(path)
    assert [c.type for c in p] == ["int", "null"]
    assert p.column("b").nulls == 30
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    empty = profile(header_only)
    assert (empty.rows, [c.type for c in empty]) == (0, ["null", "null"])


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: b"not a parquet file at all",
        lambda data: data[: len(data) // 2],
        lambda data: data[:4] + b"\x00" * (len(data) - 12) + data[-8:],
    ],
    ids=["not-parquet", "truncated", "zeroed-body"],
)
def test_corrupt_parquet_names_the_file(
    tmp_path: Path, frame: pl.DataFrame, corrupt: Callable[[bytes], bytes]
) -> None:
    good = tmp_path / "good.parquet"
    frame.write_parquet(good)
    path = tmp_path / "bad.parquet"
    path.write_bytes(corrupt(good.read_bytes()))
    assert error_for(path).file == str(path)


def test_failing_lazyframe(tmp_path: Path) -> None:
    lazy = pl.scan_parquet(tmp_path / "missing.parquet")
    error = error_for(lazy)
    assert error.field == "data"


def test_unsupported_column_type_is_named() -> None:
    frame = pl.DataFrame({"ok": [1], "tags": [["a", "b"]]})
    error = error_for(frame)
    assert error.field == "tags"
    assert profile(frame, columns=["ok"]).columns == ("ok",)


@pytest.mark.parametrize("data", [[1, 2, 3], {"a": [1]}, 42])
def test_unsupported_input(data: object) -> None:
    assert error_for(data).field == "data"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("batch_size", 0),
        ("kll_k", 4),
        ("hll_lg_k", 22),
        ("frequent_lg_size", 2),
        ("max_exact_values", -1),
        ("batch_size", 1.5),
        ("kll_k", True),
    ],
)
def test_bad_options(option: str, value: object) -> None:
    assert error_for(pl.DataFrame({"x": [1]}), **{option: value}).field == option


# -- files as people save them: delimiter, encoding, header, binary -------------------


def write_csv(path: Path, text: bytes) -> Path:
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)
    return path


@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz"])
@pytest.mark.parametrize("separator", [",", ";", "\t", "|"], ids=["comma", "semi", "tab", "pipe"])
def test_delimiter_is_detected(
    tmp_path: Path, frame: pl.DataFrame, expected: Profile, name: str, separator: str
) -> None:
    path = write_csv(tmp_path / name, frame.write_csv(separator=separator).encode())
    got = profile(path, batch_size=500)
    same(got, expected)
    assert [got.column(c).type for c in got.columns] == ["int", "float", "string", "bool", "date"]


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        (b"price;name\n1,5;bread\n2,25;milk\n", ("price", "name")),  # decimal commas
        (b'"a;b",c\n"1;2",3\n', ("a;b", "c")),  # a semicolon inside quotes
        (b"name,tags\nx,a;b;c\ny,d;e;f\n", ("name", "tags")),
        (b"x\n1\n2\n", ("x",)),  # one column, no delimiter at all
        (b"a;b\n", ("a", "b")),  # header only
        (b"a\tb", ("a", "b")),  # header only, no final newline
    ],
    ids=["decimal-comma", "quoted", "semicolons-in-values", "one-column", "header", "no-newline"],
)
def test_delimiter_on_awkward_files(tmp_path: Path, text: bytes, columns: tuple[str, ...]) -> None:
    assert profile(write_csv(tmp_path / "f.csv", text)).columns == columns


BOM_ENCODINGS = {
    "utf-8-bom": lambda text: b"\xef\xbb\xbf" + text.encode(),
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-16-le-bom": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-16-be-bom": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "utf-16-le-no-bom": lambda text: text.encode("utf-16-le"),
    "utf-16-be-no-bom": lambda text: text.encode("utf-16-be"),
    "utf-32": lambda text: text.encode("utf-32"),
}


@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz"])
@pytest.mark.parametrize("encoding", list(BOM_ENCODINGS))
def test_encoding_is_detected(
    tmp_path: Path, frame: pl.DataFrame, expected: Profile, name: str, encoding: str
) -> None:
    text = frame.write_csv(separator=";")
    path = write_csv(tmp_path / name, BOM_ENCODINGS[encoding](text))
    got = profile(path, batch_size=500)
    same(got, expected)
    assert [got.column(c).type for c in got.columns] == ["int", "float", "string", "bool", "date"]


def test_non_ascii_text_survives_every_encoding(tmp_path: Path) -> None:
    text = "città;prix €\nZürich;1\nSão Paulo;2\n東京;3\n"
    for encoding, encode in BOM_ENCODINGS.items():
        if "no-bom" in encoding:
            continue  # only ASCII text is recognised without a mark
        p = profile(write_csv(tmp_path / f"{encoding}.csv", encode(text)))
        assert p.columns == ("città", "prix €"), encoding
        column = p.column("città")
        assert isinstance(column, CategoricalColumn)
        assert set(column.value_counts().counts) == {"Zürich", "São Paulo", "東京"}, encoding


def test_another_encoding_is_named_with_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "latin.csv", "a,b\n1,x\n2,café\n".encode("latin-1"))
    error = error_for(path)
    assert error.file == str(path)
    assert "not UTF-8" in error.message
    assert "line 3" in error.message
    assert "UTF-8" in (error.hint or "")


def test_another_encoding_after_the_sniffed_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sniff, "SNIFF_BYTES", 64)
    text = b"a,b\n" + b"1,x\n" * 5_000 + "2,café\n".encode("latin-1")
    path = write_csv(tmp_path / "late.csv", text)
    error = error_for(path)
    assert (error.file, "not UTF-8" in error.message) == (str(path), True)


@pytest.mark.parametrize(
    "content",
    [
        lambda parquet: bytes(range(256)) * 40,
        lambda parquet: parquet,
        lambda parquet: b"\x00" * 1000,
        lambda parquet: gzip.compress(b"a,b\n1,2\n"),
        lambda parquet: b"a,b\n1,\x00\x00\x002\n",
    ],
    ids=["random-bytes", "parquet", "zeros", "gzip", "nul-in-text"],
)
@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz"])
def test_binary_file_is_one_clear_line(
    tmp_path: Path, frame: pl.DataFrame, content: Callable[[bytes], bytes], name: str
) -> None:
    frame.write_parquet(tmp_path / "real.parquet")
    data = content((tmp_path / "real.parquet").read_bytes())
    path = write_csv(tmp_path / name, data)
    error = error_for(path)
    assert error.file == str(path)
    assert "not a text CSV" in error.message
    assert str(error).isprintable()  # no raw bytes in the message
    if data.startswith(b"PAR1") and name == "data.csv":
        assert ".parquet" in (error.hint or "")


@pytest.mark.parametrize("name", ["dup.csv", "dup.csv.gz"])
@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"a,b,a\n1,2,3\n", "'a'"),
        (b"a;b;a\n1;2;3\n", "'a'"),
        (b"x,,y,\n1,2,3,4\n", "no name"),
        ("é,é\n1,2\n".encode("utf-16"), "'é'"),
    ],
    ids=["comma", "semicolon", "unnamed", "utf-16"],
)
def test_duplicate_csv_header_is_an_error_as_in_parquet(
    tmp_path: Path, text: bytes, said: str, name: str
) -> None:
    path = write_csv(tmp_path / name, text)
    error = error_for(path)
    assert error.file == str(path)
    assert said in error.message
    assert "twice" in error.message
    parquet = tmp_path / "dup.parquet"
    pa.parquet.write_table(pa.table([[1], [2]], names=["a", "a"]), parquet)
    assert "'a'" in str(error_for(parquet))


@pytest.mark.parametrize("name", ["empty.csv", "empty.csv.gz"])
@pytest.mark.parametrize("content", [b"", b"\n\n", b"  \r\n", codecs.BOM_UTF8, b"\xff\xfe"])
def test_file_without_a_header_is_a_clear_error(tmp_path: Path, name: str, content: bytes) -> None:
    error = error_for(write_csv(tmp_path / name, content))
    assert error.file is not None
    assert error.file.endswith(name)
    assert "empty" in error.message


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-bom", "utf-16"])
@pytest.mark.parametrize("name", ["header.csv", "header.csv.gz"])
def test_header_only_file_has_columns_and_no_rows(tmp_path: Path, encoding: str, name: str) -> None:
    encode = BOM_ENCODINGS.get(encoding, str.encode)
    p = profile(write_csv(tmp_path / name, encode("a;b;c\n")))
    assert (p.rows, p.columns) == (0, ("a", "b", "c"))


def test_sniffing_reads_a_bounded_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sniff, "SNIFF_BYTES", 256)
    big = write_csv(tmp_path / "big.csv", b"a;b\n" + b"1;2\n" * 100_000)
    prefix, complete = sniff._prefix(big)
    assert (len(prefix), complete) == (256, False)
    # a header longer than the prefix is read whole, however long (up to the cap)
    names = [f"column_{i}" for i in range(200)]
    wide = write_csv(tmp_path / "wide.csv", (";".join(names) + "\n" + "1;" * 199 + "1\n").encode())
    assert sniff.sniff_csv(wide).header == tuple(names)
    assert profile(wide).columns == tuple(names)


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (b"a,b\n1,2\n3,4\n\n", 2),
        (b"a,b\n1,2\n3,4\n\n\n\n", 2),
        (b"a,b\r\n1,2\r\n\r\n", 1),
        (b"a,b\n\n", 0),  # header only, then a blank line
        (b"a;b\n1;2\n;\n\n", 2),  # an all-missing row is data; the blank line is not
        (b"a\n1\n2\n\n", 2),
    ],
)
def test_blank_lines_ending_a_file_are_not_rows(
    tmp_path: Path, text: bytes, rows: int, batch_size: int
) -> None:
    plain = profile(write_csv(tmp_path / "f.csv", text), batch_size=batch_size)
    packed = profile(write_csv(tmp_path / "f.csv.gz", text), batch_size=batch_size)
    assert (plain.rows, packed.rows) == (rows, rows)
    assert plain.column(plain.columns[0]).nulls == packed.column(packed.columns[0]).nulls
