"""The demo's gateway chapter: the model served over real HTTP, keyed, adapted, switched.

A real scikit-learn model is trained on the pilot's training data, routed, and
served by the same app ``postpilot serve`` runs (uvicorn, on a free port of
127.0.0.1, in a thread); every request below crosses a real socket.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postpilot.registry import Registry, TrainingData

__all__ = ["GatewayStory", "gateway_chapter"]

Say = Callable[[str], None]


@dataclass
class GatewayStory:
    """What the chapter saw, for the demo's tests: one HTTP status per step."""

    statuses: dict[str, int] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    """The fields the gateway named when it refused the migrated record."""


def _train(training: Path, artifact: Path) -> None:
    import joblib
    import polars as pl
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    table = pl.read_parquet(training)
    inputs = table.drop("opportunity_id").to_pandas()
    # the forecast: the weighted value of each open opportunity
    target = (table["amount_usd"] * table["close_probability"]).to_numpy()
    model = make_pipeline(
        ColumnTransformer(
            [("categories", OneHotEncoder(handle_unknown="ignore"), ["stage", "region"])],
            remainder="passthrough",
        ),
        Ridge(),
    )
    model.fit(inputs, target)
    joblib.dump(model, artifact)


class _Server:
    """The gateway app on uvicorn in a background thread."""

    def __init__(self, reg: Registry) -> None:
        import uvicorn

        from postpilot.gateway.app import Gateway, create_app
        from postpilot.gateway.ratelimit import MemoryRateLimiter

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        app = create_app(Gateway(reg, limiter=MemoryRateLimiter(), refresh_seconds=0.2))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="error", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's gateway did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def gateway_chapter(
    reg: Registry,
    slug: str,
    workdir: Path,
    training: Path,
    migrated: Any,
    say: Say,
) -> GatewayStory:
    """Chapter 6: the integration lead plugs the model into the shared gateway."""
    import httpx

    from postpilot.gateway.service import apply_adapter, set_route, suggest_for_data
    from postpilot.registry.routes import Fallback

    story = GatewayStory()
    say("6. The integration lead plugs the model into the shared gateway, once.")
    artifact = workdir / "revenue-forecast-v2.joblib"
    _train(training, artifact)
    version = reg.register_model(
        slug,
        artifact=str(artifact),
        flavor="sklearn",
        training_data=TrainingData(uri=str(training)),
        metrics={"mape": 0.07},
    )
    fallback = Fallback("constant", {"prediction": None, "note": "use the rep's own estimate"})
    set_route(reg, slug, version=version.version, fallback=fallback)
    reg.add_consumer("crm", description="the CRM's opportunity screen")
    key = reg.create_key("crm", products=[slug], scopes=["predict"])
    say(
        f"  version {version.version} routed (fallback: a constant answer); consumer 'crm' got "
        f"key {key.key.key_id} (shown once, stored only as a hash)"
    )
    url_path = f"/v1/products/{slug}/predict"
    record = {
        "opportunity_id": "OPP-77-0000001",
        "amount_usd": 48_000.0,
        "stage": "negotiation",
        "region": "EMEA",
        "employees": 420,
        "close_probability": 0.6,
    }
    auth = {"Authorization": f"Bearer {key.plaintext}"}
    with _Server(reg) as base, httpx.Client(base_url=base, timeout=30) as client:
        anonymous = client.post(url_path, json={"record": record})
        story.statuses["no key"] = anonymous.status_code
        say(f"  without a key: {anonymous.status_code} {anonymous.json()['title']}")
        served = client.post(url_path, json={"record": record}, headers=auth)
        story.statuses["served"] = served.status_code
        body = served.json()
        say(
            f"  with the key: {served.status_code}, forecast "
            f"{body['predictions'][0]['prediction']:,.0f} USD from version {body['version']} "
            f"(prediction id {body['predictions'][0]['id'][:12]}...)"
        )
        changed = migrated.slice(1, 1).to_dicts()[0]  # a stage the contract knows
        refused = client.post(url_path, json={"record": changed}, headers=auth)
        story.statuses["migrated"] = refused.status_code
        story.fields = sorted({e["field"] for e in refused.json().get("errors", [])})
        say(
            f"  after the CRM migration the same screen sends renamed fields in cents: "
            f"{refused.status_code}, naming {', '.join(story.fields)}; nothing reached the model"
        )
        batch = workdir / "crm_after_migration.parquet"
        migrated.write_parquet(batch)
        adapter, text, _ = suggest_for_data(reg, slug, batch, consumer="crm")
        (workdir / "crm-adapter.yaml").write_text(text, encoding="utf-8")
        stored, _ = apply_adapter(reg, workdir / "crm-adapter.yaml")
        renames = ", ".join(f"{old} -> {new}" for old, new in adapter.rename.items())
        say(
            f"  postpilot adapter suggest proposes: rename {renames}; convert "
            f"{', '.join(adapter.units)}; applied as the crm's adapter v{stored.version}, "
            "once, in the gateway"
        )
        time.sleep(0.5)  # a running gateway notices a new adapter within seconds
        fixed = client.post(url_path, json={"record": changed}, headers=auth)
        story.statuses["adapted"] = fixed.status_code
        answer = fixed.json()
        say(
            f"  the same record now: {fixed.status_code}, "
            + (
                f"served by the {answer['served_by']}"
                if fixed.status_code == 200
                else f"still refused: {answer['detail']}"
            )
        )
        reg.set_fallback(slug, True, reason="demo: the owner pulls the model")
        time.sleep(0.5)
        switched = client.post(url_path, json={"record": record}, headers=auth).json()
        story.statuses["fallback"] = 200 if switched["served_by"] == "fallback" else 0
        say(
            f"  the owner switches the route to its fallback: served_by={switched['served_by']}, "
            f"answer {switched['predictions'][0]}"
        )
        reg.set_fallback(slug, False)
        reg.revoke_key(key.key.key_id)
        time.sleep(0.5)
        revoked = client.post(url_path, json={"record": record}, headers=auth)
        story.statuses["revoked"] = revoked.status_code
        say(f"  the key is revoked: {revoked.status_code} within a second")
    logged = reg.prediction_count(slug)
    quarantined = reg.quarantine_count(slug)
    say(f"  the prediction log holds {logged} predictions; {quarantined} record(s) in quarantine")
    return story
