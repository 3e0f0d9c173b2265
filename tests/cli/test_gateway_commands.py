"""The consumer, key, route and adapter commands: every option reaches the code."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from postpilot import Registry
from postpilot.registry.apikeys import parse_key
from tests.gateway.world import PRODUCT, World, build, training_table
from tests.helpers import Run


@pytest.fixture
def world(tmp_path: Path) -> World:
    home = tmp_path / "home"
    return build(home, f"sqlite:///{home / 'postpilot.db'}")


def test_consumer_add_and_list(cli: Run, world: World) -> None:
    out = cli(
        "consumer",
        "add",
        "erp",
        "--description",
        "the ERP",
        "--contact",
        "ops@example.com",
    ).stdout
    assert "added consumer erp" in out
    listed = json.loads(cli("consumer", "list", "--format", "json").stdout)
    erp = next(c for c in listed if c["name"] == "erp")
    assert (erp["description"], erp["contact"], erp["active_keys"]) == (
        "the ERP",
        "ops@example.com",
        0,
    )
    assert "crm-eu" in cli("consumer", "list").stdout
    added = json.loads(
        cli("consumer", "add", "pos", "--contact", "till@example.com", "-f", "json").stdout
    )
    assert (added["name"], added["contact"], added["description"]) == (
        "pos",
        "till@example.com",
        None,
    )
    err = cli("consumer", "add", "Bad Name", expect=2).stderr
    assert "not a valid consumer name" in err


def test_key_create_prints_the_key_once_and_list_never_shows_it(cli: Run, world: World) -> None:
    out = cli(
        "key",
        "create",
        "crm-eu",
        "--product",
        PRODUCT,
        "--scope",
        "predict",
        "--scope",
        "feedback",
        "--rate",
        "600/min",
        "--burst",
        "20",
    ).stdout
    plaintext = next(line for line in out.splitlines() if line.startswith("pp_"))
    parsed = parse_key(plaintext)
    assert parsed is not None
    listed = json.loads(cli("key", "list", "--consumer", "crm-eu", "--format", "json").stdout)
    assert {k["consumer"] for k in listed} == {"crm-eu"}  # billing's keys left out
    mine = next(k for k in listed if k["key_id"] == parsed.key_id)
    assert (mine["scopes"], mine["rate"], mine["burst"]) == (["predict", "feedback"], 10.0, 20)
    assert plaintext not in cli("key", "list").stdout
    assert "key" not in mine
    made = json.loads(
        cli("key", "create", "billing", "--product", "*", "--scope", "view", "-f", "json").stdout
    )
    assert parse_key(made["key"]) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--product", PRODUCT, "--scope", "root"], "unknown scope 'root'"),
        (["--product", "nosuch", "--scope", "predict"], "no product 'nosuch'"),
        (["--product", PRODUCT, "--scope", "predict", "--rate", "fast"], "rate"),
        (["--product", PRODUCT, "--scope", "predict", "--burst", "3"], "--burst needs --rate"),
    ],
)
def test_key_create_refuses_bad_options(
    cli: Run, world: World, args: list[str], message: str
) -> None:
    assert message in cli("key", "create", "crm-eu", *args, expect=2).stderr


def test_key_revoke_and_rotate(cli: Run, world: World) -> None:
    made = world.registry.create_key("crm-eu", products=[PRODUCT], scopes=["predict"])
    out = cli("key", "rotate", made.key.key_id, "--overlap", "2h").stdout
    assert f"replaces {made.key.key_id}" in out
    new_plaintext = next(line for line in out.splitlines() if line.startswith("pp_"))
    new = parse_key(new_plaintext)
    assert new is not None
    stored = world.registry.keys(consumer="crm-eu")
    keys = {k.key_id: k for k in stored}
    assert keys[made.key.key_id].expires_at is not None
    assert keys[new.key_id].rotated_from == made.key.key_id
    assert "revoked key" in cli("key", "revoke", new.key_id).stdout
    assert "already revoked" in cli("key", "revoke", new.key_id, expect=2).stderr
    assert "no longer works" in cli("key", "rotate", new.key_id, expect=2).stderr
    assert (
        "not a duration"
        in cli("key", "rotate", made.key.key_id, "--overlap", "soon", expect=2).stderr
    )
    assert "no API key" in cli("key", "revoke", "nosuch", expect=2).stderr


def test_route_set_show_and_fallback(cli: Run, world: World) -> None:
    out = cli(
        "route", "set", PRODUCT, "--version", "2", "--model", PRODUCT, "--fallback-version", "1"
    ).stdout
    assert "version 2" in out
    assert "fallback: version 1" in out
    shown = json.loads(cli("route", "show", PRODUCT, "-f", "json").stdout)
    assert shown["fallback"] == {"kind": "version", "value": 1}
    cli("route", "set", PRODUCT, "--fallback-constant", '"benign"')
    assert world.registry.route(PRODUCT).fallback.value == {"prediction": "benign"}
    cli("route", "set", PRODUCT, "--fallback-rule", "tests.gateway.models:churn_rule")
    cli("route", "set", PRODUCT, "--fallback-unavailable", "90", "--option", "max_batch=50")
    route = world.registry.route(PRODUCT)
    assert (route.fallback.kind, route.fallback.value, route.options) == (
        "unavailable",
        90,
        {"max_batch": 50},
    )
    on = cli("route", "fallback", PRODUCT, "on", "--reason", "drift").stdout
    assert "now served by the fallback" in on
    assert "switched ON" in cli("route", "show", PRODUCT).stdout
    cli("route", "fallback", PRODUCT, "off")
    cli("route", "set", PRODUCT, "--no-fallback")
    assert world.registry.route(PRODUCT).fallback.kind == "none"
    assert "no fallback to switch to" in cli("route", "fallback", PRODUCT, "on", expect=2).stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version", "9"], "has no version 9"),
        (["--fallback-version", "2"], "cannot be its own fallback"),
        (["--fallback-constant", "not json"], "not JSON"),
        (["--fallback-rule", "no.such.module:rule"], "cannot be imported"),
        (["--fallback-unavailable", "0"], "Retry-After"),
        (["--fallback-version", "1", "--no-fallback"], "at most one"),
        (["--option", "max_batch=0"], "max_batch"),
        (["--option", 'features=["nosuch"]'], "nosuch"),
        (["--option", "novalue"], "KEY=VALUE"),
    ],
)
def test_route_set_refuses_what_it_could_not_serve(
    cli: Run, world: World, args: list[str], message: str
) -> None:
    before = world.registry.route(PRODUCT)
    assert message in cli("route", "set", PRODUCT, *args, expect=2).stderr
    assert world.registry.route(PRODUCT) == before


def test_route_set_refuses_an_artifact_that_is_not_a_model(cli: Run, world: World) -> None:
    junk = world.home / "junk.joblib"
    junk.write_bytes(b"not a pickle")
    world.registry.register_model(PRODUCT, artifact=str(junk), flavor="sklearn")
    err = cli("route", "set", PRODUCT, "--version", "3", expect=2).stderr
    assert "junk.joblib" in err
    assert world.registry.route(PRODUCT).version == 2


def test_adapter_suggest_apply_show(cli: Run, world: World, tmp_path: Path) -> None:
    migrated = training_table().drop("malignant").rename({"mean_texture": "texture_mean"})
    data = tmp_path / "crm.parquet"
    migrated.write_parquet(data)
    suggested = tmp_path / "adapter.yaml"
    out = cli(
        "adapter", "suggest", PRODUCT, str(data), "--consumer", "crm-eu", "--output", str(suggested)
    ).stdout
    assert "wrote" in out
    text = suggested.read_text()
    assert "texture_mean: mean_texture" in text
    assert "consumer: crm-eu" in text
    assert "stored adapter v1" in cli("adapter", "apply", str(suggested)).stdout
    assert "already has this text" in cli("adapter", "apply", str(suggested)).stdout
    shown = cli("adapter", "show", PRODUCT, "--consumer", "crm-eu", "--version", "1").stdout
    assert shown == text
    assert (
        "no adapter version 7"
        in cli(
            "adapter", "show", PRODUCT, "--consumer", "crm-eu", "--version", "7", expect=2
        ).stderr
    )
    stdout = cli("adapter", "suggest", PRODUCT, str(data)).stdout
    assert "texture_mean: mean_texture" in stdout
    assert "consumer:" not in stdout


def test_adapter_apply_reports_the_line_of_a_mistake(
    cli: Run, world: World, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"schema_version: 1\nproduct: {PRODUCT}\nrenames:\n  a: b\n")
    err = cli("adapter", "apply", str(bad), expect=2).stderr
    assert "bad.yaml:3" in err
    with Registry() as reg:
        assert reg.latest_adapters() == []


def test_adapter_suggest_needs_a_route(cli: Run, world: World, tmp_path: Path) -> None:
    data = tmp_path / "x.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(data)
    assert "no gateway route" in cli("adapter", "suggest", "other", str(data), expect=2).stderr


def test_key_and_adapter_commands_answer_json(cli: Run, world: World, tmp_path: Path) -> None:
    made = world.registry.create_key("crm-eu", products=[PRODUCT], scopes=["predict"])
    rotated = json.loads(cli("key", "rotate", made.key.key_id, "--format", "json").stdout)
    assert rotated["rotated_from"] == made.key.key_id
    assert parse_key(rotated["key"]) is not None
    revoked = json.loads(cli("key", "revoke", rotated["key_id"], "--format", "json").stdout)
    assert revoked["revoked_at"] is not None
    adapter = tmp_path / "a.yaml"
    adapter.write_text(f"schema_version: 1\nproduct: {PRODUCT}\nrename:\n  radius: mean_radius\n")
    applied = json.loads(cli("adapter", "apply", str(adapter), "--format", "json").stdout)
    assert applied == {"product": PRODUCT, "consumer": None, "version": 1, "new": True}


def test_predictions_export_writes_the_log(cli: Run, world: World, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.gateway.world import records

    with TestClient(world.app()) as client:
        served = client.post(
            f"/v1/products/{PRODUCT}/predict",
            json={"records": records(7)},
            headers=world.headers("predict"),
        )
        assert served.status_code == 200
    ids = [p["id"] for p in served.json()["predictions"]]
    table = tmp_path / "log.parquet"
    out = cli("predictions", "export", PRODUCT, "--output", str(table)).stdout
    assert "wrote 7 predictions" in out
    frame = pl.read_parquet(table)
    assert frame["prediction_id"].to_list() == ids
    assert {"mean_radius", "prediction", "probability_True", "request_id"} <= set(frame.columns)
    assert frame["served_by"].to_list() == ["primary"] * 7
    assert frame["fallback_reason"].to_list() == [None] * 7
    lines = tmp_path / "log.jsonl"
    cli("predictions", "export", PRODUCT, "-o", str(lines), "--format", "jsonl")
    rows = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [r["prediction_id"] for r in rows] == ids
    assert rows[0]["inputs"] == records(1)[0]
    assert (rows[0]["served_by"], rows[0]["fallback_reason"]) == ("primary", None)
    later = tmp_path / "later.jsonl"
    cli("predictions", "export", PRODUCT, "-o", str(later), "-f", "jsonl", "--since", "2999-01-01")
    assert later.read_text() == ""
    assert (
        "unknown format"
        in cli("predictions", "export", PRODUCT, "-o", str(lines), "-f", "csv", expect=2).stderr
    )
    assert not list(tmp_path.glob(".*.partial"))


def test_route_set_model_and_fallback_reason_answer_json(cli: Run, world: World) -> None:
    served = world.registry.route(PRODUCT)
    assert served is not None
    world.registry.register_model(
        PRODUCT, artifact=served.artifact_uri, flavor="sklearn", model="beta"
    )
    args = ["--model", "beta", "--version", "1", "--fallback-unavailable", "60"]
    route = json.loads(cli("route", "set", PRODUCT, *args, "--format", "json").stdout)
    assert (route["model"], route["version"]) == ("beta", 1)
    assert route["fallback"] == {"kind": "unavailable", "value": 60}
    on = json.loads(
        cli("route", "fallback", PRODUCT, "on", "--reason", "drift", "--format", "json").stdout
    )
    assert (on["fallback_active"], on["fallback_reason"]) == (True, "drift")
