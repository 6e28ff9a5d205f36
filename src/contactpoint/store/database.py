"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import time
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.errors import ContactPointError


def normalise_url(url: str) -> URL:
    """Accept the plain ``postgresql://`` form operators write; use psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ContactPointError(
            "CONTACTPOINT_DATABASE_URL is not a database URL "
            "(for example postgresql://user@host:5432/contactpoint)."
        ) from exc
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ContactPointError("ContactPoint runs on SQLite or PostgreSQL only.")
    return parsed


READ_ONLY = "contactpoint_read_only"
"""Execution option marking a connection that will only read."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so SAVEPOINT works (SQLAlchemy recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: writers queue for the lock up front instead of failing mid-way.
        # Readers (READ_ONLY) take a deferred BEGIN and run beside a writer under WAL.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(parsed, **kwargs)
    _ping_when_idle(engine)
    return engine


IDLE_BEFORE_PING: Final = 10.0
"""Seconds a pooled connection may rest before it is checked on its way out of the pool."""
_LAST_RETURNED = "contactpoint_last_returned"


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it has rested a while.

    SQLAlchemy's ``pool_pre_ping`` checks every connection at every checkout: one
    more round trip on every request, a tenth of a search's. A connection in steady use
    was working moments ago; one that has rested may have been closed by the server or
    a firewall. If the server goes away while connections are in use, the first
    request on each fails and SQLAlchemy discards the pool's connections at once.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_LAST_RETURNED)
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection had gone away") from exc
        if not alive:
            raise DisconnectionError("a pooled connection had gone away")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
