"""``fallback``: switch the product's gateway route to its fallback model.

The gateway does not exist yet, so the switch is recorded as intent (an
incident event and an audit event, ``route.fallback_requested``) for the
gateway to act on when it lands; the output says so rather than pretend.
"""

from __future__ import annotations

from typing import Any

from postpilot.policies.actions.base import Action, Context
from postpilot.registry import incidents

__all__ = ["Fallback"]


class Fallback(Action):
    key = "fallback"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        assert ctx.tx is not None
        if not ctx.firing.new_episode:
            return
        if ctx.incident is not None:
            incidents.add_event(ctx.tx, ctx.incident, "fallback_requested", ctx.data())
        ctx.tx.record(
            "route.fallback_requested",
            "product",
            ctx.product.slug,
            product=ctx.product.slug,
            after={"rule": ctx.rule.name, "chunk": ctx.firing.chunk, "carried_out": False},
        )
        ctx.done.append("fallback requested (recorded as intent: no gateway route yet)")

    def describe(self, spec: Any, ctx: Context) -> str:
        if not ctx.firing.new_episode:
            return ""
        return "switch the route to its fallback (recorded as intent until the gateway exists)"
