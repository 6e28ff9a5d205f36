"""The pages' three cookies: the session, the sign-in in progress, and the CSRF secret.

- **Session**: the same opaque, short-lived token the JSON API issues
  (:func:`contactpoint.services.sign_in.sign_in`), so the pages share the
  API's lockout, audit, revocation and timeout, and the database holds only
  its keyed hash.
- **Sign-in in progress**: the password page asks for nothing to be checked;
  the username and password are sealed with AES-GCM under a key only the
  server holds and checked together with the TOTP code on the next page. That
  way the answer never says which factor was wrong, and the password is never
  stored on the server. The seal lasts five minutes.
- **CSRF**: a random secret in a cookie; each form carries an HMAC of it and
  the session, which another site can neither read nor compute (the signed
  double-submit pattern). Cookies are also ``SameSite=Strict``.

All three are ``HttpOnly``, ``SameSite=Strict`` and, unless turned off for a
plain-HTTP test host, ``Secure`` with the ``__Host-`` prefix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request, Response

from contactpoint.runtime import Runtime

SESSION: Final = "contactpoint-session"
PENDING: Final = "contactpoint-sign-in"
CSRF: Final = "contactpoint-csrf"
PENDING_LIFETIME: Final = timedelta(minutes=5)
PENDING_KEY_PURPOSE: Final = "contactpoint page sign-in seal v1"
CSRF_KEY_PURPOSE: Final = "contactpoint page csrf v1"
_PENDING_AAD: Final = b"contactpoint sign-in in progress"


def _runtime(request: Request) -> Runtime:
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("The app has no runtime: build it with contactpoint.web.app.create_app.")
    return runtime


def cookie_name(request: Request, base: str) -> str:
    return f"__Host-{base}" if _runtime(request).settings.cookie_secure else base


def _set(request: Request, response: Response, base: str, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=_runtime(request).settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def _clear(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=_runtime(request).settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION)) or None


def start_session(request: Request, response: Response, token: str, lifetime: timedelta) -> None:
    _set(request, response, SESSION, token, int(lifetime.total_seconds()))
    _clear(request, response, PENDING)


def end_session(request: Request, response: Response) -> None:
    _clear(request, response, SESSION)
    _clear(request, response, PENDING)


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    username: str
    password: str


def seal_pending(
    request: Request, response: Response, pending: PendingSignIn, now: datetime
) -> None:
    runtime = _runtime(request)
    key = runtime.keyring.subkey(PENDING_KEY_PURPOSE)
    nonce = secrets.token_bytes(12)
    plain = json.dumps(
        {
            "u": pending.username,
            "p": pending.password,
            "exp": (now + PENDING_LIFETIME).timestamp(),
        }
    ).encode()
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, _PENDING_AAD)
    value = base64.urlsafe_b64encode(sealed).decode().rstrip("=")
    _set(request, response, PENDING, value, int(PENDING_LIFETIME.total_seconds()))


def open_pending(request: Request, now: datetime) -> PendingSignIn | None:
    """The sign-in in progress, or ``None`` if there is none, it was tampered with or it
    has expired."""
    value = request.cookies.get(cookie_name(request, PENDING))
    if not value or len(value) > 4096:
        return None
    try:
        sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        key = _runtime(request).keyring.subkey(PENDING_KEY_PURPOSE)
        data = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], _PENDING_AAD))
    except (ValueError, InvalidTag):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), float):
        return None
    if data["exp"] < now.timestamp():
        return None
    username, password = data.get("u"), data.get("p")
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    return PendingSignIn(username=username, password=password)


@dataclass(frozen=True, slots=True)
class Csrf:
    secret: str
    token: str
    fresh: bool


def _csrf_token(request: Request, secret: str) -> str:
    key = _runtime(request).keyring.subkey(CSRF_KEY_PURPOSE)
    bound = f"{secret}|{session_token(request) or ''}".encode()
    return hmac.new(key, bound, hashlib.sha256).hexdigest()


def csrf_for(request: Request) -> Csrf:
    """The token this page's forms carry; a new secret if the browser has none yet."""
    secret = request.cookies.get(cookie_name(request, CSRF))
    if secret and len(secret) <= 128:
        return Csrf(secret=secret, token=_csrf_token(request, secret), fresh=False)
    secret = secrets.token_urlsafe(32)
    return Csrf(secret=secret, token=_csrf_token(request, secret), fresh=True)


def keep_csrf_cookie(request: Request, response: Response, csrf: Csrf) -> None:
    if csrf.fresh:
        _set(request, response, CSRF, csrf.secret, 12 * 60 * 60)


def csrf_valid(request: Request, submitted: object) -> bool:
    secret = request.cookies.get(cookie_name(request, CSRF))
    if not secret or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(_csrf_token(request, secret), submitted)
