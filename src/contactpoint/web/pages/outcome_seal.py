"""Carrying a POST's outcome to the page its redirect lands on, once.

Post/redirect/get needs the next page to know what happened: a new child's
ContactPoint ID, or a new user's password and TOTP secret, shown once. None of
that may go in a URL, and the server keeps no copy of a secret. So the outcome
travels in a cookie sealed with AES-GCM under a key only the server holds
(as the sign-in in progress does, :mod:`contactpoint.web.pages.cookies`),
bound to the browser's session and to the page that shows it, lasting five
minutes, and cleared by the page that opens it: reloading that page, or
opening it in another session, shows nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request, Response

from contactpoint.web.dependencies import runtime_of
from contactpoint.web.pages import cookies

OUTCOME: Final = "contactpoint-outcome"
LIFETIME: Final = timedelta(minutes=5)
KEY_PURPOSE: Final = "contactpoint page outcome seal v1"
MAX_COOKIE: Final = 3072


def _aad(request: Request, kind: str) -> bytes:
    session = cookies.session_token(request) or ""
    bound = hashlib.sha256(session.encode()).hexdigest()
    return f"contactpoint outcome|{kind}|{bound}".encode()


def seal(
    request: Request, response: Response, kind: str, data: dict[str, str], now: datetime
) -> None:
    """Put ``data`` where the page for ``kind`` (and only it) can read it, once."""
    runtime = runtime_of(request)
    nonce = secrets.token_bytes(12)
    plain = json.dumps({"d": data, "exp": (now + LIFETIME).timestamp()}).encode()
    sealed = nonce + AESGCM(runtime.keyring.subkey(KEY_PURPOSE)).encrypt(
        nonce, plain, _aad(request, kind)
    )
    response.set_cookie(
        cookies.cookie_name(request, OUTCOME),
        base64.urlsafe_b64encode(sealed).decode().rstrip("="),
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        secure=runtime.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def opened(request: Request, kind: str, now: datetime) -> dict[str, str] | None:
    """The sealed outcome for ``kind``, or ``None`` if there is none, it is another page's
    or another session's, it was tampered with, or it has expired."""
    value = request.cookies.get(cookies.cookie_name(request, OUTCOME))
    if not value or len(value) > MAX_COOKIE:
        return None
    try:
        sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        key = runtime_of(request).keyring.subkey(KEY_PURPOSE)
        data = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], _aad(request, kind)))
    except (ValueError, InvalidTag):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), float):
        return None
    if data["exp"] < now.timestamp():
        return None
    found = data.get("d")
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        return None
    return found


def clear(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookies.cookie_name(request, OUTCOME),
        path="/",
        secure=runtime_of(request).settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
