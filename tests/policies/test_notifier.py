"""The outbox's delivery pass against a real receiver that is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postpilot import Registry
from postpilot.policies.channels import make_channel
from postpilot.policies.notifier import RETRY_SCHEDULE, deliver_due
from postpilot.registry import notifications
from postpilot.registry._tx import Tx
from tests.policies.channels.peers import dead_port

NOW = datetime(2026, 6, 1, 6, tzinfo=UTC)


def _queue(reg: Registry, count: int) -> None:
    def op(tx: Tx) -> None:
        for i in range(count):
            notifications.enqueue(
                tx,
                key=f"k{i}",
                product=tx.product("churn"),
                incident_id=None,
                channel="ops",
                recipient="maya@example.com",
                recipient_role="owner",
                subject=f"alert {i}",
                payload={"kind": "alert", "subject": f"alert {i}", "text": "x"},
            )

    reg.atomic(op, now=NOW)


def test_a_channel_that_is_down_costs_one_backoff_per_pass_not_one_per_message() -> None:
    reg = Registry("sqlite:///:memory:", actor="t@example.com")
    reg.create_product("churn")
    _queue(reg, 3)
    url = f"http://127.0.0.1:{dead_port()}/hook"
    channel = make_channel(
        "ops", {"type": "webhook", "url": url, "allow_private": True}, environ={}
    )
    slept: list[float] = []
    result = deliver_due(reg, {"ops": channel}, now=NOW, sleep=slept.append)
    assert result.delivered == []
    assert sorted(result.pending) == [1, 2, 3]
    stored = {n.id: n for n in reg.notifications()}
    assert stored[1].attempts == 4  # every attempt of the pass, each recorded
    assert [a.ok for a in stored[1].history] == [False] * 4
    assert stored[2].attempts == stored[3].attempts == 0  # not tried: the channel was down
    assert len(slept) == 3
    assert stored[1].next_attempt_at == NOW + RETRY_SCHEDULE[0]
    # the next pass, once due, tries the oldest first again
    later = deliver_due(reg, {"ops": channel}, now=NOW + timedelta(minutes=2), sleep=slept.append)
    assert sorted(later.pending) == [1, 2, 3]
    reg.close()
