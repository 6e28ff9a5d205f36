"""The local authority shields and unshields children, with a reason, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.errors import ContactPointError
from contactpoint.store.tables import AuditEntry
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.services.placement import Desk, add_child, add_item, add_record


@pytest.fixture
def desk(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> Desk:
    vault.prepare()
    return Desk(sessions, vault, keyring, clock, actor)


@pytest.fixture
def child(desk: Desk, vault: Vault, clock: FixedClock) -> str:
    with desk.sessions.begin() as s:
        child_id = add_child(s, clock.now())
        add_record(s, vault, child_id, clock.now())
    return child_id


def test_shield_and_unshield_are_audited_with_their_reason(
    desk: Desk, child: str, connection: Connection
) -> None:
    shielded = desk.shield(child, "domestic_abuse_refuge")
    assert desk.state(child) == ("active", None, True, "local_authority")
    assert shielded.children[child].shield.shielded
    desk.unshield(child, "risk_ended")
    assert desk.state(child) == ("active", None, False, None)
    entries = connection.execute(
        select(AuditEntry.action, AuditEntry.reason_code, AuditEntry.child_id)
        .where(AuditEntry.action.like("identity.%"))
        .order_by(AuditEntry.seq)
    ).all()
    assert [tuple(e) for e in entries] == [
        ("identity.shield", "domestic_abuse_refuge", child),
        ("identity.unshield", "risk_ended", child),
    ]


@pytest.mark.parametrize("reason", ["", "because", "risk_ended"])
def test_shield_needs_a_reason_from_the_list(desk: Desk, child: str, reason: str) -> None:
    with pytest.raises(ContactPointError, match="risk_of_significant_harm"):
        desk.shield(child, reason)
    assert desk.state(child)[2] is False


def test_unshield_needs_an_unshield_reason(desk: Desk, child: str) -> None:
    desk.shield(child)
    with pytest.raises(ContactPointError, match="applied_in_error"):
        desk.unshield(child, "court_order")


def test_nothing_to_do_is_said_plainly(desk: Desk, child: str) -> None:
    with pytest.raises(ContactPointError, match="not shielded"):
        desk.unshield(child)
    desk.shield(child)
    with pytest.raises(ContactPointError, match="already shielded"):
        desk.shield(child)


def test_a_review_shield_becomes_the_local_authoritys(
    desk: Desk, vault: Vault, clock: FixedClock
) -> None:
    with desk.sessions.begin() as s:
        provisional = add_child(s, clock.now(), shielded=True, origin="review")
        add_record(s, vault, provisional, clock.now())
    desk.shield(provisional, "court_order")
    assert desk.state(provisional) == ("active", None, True, "local_authority")


def test_unshield_leaves_a_review_shield_that_is_still_owed(
    desk: Desk, vault: Vault, clock: FixedClock
) -> None:
    at = clock.now()
    with desk.sessions.begin() as s:
        shielded = add_child(s, at, shielded=True, origin="local_authority")
        add_record(s, vault, shielded, at)
        provisional = add_child(s, at, shielded=True, origin="review")
        record_id = add_record(s, vault, provisional, at)
        item = add_item(s, record_id, provisional, [shielded], at)
    with pytest.raises(ContactPointError, match="review accept"):
        desk.unshield(provisional)
    desk.shield(provisional)
    desk.unshield(provisional, "applied_in_error")
    assert desk.state(provisional) == ("active", None, True, "review")
    desk.reject(item)
    assert desk.state(provisional) == ("active", None, False, None)


def test_a_merged_child_is_shielded_through_its_survivor(
    desk: Desk, child: str, vault: Vault, clock: FixedClock
) -> None:
    with desk.sessions.begin() as s:
        other = add_child(s, clock.now())
        add_record(s, vault, other, clock.now())
    desk.merge(other, child)
    with pytest.raises(ContactPointError, match=f"merged into {child}"):
        desk.shield(other)
