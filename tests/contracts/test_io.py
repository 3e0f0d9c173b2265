from __future__ import annotations

from pathlib import Path

import pytest

from postpilot.contracts import (
    Contract,
    diff_contracts,
    dump_contract,
    infer_contract,
    load_contract,
    loads_contract,
)
from postpilot.errors import ContractError
from tests.contracts.data import crm


def test_inferred_contract_reads_back_identically(tmp_path: Path) -> None:
    contract = infer_contract(crm(3_000, seed=1), name="crm", source="crm")
    path = tmp_path / "crm.yaml"
    dump_contract(contract, path)
    assert load_contract(path) == contract
    text = path.read_text()
    assert text.startswith("# postpilot data contract")
    assert "schema_version: 1" in text


def test_inference_rules() -> None:
    contract = infer_contract(crm(3_000, seed=1), name="crm")
    cols = contract.columns
    assert cols["account_id"].identifier
    assert cols["account_id"].categories is None
    assert cols["stage"].categories == ["lost", "negotiation", "open", "won"]
    assert not cols["stage"].nullable
    assert cols["discount"].nullable
    assert 0.05 < cols["discount"].max_null_rate < 0.1
    amount = cols["amount_usd"]
    assert amount.range.min == 0.0  # never below zero when no negative was seen
    assert amount.range.max > amount.reference.max
    assert cols["employees"].type == "int"
    assert cols["employees"].range.min == 0
    assert set(amount.reference.quantiles) == {
        "p01",
        "p05",
        "p10",
        "p25",
        "p50",
        "p75",
        "p90",
        "p95",
        "p99",
    }


MALFORMED = """\
schema_version: 1
name: crm
columns:
  amount:
    type: flaot
    range: {min: 5, max: 1}
  stage:
    type: string
    categorys: [a, b]
  ok: {type: int, max_null_rate: 2}
"""


def test_a_malformed_contract_lists_every_mistake_with_its_line() -> None:
    with pytest.raises(ContractError) as info:
        loads_contract(MALFORMED, source="crm.yaml")
    problems = info.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("crm.yaml:5: columns.amount.type:")
    assert "got 'flaot'" in problems[0]
    assert problems[1].startswith("crm.yaml:6: columns.amount.range:")
    assert "greater than max" in problems[1]
    assert problems[2].startswith("crm.yaml:9: columns.stage.categorys: unknown key; allowed:")
    assert "categories" in problems[2]
    assert problems[3].startswith("crm.yaml:10: columns.ok.max_null_rate:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "crm.yaml:2: not valid YAML"),
        ("- a\n- b\n", "a contract is a mapping"),
        ("schema_version: 2\nname: x\ncolumns: {a: {type: int}}\n", "schema_version"),
        ("name: x\ncolumns: {}\n", "at least one column"),
        ("name: x\ncolumns:\n  a: {type: string, range: {min: 0}}\n", "range applies to int"),
    ],
)
def test_malformed_contracts(text: str, expected: str) -> None:
    with pytest.raises(ContractError, match=r"crm\.yaml") as info:
        loads_contract(text, source="crm.yaml")
    assert expected in str(info.value)


def test_missing_contract_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="not found") as info:
        load_contract(tmp_path / "nope.yaml")
    assert info.value.file.endswith("nope.yaml")


def test_diff() -> None:
    old = infer_contract(crm(3_000, seed=1), name="crm")
    new_columns = dict(old.columns)
    new_columns.pop("region")
    new_columns["stage"] = old.columns["stage"].model_copy(
        update={"categories": ["lost", "open", "won", "closed_won"]}
    )
    new_columns["discount"] = old.columns["discount"].model_copy(update={"nullable": False})
    new = Contract.model_validate({**old.model_dump(), "columns": new_columns})
    described = [c.describe() for c in diff_contracts(old, new)]
    assert "column 'region' removed" in described
    assert "discount.nullable: True -> False" in described
    cats = next(c for c in diff_contracts(old, new) if c.field == "categories")
    assert (cats.before, cats.after) == ({"removed": ["negotiation"]}, {"added": ["closed_won"]})
    assert diff_contracts(old, old) == []
