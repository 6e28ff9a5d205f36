"""An area administrator's accounts: generated passwords and the second factor's reset."""

from __future__ import annotations

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.auth.totp import matching_step
from contactpoint.clock import FixedClock
from contactpoint.domain.vocabulary import Role
from contactpoint.services.accounts import (
    UNAMBIGUOUS_CHARACTERS,
    ResetOutcome,
    generate_password,
    reset_totp,
)
from contactpoint.services.users import add_user, totp_aad
from contactpoint.store.tables import AuditEntry, TotpLastStep, User
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring


def test_generated_passwords_are_long_typable_and_fresh() -> None:
    made = {generate_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        groups = password.split("-")
        assert [len(g) for g in groups] == [5, 5, 5, 5]
        assert set("".join(groups)) <= set(UNAMBIGUOUS_CHARACTERS)


def _add(sessions: sessionmaker[Session], vault: Vault, clock: FixedClock, actor: Actor) -> None:
    vault.prepare()
    with sessions.begin() as session:
        add_user(
            session,
            vault=vault,
            clock=clock,
            audit_key=b"k" * 32,
            actor=actor,
            username="bristol.nurse",
            password="correct horse battery staple",
            role=Role.PRACTITIONER,
            organisation="Bristol Royal Infirmary",
            area="Bristol",
        )


def test_an_operator_resets_any_area_and_the_new_secret_is_encrypted_and_fresh(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> None:
    _add(sessions, vault, clock, actor)
    with sessions.begin() as session:
        user_id = session.execute(
            select(User.id).where(User.username == "bristol.nurse")
        ).scalar_one()
        session.add(TotpLastStep(user_id=user_id, step=10**9))
    with sessions.begin() as session:
        refused = reset_totp(
            session,
            vault=vault,
            keyring=keyring,
            clock=clock,
            actor=actor,
            username="bristol.nurse",
            within_area="Leeds",
        )
        assert refused.outcome is ResetOutcome.OUTSIDE_AREA
        assert refused.totp_secret is None
        result = reset_totp(
            session,
            vault=vault,
            keyring=keyring,
            clock=clock,
            actor=actor,
            username="Bristol.Nurse ",
            within_area=None,
            unrestricted=True,
        )
    assert result.outcome is ResetOutcome.RESET
    assert result.totp_secret is not None
    with sessions() as session:
        stored = session.execute(select(User).where(User.username == "bristol.nurse")).scalar_one()
        assert vault.decrypt(stored.totp_secret_enc, totp_aad("bristol.nurse")) == (
            result.totp_secret
        )
        assert session.get(TotpLastStep, stored.id) is None, "the old last step is forgotten"
        entries = session.execute(
            select(AuditEntry.outcome).where(AuditEntry.action == "user.reset_totp")
        ).all()
    assert [e.outcome for e in entries] == ["refused", "ok"]
    code = pyotp.TOTP(result.totp_secret).at(clock.now())
    assert matching_step(result.totp_secret, code, clock.now()) is not None


def test_an_unknown_user_is_audited_by_fingerprint_only(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> None:
    with sessions.begin() as session:
        result = reset_totp(
            session,
            vault=vault,
            keyring=keyring,
            clock=clock,
            actor=actor,
            username="someone.else",
            within_area="Leeds",
        )
    assert result.outcome is ResetOutcome.UNKNOWN_USER
    with sessions() as session:
        details = session.execute(
            select(AuditEntry.details).where(AuditEntry.action == "user.reset_totp")
        ).scalar_one()
    assert "someone.else" not in details
    assert "username_fingerprint" in details
