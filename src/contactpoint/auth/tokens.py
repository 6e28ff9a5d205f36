"""Bearer tokens: opaque random strings, kept in the database only as keyed hashes.

Opaque rather than signed (JWT) so that revoking one, or disabling its user,
takes effect on the very next request: every use is checked against the
database. Only an HMAC of the token is stored, so a copy of the database does
not yield usable tokens, and the key lives outside the database.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from hashlib import sha256

HASH_KEY_PURPOSE = "contactpoint api token v1"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128
"""Longer than any token issued; longer presented tokens are refused unhashed."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(key: bytes, token: str) -> bytes:
    return hmac.new(key, token.encode("utf-8"), sha256).digest()


def plausible(token: str) -> bool:
    """Cheap shape check before any work: non-empty, bounded and URL-safe base64."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable()


def expires_at(issued_at: datetime, lifetime: timedelta) -> datetime:
    if lifetime <= timedelta(0):
        raise ValueError("a token's lifetime must be positive")
    return issued_at + lifetime


def is_current(expires: datetime, revoked_at: datetime | None, now: datetime) -> bool:
    return revoked_at is None and now < expires
