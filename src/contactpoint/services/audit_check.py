"""Verifying the whole audit chain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contactpoint.audit.chain import Verification, verify_chain
from contactpoint.store.audit import iter_entries


def verify_audit(session: Session, audit_key: bytes) -> Verification:
    return verify_chain(audit_key, iter_entries(session))
