"""Retries for any channel: try again with backoff while trying again can help.

:func:`deliver` calls ``channel.send`` up to ``attempts`` times. It stops at
the first success, and at the first failure that is not ``retryable`` (a 400,
a refused URL, a message with no recipient: sending again would fail the same
way). Between attempts it sleeps with exponential backoff and *full jitter*
(AWS's name for it): before attempt ``n + 1`` the wait is drawn uniformly from
``[0, min(max_backoff, backoff * 2 ** (n - 1))]``. The ceiling doubles, so a
peer that is down gets fewer and fewer calls; the draw spreads the retries of
many alerts that failed together, so they do not all hit the peer again at
the same instant. When the peer asked for a wait (``Retry-After``), the wait
is at least that, up to ``max_backoff``. With the defaults (4 attempts, 0.5 s,
30 s) a failing delivery takes at most 3.5 s of sleeping.

``on_attempt(n, delivery)`` is called after every attempt, the last included;
the engine records each attempt in the store through it, so a failure is
visible even when a later attempt succeeds.

>>> from postpilot.policies.channels import Message, make_channel
>>> seen = []
>>> delivery = deliver(make_channel("store", {}), Message(id="n-1", subject="s", text="t"),
...                    on_attempt=lambda n, d: seen.append((n, d.ok)))
>>> (delivery.ok, seen)
(True, [(1, True)])
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from postpilot.errors import InputError
from postpilot.policies.channels.base import Channel, Delivery, Message

__all__ = ["deliver", "retry_delay"]

_MAX_DOUBLINGS = 62  # 2**62 * any sane backoff is past every max_backoff; no float overflow


def deliver(
    channel: Channel,
    message: Message,
    *,
    attempts: int = 4,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    on_attempt: Callable[[int, Delivery], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send ``message`` through ``channel``, retrying as the module explains; the last Delivery."""
    _check(attempts=attempts, backoff=backoff, max_backoff=max_backoff)
    attempt = 1
    while True:
        delivery = channel.send(message)
        if on_attempt is not None:
            on_attempt(attempt, delivery)
        if delivery.ok or not delivery.retryable or attempt >= attempts:
            return delivery
        sleep(
            retry_delay(
                attempt, backoff=backoff, max_backoff=max_backoff, retry_after=delivery.retry_after
            )
        )
        attempt += 1


def retry_delay(
    attempt: int,
    *,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): full jitter, capped.

    >>> retry_delay(3, backoff=1.0, max_backoff=30.0, rng=random.Random(0)) <= 4.0
    True
    >>> retry_delay(1, backoff=0.5, max_backoff=30.0, retry_after=12.0)
    12.0
    """
    ceiling = min(max_backoff, backoff * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
    # jitter spreads retries; it protects nothing, so a non-cryptographic generator is right
    delay = (rng or random).uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_backoff))
    return delay


def _check(*, attempts: int, backoff: float, max_backoff: float) -> None:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InputError(
            f"attempts must be a whole number >= 1, got {attempts!r}",
            field="attempts",
            hint="Use 1 to send once without retries",
        )
    for field, value in (("backoff", backoff), ("max_backoff", max_backoff)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise InputError(
                f"{field} must be a number of seconds >= 0, got {value!r}",
                field=field,
                hint="Use 0 to retry without waiting",
            )
