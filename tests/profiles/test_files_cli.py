"""Files as people save them, through the commands that read them.

A semicolon CSV, a UTF-16 CSV and a CSV with a byte-order mark are read with
their real columns by ``drift``, ``contract infer`` and ``labels ingest``; a
binary file or a header naming a column twice is exit 2 with one ``error:``
line naming the file, and nothing stored.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from postpilot import Registry
from tests.helpers import Run

COLUMNS = ["pred_id", "age", "city", "score"]

ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "semicolon": lambda text: text.encode(),
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-8-bom": lambda text: b"\xef\xbb\xbf" + text.encode(),
    "utf-16-tab": lambda text: text.replace(";", "\t").encode("utf-16"),
}


def table(rows: int = 200, seed: int = 7) -> str:
    rng = random.Random(seed)
    lines = [";".join(COLUMNS)]
    for i in range(rows):
        city = rng.choice(["Lyon", "Zürich", "São Paulo"])
        lines.append(f"p{i:04d};{rng.randint(18, 80)};{city};{rng.random():.4f}")
    return "\n".join(lines) + "\n"


def one_error_line(stderr: str, path: Path) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0]
    assert lines[0].isprintable()
    return lines[0]


@pytest.fixture
def churn(cli: Run) -> Run:
    cli("product", "create", "churn")
    return cli


@pytest.mark.parametrize("kind", list(ENCODINGS))
def test_drift_reads_the_real_columns(cli: Run, tmp_path: Path, kind: str) -> None:
    reference = tmp_path / "reference.csv"
    reference.write_text(table().replace(";", ","))
    current = tmp_path / "current.csv"
    current.write_bytes(ENCODINGS[kind](table()))
    result = cli("drift", str(reference), str(current), "--format", "json", "--no-multivariate")
    report = json.loads(result.stdout)
    compared = [c["column"] for c in report["chunks"][0]["columns"]]
    assert compared == [c for c in COLUMNS if c != "pred_id"]  # an identifier: not drift
    assert "pred_id" in report["settings"]["skipped_columns"]
    assert report["drifted_columns"] == []


@pytest.mark.parametrize("kind", list(ENCODINGS))
def test_contract_infer_reads_the_real_columns(cli: Run, tmp_path: Path, kind: str) -> None:
    data = tmp_path / "train.csv"
    data.write_bytes(ENCODINGS[kind](table()))
    out = tmp_path / "contract.yaml"
    cli("contract", "infer", str(data), "-o", str(out), "--no-store")
    contract = yaml.safe_load(out.read_text())
    assert list(contract["columns"]) == COLUMNS
    assert contract["columns"]["age"]["type"] == "int"
    assert contract["columns"]["score"]["type"] == "float"
    assert set(contract["columns"]["city"]["categories"]) == {"Lyon", "Zürich", "São Paulo"}
    cli("contract", "check", str(out), str(data))


@pytest.mark.parametrize("kind", list(ENCODINGS))
def test_labels_ingest_reads_the_real_columns(churn: Run, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(ENCODINGS[kind](table(rows=30)))
    out = churn(
        "labels", "ingest", str(path), "--product", "churn",
        "--id-column", "pred_id", "--label-column", "city",
    )  # fmt: skip
    assert "ingested 30 labels" in out.stdout
    with Registry(actor="t") as registry:
        labels = registry.labels("churn")
    assert len(labels) == 30
    assert set(labels.values()) == {"Lyon", "Zürich", "São Paulo"}


BAD_FILES: dict[str, bytes] = {
    "binary": bytes(range(256)) * 64,
    "parquet-named-csv": b"PAR1" + bytes(range(256)) * 4 + b"PAR1",
    "duplicate-header": b"pred_id,age,age\np1,1,2\np2,3,4\n",
    "duplicate-header-utf-16": "pred_id;city;city\np1;a;b\n".encode("utf-16"),
    "latin-1": "pred_id,city\np1,Zürich\n".encode("latin-1"),
    "empty": b"",
}


def bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(BAD_FILES[kind])
    return path


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_are_one_error_line(churn: Run, tmp_path: Path, kind: str) -> None:
    path = bad_file(tmp_path, kind)
    good = tmp_path / "good.csv"
    good.write_text(table())
    for args in (
        ["drift", str(good), str(path)],
        ["drift", str(path), str(good), "--product", "churn"],
        ["contract", "infer", str(path), "-o", str(tmp_path / "c.yaml")],
        ["labels", "ingest", str(path), "--product", "churn",
         "--id-column", "pred_id", "--label-column", "city"],
    ):  # fmt: skip
        result = churn(*args, expect=2)
        one_error_line(result.stderr, path)
    assert not (tmp_path / "c.yaml").exists()
    with Registry(actor="t") as registry:
        assert registry.label_count("churn") == 0
        assert [e.action for e in registry.audit_log()] == ["product.created"]
