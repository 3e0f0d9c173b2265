"""``postpilot policy ...``, ``incident ...``, ``notify ...`` and ``monitor ...``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

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
    emit_json,
    notes,
    plain,
    registry,
)
from postpilot.errors import InputError

policy_app = app_group(
    "policy", "What happens when a model degrades: rules on metrics, and the actions they take."
)
incident_app = app_group("incident", "Incidents opened by policies: list, show, ack, resolve.")
notify_app = app_group("notify", "Notification channels and the notifications sent through them.")
monitor_app = app_group(
    "monitor", "Monitor passes: new data in, evidence stored, policies carried out."
)

ProductArg = Annotated[str, typer.Argument(help="The product's slug.")]
ProductOpt = Annotated[str, typer.Option("--product", help="The product's slug.")]


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


# -- policy -------------------------------------------------------------------


@command(policy_app, "apply")
def policy_apply(
    file: Annotated[Path, typer.Argument(help="The policy YAML file.")],
    product: ProductOpt,
    fmt: Format = FormatOption,
) -> None:
    """Check a policy file and store it as the product's next version (audited).

    Every mistake is reported as file:line: field: problem, and nothing is stored
    (exit 2). Applying the same text as the latest version adds no version."""
    from postpilot.policies.store import apply_policy

    stored, new = apply_policy(registry(), file, product)
    if fmt is Format.json:
        emit_json({"product": product, "version": stored.version, "new": new})
        return
    if new:
        console.print(f"applied {plain(file)} to {plain(product)} as policy v{stored.version}")
    else:
        console.print(f"{plain(product)} policy v{stored.version} already has this text")


@command(policy_app, "show")
def policy_show(
    product: ProductArg,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="yaml (the effective policy) or json.")
    ] = "yaml",
) -> None:
    """Print the product's effective policy: its latest version, else the default one.

    Secrets are never printed: channels show where their secrets come from."""
    import yaml

    from postpilot.policies.store import load_effective

    if fmt not in ("yaml", "json"):
        raise InputError(f"unknown format {fmt!r}", field="format", hint="Use yaml or json")
    loaded = load_effective(registry(), product)
    origin = "the default policy" if loaded.default else f"policy v{loaded.version}"
    if fmt == "json":
        emit_json(
            {
                "product": product,
                "version": loaded.version,
                "default": loaded.default,
                "policy": loaded.policy.to_data(),
            }
        )
        return
    notes.print(f"{plain(product)}: {origin}", style="dim")
    text = yaml.safe_dump(loaded.policy.to_data(), sort_keys=False, allow_unicode=True, width=100)
    console.print(text, markup=False, highlight=False, end="")


@command(policy_app, "schema")
def policy_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the schema to this file.")
    ] = None,
) -> None:
    """Print the JSON Schema of policy files, for editors (yaml-language-server)."""
    from postpilot.cli._output import check_outputs, staged
    from postpilot.policies.io import policy_schema as schema

    text = json.dumps(schema(), indent=2) + "\n"
    if output is None:  # JSON: never wrapped at the terminal's width
        console.print(text, markup=False, highlight=False, end="", soft_wrap=True)
        return
    check_outputs({"--output": output})
    with staged() as files:
        files.write_text(output, text)
    console.print(f"wrote {plain(output)}")


@command(policy_app, "test")
def policy_test(
    file: Annotated[Path, typer.Argument(help="The policy YAML file to try.")],
    product: ProductOpt,
    fmt: Format = FormatOption,
) -> None:
    """Replay the product's stored monitoring runs through a policy file and print what
    would have fired, when, and to whom. Nothing is sent or stored.

    Exit 0 when nothing would fire, 1 when something would."""
    from postpilot.policies.dryrun import dry_run

    entries = dry_run(registry(), file, product)
    if fmt is Format.json:
        emit_json(
            [
                {
                    "rule": e["firing"].rule,
                    "chunk": e["firing"].chunk,
                    "at": e["firing"].at.isoformat(),
                    "metric": e["firing"].metric,
                    "subject": e["firing"].subject,
                    "value": e["firing"].value,
                    "summary": e["summary"],
                    "actions": e["actions"],
                }
                for e in entries
            ]
        )
    elif not entries:
        console.print(f"nothing would have fired on {plain(product)}'s stored history")
    else:
        table = Table("when (UTC)", "rule", "what held", "would")
        for e in entries:
            table.add_row(
                _when(e["firing"].at),
                plain(e["firing"].rule),
                plain(e["summary"].split(": ", 2)[-1]),
                plain("\n".join(e["actions"])),
            )
        console.print(table)
        console.print(f"{len(entries)} firing(s) would have acted; nothing was sent")
    if entries:
        raise typer.Exit(EXIT_FOUND)


# -- incidents ----------------------------------------------------------------


def _incident_table(items: list[Any]) -> None:
    if not items:
        console.print("no incidents")
        return
    table = Table(
        "#",
        "product",
        "rule",
        "severity",
        "status",
        "assignee",
        "opened (UTC)",
        "to detect",
        "to ack",
    )
    for i in items:
        ack = i.time_to_acknowledge
        table.add_row(
            str(i.id),
            plain(i.product),
            plain(i.rule),
            i.severity,
            i.status,
            plain(i.assignee or ""),
            _when(i.opened_at),
            f"{i.chunks_to_detect} chunk(s), {_hours(i.time_to_detect.total_seconds())}",
            "" if ack is None else _hours(ack.total_seconds()),
        )
    console.print(table)


@command(incident_app, "list")
def incident_list(
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, acknowledged or resolved.")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """List incidents, oldest first, with time to detect and to acknowledge."""
    emit(registry().incidents(product=product, status=status), fmt, _incident_table)


@command(incident_app, "show")
def incident_show(
    incident: Annotated[int, typer.Argument(help="The incident's number.")],
    fmt: Format = FormatOption,
) -> None:
    """One incident and every step of its life."""
    emit(registry().incident(incident), fmt, _print_incident)


def _print_incident(i: Any) -> None:
    console.print(f"incident #{i.id} on {plain(i.product)}: {i.severity}, {i.status}")
    console.print(f"  {plain(i.title)}")
    console.print(
        f"  rule {plain(i.rule)} (policy "
        f"{'default' if i.policy_version is None else f'v{i.policy_version}'}); "
        f"assignee {plain(i.assignee or 'nobody')}"
    )
    console.print(
        f"  first bad chunk {plain(i.first_bad_chunk)} at {_when(i.first_bad_at)} UTC; "
        f"detected at chunk {plain(i.detected_chunk)}; time to detect: "
        f"{i.chunks_to_detect} chunk(s), {_hours(i.time_to_detect.total_seconds())}"
    )
    if i.time_to_acknowledge is not None:
        console.print(
            f"  acknowledged by {plain(i.acknowledged_by)} after "
            f"{_hours(i.time_to_acknowledge.total_seconds())}"
        )
    table = Table("when (UTC)", "step", "by", "detail")
    for e in i.events:
        table.add_row(_when(e.at), e.kind, plain(e.actor), plain(_detail(e.detail)))
    console.print(table)


def _detail(detail: dict[str, Any]) -> str:
    """An incident step's detail in a line: the evidence as ``metric = value (threshold)
    at chunk``, anything else as ``key=value`` pairs (``--format json`` has it all)."""
    if "metric" in detail and "value" in detail:
        subject = f" {detail['subject']}" if detail.get("subject") else ""
        threshold = detail.get("threshold")
        bound = (
            f"outside {threshold}"
            if isinstance(threshold, list)
            else f"{detail.get('direction')} {threshold}"
        )
        return (
            f"{detail['metric']}{subject} = {detail['value']:.4g} ({bound}) at chunk "
            f"{detail.get('chunk')}"
        )
    text = ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, [], ""))
    return text if len(text) <= 160 else text[:157] + "..."


@command(incident_app, "ack")
def incident_ack(
    incident: Annotated[int, typer.Argument(help="The incident's number.")],
    note: Annotated[str | None, typer.Option("--note", help="What you are doing about it.")] = None,
) -> None:
    """Acknowledge an open incident: you are on it, and it stops escalating."""
    i = registry().acknowledge_incident(incident, note=note)
    console.print(
        f"incident #{i.id} acknowledged after {_hours(i.time_to_acknowledge.total_seconds())}"
        if i.time_to_acknowledge is not None
        else f"incident #{i.id} acknowledged"
    )


@command(incident_app, "resolve")
def incident_resolve(
    incident: Annotated[int, typer.Argument(help="The incident's number.")],
    note: Annotated[str | None, typer.Option("--note", help="What fixed it.")] = None,
) -> None:
    """Resolve an incident; promotion blocks it set are lifted."""
    i = registry().resolve_incident(incident, note=note)
    console.print(f"incident #{i.id} resolved")


# -- notify -------------------------------------------------------------------


@command(notify_app, "test")
def notify_test(
    channel: Annotated[
        str, typer.Argument(help="The channel's name (store, console, or configured).")
    ],
    product: Annotated[
        str | None, typer.Option("--product", help="Use the product's policy channels too.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="The recipient's email (email channels need one).")
    ] = None,
) -> None:
    """Send a test message through a channel now; exit 1 if it is not delivered.

    The attempt is recorded in the store, as evidence that monitoring is wired."""
    from postpilot.policies.service import send_test

    delivery = send_test(registry(), channel, product=product, to=to)
    if delivery.ok:
        console.print(f"delivered through {plain(channel)}: {plain(delivery.detail)}")
    else:
        console.print(f"NOT delivered through {plain(channel)}: {plain(delivery.detail)}")
        raise typer.Exit(EXIT_FOUND)


def _notification_table(items: list[Any]) -> None:
    if not items:
        console.print("no notifications")
        return
    table = Table("#", "product", "channel", "to", "subject", "status", "attempts", "last error")
    for n in items:
        table.add_row(
            str(n.id),
            plain(n.product or ""),
            plain(n.channel),
            plain(n.recipient or ""),
            plain(n.subject[:70]),
            n.status,
            str(n.attempts),
            plain((n.last_error or "")[:60]),
        )
    console.print(table)


@command(notify_app, "list")
def notify_list(
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or failed.")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """Notifications and their delivery: every attempt is kept (json shows them)."""
    emit(registry().notifications(product=product, status=status), fmt, _notification_table)


# -- monitor ------------------------------------------------------------------


AS_OF_RANGE = (datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))
"""The times ``--as-of`` takes: a pass adds durations of up to 100 years to it."""


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{value!r} is not an ISO 8601 time",
            field="as_of",
            hint="Use for example 2026-03-01T06:00:00Z",
        ) from None
    low, high = AS_OF_RANGE
    try:
        at = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    except OverflowError:  # not within years 1 to 9999 in UTC
        at = datetime.min.replace(tzinfo=UTC)
    if not low <= at < high:
        raise InputError(
            f"{value!r} is outside the times a pass can act at",
            field="as_of",
            hint=f"Use a time from {low:%Y-%m-%d} to before {high:%Y-%m-%d}",
        )
    return at


@command(monitor_app, "run")
def monitor_run(
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            help="Only this product (default: every product in pilot "
            "or production, and any with a policy).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Act as if it were this time (ISO 8601): to replay history. Default: now.",
        ),
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """One monitor pass: read the data that arrived since the last pass, check it, compute
    drift (and estimated performance), carry out the policy, deliver notifications.

    Idempotent: a second pass over the same data changes nothing and sends nothing. For
    cron, Airflow or a Kubernetes CronJob. Exit 0 when no rule fired, 1 when one did."""
    from postpilot.policies.service import monitor_once

    results = monitor_once(
        registry(), product, now=_as_of(as_of), show_progress=fmt is Format.table
    )
    _print_pass(results, fmt)
    if any(r.firings for r in results):
        raise typer.Exit(EXIT_FOUND)


def _print_pass(results: list[Any], fmt: Format) -> None:
    if fmt is Format.json:
        emit_json(
            [
                {
                    "product": r.product,
                    "batches": r.batches,
                    "runs": r.runs,
                    "firings": r.firings,
                    "done": r.done,
                    "notes": r.notes,
                    "deliveries": r.deliveries,
                }
                for r in results
            ]
        )
        return
    for r in results:
        console.print(f"{plain(r.product)}: {r.batches} new batch(es), {r.firings} firing(s)")
        for line in r.done + r.deliveries:
            console.print(f"  {plain(line)}")
        for line in r.notes:
            notes.print(f"  note: {plain(line)}", style="dim")


@command(monitor_app, "serve")
def monitor_serve(
    every: Annotated[str, typer.Option("--every", help="How often to pass: 30s, 5m, 1h.")] = "5m",
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    passes: Annotated[
        int | None, typer.Option("--passes", help="Stop after this many passes (default: never).")
    ] = None,
) -> None:
    """Run `monitor run` every interval until stopped: the embedded default.

    A pass that fails (the store or a source unreachable, a bad batch) is reported as
    one error line and the loop goes on; the next pass resumes where it stopped.
    Ctrl-C or SIGTERM stops it between passes (a pass in progress finishes first)."""
    import signal

    from postpilot.cli._base import error_line, foreign_error_line
    from postpilot.errors import PostpilotError
    from postpilot.policies._types import parse_duration
    from postpilot.policies.service import monitor_once

    try:
        interval = parse_duration(every).total_seconds()
    except InputError as exc:
        raise InputError(exc.message, field="every", hint="Write e.g. 30s, 5m or 1h") from None
    stop = {"now": False}

    def on_term(signum: int, frame: object) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_term)
    done = 0
    try:
        while not stop["now"] and (passes is None or done < passes):
            started = time.monotonic()
            try:
                results = monitor_once(registry(), product, now=None, show_progress=False)
            except PostpilotError as exc:
                notes.print(plain(error_line(exc, None)))
            except Exception as exc:
                line = foreign_error_line(exc)
                if line is None:
                    raise
                notes.print(plain(line))
            else:
                _print_pass(results, Format.table)
            done += 1
            if passes is not None and done >= passes:
                break
            deadline = started + interval
            while not stop["now"] and time.monotonic() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    finally:
        signal.signal(signal.SIGTERM, previous)
