"""Bearer tokens: random, stored only as keyed hashes, short-lived."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from contactpoint.auth.tokens import expires_at, is_current, new_token, plausible, token_digest

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_tokens_are_long_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 43  # 32 bytes of entropy in base64url
        assert plausible(token)
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_digest_is_keyed() -> None:
    token = new_token()
    key, other = secrets.token_bytes(32), secrets.token_bytes(32)
    assert token_digest(key, token) == token_digest(key, token)
    assert token_digest(key, token) != token_digest(other, token)
    assert len(token_digest(key, token)) == 32
    assert token.encode() not in token_digest(key, token)


@pytest.mark.parametrize("token", ["", "x" * 129, "tøken", "a\x00b", "two words\n"])
def test_implausible_tokens_are_refused_before_any_work(token: str) -> None:
    assert not plausible(token)


def test_a_token_is_current_until_it_expires_or_is_revoked() -> None:
    expires = expires_at(NOW, timedelta(minutes=15))
    assert expires == NOW + timedelta(minutes=15)
    assert is_current(expires, None, NOW)
    assert is_current(expires, None, expires - timedelta(microseconds=1))
    assert not is_current(expires, None, expires)
    assert not is_current(expires, NOW, NOW)


def test_a_lifetime_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        expires_at(NOW, timedelta(0))
