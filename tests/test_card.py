from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from postpilot import NotFoundError, Registry, Sla
from postpilot.profiles import Profile
from tests.contracts.data import crm
from tests.helpers import Run


@pytest.fixture
def reg(team_registry: Registry, tmp_path: Path) -> Registry:
    reg = team_registry
    reg.create_product(
        "churn",
        name="Churn predictor",
        owner="maya@example.com",
        purpose="Flag accounts likely to churn",
        kpi="net revenue retention",
        sla=Sla(quality_metric="roc_auc", quality_threshold=0.8),
    )
    reg.add_source("churn", "crm", description="CRM export", steward="ines@example.com")
    frame = crm(3_000, seed=1).with_columns(
        pl.datetime_range(datetime(2026, 7, 1), datetime(2026, 9, 30), interval="30m", eager=True)
        .head(3_000)
        .alias("closed_at")
    )
    frame.write_parquet(tmp_path / "q3.parquet")
    return reg


def test_registering_profiles_the_training_data(reg: Registry, tmp_path: Path) -> None:
    version = reg.register_model(
        "churn",
        artifact="s3://m/v1",
        flavor="sklearn",
        training_data=str(tmp_path / "q3.parquet"),
        metrics={"roc_auc": 0.91},
        limitations="No APAC data",
    )
    assert version.training_data.rows == 3_000
    assert version.training_data.start == datetime(2026, 7, 1, tzinfo=UTC)
    assert version.training_data.end.month == 9
    assert version.contract == "churn-training@1"
    stored = reg.contract("churn-training", 1)
    assert (stored.product, stored.source, stored.contract.steward) == (
        "churn",
        "crm",
        "ines@example.com",
    )
    assert Profile.from_bytes(stored.profile).rows == 3_000
    assert reg.product("churn").versions[0].limitations == "No APAC data"


def test_the_card_documents_data_people_metrics_and_limits(reg: Registry, tmp_path: Path) -> None:
    reg.register_model(
        "churn",
        artifact="s3://m/v1",
        flavor="sklearn",
        training_data=str(tmp_path / "q3.parquet"),
        metrics={"roc_auc": 0.91},
        limitations="No APAC enterprise data",
    )
    md = reg.card("churn").to_markdown()
    for expected in [
        "# Model card: Churn predictor, churn v1",
        "## Intended use",
        "Flag accounts likely to churn",
        "Quality SLA: roc_auc >= 0.8.",
        "| owner | Who will own this model six months after launch? | Maya Chen",
        "| data_steward:crm |",
        "Ines Duarte <ines@example.com>",
        "| rows | 3,000 |",
        "| time range | 2026-07-01 to 2026-09-01 |",
        "sha256:",
        "| contract | churn-training@1 |",
        "| account_id | string | 0.0% |",
        "identifier (nearly every value distinct)",
        "| stage | string |",
        "won (",
        "| amount_usd | float |",
        "| roc_auc | 0.91 |",
        "No APAC enterprise data",
    ]:
        assert expected in md, expected
    page = reg.card("churn", version=1).to_html()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page
    assert "http" not in page.split("<body>")[0]  # nothing fetched from elsewhere
    assert "Ines Duarte &lt;ines@example.com&gt;" in page


def test_card_without_a_version_is_a_clear_error(reg: Registry) -> None:
    with pytest.raises(NotFoundError, match="no model"):
        reg.card("churn")


def test_remote_training_data_is_documented_without_a_profile(reg: Registry) -> None:
    reg.register_model(
        "churn", artifact="a", flavor="sklearn", training_data="s3://bucket/q3.parquet"
    )
    md = reg.card("churn").to_markdown()
    assert "not computed (remote data)" in md
    assert "Training data columns" not in md


def test_card_cli(cli: Run, tmp_path: Path) -> None:
    crm(500, seed=1).write_csv(tmp_path / "train.csv")
    cli("person", "add", "maya@example.com", "--name", "Maya")
    cli("product", "create", "churn", "--owner", "maya@example.com")
    out = cli(
        "model",
        "register",
        "churn",
        "--artifact",
        "a",
        "--flavor",
        "sklearn",
        "--training-data",
        str(tmp_path / "train.csv"),
        "--limitations",
        "tiny",
    ).stdout
    assert "contract stored as churn-training@1" in out
    card = cli("card", "churn").stdout
    assert "## Known limitations" in card
    assert "tiny" in card.split("## Known limitations", 1)[1]
    cli("card", "churn", "--format", "html", "-o", str(tmp_path / "card.html"))
    assert (tmp_path / "card.html").read_text().startswith("<!doctype html>")
    assert cli("card", "churn", "--version", "7", expect=2).stderr.startswith("error: ")
