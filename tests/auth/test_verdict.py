"""The sign-in verdict: which lock or factor decides, and what each failure counts against."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contactpoint.auth.verdict import Attempt, Outcome, Reason, Verdict, decide

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
EARLIER = NOW - timedelta(minutes=10)
GOOD = Attempt(
    now=NOW,
    address_locked_until=None,
    user_exists=True,
    disabled=False,
    account_locked_until=None,
    password_ok=True,
    totp_step=101,
    last_totp_step=100,
)


def test_everything_right_signs_in() -> None:
    assert decide(GOOD) == Verdict(Outcome.OK)
    assert decide(replace(GOOD, last_totp_step=None)) == Verdict(Outcome.OK)


@pytest.mark.parametrize(
    ("change", "verdict"),
    [
        ({"address_locked_until": LATER}, Verdict(Outcome.LOCKED, Reason.ADDRESS_LOCKED)),
        ({"user_exists": False}, Verdict(Outcome.FAILED, Reason.UNKNOWN_USER)),
        ({"disabled": True}, Verdict(Outcome.FAILED, Reason.DISABLED)),
        ({"account_locked_until": LATER}, Verdict(Outcome.LOCKED, Reason.ACCOUNT_LOCKED)),
        ({"password_ok": False}, Verdict(Outcome.FAILED, Reason.PASSWORD)),
        ({"totp_step": None}, Verdict(Outcome.FAILED, Reason.TOTP)),
        ({"totp_step": 100}, Verdict(Outcome.FAILED, Reason.TOTP_REPLAY)),
        ({"totp_step": 99}, Verdict(Outcome.FAILED, Reason.TOTP_REPLAY)),
    ],
)
def test_each_fault_alone_refuses(change: dict[str, object], verdict: Verdict) -> None:
    assert decide(replace(GOOD, **change)) == verdict  # type: ignore[arg-type]


def test_expired_locks_do_not_refuse() -> None:
    attempt = replace(GOOD, address_locked_until=EARLIER, account_locked_until=NOW)
    assert decide(attempt) == Verdict(Outcome.OK)


def test_locks_come_before_credentials_so_a_locked_account_learns_nothing() -> None:
    locked = replace(GOOD, account_locked_until=LATER)
    assert decide(replace(locked, password_ok=False)) == decide(locked)
    assert decide(replace(locked, totp_step=None)) == decide(locked)
    address = replace(GOOD, address_locked_until=LATER, user_exists=False)
    assert decide(address).reason is Reason.ADDRESS_LOCKED


def test_what_each_failure_counts_against() -> None:
    for reason in (Reason.PASSWORD, Reason.TOTP, Reason.TOTP_REPLAY):
        verdict = Verdict(Outcome.FAILED, reason)
        assert verdict.counts_against_account
        assert verdict.counts_against_address
    for reason in (Reason.UNKNOWN_USER, Reason.DISABLED):
        verdict = Verdict(Outcome.FAILED, reason)
        assert not verdict.counts_against_account
        assert verdict.counts_against_address
    account_locked = Verdict(Outcome.LOCKED, Reason.ACCOUNT_LOCKED)
    assert not account_locked.counts_against_account
    assert account_locked.counts_against_address
    address_locked = Verdict(Outcome.LOCKED, Reason.ADDRESS_LOCKED)
    assert not address_locked.counts_against_account
    assert not address_locked.counts_against_address
    assert not Verdict(Outcome.OK).counts_against_address
