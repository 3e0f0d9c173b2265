from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postpilot import InputError, NotFoundError, Registry, TrainingData


@pytest.fixture
def reg(team_registry: Registry) -> Registry:
    team_registry.create_product("churn", owner="maya@example.com")
    return team_registry


def test_versions_count_up_per_model(reg: Registry) -> None:
    first = reg.register_model(
        "churn", artifact="s3://m/v1.joblib", flavor="sklearn", metrics={"auc": 0.91}
    )
    second = reg.register_model(
        "churn", artifact="s3://m/v2.joblib", flavor="sklearn", metrics=["auc=0.93", "f1=0.8"]
    )
    other = reg.register_model("churn", artifact="s3://m/b.onnx", flavor="onnx", model="challenger")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert second.metrics == {"auc": 0.93, "f1": 0.8}
    listed = [(v.model, v.version) for v in reg.product("churn").versions]
    assert listed == [("challenger", 1), ("churn", 1), ("churn", 2)]
    assert second.created_by == "tester@example.com"


def test_local_training_data_is_fingerprinted(reg: Registry, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_bytes(b"a,b\n1,2\n")
    version = reg.register_model(
        "churn",
        artifact="model.joblib",
        flavor="sklearn",
        training_data=TrainingData(
            uri=str(data),
            rows=1,
            start=datetime(2026, 7, 1, tzinfo=UTC),
            end=datetime(2026, 9, 30, tzinfo=UTC),
        ),
    )
    training = version.training_data
    assert training is not None
    assert training.fingerprint == "sha256:" + hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert (training.rows, training.start.month, training.end.month) == (1, 7, 9)
    assert reg.product("churn").versions[0].training_data == training


def test_remote_training_data_is_kept_as_given(reg: Registry) -> None:
    version = reg.register_model(
        "churn", artifact="a", flavor="sklearn", training_data="s3://bucket/q3.parquet"
    )
    assert version.training_data.uri == "s3://bucket/q3.parquet"
    assert version.training_data.fingerprint is None


def test_missing_local_training_data_is_an_error(reg: Registry, tmp_path: Path) -> None:
    missing = tmp_path / "nope.parquet"
    with pytest.raises(InputError) as info:
        reg.register_model("churn", artifact="a", flavor="sklearn", training_data=str(missing))
    assert info.value.file == str(missing)
    assert reg.product("churn").versions == []


@pytest.mark.parametrize("metric", ["auc", "auc=high", "=0.5", "auc=nan", "a b=1"])
def test_bad_metrics_are_refused(reg: Registry, metric: str) -> None:
    with pytest.raises(InputError, match="NAME=VALUE") as info:
        reg.register_model("churn", artifact="a", flavor="sklearn", metrics=[metric])
    assert info.value.field == "metrics"


def test_bad_flavor_and_unknown_product(reg: Registry) -> None:
    with pytest.raises(InputError) as info:
        reg.register_model("churn", artifact="a", flavor="Sci Kit")
    assert info.value.field == "flavor"
    with pytest.raises(NotFoundError):
        reg.register_model("nope", artifact="a", flavor="sklearn")
    assert reg.product("churn").versions == []
