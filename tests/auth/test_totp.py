"""TOTP codes: one step either side of now is accepted, each step once only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from contactpoint.auth.totp import is_fresh, matching_step

SECRET = pyotp.random_base32()
NOW = datetime(2026, 11, 24, 12, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)


def code_at(at: datetime) -> str:
    return str(pyotp.TOTP(SECRET).at(at))


def test_the_current_code_matches_the_current_step() -> None:
    assert matching_step(SECRET, code_at(NOW), NOW) == pyotp.TOTP(SECRET).timecode(NOW)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_one_step_of_drift_either_way_is_allowed(offset: int) -> None:
    step = matching_step(SECRET, code_at(NOW + offset * STEP), NOW)
    assert step == pyotp.TOTP(SECRET).timecode(NOW) + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_away_do_not_match(offset: int) -> None:
    code = code_at(NOW + offset * STEP)
    near = {code_at(NOW + k * STEP) for k in (-1, 0, 1)}
    if code in near:  # a chance collision of six digits
        pytest.skip("code collides with a nearby step")
    assert matching_step(SECRET, code, NOW) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６", "' OR 1=1"])
def test_malformed_codes_do_not_match(code: str) -> None:
    assert matching_step(SECRET, code, NOW) is None


def test_surrounding_spaces_are_forgiven() -> None:
    assert matching_step(SECRET, f" {code_at(NOW)} ", NOW) is not None


def test_a_step_may_be_used_once_and_never_after_a_later_one() -> None:
    assert is_fresh(100, None)
    assert is_fresh(101, 100)
    assert not is_fresh(100, 100)
    assert not is_fresh(99, 100)
