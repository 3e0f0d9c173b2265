"""Read and write policy YAML, with one clear error per mistake, each with its line.

>>> policy = loads_policy('''
... rules:
...   - name: inputs-drifted
...     when: {metric: drift.share, threshold: 0.3}
...     then: [notify: owner]
... ''')
>>> policy.rules[0].when.direction
'above'
>>> loads_policy(dumps_policy(policy)) == policy
True
>>> loads_policy("rules: [{name: x, when: {metric: drift.shar, threshold: 1}, then: []}]")
Traceback (most recent call last):
...
postpilot.errors.PolicyError: <policy>:1: rules.0.when.metric: unknown metric 'drift.shar'; ...
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from postpilot._yaml import describe_errors, load_yaml_document, raise_problems
from postpilot.errors import PolicyError
from postpilot.policies._types import ChannelName, Strict
from postpilot.policies.model import Channel, Policy

__all__ = [
    "SCHEMA_ID",
    "channel_spec",
    "dumps_policy",
    "load_channels",
    "load_policy",
    "loads_policy",
    "policy_schema",
    "read_policy_text",
]

SCHEMA_ID = "urn:postpilot:schema:policy:1"


def load_policy(path: str | Path, *, known_channels: Collection[str] = ()) -> Policy:
    """Load a policy file; a malformed file raises :class:`PolicyError` listing every
    mistake as ``file:line: field.path: problem``. ``known_channels`` are channel names
    defined elsewhere (globally) that ``via`` may name besides the file's own."""
    file = Path(path)
    return loads_policy(read_policy_text(file), source=str(file), known_channels=known_channels)


def read_policy_text(path: str | Path) -> str:
    """The text of a policy file; a :class:`PolicyError` naming it when it cannot be read."""
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {file}", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy file: {exc}", file=str(file)) from exc


def loads_policy(
    text: str, *, source: str = "<policy>", known_channels: Collection[str] = ()
) -> Policy:
    """The policy in ``text`` (YAML); see :func:`load_policy`."""
    data, node = load_yaml_document(text, source, PolicyError, unique_keys=True)
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise PolicyError(
            f"{source}:1: a policy is a mapping with schema_version and rules, got {found}",
            file=source,
        )
    try:
        return Policy.model_validate(data, context={"known_channels": list(known_channels)})
    except ValidationError as exc:
        raise_problems(PolicyError, describe_errors(exc, Policy, node, source), source)


def dumps_policy(policy: Policy) -> str:
    """The policy as YAML that :func:`loads_policy` reads back equal (defaults filled in,
    so the file shows what is in effect)."""
    header = (
        "# postpilot policy: edit by hand, keep schema_version.\n"
        "# Check it with: postpilot policy test <this file> --product <product>\n"
    )
    data = policy.to_data(mask_urls=False)
    body: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


class _Dumper(yaml.SafeDumper):
    """Lists of plain values on one line (``via: [ops-webhook, store]``), as people write them."""

    def represent_list(self, data: Any) -> yaml.Node:  # type: ignore[override]
        flow = all(isinstance(item, str | int | float) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy file, for editors: with the
    YAML language server, start a policy with
    ``# yaml-language-server: $schema=policy.schema.json``."""
    schema = Policy.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


class _ChannelsFile(Strict):
    """``$POSTPILOT_HOME/channels.yaml``: channels every product may use."""

    channels: dict[ChannelName, Channel]


def load_channels(path: str | Path) -> dict[str, dict[str, Any]]:
    """The global channels file, checked like a policy (``file:line: field: problem``),
    as channel specs for :func:`postpilot.policies.channels.make_channel`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the channels file: {exc}", file=str(file)) from exc
    source = str(file)
    data, node = load_yaml_document(text, source, PolicyError, unique_keys=True)
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: a channels file is a mapping with 'channels'", file=source)
    try:
        parsed = _ChannelsFile.model_validate(data)
    except ValidationError as exc:
        raise_problems(PolicyError, describe_errors(exc, _ChannelsFile, node, source), source)
    return {name: channel_spec(model) for name, model in parsed.channels.items()}


def channel_spec(model: Any) -> dict[str, Any]:
    """A channel model as the mapping the channel layer reads (``smtp_host`` is ``host``)."""
    spec: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    for ours, theirs in (("smtp_host", "host"), ("smtp_port", "port")):
        if ours in spec:
            spec[theirs] = spec.pop(ours)
    return spec
