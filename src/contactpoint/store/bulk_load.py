"""Indexes and foreign keys set aside while the initial load fills empty tables.

PostgreSQL's own advice for populating a database: a secondary index built once
over the loaded rows (a sort) costs far less than millions of inserts into it at
random places, and a foreign key checked once over the whole table (a join) far
less than a look-up for every row. The tables' secondary indexes and foreign
keys are read from the catalogue, dropped, and made again from the same
definitions when the load ends, however it ends; constraints that keep rows
unique (primary keys, unique constraints) stay, so the load can never write a
duplicate. A no-op on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.store.bulk import is_postgresql

REBUILD_MEMORY: Final = "1GB"
"""``maintenance_work_mem`` for the rebuild: each index is sorted in memory, not on disk."""


@dataclass(frozen=True)
class SetAside:
    """What was dropped, as the catalogue defined it."""

    indexes: tuple[tuple[str, str], ...]
    """(name, ``CREATE INDEX`` statement)."""
    foreign_keys: tuple[tuple[str, str, str], ...]
    """(table, name, definition)."""


_INDEXES = text(
    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT EXISTS "
    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
)
_FOREIGN_KEYS = text(
    "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
    "FROM pg_constraint c WHERE c.contype = 'f' "
    "AND c.conrelid = ANY(CAST(:tables AS regclass[])) ORDER BY 1, 2"
)


def set_aside(session: Session, tables: Sequence[str]) -> SetAside:
    """Drop the tables' secondary indexes and foreign keys; what to make again."""
    names = list(tables)
    indexes = tuple((str(n), str(d)) for n, d in session.execute(_INDEXES, {"tables": names}))
    keys = tuple(
        (str(t), str(n), str(d)) for t, n, d in session.execute(_FOREIGN_KEYS, {"tables": names})
    )
    for table, name, _ in keys:
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        session.execute(text(f"DROP INDEX {name}"))
    return SetAside(indexes, keys)


def restore(session: Session, aside: SetAside) -> None:
    """Build the indexes and check and add the foreign keys again."""
    session.execute(text(f"SET LOCAL maintenance_work_mem = '{REBUILD_MEMORY}'"))
    for _, definition in aside.indexes:
        session.execute(text(definition))
    for table, name, definition in aside.foreign_keys:
        session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


@contextmanager
def indexes_built_after(sessions: sessionmaker[Session], tables: Sequence[str]) -> Iterator[None]:
    """Load ``tables`` with their secondary indexes and foreign keys set aside."""
    with sessions.begin() as session:
        aside = set_aside(session, tables) if is_postgresql(session) else None
    try:
        yield
    finally:
        if aside is not None:
            with sessions.begin() as session:
                restore(session, aside)
