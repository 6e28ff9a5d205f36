"""An area administrator's accounts: listing them, adding one, giving one a new second factor.

Who may do what is :mod:`contactpoint.auth.scope`; creating the account is
:func:`contactpoint.services.users.add_user` and disabling it
:func:`contactpoint.services.sign_in.disable_user`, exactly as the command
line and the JSON API use them. Each change is one transaction with its audit
entry written last. Secrets (the generated password, the TOTP secret) are
returned once, to be shown once, and never logged or audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import pyotp
from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.auth.addresses import fingerprint
from contactpoint.auth.scope import ROLES_AN_ADMINISTRATOR_ADDS, may_add, may_reset_second_factor
from contactpoint.clock import Clock
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.services.sign_in import FINGERPRINT_PURPOSE, Principal
from contactpoint.services.users import ISSUER, USERNAME, add_user, totp_aad
from contactpoint.store import sign_in as sign_in_store
from contactpoint.store import users as store
from contactpoint.store.users import AccountSummary
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring

RESET_ACTION: Final = "user.reset_totp"
UNAMBIGUOUS_CHARACTERS: Final = "abcdefghjkmnpqrstuvwxyz23456789"
"""No 0/o, 1/l/i: the password is read off a screen and typed once."""
PASSWORD_GROUPS: Final = 4
PASSWORD_GROUP_LENGTH: Final = 5
"""Twenty characters from 31: about 99 bits, far past guessing under the lockout."""
ORGANISATION_MAX: Final = 200


def generate_password() -> str:
    return "-".join(
        "".join(secrets.choice(UNAMBIGUOUS_CHARACTERS) for _ in range(PASSWORD_GROUP_LENGTH))
        for _ in range(PASSWORD_GROUPS)
    )


@dataclass(frozen=True, slots=True)
class AccountProblem:
    field: str
    """The form field's id."""
    message: str


@dataclass(frozen=True, slots=True)
class AddedAccount:
    username: str
    role: Role
    area: str
    password: str = field(repr=False)
    totp_secret: str = field(repr=False)
    totp_uri: str = field(repr=False)


def _secret_of(uri: str) -> str:
    parsed: str = pyotp.parse_uri(uri).secret
    return parsed


def accounts_of_area(session: Session, principal: Principal) -> list[AccountSummary]:
    """The accounts of the administrator's area; none for an administrator with no area."""
    if principal.role is not Role.LA_ADMIN or not principal.area:
        return []
    return store.accounts_in_area(session, principal.area)


def add_area_account(
    session: Session,
    *,
    vault: Vault,
    clock: Clock,
    audit_key: bytes,
    principal: Principal,
    username: str,
    role: str,
    organisation: str,
) -> AddedAccount | list[AccountProblem]:
    """A new account in the administrator's own area, with a generated password.

    The caller must call ``vault.prepare()`` before opening the transaction.
    """
    problems: list[AccountProblem] = []
    username = username.strip().lower()
    if not username:
        problems.append(AccountProblem("username", "Enter a username"))
    elif not USERNAME.match(username):
        problems.append(
            AccountProblem(
                "username",
                "Enter a username of 3 to 64 characters: lower-case letters, numbers, dots, "
                "hyphens or underscores, starting with a letter or number",
            )
        )
    chosen: Role | None = None
    try:
        chosen = Role(role)
    except ValueError:
        problems.append(AccountProblem("role", "Select the user's role"))
    if chosen is not None and not may_add(principal.area, chosen):
        allowed = ", ".join(r.value.replace("_", " ") for r in sorted(ROLES_AN_ADMINISTRATOR_ADDS))
        problems.append(
            AccountProblem(
                "role",
                f"Select one of the roles you can give ({allowed}); ask your ContactPoint "
                "operator for auditor and feed accounts",
            )
        )
    organisation = organisation.strip()
    if not organisation:
        problems.append(AccountProblem("organisation", "Enter the user's organisation"))
    elif len(organisation) > ORGANISATION_MAX:
        problems.append(
            AccountProblem(
                "organisation", f"Organisation must be {ORGANISATION_MAX} characters or fewer"
            )
        )
    if problems or chosen is None or not principal.area:
        return problems
    if sign_in_store.credentials(session, username) is not None:
        return [
            AccountProblem("username", "There is already a user with that username: choose another")
        ]
    password = generate_password()
    try:
        new = add_user(
            session,
            vault=vault,
            clock=clock,
            audit_key=audit_key,
            actor=principal.actor(),
            username=username,
            password=password,
            role=chosen,
            organisation=organisation,
            area=principal.area,
        )
    except ContactPointError as exc:
        return [AccountProblem("username", str(exc))]
    return AddedAccount(
        username=new.username,
        role=chosen,
        area=principal.area,
        password=password,
        totp_secret=_secret_of(new.totp_uri),
        totp_uri=new.totp_uri,
    )


class ResetOutcome(StrEnum):
    RESET = "reset"
    UNKNOWN_USER = "unknown_user"
    OUTSIDE_AREA = "outside_area"
    OWN_ACCOUNT = "own_account"


@dataclass(frozen=True, slots=True)
class ResetResult:
    outcome: ResetOutcome
    username: str | None = None
    tokens_revoked: int = 0
    totp_secret: str | None = field(default=None, repr=False)
    totp_uri: str | None = field(default=None, repr=False)


def reset_totp(
    session: Session,
    *,
    vault: Vault,
    keyring: Keyring,
    clock: Clock,
    actor: Actor,
    username: str,
    within_area: str | None,
    unrestricted: bool = False,
    client: str | None = None,
) -> ResetResult:
    """Give a user a new TOTP secret: the old one stops working at once, their tokens are
    revoked and their last used step forgotten, so they sign in again with the new one.

    ``within_area`` is the administrator's area; ``unrestricted`` is for an operator,
    who answers for every area. Nobody resets their own second factor here (it would
    sign them out before they saw the secret). Refusals are audited too, so the caller
    commits whatever the outcome. The caller must call ``vault.prepare()`` first.
    """
    now = clock.now()
    target = sign_in_store.credentials(session, username.strip().lower(), for_update=True)
    details: dict[str, object] = {}
    if client is not None:
        details["client"] = client
    if target is None:
        result = ResetResult(ResetOutcome.UNKNOWN_USER)
        details["reason"] = result.outcome.value
        details["username_fingerprint"] = fingerprint(keyring.subkey(FINGERPRINT_PURPOSE), username)
    elif target.username == actor.name:
        result = ResetResult(ResetOutcome.OWN_ACCOUNT, target.username)
        details.update(username=target.username, reason=result.outcome.value)
    elif not unrestricted and not may_reset_second_factor(within_area, target.area):
        result = ResetResult(ResetOutcome.OUTSIDE_AREA, target.username)
        details.update(
            username=target.username,
            user_area=target.area,
            within_area=within_area,
            reason=result.outcome.value,
        )
    else:
        secret = pyotp.random_base32()
        store.set_totp_secret(
            session, target.user_id, vault.encrypt(secret, totp_aad(target.username))
        )
        store.clear_last_totp_step(session, target.user_id)
        revoked = sign_in_store.revoke_user_tokens(session, target.user_id, now)
        result = ResetResult(
            ResetOutcome.RESET,
            target.username,
            tokens_revoked=revoked,
            totp_secret=secret,
            totp_uri=pyotp.TOTP(secret).provisioning_uri(name=target.username, issuer_name=ISSUER),
        )
        details.update(username=target.username, tokens_revoked=revoked)
    record(
        session,
        key=keyring.audit_key,
        clock=clock,
        actor=actor,
        action=RESET_ACTION,
        outcome="ok" if result.outcome is ResetOutcome.RESET else "refused",
        details=details,
    )
    return result
