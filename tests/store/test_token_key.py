"""The blind index has no foreign keys (migration 0007): its writers keep it true."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from contactpoint.domain.identity_change import Move
from contactpoint.store.identity import move_records
from contactpoint.store.tables import BlindIndexEntry, SourceRecord
from contactpoint.vault.envelope import Vault
from tests.services.placement import add_child, add_record

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def tokens_off_their_record(session: Session) -> int:
    """Tokens naming another child than their record's, or no record at all."""
    records = dict(session.execute(select(SourceRecord.id, SourceRecord.child_id)).all())
    return sum(
        1
        for token in session.execute(select(BlindIndexEntry)).scalars()
        if records.get(token.record_id) != token.child_id
    )


def test_a_moved_record_takes_its_tokens_with_it(session: Session, vault: Vault) -> None:
    first, second = add_child(session, AT), add_child(session, AT)
    moved = add_record(session, vault, first, AT)
    add_record(session, vault, first, AT)

    move_records(session, [Move(moved, first, second)])
    session.expire_all()

    children = dict(
        session.execute(select(BlindIndexEntry.record_id, BlindIndexEntry.child_id)).all()
    )
    assert children[moved] == second
    assert set(children.values()) == {first, second}
    assert tokens_off_their_record(session) == 0


def test_the_index_has_no_foreign_keys(engine: Engine) -> None:
    assert inspect(engine).get_foreign_keys("blind_index") == []
