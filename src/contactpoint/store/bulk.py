"""Bulk writes: binary COPY on PostgreSQL, executemany elsewhere.

Ingest writes several rows per feed line (the record, its children and about
seven index tokens); COPY sends them in one stream instead of a statement each.
In binary format: every record has fourteen ciphertexts, which the text format
sends as hexadecimal, twice their size, for the client to write and the server
to parse (a seventh of the initial load's main process went on that).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast
from weakref import WeakKeyDictionary

from psycopg import Connection
from sqlalchemy import ColumnElement, Engine, Table, any_, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

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
    """Rows as dicts of column values (every row with the same keys)."""
    if rows:
        columns = list(rows[0])
        copy_rows(session, model, columns, ([row[c] for c in columns] for row in rows))


def driver_rows(session: Session, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a PostgreSQL query as the driver's own tuples, in the session's transaction.

    For reads of tens of thousands of narrow rows a batch (ingest's candidates),
    where making each a SQLAlchemy row cost more than the database's work.
    """
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, Connection):
        raise RuntimeError("no psycopg connection")
    with driver.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def array_literal(values: Iterable[int | uuid.UUID | str]) -> str:
    """A PostgreSQL array literal of integers or UUIDs (or UUIDs' text forms: a string
    is taken as it is, so pass no other), to send as one text parameter
    (cast in the query, ``%s::uuid[]``). psycopg dumps a list element by element in
    Python, and ingest into a large index sends tens of thousands of ids a batch;
    neither form needs quoting, so they are joined in C."""
    return "{" + ",".join(map(str, values)) + "}"


def text_array_literal(values: Iterable[str]) -> str:
    """The same for strings, each quoted (backslashes and quotes escaped), so any text
    is one element."""
    return "{" + ",".join(map(_quoted, values)) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def copy_rows(
    session: Session, model: type[Base], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Rows as sequences of values in the order of ``columns``: the initial load's
    millions of rows are never made into dicts."""
    if not is_postgresql(session):
        values = [dict(zip(columns, row, strict=True)) for row in rows]
        if values:
            session.execute(insert(cast(Table, model.__table__)), values)
        return
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, Connection):
        raise RuntimeError("no psycopg connection for COPY")
    table = model.__tablename__
    types = _column_types(driver, table)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([types[c] for c in columns])
        for row in rows:
            copy.write_row(row)


_TYPES: WeakKeyDictionary[Connection[Any], dict[str, dict[str, int]]] = WeakKeyDictionary()


def _column_types(driver: Connection[Any], table: str) -> dict[str, int]:
    """Each column's type, as binary COPY needs it stated (a connection asks once a table)."""
    known = _TYPES.setdefault(driver, {})
    if table not in known:
        with driver.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped",
                (table,),
            )
            known[table] = {str(name): int(oid) for name, oid in cursor.fetchall()}
    return known[table]


def refresh_statistics(session: Session, tables: Sequence[str]) -> None:
    """Let the planner see a table that grew during a large load (autovacuum may lag or be off)."""
    if is_postgresql(session):
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


def vacuum_after_load(sessions: sessionmaker[Session], tables: Sequence[str]) -> bool:
    """``VACUUM (ANALYZE)`` the tables a load filled, if the sessions are PostgreSQL's
    through an engine (``VACUUM`` runs outside any transaction); ``False`` if not done.

    Besides the statistics, it marks the loaded pages all-visible, which lets a
    token look-up be answered from the blind index's key alone (migration 0008),
    and sets the rows' hint bits once, instead of in the first reads that meet
    them (each such read writes the page back). Autovacuum would do the same,
    but may lag behind a load, or be off.
    """
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return False
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
    return True


def estimated_rows(session: Session, table: str) -> int:
    if not is_postgresql(session):
        return 0
    value = session.execute(
        text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
    ).scalar()
    return max(int(value or 0), 0)
