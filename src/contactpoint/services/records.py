"""Assembling a child's record from its source records.

Internal: callers that show a record to a person (the look-up service) audit
the read; this function only decrypts and combines.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from contactpoint.domain.child import ChildRecord, Provenance
from contactpoint.domain.precedence import Statement, combine
from contactpoint.store import source_records as store
from contactpoint.vault.envelope import Vault
from contactpoint.vault.record_cipher import (
    CHILD_FIELDS,
    carers_from_json,
    decrypt_fields,
    details_from_fields,
    services_from_json,
)


def load_statements(session: Session, vault: Vault, child_id: str) -> list[Statement]:
    return statements_of(vault, store.active_records_of_child(session, child_id))


RECORD_FIELDS: Final = (*CHILD_FIELDS, "carers", "services")
IDENTITY_FIELDS: Final = frozenset({"given_names", "family_name", "date_of_birth", "gender"})
"""Always decrypted: every view shows them, and the date of birth says who is archived."""
NOT_DECRYPTED: Final[Mapping[str, Any]] = {
    "former_family_names": [],
    "preferred_name": None,
    "nhs_number": None,
    "upn": None,
    "address": None,
    "no_fixed_abode": False,
    "circumstances": [],
    "carers": [],
    "services": [],
}
"""What a field left encrypted reads as: not stated."""


def statements_of(
    vault: Vault, rows: Iterable[Mapping[Any, Any]], fields: Collection[str] = RECORD_FIELDS
) -> list[Statement]:
    """Each source record row (its id, source, record id, time and ciphertexts) decrypted:
    the identity and ``fields``; any other field stays encrypted and reads as not stated,
    for a view that never shows it."""
    names = [name for name in RECORD_FIELDS if name in fields or name in IDENTITY_FIELDS]
    statements = []
    for row in rows:
        values = {**NOT_DECRYPTED, **decrypt_fields(vault, row["id"], row, names)}
        statements.append(
            Statement(
                provenance=Provenance(row["source"], row["source_record_id"], row["updated_at"]),
                child=details_from_fields(values),
                carers=carers_from_json(values["carers"]),
                services=services_from_json(values["services"]),
            )
        )
    return statements


def load_child_record(session: Session, vault: Vault, child_id: str) -> ChildRecord | None:
    statements = load_statements(session, vault, child_id)
    return combine(child_id, statements) if statements else None
