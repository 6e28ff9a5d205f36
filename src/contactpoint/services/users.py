"""Creating users: argon2id password, TOTP secret encrypted at rest, audited."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.store.tables import User
from contactpoint.vault.envelope import Vault, field_aad

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 12
ISSUER = "ContactPoint"

password_hasher = PasswordHasher()
"""argon2id with the library's current recommended parameters (RFC 9106 low-memory)."""


@dataclass(frozen=True)
class NewUser:
    username: str
    totp_uri: str


def totp_aad(username: str) -> bytes:
    return field_aad("users", username, "totp_secret")


def validate_new_user(username: str, password: str, organisation: str) -> None:
    if not USERNAME.match(username):
        raise ContactPointError(
            "A username is 3 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ContactPointError(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
        )
    if not organisation.strip():
        raise ContactPointError("Give the user's organisation with --organisation.")


def add_user(
    session: Session,
    *,
    vault: Vault,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    username: str,
    password: str,
    role: Role,
    organisation: str,
    area: str | None,
) -> NewUser:
    validate_new_user(username, password, organisation)
    if role is Role.LA_ADMIN and not area:
        raise ContactPointError("An la_admin works for one area: give it with --area.")
    if session.execute(select(User.id).where(User.username == username)).first() is not None:
        raise ContactPointError(f"There is already a user called '{username}'.")
    secret = pyotp.random_base32()
    session.execute(
        insert(User).values(
            username=username,
            password_hash=password_hasher.hash(password),
            totp_secret_enc=vault.encrypt(secret, totp_aad(username)),
            role=role.value,
            organisation=organisation.strip(),
            area=area,
            disabled=False,
            failed_logins=0,
            created_at=clock.now(),
        )
    )
    record(
        session,
        key=audit_key,
        clock=clock,
        actor=actor,
        action="user.add",
        details={
            "username": username,
            "role": role.value,
            "organisation": organisation,
            "area": area,
        },
    )
    uri: str = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return NewUser(username=username, totp_uri=uri)
