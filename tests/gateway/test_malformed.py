"""1,000 generated malformed predict requests: every one a 4xx naming the field, none reaching
the model, none a 5xx.

The payloads are drawn (from a fixed seed) from the ways a caller gets a request
wrong: the wrong JSON, the wrong shape, a missing, mistyped, out-of-range, null or
unknown field, NaN and infinity, huge and deeply nested values, one bad record in
a good batch, bytes that are not UTF-8. The model is the counting model of
:mod:`tests.gateway.models`, so a record that slipped through would show.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.gateway import models
from tests.gateway.world import PRODUCT, World, build, records

PREDICT = f"/v1/products/{PRODUCT}/predict"
CASES = 1000
Body = tuple[str, bytes]  # a description and the raw body

WEIRD_VALUES: list[Any] = [  # never None: the contract allows null (an unknown value)
    "",
    "12.5",
    "large",
    True,
    False,
    [],
    [1, 2],
    {},
    {"value": 1},
    -1e308,
    1e308,
    10**40,
    -(10**40),
    "x" * 10_000,
    "\u202e\u0000",
]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _good() -> dict[str, Any]:
    return records(1, offset=random.randrange(500))[0]


def _not_an_object(rng: random.Random) -> Body:
    value = rng.choice([[], [1], "text", 3, None, True, [{"record": {}}]])
    return "top level is not an object", _dumps(value)


def _wrong_envelope(rng: random.Random) -> Body:
    choices = [
        {},
        {"record": _good(), "records": [_good()]},
        {"records": []},
        {"rec": _good()},
        {"record": _good(), "x": 1},
        {"records": _good()},
        {"record": [_good()]},
        {"record": None},
        {"records": [None]},
        {"records": [_good(), "text"]},
    ]
    return "wrong envelope", _dumps(rng.choice(choices))


def _missing_field(rng: random.Random) -> Body:
    record = _good()
    del record[rng.choice(sorted(record))]
    return "missing field", _dumps({"record": record})


def _mistyped_field(rng: random.Random) -> Body:
    record = _good()
    record[rng.choice(sorted(record))] = rng.choice(WEIRD_VALUES)
    return "mistyped field", _dumps({"record": record})


def _out_of_range(rng: random.Random) -> Body:
    record = _good()
    name = rng.choice(sorted(record))
    record[name] = rng.choice([-1.0, -1e6, 1e6, 1e12]) * (1 + rng.random())
    return "out of range", _dumps({"record": record})


def _not_finite(rng: random.Random) -> Body:
    record = _good()
    record[rng.choice(sorted(record))] = rng.choice([math.nan, math.inf, -math.inf])
    return "NaN or infinity", _dumps({"record": record})


def _unknown_field(rng: random.Random) -> Body:
    record = _good()
    name = rng.choice(["extra", "malignant", "Mean Radius", "ünïcode", "x" * 300, "", "__proto__"])
    record[name] = rng.choice([None, *WEIRD_VALUES[:6]])
    return "unknown field", _dumps({"record": record})


def _renamed_field(rng: random.Random) -> Body:
    record = _good()
    old = rng.choice(sorted(record))
    record[old.upper()] = record.pop(old)
    return "renamed field", _dumps({"record": record})


def _bad_in_batch(rng: random.Random) -> Body:
    batch = [_good() for _ in range(rng.randrange(2, 20))]
    victim = batch[rng.randrange(len(batch))]
    victim[rng.choice(sorted(victim))] = rng.choice(WEIRD_VALUES)
    return "one bad record in a batch", _dumps({"records": batch})


def _deep(rng: random.Random) -> Body:
    depth = rng.choice([50, 500, 5000, 50000])
    value = "[" * depth + "]" * depth
    body = '{"record": {"mean_radius": ' + value + "}}"
    return f"nested {depth} deep", body.encode()


def _broken_bytes(rng: random.Random) -> Body:
    good = _dumps({"record": _good()})
    choices = [
        good[: rng.randrange(1, len(good) - 1)],
        b"\xff\xfe" + good,
        good.replace(b":", b"=", 1),
        b"",
        b"{'record': {}}",
        good + b"garbage",
        '{"record": {"mean_radius": "\udcff"}}'.encode("utf-8", "surrogatepass"),
    ]
    return "broken bytes", rng.choice(choices)


GENERATORS: list[Callable[[random.Random], Body]] = [
    _not_an_object,
    _wrong_envelope,
    _missing_field,
    _mistyped_field,
    _out_of_range,
    _not_finite,
    _unknown_field,
    _renamed_field,
    _bad_in_batch,
    _deep,
    _broken_bytes,
]


def payloads(seed: int = 20261130) -> Iterator[Body]:
    rng = random.Random(seed)
    random.seed(seed)  # _good() picks rows with the module's generator
    for i in range(CASES):
        yield GENERATORS[i % len(GENERATORS)](rng)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("malformed"), counting=True)


def test_malformed_payloads_are_4xx_with_field_level_errors_and_never_reach_the_model(
    world: World,
) -> None:
    seen: dict[str, int] = {}
    with TestClient(world.app(), raise_server_exceptions=False) as client:
        headers = {**world.headers("predict"), "Content-Type": "application/json"}
        ok = client.post(PREDICT, json={"record": records(1)[0]}, headers=headers)
        assert ok.status_code == 200, ok.text
        before = dict(models.CALLS)
        for what, body in payloads():
            response = client.post(PREDICT, content=body, headers=headers)
            status = response.status_code
            assert 400 <= status < 500, (what, body[:200], status, response.text[:500])
            assert response.headers["content-type"] == "application/problem+json", what
            problem = response.json()
            assert problem["status"] == status
            if status == 422:
                assert problem["errors"], (what, problem)
                for error in problem["errors"]:
                    assert isinstance(error["field"], str), (what, error)
                    assert error["message"], (what, error)
            seen[what.split(" deep")[0]] = seen.get(what.split(" deep")[0], 0) + 1
        assert before == models.CALLS, "a malformed record reached the model"
    assert sum(seen.values()) == CASES
    assert len(seen) >= len(GENERATORS)


def test_the_generated_payloads_are_malformed_in_every_way_listed() -> None:
    kinds = {what.split(" deep")[0] for what, _ in payloads()}
    assert {"missing field", "mistyped field", "one bad record in a batch", "broken bytes"} <= kinds


def test_a_record_with_a_missing_field_names_it(world: World, tmp_path: Path) -> None:
    record = records(1)[0]
    del record["mean_area"]
    with TestClient(world.app()) as client:
        response = client.post(PREDICT, json={"record": record}, headers=world.headers("predict"))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["record"], error["field"], error["kind"]) == (0, "mean_area", "missing")
