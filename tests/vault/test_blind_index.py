from __future__ import annotations

from contactpoint.vault.blind_index import TOKEN_BITS, BlindIndexer, IndexKind
from contactpoint.vault.keyring import Keyring


def test_tokens_are_keyed_deterministic_and_truncated() -> None:
    keyring = Keyring.generate()
    indexer = BlindIndexer(keyring)
    token = indexer.token(IndexKind.FAMILY_DOB, "khan")
    assert token == BlindIndexer(keyring).token(IndexKind.FAMILY_DOB, "khan")
    assert 0 <= token < 2 ** TOKEN_BITS[IndexKind.FAMILY_DOB]


def test_another_key_gives_other_tokens() -> None:
    values = [f"name{i}" for i in range(50)]
    a = BlindIndexer(Keyring.generate())
    b = BlindIndexer(Keyring.generate())
    same = sum(a.token(IndexKind.GIVEN_DOB, v) == b.token(IndexKind.GIVEN_DOB, v) for v in values)
    assert same < 5


def test_kind_separates_tokens_of_equal_values() -> None:
    indexer = BlindIndexer(Keyring.generate())
    values = [str(i) for i in range(40)]
    same = sum(
        indexer.token(IndexKind.NHS_NUMBER, v) == indexer.token(IndexKind.UPN, v) for v in values
    )
    assert same < 3


def test_truncation_makes_tokens_collide_at_national_scale() -> None:
    """A token must not single out a child: many values share each token."""
    indexer = BlindIndexer(Keyring.generate())
    kind = IndexKind.POSTCODE_DOB
    values = [f"family{i}|2010-01-01" for i in range(1 << 16)]
    tokens = {indexer.token(kind, v) for v in values}
    assert all(0 <= t < 2 ** TOKEN_BITS[kind] for t in tokens)
    assert len(values) - len(tokens) > 100, "2^16 values in 2^22 buckets collide ~500 times"
