"""``policy test``: replay a product's stored monitoring runs through a policy file.

The same observations and the same evaluator as a monitor pass, with every
action described instead of carried out: nothing is stored and nothing sent,
so thresholds are tuned on history before they wake anyone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postpilot.policies.engine import describe
from postpilot.policies.evaluate import evaluate
from postpilot.policies.observations import Observation, observations_from_run
from postpilot.policies.store import global_channel_specs, load_for_product, with_defaults
from postpilot.registry import Registry

__all__ = ["dry_run"]


def dry_run(reg: Registry, file: str | Path, product: str) -> list[dict[str, Any]]:
    """What the policy in ``file`` would have done over ``product``'s stored runs."""
    entity = reg.product(product)
    known = list(global_channel_specs(reg))
    policy = with_defaults(reg, product, load_for_product(Path(file), product, known)[0])
    observations: list[Observation] = []
    for run in reg.monitoring_runs(product):
        observations.extend(observations_from_run(run))
    return describe(entity, policy, evaluate(policy, observations))
