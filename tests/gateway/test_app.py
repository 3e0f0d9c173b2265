"""The gateway end to end, in process: keys, scopes, limits, validation, fallback, feedback, log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from postpilot.gateway.app import Gateway, create_app
from postpilot.gateway.auth import CACHE_SECONDS, access_of
from postpilot.gateway.ratelimit import MemoryRateLimiter
from postpilot.registry.apikeys import new_key
from postpilot.registry.routes import Fallback
from postpilot.store.models import PredictionRow, QuarantineRow
from tests.gateway import models
from tests.gateway.world import PRODUCT, World, build, records

PREDICT = f"/v1/products/{PRODUCT}/predict"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("gateway"))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(world.app(refresh_seconds=0.05)) as c:
        yield c


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


# -- serving -----------------------------------------------------------------------------


def test_one_record_is_answered_by_the_routed_version_and_logged(
    world: World, client: TestClient
) -> None:
    record = records(1)[0]
    response = client.post(PREDICT, json={"record": record}, headers=world.headers("predict"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["served_by"] == "primary"
    assert (body["model"], body["version"]) == (PRODUCT, 2)
    [prediction] = body["predictions"]
    assert prediction["prediction"] in (True, False)
    assert set(prediction["probabilities"]) == {"False", "True"}
    assert response.headers["x-request-id"] == body["request_id"]
    stored = world.registry.prediction(prediction["id"])
    assert stored.inputs == record
    assert stored.output["prediction"] == prediction["prediction"]
    assert (stored.consumer, stored.served_by, stored.version) == ("crm-eu", "primary", 2)


def test_a_batch_gets_one_prediction_per_record_in_order(world: World, client: TestClient) -> None:
    batch = records(20)
    response = client.post(PREDICT, json={"records": batch}, headers=world.headers("predict"))
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 20
    alone = [
        client.post(PREDICT, json={"record": r}, headers=world.headers("predict")).json()
        for r in batch[:3]
    ]
    for one, batched in zip(alone, predictions, strict=False):
        assert one["predictions"][0]["prediction"] == batched["prediction"]
    assert len({p["id"] for p in predictions}) == 20


def test_a_client_request_id_is_kept(world: World, client: TestClient) -> None:
    headers = {**world.headers("predict"), "X-Request-ID": "crm-42.a:b"}
    response = client.post(PREDICT, json={"record": records(1)[0]}, headers=headers)
    assert response.json()["request_id"] == "crm-42.a:b"
    bad = {**world.headers("predict"), "X-Request-ID": "x" * 65}
    response = client.post(PREDICT, json={"record": records(1)[0]}, headers=bad)
    assert response.json()["request_id"].startswith("rq_")


# -- keys and scopes ---------------------------------------------------------------------


def test_no_key_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.post(PREDICT, json={"record": records(1)[0]})
    body = _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "no API key" in body["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer pp_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBCCCCCC",  # bad checksum
    ],
)
def test_a_malformed_key_is_401(client: TestClient, header: str) -> None:
    response = client.post(
        PREDICT, json={"record": records(1)[0]}, headers={"Authorization": header}
    )
    _problem(response, 401)


def test_a_well_formed_key_that_was_never_issued_is_401(client: TestClient) -> None:
    forged = new_key().plaintext  # right shape and checksum, unknown id
    response = client.post(
        PREDICT, json={"record": records(1)[0]}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert "unknown, revoked or expired" in _problem(response, 401)["detail"]


def test_a_known_key_id_with_the_wrong_secret_is_401(world: World, client: TestClient) -> None:
    real = world.keys["predict"]
    key_id = real.split("_")[1]
    impostor = new_key().plaintext
    # the real key's id with another secret (and that body's valid checksum)
    body = f"pp_{key_id}_{impostor.split('_')[2][:32]}"
    from postpilot.registry import apikeys

    forged = body + apikeys._checksum(body)
    assert apikeys.parse_key(forged) is not None
    response = client.post(
        PREDICT, json={"record": records(1)[0]}, headers={"Authorization": f"Bearer {forged}"}
    )
    _problem(response, 401)


def test_x_api_key_header_works_too(world: World, client: TestClient) -> None:
    response = client.post(
        PREDICT, json={"record": records(1)[0]}, headers={"X-API-Key": world.keys["predict"]}
    )
    assert response.status_code == 200


def test_a_key_for_another_product_is_403(world: World, client: TestClient) -> None:
    response = client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("other"))
    assert "may use other" in _problem(response, 403)["detail"]


def test_a_key_without_the_scope_is_403(world: World, client: TestClient) -> None:
    response = client.post(
        PREDICT, json={"record": records(1)[0]}, headers=world.headers("feedback")
    )
    assert "needs 'predict'" in _problem(response, 403)["detail"]


def test_a_revoked_key_is_refused_within_the_cache_time(tmp_path: Path) -> None:
    assert CACHE_SECONDS <= 5  # the issue: revocation takes effect within 5 s
    world = build(tmp_path)
    key = world.registry.create_key("crm-eu", products=[PRODUCT], scopes=["predict"])
    headers = {"Authorization": f"Bearer {key.plaintext}"}
    with TestClient(world.app(refresh_seconds=0.2)) as client:
        assert (
            client.post(PREDICT, json={"record": records(1)[0]}, headers=headers).status_code == 200
        )
        world.registry.revoke_key(key.key.key_id)
        deadline = time.monotonic() + 5
        status = 200
        while status == 200 and time.monotonic() < deadline:
            status = client.post(
                PREDICT, json={"record": records(1)[0]}, headers=headers
            ).status_code
            time.sleep(0.05)
        assert status == 401


def test_a_rotated_key_works_through_the_overlap_and_the_new_key_at_once(tmp_path: Path) -> None:
    from datetime import timedelta

    world = build(tmp_path)
    old = world.registry.create_key("crm-eu", products=[PRODUCT], scopes=["predict"])
    new = world.registry.rotate_key(old.key.key_id, overlap=timedelta(hours=1))
    quick = world.registry.rotate_key(new.key.key_id, overlap=timedelta(0))
    with TestClient(world.app(refresh_seconds=0.05)) as client:
        for made, status in ((old, 200), (new, 401), (quick, 200)):
            headers = {"Authorization": f"Bearer {made.plaintext}"}
            response = client.post(PREDICT, json={"record": records(1)[0]}, headers=headers)
            assert response.status_code == status, (made.key.key_id, response.text)


# -- rate limits -------------------------------------------------------------------------


def test_a_key_over_its_rate_gets_429_with_retry_after(world: World, client: TestClient) -> None:
    limited = world.registry.create_key(
        "crm-eu", products=[PRODUCT], scopes=["predict"], rate=0.01, burst=2
    )
    headers = {"Authorization": f"Bearer {limited.plaintext}"}
    statuses = [
        client.post(PREDICT, json={"record": records(1)[0]}, headers=headers) for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[2]
    _problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    # another key of the same consumer is not limited by this one
    other = client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict"))
    assert other.status_code == 200


# -- validation --------------------------------------------------------------------------


def test_a_record_that_breaks_the_contract_is_422_quarantined_and_never_reaches_the_model(
    tmp_path: Path,
) -> None:
    world = build(tmp_path, counting=True)
    with TestClient(world.app()) as client:
        good = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        )
        assert good.status_code == 200, good.text
        calls = models.CALLS["calls"]
        bad = records(2)
        del bad[0]["mean_area"]
        bad[1]["mean_radius"] = "large"
        response = client.post(PREDICT, json={"records": bad}, headers=world.headers("predict"))
        body = _problem(response, 422)
        fields = {(e["record"], e["field"], e["kind"]) for e in body["errors"]}
        assert fields == {(0, "mean_area", "missing"), (1, "mean_radius", "type")}
        assert all(e["message"] for e in body["errors"])
        assert models.CALLS["calls"] == calls
    with world.registry.store.reading() as session:
        rows = session.scalars(select(QuarantineRow)).all()
    assert len(rows) == 2
    assert {json.loads(r.errors)[0]["field"] for r in rows} == {"mean_area", "mean_radius"}
    assert all(r.request_id == body["request_id"] for r in rows)


def test_the_label_column_is_not_an_input(world: World, client: TestClient) -> None:
    record = {**records(1)[0], "malignant": True}
    response = client.post(PREDICT, json={"record": record}, headers=world.headers("predict"))
    body = _problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["malignant"]
    assert body["errors"][0]["kind"] == "unexpected"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"record": {"a": 1}, "records": [{"a": 1}]}, "body"),
        ({"records": []}, "records"),
        ({"record": [1, 2]}, "record"),
        ({"record": {"mean_radius": 1}, "extra": 1}, "extra"),
    ],
)
def test_a_malformed_body_is_422_naming_the_field(
    world: World, client: TestClient, payload: Any, field: str
) -> None:
    response = client.post(PREDICT, json=payload, headers=world.headers("predict"))
    body = _problem(response, 422)
    assert any(e["field"] == field or e["field"].startswith(field) for e in body["errors"]), body


def test_invalid_json_is_422(world: World, client: TestClient) -> None:
    response = client.post(
        PREDICT,
        content=b"{not json",
        headers={**world.headers("predict"), "Content-Type": "application/json"},
    )
    _problem(response, 422)


def test_a_batch_over_the_route_limit_is_413(tmp_path: Path) -> None:
    world = build(tmp_path)
    from postpilot.gateway.service import set_route

    set_route(world.registry, PRODUCT, version=2, options={"max_batch": 3})
    with TestClient(world.app()) as client:
        response = client.post(
            PREDICT, json={"records": records(4)}, headers=world.headers("predict")
        )
        _problem(response, 413)


def test_an_unknown_product_is_404_for_a_key_that_may_call_every_product(
    world: World, client: TestClient
) -> None:
    every = world.registry.create_key("billing", products=["*"], scopes=["predict"])
    response = client.post(
        "/v1/products/nosuch/predict",
        json={"record": records(1)[0]},
        headers={"Authorization": f"Bearer {every.plaintext}"},
    )
    _problem(response, 404)


# -- fallback ----------------------------------------------------------------------------


def test_the_fallback_answers_when_switched_on_and_says_so(tmp_path: Path) -> None:
    world = build(tmp_path)
    from postpilot.gateway.service import set_route

    set_route(world.registry, PRODUCT, version=2, fallback=Fallback("version", 1))
    with TestClient(world.app(refresh_seconds=0.05)) as client:
        on = client.put(
            f"/v1/products/{PRODUCT}/fallback",
            json={"active": True, "reason": "drift on amounts"},
            headers=world.headers("admin"),
        )
        assert on.status_code == 200, on.text
        response = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        )
        body = response.json()
        assert (body["served_by"], body["version"], body["fallback_reason"]) == (
            "fallback",
            1,
            "switched",
        )
        stored = world.registry.prediction(body["predictions"][0]["id"])
        assert (stored.served_by, stored.version, stored.fallback_reason) == (
            "fallback",
            1,
            "switched",
        )
        shown = client.get(f"/v1/predictions/{stored.id}", headers=world.headers("feedback")).json()
        assert (shown["served_by"], shown["fallback_reason"]) == ("fallback", "switched")
        world.registry.set_fallback(PRODUCT, False)
        time.sleep(0.1)
        body = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        ).json()
        assert body["served_by"] == "primary"


def test_a_failing_primary_falls_back_to_a_rule(tmp_path: Path) -> None:
    import joblib

    world = build(tmp_path)
    failing = tmp_path / "failing.joblib"
    joblib.dump(models.failing_model, failing)
    world.registry.register_model(
        PRODUCT,
        artifact=str(failing),
        flavor="sklearn",
        training_data=str(tmp_path / "training.parquet"),
    )
    from postpilot.gateway.service import set_route

    set_route(
        world.registry,
        PRODUCT,
        version=3,
        fallback=Fallback("rule", "tests.gateway.models:churn_rule"),
        options={"exclude": ["malignant"]},
    )
    with TestClient(world.app()) as client:
        response = client.post(
            PREDICT, json={"records": records(3)}, headers=world.headers("predict")
        )
        body = response.json()
        assert response.status_code == 200, response.text
        assert body["served_by"] == "fallback"
        assert body["fallback_reason"] == "primary_error"
        stored = world.registry.prediction(body["predictions"][0]["id"])
        assert stored.fallback_reason == "primary_error"
        assert {p["prediction"] for p in body["predictions"]} <= {"rule-big", "rule-small"}


def test_an_unavailable_fallback_is_503_with_retry_after(tmp_path: Path) -> None:
    world = build(tmp_path)
    from postpilot.gateway.service import set_route

    set_route(world.registry, PRODUCT, version=2, fallback=Fallback("unavailable", 120))
    world.registry.set_fallback(PRODUCT, True, reason="retiring")
    with TestClient(world.app()) as client:
        response = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        )
        _problem(response, 503)
        assert response.headers["retry-after"] == "120"


def test_switching_the_fallback_needs_admin(world: World, client: TestClient) -> None:
    response = client.put(
        f"/v1/products/{PRODUCT}/fallback", json={"active": True}, headers=world.headers("predict")
    )
    _problem(response, 403)


# -- feedback ----------------------------------------------------------------------------


def test_a_label_and_an_override_join_the_prediction_by_id(
    world: World, client: TestClient
) -> None:
    served = client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict"))
    prediction_id = served.json()["predictions"][0]["id"]
    label = client.post(
        f"/v1/predictions/{prediction_id}/label",
        json={"label": True},
        headers=world.headers("feedback"),
    )
    assert label.json() == {"prediction_id": prediction_id, "label": True, "status": "new"}
    assert world.registry.labels(PRODUCT, [prediction_id]) == {prediction_id: True}
    override = client.post(
        f"/v1/predictions/{prediction_id}/override",
        json={"by": "agent-7", "decision": "refer", "reason_code": "customer_called"},
        headers=world.headers("feedback"),
    )
    assert override.status_code == 201, override.text
    seen = client.get(f"/v1/predictions/{prediction_id}", headers=world.headers("feedback"))
    assert seen.json()["consumer"] == "crm-eu"
    events = [e.action for e in world.registry.audit_log(product=PRODUCT)]
    assert "prediction.overridden" in events


def test_feedback_for_a_prediction_of_another_product_looks_like_an_unknown_id(
    world: World, client: TestClient
) -> None:
    served = client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict"))
    prediction_id = served.json()["predictions"][0]["id"]
    outsider = world.registry.create_key("billing", products=["other"], scopes=["feedback"])
    headers = {"Authorization": f"Bearer {outsider.plaintext}"}
    known = client.post(
        f"/v1/predictions/{prediction_id}/label", json={"label": 1}, headers=headers
    )
    unknown = client.post("/v1/predictions/pr_nosuch/label", json={"label": 1}, headers=headers)
    assert _problem(known, 404)["title"] == _problem(unknown, 404)["title"]


def test_a_bad_override_names_the_field(world: World, client: TestClient) -> None:
    served = client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict"))
    prediction_id = served.json()["predictions"][0]["id"]
    response = client.post(
        f"/v1/predictions/{prediction_id}/override",
        json={"by": "a", "decision": 1, "reason_code": "has spaces"},
        headers=world.headers("feedback"),
    )
    assert _problem(response, 422)["errors"][0]["field"] == "reason_code"


# -- operations --------------------------------------------------------------------------


def test_health_readiness_and_openapi_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["routes"] >= 1
    spec = client.get("/openapi.json").json()
    assert "/v1/products/{product}/predict" in spec["paths"]


def test_metrics_need_a_view_key_for_every_product(world: World, client: TestClient) -> None:
    client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict"))
    _problem(client.get("/metrics"), 401)
    _problem(client.get("/metrics", headers=world.headers("admin")), 403)
    text = client.get("/metrics", headers=world.headers("view_all")).text
    assert (
        'postpilot_gateway_requests_total{consumer="crm-eu",product="tumor",status="200"}' in text
    )
    assert "postpilot_gateway_request_duration_seconds_bucket" in text
    assert "postpilot_gateway_predictions_total" in text
    assert "postpilot_gateway_log_queue_depth 0.0" in text
    assert "postpilot_gateway_log_dropped_total 0.0" in text
    assert 'postpilot_gateway_log_rows_total{where="store"}' in text
    assert 'postpilot_gateway_circuit_state{product="tumor",state="closed"} 1.0' in text


def test_unknown_paths_and_methods_are_problems(client: TestClient) -> None:
    _problem(client.get("/nosuch"), 404)
    _problem(client.get(PREDICT), 405)


# -- deny by default ---------------------------------------------------------------------

PUBLIC = {"/healthz", "/readyz", "/openapi.json"}


def _sample_path(path: str) -> str:
    return path.replace("{product}", PRODUCT).replace("{prediction_id}", "pr_x")


def test_every_route_declares_its_access_and_refuses_a_request_without_a_key(
    world: World, client: TestClient
) -> None:
    app = client.app
    routes = app.routes  # type: ignore[attr-defined]
    assert all(isinstance(r, APIRoute) for r in routes), "a route bypasses the dependencies"
    assert len(routes) >= 10
    for route in routes:
        access = access_of(route.endpoint)
        assert access is not None, f"{route.path} declares no access rule"
        for method in sorted(route.methods - {"HEAD"}):
            response = client.request(method, _sample_path(route.path), json={})
            if route.path in PUBLIC:
                assert access.public
                assert response.status_code in (200, 503), route.path
            else:
                assert not access.public, route.path
                assert response.status_code == 401, (method, route.path, response.text)


def test_a_route_added_without_an_access_rule_is_refused_even_with_a_valid_key(
    world: World,
) -> None:
    app = world.app()

    @app.get("/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    with TestClient(app) as client:
        assert client.get("/v1/forgotten").status_code == 401
        response = client.get("/v1/forgotten", headers=world.headers("view_all"))
        assert response.status_code == 403
        assert "secret" not in response.text
    assert [r for r in app.routes if isinstance(r, APIRoute) and access_of(r.endpoint) is None]


def test_the_enumeration_test_would_catch_a_route_without_a_rule(world: World) -> None:
    app = world.app()

    @app.get("/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    undeclared = [r.path for r in app.routes if access_of(getattr(r, "endpoint", None)) is None]
    assert undeclared == ["/v1/forgotten"]


# -- secrets -----------------------------------------------------------------------------


def test_no_plaintext_key_is_stored_logged_or_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = build(tmp_path)
    texts: list[str] = []
    with TestClient(world.app()) as client:
        for name in world.keys:
            for path in (PREDICT, "/metrics", f"/v1/products/{PRODUCT}/route"):
                method = client.post if path == PREDICT else client.get
                kwargs: dict[str, Any] = (
                    {"json": {"record": records(1)[0]}} if path == PREDICT else {}
                )
                response = method(path, headers=world.headers(name), **kwargs)
                texts.append(response.text + json.dumps(dict(response.headers)))
        texts.append(client.get("/metrics", headers=world.headers("view_all")).text)
    texts.append(caplog.text)
    meta = MetaData()
    with world.registry.store.engine.connect() as conn:
        meta.reflect(conn)
        for table in meta.sorted_tables:
            texts.extend(repr(row) for row in conn.execute(table.select()))
    dump = "\n".join(texts)
    assert PredictionRow.__tablename__ in {t.name for t in meta.sorted_tables}
    for plaintext in world.keys.values():
        secret = plaintext.split("_")[2]
        assert plaintext not in dump
        assert secret[:16] not in dump


def test_a_store_that_cannot_take_the_log_spools_and_replays_each_prediction_once(
    tmp_path: Path,
) -> None:
    from sqlalchemy import text

    world = build(tmp_path)
    app = world.app()
    journal = app.state.gateway.journal
    with TestClient(app) as client:
        with world.registry.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE predictions RENAME TO predictions_away"))
        spooled = client.post(
            PREDICT, json={"records": records(3)}, headers=world.headers("predict")
        )
        assert spooled.status_code == 200, spooled.text  # acknowledged: it is in the spool
        assert journal.stats.spooled == 3
        assert journal.spool.pending() == 1
        with world.registry.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE predictions_away RENAME TO predictions"))
        after = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        )
        assert after.status_code == 200
        deadline = time.monotonic() + 10
        while journal.spool.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journal.spool.pending() == 0
        assert journal.stats.replayed == 3
    for prediction in spooled.json()["predictions"]:
        assert world.registry.prediction(prediction["id"]).consumer == "crm-eu"
    assert world.registry.prediction_count(PRODUCT) == 4


def test_a_spool_written_before_the_log_kept_the_fallback_reason_still_replays(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from postpilot.gateway.log import LoggedPrediction, new_prediction_id, prediction_rows

    world = build(tmp_path)
    app = world.app()
    journal = app.state.gateway.journal
    from postpilot.store.models import ProductRow

    with world.registry.store.engine.connect() as conn:
        product_id = conn.scalar(select(ProductRow.id).where(ProductRow.slug == PRODUCT))
    old = prediction_rows(
        request_id="rq-old",
        product_id=product_id,
        model=None,
        version=None,
        consumer="crm-eu",
        key_id="k",
        served_by="fallback",
        latency_ms=1.0,
        at=datetime.now(UTC),
        predictions=[LoggedPrediction(new_prediction_id(), {"x": 1}, {"prediction": 0})],
    )
    for row in old:
        del row["fallback_reason"]  # as spooled by 0.1.0.dev0 before revision 0007
    journal.spool.append("predictions", old)
    with TestClient(app) as client:
        served = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        )
        assert served.status_code == 200, served.text
        deadline = time.monotonic() + 10
        while journal.spool.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert journal.spool.pending() == 0
    replayed = world.registry.prediction(old[0]["id"])
    assert (replayed.served_by, replayed.fallback_reason) == ("fallback", None)


def test_when_neither_store_nor_spool_can_record_the_answer_is_503(tmp_path: Path) -> None:
    from sqlalchemy import text

    from postpilot.settings import Settings

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool folder should be")
    world = build(tmp_path / "w")
    settings = Settings.from_env({"POSTPILOT_SPOOL_DIR": str(blocked)})
    app = create_app(Gateway(world.registry, settings=settings, limiter=MemoryRateLimiter()))
    with TestClient(app) as client:
        with world.registry.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE predictions RENAME TO predictions_away"))
        response = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        )
        body = _problem(response, 503)
        assert body["type"].endswith("log-unavailable")
        assert response.headers["retry-after"] == "5"
        assert "prediction" not in response.json()


def test_text_that_is_not_unicode_is_refused_on_every_body(
    world: World, client: TestClient
) -> None:
    served = client.post(PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict"))
    prediction_id = served.json()["predictions"][0]["id"]
    response = client.post(
        f"/v1/predictions/{prediction_id}/label",
        content=b'{"label": "\\udcff"}',
        headers={**world.headers("feedback"), "Content-Type": "application/json"},
    )
    assert _problem(response, 422)["errors"][0]["field"] == "label"


def test_an_answer_with_its_own_id_keeps_the_prediction_id(tmp_path: Path) -> None:
    from postpilot.gateway.service import set_route

    world = build(tmp_path)
    constant = Fallback("constant", {"prediction": "refer", "id": "not-a-prediction-id"})
    set_route(world.registry, PRODUCT, version=2, fallback=constant)
    world.registry.set_fallback(PRODUCT, True)
    with TestClient(world.app()) as client:
        body = client.post(
            PREDICT, json={"record": records(1)[0]}, headers=world.headers("predict")
        ).json()
    [prediction] = body["predictions"]
    assert prediction["id"].startswith("pr_")
    assert world.registry.prediction(prediction["id"]).output["prediction"] == "refer"
