"""Bearer tokens in use: expiry, revocation, disabled users, roles."""

from __future__ import annotations

from datetime import timedelta

from contactpoint.domain.vocabulary import Role
from tests.web.conftest import REVOKE, WHOAMI, Api


def test_no_token_bad_token_and_wrong_scheme_are_401_with_a_bearer_challenge(api: Api) -> None:
    answers = {
        "none": api.get(WHOAMI, None),
        "unknown": api.get(WHOAMI, "A" * 43),
        "absurd": api.get(WHOAMI, "x" * 5000),
        "basic": api.client().get(WHOAMI, headers={"Authorization": "Basic YTpi"}),
    }

    for name, answer in answers.items():
        assert answer.status_code == 401, name
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), name
    assert answers["unknown"].json() == answers["none"].json()
    assert api.audit() == [], "a token naming nobody is not worth an audit entry"


def test_a_token_expires_after_fifteen_minutes(api: Api) -> None:
    token = api.token(api.add("amelia.patel"))

    api.clock.advance(timedelta(minutes=14, seconds=59))
    assert api.get(WHOAMI, token).status_code == 200
    api.clock.advance(timedelta(seconds=1))
    expired = api.get(WHOAMI, token)

    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    [refusal] = api.audit("auth.token_refused")
    assert refusal["actor"] == "amelia.patel"
    assert refusal["outcome"] == "refused"
    assert refusal["details"]["reason"] == "expired"
    assert refusal["details"]["route"] == f"GET {WHOAMI}"


def test_revoking_ends_the_token_at_once(api: Api) -> None:
    amelia = api.add("amelia.patel")
    token = api.token(amelia)
    api.next_step()
    other = api.token(amelia)

    assert api.post(REVOKE, token).status_code == 204

    assert api.get(WHOAMI, token).status_code == 401
    assert api.post(REVOKE, token).status_code == 401
    assert api.get(WHOAMI, other).status_code == 200, "only the token presented is revoked"
    [revoked] = api.audit("auth.revoke")
    assert revoked["actor"] == "amelia.patel"
    assert revoked["details"]["revoked"] is True
    refusals = api.audit("auth.token_refused")
    assert [r["details"]["reason"] for r in refusals] == ["revoked", "revoked"]
    api.assert_audit_chain_intact()


def test_a_wrong_role_is_403_and_audited(api: Api) -> None:
    auditor = api.token(api.add("alex.auditor", Role.AUDITOR))

    refused = api.get(WHOAMI, auditor)

    assert refused.status_code == 403
    assert "role" in refused.json()["detail"]
    [entry] = api.audit("auth.role_refused")
    assert (entry["actor"], entry["role"]) == ("alex.auditor", "auditor")
    assert entry["details"]["route"] == f"GET {WHOAMI}"


def test_every_role_may_sign_out(api: Api) -> None:
    for n, role in enumerate(Role):
        token = api.token(api.add(f"user.{n}", role))
        assert api.post(REVOKE, token).status_code == 204, role


def test_the_principal_reflects_the_account_as_it_is_now(api: Api) -> None:
    token = api.token(api.add("em.nurse", Role.EMERGENCY))

    me = api.get(WHOAMI, token).json()

    assert me["role"] == "emergency"
    assert me["organisation"] == "Leeds Park Primary School"
    assert me["area"] is None
