"""The key material that lives outside the database.

Three independent secrets: versioned key-encryption keys (which wrap the data
keys kept in the database), the blind-index root key, and the audit chain key.
The file is written 0600 in a 0700 directory and never silently replaced: a
missing or wrong key over existing data is an error, because a fresh key would
make every record unreadable.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contactpoint.errors import KeyMaterialError

KEY_BYTES = 32
FORMAT = 1


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyMaterialError(f"The keyring's {what} is not a base64 string.")
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise KeyMaterialError(f"The keyring's {what} is not valid base64.") from exc
    if len(key) != KEY_BYTES:
        raise KeyMaterialError(f"The keyring's {what} is {len(key)} bytes, not {KEY_BYTES}.")
    return key


@lru_cache(maxsize=256)
def derive_key(root: bytes, purpose: str) -> bytes:
    """Separate keys for separate uses, so one leaked use does not expose another.
    Remembered: some are derived on every search, and the roots are in memory anyway."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(root)


@dataclass(frozen=True)
class Keyring:
    keks: dict[int, bytes]
    active_kek: int
    index_key: bytes
    audit_key: bytes
    _derived: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        return f"Keyring(kek_versions={sorted(self.keks)}, active_kek={self.active_kek})"

    @classmethod
    def generate(cls) -> Keyring:
        return cls(
            keks={1: secrets.token_bytes(KEY_BYTES)},
            active_kek=1,
            index_key=secrets.token_bytes(KEY_BYTES),
            audit_key=secrets.token_bytes(KEY_BYTES),
        )

    def kek(self, version: int) -> bytes:
        try:
            return self.keks[version]
        except KeyError:
            raise KeyMaterialError(
                f"Key-encryption key version {version} is not in the keyring: restore the "
                "keyring file that was in use when the data was written."
            ) from None

    def subkey(self, purpose: str) -> bytes:
        if purpose not in self._derived:
            self._derived[purpose] = derive_key(self.index_key, purpose)
        return self._derived[purpose]

    def check_values(self) -> tuple[str, str]:
        """Keyed values stored in the database to recognise this keyring later.

        They reveal nothing about the keys (HMAC of a constant) but let
        ContactPoint refuse a keyring that does not belong to the database.
        """
        label = b"contactpoint keyring check v1"
        return (
            hmac.new(self.subkey("contactpoint keyring check"), label, sha256).hexdigest(),
            hmac.new(self.audit_key, label, sha256).hexdigest(),
        )

    def with_new_kek(self) -> Keyring:
        version = max(self.keks) + 1
        return Keyring(
            keks={**self.keks, version: secrets.token_bytes(KEY_BYTES)},
            active_kek=version,
            index_key=self.index_key,
            audit_key=self.audit_key,
        )

    def without_keks(self, versions: set[int]) -> Keyring:
        if self.active_kek in versions:
            raise KeyMaterialError("The active key-encryption key cannot be retired.")
        return Keyring(
            keks={v: k for v, k in self.keks.items() if v not in versions},
            active_kek=self.active_kek,
            index_key=self.index_key,
            audit_key=self.audit_key,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "kek": {str(v): _b64(k) for v, k in sorted(self.keks.items())},
                "active_kek": self.active_kek,
                "index_key": _b64(self.index_key),
                "audit_key": _b64(self.audit_key),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> Keyring:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyMaterialError(f"The keyring in {where} is not valid JSON.") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KeyMaterialError(f"The keyring in {where} is not a ContactPoint keyring.")
        raw_keks = data.get("kek")
        if not isinstance(raw_keks, dict) or not raw_keks:
            raise KeyMaterialError(f"The keyring in {where} has no key-encryption key.")
        try:
            keks = {int(v): _unb64(k, f"key-encryption key {v}") for v, k in raw_keks.items()}
        except ValueError as exc:
            raise KeyMaterialError(f"The keyring in {where} has a bad key version.") from exc
        active = data.get("active_kek")
        if not isinstance(active, int) or active not in keks:
            raise KeyMaterialError(f"The keyring in {where} names no usable active key.")
        return cls(
            keks=keks,
            active_kek=active,
            index_key=_unb64(data.get("index_key"), "index key"),
            audit_key=_unb64(data.get("audit_key"), "audit key"),
        )


def read_keyring_file(path: Path) -> Keyring:
    if not path.exists():
        raise KeyMaterialError(
            f"No keyring at {path}. If this is a new installation run 'contactpoint init'; "
            "if data already exists, restore the keyring from your key backup "
            "(ContactPoint will not make a fresh key over existing data)."
        )
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(
            f"The keyring {path} can be read by other users: run 'chmod 600 {path}'."
        )
    return Keyring.from_json(path.read_text(encoding="utf-8"), str(path))


def write_keyring_file(path: Path, keyring: Keyring, *, replace: bool = False) -> None:
    """Write atomically (temp file then rename) so a crash never leaves half a keyring."""
    if path.exists() and not replace:
        raise KeyMaterialError(f"A keyring already exists at {path}; it was left untouched.")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
