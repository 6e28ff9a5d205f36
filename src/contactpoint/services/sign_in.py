"""Signing in to the JSON API, using its bearer tokens, revoking them, disabling users.

Each use case's state change and its audit entry share one transaction, and
every audited transaction writes its audit entry last, so the audit chain's
lock is always the last one taken and cannot deadlock against a user row.

Sign-in is deliberately in two steps: the credentials are read, then checked
(argon2 takes tens of milliseconds) with no transaction open, then the outcome
is written in one transaction that re-reads the account under a lock. Checking
inside the write transaction would hold SQLite's single writer lock, or the
account's row lock, for the whole argon2 run.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor, record
from contactpoint.auth.addresses import address_block, fingerprint
from contactpoint.auth.lockout import DEFAULT_POLICY, LockoutPolicy
from contactpoint.auth.scope import may_disable
from contactpoint.auth.tokens import (
    HASH_KEY_PURPOSE,
    expires_at,
    is_current,
    new_token,
    plausible,
    token_digest,
)
from contactpoint.auth.totp import matching_step
from contactpoint.auth.verdict import Attempt, Outcome, Verdict, decide
from contactpoint.clock import Clock
from contactpoint.domain.vocabulary import Role
from contactpoint.services.users import password_hasher, totp_aad
from contactpoint.store import sign_in as store
from contactpoint.store.database import READ_ONLY
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring

FINGERPRINT_PURPOSE = "contactpoint sign-in fingerprint v1"
EXPIRED_TOKENS_KEPT = timedelta(days=1)
"""Expired tokens are kept a day, so a late use is recognised (and audited) as expired."""
ANONYMOUS = Actor(name="anonymous")

_DUMMY_TOTP_SECRET: str = pyotp.random_base32()
"""Checked against when the user is unknown, so that path does the same work."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in caller of an API request, as their token and account say now."""

    user_id: int
    username: str
    role: Role
    organisation: str
    area: str | None
    token_id: uuid.UUID

    def actor(self) -> Actor:
        return Actor(name=self.username, role=self.role.value, organisation=self.organisation)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a caller presents to sign in; the secrets stay out of any ``repr``."""

    username: str
    password: str = field(repr=False)
    totp: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str = field(repr=False)
    token_id: uuid.UUID
    expires_at: datetime
    expires_in: int
    """Seconds, as OAuth 2.0's token response gives it."""


class Refusal(StrEnum):
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"


class DisableOutcome(StrEnum):
    DISABLED = "disabled"
    UNKNOWN_USER = "unknown_user"
    OUTSIDE_AREA = "outside_area"


@dataclass(frozen=True, slots=True)
class DisableResult:
    outcome: DisableOutcome
    tokens_revoked: int = 0


@cache
def _dummy_password_hash() -> str:
    return password_hasher.hash(secrets.token_urlsafe(32))


def warm_up() -> None:
    """Make the dummy hash now, so the first unknown-user attempt is not the slow one."""
    _dummy_password_hash()


def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _fingerprint(keyring: Keyring, value: str) -> str:
    return fingerprint(keyring.subkey(FINGERPRINT_PURPOSE), value)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _read_only(session: Session) -> None:
    session.connection(execution_options={READ_ONLY: True})


@dataclass(frozen=True, slots=True)
class _Checked:
    """The credentials as checked outside any transaction, to be confirmed under lock."""

    stored: store.StoredCredentials | None
    password_ok: bool
    totp_step: int | None
    new_password_hash: str | None

    def still_valid_for(self, current: store.StoredCredentials | None) -> bool:
        """The check counts only if the account did not change while it ran."""
        return (
            self.stored is not None
            and current is not None
            and current.user_id == self.stored.user_id
            and current.password_hash == self.stored.password_hash
            and current.totp_secret_enc == self.stored.totp_secret_enc
        )


def _check(
    sessions: sessionmaker[Session],
    vault: Vault,
    username: str,
    credentials: Credentials,
    now: datetime,
) -> _Checked:
    """The same work whether or not the user exists: one argon2 verify and one TOTP check."""
    with sessions() as session:
        _read_only(session)
        stored = store.credentials(session, username)
    if stored is None:
        _verify_password(_dummy_password_hash(), credentials.password)
        matching_step(_DUMMY_TOTP_SECRET, credentials.totp, now)
        return _Checked(stored=None, password_ok=False, totp_step=None, new_password_hash=None)
    password_ok = _verify_password(stored.password_hash, credentials.password)
    secret: str = vault.decrypt(stored.totp_secret_enc, totp_aad(stored.username))
    step = matching_step(secret, credentials.totp, now)
    rehash = None
    if (
        password_ok
        and step is not None
        and password_hasher.check_needs_rehash(stored.password_hash)
    ):
        rehash = password_hasher.hash(credentials.password)
    return _Checked(
        stored=stored, password_ok=password_ok, totp_step=step, new_password_hash=rehash
    )


def sign_in(
    sessions: sessionmaker[Session],
    *,
    vault: Vault,
    keyring: Keyring,
    clock: Clock,
    token_lifetime: timedelta,
    credentials: Credentials,
    client: str,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> IssuedToken | None:
    """A token for the right username, password and fresh TOTP code; ``None`` otherwise.

    ``None`` says nothing about why: the reason, and any lock it caused, is in
    the audit entry written with the attempt's other effects.
    """
    now = clock.now()
    username = credentials.username.strip().lower()
    checked = _check(sessions, vault, username, credentials, now)
    address_key = _fingerprint(keyring, address_block(client))
    with sessions.begin() as session:
        current = store.credentials(session, username, for_update=True)
        valid = checked.still_valid_for(current)
        verdict = decide(
            Attempt(
                now=now,
                address_locked_until=store.address_locked_until(session, address_key),
                user_exists=current is not None,
                disabled=current is not None and current.disabled,
                account_locked_until=None if current is None else current.locked_until,
                password_ok=valid and checked.password_ok,
                totp_step=checked.totp_step if valid else None,
                last_totp_step=None
                if current is None
                else store.last_totp_step(session, current.user_id),
            )
        )
        if current is not None and verdict.outcome is Outcome.OK and checked.totp_step is not None:
            return _issue(
                session,
                keyring=keyring,
                clock=clock,
                user=current,
                totp_step=checked.totp_step,
                new_password_hash=checked.new_password_hash,
                lifetime=token_lifetime,
                now=now,
                client=client,
            )
        details = _record_failure(
            session, verdict, current, address_key=address_key, now=now, policy=policy
        )
        details["client"] = client
        if current is None:
            details["username_fingerprint"] = _fingerprint(keyring, username)
        record(
            session,
            key=keyring.audit_key,
            clock=clock,
            actor=ANONYMOUS if current is None else _actor(current),
            action="auth.sign_in",
            outcome=verdict.outcome.value,
            details=details,
        )
    return None


def _actor(user: store.StoredCredentials) -> Actor:
    return Actor(name=user.username, role=user.role, organisation=user.organisation)


def _issue(
    session: Session,
    *,
    keyring: Keyring,
    clock: Clock,
    user: store.StoredCredentials,
    totp_step: int,
    new_password_hash: str | None,
    lifetime: timedelta,
    now: datetime,
    client: str,
) -> IssuedToken:
    store.set_account_failures(session, user.user_id, 0, None)
    store.set_last_totp_step(session, user.user_id, totp_step)
    if new_password_hash is not None:
        store.set_password_hash(session, user.user_id, new_password_hash)
    store.purge_tokens_expired_before(session, now - EXPIRED_TOKENS_KEPT)
    token = new_token()
    token_id = uuid.uuid4()
    expires = expires_at(now, lifetime)
    store.insert_token(
        session,
        token_id=token_id,
        token_hash=token_digest(keyring.subkey(HASH_KEY_PURPOSE), token),
        user_id=user.user_id,
        issued_at=now,
        expires_at=expires,
    )
    record(
        session,
        key=keyring.audit_key,
        clock=clock,
        actor=_actor(user),
        action="auth.sign_in",
        details={"client": client, "token_id": str(token_id), "expires_at": _iso(expires)},
    )
    return IssuedToken(
        token=token,
        token_id=token_id,
        expires_at=expires,
        expires_in=int(lifetime.total_seconds()),
    )


def _record_failure(
    session: Session,
    verdict: Verdict,
    user: store.StoredCredentials | None,
    *,
    address_key: str,
    now: datetime,
    policy: LockoutPolicy,
) -> dict[str, object]:
    details: dict[str, object] = {
        "reason": None if verdict.reason is None else verdict.reason.value
    }
    if verdict.counts_against_address:
        failures = store.record_address_failure(
            session, address_key, now, policy.address_window_start(now)
        )
        address_until = policy.address_lock_after(failures, now)
        if address_until is not None:
            store.lock_address(session, address_key, address_until)
            details["address_locked_until"] = _iso(address_until)
    if user is not None and verdict.counts_against_account:
        after = policy.after_account_failure(user.failed_logins, now)
        store.set_account_failures(session, user.user_id, after.failed_logins, after.locked_until)
        details["failed_logins"] = after.failed_logins
        if after.locked_until is not None:
            details["account_locked_until"] = _iso(after.locked_until)
    elif (
        user is not None
        and user.locked_until is not None
        and LockoutPolicy.is_locked(user.locked_until, now)
    ):
        details["account_locked_until"] = _iso(user.locked_until)
    return details


def authorise(
    sessions: sessionmaker[Session],
    *,
    keyring: Keyring,
    clock: Clock,
    token: str,
    roles: frozenset[Role],
    client: str,
    route: str,
) -> Principal | Refusal:
    """The caller a bearer token stands for, checked against the database on every use.

    A token that was ours but is expired or revoked, or whose user is disabled,
    is audited when refused (someone holds it); an unknown token is not, since
    it names nobody. So is a signed-in user reaching for a role they lack.
    """
    if not plausible(token):
        return Refusal.UNAUTHENTICATED
    # Ended by a commit, not a rollback: it wrote nothing either way, and psycopg forgets
    # every statement it has prepared on the connection at each rollback, so a rollback
    # here would have the next request's statements parsed and planned afresh.
    with sessions.begin() as session:
        _read_only(session)
        verdict = _judge(session, keyring, clock, token, roles=roles, client=client, route=route)
    if isinstance(verdict, _Refused) and verdict.audit is not None:
        with sessions.begin() as session:
            _audit_refusal(session, keyring, clock, verdict.audit)
    return verdict.refusal if isinstance(verdict, _Refused) else verdict


def authorise_in(
    session: Session,
    *,
    keyring: Keyring,
    clock: Clock,
    token: str,
    roles: frozenset[Role],
    client: str,
    route: str,
) -> Principal | Refusal:
    """:func:`authorise` inside the caller's transaction, for a request whose work is
    one short transaction (a search): the check and the work share one connection and
    one commit, and a refusal is audited in that transaction, which the caller commits."""
    if not plausible(token):
        return Refusal.UNAUTHENTICATED
    verdict = _judge(session, keyring, clock, token, roles=roles, client=client, route=route)
    if isinstance(verdict, _Refused):
        if verdict.audit is not None:
            _audit_refusal(session, keyring, clock, verdict.audit)
        return verdict.refusal
    return verdict


@dataclass(frozen=True, slots=True)
class _RefusalEntry:
    actor: Actor
    action: str
    details: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Refused:
    refusal: Refusal
    audit: _RefusalEntry | None
    """What to audit; None for a token that names nobody."""


def _judge(
    session: Session,
    keyring: Keyring,
    clock: Clock,
    token: str,
    *,
    roles: frozenset[Role],
    client: str,
    route: str,
) -> Principal | _Refused:
    """Who holds the token and whether they may come in; what to audit if not."""
    holder = store.token_holder(session, token_digest(keyring.subkey(HASH_KEY_PURPOSE), token))
    now = clock.now()
    if holder is None:
        return _Refused(Refusal.UNAUTHENTICATED, None)
    actor = Actor(name=holder.username, role=holder.role, organisation=holder.organisation)
    details: dict[str, object] = {
        "client": client,
        "route": route,
        "token_id": str(holder.token_id),
    }
    if holder.disabled or not is_current(holder.expires_at, holder.revoked_at, now):
        details["reason"] = (
            "disabled" if holder.disabled else "revoked" if holder.revoked_at else "expired"
        )
        return _Refused(
            Refusal.UNAUTHENTICATED, _RefusalEntry(actor, "auth.token_refused", details)
        )
    role = Role(holder.role)
    if role not in roles:
        return _Refused(Refusal.FORBIDDEN, _RefusalEntry(actor, "auth.role_refused", details))
    return Principal(
        user_id=holder.user_id,
        username=holder.username,
        role=role,
        organisation=holder.organisation,
        area=holder.area,
        token_id=holder.token_id,
    )


def _audit_refusal(session: Session, keyring: Keyring, clock: Clock, entry: _RefusalEntry) -> None:
    record(
        session,
        key=keyring.audit_key,
        clock=clock,
        actor=entry.actor,
        action=entry.action,
        outcome="refused",
        details=entry.details,
    )


def revoke(
    session: Session, *, audit_key: bytes, clock: Clock, principal: Principal, client: str
) -> None:
    """End the caller's own token now (signing out)."""
    now = clock.now()
    revoked = store.revoke_token(session, principal.token_id, now)
    record(
        session,
        key=audit_key,
        clock=clock,
        actor=principal.actor(),
        action="auth.revoke",
        details={"client": client, "token_id": str(principal.token_id), "revoked": revoked},
    )


def disable_user(
    session: Session,
    *,
    keyring: Keyring,
    clock: Clock,
    actor: Actor,
    username: str,
    within_area: str | None,
    unrestricted: bool,
    client: str | None = None,
) -> DisableResult:
    """Disable an account and revoke its tokens, so it stops working on the next request.

    ``within_area`` is the administrator's area; ``unrestricted`` is for an
    operator at the command line, who answers for every area. Refusals are
    audited too, so the caller commits whatever the outcome.
    """
    now = clock.now()
    target = store.credentials(session, username.strip().lower(), for_update=True)
    details: dict[str, object] = {}
    if client is not None:
        details["client"] = client
    if target is None:
        result = DisableResult(DisableOutcome.UNKNOWN_USER)
        details["username_fingerprint"] = _fingerprint(keyring, username)
    elif not unrestricted and not may_disable(within_area, target.area):
        result = DisableResult(DisableOutcome.OUTSIDE_AREA)
        details.update(username=target.username, user_area=target.area, within_area=within_area)
    else:
        store.set_disabled(session, target.user_id)
        result = DisableResult(
            DisableOutcome.DISABLED, store.revoke_user_tokens(session, target.user_id, now)
        )
        details.update(
            username=target.username,
            was_disabled=target.disabled,
            tokens_revoked=result.tokens_revoked,
        )
    record(
        session,
        key=keyring.audit_key,
        clock=clock,
        actor=actor,
        action="user.disable",
        outcome="ok" if result.outcome is DisableOutcome.DISABLED else "refused",
        details=details,
    )
    return result
