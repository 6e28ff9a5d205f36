"""Key rotation: a new key-encryption key, and every data key re-wrapped under it.

Order makes it safe to run while the service runs and safe to crash: the new
key is added to the keyring file (the old one stays), then the data keys are
re-wrapped in one audited transaction. A running process that meets a data
key wrapped by a version it has not loaded re-reads the keyring.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.errors import ContactPointError
from contactpoint.settings import Settings
from contactpoint.store.data_keys import all_data_keys, kek_versions_in_use, rewrap_data_key
from contactpoint.vault.envelope import unwrap_data_key, wrap_data_key
from contactpoint.vault.keyring import Keyring, write_keyring_file


@dataclass(frozen=True)
class RotationResult:
    new_version: int
    rewrapped: int
    retired: tuple[int, ...]


def rotate_keys(
    session: Session,
    *,
    settings: Settings,
    keyring: Keyring,
    clock: Clock,
    actor: Actor,
    retire: bool = False,
) -> tuple[Keyring, RotationResult]:
    if settings.keys is not None:
        raise ContactPointError(
            "The keyring comes from CONTACTPOINT_KEYS, which ContactPoint cannot rewrite: "
            "rotate in your key service and supply the new keyring."
        )
    rotated = keyring.with_new_kek()
    write_keyring_file(settings.resolved_key_file, rotated, replace=True)
    keys = all_data_keys(session)
    for key in keys:
        material = unwrap_data_key(rotated, key)
        rewrap_data_key(
            session,
            key.id,
            rotated.active_kek,
            wrap_data_key(rotated, rotated.active_kek, key.id, material),
        )
    retired: tuple[int, ...] = ()
    if retire:
        session.flush()
        unused = set(rotated.keks) - kek_versions_in_use(session) - {rotated.active_kek}
        retired = tuple(sorted(unused))
    record(
        session,
        key=rotated.audit_key,
        clock=clock,
        actor=actor,
        action="keys.rotate",
        details={
            "new_kek_version": rotated.active_kek,
            "rewrapped": len(keys),
            "retired": list(retired),
        },
    )
    return rotated, RotationResult(rotated.active_kek, len(keys), retired)


def retire_keys(settings: Settings, keyring: Keyring, versions: tuple[int, ...]) -> Keyring:
    """Drop retired versions from the file only after the re-wrap has committed."""
    if not versions:
        return keyring
    smaller = keyring.without_keks(set(versions))
    write_keyring_file(settings.resolved_key_file, smaller, replace=True)
    return smaller
