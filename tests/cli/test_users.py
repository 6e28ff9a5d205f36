"""``contactpoint users add``: password from standard input, TOTP secret as a URI."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest

from tests.cli.conftest import Installation

PASSWORD = "correct horse battery staple"


def add(
    install: Installation,
    username: str,
    password: str = PASSWORD,
    role: str = "practitioner",
    *extra: str,
) -> tuple[int, str, str]:
    result = install.run(
        "users",
        "add",
        "--username",
        username,
        "--role",
        role,
        "--organisation",
        "Leeds Park Primary School",
        *extra,
        stdin=f"{password}\n",
    )
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def ready(sqlite_initialised: Installation) -> Installation:
    return sqlite_initialised


def test_add_reads_password_from_stdin_and_prints_otpauth_uri(ready: Installation) -> None:
    status, stdout, stderr = add(ready, "amelia.patel")

    assert status == 0, stderr
    uris = [w for w in stdout.split() if w.startswith("otpauth://")]
    assert len(uris) == 1, stdout
    uri = urlparse(uris[0])
    assert uri.netloc == "totp"
    assert unquote(uri.path).endswith("amelia.patel")
    query = parse_qs(uri.query)
    assert query["issuer"] == ["ContactPoint"]
    secret = query["secret"][0]
    assert len(secret) >= 16
    assert pyotp.TOTP(secret).now().isdigit()
    assert PASSWORD not in stdout + stderr

    # Neither the password nor the TOTP secret is in the database file in clear.
    data = b"".join(p.read_bytes() for p in ready.home.glob("contactpoint.db*"))
    assert b"amelia.patel" in data
    assert PASSWORD.encode() not in data
    assert secret.encode() not in data


@pytest.mark.parametrize("password", ["", "elevenchars"])
def test_short_password_is_refused(ready: Installation, password: str) -> None:
    status, stdout, stderr = add(ready, "amelia.patel", password)

    assert status != 0
    assert "at least 12 characters" in stderr
    assert "otpauth://" not in stdout
    # Nothing was stored: the same username can be created afterwards.
    assert add(ready, "amelia.patel")[0] == 0


@pytest.mark.parametrize(
    "username", ["ab", "Amelia.Patel", "amelia patel", "amelia;drop", "a" * 65]
)
def test_bad_username_is_refused(ready: Installation, username: str) -> None:
    status, stdout, stderr = add(ready, username)

    assert status != 0
    assert "username" in stderr.lower()
    assert "otpauth://" not in stdout


def test_duplicate_username_is_refused(ready: Installation) -> None:
    assert add(ready, "amelia.patel")[0] == 0

    status, stdout, stderr = add(ready, "amelia.patel", "another long password", "auditor")

    assert status != 0
    assert "already a user called 'amelia.patel'" in stderr
    assert "otpauth://" not in stdout
    assert ready.ok("audit", "verify").returncode == 0


def test_unknown_role_and_admin_without_area_are_refused(ready: Installation) -> None:
    status, _, stderr = add(ready, "amelia.patel", PASSWORD, "superuser")
    assert status != 0
    assert "superuser" in stderr

    status, _, stderr = add(ready, "amelia.patel", PASSWORD, "la_admin")
    assert status != 0
    assert "--area" in stderr

    assert add(ready, "amelia.patel", PASSWORD, "la_admin", "--area", "Leeds")[0] == 0
