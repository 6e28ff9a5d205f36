"""Key rotation keeps everything readable; tampering with the audit log is found."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.keys import retire_keys, rotate_keys
from contactpoint.services.records import load_child_record
from contactpoint.services.users import add_user, password_hasher, totp_aad
from contactpoint.settings import Settings
from contactpoint.store.data_keys import SqlDataKeyStore, all_data_keys
from contactpoint.store.tables import User
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring, read_keyring_file, write_keyring_file
from tests.feeds.lines import line
from tests.services.helpers import Ingest, links


def test_rotation_rewraps_every_data_key_and_all_stays_readable(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    connection: Connection,
    clock: FixedClock,
    actor: Actor,
) -> None:
    settings = Settings(home=tmp_path, key_file=tmp_path / "keyring.json")
    keyring = Keyring.generate()
    write_keyring_file(settings.resolved_key_file, keyring)
    writer = Vault(keyring, SqlDataKeyStore(connection, clock))
    Ingest(tmp_path, sessions, writer, keyring, clock, actor)(
        "school-census",
        *[line(_source_record_id=f"R{i}", nhs_number=None, upn=None) for i in range(3)],
    )
    with sessions.begin() as session:
        rotated, result = rotate_keys(
            session, settings=settings, keyring=keyring, clock=clock, actor=actor, retire=True
        )
    assert result.new_version == 2
    assert result.rewrapped >= 1
    assert result.retired == (1,)
    smaller = retire_keys(settings, rotated, result.retired)
    on_disk = read_keyring_file(settings.resolved_key_file)
    assert sorted(on_disk.keks) == [2] == sorted(smaller.keks)
    with sessions() as session:
        assert {k.kek_version for k in all_data_keys(session)} == {2}
        reader = Vault(on_disk, SqlDataKeyStore(connection, clock))
        for child_id in set(links(connection).values()):
            record = load_child_record(session, reader, child_id)
            assert record is not None
            assert record.family_name.value == "Khan"
        assert verify_audit(session, on_disk.audit_key).ok
    with sessions() as session:
        old_only = Vault(keyring.without_keks(set()), SqlDataKeyStore(connection, clock))
        child_id = next(iter(set(links(connection).values())))
        with pytest.raises(ContactPointError):
            load_child_record(session, old_only, child_id)


def test_rotation_refuses_an_environment_keyring(
    session: Session, clock: FixedClock, actor: Actor
) -> None:
    keyring = Keyring.generate()
    settings = Settings(keys=keyring.to_json())  # type: ignore[arg-type]
    with pytest.raises(ContactPointError, match="CONTACTPOINT_KEYS"):
        rotate_keys(session, settings=settings, keyring=keyring, clock=clock, actor=actor)


def test_tampered_audit_row_is_found(
    connection: Connection,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> None:
    vault.prepare()
    with sessions.begin() as session:
        for i in range(4):
            add_user(
                session,
                vault=vault,
                clock=clock,
                audit_key=keyring.audit_key,
                actor=actor,
                username=f"user{i}",
                password="a long enough password",
                role=Role.PRACTITIONER,
                organisation="Org",
                area=None,
            )
    with sessions() as session:
        assert verify_audit(session, keyring.audit_key).ok
    seq = connection.execute(
        text("SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1 OFFSET 1")
    ).scalar_one()
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
    connection.execute(
        text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = :s"), {"s": seq}
    )
    with sessions() as session:
        result = verify_audit(session, keyring.audit_key)
    assert not result.ok
    assert result.first_bad_seq == seq
    before = connection.execute(text("SELECT COUNT(*) FROM audit_log WHERE seq < :s"), {"s": seq})
    assert result.verified == before.scalar_one()


def test_user_secret_is_encrypted_and_password_hashed_with_argon2id(
    session: Session, vault: Vault, keyring: Keyring, clock: FixedClock, actor: Actor
) -> None:
    vault.prepare()
    new = add_user(
        session,
        vault=vault,
        clock=clock,
        audit_key=keyring.audit_key,
        actor=actor,
        username="jo.bloggs",
        password="correct horse battery",
        role=Role.LA_ADMIN,
        organisation="Leeds CC",
        area="Leeds",
    )
    assert new.totp_uri.startswith("otpauth://totp/ContactPoint:jo.bloggs?secret=")
    secret = new.totp_uri.split("secret=")[1].split("&")[0]
    user = session.query(User).filter_by(username="jo.bloggs").one()
    assert secret.encode() not in user.totp_secret_enc
    assert vault.decrypt(user.totp_secret_enc, totp_aad("jo.bloggs")) == secret
    assert user.password_hash.startswith("$argon2id$")
    assert password_hasher.verify(user.password_hash, "correct horse battery")


@pytest.mark.parametrize(
    ("username", "password", "role", "area", "message"),
    [
        ("ab", "a long enough password", Role.PRACTITIONER, None, "3 to 64"),
        ("Bad Name", "a long enough password", Role.PRACTITIONER, None, "3 to 64"),
        ("good.name", "short", Role.PRACTITIONER, None, "at least 12"),
        ("good.name", "a long enough password", Role.LA_ADMIN, None, "--area"),
    ],
)
def test_bad_users_are_refused(
    session: Session,
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
    username: str,
    password: str,
    role: Role,
    area: str | None,
    message: str,
) -> None:
    with pytest.raises(ContactPointError, match=message):
        add_user(
            session,
            vault=vault,
            clock=clock,
            audit_key=keyring.audit_key,
            actor=actor,
            username=username,
            password=password,
            role=role,
            organisation="Org",
            area=area,
        )
