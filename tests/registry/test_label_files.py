"""Reading labels from CSV and Parquet files: types kept, every bad row named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from postpilot import InputError, Registry
from postpilot.registry.label_files import LabelFile, read_label_file


def read(path: Path, label: str = "y") -> LabelFile:
    return read_label_file(path, id_column="id", label_column=label)


def test_csv_ids_stay_text_and_labels_keep_their_type(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("id,b,i,f,s\n007,true,1,0.1,yes\n8,false,-2,2,no\n")
    assert read(path, "b") == LabelFile(["007", "8"], [True, False])
    assert read(path, "i") == LabelFile(["007", "8"], [1, -2])
    assert read(path, "f") == LabelFile(["007", "8"], [0.1, 2.0])
    assert read(path, "s") == LabelFile(["007", "8"], ["yes", "no"])


def test_parquet_integer_ids_become_text(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pl.DataFrame({"id": [1, 2], "y": [0.5, 1.5]}).write_parquet(path)
    assert read(path) == LabelFile(["1", "2"], [0.5, 1.5])


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "l.csv.gz"
    path.write_bytes(gzip.compress(b"id,y\na,1\n"))
    assert read(path) == LabelFile(["a"], [1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a,1\nb,NaN\n", "line 3 has the label nan in column 'y'"),
        ("a,1\n" + "x" * 201 + ",2\n", "line 3: the prediction id in 'id' has 201 characters"),
        ('a,1\n"",2\n', "line 3: the prediction id in 'id' is empty"),
    ],
)
def test_bad_csv_rows(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "l.csv"
    path.write_text("id,y\n" + body)
    with pytest.raises(InputError, match=message):
        read(path)


def test_unusable_columns(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pl.DataFrame({"id": [1.5], "y": [1], "d": [date(2026, 1, 1)]}).write_parquet(path)
    with pytest.raises(InputError, match="the id column 'id' holds Float64"):
        read(path)
    pl.DataFrame({"id": ["a"], "d": [date(2026, 1, 1)]}).write_parquet(path)
    with pytest.raises(InputError, match="the label column 'd' holds Date"):
        read(path, "d")
    with pytest.raises(InputError, match="the id and label columns are both 'id'"):
        read(path, "id")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b"id,y\na,1\nb\x00c,2\n", "line 3, column 'id'"),
        (b"id;y\na;1\nb;x\x00\n", "line 3, column 'y'"),
        (b"id,y\na,1\nb\x01,2\n", "line 3 has the control character '\\x01' in column 'id'"),
        (b"id,y\na,1\nb,\x1b[31m\n", "line 3 has the control character '\\x1b' in column 'y'"),
        (
            "id,y\na,1\nb,x\u0085\n".encode(),
            "line 3 has the control character '\\x85' in column 'y'",
        ),
    ],
    ids=["nul-id", "nul-label", "soh-id", "escape-label", "c1-label"],
)
def test_control_characters_are_refused_with_file_line_and_column(
    tmp_path: Path, text: bytes, where: str
) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(text)
    with pytest.raises(InputError) as info:
        read(path)
    assert where in str(info.value)
    assert str(path) in str(info.value)


def test_nul_after_the_sniffed_prefix_names_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postpilot.profiles import sniff

    monkeypatch.setattr(sniff, "SNIFF_BYTES", 64)
    path = tmp_path / "l.csv"
    path.write_bytes(b"id,y\n" + b"".join(b"p%d,1\n" % i for i in range(100)) + b"q,\x00\n")
    with pytest.raises(
        InputError, match=r"line 102 has the control character '\\x00' in column 'y'"
    ):
        read(path)


def test_parquet_control_characters_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pl.DataFrame({"id": ["a", "b\x00"], "y": [1, 2]}).write_parquet(path)
    with pytest.raises(InputError, match=r"row 2 has the control character '\\x00' in column 'id'"):
        read(path)


@pytest.mark.parametrize("name", ["l.csv", "l.csv.gz"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_csv_dialects_and_encodings(
    tmp_path: Path, name: str, separator: str, encoding: str
) -> None:
    import gzip

    text = f"id{separator}y\n007{separator}1\n8{separator}0\n".encode(encoding)
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    assert read(path) == LabelFile(["007", "8"], [1, 0])


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(256)) * 8, "not a text CSV"),
        (b"id,id\n1,2\n", "the column 'id' twice"),
        (b"", "empty"),
        ("id,y\n1,caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ],
    ids=["binary", "duplicate-header", "empty", "latin-1"],
)
def test_unreadable_csv_is_one_line_naming_the_file(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read(path)
    assert said in str(info.value)
    assert info.value.file == str(path)
    assert str(info.value).isprintable()


@pytest.mark.parametrize("name", ["l.csv", "l.csv.gz"])
@pytest.mark.parametrize("ending", ["\n\n", "\n\n\n", "\r\n\r\n"])
def test_blank_lines_ending_the_file_are_not_labels(tmp_path: Path, name: str, ending: str) -> None:
    import gzip

    text = ("id,y\na,1\nb,0" + ending).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    assert read(path) == LabelFile(["a", "b"], [1, 0])
    empty_row = tmp_path / "empty-row.csv"
    empty_row.write_bytes(b"id,y\na,1\n,\n" + ending.encode())  # an empty row is still named
    with pytest.raises(InputError, match="line 3 has no prediction id"):
        read(empty_row)


def ingest(registry: Registry, path: Path) -> None:
    labels = read(path)
    registry.ingest_labels("churn", labels.ids, labels.values)


@pytest.mark.parametrize(
    "content",
    [
        b"id,y\na,1\nb\x00c,0\n",
        b"id,y\na,x\x00y\nb,z\n",
        b"id,y\na,1\nb\x1b,0\n",
        b"id,y\n" + b"".join(b"p%d,1\n" % i for i in range(20_000)) + b"q\x00,1\n",
    ],
    ids=["nul-id", "nul-label", "escape-id", "nul-after-the-prefix"],
)
def test_control_characters_never_reach_either_store(
    registry: Registry, tmp_path: Path, content: bytes
) -> None:
    """What ``labels ingest`` does (read the file, then store it) refuses the file the
    same way on SQLite and PostgreSQL; PostgreSQL would reject a NUL with a DataError."""
    registry.create_product("churn")
    path = tmp_path / "l.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        ingest(registry, path)
    assert str(path) in str(info.value)
    assert registry.label_count("churn") == 0


# --- bounded slices ------------------------------------------------------------------


def _many(rows: int) -> str:
    """A label file whose records hold quoted delimiters and newlines, so that blocks cut
    at the wrong newline would misread it; the last label is a float."""
    lines = ["id,y,note"]
    for i in range(rows):
        note = f'"a, ""quoted""\nnote {i}"' if i % 7 == 0 else f"n{i}"
        lines.append(f"p{i},{i % 5},{note}")
    lines[-1] = f"p{rows - 1},2.5,last"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["l.csv", "l.csv.gz", "l.parquet"])
def test_small_slices_read_what_the_whole_file_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import gzip

    from postpilot.registry import label_files

    text = _many(3_000)
    path = tmp_path / name
    if name.endswith(".parquet"):
        pl.read_csv(text.encode(), infer_schema_length=None).write_parquet(path)
    else:
        path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    whole = read(path)
    assert len(whole.ids) == 3_000
    assert whole.values[:3] == [0.0, 1.0, 2.0]  # the float at the end makes every label one
    monkeypatch.setattr(label_files, "BLOCK_BYTES", 256)
    monkeypatch.setattr(label_files, "BATCH_ROWS", 100)
    batches = list(label_files.label_batches(path, id_column="id", label_column="y"))
    assert len(batches) > 20
    assert max(len(b.ids) for b in batches) <= 100  # about 256 bytes of text or 100 rows
    assert (
        LabelFile([i for b in batches for i in b.ids], [v for b in batches for v in b.values])
        == whole
    )


def test_a_late_problem_names_its_line_in_small_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postpilot.registry import label_files

    monkeypatch.setattr(label_files, "BLOCK_BYTES", 64)
    path = tmp_path / "l.csv"
    body = "".join(f"p{i},{i % 2}\n" for i in range(500))
    path.write_text("id,y\n" + body + "p7,1\n")
    with pytest.raises(InputError, match="prediction id 'p7' on lines 9 and 502"):
        read(path)
    path.write_text("id,y\n" + body + ",1\n")
    with pytest.raises(InputError, match="line 502 has no prediction id"):
        read(path)


def test_a_hash_collision_is_not_a_repeat(tmp_path: Path) -> None:
    """A repeated 64-bit hash sends the reader over the file again; ids that differ
    behind the same hash are not refused."""
    from postpilot.registry import label_files

    path = tmp_path / "l.csv"
    path.write_text("id,y\na,1\nb,2\n")
    reader = label_files._Reader(path, "id", "y")
    hashes = pl.Series(["a", "b"]).hash(seed=0).to_numpy()
    label_files._refuse_repeat(reader, hashes)  # both hashes "repeated": no error


def test_a_file_with_a_late_problem_stores_nothing(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postpilot.registry import label_files

    monkeypatch.setattr(label_files, "BLOCK_BYTES", 64)
    registry.create_product("churn")
    path = tmp_path / "l.csv"
    body = "".join(f"p{i},{i % 2}\n" for i in range(500))
    for tail in ("p3,1\n", "q,\n"):  # a repeated id (found after the last slice), no label
        path.write_text("id,y\n" + body + tail)
        with pytest.raises(InputError):
            registry.ingest_label_file("churn", path, id_column="id", label_column="y")
        assert registry.label_count("churn") == 0
    path.write_text("id,y\n" + body)
    result = registry.ingest_label_file("churn", path, id_column="id", label_column="y")
    assert (result.received, result.new) == (500, 500)
    assert registry.labels("churn") == {f"p{i}": i % 2 for i in range(500)}
    again = registry.ingest_label_file("churn", path, id_column="id", label_column="y")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 500)
