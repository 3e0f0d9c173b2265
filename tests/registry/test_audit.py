from __future__ import annotations

import itertools

import pytest
from sqlalchemy import delete, text, update

from postpilot import AuditTamperedError, Registry
from postpilot.registry.audit import GENESIS, event_hash
from postpilot.store.models import AuditEventRow


@pytest.fixture
def reg(team_registry: Registry) -> Registry:
    team_registry.create_product("churn", stage="pilot", owner="maya@example.com")
    team_registry.assign_role("churn", "owner", "dev@example.com")
    team_registry.set_stage("churn", "production")
    return team_registry


def raw(reg: Registry, sql: str, **params: object) -> None:
    """Change the database behind postpilot's back, as a person with SQL access could."""
    with reg.store.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_every_change_is_recorded_in_a_chain(reg: Registry) -> None:
    events = reg.audit_log()
    actions = [e.action for e in events]
    assert actions == [
        "person.added",
        "person.added",
        "person.added",
        "person.added",
        "team.created",
        "product.created",
        "role.assigned",
        "role.replaced",
        "product.stage_changed",
    ]
    assert [e.seq for e in events] == list(range(1, 10))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert {e.actor for e in events} == {"tester@example.com"}
    assert [e.action for e in reg.audit_log(product="churn")] == actions[5:]
    result = reg.verify_audit()
    assert (result.ok, result.events, result.head_seq, result.head_hash) == (
        True,
        9,
        9,
        events[-1].hash,
    )


def test_reads_record_nothing(reg: Registry) -> None:
    count = len(reg.audit_log())
    reg.product("churn")
    reg.products()
    reg.people()
    reg.verify_audit()
    assert len(reg.audit_log()) == count


def test_an_edited_event_is_named(reg: Registry) -> None:
    raw(
        reg,
        "UPDATE audit_events SET after = :a WHERE seq = 7",
        a='{"person":"mallory@example.com","reason":null}',
    )
    result = reg.verify_audit()
    assert not result.ok
    assert result.first_bad_seq == 7
    assert "event #7 (role.assigned churn/owner" in result.problem
    assert "modified" in result.problem


def test_an_edit_with_a_recomputed_hash_is_caught_at_the_next_event(reg: Registry) -> None:
    with reg.store.reading() as session:
        row = session.get(AuditEventRow, 4)
        forged = AuditEventRow(
            **{
                c: getattr(row, c)
                for c in (
                    "seq",
                    "at",
                    "action",
                    "subject_type",
                    "subject",
                    "product",
                    "before",
                    "after",
                    "prev_hash",
                )
            },
            actor="mallory",
        )
    raw(
        reg,
        "UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 4",
        h=event_hash(forged),
    )
    result = reg.verify_audit()
    assert result.first_bad_seq == 5
    assert "does not follow" in result.problem
    assert "event #4, which was changed" in result.problem


def test_deleting_the_last_event_is_detected(reg: Registry) -> None:
    raw(reg, "DELETE FROM audit_events WHERE seq = 9")
    result = reg.verify_audit()
    assert not result.ok
    assert result.first_bad_seq == 9
    assert "were deleted" in result.problem


def test_deleting_a_middle_event_is_detected(reg: Registry) -> None:
    raw(reg, "DELETE FROM audit_events WHERE seq = 3")
    result = reg.verify_audit()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "missing" in result.problem


def test_a_rewritten_head_is_detected(reg: Registry) -> None:
    raw(reg, "UPDATE audit_head SET hash = :h", h="0" * 64)
    result = reg.verify_audit()
    assert not result.ok
    assert "head" in result.problem


def test_invalid_json_in_an_edited_row_is_shown_raw(reg: Registry) -> None:
    raw(reg, "UPDATE audit_events SET before = 'not json' WHERE seq = 8")
    event = next(e for e in reg.audit_log() if e.seq == 8)
    assert event.before == "not json"
    assert reg.verify_audit().first_bad_seq == 8


def test_application_code_cannot_change_audit_rows(reg: Registry) -> None:
    def edit_row() -> None:
        with reg.store.transaction() as session:
            session.get(AuditEventRow, 1).actor = "mallory"

    with pytest.raises(AuditTamperedError):
        edit_row()
    with pytest.raises(AuditTamperedError), reg.store.transaction() as session:
        session.delete(session.get(AuditEventRow, 1))
    with pytest.raises(AuditTamperedError), reg.store.transaction() as session:
        session.execute(update(AuditEventRow).values(actor="mallory"))
    with pytest.raises(AuditTamperedError), reg.store.transaction() as session:
        session.execute(delete(AuditEventRow))
    assert reg.verify_audit().ok
