"""``postpilot product ...``, ``postpilot role ...``, ``postpilot source ...``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from postpilot.cli._base import (
    Format,
    FormatOption,
    app_group,
    command,
    console,
    emit,
    plain,
    registry,
)
from postpilot.registry import (
    PERSON_ROLES,
    Assignment,
    Product,
    ProductSummary,
    Role,
    Sla,
)

product_app = app_group("product", "AI products: who owns them, where they are in their life.")
role_app = app_group("role", "The five accountable roles of a product.")
source_app = app_group("source", "A product's input data sources (each with one data steward).")

ROLE_HELP = "One of: " + ", ".join(r.value for r in Role)


@command(product_app, "create")
def product_create(
    slug: Annotated[str, typer.Argument(help="Short id, e.g. churn-predictor.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    stage: Annotated[str, typer.Option("--stage", help="proposed or pilot.")] = "proposed",
    owner: Annotated[
        str | None, typer.Option("--owner", help="Email of the one accountable owner.")
    ] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="What it is for.")] = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="The business KPI it moves.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team it belongs to.")] = None,
    sla_latency_p99_ms: Annotated[
        float | None, typer.Option("--sla-latency-ms", help="p99 latency SLA in ms.")
    ] = None,
    sla_availability_pct: Annotated[
        float | None, typer.Option("--sla-availability", help="Availability SLA in %.")
    ] = None,
    sla_quality_metric: Annotated[
        str | None, typer.Option("--sla-metric", help="Quality metric, e.g. roc_auc.")
    ] = None,
    sla_quality_threshold: Annotated[
        float | None, typer.Option("--sla-threshold", help="Minimum value of --sla-metric.")
    ] = None,
    monthly_budget: Annotated[
        float | None, typer.Option("--monthly-budget", help="Monthly budget.")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """Register an AI product. Starting in pilot needs --owner."""
    # parameter names are the registry's field names, so its errors name these options
    product = registry().create_product(
        slug,
        name=name,
        stage=stage,
        owner=owner,
        purpose=purpose,
        kpi=kpi,
        team=team,
        sla=Sla(
            sla_latency_p99_ms, sla_availability_pct, sla_quality_metric, sla_quality_threshold
        ),
        monthly_budget=monthly_budget,
    )
    emit(product, fmt, lambda p: console.print(f"created {plain(p.slug)} in {p.stage.value}"))


@command(product_app, "show")
def product_show(
    slug: Annotated[str, typer.Argument(help="The product.")],
    fmt: Format = FormatOption,
) -> None:
    """Show a product, its five roles (orphaned ones loudly), sources and versions."""
    emit(registry().product(slug), fmt, _print_product)


@command(product_app, "list")
def product_list(
    stage: Annotated[str | None, typer.Option("--stage", help="Only this stage.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """List products with their owner and open role problems."""
    emit(registry().products(stage=stage), fmt, _products_table)


@command(product_app, "stage")
def product_stage(
    slug: Annotated[str, typer.Argument(help="The product.")],
    stage: Annotated[str, typer.Argument(help="proposed, pilot, production or retired.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """Move a product to another stage (pilot and production need an active owner)."""
    product = registry().set_stage(slug, stage, reason=reason)
    emit(product, fmt, lambda p: console.print(f"{plain(p.slug)} is now in {p.stage.value}"))


@command(role_app, "assign")
def role_assign(
    slug: Annotated[str, typer.Argument(help="The product.")],
    role: Annotated[str, typer.Argument(help=ROLE_HELP)],
    email: Annotated[
        list[str],
        typer.Argument(help="The one person who will hold it (naming more is refused)."),
    ],
    source: Annotated[
        str | None, typer.Option("--source", help="Data source (required for data_steward).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """Give a role to one person; an existing holder is replaced, and both are recorded."""
    who = email[0] if len(email) == 1 else email
    assignment = registry().assign_role(slug, role, who, source=source, reason=reason)

    def done(a: Assignment) -> None:
        where = f" for source {plain(a.source)}" if a.source else ""
        console.print(f"{plain(a.email)} is {a.role.value} of {plain(slug)}{where}")

    emit(assignment, fmt, done)


@command(source_app, "add")
def source_add(
    slug: Annotated[str, typer.Argument(help="The product.")],
    name: Annotated[str, typer.Argument(help="Source name, unique within the product.")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    steward: Annotated[
        str | None, typer.Option("--steward", help="Email of its data steward.")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """Add an input data source to a product."""
    source = registry().add_source(slug, name, description=description, steward=steward)
    emit(source, fmt, lambda s: console.print(f"added source {plain(s.name)} to {plain(slug)}"))


def _holder(a: Assignment | None) -> tuple[str, str]:
    if a is None:
        return "[yellow]— unassigned —[/]", "[yellow]MISSING[/]"
    if a.orphaned:
        return _person(a), "[bold white on red] ORPHANED: person inactive [/]"
    return _person(a), "[green]ok[/]"


def _person(a: Assignment) -> str:
    return f"{plain(a.name)} <{plain(a.email)}>"


def _print_product(p: Product) -> None:
    console.print(f"[bold]{plain(p.name)}[/] ({plain(p.slug)})  stage: [bold]{p.stage.value}[/]")
    for label, value in (("purpose", p.purpose), ("kpi", p.kpi), ("team", p.team)):
        if value:
            console.print(f"  {label}: {plain(value)}")
    sla = [
        f"p99 {p.sla.latency_p99_ms:g} ms" if p.sla.latency_p99_ms else "",
        f"availability {p.sla.availability_pct:g}%" if p.sla.availability_pct else "",
        f"{plain(p.sla.quality_metric)} >= {p.sla.quality_threshold:g}"
        if p.sla.quality_metric and p.sla.quality_threshold is not None
        else "",
    ]
    if any(sla):
        console.print("  sla: " + ", ".join(s for s in sla if s))
    if p.monthly_budget is not None:
        console.print(f"  monthly budget: {p.monthly_budget:,.2f}")
    if p.orphaned:
        names = ", ".join(
            f"{a.role.value}{':' + plain(a.source) if a.source else ''}" for a in p.orphaned
        )
        console.print(f"[bold white on red] {len(p.orphaned)} ORPHANED ROLE(S): {names} [/]")
    roles = Table("role", "question", "held by", "status", title="Accountable people")
    for role in PERSON_ROLES:
        roles.add_row(role.value, role.question, *_holder(p.roles.get(role)))
    for s in p.sources:
        roles.add_row(
            f"data_steward:{plain(s.name)}", Role.DATA_STEWARD.question, *_holder(s.steward)
        )
    if not p.sources:
        roles.add_row(
            "data_steward",
            Role.DATA_STEWARD.question,
            "[yellow]— no data source yet —[/]",
            "[yellow]MISSING[/]",
        )
    console.print(roles)
    if p.versions:
        versions = Table(
            "model",
            "version",
            "flavor",
            "artifact",
            "training data",
            "metrics",
            title="Model versions",
        )
        for v in p.versions:
            metrics = ", ".join(f"{k}={val:g}" for k, val in v.metrics.items())
            data = v.training_data.uri if v.training_data else ""
            versions.add_row(
                plain(v.model),
                str(v.version),
                plain(v.flavor),
                plain(v.artifact_uri),
                plain(data),
                plain(metrics),
            )
        console.print(versions)
    history = Table("when", "from", "to", "who", "why", title="Stage history")
    for t in p.transitions:
        history.add_row(
            f"{t.at:%Y-%m-%d %H:%M}",
            t.from_stage.value if t.from_stage else "",
            t.to_stage.value,
            plain(t.actor),
            plain(t.reason),
        )
    console.print(history)


def _products_table(products: list[ProductSummary]) -> None:
    out = Table("product", "name", "stage", "owner", "orphaned", "unassigned")
    for p in products:
        owner = plain(p.owner) if p.owner else "[yellow]none[/]"
        if p.owner and not p.owner_active:
            owner = f"[bold red]{plain(p.owner)} (INACTIVE)[/]"
        orphaned = f"[bold red]{p.orphaned_roles}[/]" if p.orphaned_roles else "0"
        out.add_row(
            plain(p.slug), plain(p.name), p.stage.value, owner, orphaned, str(p.unassigned_roles)
        )
    console.print(out)
