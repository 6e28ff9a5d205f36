"""Fixtures: a real SQLite file and a real PostgreSQL database, migrated by Alembic.

Each test runs inside an outer transaction that is rolled back at the end; the
code under test commits to savepoints inside it (the warehouse pattern), so
tests are isolated without recreating the schema.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.store import migrate
from contactpoint.store.data_keys import SqlDataKeyStore
from contactpoint.store.database import make_engine
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring

PG_ADMIN_URL = os.environ.get(
    "CONTACTPOINT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"


def _postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES_UP = _postgres_available()


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not POSTGRES_UP:
        raise pytest.UsageError(
            f"CI=true but PostgreSQL is not reachable at {PG_ADMIN_URL}: refusing to skip."
        )


def require_postgres() -> None:
    if not POSTGRES_UP:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432; its tests are skipped here.")


class PgDatabases:
    """Creates throwaway PostgreSQL databases and drops them at the end."""

    def __init__(self) -> None:
        self._admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"cp_test_{secrets.token_hex(6)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        with self._admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    require_postgres()
    databases = PgDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    engine = make_engine(pg_databases.create())
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "contactpoint.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    fixture = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    result: Engine = request.getfixturevalue(fixture)
    return result


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))


@pytest.fixture
def vault(keyring: Keyring, connection: Connection, clock: FixedClock) -> Vault:
    return Vault(keyring, SqlDataKeyStore(connection, clock))


@pytest.fixture
def indexer(keyring: Keyring) -> BlindIndexer:
    return BlindIndexer(keyring)


@pytest.fixture
def digester(keyring: Keyring) -> ContentDigester:
    return ContentDigester(keyring)


@pytest.fixture
def actor() -> Actor:
    return Actor(name="test:operator", role="operator")


@pytest.fixture
def tmp_home(tmp_path: Path) -> Path:
    return tmp_path / "home"
