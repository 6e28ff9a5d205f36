"""Placing children, records and review items directly, for identity-review tests.

The review services take whatever the matcher filed; writing rows here (records
encrypted as ingest encrypts them) keeps these tests independent of how the
matcher decides, and lets a test build exactly the case it needs.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import Clock
from contactpoint.domain.child import Address, Carer, ChildDetails, ServiceInvolvement
from contactpoint.domain.child import SourceRecord as DomainRecord
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.domain.vocabulary import Gender, ServiceType
from contactpoint.services import identity_changes, review, shielding
from contactpoint.services.identity_changes import ChangeResult
from contactpoint.store.tables import BlindIndexEntry, Child, ReviewItem, SourceRecord
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from contactpoint.vault.record_cipher import encrypt_record


def add_child(
    session: Session, at: datetime, *, shielded: bool = False, origin: str | None = None
) -> str:
    child_id = new_contactpoint_id()
    session.execute(
        insert(Child).values(
            id=child_id,
            status="active",
            shielded=shielded,
            shield_origin=origin if shielded else None,
            merged_into=None,
            created_at=at,
            updated_at=at,
        )
    )
    return child_id


def details(**changes: Any) -> ChildDetails:
    base: dict[str, Any] = {
        "given_names": "Amelia Rose",
        "family_name": "Featherstonehaugh",
        "date_of_birth": date(2014, 3, 7),
        "gender": Gender.FEMALE,
        "nhs_number": "9434765919",
        "address": Address(("12 High Street",), "Leeds", "LS1 4AB"),
    }
    base.update(changes)
    return ChildDetails(**base)


def add_record(
    session: Session,
    vault: Vault,
    child_id: str,
    at: datetime,
    *,
    source: str = "school-census",
    source_record_id: str | None = None,
    child: ChildDetails | None = None,
    carers: tuple[Carer, ...] = (),
    services: tuple[ServiceInvolvement, ...] = (),
) -> uuid.UUID:
    """A record with two index tokens, both filed under the child."""
    record_id = uuid.uuid4()
    domain = DomainRecord(
        source=source,
        source_record_id=source_record_id or f"R-{secrets.token_hex(4)}",
        child=child or details(),
        carers=carers,
        services=services,
    )
    session.execute(
        insert(SourceRecord).values(
            id=record_id,
            source=domain.source,
            source_record_id=domain.source_record_id,
            child_id=child_id,
            content_digest=secrets.token_bytes(32),
            received_at=at,
            updated_at=at,
            ended_at=None,
            **encrypt_record(vault, record_id, domain),
        )
    )
    for kind in (1, 2):
        session.execute(
            insert(BlindIndexEntry).values(
                kind=kind,
                token=secrets.randbelow(1 << 22),
                record_id=record_id,
                child_id=child_id,
            )
        )
    return record_id


def add_item(
    session: Session,
    record_id: uuid.UUID,
    child_id: str,
    candidates: list[str],
    at: datetime,
    reason: str = "uncertain_match",
) -> uuid.UUID:
    item_id = uuid.uuid4()
    session.execute(
        insert(ReviewItem).values(
            id=item_id,
            record_id=record_id,
            child_id=child_id,
            reason=reason,
            candidates=json.dumps(
                [
                    {
                        "child_id": c,
                        "weight": 12.5 - i,
                        "levels": {"nhs_number": "null", "family_name": "exact"},
                    }
                    for i, c in enumerate(candidates)
                ]
            ),
            status="open",
            created_at=at,
        )
    )
    return item_id


SCHOOL = ServiceInvolvement(type=ServiceType.SCHOOL, organisation="Leeds Park Primary")
CAMHS = ServiceInvolvement(type=ServiceType.CAMHS, organisation="Leeds CAMHS")


def snapshot(session: Session) -> dict[str, Any]:
    """Everything an identity change may alter, so before and after can be compared."""
    session.expire_all()
    return {
        "records": dict(session.execute(select(SourceRecord.id, SourceRecord.child_id)).all()),
        "index": {
            (r.kind, r.token, r.record_id): r.child_id
            for r in session.execute(select(BlindIndexEntry)).scalars()
        },
        "children": {
            c.id: (c.status, c.merged_into, c.shielded, c.shield_origin)
            for c in session.execute(select(Child)).scalars()
        },
        "items": {
            i.id: (i.status, i.child_id, i.resolved_at, i.resolved_by, i.change_id)
            for i in session.execute(select(ReviewItem)).scalars()
        },
    }


def child_of(session: Session, record_id: uuid.UUID) -> str:
    return str(
        session.execute(
            select(SourceRecord.child_id).where(SourceRecord.id == record_id)
        ).scalar_one()
    )


def state_of(session: Session, child_id: str) -> tuple[str, str | None, bool, str | None]:
    session.expire_all()
    child = session.get(Child, child_id)
    assert child is not None
    return child.status, child.merged_into, child.shielded, child.shield_origin


class Desk:
    """A reviewer at work: each call is one transaction, as the CLI and web make them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: Vault,
        keyring: Keyring,
        clock: Clock,
        actor: Actor,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.keyring = keyring
        self.clock = clock
        self.actor = actor

    def _who(self) -> dict[str, Any]:
        return {"clock": self.clock, "audit_key": self.keyring.audit_key, "actor": self.actor}

    def accept(self, item_id: uuid.UUID, child_id: str) -> ChangeResult:
        with self.sessions.begin() as session:
            return review.accept(session, **self._who(), item_id=item_id, child_id=child_id)

    def reject(self, item_id: uuid.UUID) -> ChangeResult:
        with self.sessions.begin() as session:
            return review.reject(session, **self._who(), item_id=item_id)

    def merge(self, from_child: str, into_child: str) -> ChangeResult:
        with self.sessions.begin() as session:
            return identity_changes.merge(
                session, **self._who(), from_child_id=from_child, into_child_id=into_child
            )

    def split(self, child_id: str, record_ids: list[uuid.UUID]) -> ChangeResult:
        with self.sessions.begin() as session:
            return identity_changes.split(
                session, **self._who(), child_id=child_id, record_ids=record_ids
            )

    def undo(self, change_id: uuid.UUID) -> ChangeResult:
        with self.sessions.begin() as session:
            return identity_changes.undo(session, **self._who(), change_id=change_id)

    def shield(self, child_id: str, reason: str = "risk_of_significant_harm") -> ChangeResult:
        with self.sessions.begin() as session:
            return shielding.shield(session, **self._who(), child_id=child_id, reason_code=reason)

    def unshield(self, child_id: str, reason: str = "risk_ended") -> ChangeResult:
        with self.sessions.begin() as session:
            return shielding.unshield(session, **self._who(), child_id=child_id, reason_code=reason)

    def compare(self, item_id: uuid.UUID) -> review.Comparison:
        with self.sessions.begin() as session:
            return review.compare(session, vault=self.vault, **self._who(), item_id=item_id)

    def open_items(self, **options: Any) -> review.ReviewPage:
        with self.sessions() as session:
            return review.open_items(session, actor=self.actor, **options)

    def snapshot(self) -> dict[str, Any]:
        with self.sessions() as session:
            return snapshot(session)

    def state(self, child_id: str) -> tuple[str, str | None, bool, str | None]:
        with self.sessions() as session:
            return state_of(session, child_id)

    def child_of(self, record_id: uuid.UUID) -> str:
        with self.sessions() as session:
            return child_of(session, record_id)
