"""Ingesting one feed file.

Lines are validated first (a bad line never reaches the database), then applied
in batches: one transaction per batch, a handful of bulk statements, and the
batch's audit entry in that same transaction. A batch holds the identity lock
(as merges, splits and review decisions do), so two feeds ingested at once
cannot each make a new child for the same person, and no merge can move a
candidate while a batch is deciding against it. If the database refuses a batch,
it is rolled back and its lines are applied one by one, so one bad line costs
only itself and nothing half-written is left behind.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
import sys
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from contactpoint.audit.trail import record
from contactpoint.clock import Clock
from contactpoint.domain.child import SourceRecord
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.domain.precedence import LOCAL_AUTHORITY
from contactpoint.domain.team_entry import TEAM_RECORD_PREFIX, is_team_record_id
from contactpoint.domain.vocabulary import FeedAction
from contactpoint.entropy import random_uuid
from contactpoint.errors import ContactPointError
from contactpoint.feeds.reader import (
    ParsedLine,
    RawLine,
    Rejection,
    open_feed,
    parse_line,
    read_lines,
)
from contactpoint.feeds.schema import FeedLine
from contactpoint.identity.blocking import blocking_keys
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.linker import LinkDecision, Outcome
from contactpoint.services.candidate_pool import (
    BatchWrites,
    CandidatePool,
    FeatureMemory,
    LineToPlace,
    PoolRead,
    WrittenRecord,
    make_pool,
    read_pool,
)
from contactpoint.services.collection import collect_after_batch, collected_between_batches
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.prefetch import Prefetch
from contactpoint.store import source_records as store
from contactpoint.store.bulk import estimated_rows, refresh_statistics
from contactpoint.store.data_keys import SqlDataKeyStore
from contactpoint.store.database import make_engine
from contactpoint.store.identity import identity_generation, lock_identity
from contactpoint.store.installation import file_already_ingested, mark_file_ingested
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from contactpoint.vault.record_cipher import encrypt_field, encrypt_record

log = logging.getLogger(__name__)

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
BATCH_SIZE = 2000
"""Lines a transaction. Into an index that already holds records, a batch's lines
share many candidate children, read once a batch: at 100,000 children, feed by
feed, 2,000 lines a batch ingested 11–15 % faster than 500 (5,000: 3–5 % more
again). The identity lock is held for a batch (into an index of a million children
here, about 1.2 s: a batch's 1.8 s less its wait for the candidates read ahead), so
a review decision made during an ingest waits up to that long."""
ANALYZE_AFTER = 5000
FEATURE_CACHE = 700_000
"""Decrypted match features kept between batches (``FeatureMemory``). 100,000 lines into
a million children meet about 600,000 records as candidates, many of them again and
again: keeping 200,000 decrypted 900,000 times, keeping them all 600,000 times, and
the run took 11 % less time, its peak memory rising from about 560 to 814 MiB (some
600 bytes a record kept)."""
WRITES_KEPT = 4
"""This ingest's last committed batches, kept to bring a read made ahead up to date
(at least ``READS_AHEAD``)."""
READS_AHEAD = 2
"""Batches whose candidates are being read while a batch is decided and written, each
on a connection and thread of its own. With one, the ingesting thread waited 15 s of
a 55 s ingest of 100,000 lines into a million children for the next read; with two
it waits under half a second (``docs/benchmarks.md``)."""
HELPER_FROM_BYTES = 1 << 20
"""Feeds at least this large (about 1,300 lines) are prepared by a helper process
on PostgreSQL; a smaller one is done before the helper would have started."""
HELPER_AHEAD = 3
"""Chunks handed to the helper before waiting for the oldest: enough that it
always has the next one while this process links and writes."""
DATABASE_REFUSED = "could not be stored: the database refused it"
TEAM_ID_REFUSED = (
    f"'source_record_id' begins with '{TEAM_RECORD_PREFIX}', which is kept for the records "
    "a local authority team enters in ContactPoint itself: give the line another id"
)


def refuse_team_record_id(source: str, item: ParsedLine | Rejection) -> ParsedLine | Rejection:
    """A feed may not write, or end, a record the local authority team entered by hand
    (docs/team-records.md): such a line is rejected like any other invalid line."""
    if (
        source == LOCAL_AUTHORITY
        and isinstance(item, ParsedLine)
        and is_team_record_id(item.line.source_record_id)
    ):
        return Rejection(item.line_number, TEAM_ID_REFUSED)
    return item


def refuse_team_record_ids(
    source: str, items: Iterable[ParsedLine | Rejection]
) -> Iterator[ParsedLine | Rejection]:
    for item in items:
        yield refuse_team_record_id(source, item)


@dataclass
class IngestCounts:
    accepted: int = 0
    created: int = 0
    linked: int = 0
    updated: int = 0
    unchanged: int = 0
    ended: int = 0
    queued_for_review: int = 0
    rejected: int = 0

    def add(self, other: IngestCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class IngestReport:
    source: str
    file: str
    lines: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    rejections: list[Rejection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.file,
            "lines": self.lines,
            **asdict(self.counts),
            "rejections": [{"line": r.line_number, "reason": r.reason} for r in self.rejections],
        }


@dataclass(frozen=True)
class AppliedLine:
    """What one line entered by hand did, and the child its record belongs to now."""

    counts: IngestCounts
    child_id: str


@dataclass
class _Pending:
    """A batch's writes, gathered in memory and sent as a few bulk statements."""

    children: list[dict[str, Any]] = field(default_factory=list)
    inserts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    updates: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    reindexed: set[uuid.UUID] = field(default_factory=set)
    tokens: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    written: dict[uuid.UUID, WrittenRecord] = field(default_factory=dict)
    """Each record's child, tokens and features as the batch leaves them."""


@dataclass
class _State:
    record_id: uuid.UUID
    child_id: str
    digest: bytes
    ended: bool
    new: bool


@dataclass
class PreparedLine:
    """A valid line with its CPU-only work done ahead, off the database's critical path.

    Made in this process or in the helper; what crosses between them is only
    this (picklable, and no plaintext but what the line itself held): the
    line's identifiers, its match features and tokens, digest and ciphertexts.
    """

    line_number: int
    source_record_id: str
    action: FeedAction
    raw: bytes
    """The line as sent: an update re-encrypts from it under the record's own id."""
    record: SourceRecord | None = None
    """Kept in this process; ``None`` from the helper (rebuilt from ``raw`` if needed)."""
    features: MatchFeatures | None = None
    """``None`` for an ``end`` line."""
    tokens: set[tuple[int, int]] = field(default_factory=set)
    digest: bytes = b""
    record_id: uuid.UUID = field(default_factory=random_uuid)
    """Used if the line turns out to be a new record; an update re-encrypts under its own id."""
    columns: dict[str, Any] | None = None


class Work(Enum):
    """How far a line is prepared before linking."""

    VALIDATE = "validate"
    """A file already ingested whole: its lines are only checked, for the report."""
    ENCRYPT = "encrypt"
    """Match features, blind-index tokens, digest, and the fields encrypted for a new record."""


class LinePreparation:
    """Validation, match features, blind-index tokens, digest and encryption of lines.

    No database work but the vault's own data key, so the same object runs in
    the ingesting process or in its helper process (``_helper_prepare``).
    """

    def __init__(self, vault: Vault, indexer: BlindIndexer, digester: ContentDigester) -> None:
        self.vault = vault
        self.indexer = indexer
        self.digester = digester

    def chunk(
        self, source: str, lines: Sequence[RawLine], today: date, *, work: Work
    ) -> list[PreparedLine | Rejection]:
        """Each line prepared or rejected, in file order (blank lines dropped)."""
        done: list[PreparedLine | Rejection] = []
        for raw in lines:
            parsed = parse_line(raw, today)
            if parsed is None:
                continue
            item = refuse_team_record_id(source, parsed)
            done.append(
                self.prepare(source, item, work=work) if isinstance(item, ParsedLine) else item
            )
        return done

    def prepare(self, source: str, parsed: ParsedLine, *, work: Work) -> PreparedLine:
        line = parsed.line
        prepared = PreparedLine(parsed.line_number, line.source_record_id, line.action, parsed.raw)
        if work is Work.VALIDATE or line.action is FeedAction.END or line.child is None:
            return prepared
        prepared.record = line.to_domain(source)
        prepared.features = MatchFeatures.of(prepared.record.child)
        prepared.tokens = {
            (int(kind), self.indexer.token(kind, value))
            for kind, value in blocking_keys(prepared.features)
        }
        prepared.digest = self.digester.digest(source, line.model_dump_json().encode("utf-8"))
        prepared.columns = self.encrypt(prepared.record_id, prepared.record, prepared.features)
        return prepared

    def encrypt(
        self, record_id: uuid.UUID, record: SourceRecord, features: MatchFeatures
    ) -> dict[str, Any]:
        columns: dict[str, Any] = encrypt_record(self.vault, record_id, record)
        columns["match_enc"] = encrypt_field(self.vault, record_id, "match", features.to_json())
        return columns


def _lines_to_place(batch: Iterable[PreparedLine]) -> list[PreparedLine]:
    """The lines that may be new records, to be linked: upserts with features."""
    return [p for p in batch if p.action is FeedAction.UPSERT and p.features is not None]


def _to_place(line: PreparedLine) -> LineToPlace:
    if line.features is None:
        raise ValueError("an end line is never placed")
    return LineToPlace(line.line_number, line.features, frozenset(line.tokens))


@dataclass(frozen=True)
class _Helper:
    executor: ProcessPoolExecutor
    ready: Future[bool]
    """Done once the helper has started and made its data key."""


_helper_preparation: LinePreparation | None = None
"""The helper process's own preparation: its own vault and data key."""


def start_helper_process(keyring: Keyring, database_url: str, clock: Clock) -> None:
    """Runs once in a helper process (ingest's, or the initial load's) as it starts.

    The helper writes ciphertexts under a data key of its own (one per process, as
    everywhere), made and committed over a connection of its own before it encrypts
    anything; it touches the database for nothing else. The keyring reaches it
    through the pipe to this process's own child, never a file.
    """
    global _helper_preparation
    engine = make_engine(database_url, poolclass=NullPool)
    vault = Vault(keyring, SqlDataKeyStore(engine, clock))
    vault.prepare()
    _helper_preparation = LinePreparation(vault, BlindIndexer(keyring), ContentDigester(keyring))


HANDOFF_SECONDS = 0.0005
"""How long a thread of the ingesting process may hold Python's lock while another
waits for it, with helpers running (Python's default is 5 ms)."""


@contextmanager
def quick_handoffs() -> Iterator[None]:
    """Shorter turns at Python's lock while helpers run.

    A helper's results (megabytes of ciphertexts a chunk) are read from its pipe
    by a thread of this process, one read at a time, and after each read that
    thread may wait the whole default turn of 5 ms while the main thread links.
    At a million children the load's helper was busy only about three quarters
    of the time; this is the suspected cause, not a measured one.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(HANDOFF_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def helper_ready() -> bool:
    return _helper_preparation is not None


def helper_preparation() -> LinePreparation:
    """The preparation of the helper process this runs in."""
    if _helper_preparation is None:
        raise RuntimeError("the helper process was not started")
    return _helper_preparation


def helper_database_url(tools: FeedTools) -> str | None:
    """The PostgreSQL URL a helper can reach the data keys at, if the sessions use an
    engine (not one connection in a transaction, as in tests, which it could not see)."""
    bind = tools.sessions.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        return bind.url.render_as_string(hide_password=False)
    return None


def _helper_prepare(
    source: str, lines: Sequence[RawLine], today: date
) -> list[PreparedLine | Rejection]:
    """Prepare a chunk in the helper; the domain record stays here (the ingesting
    process rebuilds it from the raw line in the rare case it needs it)."""
    done = helper_preparation().chunk(source, lines, today, work=Work.ENCRYPT)
    for item in done:
        if isinstance(item, PreparedLine):
            item.record = None
    return done


class FeedIngestor:
    """Ingests feed files; on PostgreSQL a large one with a helper process beside it.

    Each line costs validation, match features, tokens and fourteen encryptions
    before the database sees it, and one process (holding Python's one lock)
    cannot do that while it also links and writes. The helper does that work
    for the chunks ahead, so this process, the helper and the database server
    each use a core. Linking, every database write and the audit stay here, in
    file order, so the index is the one this process alone would have built.
    ``helper``: ``None`` decides by database and file size, ``True`` or
    ``False`` forces it (``True`` still needs PostgreSQL through an engine).

    On PostgreSQL through an engine, each batch's candidate children are also
    read ahead, ``READS_AHEAD`` batches at a time on connections of their own,
    while the batches before are decided and written (``candidate_pool``);
    ``read_ahead=False`` reads them under the identity lock instead. Either way
    each batch is decided on the index as it is once the lock is held.
    """

    def __init__(
        self,
        tools: FeedTools,
        *,
        batch_size: int = BATCH_SIZE,
        helper: bool | None = None,
        prepare_while_helper_starts: bool = True,
        read_ahead: bool = True,
    ) -> None:
        self._tools = tools
        self._batch_size = batch_size
        self._helper = helper
        self._prepare_while_helper_starts = prepare_while_helper_starts
        self._read_ahead = read_ahead
        self._rows_seen: int | None = None
        self._inserted_since_analyze = 0
        self._features = FeatureMemory(tools.vault, FEATURE_CACHE)
        self._written: deque[BatchWrites] = deque(maxlen=WRITES_KEPT)
        self._preparation = LinePreparation(tools.vault, tools.indexer, tools.digester)
        self.helped_lines = 0
        """Lines the helper process prepared in the last ingest (for tests and diagnosis)."""
        self.reads: Counter[str] = Counter()
        """How each batch's candidates were had in the last ingest: ``current`` (read
        ahead, nothing changed since), ``brought_up_to_date`` (read ahead, then this
        ingest's own batches applied), ``read_again`` (read ahead, but another writer
        came between) or ``under_lock`` (not read ahead)."""

    def ingest(
        self, source: str, path: Path, progress: Callable[[int], None] | None = None
    ) -> IngestReport:
        if not SOURCE_NAME.match(source):
            raise ContactPointError(
                "The source name must be lower-case letters, digits and hyphens "
                "(for example 'school-census')."
            )
        report = IngestReport(source=source, file=path.name)
        self.helped_lines = 0
        self.reads.clear()
        with open_feed(path) as stream:
            file_digest = self._tools.digester.file_digest(source, stream)
            size = stream.tell()
            stream.seek(0)
            with self._tools.sessions() as session:
                seen_before = file_already_ingested(session, source, file_digest)
            refused = 0
            self._tools.vault.prepare()
            with ExitStack() as stack:
                helper = None if seen_before else self._start_helper(size, stack)
                if helper is not None:
                    stack.enter_context(quick_handoffs())
                work = Work.VALIDATE if seen_before else Work.ENCRYPT
                items = self._prepared_items(source, stream, helper, work=work)
                batches = stack.enter_context(Prefetch(self._batches(items)))
                reader = None if seen_before else self._start_reader(stack)
                stack.enter_context(collected_between_batches())
                for done, (batch, rejections, last_line, read) in enumerate(
                    self._with_reads(source, batches, reader), start=1
                ):
                    refused += self._take(
                        source, batch, rejections, last_line, seen_before, report, read
                    )
                    collect_after_batch(done)
                    if progress is not None:
                        progress(last_line)
        report.rejections.sort(key=lambda r: r.line_number)
        report.counts.rejected = len(report.rejections)
        with self._tools.sessions.begin() as session:
            if not seen_before and not refused:
                mark_file_ingested(
                    session, source, file_digest, self._tools.clock.now(), report.lines
                )
            record(
                session,
                key=self._tools.audit_key,
                clock=self._tools.clock,
                actor=self._tools.actor,
                action="ingest.file",
                outcome="already_ingested" if seen_before else "processed",
                details={"source": source, "lines": report.lines, **asdict(report.counts)},
            )
        return report

    def _start_helper(self, size: int, stack: ExitStack) -> _Helper | None:
        wanted = self._helper if self._helper is not None else size >= HELPER_FROM_BYTES
        database_url = helper_database_url(self._tools) if wanted else None
        if database_url is None:
            return None
        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_helper_process,
            initargs=(self._tools.vault.keyring, database_url, self._tools.clock),
        )
        stack.callback(executor.shutdown, wait=True, cancel_futures=True)
        return _Helper(executor, executor.submit(helper_ready))

    def _start_reader(self, stack: ExitStack) -> ThreadPoolExecutor | None:
        if not self._read_ahead or helper_database_url(self._tools) is None:
            return None
        reader = ThreadPoolExecutor(max_workers=READS_AHEAD, thread_name_prefix="read-ahead")
        stack.callback(reader.shutdown, wait=True, cancel_futures=True)
        return reader

    def _with_reads(
        self,
        source: str,
        batches: Iterator[tuple[list[PreparedLine], list[Rejection], int]],
        reader: ThreadPoolExecutor | None,
    ) -> Iterator[tuple[list[PreparedLine], list[Rejection], int, Future[PoolRead | None] | None]]:
        """Each batch with the read of its candidates, started ``READS_AHEAD`` batches
        before it is handed on, while those before it are decided and written."""
        held: deque[
            tuple[list[PreparedLine], list[Rejection], int, Future[PoolRead | None] | None]
        ] = deque()
        for batch, rejections, last_line in batches:
            read = None if reader is None else reader.submit(self.read_ahead, source, batch)
            held.append((batch, rejections, last_line, read))
            if len(held) > READS_AHEAD:
                yield held.popleft()
        while held:
            yield held.popleft()

    def read_ahead(self, source: str, batch: Sequence[PreparedLine]) -> PoolRead | None:
        """The candidates of the batch's new records, read in a snapshot of its own
        outside the identity lock; ``None`` if the database refused the read (the
        batch then reads them under the lock). Runs on a read-ahead thread."""
        try:
            with self._tools.sessions() as session:
                session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
                generation = identity_generation(session)
                lines = _lines_to_place(batch)
                known = store.find_by_source_ids(
                    session, source, {line.source_record_id for line in lines}
                )
                return read_pool(
                    session,
                    [_to_place(line) for line in lines if line.source_record_id not in known],
                    linker=self._tools.linker,
                    memory=self._features,
                    generation=generation,
                    remember=False,
                )
        except SQLAlchemyError as exc:
            log.warning("reading a batch's candidates ahead failed (%s)", type(exc).__name__)
            return None

    def _prepared_items(
        self, source: str, stream: BinaryIO, helper: _Helper | None, *, work: Work
    ) -> Iterator[PreparedLine | Rejection]:
        """Every non-blank line prepared or rejected, in file order.

        Chunks go to the helper once it is up, several ahead; until then (its
        start-up is an interpreter's) they are prepared here, so a small file
        never waits for it. Order is kept: nothing is prepared here once a
        chunk has been handed over.
        """
        today = self._tools.clock.today()
        pending: deque[Future[list[PreparedLine | Rejection]]] = deque()
        for chunk in self._chunks(stream):
            if helper is not None and not pending and not self._helper_usable(helper):
                helper = None
            if helper is None or (
                not pending and self._prepare_while_helper_starts and not helper.ready.done()
            ):
                yield from self._preparation.chunk(source, chunk, today, work=work)
                continue
            pending.append(helper.executor.submit(_helper_prepare, source, chunk, today))
            while len(pending) >= HELPER_AHEAD:
                yield from self._from_helper(pending.popleft())
        while pending:
            yield from self._from_helper(pending.popleft())

    def _helper_usable(self, helper: _Helper) -> bool:
        """False if the helper could not start (it is then done without, and said so)."""
        if self._prepare_while_helper_starts and not helper.ready.done():
            return True
        try:
            helper.ready.result()
        except Exception as exc:
            log.warning(
                "the ingest helper process could not start (%s); preparing lines here",
                type(exc).__name__,
            )
            return False
        return True

    def _from_helper(
        self, future: Future[list[PreparedLine | Rejection]]
    ) -> list[PreparedLine | Rejection]:
        items = future.result()
        self.helped_lines += len(items)
        return items

    def _chunks(self, stream: BinaryIO) -> Iterator[list[RawLine]]:
        chunk: list[RawLine] = []
        for raw in read_lines(stream):
            chunk.append(raw)
            if len(chunk) >= self._batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def apply_line(self, session: Session, source: str, line: FeedLine) -> AppliedLine:
        """Apply one validated line in the caller's transaction, exactly as a batch of one.

        For records a person enters (the local authority team's pages): the same
        identity lock, linker, encryption and writes as a feed's line. The caller
        writes the audit entry, last, in the same transaction, and must call
        ``vault.prepare()`` before opening it.
        """
        if not SOURCE_NAME.match(source):
            raise ContactPointError(
                "The source name must be lower-case letters, digits and hyphens."
            )
        prepared = self._preparation.prepare(source, ParsedLine(1, line, b""), work=Work.ENCRYPT)
        counts, rejections, _ = self._apply(session, source, [prepared])
        if rejections:
            raise ContactPointError(f"The record {rejections[0].reason}.")
        known = store.find_by_source_ids(session, source, {line.source_record_id})
        return AppliedLine(counts, known[line.source_record_id].child_id)

    def _take(
        self,
        source: str,
        batch: list[PreparedLine],
        rejections: list[Rejection],
        last_line: int,
        seen_before: bool,
        report: IngestReport,
        read: Future[PoolRead | None] | None = None,
    ) -> int:
        """Apply one prepared batch to the report; the number of lines the database refused."""
        report.rejections.extend(rejections)
        report.lines = last_line
        if batch and seen_before:
            report.counts.accepted += len(batch)
            report.counts.unchanged += len(batch)
        elif batch:
            counts, failed = self.apply_batch(
                source, batch, None if read is None else read.result()
            )
            report.counts.add(counts)
            report.rejections.extend(failed)
            return sum(1 for f in failed if f.reason.startswith(DATABASE_REFUSED))
        return 0

    def _encrypt_under(
        self, source: str, record_id: uuid.UUID, prepared: PreparedLine
    ) -> dict[str, Any]:
        """The line's fields encrypted under this record id: a changed record's own (the
        line's ciphertexts were made for a new record). A line from the helper is
        rebuilt from the raw bytes it was validated from."""
        if prepared.features is None:
            raise ValueError("only an upsert line is encrypted")
        domain = prepared.record
        if domain is None:
            line = FeedLine.model_validate_json(
                prepared.raw, context={"today": self._tools.clock.today()}
            )
            domain = line.to_domain(source)
        return self._preparation.encrypt(record_id, domain, prepared.features)

    def _batches(
        self, items: Iterable[PreparedLine | Rejection]
    ) -> Iterator[tuple[list[PreparedLine], list[Rejection], int]]:
        """Batches of ``batch_size`` valid lines, with the rejections met on the way."""
        batch: list[PreparedLine] = []
        rejections: list[Rejection] = []
        last = 0
        for item in items:
            last = item.line_number
            if isinstance(item, Rejection):
                rejections.append(item)
            else:
                batch.append(item)
            if len(batch) >= self._batch_size:
                yield batch, rejections, last
                batch, rejections = [], []
        yield batch, rejections, last

    def apply_batch(
        self, source: str, batch: Sequence[PreparedLine], read: PoolRead | None = None
    ) -> tuple[IngestCounts, list[Rejection]]:
        """Apply a prepared batch in one transaction, with ``read`` (``read_ahead``) if
        given; if the database refuses it, its lines one by one, each read afresh."""
        self._tools.vault.prepare()
        try:
            return self._apply_in_transaction(source, batch, read)
        except SQLAlchemyError as exc:
            log.warning(
                "batch refused by the database (%s); applying its lines one by one",
                type(exc).__name__,
            )
        counts = IngestCounts()
        rejections: list[Rejection] = []
        for line in batch:
            try:
                one_counts, one_rejections = self._apply_in_transaction(source, [line])
            except SQLAlchemyError as exc:
                log.warning(
                    "line %d refused by the database (%s)",
                    line.line_number,
                    type(exc).__name__,
                )
                rejections.append(
                    Rejection(
                        line.line_number,
                        f"{DATABASE_REFUSED}; send it again, and report it to the "
                        "ContactPoint team if it keeps failing",
                    )
                )
                continue
            counts.add(one_counts)
            rejections.extend(one_rejections)
        return counts, rejections

    def _keep_statistics_fresh(self, session: Session, inserted: int) -> None:
        """ANALYZE once a large load has doubled the tables since last seen.

        Plans only need the planner to know a table is no longer empty (an index
        look-up, not a scan); at a quarter's growth the ANALYZE runs had been a
        tenth of an ingest's time into an empty index, all of it under the
        identity lock.
        """
        if self._rows_seen is None:
            self._rows_seen = estimated_rows(session, "source_records")
        self._inserted_since_analyze += inserted
        if self._inserted_since_analyze >= max(ANALYZE_AFTER, self._rows_seen):
            refresh_statistics(session, store.INDEX_TABLES)
            self._rows_seen += self._inserted_since_analyze
            self._inserted_since_analyze = 0

    def _apply_in_transaction(
        self, source: str, batch: Sequence[PreparedLine], read: PoolRead | None = None
    ) -> tuple[IngestCounts, list[Rejection]]:
        with self._tools.sessions.begin() as session:
            counts, rejections, written = self._apply(session, source, batch, read)
            self._keep_statistics_fresh(session, counts.created + counts.linked)
            record(
                session,
                key=self._tools.audit_key,
                clock=self._tools.clock,
                actor=self._tools.actor,
                action="ingest.batch",
                details={
                    "source": source,
                    "first_line": batch[0].line_number,
                    "last_line": batch[-1].line_number,
                    **asdict(counts),
                },
            )
        self._written.append(written)
        return counts, rejections

    @property
    def written(self) -> tuple[BatchWrites, ...]:
        """This ingest's last committed batches, oldest first, as a read is brought up
        to date with them."""
        return tuple(self._written)

    def _writes_since(self, generation: int, now: int) -> list[BatchWrites] | None:
        """This ingest's batches that took the generation from ``generation`` to the one
        before ``now``, oldest first; ``None`` if any of them was another writer's."""
        mine = {written.generation: written for written in self._written}
        needed = range(generation + 1, now)
        if any(g not in mine for g in needed):
            return None
        return [mine[g] for g in needed]

    def _pool(
        self,
        session: Session,
        lines: Sequence[LineToPlace],
        read: PoolRead | None,
        generation: int,
    ) -> CandidatePool:
        """The batch's candidates as the index is now, under the identity lock: the
        read made ahead, brought up to date if only this ingest wrote since, or else
        read here. Every line placed now was placed by the read (a record the snapshot
        knew is known now: records are never deleted); were one not, it is read here."""
        linker, memory = self._tools.linker, self._features
        if read is not None:
            writes = self._writes_since(read.generation, generation)
            if writes is not None and all(line.line_number in read.contenders for line in lines):
                changed = read.apply(writes)
                for record_id in read.decrypted:
                    memory.remember(record_id, read.features[record_id])
                self.reads["brought_up_to_date" if writes else "current"] += 1
                return make_pool(
                    session, read, lines, linker=linker, memory=memory, changed=changed
                )
            self.reads["read_again"] += 1
        else:
            self.reads["under_lock"] += 1
        fresh = read_pool(
            session, lines, linker=linker, memory=memory, generation=generation, remember=True
        )
        return make_pool(session, fresh, lines, linker=linker, memory=memory)

    def _apply(
        self,
        session: Session,
        source: str,
        batch: Sequence[PreparedLine],
        read: PoolRead | None = None,
    ) -> tuple[IngestCounts, list[Rejection], BatchWrites]:
        generation = lock_identity(session)
        now = self._tools.clock.now()
        counts = IngestCounts()
        rejections: list[Rejection] = []
        pending = _Pending()
        known = store.find_by_source_ids(session, source, {p.source_record_id for p in batch})
        states: dict[str, _State] = {
            srid: _State(k.id, k.child_id, k.content_digest, k.ended, new=False)
            for srid, k in known.items()
        }
        pool = self._pool(
            session,
            [_to_place(p) for p in _lines_to_place(batch) if p.source_record_id not in known],
            read,
            generation,
        )

        for prepared in batch:
            srid = prepared.source_record_id
            state = states.get(srid)
            if prepared.action is FeedAction.END or prepared.features is None:
                if state is None:
                    rejections.append(
                        Rejection(
                            prepared.line_number,
                            f"ends a record this source never sent: check "
                            f"source_record_id '{srid}'",
                        )
                    )
                    continue
                counts.accepted += 1
                if state.ended:
                    counts.unchanged += 1
                    continue
                state.ended = True
                self._write_record(pending, state, None, now)
                pending.tokens[state.record_id] = []
                pending.written[state.record_id] = WrittenRecord(
                    str(state.record_id), state.child_id, frozenset(), None
                )
                pending.reindexed.add(state.record_id)
                pending.touched.add(state.child_id)
                counts.ended += 1
                continue

            digest = prepared.digest
            counts.accepted += 1
            if state is not None:
                if state.digest == digest and not state.ended:
                    counts.unchanged += 1
                    continue
                state.digest = digest
                state.ended = False
                counts.updated += 1
                columns = self._encrypt_under(source, state.record_id, prepared)
            else:
                decision = self._tools.linker.decide(
                    prepared.features, pool.candidates(prepared.tokens)
                )
                record_id = prepared.record_id
                child_id = self._place(pending, pool, decision, record_id, counts, now)
                state = _State(record_id, child_id, digest, ended=False, new=True)
                states[srid] = state
                pool.add(child_id, prepared.features, prepared.tokens)
                columns = prepared.columns or self._encrypt_under(source, record_id, prepared)
            key = str(state.record_id)
            self._features.remember(key, prepared.features)
            pending.written[state.record_id] = WrittenRecord(
                key, state.child_id, frozenset(prepared.tokens), prepared.features
            )
            self._write_record(
                pending,
                state,
                {**columns, "content_digest": digest},
                now,
                source=source,
                source_record_id=srid,
            )
            pending.tokens[state.record_id] = [
                {
                    "kind": kind,
                    "token": token,
                    "record_id": state.record_id,
                    "child_id": state.child_id,
                }
                for kind, token in prepared.tokens
            ]
            pending.reindexed.add(state.record_id)
            pending.touched.add(state.child_id)

        self._flush(session, pending, now)
        return counts, rejections, BatchWrites(generation, tuple(pending.written.values()))

    @staticmethod
    def _place(
        pending: _Pending,
        pool: CandidatePool,
        decision: LinkDecision,
        record_id: uuid.UUID,
        counts: IngestCounts,
        now: datetime,
    ) -> str:
        """The child a new record goes to: linked, new, or new and waiting for review."""
        if decision.outcome is Outcome.LINK and decision.child_id is not None:
            counts.linked += 1
            return decision.child_id
        child_id = new_contactpoint_id()
        pending.children.append(
            {
                "id": child_id,
                "status": "active",
                "shielded": decision.shield,
                "shield_origin": "review" if decision.shield else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        if decision.shield:
            pool.shielded.add(child_id)
        if decision.outcome is Outcome.REVIEW:
            counts.queued_for_review += 1
            pool.provisional.add(child_id)
            pending.reviews.append(
                {
                    "id": random_uuid(),
                    "record_id": record_id,
                    "child_id": child_id,
                    "reason": decision.rule,
                    "candidates": json.dumps([c.evidence() for c in decision.candidates]),
                    "status": "open",
                    "created_at": now,
                    "resolved_at": None,
                    "resolved_by": None,
                    "change_id": None,
                }
            )
        else:
            counts.created += 1
        return child_id

    @staticmethod
    def _write_record(
        pending: _Pending,
        state: _State,
        values: dict[str, Any] | None,
        now: datetime,
        *,
        source: str | None = None,
        source_record_id: str | None = None,
    ) -> None:
        change: dict[str, Any] = (
            {"ended_at": now, "updated_at": now}
            if values is None
            else {**values, "ended_at": None, "updated_at": now}
        )
        if state.record_id in pending.inserts:
            pending.inserts[state.record_id].update(change)
        elif state.new:
            pending.inserts[state.record_id] = {
                "id": state.record_id,
                "source": source,
                "source_record_id": source_record_id,
                "child_id": state.child_id,
                "received_at": now,
                **change,
            }
        else:
            pending.updates.setdefault(state.record_id, {"id": state.record_id}).update(change)

    @staticmethod
    def _flush(session: Session, pending: _Pending, now: datetime) -> None:
        store.insert_children(session, pending.children)
        store.insert_records(session, list(pending.inserts.values()))
        store.update_records(session, list(pending.updates.values()))
        store.replace_tokens(
            session,
            pending.reindexed - set(pending.inserts),
            [row for rows in pending.tokens.values() for row in rows],
        )
        store.insert_review_items(session, pending.reviews)
        store.touch_children(session, pending.touched - {c["id"] for c in pending.children}, now)
