"""A batch's candidate children: read once a batch, and read ahead of it where it can be.

Ingest links each new record against the children that share a blocking token
with it (``CandidatePool``). Into a large index most of a batch's time went on
reading them, under the identity lock, while nothing else ran. So they can be
read ahead (``read_pool`` in a snapshot on a connection of its own, while the
batches before are decided and written) and made current under the lock: the
snapshot carries the identity generation it saw (migration 0009), and if the only
changes since were this ingest's own batches, whose writes it holds in memory
(``BatchWrites``), they are applied to the read (``PoolRead.apply``). A child
they touched is judged again, and a child that only then became a contender is
read under the lock. Any other writer in between, and the read is thrown away.

The linker judges a contender child by child (``Linker.contenders``), which is
what lets an untouched child's verdict from the snapshot stand.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.linker import Candidate, Linker
from contactpoint.store import source_records as store
from contactpoint.store.source_records import ChildFlags, RecordKey
from contactpoint.vault.envelope import Vault
from contactpoint.vault.record_cipher import decrypt_field

Token = tuple[int, int]


class FeatureMemory:
    """Decrypted match features kept between batches, oldest written first out.

    A feed's later lines often meet the same candidate children (families,
    twins), and decrypting them again would cost more than the memory (a few
    hundred bytes each). A read does not move a record up, so the many candidate
    reads a line makes into a large index are plain look-ups. Read from the
    read-ahead threads too, but only with ``get``; only the ingesting thread
    writes.
    """

    def __init__(self, vault: Vault, size: int) -> None:
        self._vault = vault
        self._size = size
        self._held: OrderedDict[RecordKey, MatchFeatures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def get(self, record_id: RecordKey) -> MatchFeatures | None:
        return self._held.get(record_id)

    def remember(self, record_id: RecordKey, features: MatchFeatures) -> None:
        held = self._held
        held[record_id] = features
        held.move_to_end(record_id)
        if len(held) > self._size:
            held.popitem(last=False)

    def read(
        self, session: Session, record_ids: Iterable[RecordKey], *, remember: bool
    ) -> tuple[dict[RecordKey, MatchFeatures], set[RecordKey]]:
        """Each record's features, and which of them had to be decrypted. What memory
        holds is taken first, since remembering the others makes room by forgetting
        some. A record written before migration 0003 has none (re-ingesting its feed
        gives it features) and is left out."""
        features: dict[RecordKey, MatchFeatures] = {}
        missing: list[RecordKey] = []
        for record_id in record_ids:
            held = self.get(record_id)
            if held is None:
                missing.append(record_id)
            else:
                features[record_id] = held
        decrypted: set[RecordKey] = set()
        for record_id, ciphertext in store.match_ciphertexts(session, missing):
            if ciphertext is None:
                continue
            plain = MatchFeatures.from_json(
                decrypt_field(self._vault, record_id, "match", ciphertext)
            )
            features[record_id] = plain
            decrypted.add(record_id)
            if remember:
                self.remember(record_id, plain)
        return features, decrypted


@dataclass
class CandidatePool:
    """Candidate children for a batch: found through tokens, plus the batch's own new records.

    Only whole children (every active record read, with their flags) are offered
    for a decision; the others could not change one (``Linker.contenders``).
    """

    by_token: dict[Token, set[str]] = field(default_factory=lambda: defaultdict(set))
    records: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    """Each whole child's records as the linker takes them, made once a batch."""
    shielded: set[str] = field(default_factory=set)
    provisional: set[str] = field(default_factory=set)
    whole: set[str] = field(default_factory=set)

    def candidates(self, tokens: Iterable[Token]) -> list[Candidate]:
        children = _reached(tokens, self.by_token) & self.whole
        records = self.records
        return [candidate for child_id in sorted(children) for candidate in records[child_id]]

    def hold(self, child_id: str, features: MatchFeatures) -> None:
        self.records[child_id].append(
            Candidate(
                child_id,
                features,
                shielded=child_id in self.shielded,
                provisional=child_id in self.provisional,
            )
        )

    def add(self, child_id: str, features: MatchFeatures, tokens: Iterable[Token]) -> None:
        self.hold(child_id, features)
        self.whole.add(child_id)
        for token in tokens:
            self.by_token[token].add(child_id)


@dataclass(frozen=True, slots=True)
class LineToPlace:
    """What the pool needs of a new record: its line, match features and tokens."""

    line_number: int
    features: MatchFeatures
    tokens: frozenset[Token]


@dataclass(frozen=True, slots=True)
class WrittenRecord:
    """A record a batch wrote: its child, tokens and features now (``None``: ended)."""

    record_id: RecordKey
    child_id: str
    tokens: frozenset[Token]
    features: MatchFeatures | None


@dataclass(frozen=True)
class BatchWrites:
    """What one committed batch of this ingest changed, at the generation it advanced to.

    Ingest never moves a record to another child and changes no existing child's
    flags (a batch's new children are the only ones it shields or queues), so its
    records are all a read needs to be brought up to date with it.
    """

    generation: int
    records: tuple[WrittenRecord, ...]


@dataclass
class PoolRead:
    """A batch's candidates as read in one snapshot: what a ``CandidatePool`` is made from.

    Kept by token and by child as they are read, so that the pool is made from it
    without another pass over the records, and a batch written since changes only
    the tokens and children it touched.
    """

    generation: int
    """The identity generation the snapshot saw."""
    tokens: frozenset[Token]
    child_of: dict[RecordKey, str]
    """Records holding one of the batch's tokens, and their children."""
    token_records: dict[Token, set[RecordKey]]
    by_token: dict[Token, set[str]]
    """The children holding each token: a ``CandidatePool``'s, taken over by it."""
    found_of_child: dict[str, set[RecordKey]]
    features: dict[RecordKey, MatchFeatures]
    decrypted: set[RecordKey]
    """Features decrypted for this read, for the feature memory once it is current."""
    contenders: dict[int, set[str]] = field(default_factory=dict)
    """Each line's contenders, judged on the records found."""
    whole: dict[str, set[RecordKey]] = field(default_factory=dict)
    """The contenders' active records."""
    flags: dict[str, ChildFlags] = field(default_factory=dict)

    def apply(self, writes: Sequence[BatchWrites]) -> set[str]:
        """Bring the read up to date with batches written since its snapshot; the
        children whose records changed (their verdicts must be judged again)."""
        final: dict[RecordKey, WrittenRecord] = {}
        for batch in writes:
            for written in batch.records:
                final[written.record_id] = written
        gone = {record_id for record_id in final if record_id in self.child_of}
        touched: set[Token] = set()
        if gone:
            for token, records in self.token_records.items():
                if not records.isdisjoint(gone):
                    records -= gone
                    touched.add(token)
            for record_id in gone:
                self.found_of_child[self.child_of.pop(record_id)].discard(record_id)
        for record_id, written in final.items():
            child_id = written.child_id
            self.features.pop(record_id, None)
            self.decrypted.discard(record_id)
            held = self.whole.get(child_id)
            if held is not None:
                held.discard(record_id)
            if written.features is None:
                continue
            self.features[record_id] = written.features
            if held is not None:
                held.add(record_id)
            hits = written.tokens & self.tokens
            if hits:
                self.child_of[record_id] = child_id
                self.found_of_child.setdefault(child_id, set()).add(record_id)
                for token in hits:
                    self.token_records.setdefault(token, set()).add(record_id)
                touched |= hits
        for token in touched:
            self.by_token[token] = {self.child_of[r] for r in self.token_records[token]}
        return {written.child_id for written in final.values()}

    def candidates_of(self, children: Iterable[str]) -> list[Candidate]:
        """The records found of these children, in the children's order, without flags:
        what a contender is judged on."""
        features = self.features
        return [
            Candidate(child_id, features[record_id])
            for child_id in children
            for record_id in self.found_of_child.get(child_id, ())
            if record_id in features
        ]


def _reached(tokens: Iterable[Token], by_token: dict[Token, set[str]]) -> set[str]:
    """The children holding any of these tokens."""
    children: set[str] = set()
    for token in tokens:
        found = by_token.get(token)
        if found:
            children |= found
    return children


def read_pool(
    session: Session,
    lines: Sequence[LineToPlace],
    *,
    linker: Linker,
    memory: FeatureMemory,
    generation: int,
    remember: bool,
) -> PoolRead:
    """Read a batch's candidates in ``session``: the records found by token, each
    line's contenders judged on them, and those contenders read whole with their
    flags. Many of the children a large index meets score far below any threshold
    on the very record that shares the token, so only the contenders are read whole.
    """
    tokens = frozenset(token for line in lines for token in line.tokens)
    child_of: dict[RecordKey, str] = {}
    token_records: dict[Token, set[RecordKey]] = defaultdict(set)
    by_token: dict[Token, set[str]] = defaultdict(set)
    found_of_child: dict[str, set[RecordKey]] = defaultdict(set)
    for kind, token, record_id, child_id in store.records_by_token(session, tokens):
        key = (kind, token)
        token_records[key].add(record_id)
        by_token[key].add(child_id)
        found_of_child[child_id].add(record_id)
        child_of[record_id] = child_id
    features, decrypted = memory.read(session, child_of, remember=remember)
    read = PoolRead(
        generation=generation,
        tokens=tokens,
        child_of=child_of,
        token_records=dict(token_records),
        by_token=dict(by_token),
        found_of_child=dict(found_of_child),
        features=features,
        decrypted=decrypted,
    )
    records: dict[str, list[Candidate]] = {
        child_id: read.candidates_of((child_id,)) for child_id in found_of_child
    }
    everyone: set[str] = set()
    for line in lines:
        children = _reached(line.tokens, read.by_token)
        verdict = (
            linker.contenders(
                line.features, [c for child_id in sorted(children) for c in records[child_id]]
            )
            if children
            else set()
        )
        read.contenders[line.line_number] = verdict
        everyone |= verdict
    _read_whole(session, read, everyone, memory, remember=remember)
    return read


def _read_whole(
    session: Session,
    read: PoolRead,
    children: Collection[str],
    memory: FeatureMemory,
    *,
    remember: bool,
) -> None:
    if not children:
        return
    read.flags.update(store.child_flags(session, children))
    everything = store.records_of_children(session, children)
    for child_id in children:
        read.whole[child_id] = set()
    features, decrypted = memory.read(
        session, [rid for rid in everything if rid not in read.features], remember=remember
    )
    read.features.update(features)
    read.decrypted |= decrypted
    for record_id, child_id in everything.items():
        read.whole[child_id].add(record_id)


def make_pool(
    session: Session,
    read: PoolRead,
    lines: Sequence[LineToPlace],
    *,
    linker: Linker,
    memory: FeatureMemory,
    changed: Collection[str] = (),
) -> CandidatePool:
    """The pool for ``lines`` (some or all of those read: the caller makes sure), in the
    batch's transaction.

    A line's verdicts on children in ``changed`` are judged again on the records
    as they are now; a contender not read whole in the snapshot is read now.
    """
    pool = CandidatePool(by_token=defaultdict(set, read.by_token))
    again_judged = set(changed)
    contenders: set[str] = set()
    for line in lines:
        verdict = read.contenders[line.line_number]
        if again_judged:
            again = _reached(line.tokens, read.by_token) & again_judged
            verdict = verdict - again_judged
            if again:
                verdict |= linker.contenders(line.features, read.candidates_of(sorted(again)))
        contenders |= verdict
    _read_whole(
        session, read, [c for c in contenders if c not in read.whole], memory, remember=True
    )
    for child_id in contenders:
        flags = read.flags.get(child_id)
        if flags is not None and flags.shielded:
            pool.shielded.add(child_id)
        if flags is not None and flags.provisional:
            pool.provisional.add(child_id)
        for record_id in read.whole[child_id]:
            held = read.features.get(record_id)
            if held is not None:
                pool.hold(child_id, held)
    pool.whole = contenders
    return pool
