"""The users table as an area's administrator sees and changes it.

Listing is by area only: users are staff, not children, and an administrator
answers for their area's accounts. No secret leaves here but a ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from contactpoint.store.tables import TotpLastStep, User


@dataclass(frozen=True, slots=True)
class AccountSummary:
    username: str
    role: str
    organisation: str
    area: str | None
    disabled: bool


def accounts_in_area(session: Session, area: str) -> list[AccountSummary]:
    rows = session.execute(
        select(User.username, User.role, User.organisation, User.area, User.disabled)
        .where(User.area == area)
        .order_by(User.username)
    )
    return [
        AccountSummary(r.username, r.role, r.organisation, r.area, bool(r.disabled)) for r in rows
    ]


def set_totp_secret(session: Session, user_id: int, totp_secret_enc: bytes) -> None:
    session.execute(update(User).where(User.id == user_id).values(totp_secret_enc=totp_secret_enc))


def clear_last_totp_step(session: Session, user_id: int) -> None:
    """A new secret starts a new sequence of steps: the old secret's last step means nothing."""
    session.execute(delete(TotpLastStep).where(TotpLastStep.user_id == user_id))
