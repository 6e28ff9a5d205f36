"""Fixtures the service tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
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
