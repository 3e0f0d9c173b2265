"""``fallback``: switch the product's gateway route to its fallback.

When the product has a gateway route with a fallback (another version, a
constant, a rule or a 503), every request is answered by the fallback from
the next route refresh on (within seconds), and each response says so
(``served_by: fallback``). The switch stays on until someone turns it off
(``postpilot route fallback PRODUCT off``): a model that degraded should not
come back on its own because the next chunk looked better.

Without a route, or with a route that has no fallback, nothing can be
switched: the request is recorded as intent (an incident event and a
``route.fallback_requested`` audit event) and the output says so.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from postpilot.policies.actions.base import Action, Context
from postpilot.registry import incidents, routes
from postpilot.store.models import RouteRow

__all__ = ["Fallback"]


class Fallback(Action):
    key = "fallback"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        assert ctx.tx is not None
        if not ctx.firing.new_episode:
            return
        tx, slug = ctx.tx, ctx.product.slug
        row = tx.session.scalar(select(RouteRow).where(RouteRow.product_id == tx.product(slug).id))
        reason = f"policy rule {ctx.rule.name!r}: {ctx.summary()}"
        if row is not None and row.fallback_kind != "none":
            already = row.fallback_active
            route = routes.set_fallback_active(tx, slug, True, reason=reason[:2000])
            if ctx.incident is not None:
                incidents.add_event(ctx.tx, ctx.incident, "fallback_switched", ctx.data())
            if already:
                ctx.done.append("the route was already switched to its fallback")
            else:
                ctx.done.append(
                    f"switched the gateway route to its fallback ({route.fallback.describe()})"
                )
            return
        why = "no gateway route" if row is None else "the route has no fallback"
        if ctx.incident is not None:
            incidents.add_event(ctx.tx, ctx.incident, "fallback_requested", ctx.data())
        tx.record(
            "route.fallback_requested",
            "product",
            slug,
            product=slug,
            after={
                "rule": ctx.rule.name,
                "chunk": ctx.firing.chunk,
                "carried_out": False,
                "why": why,
            },
        )
        ctx.done.append(f"fallback requested but not carried out: {why}")

    def describe(self, spec: Any, ctx: Context) -> str:
        if not ctx.firing.new_episode:
            return ""
        return "switch the gateway route to its fallback (when the route has one)"
