"""``open_incident``: one open incident per rule and product, evidence appended.

The first firing of a breach opens the incident (assigned to the holder of
``assignee``, the owner by default); every later firing of the same rule
while it is unresolved appends its evidence to it instead of opening another.
Time to detect is recorded: the first bad chunk's time to the opening, and
the number of chunks it took.
"""

from __future__ import annotations

from typing import Any

from postpilot.policies.actions.base import Action, Context
from postpilot.registry import incidents

__all__ = ["OpenIncident"]


def _assignee(spec: Any) -> str:
    return getattr(spec, "assignee", None) or "owner"


class OpenIncident(Action):
    key = "open_incident"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        assert ctx.tx is not None
        assert ctx.row is not None
        f = ctx.firing
        who = ctx.recipients(_assignee(spec))[0]
        row, created = incidents.open_or_append(
            ctx.tx,
            ctx.row,
            incidents.NewIncident(
                rule=ctx.rule.name,
                policy_version=ctx.policy_version,
                severity=spec.severity,
                title=ctx.summary(),
                assignee=who.email,
                assignee_role=who.role,
                first_bad_chunk=f.first_chunk[:200],
                first_bad_at=f.first_at,
                detected_chunk=f.chunk[:200],
                chunks_to_detect=f.consecutive,
                evidence=ctx.data(),
            ),
        )
        ctx.incident, ctx.incident_is_new = row, created
        if created:
            ctx.done.append(
                f"opened incident #{row.id} ({spec.severity}) for {who.email or 'nobody'}"
            )
        else:
            ctx.done.append(f"appended evidence to incident #{row.id}")

    def describe(self, spec: Any, ctx: Context) -> str:
        who = ctx.recipients(_assignee(spec))[0]
        if ctx.incident_is_new:
            return f"open a {spec.severity} incident for {who.email or 'nobody'}"
        return "append evidence to the rule's open incident"
