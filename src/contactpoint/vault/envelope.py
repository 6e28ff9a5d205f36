"""Envelope encryption of personal fields with AES-256-GCM.

Each field is encrypted under a data key; data keys are stored in the database
only wrapped by a key-encryption key that never is. Every ciphertext is bound
by associated data to the table, row and column it belongs to, so a ciphertext
copied to another child's row fails to decrypt instead of silently moving data.

Values are JSON-encoded and padded to a multiple of 32 bytes before encryption
so ciphertext length says little about a name's length, and null is encrypted
like any other value so a stolen table does not even show which fields are set.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contactpoint.entropy import random_bytes
from contactpoint.errors import DecryptionError, KeyMaterialError
from contactpoint.vault.keyring import KEY_BYTES, Keyring

_FORMAT = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12
_PAD_TO = 32

JSONValue = object
"""Anything JSON holds (str, int, float, bool, None, lists and dicts of them): the
vault stores values, not their shape."""
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""orjson would write dates and dataclasses as JSON silently, and they would come back
as strings and dicts; refused instead, as the standard library's ``json`` refuses them."""


@dataclass(frozen=True, slots=True)
class WrappedDataKey:
    id: int
    kek_version: int
    wrapped: bytes


class DataKeyStore(Protocol):
    """Where wrapped data keys live (the database); the vault never sees SQL."""

    def create(self, kek_version: int, wrap: Callable[[int], bytes]) -> int: ...

    def get(self, key_id: int) -> WrappedDataKey: ...


def _wrap_aad(key_id: int, kek_version: int) -> bytes:
    return f"contactpoint:data-key:{key_id}:kek:{kek_version}".encode()


def wrap_data_key(keyring: Keyring, kek_version: int, key_id: int, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(keyring.kek(kek_version)).encrypt(
        nonce, data_key, _wrap_aad(key_id, kek_version)
    )
    return nonce + sealed


def unwrap_data_key(keyring: Keyring, key: WrappedDataKey) -> bytes:
    nonce, sealed = key.wrapped[:_NONCE_BYTES], key.wrapped[_NONCE_BYTES:]
    try:
        return AESGCM(keyring.kek(key.kek_version)).decrypt(
            nonce, sealed, _wrap_aad(key.id, key.kek_version)
        )
    except InvalidTag:
        raise KeyMaterialError(
            "The keyring does not open this database's data keys: it is the wrong keyring "
            "for this database. Point CONTACTPOINT_KEY_FILE at the right one."
        ) from None


def field_aad(table: str, row_id: object, column: str) -> bytes:
    return f"{table}|{row_id}|{column}".encode()


def _pad(plaintext: bytes) -> bytes:
    return plaintext + b" " * (-len(plaintext) % _PAD_TO)


class Vault:
    """Encrypts and decrypts field values; one instance per process.

    A process writes under a data key of its own, made the first time it
    encrypts, which bounds how much any one data key protects.
    """

    def __init__(
        self,
        keyring: Keyring,
        store: DataKeyStore,
        reload_keyring: Callable[[], Keyring] | None = None,
    ) -> None:
        self.keyring = keyring
        self._store = store
        self._reload_keyring = reload_keyring
        self._keys: dict[int, AESGCM] = {}
        self._active: int | None = None

    def prepare(self) -> None:
        """Make this process's data key now, before any transaction of the caller's."""
        self._active_key()

    def _active_key(self) -> tuple[int, AESGCM]:
        if self._active is None:
            material = secrets.token_bytes(KEY_BYTES)
            version = self.keyring.active_kek
            key_id = self._store.create(
                version, lambda kid: wrap_data_key(self.keyring, version, kid, material)
            )
            self._keys[key_id] = AESGCM(material)
            self._active = key_id
        return self._active, self._keys[self._active]

    def _key(self, key_id: int) -> AESGCM:
        cipher = self._keys.get(key_id)
        if cipher is None:
            wrapped = self._store.get(key_id)
            if wrapped.kek_version not in self.keyring.keks and self._reload_keyring:
                # Rotated while this process ran: the new key is in the file now.
                self.keyring = self._reload_keyring()
            cipher = AESGCM(unwrap_data_key(self.keyring, wrapped))
            self._keys[key_id] = cipher
        return cipher

    def encrypt_bytes(self, plaintext: bytes, aad: bytes) -> bytes:
        key_id, cipher = self._active_key()
        nonce = random_bytes(_NONCE_BYTES)
        return _HEADER.pack(_FORMAT, key_id) + nonce + cipher.encrypt(nonce, plaintext, aad)

    def decrypt_bytes(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < _HEADER.size + _NONCE_BYTES + 16:
            raise DecryptionError("A stored value is too short to be a ciphertext.")
        fmt, key_id = _HEADER.unpack_from(blob)
        if fmt != _FORMAT:
            raise DecryptionError(f"A stored value has unknown format {fmt}.")
        start = _HEADER.size
        nonce = blob[start : start + _NONCE_BYTES]
        try:
            return self._key(key_id).decrypt(nonce, blob[start + _NONCE_BYTES :], aad)
        except InvalidTag:
            raise DecryptionError(
                "A stored value failed its integrity check: it was altered or moved "
                "from another record."
            ) from None

    def encrypt(self, value: JSONValue, aad: bytes) -> bytes:
        """Compact UTF-8 JSON, as ``json.dumps(value, ensure_ascii=False,
        separators=(",", ":"))`` writes it, through orjson: a record's fourteen fields
        cost a sixth of the initial load's encrypting helper with the standard library."""
        return self.encrypt_bytes(_pad(orjson.dumps(value, option=_STRICT)), aad)

    def decrypt(self, blob: bytes, aad: bytes) -> Any:
        return orjson.loads(self.decrypt_bytes(blob, aad))

    @staticmethod
    def key_id_of(blob: bytes) -> int:
        return int(_HEADER.unpack_from(blob)[1])
