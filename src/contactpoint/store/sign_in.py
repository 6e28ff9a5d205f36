"""The SQL behind sign-in: credentials, tokens, used TOTP steps, failures and locks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Executable,
    Integer,
    LargeBinary,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from contactpoint.store.round_trips import Statement, run_together
from contactpoint.store.tables import AddressLock, ApiToken, SignInFailure, TotpLastStep, User
from contactpoint.store.types import as_utc


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    user_id: int
    username: str
    role: str
    organisation: str
    area: str | None
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    password_hash: str
    totp_secret_enc: bytes


@dataclass(frozen=True, slots=True)
class TokenHolder:
    token_id: uuid.UUID
    expires_at: datetime
    revoked_at: datetime | None
    user_id: int
    username: str
    role: str
    organisation: str
    area: str | None
    disabled: bool


def credentials(
    session: Session, username: str, *, for_update: bool = False
) -> StoredCredentials | None:
    """One user's sign-in state; ``for_update`` holds the row (PostgreSQL) until commit.

    Holding it serialises concurrent attempts on one account, so two replays
    of one TOTP code cannot both pass and failures are never lost in a race.
    SQLite writers are serialised already by ``BEGIN IMMEDIATE``.
    """
    query = select(
        User.id,
        User.username,
        User.role,
        User.organisation,
        User.area,
        User.disabled,
        User.failed_logins,
        User.locked_until,
        User.password_hash,
        User.totp_secret_enc,
    ).where(User.username == username)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        return None
    return StoredCredentials(
        user_id=row.id,
        username=row.username,
        role=row.role,
        organisation=row.organisation,
        area=row.area,
        disabled=row.disabled,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        password_hash=row.password_hash,
        totp_secret_enc=row.totp_secret_enc,
    )


def set_account_failures(
    session: Session, user_id: int, failed_logins: int, locked_until: datetime | None
) -> None:
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=failed_logins, locked_until=locked_until)
    )


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))


def set_disabled(session: Session, user_id: int) -> None:
    session.execute(update(User).where(User.id == user_id).values(disabled=True))


def _upsert(
    session: Session, table: type[object], values: dict[str, object], key: str
) -> Executable:
    """``INSERT … ON CONFLICT (key) DO UPDATE``, race-free where two processes write at once."""
    changes = {k: v for k, v in values.items() if k != key}
    if session.get_bind().dialect.name == "postgresql":
        on_pg = postgresql.insert(table).values(**values)
        return on_pg.on_conflict_do_update(index_elements=[key], set_=changes)
    on_sqlite = sqlite.insert(table).values(**values)
    return on_sqlite.on_conflict_do_update(index_elements=[key], set_=changes)


def last_totp_step(session: Session, user_id: int) -> int | None:
    step = session.execute(
        select(TotpLastStep.step).where(TotpLastStep.user_id == user_id)
    ).scalar_one_or_none()
    return None if step is None else int(step)


def set_last_totp_step(session: Session, user_id: int, step: int) -> None:
    session.execute(_upsert(session, TotpLastStep, {"user_id": user_id, "step": step}, "user_id"))


def address_locked_until(session: Session, address_key: str) -> datetime | None:
    return session.execute(
        select(AddressLock.locked_until).where(AddressLock.address_key == address_key)
    ).scalar_one_or_none()


def record_address_failure(
    session: Session, address_key: str, at: datetime, window_start: datetime
) -> int:
    """Add one failure and return how many the address has in the window.

    Failures older than the window are removed as it goes, everyone's, so the
    table holds only what the lock still needs.
    """
    session.execute(delete(SignInFailure).where(SignInFailure.at < window_start))
    session.execute(delete(AddressLock).where(AddressLock.locked_until <= at))
    session.add(SignInFailure(id=uuid.uuid4(), address_key=address_key, at=at))
    session.flush()
    count = session.execute(
        select(func.count())
        .select_from(SignInFailure)
        .where(SignInFailure.address_key == address_key, SignInFailure.at >= window_start)
    ).scalar_one()
    return int(count)


def lock_address(session: Session, address_key: str, until: datetime) -> None:
    session.execute(
        _upsert(
            session, AddressLock, {"address_key": address_key, "locked_until": until}, "address_key"
        )
    )


def insert_token(
    session: Session,
    *,
    token_id: uuid.UUID,
    token_hash: bytes,
    user_id: int,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        ApiToken(
            id=token_id,
            token_hash=token_hash,
            user_id=user_id,
            issued_at=issued_at,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    session.flush()


def purge_tokens_expired_before(session: Session, cutoff: datetime) -> None:
    session.execute(delete(ApiToken).where(ApiToken.expires_at < cutoff))


_TOKEN_HOLDER = (
    text(
        """
        SELECT t.id, t.expires_at, t.revoked_at, u.id AS user_id, u.username, u.role,
               u.organisation, u.area, u.disabled
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = :token_hash
        """
    )
    .bindparams(bindparam("token_hash", type_=LargeBinary()))
    .columns(
        ApiToken.__table__.c.id,
        ApiToken.__table__.c.expires_at,
        ApiToken.__table__.c.revoked_at,
        column("user_id", Integer),
        User.__table__.c.username,
        User.__table__.c.role,
        User.__table__.c.organisation,
        User.__table__.c.area,
        User.__table__.c.disabled,
    )
)
"""Every request with a token runs this: written out once, since a plain statement costs
a fraction of one built from the ORM on each call (the columns it names give the results
the tables' types)."""


def token_holder(session: Session, token_hash: bytes) -> TokenHolder | None:
    """The token's holder, in one round trip with the transaction's ``BEGIN`` when it is
    the transaction's first statement (:mod:`contactpoint.store.round_trips`)."""
    (rows,) = run_together(session, [Statement(_TOKEN_HOLDER, {"token_hash": token_hash})])
    if not rows:
        return None
    token_id, expires_at, revoked_at, user_id, username, role, organisation, area, disabled = rows[
        0
    ]
    return TokenHolder(
        token_id=token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id)),
        expires_at=as_utc(expires_at),
        revoked_at=None if revoked_at is None else as_utc(revoked_at),
        user_id=int(user_id),
        username=username,
        role=role,
        organisation=organisation,
        area=area,
        disabled=bool(disabled),
    )


def revoke_token(session: Session, token_id: uuid.UUID, at: datetime) -> bool:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_tokens(session: Session, user_id: int, at: datetime) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > at)
        .values(revoked_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
