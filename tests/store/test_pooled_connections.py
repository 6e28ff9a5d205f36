"""A pooled PostgreSQL connection is checked before use only after it has rested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from contactpoint.store import database
from contactpoint.store.database import make_engine
from tests.conftest import PgDatabases


@pytest.fixture
def one_connection(pg_databases: PgDatabases) -> Iterator[Engine]:
    engine = make_engine(pg_databases.create(), pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def pooled_backend_ends(engine: Engine) -> None:
    """Use the pool's one connection, give it back, and have the server end it (as a
    restart or an idle timeout would)."""
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with make_engine(engine.url.render_as_string(hide_password=False)).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()


def test_a_connection_that_rested_is_checked_and_replaced(
    one_connection: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_BEFORE_PING", 0.0)
    pooled_backend_ends(one_connection)
    with one_connection.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1


def test_a_connection_in_steady_use_is_not_checked_and_a_failure_empties_the_pool(
    one_connection: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No extra round trip for a connection used moments ago; if the server ended it
    meanwhile, that one request fails and the next gets a new connection."""
    monkeypatch.setattr(database, "IDLE_BEFORE_PING", 3600.0)
    pooled_backend_ends(one_connection)
    with pytest.raises(OperationalError), one_connection.connect() as connection:
        connection.execute(text("SELECT 1"))
    with one_connection.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
