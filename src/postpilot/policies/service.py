"""What the CLI's ``monitor`` and ``notify`` commands run: passes, delivery, channels.

Channels a product's notifications may use: ``store`` and ``console`` (always),
the global ones in ``$POSTPILOT_HOME/channels.yaml`` (``channels:`` mapping,
the same schema as a policy's) and the product policy's own, which win on a
name clash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from postpilot.errors import NotFoundError
from postpilot.policies.monitor import PassResult, monitor_products, run_pass
from postpilot.policies.notifier import deliver_due
from postpilot.policies.store import global_channel_specs, load_effective
from postpilot.registry import Registry

__all__ = ["ChannelCheck", "channels_for", "global_channel_specs", "monitor_once", "send_test"]


def channels_for(
    reg: Registry, product: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    from postpilot.policies.channels import default_channels, make_channel
    from postpilot.policies.io import channel_spec

    specs: dict[str, dict[str, Any]] = dict(global_channel_specs(reg))
    if product is not None:
        loaded = load_effective(reg, product)
        specs.update({n: channel_spec(m) for n, m in loaded.policy.channels.items()})
    out: dict[str, Any] = default_channels()
    for name, spec in specs.items():
        out[name] = make_channel(name, spec, environ=environ)
    return out


def monitor_once(
    reg: Registry,
    product: str | None,
    *,
    now: datetime | None,
    show_progress: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    environ: Mapping[str, str] | None = None,
) -> list[PassResult]:
    """One pass over ``product`` (else every monitored product), then delivery."""
    at = now or datetime.now(UTC)
    results = []
    for slug in monitor_products(reg, product):
        channels = channels_for(reg, slug, environ)  # a broken channel fails before any work
        if show_progress:
            result = _with_progress(reg, slug, at, environ)
        else:
            result = run_pass(reg, slug, now=at, environ=environ)
        delivered = deliver_due(reg, channels, now=at, product=slug, sleep=sleep)
        result.deliveries = delivered.lines
        results.append(result)
    return results


def _with_progress(
    reg: Registry, slug: str, at: datetime, environ: Mapping[str, str] | None
) -> PassResult:
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"{slug}: batches", total=None)

        def progress(_: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_pass(reg, slug, now=at, progress=progress, environ=environ)


@dataclass(frozen=True)
class ChannelCheck:
    """What ``notify test`` came to: delivered or not, and what the channel said."""

    ok: bool
    detail: str


def send_test(
    reg: Registry, channel: str, *, product: str | None = None, to: str | None = None
) -> ChannelCheck:
    """Send a test message through ``channel`` now, recording it as a delivered or failed
    notification with its attempts (readiness reads this as evidence of wiring)."""
    from postpilot.policies.notifier import deliver_due
    from postpilot.registry import notifications
    from postpilot.registry._tx import Tx

    channels = channels_for(reg, product)
    if channel not in channels:
        raise NotFoundError(
            f"no channel named {channel!r}",
            field="channel",
            hint=f"Configured: {', '.join(sorted(channels))}",
        )
    at = datetime.now(UTC)
    subject = f"[postpilot] test message through {channel}"

    def enqueue(tx: Tx) -> int | None:
        return notifications.enqueue(
            tx,
            key=f"test|{channel}|{at.isoformat()}",
            product=None if product is None else tx.product(product),
            incident_id=None,
            channel=channel,
            recipient=to,
            recipient_role=None,
            subject=subject,
            payload={
                "kind": "test",
                "subject": subject,
                "text": "This is a test message from postpilot: the channel is wired.",
                "recipient": {"email": to, "name": None, "role": None},
                "data": {"channel": channel, "product": product},
            },
        )

    queued = reg.atomic(enqueue, now=at)
    result = deliver_due(
        reg, {channel: channels[channel]}, now=at, ids=[queued] if queued is not None else []
    )
    ok = bool(result.delivered)
    return ChannelCheck(ok, "; ".join(result.lines) or ("delivered" if ok else "not delivered"))
