"""Read and write contract YAML, with one clear error per mistake, each with its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

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
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(
            f"{source}{line}: not valid YAML: {problem}", file=f"{source}{line}"
        ) from exc
    if not isinstance(data, dict):
        raise ContractError(
            f"{source}:1: a contract is a mapping with 'name' and 'columns'", file=source
        )
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, node, source) for err in exc.errors()]
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ContractError(f"{first}{more}", file=source, problems=problems) from None


def _describe(err: Any, root: yaml.Node | None, source: str) -> str:
    loc = [str(part) for part in err["loc"]]
    node, line = root, 1
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if k.value == part), None)
        if match is None:
            break
        line = match[0].start_mark.line + 1
        node = match[1]
    field = ".".join(loc) or "(top level)"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
        allowed = _allowed_keys(loc)
        if allowed:
            message += f"; allowed: {', '.join(allowed)}"
    elif err["type"] == "literal_error" and "input" in err:
        message = f"{message}, got {err['input']!r}"
    return f"{source}:{line}: {field}: {message}"


def _allowed_keys(loc: list[str]) -> list[str]:
    from postpilot.contracts.model import ColumnSpec, Range, Reference, RowSpec

    parent = loc[:-1]
    model: Any = Contract
    if len(parent) >= 2 and parent[0] == "columns":
        model = ColumnSpec
        if len(parent) >= 3:
            model = {"range": Range, "reference": Reference}.get(parent[2], ColumnSpec)
    elif parent == ["rows"]:
        model = RowSpec
    return list(model.model_fields)


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
