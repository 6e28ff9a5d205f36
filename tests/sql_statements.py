"""Watching the SQL a piece of code sends, whichever layer sends it.

Most statements go through SQLAlchemy, but the audit chain's lock and insert on
PostgreSQL go straight through the driver (psycopg), so on PostgreSQL the
driver is watched; on SQLite, SQLAlchemy's cursor events.
"""

from __future__ import annotations

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
