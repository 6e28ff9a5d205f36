"""Account and address lockout rules, with the time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contactpoint.auth.lockout import DEFAULT_POLICY, LockoutPolicy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_the_sixth_failure_locks_the_account_for_thirty_minutes() -> None:
    failures = 0
    for _ in range(5):
        after = DEFAULT_POLICY.after_account_failure(failures, NOW)
        assert after.locked_until is None
        failures = after.failed_logins
    assert failures == 5

    sixth = DEFAULT_POLICY.after_account_failure(failures, NOW)

    assert sixth.locked_until == NOW + timedelta(minutes=30)
    assert sixth.failed_logins == 0, "the count starts afresh once the lock lifts"


def test_a_lock_holds_until_its_last_instant_and_not_after() -> None:
    until = NOW + timedelta(minutes=30)
    assert LockoutPolicy.is_locked(until, NOW)
    assert LockoutPolicy.is_locked(until, until - timedelta(microseconds=1))
    assert not LockoutPolicy.is_locked(until, until)
    assert not LockoutPolicy.is_locked(None, NOW)


def test_twenty_failures_in_the_window_lock_the_address() -> None:
    assert DEFAULT_POLICY.address_lock_after(19, NOW) is None
    assert DEFAULT_POLICY.address_lock_after(20, NOW) == NOW + timedelta(minutes=30)
    assert DEFAULT_POLICY.address_window_start(NOW) == NOW - timedelta(minutes=15)


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LockoutPolicy(account_failures=0)
    with pytest.raises(ValueError, match="positive"):
        LockoutPolicy(address_window=timedelta(0))


def test_a_smaller_policy_is_honoured() -> None:
    policy = LockoutPolicy(account_failures=2, account_lock=timedelta(minutes=1))
    first = policy.after_account_failure(0, NOW)
    assert first.locked_until is None
    assert policy.after_account_failure(first.failed_logins, NOW).locked_until == NOW + timedelta(
        minutes=1
    )
