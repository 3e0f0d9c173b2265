"""postpilot: take AI models past the pilot and keep them alive in production.

``import postpilot`` gives the registry API::

    reg = postpilot.Registry()            # $POSTPILOT_DATABASE_URL or ./.postpilot/postpilot.db
    reg.add_person("maya@example.com", name="Maya Chen")
    reg.create_product("churn", stage="pilot", owner="maya@example.com")

Importing postpilot has no side effects: no files, no network, no logging setup.
It is also cheap: the registry (and with it SQLAlchemy) is imported the first time
one of its names is used, so ``postpilot --help`` does not pay for it.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from postpilot.errors import (
    AdapterError,
    AuditTamperedError,
    BackendError,
    ChannelConfigError,
    ConfigError,
    ConflictError,
    ContractError,
    InactivePersonError,
    InputError,
    MissingExtraError,
    MissingOwnerError,
    NotAPersonError,
    NotFoundError,
    PolicyError,
    PostpilotError,
    RuleViolation,
    StageTransitionError,
    StoreError,
)
from postpilot.settings import Settings

if TYPE_CHECKING:
    from postpilot.registry import (
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
        Registry,
        Role,
        Sla,
        Stage,
        StageTransition,
        Team,
        TrainingData,
        to_data,
    )

__version__ = "0.1.0.dev0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_LAZY = {
    name: "postpilot.registry"
    for name in (
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
        "to_data",
    )
}
"""Public names imported on first use (PEP 562), and the module that holds each."""


if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above: an
    # unknown name stays an error for them instead of an Any from __getattr__

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later look-ups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "PERSON_ROLES",
    "AdapterError",
    "Assignment",
    "AuditEvent",
    "AuditTamperedError",
    "AuditVerification",
    "BackendError",
    "ChannelConfigError",
    "ConfigError",
    "ConflictError",
    "ContractError",
    "DataSource",
    "Deactivation",
    "InactivePersonError",
    "InputError",
    "MissingExtraError",
    "MissingOwnerError",
    "ModelVersion",
    "NotAPersonError",
    "NotFoundError",
    "OrphanedRole",
    "Person",
    "PolicyError",
    "PostpilotError",
    "Product",
    "ProductSummary",
    "Registry",
    "Role",
    "RuleViolation",
    "Settings",
    "Sla",
    "Stage",
    "StageTransition",
    "StageTransitionError",
    "StoreError",
    "Team",
    "TrainingData",
    "__version__",
    "to_data",
]
