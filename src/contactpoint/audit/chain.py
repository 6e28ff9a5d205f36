"""The hash chains: each entry's HMAC covers its content and the hash of the entry
before it in its chain.

The chains are keyed (HMAC-SHA256 under the audit key, kept outside the
database) so that someone who can write to the database cannot rewrite an
entry and recompute the chain after it: only a key holder can make a chain
that verifies.

The log is :data:`CHAINS` chains side by side, each entry in the one its actor's
name picks (:func:`chain_of`), numbered by one sequence across them all. Appending
to a chain holds its lock until the transaction commits; with one chain every
search in the country would wait for the one before it to commit. An entry's
chain is part of what its HMAC covers, so an entry cannot be moved from one chain
to another, and a removed entry breaks the link of the next entry in its chain.
Entries of chain 0 written before there were several chains keep their original
form (migration 0006).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

GENESIS = "0" * 64
CHAINS = 16
"""How many chains the log is split into: enough that appends seldom wait for one
another at hundreds of searches a second."""


def chain_of(actor: str) -> int:
    """The chain an actor's entries go to: fixed, so one actor's entries form one run."""
    return int.from_bytes(sha256(actor.encode("utf-8")).digest()[:4], "big") % CHAINS


@dataclass(frozen=True, slots=True)
class EntryContent:
    seq: int
    at: datetime
    actor: str
    role: str | None
    organisation: str | None
    action: str
    outcome: str
    child_id: str | None
    reason_code: str | None
    details: str
    chain: int = 0

    def canonical(self) -> bytes:
        fields: list[object] = [
            self.seq,
            self.at.isoformat(timespec="microseconds"),
            self.actor,
            self.role,
            self.organisation,
            self.action,
            self.outcome,
            self.child_id,
            self.reason_code,
            self.details,
        ]
        if self.chain:
            fields.append(self.chain)
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain_hash(key: bytes, prev_hash: str, content: EntryContent) -> str:
    return hmac.new(key, prev_hash.encode("ascii") + content.canonical(), sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEntry:
    content: EntryContent
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Verification:
    verified: int
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(key: bytes, entries: Iterable[StoredEntry]) -> Verification:
    """Walk the entries in sequence order, each chain along its links; stop at the first
    entry that does not fit. Numbers may skip (a transaction that took one and rolled
    back), but within a chain each entry must name the one before it."""
    heads: dict[int, str] = {}
    last_seq = 0
    count = 0
    for entry in entries:
        content = entry.content
        seq = content.seq
        if seq <= last_seq:
            return Verification(count, seq, f"out of order (after entry {last_seq})")
        if not hmac.compare_digest(entry.prev_hash, heads.get(content.chain, GENESIS)):
            return Verification(
                count,
                seq,
                f"does not follow the entry before it in chain {content.chain} "
                "(an entry is missing, added or moved)",
            )
        if not hmac.compare_digest(entry.hash, chain_hash(key, entry.prev_hash, content)):
            return Verification(count, seq, "its content does not match its hash (altered)")
        heads[content.chain] = entry.hash
        last_seq = seq
        count += 1
    return Verification(count)
