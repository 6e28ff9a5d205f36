"""Keyed blind indexes: how an encrypted index is searched without plaintext.

A token is HMAC-SHA256 under a key the database never holds, over a normalised
value, cut to a few bits. Cutting is deliberate (as CipherSweet does): at
national scale each token is shared by several children, so a token alone never
identifies a child; the candidates a token finds are decrypted and compared.
The bit widths below are sized for about 11 million children and 40 million
source records.
"""

from __future__ import annotations

import hmac
from enum import IntEnum
from functools import lru_cache
from hashlib import sha256
from typing import BinaryIO

from contactpoint.vault.keyring import Keyring


class IndexKind(IntEnum):
    """What a token was made from. Values 3-6 (single fields) were retired in
    migration 0003: alone they were too coarse to block on at national scale.
    ``NAME_PAIR`` (9) was retired in release 0007 for the same reason: a common
    pair of names is shared by a child in every year group (measured on the
    synthetic population, its blocks held twice the records of the others at
    100,000 children and grow with the population, where the dated kinds' do
    not); it survives only so that ``contactpoint init`` can find and replace
    old rows (:mod:`contactpoint.services.reindex`)."""

    NHS_NUMBER = 1
    UPN = 2
    FAMILY_DOB = 7
    GIVEN_DOB = 8
    NAME_PAIR = 9
    POSTCODE_DOB = 10
    NAME_PAIR_YEAR = 11
    NAME_PAIR_DAY = 12


RETIRED_KINDS: frozenset[IndexKind] = frozenset({IndexKind.NAME_PAIR})
"""Kinds no record is indexed under any more; rows of them are replaced on upgrade."""


TOKEN_BITS: dict[IndexKind, int] = {
    IndexKind.NHS_NUMBER: 22,
    IndexKind.UPN: 22,
    IndexKind.FAMILY_DOB: 22,
    IndexKind.GIVEN_DOB: 22,
    IndexKind.NAME_PAIR: 22,
    IndexKind.POSTCODE_DOB: 22,
    IndexKind.NAME_PAIR_YEAR: 22,
    IndexKind.NAME_PAIR_DAY: 22,
}
"""Bits kept per kind: below log2 of the distinct values at national scale.

Each combined kind has tens of millions of distinct values among 40 million
source records; 22 bits (4.2 million buckets) leaves around ten records of
unrelated children in every bucket, so a token never singles a child out,
while a look-up fetches few enough candidates to decrypt them all."""


class BlindIndexer:
    def __init__(self, keyring: Keyring) -> None:
        self._keyed = hmac.new(keyring.subkey("contactpoint blind index v1"), digestmod=sha256)
        self._cached = lru_cache(maxsize=1 << 16)(self._compute)

    def token(self, kind: IndexKind, normalised: str) -> int:
        return self._cached(kind, normalised)

    def _compute(self, kind: IndexKind, normalised: str) -> int:
        mac = self._keyed.copy()
        mac.update(kind.to_bytes(1, "big") + normalised.encode("utf-8"))
        return int.from_bytes(mac.digest()[:4], "big") >> (32 - TOKEN_BITS[kind])


class ContentDigester:
    """Keyed digest of a whole feed line, to tell an unchanged re-send cheaply.

    Keyed so that the stored digest cannot be used to confirm a guessed record.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._key = keyring.subkey("contactpoint content digest v1")

    def digest(self, source: str, canonical: bytes) -> bytes:
        return hmac.new(self._key, source.encode() + b"\x00" + canonical, sha256).digest()

    def file_digest(self, source: str, stream: BinaryIO) -> bytes:
        mac = hmac.new(self._key, b"file\x00" + source.encode() + b"\x00", sha256)
        for block in iter(lambda: stream.read(1 << 20), b""):
            mac.update(block)
        return mac.digest()
