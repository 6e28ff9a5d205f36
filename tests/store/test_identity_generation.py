"""Every holder of the identity lock advances the identity generation, in its own
transaction: committed holders have consecutive numbers, and one that rolls back
leaves no trace (ingest's read ahead relies on both, ``services/candidate_pool``)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from contactpoint.store.identity import identity_generation, lock_identity


def test_each_holder_of_the_lock_advances_the_generation_by_one(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        before = identity_generation(session)
        first = lock_identity(session)
    with sessions.begin() as session:
        second = lock_identity(session)
        assert identity_generation(session) == second
    assert (first, second) == (before + 1, before + 2)


def test_a_holder_that_rolls_back_leaves_its_number_to_the_next(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        before = identity_generation(session)
    session = sessions()
    session.begin()
    assert lock_identity(session) == before + 1
    session.rollback()
    session.close()
    with sessions.begin() as session:
        assert identity_generation(session) == before
        assert lock_identity(session) == before + 1
