"""The blind index's one foreign key holds each token to its record's own child."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contactpoint.domain.identity_change import Move
from contactpoint.store.identity import move_records
from contactpoint.store.tables import BlindIndexEntry
from contactpoint.vault.envelope import Vault
from tests.services.placement import add_child, add_record

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _token_children(session: Session) -> set[str]:
    return set(session.execute(select(BlindIndexEntry.child_id)).scalars())


def test_a_moved_record_takes_its_tokens_with_it(session: Session, vault: Vault) -> None:
    first, second = add_child(session, AT), add_child(session, AT)
    record_id = add_record(session, vault, first, AT)
    assert _token_children(session) == {first}

    move_records(session, [Move(record_id, first, second)])
    session.expire_all()

    assert _token_children(session) == {second}


def test_a_token_naming_another_child_than_its_record_is_refused(
    session: Session, vault: Vault
) -> None:
    first, second = add_child(session, AT), add_child(session, AT)
    record_id = add_record(session, vault, first, AT)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            insert(BlindIndexEntry).values(kind=1, token=7, record_id=record_id, child_id=second)
        )
    assert _token_children(session) == {first}
