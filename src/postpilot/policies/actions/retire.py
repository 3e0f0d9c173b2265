"""``retire``: ask for the product to be retired; a person confirms.

Retiring a model is not something a threshold should do alone. The action
records the request (incident event, audit event) and notifies the owner with
the command that confirms it: ``postpilot product stage SLUG retired``.
"""

from __future__ import annotations

from typing import Any

from postpilot.policies.actions.base import Action, Context
from postpilot.registry import incidents

__all__ = ["Retire"]


class Retire(Action):
    key = "retire"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        assert ctx.tx is not None
        if not ctx.firing.new_episode:
            return
        slug = ctx.product.slug
        if ctx.incident is not None:
            incidents.add_event(ctx.tx, ctx.incident, "retire_requested", ctx.data())
        ctx.tx.record(
            "product.retire_requested",
            "product",
            slug,
            product=slug,
            after={"rule": ctx.rule.name, "chunk": ctx.firing.chunk},
        )
        ctx.notify(
            "owner",
            None,
            kind="retire_request",
            subject=f"[postpilot] {slug}: retirement requested by rule {ctx.rule.name}",
            text=f"{ctx.summary()}. The policy asks to retire {slug}; confirm with: "
            f"postpilot product stage {slug} retired --reason '...'",
        )
        ctx.done.append(
            f"retirement requested; the owner confirms with: postpilot product stage {slug} retired"
        )

    def describe(self, spec: Any, ctx: Context) -> str:
        if not ctx.firing.new_episode:
            return ""
        return "request retirement (the owner must confirm)"
