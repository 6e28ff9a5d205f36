"""Creating or upgrading an installation: schema and key material, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock, SystemClock
from contactpoint.errors import KeyMaterialError
from contactpoint.runtime import Runtime, load_keyring, open_engine
from contactpoint.settings import Settings
from contactpoint.store import migrate
from contactpoint.store.data_keys import all_data_keys
from contactpoint.vault.envelope import WrappedDataKey, unwrap_data_key
from contactpoint.vault.keyring import Keyring, write_keyring_file


@dataclass(frozen=True)
class InitResult:
    runtime: Runtime
    created_keys: bool
    schema_revision: str | None


def check_keyring_opens(keyring: Keyring, data_keys: list[WrappedDataKey]) -> None:
    """One data key per key version must unwrap, or this is the wrong keyring."""
    seen: set[int] = set()
    for key in data_keys:
        if key.kek_version not in seen:
            unwrap_data_key(keyring, key)
            seen.add(key.kek_version)


def initialise(settings: Settings, actor: Actor, clock: Clock | None = None) -> InitResult:
    clock = clock or SystemClock()
    engine = open_engine(settings)
    migrate.upgrade(engine)
    with Session(engine) as session:
        existing = all_data_keys(session)
    created = False
    key_file = settings.resolved_key_file
    if settings.keys is None and not key_file.exists():
        if existing:
            raise KeyMaterialError(
                f"This database holds encrypted data but there is no keyring at {key_file}. "
                "Restore the keyring from your key backup; ContactPoint will not make a fresh "
                "key over existing data."
            )
        write_keyring_file(key_file, Keyring.generate())
        created = True
    keyring = load_keyring(settings)
    check_keyring_opens(keyring, existing)
    runtime = Runtime(settings=settings, engine=engine, keyring=keyring, clock=clock)
    with runtime.sessions.begin() as session:
        record(
            session,
            key=keyring.audit_key,
            clock=clock,
            actor=actor,
            action="system.init",
            details={"created_keys": created, "schema": migrate.head_revision()},
        )
    return InitResult(runtime, created, migrate.head_revision())
