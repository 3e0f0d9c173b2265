"""Every error postpilot raises on purpose.

The hierarchy::

    PostpilotError                      root; catch this to catch everything below
    ├── InputError(ValueError)          a value, file or option is not acceptable
    │   ├── ConfigError                 a setting or environment variable is wrong
    │   │   └── ChannelConfigError      a notification channel's config or secret is wrong
    │   ├── ContractError               a data contract file is malformed
    │   ├── PolicyError                 a policy file is malformed
    │   └── AdapterError                an input adapter file is malformed
    ├── NotFoundError(LookupError)      a named thing does not exist
    ├── ConflictError                   a thing with that name already exists
    ├── RuleViolation                   the registry's rules forbid the change
    │   ├── MissingOwnerError           a product needs a named owner first
    │   ├── InactivePersonError         a role cannot go to an inactive person
    │   ├── NotAPersonError             a role can only go to one person
    │   └── StageTransitionError        the lifecycle does not allow that move
    ├── BackendError                    a model backend cannot load or answer
    ├── StoreError                      the metadata store cannot be used
    │   └── AuditTamperedError          an audit row may never be changed
    └── MissingExtraError(ImportError)  an optional dependency is not installed

Every error carries a plain-language message, and where it helps the ``field``
(the option, argument, column or key at fault), the ``file``, and a ``hint``
that says how to fix it. The CLI prints ``error: <message> (<field or file>)``
followed by the hint, and exits 2.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "AuditTamperedError",
    "BackendError",
    "ChannelConfigError",
    "ConfigError",
    "ConflictError",
    "ContractError",
    "InactivePersonError",
    "InputError",
    "MissingExtraError",
    "MissingOwnerError",
    "NotAPersonError",
    "NotFoundError",
    "PolicyError",
    "PostpilotError",
    "RuleViolation",
    "StageTransitionError",
    "StoreError",
]


class PostpilotError(Exception):
    """Root of every error postpilot raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        file: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.file = file
        self.hint = hint

    def __str__(self) -> str:
        where = self.file or self.field
        text = f"{self.message} ({where})" if where else self.message
        return f"{text}. {self.hint}" if self.hint else text


class InputError(PostpilotError, ValueError):
    """A value, file or option is not acceptable."""


class ConfigError(InputError):
    """A setting or ``POSTPILOT_*`` environment variable is wrong."""


class ChannelConfigError(ConfigError):
    """A notification channel's config is wrong, or its secret cannot be read.

    ``field`` is the channel's name. The message names the key, environment
    variable or file at fault and never the secret's value.
    """


class _WithProblems:
    """For errors about an input file with possibly several mistakes: ``problems``
    lists every one (``file:line: field: problem``); the message is the first.
    Mixed in before :class:`InputError`."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        file: str | None = None,
        hint: str | None = None,
        problems: list[str] | None = None,
    ) -> None:
        super().__init__(message, field=field, file=file, hint=hint)  # type: ignore[call-arg]
        self.problems = problems or [message]


class ContractError(_WithProblems, InputError):
    """A data contract file is malformed; ``problems`` lists every mistake found."""


class PolicyError(_WithProblems, InputError):
    """A policy file is malformed; ``problems`` lists every mistake found."""


class AdapterError(_WithProblems, InputError):
    """An input adapter file is malformed, or a record cannot be adapted.

    ``problems`` lists every mistake found in a file; for a record, ``field``
    names the field at fault.
    """


class NotFoundError(PostpilotError, LookupError):
    """A named thing (person, product, data source, ...) does not exist."""


class ConflictError(PostpilotError):
    """A thing with that name already exists."""


class RuleViolation(PostpilotError):
    """The registry's rules forbid the requested change."""


class MissingOwnerError(RuleViolation):
    """A product cannot enter ``pilot`` (or later) without a named, active owner."""


class InactivePersonError(RuleViolation):
    """A role cannot be assigned to a deactivated person."""


class NotAPersonError(RuleViolation):
    """A role is held by exactly one person: never a team, never a list."""


class StageTransitionError(RuleViolation):
    """The product lifecycle does not allow that stage change."""


class BackendError(PostpilotError):
    """A model backend cannot be loaded, or failed to answer a request.

    ``retryable`` is true when trying again later may work (a remote model timed
    out or answered 5xx); false when it cannot (the artifact is not a model, the
    records do not fit its features).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        file: str | None = None,
        hint: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, field=field, file=file, hint=hint)
        self.retryable = retryable


class StoreError(PostpilotError):
    """The metadata store cannot be opened, migrated or written."""


class AuditTamperedError(StoreError):
    """Application code tried to change or delete an audit event."""


class MissingExtraError(PostpilotError, ImportError):
    """An optional dependency is not installed; the hint names the ``pip install``."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed",
            hint=f"Install it with: pip install 'postpilot[{extra}]'",
        )
        self.package = package
        self.extra = extra
