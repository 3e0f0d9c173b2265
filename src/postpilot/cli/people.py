"""``postpilot person ...`` and ``postpilot team ...``."""

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
from postpilot.registry import Deactivation, Person, Team

person_app = app_group("person", "People who can be held accountable for an AI product.")
team_app = app_group("team", "Teams: people belong to them; roles are never held by them.")


@command(person_app, "add")
def person_add(
    email: Annotated[str, typer.Argument(help="Their email address (unique).")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    team: Annotated[str | None, typer.Option("--team", help="Team they belong to.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """Add a person."""
    person = registry().add_person(email, name=name, team=team)
    emit(person, fmt, lambda p: console.print(f"added {plain(p.name)} <{plain(p.email)}>"))


@command(person_app, "deactivate")
def person_deactivate(
    email: Annotated[str, typer.Argument(help="Who has left or moved on.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """Deactivate a person, listing every role they leave orphaned."""
    result = registry().deactivate_person(email, reason=reason)
    emit(result, fmt, _print_deactivation)


@command(person_app, "activate")
def person_activate(
    email: Annotated[str, typer.Argument(help="Who is back.")],
    fmt: Format = FormatOption,
) -> None:
    """Reactivate a person (their roles are no longer orphaned)."""
    person = registry().activate_person(email)
    emit(person, fmt, lambda p: console.print(f"{plain(p.email)} is active"))


@command(person_app, "list")
def person_list(
    active_only: Annotated[
        bool, typer.Option("--active-only", help="Hide inactive people.")
    ] = False,
    fmt: Format = FormatOption,
) -> None:
    """List people."""
    emit(registry().people(include_inactive=not active_only), fmt, _people_table)


@command(team_app, "add")
def team_add(
    name: Annotated[str, typer.Argument(help="Team name (unique).")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    fmt: Format = FormatOption,
) -> None:
    """Add a team."""
    team = registry().add_team(name, description=description)
    emit(team, fmt, lambda t: console.print(f"added team {plain(t.name)}"))


@command(team_app, "list")
def team_list(fmt: Format = FormatOption) -> None:
    """List teams."""

    def table(teams: list[Team]) -> None:
        out = Table("team", "description", "created")
        for t in teams:
            out.add_row(plain(t.name), plain(t.description), f"{t.created_at:%Y-%m-%d}")
        console.print(out)

    emit(registry().teams(), fmt, table)


def _people_table(people: list[Person]) -> None:
    out = Table("email", "name", "team", "status")
    for p in people:
        status = "active" if p.active else "[bold red]INACTIVE[/]"
        out.add_row(plain(p.email), plain(p.name), plain(p.team), status)
    console.print(out)


def _print_deactivation(result: Deactivation) -> None:
    person = result.person
    if not result.changed:
        console.print(f"{plain(person.email)} was already inactive; nothing changed")
        return
    console.print(f"deactivated {plain(person.name)} <{plain(person.email)}>")
    if not result.orphaned:
        console.print("they held no roles")
        return
    console.print(f"[bold red]{len(result.orphaned)} role(s) orphaned:[/]")
    for o in result.orphaned:
        source = f" (source {plain(o.source)})" if o.source else ""
        console.print(f"  [red]ORPHANED[/] {plain(o.product)}: {o.role.value}{source}")
    console.print("assign successors with: postpilot role assign PRODUCT ROLE EMAIL")
