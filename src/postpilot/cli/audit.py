"""``postpilot audit ...``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from postpilot.cli._base import (
    EXIT_FOUND,
    Format,
    FormatOption,
    app_group,
    command,
    console,
    emit,
    plain,
    registry,
)
from postpilot.registry import AuditEvent, AuditVerification

audit_app = app_group("audit", "The append-only, hash-chained audit log.")


@command(audit_app, "log")
def audit_log(
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """List audit events, oldest first."""
    emit(registry().audit_log(product=product), fmt, _events_table)


@command(audit_app, "verify")
def audit_verify(fmt: Format = FormatOption) -> None:
    """Recompute the hash chain; exit 1 naming the first event that does not match."""
    result = registry().verify_audit()
    emit(result, fmt, _print_verification)
    if not result.ok:
        raise typer.Exit(EXIT_FOUND)


def _short(value: object) -> str:
    if value is None:
        return ""
    from postpilot.registry.audit import canonical_json  # SQLAlchemy: only when printing

    text = value if isinstance(value, str) else canonical_json(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _events_table(events: list[AuditEvent]) -> None:
    out = Table("#", "when (UTC)", "actor", "action", "subject", "before", "after")
    for e in events:
        out.add_row(
            str(e.seq),
            e.at[:19].replace("T", " "),
            plain(e.actor),
            plain(e.action),
            plain(e.subject),
            plain(_short(e.before)),
            plain(_short(e.after)),
        )
    console.print(out)


def _print_verification(result: AuditVerification) -> None:
    if result.ok:
        console.print(
            f"audit chain ok: {result.events} events, head #{result.head_seq} "
            f"{plain(result.head_hash)}"
        )
    else:
        console.print(
            f"[bold red]audit chain BROKEN at event #{result.first_bad_seq}[/]: "
            f"{plain(result.problem)}"
        )
