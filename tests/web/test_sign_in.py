"""POST /api/v1/auth/token: one answer for every failure, replays refused, lockouts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from contactpoint.auth.tokens import HASH_KEY_PURPOSE, token_digest
from contactpoint.domain.vocabulary import Role
from contactpoint.services import sign_in as sign_in_service
from contactpoint.services.users import password_hasher
from contactpoint.store.tables import ApiToken, SignInFailure, User
from tests.web.conftest import TOKEN, WHOAMI, Api

WRONG = "not the right password at all"


def test_good_sign_in_gives_a_working_short_lived_token(api: Api) -> None:
    amelia = api.add("amelia.patel")

    response = api.sign_in(amelia)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert len(body["access_token"]) >= 43
    assert response.headers["Cache-Control"] == "no-store"
    me = api.get(WHOAMI, body["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "amelia.patel"
    assert me.json()["role"] == "practitioner"
    assert me.json()["actor"] == "amelia.patel"
    [entry] = api.audit("auth.sign_in")
    assert (entry["actor"], entry["role"], entry["outcome"]) == (
        "amelia.patel",
        "practitioner",
        "ok",
    )
    assert entry["details"]["client"] == "192.0.2.10"
    assert entry["details"]["token_id"] == me.json()["token_id"]


def test_only_a_keyed_hash_of_the_token_is_stored(api: Api) -> None:
    token = api.token(api.add("amelia.patel"))

    with api.sessions() as session:
        [row] = session.execute(select(ApiToken)).scalars().all()
    assert row.token_hash == token_digest(api.runtime.keyring.subkey(HASH_KEY_PURPOSE), token)
    assert token.encode() not in row.token_hash
    assert row.expires_at == api.clock.now() + timedelta(minutes=15)
    assert row.revoked_at is None


def test_every_wrong_answer_is_the_same_answer(api: Api) -> None:
    amelia = api.add("amelia.patel")
    wrong_code = str((int(api.code(amelia)) + 1) % 1_000_000).zfill(6)

    answers = [
        api.sign_in(amelia, password=WRONG),
        api.sign_in(amelia, code=wrong_code),
        api.sign_in(amelia, password=WRONG, code=wrong_code),
        api.sign_in("nobody.here", password=amelia.password, code=api.code(amelia)),
    ]

    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1, [a.text for a in answers]
    assert len({a.headers["WWW-Authenticate"] for a in answers}) == 1
    assert "try again" in answers[0].json()["detail"]
    entries = api.audit("auth.sign_in")
    assert [e["details"]["reason"] for e in entries] == [
        "password",
        "totp",
        "password",
        "unknown_user",
    ]
    assert {e["outcome"] for e in entries} == {"failed"}
    unknown = entries[-1]
    assert unknown["actor"] == "anonymous"
    assert "nobody.here" not in unknown["raw"]
    assert len(unknown["details"]["username_fingerprint"]) == 32


def test_an_unknown_user_costs_the_same_argon2_work_as_a_real_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    amelia = api.add("amelia.patel")
    verified: list[str] = []

    class CountingHasher:
        def __getattr__(self, name: str) -> Any:
            return getattr(password_hasher, name)

        def verify(self, password_hash: str, password: str) -> bool:
            verified.append(password_hash)
            return password_hasher.verify(password_hash, password)

    monkeypatch.setattr(sign_in_service, "password_hasher", CountingHasher())
    api.sign_in("nobody.here")
    api.sign_in(amelia, password=WRONG)
    for _ in range(6):
        api.sign_in(amelia, password=WRONG)
    api.sign_in(amelia)

    assert len(verified) == 9, "one verify per attempt, locked or not, known or not"
    assert all(h.startswith("$argon2id$") for h in verified)
    assert len(set(verified)) == 2, "the unknown user is checked against a dummy hash"


def test_unknown_usernames_get_the_same_fingerprint_each_time(api: Api) -> None:
    api.sign_in("nobody.here")
    api.sign_in("nobody.here")
    api.sign_in("somebody.else")

    prints = [e["details"]["username_fingerprint"] for e in api.audit("auth.sign_in")]
    assert prints[0] == prints[1] != prints[2]


def test_a_totp_code_works_once(api: Api) -> None:
    amelia = api.add("amelia.patel")
    code = api.code(amelia)
    assert api.sign_in(amelia, code=code).status_code == 200

    replay = api.sign_in(amelia, code=code)
    older = api.sign_in(amelia, code=api.code(amelia, steps=-1))

    assert replay.status_code == older.status_code == 401
    reasons = [e["details"].get("reason") for e in api.audit("auth.sign_in")]
    assert reasons == [None, "totp_replay", "totp_replay"]
    api.next_step()
    assert api.sign_in(amelia).status_code == 200


def test_one_step_of_clock_drift_is_forgiven_but_not_two(api: Api) -> None:
    amelia = api.add("amelia.patel")
    assert api.sign_in(amelia, code=api.code(amelia, steps=-1)).status_code == 200
    api.clock.advance(10 * 30 * timedelta(seconds=1))
    stale = api.code(amelia, steps=-2)
    if stale in {api.code(amelia, steps=k) for k in (-1, 0, 1)}:
        pytest.skip("a chance collision of six digits")
    assert api.sign_in(amelia, code=stale).status_code == 401


def test_usernames_are_matched_without_regard_to_case_or_spaces(api: Api) -> None:
    amelia = api.add("amelia.patel")
    response = api.client().post(
        TOKEN,
        json={"username": " Amelia.Patel ", "password": amelia.password, "totp": api.code(amelia)},
    )
    assert response.status_code == 200


def test_six_failures_lock_the_account_for_thirty_minutes(api: Api) -> None:
    amelia = api.add("amelia.patel")
    for _ in range(6):
        assert api.sign_in(amelia, password=WRONG).status_code == 401

    refused = api.sign_in(amelia)

    assert refused.status_code == 401
    assert refused.text == api.sign_in(amelia, password=WRONG).text
    entries = api.audit("auth.sign_in")
    assert [e["outcome"] for e in entries] == ["failed"] * 6 + ["locked"] * 2
    assert [e["details"].get("failed_logins") for e in entries[:6]] == [1, 2, 3, 4, 5, 0]
    locked_until = (api.clock.now() + timedelta(minutes=30)).isoformat()
    assert entries[5]["details"]["account_locked_until"] == locked_until
    assert entries[6]["details"]["reason"] == "account_locked"

    api.clock.advance(timedelta(minutes=29, seconds=59))
    assert api.sign_in(amelia).status_code == 401
    api.clock.advance(timedelta(seconds=1))
    assert api.sign_in(amelia).status_code == 200


def test_a_success_clears_earlier_failures(api: Api) -> None:
    amelia = api.add("amelia.patel")
    for _ in range(5):
        api.sign_in(amelia, password=WRONG)
    assert api.sign_in(amelia).status_code == 200
    for _ in range(5):
        api.sign_in(amelia, password=WRONG)
    api.next_step()
    assert api.sign_in(amelia).status_code == 200


def test_a_disabled_user_cannot_sign_in(api: Api) -> None:
    amelia = api.add("amelia.patel")
    admin = api.token(api.add("leeds.admin", Role.LA_ADMIN))
    assert api.post("/api/v1/users/amelia.patel/disable", admin).status_code == 200

    refused = api.sign_in(amelia)

    assert refused.status_code == 401
    assert refused.text == api.sign_in("nobody.here").text
    assert api.audit("auth.sign_in")[-2]["details"]["reason"] == "disabled"


def test_twenty_failures_from_one_address_lock_that_address(api: Api) -> None:
    amelia = api.add("amelia.patel")
    attacker, office = "203.0.113.66", "198.51.100.20"
    for n in range(20):
        assert api.sign_in(f"guess.{n}", address=attacker).status_code == 401

    from_attacker = api.sign_in(amelia, address=attacker)
    from_office = api.sign_in(amelia, address=office)

    assert from_attacker.status_code == 401
    assert from_office.status_code == 200
    entries = api.audit("auth.sign_in")
    assert "address_locked_until" in entries[19]["details"]
    assert entries[20]["outcome"] == "locked"
    assert entries[20]["details"]["reason"] == "address_locked"
    assert entries[20]["actor"] == "amelia.patel"

    api.clock.advance(timedelta(minutes=30))
    assert api.sign_in(amelia, address=attacker).status_code == 200


def test_the_address_window_slides(api: Api) -> None:
    attacker = "203.0.113.66"
    for n in range(19):
        api.sign_in(f"guess.{n}", address=attacker)
    api.clock.advance(timedelta(minutes=15, seconds=1))
    api.sign_in("guess.19", address=attacker)
    amelia = api.add("amelia.patel")

    assert api.sign_in(amelia, address=attacker).status_code == 200
    with api.sessions() as session:
        assert len(session.execute(select(SignInFailure)).all()) == 1


def test_an_ipv6_attacker_cannot_escape_by_changing_address_within_its_64(api: Api) -> None:
    for n in range(20):
        api.sign_in(f"guess.{n}", address=f"2001:db8:5:6::{n + 1:x}")
    amelia = api.add("amelia.patel")

    assert api.sign_in(amelia, address="2001:db8:5:6::ffff").status_code == 401
    assert api.sign_in(amelia, address="2001:db8:5:7::1").status_code == 200


def test_malformed_requests_are_refused_without_echoing_secrets(api: Api) -> None:
    secret = "a-password-that-must-not-come-back"
    response = api.client().post(TOKEN, json={"username": "amelia.patel", "password": secret})
    long = api.client().post(
        TOKEN, json={"username": "amelia.patel", "password": secret * 100, "totp": "123456"}
    )

    assert response.status_code == long.status_code == 422
    assert secret not in response.text
    assert secret not in long.text
    assert api.audit("auth.sign_in") == []


def test_sign_in_leaves_the_audit_chain_intact_and_free_of_secrets(api: Api) -> None:
    amelia = api.add("amelia.patel")
    token = api.token(amelia)
    api.sign_in(amelia, password=WRONG)
    api.sign_in(amelia, code="000000")
    api.sign_in("nobody.here", password=amelia.password)
    api.post("/api/v1/auth/revoke", token)

    api.assert_audit_chain_intact()
    for entry in api.audit():
        for seen in api.secrets_seen:
            if len(seen) > 6:
                assert seen not in entry["raw"], entry
            else:
                assert seen not in entry["details"].values(), entry
        assert not {"password", "totp", "token", "access_token"} & set(entry["details"])


def test_a_hash_under_weaker_parameters_is_replaced_at_sign_in(api: Api) -> None:
    amelia = api.add("amelia.patel")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(amelia.password)
    with api.sessions.begin() as session:
        session.execute(
            update(User).where(User.username == "amelia.patel").values(password_hash=weak)
        )

    assert api.sign_in(amelia).status_code == 200

    with api.sessions() as session:
        stored = session.execute(select(User.password_hash)).scalar_one()
    assert stored != weak
    assert not password_hasher.check_needs_rehash(stored)
    assert password_hasher.verify(stored, amelia.password)
