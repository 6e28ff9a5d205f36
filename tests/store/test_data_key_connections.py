"""A request holding the pool's last connection can still read a data key it has not
seen: the vault's key store has connections of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from contactpoint.clock import FixedClock
from contactpoint.runtime import Runtime
from contactpoint.settings import Settings
from contactpoint.store import migrate
from contactpoint.store.database import make_engine
from contactpoint.vault.keyring import Keyring
from tests.conftest import PgDatabases


@pytest.fixture(params=["sqlite", "postgresql"])
def one_connection_engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> Iterator[Engine]:
    """A pool of exactly one connection that gives up on waiting after a second."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'contactpoint.db'}"
    else:
        url = pg_databases.create()
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=1)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def runtime_over(engine: Engine, keyring: Keyring, clock: FixedClock, home: Path) -> Runtime:
    settings = Settings(home=home, database_url=engine.url.render_as_string(hide_password=False))
    return Runtime(settings=settings, engine=engine, keyring=keyring, clock=clock)


def test_a_data_key_is_read_while_the_pool_is_in_use(
    one_connection_engine: Engine, keyring: Keyring, clock: FixedClock, tmp_path: Path
) -> None:
    writer = runtime_over(one_connection_engine, keyring, clock, tmp_path)
    writer.vault.prepare()
    sealed = writer.vault.encrypt({"given_names": "Amelia"}, b"source_records|r1|given_names")

    reader = runtime_over(one_connection_engine, keyring, clock, tmp_path)  # no key cached yet
    with reader.sessions.begin() as session:
        session.execute(text("SELECT 1"))  # the request holds the pool's one connection
        opened = reader.vault.decrypt(sealed, b"source_records|r1|given_names")
    assert opened == {"given_names": "Amelia"}
