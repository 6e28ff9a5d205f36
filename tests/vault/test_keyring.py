from __future__ import annotations

import os
from pathlib import Path

import pytest

from contactpoint.errors import KeyMaterialError
from contactpoint.vault.keyring import Keyring, read_keyring_file, write_keyring_file


def test_written_keyring_reads_back_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    keyring = Keyring.generate()
    write_keyring_file(path, keyring)
    assert read_keyring_file(path) == keyring
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_existing_keyring_is_never_silently_replaced(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    first = Keyring.generate()
    write_keyring_file(path, first)
    with pytest.raises(KeyMaterialError, match="left untouched"):
        write_keyring_file(path, Keyring.generate())
    assert read_keyring_file(path) == first


def test_missing_keyring_says_restore_not_regenerate(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="restore the keyring"):
        read_keyring_file(tmp_path / "nope.json")


def test_group_readable_keyring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    write_keyring_file(path, Keyring.generate())
    os.chmod(path, 0o640)
    with pytest.raises(KeyMaterialError, match="chmod 600"):
        read_keyring_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"format": 99}', "not a ContactPoint keyring"),
        ('{"format": 1, "kek": {}}', "no key-encryption key"),
        ('{"format": 1, "kek": {"1": "c2hvcnQ="}, "active_kek": 1}', "not 32"),
    ],
)
def test_malformed_keyrings_are_explained(text: str, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message):
        Keyring.from_json(text, "test")


def test_repr_does_not_show_key_material() -> None:
    keyring = Keyring.generate()
    assert keyring.index_key.hex() not in repr(keyring)
    assert "kek_versions=[1]" in repr(keyring)


def test_rotation_keeps_old_versions_until_retired() -> None:
    rotated = Keyring.generate().with_new_kek()
    assert sorted(rotated.keks) == [1, 2]
    assert rotated.active_kek == 2
    assert sorted(rotated.without_keks({1}).keks) == [2]
    with pytest.raises(KeyMaterialError):
        rotated.without_keks({2})
