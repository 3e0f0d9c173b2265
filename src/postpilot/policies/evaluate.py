"""Evaluate rules over observations: which rule held, at which chunk, for what subject.

Pure and deterministic: no store, no clock, no network. ``policy test`` replays
history through it and ``monitor run`` feeds it new chunks; because a firing
at a chunk depends only on that chunk and the ones before it, evaluating the
first days gives exactly the firings of the whole history up to those days,
so many small runs equal one big run.

How observations become series, per rule:

* Only observations of the rule's metric that match its filters count
  (``column``, ``kind`` and ``name`` select the subject, ``severity`` the severity).
* A metric whose values add up (``contract.findings``) is one series: the sum
  per chunk of the matching observations, 0 for a chunk where other findings
  were counted but none matched. Other metrics give one series per subject
  (each column of ``drift.feature``, each role of ``roles.orphaned``).
* A chunk observed more than once (a rerun) counts once: the value of the
  highest ``run_id`` (then the larger value) wins.
* Within a series chunks are ordered by ``(at, chunk)``. A chunk breaches when
  its value is above (``above``), below (``below``) or outside the band
  (``either``) of the threshold; NaN never breaches and, like any chunk that
  does not breach, ends the run of breaches.

>>> from datetime import datetime
>>> from postpilot.policies.io import loads_policy
>>> from postpilot.policies.observations import Observation
>>> policy = loads_policy('''
... rules:
...   - name: drifted
...     when: {metric: drift.share, threshold: 0.3, consecutive: 2}
...     then: [notify: owner]
... ''')
>>> days = [datetime(2026, 1, d) for d in (1, 2, 3, 4)]
>>> seen = [Observation("drift.share", v, at, at.date().isoformat())
...         for v, at in zip([0.5, 0.1, 0.4, 0.6], days)]
>>> [(f.chunk, f.first_chunk, f.new_episode) for f in evaluate(policy, seen)]
[('2026-01-04', '2026-01-03', True)]
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from postpilot.policies.metrics import METRICS
from postpilot.policies.model import Policy, Rule, When
from postpilot.policies.observations import Observation

__all__ = ["Firing", "breaches", "evaluate"]


@dataclass(frozen=True)
class Firing:
    """A rule whose condition held at a chunk, with the evidence an owner needs.

    ``consecutive`` counts the breaching chunks of this run up to and including
    ``chunk``; ``first_chunk``/``first_at`` is where the run began (time to detect
    is measured from there). ``new_episode`` is True exactly at the chunk where the
    count first reaches the rule's ``consecutive``: later chunks of the same run
    are the same episode (evidence to append, not a new incident).
    """

    rule: str
    metric: str
    subject: str | None
    chunk: str
    at: datetime
    value: float
    threshold: float | tuple[float, float]
    direction: str
    first_chunk: str
    first_at: datetime
    consecutive: int
    new_episode: bool
    run_id: int | None


@dataclass(frozen=True)
class _Point:
    at: datetime
    chunk: str
    value: float
    run_id: int | None


def breaches(value: float, threshold: float | tuple[float, float], direction: str) -> bool:
    """Whether ``value`` is beyond ``threshold`` in ``direction``; NaN never is.

    >>> breaches(0.5, 0.3, "above"), breaches(0.3, 0.3, "above"), breaches(5, (1, 4), "either")
    (True, False, True)
    """
    if math.isnan(value):
        return False
    if direction == "either":
        low, high = threshold if isinstance(threshold, tuple) else (threshold, threshold)
        return value < low or value > high
    if isinstance(threshold, tuple):
        raise ValueError(f"a band threshold needs direction either, not {direction}")
    return value > threshold if direction == "above" else value < threshold


def evaluate(
    policy_or_rules: Policy | Iterable[Rule], observations: Iterable[Observation]
) -> list[Firing]:
    """Every firing of the rules over the observations, ordered by (time, chunk, the
    rule's place in the policy, subject)."""
    rules = policy_or_rules.rules if isinstance(policy_or_rules, Policy) else policy_or_rules
    by_metric: dict[str, list[Observation]] = defaultdict(list)
    for observation in observations:
        by_metric[observation.metric].append(observation)
    found: list[tuple[int, Firing]] = []
    for order, rule in enumerate(rules):
        for subject, points in _series(rule.when, by_metric.get(rule.when.metric, [])):
            found.extend((order, firing) for firing in _scan(rule, subject, points))
    found.sort(
        key=lambda item: (
            item[1].at,
            item[1].chunk,
            item[0],
            item[1].subject is not None,
            item[1].subject or "",
        )
    )
    return [firing for _, firing in found]


def _scan(rule: Rule, subject: str | None, points: list[_Point]) -> Iterable[Firing]:
    when = rule.when
    bounds, direction = when.bounds, when.direction or "above"
    run = 0
    first = points[0] if points else None
    for point in points:
        if not breaches(point.value, bounds, direction):
            run = 0
            continue
        run += 1
        if run == 1:
            first = point
        if run >= when.consecutive and first is not None:
            yield Firing(
                rule=rule.name,
                metric=when.metric,
                subject=subject,
                chunk=point.chunk,
                at=point.at,
                value=point.value,
                threshold=bounds,
                direction=direction,
                first_chunk=first.chunk,
                first_at=first.at,
                consecutive=run,
                new_episode=run == when.consecutive,
                run_id=point.run_id,
            )


def _rank(observation: Observation) -> tuple[int, bool, float]:
    """Which observation of a chunk wins: the latest run, then a number over NaN,
    then the larger value (any fixed choice keeps the result order-independent)."""
    run = -1 if observation.run_id is None else observation.run_id
    nan = math.isnan(observation.value)
    return (run, not nan, -math.inf if nan else observation.value)


def _series(when: When, observations: list[Observation]) -> list[tuple[str | None, list[_Point]]]:
    """The rule's series: (subject, points ordered by time then chunk)."""
    spec = METRICS[when.metric]
    wanted = when.subject
    chunk_at: dict[str, datetime] = {}
    for observation in observations:
        at = chunk_at.get(observation.chunk)
        chunk_at[observation.chunk] = observation.at if at is None else min(at, observation.at)
    latest: dict[tuple[str | None, str | None, str], Observation] = {}
    for observation in observations:
        if wanted is not None and observation.subject != wanted:
            continue
        if when.severity is not None and observation.severity != when.severity:
            continue
        severity = observation.severity if spec.additive else None
        key = (observation.subject, severity, observation.chunk)
        held = latest.get(key)
        if held is None or _rank(observation) > _rank(held):
            latest[key] = observation
    if spec.additive:
        totals: dict[str, float] = dict.fromkeys(chunk_at, 0.0)
        runs: dict[str, int | None] = dict.fromkeys(chunk_at)
        for (_, _, chunk), observation in latest.items():
            totals[chunk] += observation.value
            runs[chunk] = _later(runs[chunk], observation.run_id)
        points = [_Point(chunk_at[c], c, v, runs[c]) for c, v in totals.items()]
        return [(wanted, sorted(points, key=_order))]
    by_subject: dict[str | None, list[_Point]] = defaultdict(list)
    for (subject, _, chunk), observation in latest.items():
        by_subject[subject].append(
            _Point(chunk_at[chunk], chunk, observation.value, observation.run_id)
        )
    return [(subject, sorted(points, key=_order)) for subject, points in by_subject.items()]


def _later(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _order(point: _Point) -> tuple[datetime, str]:
    return (point.at, point.chunk)
