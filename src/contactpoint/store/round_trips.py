"""Several statements sent to PostgreSQL in one round trip.

A search is a handful of short statements, and while it waits for each answer its
worker thread gives up Python's interpreter lock and must win it back from the
other requests' threads before it can send the next: each round trip costs far
more than the database's work. Statements that do not depend on each other's
answers go together through psycopg's pipeline mode, which also carries the
``BEGIN`` psycopg would otherwise send on its own. The database still runs them in
order, each in its own snapshot, so a statement after a lock sees what the lock's
previous holder committed.

SQLAlchemy reads a result as soon as it sends its statement, so the pipeline is
driven through the driver itself: each statement is compiled by SQLAlchemy once,
its parameters are converted by their SQLAlchemy types, and the rows come back
as plain tuples in the statement's column order. On SQLite the statements simply
run one after another.

A transaction's last statements can carry its ``COMMIT`` too (``commit=True``), which
saves a search its last round trip. Only a session that owns its database
transaction does so: one bound to an engine, not inside a savepoint. A session
joined to an outer transaction (the tests' savepoints) commits as it always
does, since a ``COMMIT`` sent here would end the outer transaction too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect


@dataclass(frozen=True, slots=True)
class Statement:
    clause: TextClause | TextualSelect
    parameters: Mapping[str, object]


_COMPILED: dict[tuple[int, str], tuple[TextClause | TextualSelect, SQLCompiler]] = {}
"""Each statement compiled once per dialect. The statements passed here are module
constants or cached, so there are a fixed few; the clause is kept beside its compiled
form so its ``id`` cannot be reused by another."""


def _compiled(clause: TextClause | TextualSelect, dialect: Dialect) -> SQLCompiler:
    key = (id(clause), dialect.name)
    found = _COMPILED.get(key)
    if found is None or found[0] is not clause:
        compiled = clause.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError("a statement compiled to something other than SQL")
        found = (clause, compiled)
        _COMPILED[key] = found
    return found[1]


def _driver_parameters(compiled: SQLCompiler, parameters: Mapping[str, object]) -> dict[str, Any]:
    values = dict(compiled.construct_params(dict(parameters)) or {})
    for name, process in compiled._bind_processors.items():
        if name in values and callable(process):
            values[name] = process(values[name])
    return values


def _rows(cursor: Any) -> list[tuple[Any, ...]]:
    """The statement's rows, none for one that returns none. Told from the result's
    field count, not ``cursor.description``, which builds a column object for every
    field of every statement (a twentieth of the search's time in a cProfile of it)."""
    result = cursor.pgresult
    if result is None or not result.nfields:
        return []
    return [tuple(row) for row in cursor.fetchall()]


def owns_its_transaction(session: Session) -> bool:
    """Whether a ``COMMIT`` sent by this session would end only its own work."""
    return isinstance(session.get_bind(), Engine) and not session.in_nested_transaction()


def run_together(
    session: Session, statements: Sequence[Statement], *, commit: bool = False
) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in order in the session's transaction; the answer is each one's
    rows (empty for a statement that returns none).

    With ``commit``, these are the transaction's last statements: on PostgreSQL, in a
    session that owns its transaction, the ORM's pending changes are flushed first and
    the ``COMMIT`` goes with the statements; the session is committed. Otherwise the
    caller's commit ends the transaction as usual."""
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        answers: list[list[tuple[Any, ...]]] = []
        for statement in statements:
            result = connection.execute(statement.clause, dict(statement.parameters))
            answers.append([tuple(row) for row in result] if result.returns_rows else [])
        return answers
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the session's connection has no driver connection")
    commit = commit and owns_its_transaction(session)
    if commit:
        session.flush()
    cursors = []
    ending = None
    sent = ""
    error_class = dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():
            for statement in statements:
                compiled = _compiled(statement.clause, dialect)
                cursor = driver.cursor()
                cursors.append(cursor)
                sent = str(compiled)
                cursor.execute(sent, _driver_parameters(compiled, statement.parameters))
            if commit:
                sent = "COMMIT"
                ending = driver.cursor()
                ending.execute(sent)
        answers = [_rows(cursor) for cursor in cursors]
    except error_class as error:
        # As SQLAlchemy raises it, so callers and error handlers see one kind of error.
        raise DBAPIError.instance(sent, None, error, error_class, dialect=dialect) from error
    finally:
        for cursor in cursors:
            cursor.close()
        if ending is not None:
            ending.close()
    if commit:
        # The database has committed; the driver sends nothing for a commit outside a
        # transaction, so this only brings SQLAlchemy's view of the session up to date.
        session.commit()
    return answers
