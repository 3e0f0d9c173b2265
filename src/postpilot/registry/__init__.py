"""The registry: AI products, the five accountable roles, model versions, the audit log.

The entities (plain dataclasses and enums) are imported at once; :class:`Registry`,
which needs SQLAlchemy, on first use, so code that only names an entity (the CLI
building its help) stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from postpilot.registry.entities import (
    PERSON_ROLES,
    Assignment,
    AuditEvent,
    AuditVerification,
    DataSource,
    Deactivation,
    ModelVersion,
    OrphanedRole,
    Person,
    Product,
    ProductSummary,
    Role,
    Sla,
    Stage,
    StageTransition,
    Team,
    TrainingData,
    to_data,
)

if TYPE_CHECKING:
    from postpilot.registry.registry import Registry, resolve_actor

_LAZY = frozenset({"Registry", "resolve_actor"})
"""Names imported from :mod:`postpilot.registry.registry` on first use (PEP 562)."""


if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above: an
    # unknown name stays an error for them instead of an Any from __getattr__

    def __getattr__(name: str) -> Any:
        if name not in _LAZY:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module("postpilot.registry.registry"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "PERSON_ROLES",
    "Assignment",
    "AuditEvent",
    "AuditVerification",
    "DataSource",
    "Deactivation",
    "ModelVersion",
    "OrphanedRole",
    "Person",
    "Product",
    "ProductSummary",
    "Registry",
    "Role",
    "Sla",
    "Stage",
    "StageTransition",
    "Team",
    "TrainingData",
    "resolve_actor",
    "to_data",
]
