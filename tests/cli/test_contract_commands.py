from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.contracts.data import crm, migrated
from tests.helpers import CliStore, Run, as_json


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


# -- bad input: one error line, exit 2, nothing stored, no file written -----------------


def _stored(cli: Run) -> list[object]:
    listed: list[object] = as_json(cli("contract", "list", "-f", "json"))
    return listed


def _refused(cli: Run, folder: Path, *args: str) -> str:
    """Run ``contract infer ARGS``: exit 2, one stderr line, no version, no new file."""
    assert _stored(cli) == []  # opens the store (under the same folder) first
    before = sorted(p.name for p in folder.iterdir())
    result = cli("contract", "infer", *args, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    assert _stored(cli) == []
    assert sorted(p.name for p in folder.iterdir()) == before
    return lines[0]


@pytest.mark.parametrize("value", ["nan", "-0.1", "inf"])
def test_a_range_tolerance_that_is_not_a_finite_share_is_refused(
    cli: Run, files: Path, value: str
) -> None:
    line = _refused(
        cli,
        files,
        str(files / "train.parquet"),
        "-o",
        str(files / "c.yaml"),
        "--range-tolerance",
        value,
    )
    assert "--range-tolerance" in line


def test_an_output_that_is_a_folder_stores_nothing_and_leaves_no_tmp(cli: Run, files: Path) -> None:
    (files / "out").mkdir()
    line = _refused(cli, files, str(files / "train.parquet"), "-o", str(files / "out"))
    assert "--output" in line
    assert list((files / "out").iterdir()) == []


def test_an_output_that_is_the_input_is_refused(cli: Run, files: Path) -> None:
    data = files / "fresh.csv"
    original = data.read_bytes()
    line = _refused(cli, files, str(data), "-o", str(data))
    assert "--output" in line
    assert data.read_bytes() == original


def test_a_profile_named_output_would_collide_with_its_profile(cli: Run, files: Path) -> None:
    (files / "out").mkdir()
    line = _refused(
        cli, files, str(files / "train.parquet"), "-o", str(files / "out" / "x.profile")
    )
    assert "--output" in line
    assert list((files / "out").iterdir()) == []


def test_a_header_only_training_file_is_refused_naming_it(cli: Run, files: Path) -> None:
    empty = files / "empty.csv"
    empty.write_text("a,b,c\n")
    line = _refused(cli, files, str(empty), "-o", str(files / "c.yaml"))
    assert "empty.csv" in line
    assert "no rows" in line


def test_an_all_null_training_file_is_refused_naming_it(cli: Run, files: Path) -> None:
    nulls = files / "nulls.csv"
    nulls.write_text("a,b\n,\n,\n,\n")
    line = _refused(cli, files, str(nulls), "-o", str(files / "c.yaml"))
    assert "nulls.csv" in line
    assert "null" in line


def test_columns_of_only_nan_or_inf_give_a_contract(cli: Run, files: Path) -> None:
    odd = files / "odd.csv"
    odd.write_text(
        "nan_only,inf_only,mixed,ok\n"
        + "".join(f"NaN,inf,{'-inf' if i % 7 == 0 else i},{i}\n" for i in range(60))
    )
    out = files / "odd.yaml"
    cli("contract", "infer", str(odd), "-o", str(out))
    clean = as_json(cli("contract", "check", str(out), str(odd), "-f", "json"))
    assert clean["ok"], clean
    assert len(_stored(cli)) == 1


def test_markup_in_column_names_is_printed_as_text(cli: Run, files: Path) -> None:
    data = files / "markup.csv"
    data.write_text("[bold red]x[/bold red],[/]\n" + "".join(f"{i},{i}\n" for i in range(50)))
    out = files / "m.yaml"
    cli("contract", "infer", str(data), "-o", str(out), "--no-store")
    moved = files / "moved.csv"
    moved.write_text(
        "[bold red]x[/bold red],[/]\n" + "".join(f"{i + 900},{i}\n" for i in range(50))
    )
    table = cli("contract", "check", str(out), str(moved), expect=1).stdout
    assert "[bold red]x[/bold red]" in table


def test_model_register_refuses_header_only_training_data(cli: Run, files: Path) -> None:
    cli("product", "create", "churn")
    empty = files / "empty.csv"
    empty.write_text("a,b\n")
    result = cli(
        "model",
        "register",
        "churn",
        "--artifact",
        "m.joblib",
        "--flavor",
        "sklearn",
        "--training-data",
        str(empty),
        expect=2,
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no rows" in result.stderr
    assert _stored(cli) == []
    assert "has no model" in cli("model", "card", "churn", expect=2).stderr


def test_model_register_profiles_nan_and_inf_only_columns(cli: Run, files: Path) -> None:
    cli("product", "create", "churn")
    odd = files / "odd.csv"
    odd.write_text("x,y,z\n" + "".join(f"NaN,inf,{i}\n" for i in range(40)))
    cli(
        "model",
        "register",
        "churn",
        "--artifact",
        "m.joblib",
        "--flavor",
        "sklearn",
        "--training-data",
        str(odd),
    )
    [stored] = _stored(cli)
    assert stored["name"] == "churn-training"  # type: ignore[index]


def test_infer_no_store_writes_the_files_and_stores_nothing(
    cli: Run, cli_store: CliStore, tmp_path: Path
) -> None:
    crm(500, seed=1).write_csv(tmp_path / "train.csv")
    before = cli_store.snapshot()
    out = tmp_path / "crm.yaml"
    kept = cli("contract", "infer", str(tmp_path / "train.csv"), "-o", str(out), "--no-store")
    assert "stored as" not in kept.stdout
    assert out.is_file()
    assert (tmp_path / "crm.profile").is_file()
    assert cli_store.snapshot() == before
    assert as_json(cli("contract", "list", "-f", "json")) == []
    stored = cli("contract", "infer", str(tmp_path / "train.csv"), "-o", str(out))
    assert "stored as train@1" in stored.stdout
    assert [c["name"] for c in as_json(cli("contract", "list", "-f", "json"))] == ["train"]
    cli("contract", "infer", str(tmp_path / "train.csv"), "-o", str(out), "--name", "crm")
    assert [c["name"] for c in as_json(cli("contract", "list", "-f", "json"))] == ["crm", "train"]
    only = as_json(cli("contract", "list", "--name", "crm", "-f", "json"))
    assert [(c["name"], c["version"]) for c in only] == [("crm", 1)]
