"""Checking a TOTP code against the steps either side of now, and refusing replays.

RFC 6238 §5.2: a verifier must not accept a code a second time. Remembering
the last step a user signed in with, and accepting only later steps, refuses
the same code again and any older code still inside the drift window.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

DRIFT_STEPS = 1
"""One 30-second step either side of now, for clocks and typing that lag a little."""


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step ``code`` belongs to, within the drift window, or ``None``.

    Every candidate is compared in full with a constant-time compare, so the
    time taken does not say which step (if any) was close.
    """
    totp = pyotp.TOTP(secret)
    now_step: int = totp.timecode(at)
    candidate = code.strip().encode("utf-8")
    matched: int | None = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        expected: str = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode("ascii"), candidate):
            matched = step
    return matched


def is_fresh(step: int, last_used: int | None) -> bool:
    """A step may be used once, and never after a later one."""
    return last_used is None or step > last_used
