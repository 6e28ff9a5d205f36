from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from contactpoint.audit.chain import GENESIS, EntryContent, StoredEntry, chain_hash, verify_chain

KEY = b"k" * 32


def build(count: int) -> list[StoredEntry]:
    entries = []
    prev = GENESIS
    for seq in range(1, count + 1):
        content = EntryContent(
            seq,
            datetime(2026, 1, 1, tzinfo=UTC),
            "alice",
            "practitioner",
            "Org",
            "child.view",
            "ok",
            "ABCD-EFGH-JKMN",
            "assessment",
            "{}",
        )
        digest = chain_hash(KEY, prev, content)
        entries.append(StoredEntry(content, prev, digest))
        prev = digest
    return entries


def test_intact_chain_verifies() -> None:
    result = verify_chain(KEY, build(5))
    assert result.ok
    assert result.verified == 5


def test_altered_content_is_found() -> None:
    entries = build(5)
    entries[2] = dataclasses.replace(
        entries[2], content=dataclasses.replace(entries[2].content, actor="mallory")
    )
    result = verify_chain(KEY, entries)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert result.verified == 2


def test_deleted_entry_is_found() -> None:
    entries = build(5)
    del entries[1]
    result = verify_chain(KEY, entries)
    assert result.first_bad_seq == 3
    assert "missing" in (result.problem or "")


def test_recomputed_chain_without_the_key_does_not_verify() -> None:
    entries = build(3)
    forged = []
    prev = GENESIS
    for entry in entries:
        content = dataclasses.replace(entry.content, actor="mallory")
        digest = chain_hash(b"x" * 32, prev, content)
        forged.append(StoredEntry(content, prev, digest))
        prev = digest
    assert verify_chain(KEY, forged).first_bad_seq == 1
