"""``block_promotion``: the product cannot enter production while the block stands.

The block is lifted when the incident of the same rule is resolved (or, for a
rule with no incident, stays until an administrator resolves it).
"""

from __future__ import annotations

from typing import Any

from postpilot.policies.actions.base import Action, Context
from postpilot.registry import policies

__all__ = ["BlockPromotion"]


class BlockPromotion(Action):
    key = "block_promotion"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        assert ctx.tx is not None
        assert ctx.row is not None
        added = policies.add_block(
            ctx.tx,
            ctx.row,
            rule=ctx.rule.name,
            reason=ctx.summary(),
            incident_id=None if ctx.incident is None else ctx.incident.id,
        )
        if added:
            ctx.done.append("blocked promotion to production")

    def describe(self, spec: Any, ctx: Context) -> str:
        if not ctx.firing.new_episode:
            return ""
        return "block promotion to production"
