"""Creating or upgrading an installation: schema and key material, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock, SystemClock
from contactpoint.errors import KeyMaterialError
from contactpoint.runtime import (
    Runtime,
    describe_key_source,
    load_keyring,
    open_engine,
    verify_keyring,
)
from contactpoint.services.reindex import ReindexTools, reindex_retired_kinds
from contactpoint.settings import Settings
from contactpoint.store import migrate
from contactpoint.store.data_keys import all_data_keys
from contactpoint.store.installation import (
    audit_entries_exist,
    create_installation,
    get_installation,
)
from contactpoint.vault.keyring import Keyring, write_keyring_file


@dataclass(frozen=True)
class InitResult:
    runtime: Runtime
    created_keys: bool
    schema_revision: str | None
    reindexed: int = 0
    """Records indexed again under this release's blocking keys."""


def initialise(settings: Settings, actor: Actor, clock: Clock | None = None) -> InitResult:
    clock = clock or SystemClock()
    engine = open_engine(settings)
    migrate.upgrade(engine)
    with Session(engine) as session:
        in_use = bool(
            all_data_keys(session) or get_installation(session) or audit_entries_exist(session)
        )
    created = False
    key_file = settings.resolved_key_file
    if settings.keys is None and not key_file.exists():
        if in_use:
            raise KeyMaterialError(
                f"This database is already in use but there is no keyring at {key_file}. "
                "Restore the keyring from your key backup; ContactPoint will not make a fresh "
                "key over an existing installation."
            )
        write_keyring_file(key_file, Keyring.generate())
        created = True
    keyring = load_keyring(settings)
    runtime = Runtime(settings=settings, engine=engine, keyring=keyring, clock=clock)
    with runtime.sessions.begin() as session:
        verify_keyring(session, keyring, describe_key_source(settings))
        if get_installation(session) is None:
            create_installation(session, clock.now(), *keyring.check_values())
        record(
            session,
            key=keyring.audit_key,
            clock=clock,
            actor=actor,
            action="system.init",
            details={"created_keys": created, "schema": migrate.head_revision()},
        )
    reindexed = reindex_retired_kinds(
        ReindexTools(
            runtime.sessions,
            vault=runtime.vault,
            indexer=runtime.indexer,
            clock=clock,
            audit_key=keyring.audit_key,
            actor=actor,
        )
    )
    return InitResult(runtime, created, migrate.head_revision(), reindexed)
