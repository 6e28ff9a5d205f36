"""The outcome of one sign-in attempt, decided from facts gathered beforehand.

All the facts (does the user exist, is the password right, which TOTP step
matched, what locks apply) are gathered first, whatever they turn out to be,
and only then decided here. The caller therefore does the same work for every
attempt and the caller of the API learns only "yes" or "no"; the reason is for
the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contactpoint.auth.lockout import LockoutPolicy
from contactpoint.auth.totp import is_fresh


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"


class Reason(StrEnum):
    """Why an attempt failed: recorded in the audit log, never told to the caller."""

    ADDRESS_LOCKED = "address_locked"
    UNKNOWN_USER = "unknown_user"
    DISABLED = "disabled"
    ACCOUNT_LOCKED = "account_locked"
    PASSWORD = "password"  # noqa: S105 (a reason's name, not a password)
    TOTP = "totp"
    TOTP_REPLAY = "totp_replay"


@dataclass(frozen=True, slots=True)
class Attempt:
    now: datetime
    address_locked_until: datetime | None
    user_exists: bool
    disabled: bool
    account_locked_until: datetime | None
    password_ok: bool
    totp_step: int | None
    last_totp_step: int | None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: Reason | None = None

    @property
    def counts_against_account(self) -> bool:
        """Guesses at a live account's factors count toward locking it."""
        return self.reason in {Reason.PASSWORD, Reason.TOTP, Reason.TOTP_REPLAY}

    @property
    def counts_against_address(self) -> bool:
        """Every failure counts toward the address, except while it is locked already.

        Not counting during the lock keeps the table of failures bounded under
        a flood, and lets the lock lift when it says it will.
        """
        return self.outcome is not Outcome.OK and self.reason is not Reason.ADDRESS_LOCKED


def decide(attempt: Attempt) -> Verdict:
    if LockoutPolicy.is_locked(attempt.address_locked_until, attempt.now):
        return Verdict(Outcome.LOCKED, Reason.ADDRESS_LOCKED)
    if not attempt.user_exists:
        return Verdict(Outcome.FAILED, Reason.UNKNOWN_USER)
    if attempt.disabled:
        return Verdict(Outcome.FAILED, Reason.DISABLED)
    if LockoutPolicy.is_locked(attempt.account_locked_until, attempt.now):
        return Verdict(Outcome.LOCKED, Reason.ACCOUNT_LOCKED)
    if not attempt.password_ok:
        return Verdict(Outcome.FAILED, Reason.PASSWORD)
    if attempt.totp_step is None:
        return Verdict(Outcome.FAILED, Reason.TOTP)
    if not is_fresh(attempt.totp_step, attempt.last_totp_step):
        return Verdict(Outcome.FAILED, Reason.TOTP_REPLAY)
    return Verdict(Outcome.OK)
