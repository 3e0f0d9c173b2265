"""A gateway world: a product with a real model trained on a real table, routed and keyed.

The model is a scikit-learn pipeline trained on six columns of scikit-learn's
breast-cancer table (renamed to snake_case); the training data, with its label
``malignant``, is registered with the model, so its contract is inferred and
the gateway validates every record against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import polars as pl

from postpilot import Registry
from postpilot.gateway.app import Gateway, create_app
from postpilot.gateway.ratelimit import MemoryRateLimiter
from postpilot.gateway.service import set_route
from tests.gateway import models
from tests.realdata import sklearn_table

FEATURES = {
    "mean radius": "mean_radius",
    "mean texture": "mean_texture",
    "mean perimeter": "mean_perimeter",
    "mean area": "mean_area",
    "mean smoothness": "mean_smoothness",
    "worst radius": "worst_radius",
}
PRODUCT = "tumor"


def training_table() -> pl.DataFrame:
    table = sklearn_table("breast_cancer", with_target=True)
    return table.select(
        *[pl.col(old).alias(new) for old, new in FEATURES.items()],
        (pl.col("target") == 0).alias("malignant"),
    )


def records(n: int = 5, offset: int = 0) -> list[dict[str, Any]]:
    rows = training_table().drop("malignant").slice(offset, n).to_dicts()
    return rows


@dataclass
class World:
    registry: Registry
    home: Path
    keys: dict[str, str]
    """Plaintext keys by name: ``predict``, ``feedback``, ``view_all``, ``admin``, ``other``."""

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def app(self, **kwargs: Any) -> Any:
        gateway = Gateway(
            self.registry, limiter=kwargs.pop("limiter", MemoryRateLimiter()), **kwargs
        )
        return create_app(gateway)


def train(home: Path) -> tuple[Path, Path]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = training_table()
    data = home / "training.parquet"
    table.write_parquet(data)
    frame = table.drop("malignant").to_pandas()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(frame, table["malignant"].to_list())
    artifact = home / "model.joblib"
    joblib.dump(pipeline, artifact)
    counting = home / "counting.joblib"
    joblib.dump(models.counting_model, counting)
    return data, artifact


def build(home: Path, url: str | None = None, *, counting: bool = False) -> World:
    """The world: ``tumor`` served by the pipeline (or the counting model), v1 as fallback."""
    home.mkdir(parents=True, exist_ok=True)
    registry = Registry(url or f"sqlite:///{home / 'store.db'}", actor="lead@example.com")
    registry.add_person("maya@example.com", name="Maya Chen")
    registry.create_product(PRODUCT, stage="pilot", owner="maya@example.com")
    data, artifact = train(home)
    registry.register_model(
        PRODUCT, artifact=str(artifact), flavor="sklearn", training_data=str(data)
    )
    second = home / "counting.joblib" if counting else artifact
    registry.register_model(
        PRODUCT, artifact=str(second), flavor="sklearn", training_data=str(data)
    )
    options = {"exclude": ["malignant"]} if counting else None
    set_route(registry, PRODUCT, version=2, options=options)
    registry.add_consumer("crm-eu", description="the CRM")
    registry.add_consumer("billing")
    registry.create_product("other", stage="pilot", owner="maya@example.com")
    keys = {
        "predict": registry.create_key("crm-eu", products=[PRODUCT], scopes=["predict"]),
        "feedback": registry.create_key("crm-eu", products=[PRODUCT], scopes=["feedback", "view"]),
        "view_all": registry.create_key("billing", products=["*"], scopes=["view"]),
        "admin": registry.create_key("billing", products=[PRODUCT], scopes=["admin", "view"]),
        "other": registry.create_key("billing", products=["other"], scopes=["predict"]),
    }
    return World(registry, home, {name: made.plaintext for name, made in keys.items()})
