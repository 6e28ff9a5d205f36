"""POST /api/v1/users/{username}/disable: only an la_admin, within their area; at once."""

from __future__ import annotations

import pytest

from contactpoint.domain.vocabulary import Role
from contactpoint.services.sign_in import DisableOutcome, disable_user
from tests.web.conftest import WHOAMI, Api

DISABLE = "/api/v1/users/{}/disable"


def test_disabling_stops_the_users_tokens_at_once(api: Api) -> None:
    amelia = api.add("amelia.patel")
    first = api.token(amelia)
    api.next_step()
    second = api.token(amelia)
    admin = api.token(api.add("leeds.admin", Role.LA_ADMIN, area="Leeds"))
    assert api.get(WHOAMI, first).status_code == 200

    answer = api.post(DISABLE.format("amelia.patel"), admin)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"username": "amelia.patel", "disabled": True, "tokens_revoked": 2}
    assert api.get(WHOAMI, first).status_code == 401
    assert api.get(WHOAMI, second).status_code == 401
    [entry] = api.audit("user.disable")
    assert (entry["actor"], entry["role"], entry["outcome"]) == ("leeds.admin", "la_admin", "ok")
    assert entry["details"]["username"] == "amelia.patel"
    assert entry["details"]["tokens_revoked"] == 2
    assert [r["details"]["reason"] for r in api.audit("auth.token_refused")] == ["disabled"] * 2
    api.assert_audit_chain_intact()


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.EMERGENCY, Role.AUDITOR, Role.FEED])
def test_only_an_la_admin_may_disable(api: Api, role: Role) -> None:
    api.add("amelia.patel")
    caller = api.token(api.add("some.one", role))

    assert api.post(DISABLE.format("amelia.patel"), caller).status_code == 403
    assert api.post(DISABLE.format("amelia.patel"), None).status_code == 401
    assert api.audit("user.disable") == []


def test_an_la_admin_stays_within_their_area(api: Api) -> None:
    api.add("bristol.admin", Role.LA_ADMIN, area="Bristol")
    admin = api.token(api.add("leeds.admin", Role.LA_ADMIN, area="Leeds"))

    answer = api.post(DISABLE.format("bristol.admin"), admin)

    assert answer.status_code == 403
    assert "another area" in answer.json()["detail"]
    [entry] = api.audit("user.disable")
    assert entry["outcome"] == "refused"
    assert entry["details"]["user_area"] == "Bristol"
    api.next_step()
    assert api.sign_in(api.add("still.working")).status_code == 200


def test_an_unknown_user_is_404_and_audited_by_fingerprint(api: Api) -> None:
    admin = api.token(api.add("leeds.admin", Role.LA_ADMIN))

    answer = api.post(DISABLE.format("no.such.person"), admin)

    assert answer.status_code == 404
    [entry] = api.audit("user.disable")
    assert entry["outcome"] == "refused"
    assert "no.such.person" not in entry["raw"]
    assert len(entry["details"]["username_fingerprint"]) == 32


def test_an_operator_may_disable_anyone(api: Api) -> None:
    api.add("bristol.admin", Role.LA_ADMIN, area="Bristol")
    token = api.token(api.add("bristol.user", Role.PRACTITIONER, area="Bristol"))

    with api.sessions.begin() as session:
        result = disable_user(
            session,
            keyring=api.runtime.keyring,
            clock=api.clock,
            actor=api.actor,
            username="bristol.user",
            within_area=None,
            unrestricted=True,
        )

    assert result.outcome is DisableOutcome.DISABLED
    assert result.tokens_revoked == 1
    assert api.get(WHOAMI, token).status_code == 401
    assert api.audit("user.disable")[0]["actor"] == api.actor.name
