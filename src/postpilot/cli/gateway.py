"""``postpilot serve``, ``consumer``, ``key``, ``route`` and ``adapter``: the gateway's CLI.

The heavy parts (FastAPI, uvicorn, model backends) are imported when a command
runs, never when the CLI starts.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from postpilot.cli._base import (
    Format,
    FormatOption,
    app_group,
    command,
    console,
    emit,
    emit_json,
    plain,
    registry,
)
from postpilot.errors import InputError

__all__ = ["adapter_app", "consumer_app", "key_app", "predictions_app", "route_app", "serve"]

consumer_app = app_group("consumer", "Systems that call the gateway (each with its own API keys).")
key_app = app_group("key", "API keys of consumers: shown once, stored only as a hash.")
route_app = app_group("route", "Which model version serves a product, and its fallback.")
adapter_app = app_group("adapter", "Input adapters: fix a consumer's field names and units once.")
predictions_app = app_group("predictions", "The gateway's prediction log.")

ProductArg = Annotated[str, typer.Argument(help="Product slug.")]
notes = console


# -- serve ---------------------------------------------------------------------------------


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Worker processes. With more than one, rate limits are shared through "
            "$POSTPILOT_RATE_LIMIT_URL (Redis) or else the metadata store.",
            min=1,
            max=64,
        ),
    ] = 1,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn's log level: warning, info, debug.")
    ] = "info",
) -> None:
    """Serve every product's route: POST /v1/products/{product}/predict, with API keys.

    Each request needs a key (postpilot key create). Health at /healthz and /readyz,
    Prometheus metrics at /metrics (a key with --product '*' --scope view), the
    OpenAPI document at /openapi.json."""
    import uvicorn

    if log_level not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise InputError(
            f"unknown log level {log_level!r}",
            field="log_level",
            hint="Use critical, error, warning, info, debug or trace",
        )
    reg = registry()  # opens and migrates the store now, so a bad store fails before binding
    routes = reg.routes()
    reg.close()
    if not routes:
        console.print(
            "note: no product has a gateway route yet; set one with: postpilot route set PRODUCT",
            style="yellow",
        )
    os.environ["POSTPILOT_GATEWAY_WORKERS"] = str(workers)
    multiproc = None
    if workers > 1:
        multiproc = tempfile.TemporaryDirectory(prefix="postpilot-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc.name
    try:
        uvicorn.run(
            "postpilot.gateway.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=False,
            server_header=False,
            # SIGTERM: stop accepting, finish in-flight requests (up to 25 s), then the
            # app's shutdown commits the queued log rows: out within 30 s
            timeout_graceful_shutdown=25,
        )
    finally:
        if multiproc is not None:
            multiproc.cleanup()


# -- consumers and keys -------------------------------------------------------------------


@command(consumer_app, "add")
def consumer_add(
    name: Annotated[str, typer.Argument(help="Consumer name, e.g. crm-eu (unique).")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", help="Email of whoever runs the system.")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """Add a consumer: a system that will call the gateway."""
    made = registry().add_consumer(name, description=description, contact=contact)
    emit(
        made,
        fmt,
        lambda c: console.print(
            f"added consumer {plain(c.name)}; give it a key with: "
            f"postpilot key create {plain(c.name)} --product PRODUCT --scope predict"
        ),
    )


@command(consumer_app, "list")
def consumer_list(fmt: Format = FormatOption) -> None:
    """List consumers and how many working keys each has."""

    def table(rows: list[Any]) -> None:
        t = Table("consumer", "keys", "contact", "description")
        for c in rows:
            t.add_row(
                plain(c.name),
                str(c.active_keys),
                plain(c.contact or ""),
                plain(c.description or ""),
            )
        console.print(t)

    emit(registry().consumers(), fmt, table)


def _parse_rate(rate: str | None, burst: int | None) -> tuple[float | None, int | None]:
    if rate is None:
        if burst is not None:
            raise InputError("--burst needs --rate", field="burst", hint="Pass --rate, e.g. 10/s")
        return None, None
    from postpilot.gateway.ratelimit import Limit

    limit = Limit.parse(rate, burst=burst)
    return limit.rate, limit.burst


@command(key_app, "create")
def key_create(
    consumer: Annotated[str, typer.Argument(help="The consumer the key belongs to.")],
    product: Annotated[
        list[str],
        typer.Option("--product", help="A product the key may call; repeat; '*' for all."),
    ],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help="predict, feedback, view or admin; repeat for several."),
    ],
    rate: Annotated[
        str | None,
        typer.Option("--rate", help="Rate limit, e.g. 10/s or 600/min (default: the gateway's)."),
    ] = None,
    burst: Annotated[
        int | None, typer.Option("--burst", help="Requests allowed at once (with --rate).")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """Create an API key. It is printed once: store it in the consumer's secret store now."""
    rate_value, burst_value = _parse_rate(rate, burst)
    made = registry().create_key(
        consumer, products=product, scopes=scope, rate=rate_value, burst=burst_value
    )
    if fmt is Format.json:
        emit_json({"key_id": made.key.key_id, "key": made.plaintext, **_key_data(made.key)})
        return
    console.print(
        f"created key {made.key.key_id} for {plain(consumer)} "
        f"({', '.join(made.key.scopes)} on {', '.join(made.key.products)})"
    )
    console.print("the key, shown this once (only its hash is stored):", style="bold")
    console.print(made.plaintext, markup=False, highlight=False, soft_wrap=True)


def _key_data(key: Any) -> dict[str, Any]:
    return {
        "consumer": key.consumer,
        "products": list(key.products),
        "scopes": list(key.scopes),
        "rate": key.rate,
        "burst": key.burst,
        "status": key.status(datetime.now(UTC)),
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "rotated_from": key.rotated_from,
    }


@command(key_app, "list")
def key_list(
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Only this consumer's.")
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """List keys (never their secrets): id, consumer, products, scopes, status."""
    keys = registry().keys(consumer=consumer)
    if fmt is Format.json:
        emit_json([{"key_id": k.key_id, **_key_data(k)} for k in keys])
        return
    now = datetime.now(UTC)
    t = Table("key id", "consumer", "products", "scopes", "rate", "status", "created")
    for k in keys:
        status = k.status(now)
        if status == "expiring" and k.expires_at is not None:
            status = f"expiring {k.expires_at:%Y-%m-%d %H:%M}"
        t.add_row(
            k.key_id,
            plain(k.consumer),
            plain(", ".join(k.products)),
            ", ".join(k.scopes),
            "default" if k.rate is None else f"{k.rate:g}/s",
            status,
            f"{k.created_at:%Y-%m-%d}",
        )
    console.print(t)


@command(key_app, "revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (the 12 characters after pp_).")],
    fmt: Format = FormatOption,
) -> None:
    """Revoke a key: a running gateway refuses it within seconds."""
    key = registry().revoke_key(key_id)
    emit(key, fmt, lambda k: console.print(f"revoked key {k.key_id} of {plain(k.consumer)}"))


@command(key_app, "rotate")
def key_rotate(
    key_id: Annotated[str, typer.Argument(help="The key to replace.")],
    overlap: Annotated[
        str,
        typer.Option("--overlap", help="How long the old key keeps working, e.g. 24h, 7d, 0s."),
    ] = "24h",
    fmt: Format = FormatOption,
) -> None:
    """Replace a key with a new one; the old one works until the overlap ends."""
    from postpilot.policies._types import parse_duration

    try:
        window = timedelta(0) if overlap in ("0", "0s") else parse_duration(overlap)
    except InputError as exc:
        raise InputError(exc.message, field="overlap", hint=exc.hint) from exc
    made = registry().rotate_key(key_id, overlap=window)
    if fmt is Format.json:
        emit_json({"key_id": made.key.key_id, "key": made.plaintext, **_key_data(made.key)})
        return
    console.print(f"new key {made.key.key_id} replaces {key_id} ({plain(made.key.consumer)})")
    console.print(f"{key_id} keeps working for {overlap}")
    console.print("the new key, shown this once (only its hash is stored):", style="bold")
    console.print(made.plaintext, markup=False, highlight=False, soft_wrap=True)


# -- routes ----------------------------------------------------------------------------------


def _route_data(route: Any) -> dict[str, Any]:
    return {
        "product": route.product,
        "model": route.model,
        "version": route.version,
        "flavor": route.flavor,
        "artifact_uri": route.artifact_uri,
        "contract": route.contract,
        "fallback": {"kind": route.fallback.kind, "value": route.fallback.value},
        "fallback_active": route.fallback_active,
        "fallback_reason": route.fallback_reason,
        "options": route.options,
        "updated_at": route.updated_at.isoformat(),
        "updated_by": route.updated_by,
    }


def _print_route(route: Any) -> None:
    console.print(
        f"{plain(route.product)}: {plain(route.model)} version {route.version} "
        f"({plain(route.flavor)}, {plain(route.artifact_uri)})"
    )
    console.print(f"  contract: {plain(route.contract or 'none: records are not validated')}")
    state = "ON" if route.fallback_active else "off"
    console.print(f"  fallback: {plain(route.fallback.describe())} (switched {state})")
    if route.fallback_active and route.fallback_reason:
        console.print(f"  why: {plain(route.fallback_reason)}")
    if route.options:
        console.print(f"  options: {plain(json.dumps(route.options))}")


@command(route_app, "show")
def route_show(product: ProductArg, fmt: Format = FormatOption) -> None:
    """Show which model version serves the product, and its fallback."""
    from postpilot.errors import NotFoundError

    found = registry().route(product)
    if found is None:
        raise NotFoundError(
            f"product {product!r} has no gateway route",
            field="product",
            hint=f"Set one with: postpilot route set {product} --version N",
        )
    if fmt is Format.json:
        emit_json(_route_data(found))
    else:
        _print_route(found)


def _option(item: str) -> tuple[str, Any]:
    name, sep, raw = item.partition("=")
    if not sep or not name.strip():
        raise InputError(
            f"expected KEY=VALUE, got {item!r}",
            field="option",
            hint="For example: --option exclude='[\"churned\"]' --option timeout=5",
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


@command(route_app, "set")
def route_set(
    product: ProductArg,
    version: Annotated[
        int | None, typer.Option("--version", help="Model version to serve (default: newest).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name.")] = None,
    fallback_version: Annotated[
        int | None, typer.Option("--fallback-version", help="Fallback: another version.")
    ] = None,
    fallback_constant: Annotated[
        str | None,
        typer.Option("--fallback-constant", help="Fallback: a JSON answer, e.g. '\"no_churn\"'."),
    ] = None,
    fallback_rule: Annotated[
        str | None,
        typer.Option("--fallback-rule", help="Fallback: a Python function, module:function."),
    ] = None,
    fallback_unavailable: Annotated[
        int | None,
        typer.Option(
            "--fallback-unavailable", help="Fallback: answer 503 with this Retry-After (seconds)."
        ),
    ] = None,
    no_fallback: Annotated[
        bool, typer.Option("--no-fallback", help="Remove the fallback.")
    ] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="Route option KEY=VALUE (JSON values): features, exclude, unexpected, "
            "max_batch, or a backend option; repeat. Replaces the route's options.",
        ),
    ] = None,
    fmt: Format = FormatOption,
) -> None:
    """Point the product's route at a model version; the model is loaded first to check it."""
    from postpilot.gateway.service import set_route
    from postpilot.registry.routes import Fallback

    given = [
        (kind, value)
        for kind, value in (
            ("version", fallback_version),
            ("constant", fallback_constant),
            ("rule", fallback_rule),
            ("unavailable", fallback_unavailable),
            ("none", True if no_fallback else None),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise InputError(
            "give at most one of --fallback-version, --fallback-constant, --fallback-rule, "
            "--fallback-unavailable and --no-fallback",
            field="fallback",
        )
    fallback = None
    if given:
        kind, value = given[0]
        if kind == "constant":
            try:
                value = json.loads(str(value))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"--fallback-constant is not JSON: {exc.msg}",
                    field="fallback_constant",
                    hint="Quote text as JSON: --fallback-constant '\"no_churn\"'",
                ) from exc
        fallback = Fallback(kind=kind, value=None if kind == "none" else value)
    options = dict(_option(item) for item in option) if option else None
    made = set_route(
        registry(), product, model=model, version=version, fallback=fallback, options=options
    )
    if fmt is Format.json:
        emit_json(_route_data(made))
    else:
        _print_route(made)


@command(route_app, "fallback")
def route_fallback(
    product: ProductArg,
    state: Annotated[str, typer.Argument(help="on (switch to the fallback) or off.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    fmt: Format = FormatOption,
) -> None:
    """Switch every request of the product to its fallback, or back to the primary."""
    if state not in ("on", "off"):
        raise InputError(f"expected on or off, got {state!r}", field="state")
    made = registry().set_fallback(product, state == "on", reason=reason)
    if fmt is Format.json:
        emit_json(_route_data(made))
    else:
        now = "the fallback" if made.fallback_active else "the primary"
        console.print(
            f"{plain(product)} is now served by {now} ({plain(made.fallback.describe())})"
        )


# -- adapters --------------------------------------------------------------------------------


@command(adapter_app, "apply")
def adapter_apply(
    file: Annotated[Path, typer.Argument(help="Adapter YAML file.")],
    fmt: Format = FormatOption,
) -> None:
    """Check an adapter file and store it; a running gateway uses it within seconds."""
    from postpilot.gateway.service import apply_adapter

    stored, new = apply_adapter(registry(), file)
    who = f"consumer {stored.consumer} of " if stored.consumer else ""
    if fmt is Format.json:
        emit_json(
            {
                "product": stored.product,
                "consumer": stored.consumer,
                "version": stored.version,
                "new": new,
            }
        )
    elif new:
        console.print(f"stored adapter v{stored.version} for {plain(who)}{plain(stored.product)}")
    else:
        console.print(
            f"adapter v{stored.version} of {plain(who)}{plain(stored.product)} "
            "already has this text"
        )


@command(adapter_app, "show")
def adapter_show(
    product: ProductArg,
    consumer: Annotated[
        str | None,
        typer.Option("--consumer", help="The consumer's adapter (default: the product's)."),
    ] = None,
    version: Annotated[int | None, typer.Option("--version", help="Default: the latest.")] = None,
) -> None:
    """Print an adapter's YAML."""
    versions = registry().adapters(product, consumer=consumer)
    chosen = versions[-1]
    if version is not None:
        matching = [a for a in versions if a.version == version]
        if not matching:
            raise InputError(
                f"no adapter version {version}; there are {len(versions)}",
                field="version",
            )
        chosen = matching[0]
    console.print(chosen.body, markup=False, highlight=False, end="")


@command(adapter_app, "suggest")
def adapter_suggest(
    product: ProductArg,
    data: Annotated[Path, typer.Argument(help="A batch of the consumer's data (CSV or Parquet).")],
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Write the adapter for this consumer only.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the YAML here (default: stdout).")
    ] = None,
) -> None:
    """Propose an adapter from the renames and unit changes a contract check finds in DATA.

    Review it, then store it with: postpilot adapter apply FILE."""
    from postpilot.cli._output import check_outputs, staged
    from postpilot.gateway.service import suggest_for_data

    check_outputs({"--output": output}, inputs=[data])
    adapter, text, result = suggest_for_data(registry(), product, data, consumer=consumer)
    steps = len(adapter.rename) + len(adapter.units)
    if output is None:
        console.print(text, markup=False, highlight=False, end="")
    else:
        with staged() as files:
            files.write_text(output, text)
        console.print(f"wrote {plain(str(output))}")
    if steps == 0:
        console.print(
            f"note: the check found no rename or unit change ({len(result.findings)} finding(s))",
            style="yellow",
        )


# -- the prediction log -----------------------------------------------------------------------


@command(predictions_app, "export")
def predictions_export(
    product: ProductArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="parquet (inputs flattened) or jsonl.")
    ] = "parquet",
    since: Annotated[
        datetime | None,
        typer.Option("--since", help="Only predictions from this time on (ISO 8601, UTC if bare)."),
    ] = None,
) -> None:
    """Export the product's prediction log: every served prediction, in time order."""
    import os

    from postpilot.cli._output import check_outputs
    from postpilot.monitoring.sources.gateway import export_log

    if fmt not in ("parquet", "jsonl"):
        raise InputError(f"unknown format {fmt!r}", field="format", hint="Use parquet or jsonl")
    check_outputs({"--output": output})
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    reg = registry()
    reg.product(product)
    partial = output.with_name(f".{output.name}.partial")
    try:
        rows = export_log(reg.store.reading, product, partial, fmt=fmt, since=since)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    console.print(f"wrote {rows:,} predictions of {plain(product)} to {plain(str(output))}")
