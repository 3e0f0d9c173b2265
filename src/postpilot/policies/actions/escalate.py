"""``escalate``: when the rule's incident is still unacknowledged after a duration,
notify the next person or role.

At the opening, the escalation is scheduled on the incident (an event with
its due time); each monitor pass carries out the escalations that are due on
incidents nobody has acknowledged (:func:`postpilot.policies.engine.escalate_due`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from postpilot.policies.actions.base import Action, Context, people
from postpilot.registry import incidents

__all__ = ["Escalate", "after_of"]


def after_of(spec: Any) -> timedelta:
    delay: timedelta = spec.delay
    return delay


class Escalate(Action):
    key = "escalate"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        assert ctx.tx is not None
        if ctx.incident is None or not ctx.incident_is_new:
            return
        due = ctx.incident.opened_at + after_of(spec)
        incidents.add_event(
            ctx.tx,
            ctx.incident,
            "escalation_scheduled",
            {"to": spec.to, "via": list(spec.via or []), "due": due.isoformat()},
        )
        ctx.done.append(f"escalation to {spec.to} scheduled for {due:%Y-%m-%d %H:%M} UTC")

    def describe(self, spec: Any, ctx: Context) -> str:
        if not ctx.incident_is_new:
            return ""
        return f"escalate to {people(ctx.recipients(spec.to))} if unacknowledged after {spec.after}"
