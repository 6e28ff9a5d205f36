"""``contactpoint users disable``: the operator's way to stop an account at once."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Installation

PASSWORD = "correct horse battery staple"


@pytest.fixture
def ready(sqlite_initialised: Installation) -> Installation:
    sqlite_initialised.ok(
        "users",
        "add",
        "--username",
        "amelia.patel",
        "--role",
        "practitioner",
        "--organisation",
        "Leeds Park Primary School",
        stdin=f"{PASSWORD}\n",
    )
    return sqlite_initialised


def test_disable_marks_the_user_disabled_and_is_audited(ready: Installation) -> None:
    result = ready.ok("users", "disable", "amelia.patel")

    assert "Disabled 'amelia.patel'" in result.stdout
    assert ready.query("SELECT disabled FROM users WHERE username = 'amelia.patel'") == [(1,)]
    [(actor, outcome, details)] = ready.query(
        "SELECT actor, outcome, details FROM audit_log WHERE action = 'user.disable'"
    )
    assert actor.startswith("cli:")
    assert outcome == "ok"
    assert json.loads(details)["username"] == "amelia.patel"
    assert ready.ok("audit", "verify").returncode == 0


def test_an_unknown_user_is_an_error_that_says_so(ready: Installation) -> None:
    result = ready.run("users", "disable", "no.such.person")

    assert result.returncode == 2
    assert "no user called 'no.such.person'" in result.stderr
    assert ready.query("SELECT outcome FROM audit_log WHERE action = 'user.disable'") == [
        ("refused",)
    ]
