"""Labels ingested in batches and read back by prediction id, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from postpilot import InputError, NotFoundError, Registry
from postpilot.registry import labels
from postpilot.registry.labels import LabelIngest
from postpilot.store.models import LabelRow


@pytest.fixture
def reg(registry: Registry) -> Registry:
    registry.create_product("churn")
    return registry


def ingested(reg: Registry) -> list[object]:
    return [e.after for e in reg.audit_log(product="churn") if e.action == "labels.ingested"]


def test_new_updated_and_unchanged_are_counted(reg: Registry) -> None:
    first = reg.ingest_labels("churn", ["a", "b", "c"], [True, False, True])
    assert first == LabelIngest("churn", received=3, new=3, updated=0, unchanged=0)
    second = reg.ingest_labels("churn", ["b", "c", "d", "e"], [False, False, True, True])
    assert second == LabelIngest("churn", received=4, new=2, updated=1, unchanged=1)
    assert reg.labels("churn") == {"a": True, "b": False, "c": False, "d": True, "e": True}
    assert reg.label_count("churn") == 5


def test_ingesting_in_two_parts_stores_what_ingesting_at_once_does(registry: Registry) -> None:
    registry.create_product("whole")
    registry.create_product("parts")
    ids = [f"p{i}" for i in range(1_000)]
    values: list[object] = [i % 3 == 0 if i % 2 else i * 0.5 for i in range(1_000)]
    whole = registry.ingest_labels("whole", ids, values)
    first = registry.ingest_labels("parts", ids[:500], values[:500])
    second = registry.ingest_labels("parts", ids[500:], values[500:])
    assert registry.labels("parts") == registry.labels("whole")
    assert list(registry.labels("parts")) == sorted(ids)
    assert first.new + second.new == whole.new == 1_000
    # sending overlapping parts again changes nothing
    again = registry.ingest_labels("parts", ids[400:700], values[400:700])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 300)
    assert registry.labels("parts") == registry.labels("whole")


def test_values_round_trip_with_their_types(reg: Registry) -> None:
    values: list[object] = [
        1,
        0.1,
        1.0,
        -0.0,
        1e300,
        5e-324,
        2**70,
        "0.1",
        "",
        'naïve ☃ "quoted" \\ \n',
        True,
        False,
        0,
    ]
    ids = [f"p{i}" for i in range(len(values))]
    reg.ingest_labels("churn", ids, values)
    back = reg.labels("churn", ids)
    assert list(back) == ids
    for sent, got in zip(values, back.values(), strict=True):
        assert type(got) is type(sent)
        assert got == sent
    assert math.copysign(1, back["p3"]) == -1  # type: ignore[arg-type]
    assert back["p1"] == 0.1


def test_an_int_becoming_a_float_or_bool_is_an_update(reg: Registry) -> None:
    reg.ingest_labels("churn", ["a", "b", "c"], [1, 1, 1])
    result = reg.ingest_labels("churn", ["a", "b", "c"], [1, 1.0, True])
    assert (result.updated, result.unchanged) == (2, 1)
    assert reg.labels("churn") == {"a": 1, "b": 1.0, "c": True}
    assert [type(v) for v in reg.labels("churn").values()] == [int, float, bool]


def test_numpy_values_are_stored_as_their_python_values(reg: Registry) -> None:
    reg.ingest_labels("churn", ["a", "b", "c"], [np.int64(3), np.float64(0.1), np.bool_(True)])
    assert reg.labels("churn") == {"a": 3, "b": 0.1, "c": True}


def test_labels_of_some_ids_in_the_order_asked(reg: Registry) -> None:
    reg.ingest_labels("churn", ["a", "b", "c"], [1, 2, 3])
    assert list(reg.labels("churn", ["c", "x", "a", "c"]).items()) == [("c", 3), ("a", 1)]
    assert reg.labels("churn", []) == {}
    assert reg.labels("churn", ["x"]) == {}


def test_duplicate_ids_are_refused_and_nothing_is_written(reg: Registry) -> None:
    with pytest.raises(InputError, match=r"'b' appears twice, at positions 1 and 3") as info:
        reg.ingest_labels("churn", ["a", "b", "c", "b", "a"], [1, 2, 3, 4, 5])
    assert info.value.field == "ids"
    assert reg.label_count("churn") == 0
    assert ingested(reg) == []


@pytest.mark.parametrize(
    ("ids", "values", "message"),
    [
        (["a", ""], [1, 2], "prediction id at position 1 is empty"),
        (["a", "x" * 201], [1, 2], "position 1 has 201 characters; at most 200 fit"),
        (["a", 7], [1, 2], "prediction id at position 1 is a int, not a string"),
        (["a", None], [1, 2], "prediction id at position 1 is a NoneType"),
        (["a", "b"], [1], "got 2 ids but 1 values"),
        (["a", "b"], [1, None], "value at position 1 is None"),
        (["a", "b"], [1, float("nan")], "value at position 1 is nan, which JSON cannot hold"),
        (["a", "b"], [float("inf"), 1], "value at position 0 is inf"),
        (["a", "b"], [1, [1]], "value at position 1 is a list; a label must be an int"),
        (["a"], [{"x": 1}], "value at position 0 is a dict"),
        ("ab", [1, 2], "not one string"),
    ],
)
def test_bad_ids_and_values_are_refused(
    reg: Registry, ids: list[object], values: list[object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        reg.ingest_labels("churn", ids, values)  # type: ignore[arg-type]
    assert reg.label_count("churn") == 0


def test_an_id_of_200_characters_fits(reg: Registry) -> None:
    key = "x" * 200
    reg.ingest_labels("churn", [key], ["yes"])
    assert reg.labels("churn", [key]) == {key: "yes"}


def test_unknown_product(reg: Registry) -> None:
    with pytest.raises(NotFoundError, match="no product 'nope'"):
        reg.ingest_labels("nope", ["a"], [1])
    with pytest.raises(NotFoundError):
        reg.labels("nope")
    with pytest.raises(NotFoundError):
        reg.label_count("nope")


def test_one_audit_event_per_ingest_with_the_counts(reg: Registry) -> None:
    reg.ingest_labels("churn", [f"p{i}" for i in range(50)], [1] * 50)
    reg.ingest_labels("churn", ["p0", "p1", "new"], [1, 2, 3])
    events = [e for e in reg.audit_log(product="churn") if e.action == "labels.ingested"]
    assert [(e.subject_type, e.subject, e.actor) for e in events] == [
        ("labels", "churn", "tester@example.com")
    ] * 2
    assert [e.after for e in events] == [
        {"received": 50, "new": 50, "updated": 0, "unchanged": 0},
        {"received": 3, "new": 1, "updated": 1, "unchanged": 1},
    ]
    assert reg.verify_audit().ok


def test_a_label_records_when_and_by_whom_its_value_arrived(reg: Registry) -> None:
    before = datetime.now(UTC)
    reg.ingest_labels("churn", ["a", "b"], [1, 2])
    reg.ingest_labels("churn", ["a", "b"], [1, 3])
    with reg.store.reading() as session:
        rows = {r.prediction_id: r for r in session.scalars(select(LabelRow))}
    assert rows["a"].ingested_at.tzinfo is not None
    assert before - timedelta(seconds=1) < rows["a"].ingested_at <= rows["b"].ingested_at
    assert rows["a"].ingested_at < rows["b"].ingested_at  # b was updated later, a was not
    assert {r.ingested_by for r in rows.values()} == {"tester@example.com"}


def test_batches_span_many_chunks(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels, "CHUNK", 1_000)
    n = 4_500
    assert (
        reg.ingest_labels("churn", [f"p{i}" for i in range(n)], [i % 7 for i in range(n)]).new == n
    )
    # half known, of which the odd ones change
    later = range(n - 1_500, n + 1_500)
    values = [i % 7 + i % 2 for i in later]
    result = reg.ingest_labels("churn", [f"p{i}" for i in later], values)
    assert (result.new, result.updated, result.unchanged) == (1_500, 750, 750)
    expected = {f"p{i}": i % 7 for i in range(n)} | {
        f"p{i}": v for i, v in zip(later, values, strict=True)
    }
    assert reg.labels("churn") == expected
    assert reg.labels("churn", list(expected)) == expected


def test_a_large_ingest(reg: Registry) -> None:
    n = 200_000
    ids = [f"pred-{i:07d}" for i in range(n)]
    result = reg.ingest_labels("churn", ids, [i % 7 == 0 for i in range(n)])
    assert (result.received, result.new) == (n, n)
    assert reg.label_count("churn") == n
    sample = ids[::997]
    assert reg.labels("churn", sample) == {k: int(k[5:]) % 7 == 0 for k in sample}
