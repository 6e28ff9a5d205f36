from __future__ import annotations

from contactpoint.vault.blind_index import TOKEN_BITS, BlindIndexer, IndexKind
from contactpoint.vault.keyring import Keyring


def test_tokens_are_keyed_deterministic_and_truncated() -> None:
    keyring = Keyring.generate()
    indexer = BlindIndexer(keyring)
    token = indexer.token(IndexKind.FAMILY_NAME, "khan")
    assert token == BlindIndexer(keyring).token(IndexKind.FAMILY_NAME, "khan")
    assert 0 <= token < 2 ** TOKEN_BITS[IndexKind.FAMILY_NAME]


def test_another_key_gives_other_tokens() -> None:
    values = [f"name{i}" for i in range(50)]
    a = BlindIndexer(Keyring.generate())
    b = BlindIndexer(Keyring.generate())
    same = sum(a.token(IndexKind.GIVEN_NAME, v) == b.token(IndexKind.GIVEN_NAME, v) for v in values)
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
    kind = IndexKind.DATE_OF_BIRTH
    values = [
        f"2010-{m:02d}-{d:02d}-{y}" for y in range(5) for m in range(1, 13) for d in range(1, 29)
    ]
    tokens = {indexer.token(kind, v) for v in values}
    assert len(tokens) < len(values)
