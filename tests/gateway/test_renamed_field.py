"""The integration tax, paid once: a CRM migration renames a field and switches a unit; the
gateway refuses the new records naming the field, and the suggested adapter fixes it for
every model behind the route."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from postpilot.gateway.service import apply_adapter, suggest_for_data
from tests.gateway.world import PRODUCT, build, training_table

PREDICT = f"/v1/products/{PRODUCT}/predict"


def _migrated() -> pl.DataFrame:
    """The CRM after its migration: ``mean_texture`` is now ``texture_mean``, and
    ``mean_area`` is sent in hundredths (x100)."""
    table = training_table().drop("malignant").rename({"mean_texture": "texture_mean"})
    return table.with_columns(pl.col("mean_area") * 100)


@pytest.mark.parametrize("consumer", [None, "crm-eu"])
def test_a_renamed_field_fails_naming_it_then_passes_with_the_suggested_adapter(
    tmp_path: Path, consumer: str | None
) -> None:
    world = build(tmp_path / "w")
    batch = tmp_path / "crm.parquet"
    _migrated().write_parquet(batch)
    migrated = _migrated().head(25).to_dicts()
    with TestClient(world.app(refresh_seconds=0.05)) as client:
        before = client.post(PREDICT, json={"records": migrated}, headers=world.headers("predict"))
        assert before.status_code == 422
        errors = before.json()["errors"]
        assert {(e["field"], e["kind"]) for e in errors if e["record"] == 0} == {
            ("mean_texture", "missing"),
            ("texture_mean", "unexpected"),
            ("mean_area", "range"),
        }
        adapter, text, result = suggest_for_data(world.registry, PRODUCT, batch, consumer=consumer)
        assert adapter.rename == {"texture_mean": "mean_texture"}
        assert set(adapter.units) == {"mean_area"}
        assert any(f.kind.value == "likely_rename" for f in result.findings)
        file = tmp_path / "adapter.yaml"
        file.write_text(text)
        apply_adapter(world.registry, file)
        import time

        time.sleep(0.1)  # the route table notices the new adapter
        after = client.post(PREDICT, json={"records": migrated}, headers=world.headers("predict"))
        assert after.status_code == 200, after.text
        first = after.json()["predictions"][0]["id"]
        # the log holds the inputs as the model saw them: under the contract's names
        inputs = world.registry.prediction(first).inputs
        assert "mean_texture" in inputs
        assert inputs["mean_area"] == pytest.approx(training_table()["mean_area"][0])
        # another consumer is not adapted when the adapter is the crm's alone
        other = world.registry.create_key("billing", products=[PRODUCT], scopes=["predict"])
        response = client.post(
            PREDICT,
            json={"records": migrated},
            headers={"Authorization": f"Bearer {other.plaintext}"},
        )
        assert response.status_code == (422 if consumer else 200)
