"""The policy a product gets when it has none of its own.

Four rules, each sending to whoever holds the role when it fires:

* ``schema-errors``: a batch with contract findings of severity error notifies
  the data steward and the owner;
* ``sla-estimated-<metric>`` (when the product has an SLA quality metric and
  threshold): estimated performance worse than the SLA opens a high-severity
  incident for the owner and notifies them. One-sided: better performance never
  alerts (for a loss such as ``mae`` worse means above the threshold);
* ``no-data``: no data for 2 days notifies the monitoring lead;
* ``orphaned-role``: a role without a holder notifies every current role holder.

>>> [rule.name for rule in default_policy("roc_auc", 0.8).rules]
['schema-errors', 'sla-estimated-roc-auc', 'no-data', 'orphaned-role']
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from postpilot.errors import PolicyError
from postpilot.policies.model import Policy

__all__ = ["NO_DATA_AFTER", "default_policy"]

NO_DATA_AFTER = "2d"
"""How long without data before the monitoring lead hears of it."""


def default_policy(product_sla_metric: str | None, sla_threshold: float | None) -> Policy:
    """The default policy; the SLA rule is included when both SLA values are given.

    A metric postpilot cannot estimate, or a threshold that is not a finite number,
    raises :class:`PolicyError` naming the product's SLA as what to fix.
    """
    rules: list[dict[str, Any]] = [
        {
            "name": "schema-errors",
            "description": "the batch broke its data contract",
            "when": {"metric": "contract.findings", "severity": "error", "threshold": 0},
            "then": [{"notify": "data_steward"}, {"notify": "owner"}],
        }
    ]
    if product_sla_metric is not None and sla_threshold is not None:
        if isinstance(sla_threshold, bool) or not math.isfinite(sla_threshold):
            raise PolicyError(
                f"the product's SLA threshold must be a finite number, got {sla_threshold!r}",
                field="sla_threshold",
            )
        rules.append(
            {
                "name": f"sla-estimated-{product_sla_metric.replace('_', '-')}",
                "description": f"estimated {product_sla_metric} is worse than the SLA",
                "when": {
                    "metric": "performance.estimated",
                    "name": product_sla_metric,
                    "threshold": float(sla_threshold),
                },
                "then": [
                    {"open_incident": {"severity": "high", "assignee": "owner"}},
                    {"notify": "owner"},
                ],
            }
        )
    rules += [
        {
            "name": "no-data",
            "description": f"no data arrived for {NO_DATA_AFTER}",
            "when": {"metric": "data.silence", "threshold": NO_DATA_AFTER},
            "then": [{"notify": "monitoring_lead"}],
        },
        {
            "name": "orphaned-role",
            "description": "a role has no holder",
            "when": {"metric": "roles.orphaned", "threshold": 0},
            "then": [{"notify": "role_holders"}],
        },
    ]
    try:
        return Policy.model_validate({"schema_version": 1, "rules": rules})
    except ValidationError as exc:
        raise PolicyError(
            f"the product's SLA metric {product_sla_metric!r} cannot be watched: "
            f"{exc.errors()[0]['msg'].removeprefix('Value error, ')}",
            field="sla_metric",
            hint="Set the product's SLA quality metric to one postpilot estimates",
        ) from None
