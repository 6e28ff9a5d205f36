"""Wrapped data keys, kept in the database (useless without the keyring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from contactpoint.clock import Clock
from contactpoint.store.database import READ_ONLY
from contactpoint.store.tables import DataKey
from contactpoint.vault.envelope import WrappedDataKey


class SqlDataKeyStore:
    """Creates each data key in a transaction of its own, committed before use.

    A data key made inside a caller's transaction would vanish if that
    transaction rolled back, leaving ciphertexts under a key nobody kept.
    """

    def __init__(self, bind: Engine | Connection, clock: Clock) -> None:
        self._bind = bind
        self._clock = clock

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if isinstance(self._bind, Engine):
            with self._bind.begin() as connection:
                yield connection
        else:
            with self._bind.begin_nested():
                yield self._bind

    def create(self, kek_version: int, wrap: Callable[[int], bytes]) -> int:
        with self._transaction() as connection:
            key_id = connection.execute(
                insert(DataKey)
                .values(kek_version=kek_version, wrapped=b"", created_at=self._clock.now())
                .returning(DataKey.id)
            ).scalar_one()
            connection.execute(
                update(DataKey).where(DataKey.id == key_id).values(wrapped=wrap(key_id))
            )
        return int(key_id)

    def get(self, key_id: int) -> WrappedDataKey:
        query = select(DataKey.id, DataKey.kek_version, DataKey.wrapped).where(DataKey.id == key_id)
        if isinstance(self._bind, Engine):
            with self._bind.connect() as connection:
                row = connection.execution_options(**{READ_ONLY: True}).execute(query).one()
        else:
            row = self._bind.execute(query).one()
        return WrappedDataKey(id=row.id, kek_version=row.kek_version, wrapped=row.wrapped)


def all_data_keys(session: Session) -> list[WrappedDataKey]:
    rows = session.execute(select(DataKey.id, DataKey.kek_version, DataKey.wrapped)).all()
    return [WrappedDataKey(id=r.id, kek_version=r.kek_version, wrapped=r.wrapped) for r in rows]


def count_data_keys(session: Session) -> int:
    return len(session.execute(select(DataKey.id)).all())


def rewrap_data_key(session: Session, key_id: int, kek_version: int, wrapped: bytes) -> None:
    session.execute(
        update(DataKey).where(DataKey.id == key_id).values(kek_version=kek_version, wrapped=wrapped)
    )


def kek_versions_in_use(session: Session) -> set[int]:
    return set(session.execute(select(DataKey.kek_version).distinct()).scalars())
