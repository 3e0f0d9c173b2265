"""Read and write contract YAML, with one clear error per mistake, each with its line."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from postpilot._yaml import describe_errors, load_yaml_document, raise_problems
from postpilot.contracts.model import Contract
from postpilot.errors import ContractError, InputError

__all__ = ["dump_contract", "dumps_contract", "load_contract", "loads_contract"]


def load_contract(path: str | Path) -> Contract:
    """Load a contract file; a malformed file raises :class:`ContractError` listing
    every mistake as ``file:line: field: problem``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"contract file not found: {file}", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"cannot read contract file: {exc}", file=str(file)) from exc
    return loads_contract(text, source=str(file))


def loads_contract(text: str, *, source: str = "<contract>") -> Contract:
    data, node = load_yaml_document(text, source, ContractError)
    if not isinstance(data, dict):
        raise ContractError(
            f"{source}:1: a contract is a mapping with 'name' and 'columns'", file=source
        )
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        raise_problems(ContractError, describe_errors(exc, Contract, node, source), source)


def dumps_contract(contract: Contract) -> str:
    data = {
        "schema_version": contract.schema_version,
        **contract.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
    }
    header = (
        "# postpilot data contract: edit by hand, keep schema_version.\n"
        "# Check a batch with: postpilot contract check <this file> <data>\n"
    )
    body: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def dump_contract(contract: Contract, path: str | Path) -> None:
    """Write the contract atomically (a temporary file renamed into place)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(dumps_contract(contract), encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot write the contract to {target}: {exc.strerror or exc}", file=str(target)
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
