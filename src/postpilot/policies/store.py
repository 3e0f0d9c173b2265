"""A product's effective policy: its latest applied version, else the default policy.

``apply_policy`` checks a policy file completely (every mistake, with its
line) before anything is stored, then stores its text as a new version
(audited). A product that never had a policy applied gets
:func:`postpilot.policies.defaults.default_policy`, built from its SLA, so
every product in pilot or production is watched from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postpilot.errors import PolicyError
from postpilot.registry import Registry
from postpilot.registry.policies import StoredPolicy

__all__ = [
    "LoadedPolicy",
    "apply_policy",
    "global_channel_specs",
    "load_effective",
    "load_for_product",
    "with_defaults",
]


@dataclass(frozen=True)
class LoadedPolicy:
    """The policy in force: ``version`` None and ``default`` True for the default one;
    ``file`` is where the applied text came from (relative source paths resolve
    against its folder)."""

    policy: Any
    version: int | None
    file: str | None
    default: bool
    after_run: int | None = None
    """It acts on monitoring runs after this one (None: on every run)."""


def global_channel_specs(reg: Registry) -> dict[str, dict[str, Any]]:
    """The channels every product may use, from ``$POSTPILOT_HOME/channels.yaml``
    (``channels:``, the same schema as a policy's); none when the file does not exist."""
    from postpilot.policies.io import load_channels

    path = Path(reg.settings.home) / "channels.yaml"
    if not path.exists():
        return {}
    return load_channels(path)


def with_defaults(reg: Registry, slug: str, policy: Any) -> Any:
    """``policy`` plus the default rules whose names it does not use, unless it says
    ``defaults: false``."""
    from postpilot.policies.defaults import default_policy

    if not policy.defaults:
        return policy
    sla = reg.product(slug).sla
    named = {rule.name for rule in policy.rules}
    extra = [
        rule
        for rule in default_policy(sla.quality_metric, sla.quality_threshold).rules
        if rule.name not in named
    ]
    return policy.model_copy(update={"rules": [*policy.rules, *extra]})


def load_effective(reg: Registry, slug: str) -> LoadedPolicy:
    from postpilot.policies.defaults import default_policy
    from postpilot.policies.io import loads_policy

    stored = reg.policy(slug)
    if stored is None:
        sla = reg.product(slug).sla
        return LoadedPolicy(
            default_policy(sla.quality_metric, sla.quality_threshold), None, None, True
        )
    policy = loads_policy(
        stored.body,
        source=f"{slug} policy v{stored.version}",
        known_channels=list(global_channel_specs(reg)),
    )
    return LoadedPolicy(
        with_defaults(reg, slug, policy), stored.version, stored.source, False, stored.after_run
    )


def load_for_product(
    path: str | Path, product: str, known_channels: list[str] | None = None
) -> tuple[Any, str]:
    """The policy in the file and its text, checked completely, and refused when its
    ``product:`` names another product (reported at that line)."""
    from postpilot._yaml import line_of, load_yaml_document
    from postpilot.policies.io import loads_policy, read_policy_text

    file = Path(path)
    body = read_policy_text(file)  # read once: the text checked is the text used
    policy = loads_policy(body, source=str(file), known_channels=known_channels or ())
    named = getattr(policy, "product", None)
    if named is not None and named != product:
        _, node = load_yaml_document(body, str(file), PolicyError)
        raise PolicyError(
            f"{file}:{line_of(node, ['product'])}: product: the policy is for product "
            f"{named!r}, not {product!r}",
            file=str(file),
            field="product",
            hint=f"Use --product {named}, or change its 'product:' line",
        )
    return policy, body


def apply_policy(reg: Registry, path: str | Path, product: str) -> tuple[StoredPolicy, bool]:
    """Check the policy file and store it as the product's next version. Nothing is
    stored when the file has a mistake; the same text as the latest version adds none."""
    file = Path(path)
    reg.product(product)  # an unknown product fails first
    _, body = load_for_product(file, product, list(global_channel_specs(reg)))
    return reg.apply_policy(product, body, source=str(file.resolve()))
