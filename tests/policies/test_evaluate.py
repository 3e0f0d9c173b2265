from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpilot.policies.evaluate import Firing, breaches, evaluate
from postpilot.policies.model import Policy, Rule
from postpilot.policies.observations import Observation

DAY0 = datetime(2026, 3, 1)
NAN = math.nan


def rule(title: str = "r", /, **when: Any) -> Rule:
    """A rule called ``title`` notifying the owner when ``when`` holds."""
    return Rule.model_validate({"name": title, "when": when, "then": [{"notify": "owner"}]})


def day(i: int) -> datetime:
    return DAY0 + timedelta(days=i)


def chunk(i: int) -> str:
    return f"c{i:03d}"


def obs(metric: str, i: int, value: float, subject: str | None = None, **kw: Any) -> Observation:
    return Observation(metric, value, day(i), chunk(i), subject=subject, **kw)


def series(metric: str, values: list[float], subject: str | None = None) -> list[Observation]:
    return [obs(metric, i, v, subject) for i, v in enumerate(values)]


def where(firings: list[Firing]) -> list[tuple[str, str | None]]:
    return [(f.chunk, f.subject) for f in firings]


# --- examples ---------------------------------------------------------------------------------


def test_consecutive_runs_and_episodes() -> None:
    r = rule(metric="drift.share", threshold=0.3, consecutive=2)
    values = [0.5, 0.1, 0.4, 0.6, 0.7, 0.2, 0.9, 0.9]
    firings = evaluate([r], series("drift.share", values))
    assert [(f.chunk, f.consecutive, f.new_episode, f.first_chunk) for f in firings] == [
        (chunk(3), 2, True, chunk(2)),
        (chunk(4), 3, False, chunk(2)),
        (chunk(7), 2, True, chunk(6)),
    ]
    first = firings[0]
    assert first == Firing(
        rule="r",
        metric="drift.share",
        subject=None,
        chunk=chunk(3),
        at=day(3),
        value=0.6,
        threshold=0.3,
        direction="above",
        first_chunk=chunk(2),
        first_at=day(2),
        consecutive=2,
        new_episode=True,
        run_id=None,
    )


def test_nan_never_breaches_and_ends_a_run() -> None:
    r = rule(metric="drift.share", threshold=0.3, consecutive=2)
    assert evaluate([r], series("drift.share", [0.5, NAN, 0.5, NAN])) == []
    assert not breaches(NAN, 0.3, "below")
    assert not breaches(NAN, (0.0, 1.0), "either")


def test_the_threshold_itself_does_not_breach() -> None:
    assert not breaches(0.3, 0.3, "above")
    assert not breaches(0.3, 0.3, "below")
    assert not breaches(1.1, (0.9, 1.1), "either")
    assert not breaches(0.9, (0.9, 1.1), "either")
    with pytest.raises(ValueError, match="band"):
        breaches(1.0, (0.9, 1.1), "above")


def test_either_fires_outside_the_band() -> None:
    r = rule(metric="drift.multivariate", threshold=[0.9, 1.1], direction="either")
    firings = evaluate([r], series("drift.multivariate", [1.0, 0.8, 1.2, 1.1, 0.9]))
    assert where(firings) == [(chunk(1), None), (chunk(2), None)]
    assert firings[0].threshold == (0.9, 1.1)
    assert firings[0].direction == "either"


def test_drift_feature_is_one_series_per_column_unless_one_is_named() -> None:
    seen = series("drift.feature", [1, 1, 0], "amount") + series("drift.feature", [0, 1, 1], "age")
    any_column = rule(metric="drift.feature", threshold=0.5, consecutive=2)
    assert where(evaluate([any_column], seen)) == [(chunk(1), "amount"), (chunk(2), "age")]
    amount = rule(metric="drift.feature", threshold=0.5, column="amount")
    assert where(evaluate([amount], seen)) == [(chunk(0), "amount"), (chunk(1), "amount")]


def test_findings_of_any_kind_add_up_per_chunk() -> None:
    seen = [
        obs("contract.findings", 0, 1, "unit_change", severity="error"),
        obs("contract.findings", 0, 2, "new_category", severity="warning"),
        obs("contract.findings", 1, 1, "new_category", severity="warning"),
        obs("contract.findings", 2, 3, "unit_change", severity="error"),
    ]
    total = evaluate([rule(metric="contract.findings", threshold=2)], seen)
    assert [(f.chunk, f.subject, f.value) for f in total] == [
        (chunk(0), None, 3.0),
        (chunk(2), None, 3.0),
    ]
    errors = evaluate([rule(metric="contract.findings", severity="error", threshold=0)], seen)
    assert [(f.chunk, f.value) for f in errors] == [(chunk(0), 1.0), (chunk(2), 3.0)]
    units = rule(metric="contract.findings", kind="unit_change", threshold=0, consecutive=2)
    # chunk 1 had findings but no unit change: it counts as 0 and ends the run
    assert evaluate([units], seen) == []
    kind = evaluate([rule(metric="contract.findings", kind="new_category", threshold=0)], seen)
    assert where(kind) == [(chunk(0), "new_category"), (chunk(1), "new_category")]


def test_a_rerun_chunk_counts_once_latest_run_wins() -> None:
    seen = [
        obs("drift.share", 0, 0.9, run_id=1),
        obs("drift.share", 0, 0.1, run_id=2),
        obs("drift.share", 1, 0.9, run_id=2),
        obs("drift.share", 1, 0.9, run_id=3),
    ]
    firings = evaluate([rule(metric="drift.share", threshold=0.3)], seen)
    assert [(f.chunk, f.run_id) for f in firings] == [(chunk(1), 3)]
    counts = [
        obs("contract.findings", 0, 4, "unit_change", run_id=1),
        obs("contract.findings", 0, 4, "unit_change", run_id=2),
    ]
    summed = evaluate([rule(metric="contract.findings", threshold=0)], counts)
    assert [(f.value, f.run_id) for f in summed] == [(4.0, 2)]


def test_silence_in_hours_and_a_duration_threshold() -> None:
    r = rule(metric="data.silence", threshold="2d")
    firings = evaluate([r], series("data.silence", [47.0, 48.0, 49.0]))
    assert [(f.chunk, f.threshold) for f in firings] == [(chunk(2), 48.0)]


def test_performance_is_filtered_by_name_and_one_sided() -> None:
    seen = series("performance.estimated", [0.8, 0.6, 0.9], "f1") + series(
        "performance.estimated", [0.5, 0.5, 0.5], "accuracy"
    )
    f1 = rule(metric="performance.estimated", name="f1", threshold=0.7)
    assert where(evaluate([f1], seen)) == [(chunk(1), "f1")]
    mae = rule(metric="performance.realized", name="mae", threshold=10)
    assert where(evaluate([mae], series("performance.realized", [5, 12], "mae"))) == [
        (chunk(1), "mae")
    ]


def test_output_order_time_chunk_rule_subject() -> None:
    rules = [
        rule("b-rule", metric="roles.orphaned", threshold=0),
        rule("a-rule", metric="drift.share", threshold=0.1),
    ]
    seen = [
        obs("drift.share", 1, 0.5),
        obs("roles.orphaned", 1, 1, "owner"),
        obs("roles.orphaned", 1, 1, "data_steward"),
        obs("roles.orphaned", 0, 1, "owner"),
    ]
    firings = evaluate(Policy(rules=rules), seen)
    assert [(f.chunk, f.rule, f.subject) for f in firings] == [
        (chunk(0), "b-rule", "owner"),
        (chunk(1), "b-rule", "data_steward"),
        (chunk(1), "b-rule", "owner"),
        (chunk(1), "a-rule", None),
    ]


def test_other_metrics_and_no_observations_fire_nothing() -> None:
    r = rule(metric="drift.share", threshold=0.1)
    assert evaluate([r], series("drift.multivariate", [5.0])) == []
    assert evaluate([r], []) == []
    assert evaluate([], series("drift.share", [5.0])) == []


# --- properties -------------------------------------------------------------------------------

VALUES = st.one_of(st.sampled_from([0.0, 0.3, 0.5, 1.0, NAN]), st.floats(-2, 2, allow_nan=False))
SUBJECTS = ["amount", "age", "region"]


@st.composite
def feature_observations(draw: st.DrawFn) -> list[Observation]:
    """drift.feature values for up to 3 columns over up to 12 chunks, some missing."""
    chunks = draw(st.integers(1, 12))
    found = []
    for i in range(chunks):
        for subject in SUBJECTS:
            if draw(st.booleans()) or draw(st.booleans()):
                found.append(obs("drift.feature", i, draw(VALUES), subject))
    return found


@st.composite
def finding_observations(draw: st.DrawFn) -> list[Observation]:
    """contract.findings counts by kind and severity, with reruns of some chunks."""
    found = []
    for i in range(draw(st.integers(1, 10))):
        for kind in draw(st.lists(st.sampled_from(["unit_change", "new_category"]), max_size=2)):
            severity = draw(st.sampled_from(["error", "warning"]))
            for run in draw(st.lists(st.integers(1, 3), min_size=1, max_size=2, unique=True)):
                count = draw(st.integers(0, 4))
                found.append(
                    obs("contract.findings", i, count, kind, severity=severity, run_id=run)
                )
    return found


THRESHOLDS = st.sampled_from([0.0, 0.3, 0.5, 1.0])


@given(feature_observations(), THRESHOLDS, st.sampled_from(["above", "below"]))
def test_consecutive_one_fires_exactly_at_the_breaching_observations(
    seen: list[Observation], threshold: float, direction: str
) -> None:
    r = rule(metric="drift.feature", threshold=threshold, direction=direction)
    expected = {
        (o.chunk, o.subject)
        for o in seen
        if (o.value > threshold if direction == "above" else o.value < threshold)
    }
    firings = evaluate([r], seen)
    assert len(firings) == len(expected)
    assert set(where(firings)) == expected
    assert all(f.new_episode == (f.consecutive == 1) for f in firings)


@given(feature_observations(), THRESHOLDS, st.integers(1, 4), st.integers(0, 3))
def test_raising_consecutive_never_adds_firings(
    seen: list[Observation], threshold: float, low: int, more: int
) -> None:
    fewer = evaluate([rule(metric="drift.feature", threshold=threshold, consecutive=low)], seen)
    stricter = rule(metric="drift.feature", threshold=threshold, consecutive=low + more)
    assert set(where(evaluate([stricter], seen))) <= set(where(fewer))


@given(st.one_of(feature_observations(), finding_observations()), st.randoms())
def test_the_order_observations_come_in_does_not_matter(
    seen: list[Observation], random: Any
) -> None:
    rules = [
        rule("any", metric="drift.feature", threshold=0.4, consecutive=2),
        rule("amount", metric="drift.feature", column="amount", threshold=0.2),
        rule("findings", metric="contract.findings", threshold=2, consecutive=2),
        rule("errors", metric="contract.findings", severity="error", threshold=0),
        rule("units", metric="contract.findings", kind="unit_change", threshold=1),
    ]
    shuffled = list(seen)
    random.shuffle(shuffled)
    assert evaluate(rules, shuffled) == evaluate(rules, seen)


@given(st.one_of(feature_observations(), finding_observations()), st.integers(0, 12))
def test_a_prefix_gives_the_firings_of_the_whole_up_to_its_end(
    seen: list[Observation], cut: int
) -> None:
    """Why incremental monitor runs equal one run over everything."""
    rules = [
        rule("any", metric="drift.feature", threshold=0.4, consecutive=2),
        rule("findings", metric="contract.findings", threshold=2, consecutive=3),
        rule("units", metric="contract.findings", kind="unit_change", threshold=0),
    ]
    prefix = [o for o in seen if o.at < day(cut)]
    whole = evaluate(rules, seen)
    assert evaluate(rules, prefix) == [f for f in whole if f.at < day(cut)]


@given(feature_observations(), THRESHOLDS)
def test_above_and_below_partition_the_values_off_the_threshold(
    seen: list[Observation], threshold: float
) -> None:
    above = evaluate([rule(metric="drift.feature", threshold=threshold, direction="above")], seen)
    below = evaluate([rule(metric="drift.feature", threshold=threshold, direction="below")], seen)
    off = {(o.chunk, o.subject) for o in seen if not math.isnan(o.value) and o.value != threshold}
    assert not set(where(above)) & set(where(below))
    assert set(where(above)) | set(where(below)) == off


@given(finding_observations())
def test_findings_of_any_kind_equal_the_sum_of_each_kind(seen: list[Observation]) -> None:
    """A rule without ``kind`` sees the total; each kind's rule sees its own part."""
    threshold = -1.0  # every chunk breaches, so each firing carries the chunk's value
    total = evaluate([rule(metric="contract.findings", threshold=threshold)], seen)
    parts = [
        evaluate([rule(metric="contract.findings", kind=kind, threshold=threshold)], seen)
        for kind in ("unit_change", "new_category")
    ]
    by_chunk: dict[str, float] = {}
    for firing in parts[0] + parts[1]:
        by_chunk[firing.chunk] = by_chunk.get(firing.chunk, 0.0) + firing.value
    assert {f.chunk: f.value for f in total} == by_chunk
