"""Assembling a child's record from its source records.

Internal: callers that show a record to a person (the look-up service) audit
the read; this function only decrypts and combines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


def statements_of(vault: Vault, rows: Iterable[Mapping[Any, Any]]) -> list[Statement]:
    """Each source record row (its id, source, record id, time and ciphertexts) decrypted."""
    statements = []
    for row in rows:
        values = decrypt_fields(vault, row["id"], row, (*CHILD_FIELDS, "carers", "services"))
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
