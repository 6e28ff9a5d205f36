"""Watching the SQL a piece of code sends, whichever layer sends it.

Most statements go through SQLAlchemy, but the audit chain's lock and insert on
PostgreSQL go straight through the driver (psycopg), so on PostgreSQL the
driver is watched; on SQLite, SQLAlchemy's cursor events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, event


def watch(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent on ``connection`` from now on, whitespace folded, but the
    test fixture's savepoints."""
    seen: list[str] = []

    def note(statement: object) -> None:
        words = " ".join(str(statement).split())
        if "SAVEPOINT" not in words:
            seen.append(words)

    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        execute = psycopg.Cursor.execute

        def watched(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            if self.connection is driver:
                note(query)
            return execute(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", watched)
    else:

        @event.listens_for(connection, "before_cursor_execute")
        def _seen(_c: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            note(statement)

    return seen


def watch_round_trips(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The statements sent on a PostgreSQL ``connection`` from now on, grouped by round
    trip: those sent in one pipeline together, any other alone (psycopg's own ``BEGIN``
    is not seen, nor are the test fixture's savepoints)."""
    rounds: list[list[str]] = []
    driver = connection.connection.driver_connection
    piped = [False]
    execute = psycopg.Cursor.execute
    pipeline = psycopg.Connection.pipeline

    def watched(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        words = " ".join(str(query).split())
        if self.connection is driver and "SAVEPOINT" not in words:
            if piped[0]:
                rounds[-1].append(words)
            else:
                rounds.append([words])
        return execute(self, query, *args, **kwargs)

    @contextmanager
    def watched_pipeline(self: psycopg.Connection[Any]) -> Iterator[Any]:
        if self is not driver:
            with pipeline(self) as p:
                yield p
            return
        rounds.append([])
        piped[0] = True
        try:
            with pipeline(self) as p:
                yield p
        finally:
            piped[0] = False

    monkeypatch.setattr(psycopg.Cursor, "execute", watched)
    monkeypatch.setattr(psycopg.Connection, "pipeline", watched_pipeline)
    return rounds
