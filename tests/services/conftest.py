"""Fixtures the service tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.conftest import PgDatabases
from tests.services.helpers import Ingest


@pytest.fixture
def ingest(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> Ingest:
    """Ingest into the test's own transaction, rolled back after it."""
    return Ingest(tmp_path, sessions, vault, keyring, clock, actor)


@pytest.fixture
def fresh_engines(pg_databases: PgDatabases) -> Iterator[list[Engine]]:
    """Engines of committed databases a test makes (``CommittedIndex``), disposed after it."""
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.dispose()
