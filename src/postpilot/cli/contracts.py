"""``postpilot contract ...``: infer, check, diff, list and show data contracts."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from postpilot.cli._base import (
    EXIT_FOUND,
    Format,
    FormatOption,
    app_group,
    command,
    console,
    emit_json,
    registry,
)
from postpilot.cli._output import check_outputs, staged
from postpilot.cli.monitoring import Engine, EngineOption, SparkFormat
from postpilot.errors import InputError

if TYPE_CHECKING:  # pydantic and the store: imported by the commands that use them
    from postpilot.contracts import CheckResult, Contract
    from postpilot.registry.contracts import StoredContract

contract_app = app_group(
    "contract", "Data contracts: inferred from training data, checked on every batch."
)

_STORED = re.compile(r"^(?P<name>[^@/\\]+)@(?P<version>\d+)$")
DataArg = Annotated[str, typer.Argument(help="Parquet or CSV file to profile.")]


def profile_path(contract_file: Path) -> Path:
    """Where the reference profile is kept beside a contract file."""
    return contract_file.with_suffix(".profile")


@command(contract_app, "infer")
def contract_infer(
    data: DataArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Contract YAML to write.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Contract name (default: --source, else the data file's stem)."
        ),
    ] = None,
    product: Annotated[str | None, typer.Option("--product", help="Product it feeds.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="The product's data source it describes (its steward is recorded)."
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--range-tolerance", help="Share of the seen range allowed beyond it on each side."
        ),
    ] = 0.1,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Also save a version in the store.")
    ] = True,
) -> None:
    """Infer a contract from training data; writes the YAML and the reference profile."""
    from postpilot.contracts import dumps_contract
    from postpilot.contracts.infer import infer_contract
    from postpilot.profiles import profile

    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise InputError(
            f"--range-tolerance must be a finite number >= 0, got {tolerance}",
            field="--range-tolerance",
            hint="For example --range-tolerance 0.1 (10% of the seen range on each side)",
        )
    check_outputs({"--output": output}, inputs=[data])  # a folder has no profile path
    beside = profile_path(output)
    if beside == output:
        raise InputError(
            f"{output} ends in .profile: the contract and its reference profile would both "
            "be written there",
            field="--output",
            hint="Name the contract file .yaml",
        )
    check_outputs({"--output": output, "--output's profile": beside}, inputs=[data])
    if source and not product:
        raise InputError(
            "--source names a data source of a product",
            field="product",
            hint="Pass --product SLUG as well",
        )
    reg = registry() if (store or product) else None
    steward = None
    if reg is not None and product and source:
        holder = reg.steward(product, source)
        steward = holder.email if holder else None
    with console.status(f"profiling {data} ..."):
        reference = profile(data)
    contract = infer_contract(
        reference,
        name=name or source or Path(data).stem,
        range_tolerance=tolerance,
        source=source,
        product=product,
        steward=steward,
        created_by=reg.actor if reg else None,
        file=data,
    )
    profile_bytes = reference.to_bytes()
    # The YAML, the profile and the stored version land together, or none of them.
    with staged() as files:
        files.write_text(output, dumps_contract(contract))
        files.write_bytes(beside, profile_bytes)
        stored = reg.save_contract(contract, profile=profile_bytes) if reg and store else None
    console.print(
        f"wrote {escape(str(output))} ({len(contract.columns)} columns, {reference.rows} rows) "
        f"and its reference profile {escape(str(beside))}"
    )
    if stored:
        console.print(f"stored as {escape(stored.name)}@{stored.version}")
    if product and source and steward is None:
        console.print(
            f"[yellow]warning:[/] {escape(product)}/{escape(source)} has no data steward; "
            f"assign one: postpilot role assign {escape(product)} data_steward EMAIL "
            f"--source {escape(source)}"
        )


@command(contract_app, "check")
def contract_check(
    contract: Annotated[
        str, typer.Argument(help="Contract YAML file, or NAME@VERSION from the store.")
    ],
    data: DataArg,
    engine: EngineOption = Engine.local,
    spark_format: SparkFormat = None,
    fmt: Format = FormatOption,
) -> None:
    """Check a batch against a contract. Exit 0 clean, 1 error findings, 2 unreadable input."""
    from postpilot.cli.monitoring import check_engine
    from postpilot.contracts import check_contract

    check_engine(engine, spark_format)
    if engine is Engine.spark:
        from postpilot.spark.contracts import check_contract_spark

        result = check_contract_spark(_load(contract), data, spark_format=spark_format)
    else:
        result = check_contract(_load(contract), data)
    if fmt is Format.json:
        emit_json(result.to_dict())
    else:
        _print_result(result)
    if not result.ok:
        raise typer.Exit(EXIT_FOUND)


@command(contract_app, "diff")
def contract_diff(
    old: Annotated[str, typer.Argument(help="Contract file or NAME@VERSION.")],
    new: Annotated[str, typer.Argument(help="Contract file or NAME@VERSION.")],
    fmt: Format = FormatOption,
) -> None:
    """Show what changed between two versions of a contract."""
    from postpilot.contracts import diff_contracts

    changes = diff_contracts(_load(old), _load(new))
    if fmt is Format.json:
        emit_json(
            [
                {"column": c.column, "field": c.field, "before": c.before, "after": c.after}
                for c in changes
            ]
        )
        return
    if not changes:
        console.print("no changes")
    for change in changes:
        console.print(Text(change.describe()))


@command(contract_app, "list")
def contract_list(
    name: Annotated[str | None, typer.Option("--name", help="Only this contract.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """List stored contract versions."""
    stored = registry().contracts(name)
    if fmt is Format.json:
        emit_json([_summary(s) for s in stored])
        return
    table = Table("contract", "version", "product", "source", "steward", "columns", "created", "by")
    for s in stored:
        table.add_row(
            Text(s.name),
            str(s.version),
            Text(s.product or ""),
            Text(s.source or ""),
            Text(s.contract.steward or ""),
            str(len(s.contract.columns)),
            f"{s.created_at:%Y-%m-%d %H:%M}",
            Text(s.created_by),
        )
    console.print(table)


@command(contract_app, "show")
def contract_show(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION from the store.")],
) -> None:
    """Print a stored contract's YAML."""
    from postpilot.contracts import dumps_contract

    name, _, version = ref.partition("@")
    stored = registry().contract(name, int(version) if version.isdigit() else None)
    typer.echo(dumps_contract(stored.contract), nl=False)


def _load(ref: str) -> Contract:
    from postpilot.contracts import load_contract

    match = _STORED.match(ref)
    if match and not Path(ref).exists():
        return registry().contract(match["name"], int(match["version"])).contract
    return load_contract(ref)


def _summary(s: StoredContract) -> dict[str, object]:
    return {
        "name": s.name,
        "version": s.version,
        "product": s.product,
        "source": s.source,
        "steward": s.contract.steward,
        "columns": list(s.contract.columns),
        "fingerprint": s.fingerprint,
        "created_by": s.created_by,
        "created_at": s.created_at.isoformat(),
    }


def _print_result(result: CheckResult) -> None:
    status = "[green]ok[/]" if result.ok else "[bold red]FAILED[/]"
    console.print(
        f"contract {escape(result.contract)}: {status} ({result.rows} rows, "
        f"{len(result.errors)} error(s), "
        f"{len(result.findings) - len(result.errors)} warning(s))"
    )
    if not result.findings:
        return
    table = Table("severity", "kind", "column", "finding")
    for f in result.findings:
        severity = "[red]error[/]" if f.severity.value == "error" else "[yellow]warning[/]"
        table.add_row(severity, f.kind.value, Text(f.column or ""), Text(f.message))
    console.print(table)
