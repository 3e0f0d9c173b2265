"""``notify``: tell a role (resolved to its holder when it fires) or a person.

Notified once per episode: when a breach first reaches the rule's
``consecutive`` count, not on every later chunk of the same breach; while the
rule's incident is open, its later evidence is on the incident instead.
"""

from __future__ import annotations

from typing import Any

from postpilot.policies.actions.base import Action, Context, people

__all__ = ["Notify"]


class Notify(Action):
    key = "notify"

    def carry_out(self, spec: Any, ctx: Context) -> None:
        if not ctx.firing.new_episode:
            return
        severity = None if ctx.incident is None else ctx.incident.severity
        reached = ctx.notify(
            spec.to,
            list(spec.via or []),
            kind="alert",
            subject=f"[postpilot] {ctx.product.slug}: {ctx.rule.name}",
            text=ctx.summary(),
            severity=severity,
        )
        if reached:
            ctx.done.append(f"notified {people(reached)} via {_channels(spec)}")

    def describe(self, spec: Any, ctx: Context) -> str:
        if not ctx.firing.new_episode:
            return ""
        reached = ctx.notify(spec.to, list(spec.via or []), kind="", subject="", text="")
        return f"notify {people(reached)} via {_channels(spec)}" if reached else ""


def _channels(spec: Any) -> str:
    return ", ".join(dict.fromkeys(["store", *(spec.via or [])]))
