"""Bulk writes: COPY on PostgreSQL, executemany elsewhere.

Ingest writes several rows per feed line (the record, its children and about
seven index tokens); COPY sends them in one stream instead of a statement each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from contactpoint.store.tables import Base


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def member_of(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN values``, sent on PostgreSQL as one array parameter.

    A batch looks up hundreds of tokens or children at once; as an ``IN`` list
    each value is a bound parameter the client must render and send, which
    cost more than the index look-up itself.
    """
    if is_postgresql(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def bulk_insert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if not is_postgresql(session):
        session.execute(insert(cast(Table, model.__table__)), list(rows))
        return
    columns = list(rows[0])
    driver = session.connection().connection.driver_connection
    if driver is None:
        raise RuntimeError("no driver connection for COPY")
    statement = f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def refresh_statistics(session: Session, tables: Sequence[str]) -> None:
    """Let the planner see a table that grew during a large load (autovacuum may lag or be off)."""
    if is_postgresql(session):
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


def estimated_rows(session: Session, table: str) -> int:
    if not is_postgresql(session):
        return 0
    value = session.execute(
        text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
    ).scalar()
    return max(int(value or 0), 0)
