from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from contactpoint.audit.chain import (
    CHAINS,
    GENESIS,
    EntryContent,
    StoredEntry,
    chain_hash,
    chain_of,
    verify_chain,
)

KEY = b"k" * 32


def build(count: int, chains: int = 1) -> list[StoredEntry]:
    """``count`` entries numbered from 1, dealt in turn to ``chains`` chains."""
    entries = []
    heads: dict[int, str] = {}
    for seq in range(1, count + 1):
        chain = seq % chains
        prev = heads.get(chain, GENESIS)
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
            chain,
        )
        digest = chain_hash(KEY, prev, content)
        entries.append(StoredEntry(content, prev, digest))
        heads[chain] = digest
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


def test_chains_side_by_side_verify_and_numbers_may_skip() -> None:
    entries = build(12, chains=3)
    assert verify_chain(KEY, entries).verified == 12
    never_committed = [e for e in entries if e.content.seq != 10]  # chain 1's last
    assert verify_chain(KEY, never_committed).ok


def test_an_entry_removed_from_one_chain_is_found() -> None:
    entries = build(12, chains=3)
    without_four = [e for e in entries if e.content.seq != 4]  # chain 1: 1, 4, 7, 10
    result = verify_chain(KEY, without_four)
    assert result.first_bad_seq == 7
    assert "chain 1" in (result.problem or "")
    assert "missing" in (result.problem or "")


def test_an_entry_moved_to_another_chain_is_found() -> None:
    entries = build(6, chains=2)
    last = entries[-1]  # chain 0, after entry 4
    moved = dataclasses.replace(last, content=dataclasses.replace(last.content, chain=1),
                                prev_hash=entries[-2].hash)  # fmt: skip
    result = verify_chain(KEY, [*entries[:-1], moved])
    assert result.first_bad_seq == 6
    assert "altered" in (result.problem or "")


def test_entries_out_of_order_are_found() -> None:
    entries = build(4)
    result = verify_chain(KEY, [entries[0], entries[2], entries[1], entries[3]])
    assert not result.ok


def test_chain_zero_keeps_the_original_form() -> None:
    """Entries written before there were several chains verify unchanged."""
    content = build(1)[0].content
    assert content.chain == 0
    assert b"assessment" in content.canonical()
    assert content.canonical().endswith(b'"{}"]')
    assert dataclasses.replace(content, chain=2).canonical().endswith(b'"{}",2]')


def test_every_actor_has_one_chain_and_the_chains_are_all_used() -> None:
    assert chain_of("alice") == chain_of("alice")
    assert {chain_of(f"user.{n}") for n in range(500)} == set(range(CHAINS))
