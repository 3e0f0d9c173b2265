"""postpilot: take AI models past the pilot and keep them alive in production.

``import postpilot`` gives the registry API::

    reg = postpilot.Registry()            # $POSTPILOT_DATABASE_URL or ./.postpilot/postpilot.db
    reg.add_person("maya@example.com", name="Maya Chen")
    reg.create_product("churn", stage="pilot", owner="maya@example.com")

Importing postpilot has no side effects: no files, no network, no logging setup.
"""

import logging

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
from postpilot.settings import Settings

__version__ = "0.1.0.dev0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
