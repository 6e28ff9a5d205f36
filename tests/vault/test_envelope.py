from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from contactpoint.errors import DecryptionError, KeyMaterialError
from contactpoint.vault.envelope import Vault, WrappedDataKey, field_aad
from contactpoint.vault.keyring import Keyring


class MemoryKeyStore:
    """A fake of the database's data-key table."""

    def __init__(self) -> None:
        self.keys: dict[int, WrappedDataKey] = {}

    def create(self, kek_version: int, wrap: Callable[[int], bytes]) -> int:
        key_id = len(self.keys) + 1
        self.keys[key_id] = WrappedDataKey(key_id, kek_version, wrap(key_id))
        return key_id

    def get(self, key_id: int) -> WrappedDataKey:
        return self.keys[key_id]


@pytest.fixture
def store() -> MemoryKeyStore:
    return MemoryKeyStore()


def test_round_trip_of_every_json_shape(store: MemoryKeyStore) -> None:
    vault = Vault(Keyring.generate(), store)
    for value in ["Zoë O'Brien", "李小龍", None, True, ["a", "b"], {"lines": ["1 High St"]}]:
        aad = field_aad("source_records", "id-1", "family_name")
        assert vault.decrypt(vault.encrypt(value, aad), aad) == value


def test_plaintext_is_the_compact_json_earlier_ciphertexts_hold(store: MemoryKeyStore) -> None:
    """Ciphertexts written before orjson held the standard library's compact JSON: the
    format on disk must not change, or an index would hold two."""
    vault = Vault(Keyring.generate(), store)
    aad = field_aad("source_records", "id-1", "services")
    value = [{"organisation": "Ysgol Gymraeg Llundain", "practitioner": {"name": "Zoë"}}, 1.5]
    legacy = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    assert vault.decrypt_bytes(vault.encrypt(value, aad), aad).rstrip(b" ") == legacy
    assert vault.decrypt(vault.encrypt_bytes(legacy + b"   ", aad), aad) == value


@pytest.mark.parametrize("value", [date(2015, 3, 1), b"bytes", {"born": date(2015, 3, 1)}])
def test_values_json_cannot_hold_are_refused(store: MemoryKeyStore, value: object) -> None:
    """A date would otherwise come back as a string, silently."""
    vault = Vault(Keyring.generate(), store)
    with pytest.raises(TypeError):
        vault.encrypt(value, field_aad("t", 1, "c"))


def test_ciphertext_moved_to_another_row_or_column_fails(store: MemoryKeyStore) -> None:
    vault = Vault(Keyring.generate(), store)
    blob = vault.encrypt("Khan", field_aad("source_records", "row-1", "family_name"))
    with pytest.raises(DecryptionError, match="altered or moved"):
        vault.decrypt(blob, field_aad("source_records", "row-2", "family_name"))
    with pytest.raises(DecryptionError):
        vault.decrypt(blob, field_aad("source_records", "row-1", "given_names"))


def test_tampered_ciphertext_fails(store: MemoryKeyStore) -> None:
    vault = Vault(Keyring.generate(), store)
    aad = field_aad("t", 1, "c")
    blob = bytearray(vault.encrypt("Khan", aad))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        vault.decrypt(bytes(blob), aad)


def test_plaintext_and_length_do_not_show(store: MemoryKeyStore) -> None:
    vault = Vault(Keyring.generate(), store)
    aad = field_aad("t", 1, "c")
    short, longer = vault.encrypt("Al", aad), vault.encrypt("Alexandra", aad)
    assert b"Al" not in short
    assert len(short) == len(longer)
    assert len(vault.encrypt(None, aad)) == len(short)
    assert vault.encrypt("Al", aad) != short


def test_data_keys_are_stored_only_wrapped(store: MemoryKeyStore) -> None:
    keyring = Keyring.generate()
    vault = Vault(keyring, store)
    vault.prepare()
    (wrapped,) = store.keys.values()
    assert wrapped.kek_version == keyring.active_kek
    assert len(wrapped.wrapped) == 12 + 32 + 16


def test_wrong_keyring_cannot_open_data(store: MemoryKeyStore) -> None:
    aad = field_aad("t", 1, "c")
    blob = Vault(Keyring.generate(), store).encrypt("Khan", aad)
    with pytest.raises(KeyMaterialError, match="wrong keyring"):
        Vault(Keyring.generate(), store).decrypt(blob, aad)


def test_each_vault_uses_its_own_data_key(store: MemoryKeyStore) -> None:
    keyring = Keyring.generate()
    aad = field_aad("t", 1, "c")
    first = Vault(keyring, store).encrypt("a", aad)
    second = Vault(keyring, store).encrypt("b", aad)
    assert Vault.key_id_of(first) != Vault.key_id_of(second)
    reader = Vault(keyring, store)
    assert reader.decrypt(first, aad) == "a"
    assert reader.decrypt(second, aad) == "b"


def test_a_running_vault_picks_up_a_rotated_keyring(store: MemoryKeyStore) -> None:
    keyring = Keyring.generate()
    aad = field_aad("t", 1, "c")
    blob = Vault(keyring, store).encrypt("Khan", aad)
    rotated = keyring.with_new_kek().without_keks({1})
    from contactpoint.vault.envelope import unwrap_data_key, wrap_data_key

    for key_id, wrapped in list(store.keys.items()):
        material = unwrap_data_key(keyring, wrapped)
        store.keys[key_id] = WrappedDataKey(key_id, 2, wrap_data_key(rotated, 2, key_id, material))
    running = Vault(keyring, store, reload_keyring=lambda: rotated)
    assert running.decrypt(blob, aad) == "Khan"
    assert running.keyring.active_kek == 2
