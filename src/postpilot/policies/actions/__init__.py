"""Policy actions by their stable keys; every one passes the same conformance test."""

from __future__ import annotations

from postpilot.errors import InputError
from postpilot.policies.actions.base import Action, Context
from postpilot.policies.actions.block import BlockPromotion
from postpilot.policies.actions.escalate import Escalate
from postpilot.policies.actions.fallback import Fallback
from postpilot.policies.actions.incident import OpenIncident
from postpilot.policies.actions.notify import Notify
from postpilot.policies.actions.retire import Retire

__all__ = ["ACTIONS", "Action", "Context", "get_action"]

ACTIONS: dict[str, Action] = {
    a.key: a for a in (Notify(), OpenIncident(), Escalate(), Fallback(), BlockPromotion(), Retire())
}


def get_action(key: str) -> Action:
    try:
        return ACTIONS[key]
    except KeyError:
        raise InputError(
            f"unknown action {key!r}", field="then", hint=f"Use one of: {', '.join(ACTIONS)}"
        ) from None
