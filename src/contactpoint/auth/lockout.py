"""When repeated failures lock an account or a client address, and for how long.

Two locks, because they stop different attacks: the account lock stops
guessing one user's password from many places; the address lock stops one
place spraying guesses across many usernames, which an account lock alone never
sees (each account gets only a few tries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class AccountFailures:
    """An account's failure count and lock after one more failure."""

    failed_logins: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Defaults follow Primero's (6 failures, 30 minutes) for accounts.

    The address limit is higher than the account limit because one office's
    shared address carries many honest users' typing mistakes.
    """

    account_failures: int = 6
    account_lock: timedelta = timedelta(minutes=30)
    address_failures: int = 20
    address_window: timedelta = timedelta(minutes=15)
    address_lock: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        if min(self.account_failures, self.address_failures) < 1:
            raise ValueError("failure limits must be at least 1")
        if min(self.account_lock, self.address_window, self.address_lock) <= timedelta(0):
            raise ValueError("lock and window lengths must be positive")

    @staticmethod
    def is_locked(locked_until: datetime | None, now: datetime) -> bool:
        return locked_until is not None and now < locked_until

    def after_account_failure(self, failed_logins: int, now: datetime) -> AccountFailures:
        """Count one more failure; the one that reaches the limit locks and starts afresh.

        Starting the count again means the account gets the full number of tries
        once the lock lifts, instead of being re-locked by its first typing slip.
        """
        failures = failed_logins + 1
        if failures >= self.account_failures:
            return AccountFailures(failed_logins=0, locked_until=now + self.account_lock)
        return AccountFailures(failed_logins=failures, locked_until=None)

    def address_window_start(self, now: datetime) -> datetime:
        return now - self.address_window

    def address_lock_after(self, failures_in_window: int, now: datetime) -> datetime | None:
        """The address's lock expiry if this many failures in the window call for one."""
        if failures_in_window >= self.address_failures:
            return now + self.address_lock
        return None


DEFAULT_POLICY = LockoutPolicy()
