from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.contracts.data import crm, migrated
from tests.helpers import Run, as_json


@pytest.fixture
def files(tmp_path: Path) -> Path:
    crm(10_000, seed=1).write_parquet(tmp_path / "train.parquet")
    crm(3_000, seed=2).write_csv(tmp_path / "fresh.csv")
    migrated(3_000, seed=3).write_csv(tmp_path / "migrated.csv")
    return tmp_path


def test_infer_then_check(cli: Run, files: Path) -> None:
    out = files / "crm.yaml"
    result = cli("contract", "infer", str(files / "train.parquet"), "-o", str(out))
    assert "stored as train@1" in result.stdout
    assert out.is_file()
    assert (files / "crm.profile").is_file()
    clean = cli("contract", "check", str(out), str(files / "fresh.csv"), "--format", "json")
    assert as_json(clean) == {"ok": True, "rows": 3000, "contract": "train", "findings": []}
    broken = cli("contract", "check", str(out), str(files / "migrated.csv"), "-f", "json", expect=1)
    kinds = {(f["kind"], f["column"]) for f in as_json(broken)["findings"]}
    assert {
        ("likely_rename", "amount"),
        ("unit_change", "amount"),
        ("new_category", "stage"),
    } <= kinds
    table = cli("contract", "check", "train@1", str(files / "migrated.csv"), expect=1).stdout
    assert "FAILED" in table
    assert "likely_rename" in table


def test_infer_links_the_source_and_its_steward(cli: Run, files: Path) -> None:
    cli("person", "add", "ines@example.com", "--name", "Ines")
    cli("product", "create", "churn")
    cli("source", "add", "churn", "crm", "--steward", "ines@example.com")
    cli(
        "contract",
        "infer",
        str(files / "train.parquet"),
        "-o",
        str(files / "c.yaml"),
        "--product",
        "churn",
        "--source",
        "crm",
    )
    listed = as_json(cli("contract", "list", "-f", "json"))
    assert listed[0]["name"] == "crm"
    assert (listed[0]["product"], listed[0]["source"], listed[0]["steward"]) == (
        "churn",
        "crm",
        "ines@example.com",
    )
    assert "steward: ines@example.com" in cli("contract", "show", "crm").stdout


def test_unreadable_inputs_exit_2_naming_the_file(cli: Run, files: Path) -> None:
    cli("contract", "infer", str(files / "train.parquet"), "-o", str(files / "c.yaml"))
    missing = cli("contract", "check", str(files / "c.yaml"), str(files / "nope.csv"), expect=2)
    assert missing.stderr.startswith("error: ")
    assert "nope.csv" in missing.stderr
    bad = files / "bad.yaml"
    bad.write_text("name: x\ncolumns:\n  a: {type: flaot}\n  b: {type: int, colour: red}\n")
    result = cli("contract", "check", str(bad), str(files / "fresh.csv"), expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {bad}:3: columns.a.type:")
    assert lines[1].startswith(f"error: {bad}:4: columns.b.colour: unknown key")
    assert "Traceback" not in result.stderr


def test_diff_of_files_and_stored_versions(cli: Run, files: Path) -> None:
    a = files / "a.yaml"
    cli("contract", "infer", str(files / "train.parquet"), "-o", str(a), "--name", "crm")
    b = files / "b.yaml"
    b.write_text(
        "".join(
            line
            for line in a.read_text().splitlines(keepends=True)
            if line.strip() != "- negotiation"
        )
    )
    assert "no changes" in cli("contract", "diff", str(a), "crm@1").stdout
    changes = json.loads(cli("contract", "diff", str(a), str(b), "-f", "json").stdout)
    assert changes == [
        {
            "column": "stage",
            "field": "categories",
            "before": {"removed": ["negotiation"]},
            "after": {"added": []},
        }
    ]
