"""The initial load: a whole population's feeds into an empty index at once.

Incremental ingest asks the database for candidates batch by batch; for tens
of millions of records that is tens of millions of round trips. Here every
feed is read, validated and encrypted first, then every record is linked in
memory by the same linker over the same blocking keys
(:mod:`contactpoint.identity.batch`) and written in large bulk transactions,
each with its audit entry. The result is the index ingest would have built
from the same files in the same order, and the files count as ingested, so
sending one again later is a no-op.

Each file is read once. Every line's own work (validation, match features,
blind-index tokens, digest, encryption) is done in that reading, on PostgreSQL
by helper processes, each under a data key of its own (as ingest's helper
does), so both cores work while this process only hands out raw lines. What
linking needs (each record's match features, about a kilobyte) stays in
memory; what writing needs (ciphertexts, keyed tokens, digests) is set aside
on disk, a chunk to a file, and copied into the database chunk by chunk as
the records are linked. Nothing set aside is readable without the keys: it is
what the database will hold, and it is removed as each chunk is written and
whatever way the load ends.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import pickle
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.domain.vocabulary import FeedAction
from contactpoint.entropy import random_uuid
from contactpoint.errors import ContactPointError
from contactpoint.feeds.reader import RawLine, Rejection, open_feed, read_lines
from contactpoint.identity.batch import InMemoryLinkage
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.linker import LinkDecision, Outcome
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import (
    SOURCE_NAME,
    IngestCounts,
    IngestReport,
    LinePreparation,
    PreparedLine,
    Work,
    helper_database_url,
    helper_preparation,
    quick_handoffs,
    start_helper_process,
)
from contactpoint.store import source_records as store
from contactpoint.store.bulk import refresh_statistics, vacuum_after_load
from contactpoint.store.bulk_load import indexes_built_after
from contactpoint.store.database import make_engine, session_factory
from contactpoint.store.identity import lock_identity
from contactpoint.store.installation import file_already_ingested, mark_file_ingested
from contactpoint.store.tables import SourceRecord

CHUNK = 5000
HELPERS = 2
"""Helper processes by default: one a core. While they read, this process only
hands out lines and gathers match features, and the database waits."""
HELPERS_FROM_BYTES = 1 << 20
"""Feeds together at least this large are prepared by helpers (on PostgreSQL)."""
HELPERS_AHEAD = 6
"""Chunks handed to the helpers before waiting for the oldest."""
WRITES_AHEAD = 2
"""Linked chunks handed to the writer before waiting for the oldest."""
SPILL_PREFIX = "contactpoint-load-"
BULK_TABLES = ("source_records", "blind_index")
"""Written with their secondary indexes and foreign keys set aside, built after."""
Progress = Callable[[str, int, int | None], None]
"""(phase, done, total): reading, linking and writing, building indexes."""
LINKING_AND_WRITING = "linking and writing"
BUILDING_INDEXES = "building indexes"
SEALED_COLUMNS = tuple(c.name for c in SourceRecord.__table__.columns if c.name.endswith("_enc"))
"""A record's ciphertext columns, in the order a prepared line holds their values."""
RECORD_COLUMNS = (
    "id",
    "source",
    "source_record_id",
    "child_id",
    "content_digest",
    "received_at",
    "updated_at",
    "ended_at",
    *SEALED_COLUMNS,
)


@dataclass
class _Entry:
    source: str
    source_record_id: str
    line_number: int
    features: MatchFeatures
    record_id: bytes
    chunk: int
    """Which chunk set aside holds its ciphertexts."""


@dataclass
class _Feed:
    source: str
    path: Path
    digest: bytes
    report: IngestReport


@dataclass
class _WriteJob:
    """A linked chunk, as the writer gets it: where its ciphertexts wait, and what
    linking decided for each of its kept lines."""

    spill: Path
    source: str
    now: datetime
    placed: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Line number to (child, source record id), for the lines kept."""
    children: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    counts: IngestCounts = field(default_factory=IngestCounts)


@dataclass(frozen=True)
class _Writing:
    """What writing a chunk needs besides the chunk: where, and who is audited."""

    sessions: sessionmaker[Session]
    audit_key: bytes
    clock: Clock
    actor: Actor


def _write_chunk(writing: _Writing, job: _WriteJob) -> int:
    """Read a linked chunk back from disk and copy it in, in one transaction with its
    audit entry; the records written."""
    records: list[tuple[Any, ...]] = []
    tokens: list[tuple[Any, ...]] = []
    for sealed in _set_aside(job.spill):
        placed = job.placed.get(sealed.line_number)
        if placed is None:
            continue  # a later line of the record's replaced or ended it
        child_id, source_record_id = placed
        record_id = uuid.UUID(bytes=sealed.record_id)
        records.append(
            (
                record_id,
                job.source,
                source_record_id,
                child_id,
                sealed.digest,
                job.now,
                job.now,
                None,
                *sealed.columns,
            )
        )
        tokens.extend((kind, token, record_id, child_id) for kind, token in sealed.tokens)
    with writing.sessions.begin() as session:
        lock_identity(session)
        store.insert_children(session, job.children)
        store.copy_records(session, RECORD_COLUMNS, records)
        store.copy_tokens(session, tokens)
        store.insert_review_items(session, job.reviews)
        record(
            session,
            key=writing.audit_key,
            clock=writing.clock,
            actor=writing.actor,
            action="load.batch",
            details={"records": len(records), **asdict(job.counts)},
        )
    return len(records)


_writer: _Writing | None = None
"""The writer process's own connection and audit context."""


def _start_writer_process(database_url: str, audit_key: bytes, clock: Clock, actor: Actor) -> None:
    global _writer
    engine = make_engine(database_url, poolclass=NullPool)
    _writer = _Writing(session_factory(engine), audit_key, clock, actor)


def _write_in_writer(job: _WriteJob) -> int:
    if _writer is None:
        raise RuntimeError("the writer process was not started")
    return _write_chunk(_writer, job)


@dataclass
class LoadReport:
    feeds: list[IngestReport]
    children: int
    records: int

    def to_json(self) -> dict[str, Any]:
        return {
            "children": self.children,
            "records": self.records,
            "feeds": [report.to_json() for report in self.feeds],
        }


class _Read(NamedTuple):
    """A line as the first reading keeps it: what linking needs and nothing else."""

    line_number: int
    source_record_id: str
    ends: bool
    features: MatchFeatures | None
    """``None`` for an ``end`` line."""
    record_id: bytes


class _Sealed(NamedTuple):
    """An upsert line ready to copy into the database, as it is set aside on disk."""

    line_number: int
    record_id: bytes
    """The id its ciphertexts are bound to (a UUID's bytes, which cross between
    processes far faster than a UUID)."""
    digest: bytes
    columns: tuple[bytes | None, ...]
    """The ciphertexts, in the order of :data:`SEALED_COLUMNS`."""
    tokens: tuple[tuple[int, int], ...]


def _read(items: list[PreparedLine | Rejection]) -> list[_Read | Rejection]:
    return [
        item
        if isinstance(item, Rejection)
        else _Read(
            item.line_number,
            item.source_record_id,
            item.action is FeedAction.END,
            item.features,
            item.record_id.bytes,
        )
        for item in items
    ]


def _sealed(items: list[PreparedLine | Rejection]) -> list[_Sealed]:
    return [
        _Sealed(
            item.line_number,
            item.record_id.bytes,
            item.digest,
            tuple(item.columns[c] for c in SEALED_COLUMNS),
            tuple(item.tokens),
        )
        for item in items
        if not isinstance(item, Rejection) and item.columns is not None
    ]


def _prepare_chunk(
    preparation: LinePreparation, source: str, lines: Sequence[RawLine], today: date, spill: Path
) -> list[_Read | Rejection]:
    """A chunk's lines prepared whole: what writing needs set aside in ``spill``, what
    linking needs returned."""
    items = preparation.chunk(source, lines, today, work=Work.ENCRYPT)
    spill.write_bytes(pickle.dumps(_sealed(items), protocol=pickle.HIGHEST_PROTOCOL))
    return _read(items)


def _prepare_in_helper(
    source: str, lines: Sequence[RawLine], today: date, spill: Path
) -> list[_Read | Rejection]:
    return _prepare_chunk(helper_preparation(), source, lines, today, spill)


def _set_aside(spill: Path) -> list[_Sealed]:
    """A chunk set aside by :func:`_prepare_chunk`, read back and removed."""
    sealed: list[_Sealed] = pickle.loads(spill.read_bytes())  # noqa: S301 (written by this load, in its own directory)
    spill.unlink()
    return sealed


class InitialLoader:
    """``helpers``: how many helper processes prepare lines; ``None`` decides by
    database and size (:data:`HELPERS` on PostgreSQL for feeds of 1 MiB or more), 0
    prepares everything in this process. ``spill_dir``: where prepared chunks wait to
    be written (a private directory is made in it; the system's temporary directory
    if not given)."""

    def __init__(
        self,
        tools: FeedTools,
        *,
        chunk: int = CHUNK,
        helpers: int | None = None,
        spill_dir: Path | None = None,
    ) -> None:
        self._tools = tools
        self._chunk = chunk
        self._helpers = helpers
        self._spill_dir = spill_dir
        self._preparation = LinePreparation(tools.vault, tools.indexer, tools.digester)
        self.helped_lines = 0
        """Lines helper processes prepared in the last load (for tests and diagnosis)."""

    def load(
        self, feeds: Sequence[tuple[str, Path]], progress: Progress | None = None
    ) -> LoadReport:
        tick = progress or (lambda _phase, _done, _total: None)
        self._refuse_unless_empty(feeds)
        opened = [self._open(source, path) for source, path in feeds]
        self.helped_lines = 0
        with tempfile.TemporaryDirectory(prefix=SPILL_PREFIX, dir=self._spill_dir) as spill:
            helpers = self._helper_count(opened)
            with ExitStack() as stack:
                pool = self._start_helpers(helpers, stack)
                entries, chunks = self._read(opened, pool, Path(spill), tick)
            tables = len(BULK_TABLES)
            with indexes_built_after(self._tools.sessions, BULK_TABLES):
                written_children = self._write(chunks, entries, tick, own_process=helpers > 0)
                tick(BUILDING_INDEXES, 0, tables)
            tick(BUILDING_INDEXES, tables, tables)
        vacuumed = vacuum_after_load(self._tools.sessions, store.INDEX_TABLES)
        with self._tools.sessions.begin() as session:
            if not vacuumed:
                refresh_statistics(session, store.INDEX_TABLES)
            for feed in opened:
                feed.report.rejections.sort(key=lambda r: r.line_number)
                feed.report.counts.rejected = len(feed.report.rejections)
                mark_file_ingested(
                    session, feed.source, feed.digest, self._tools.clock.now(), feed.report.lines
                )
                record(
                    session,
                    key=self._tools.audit_key,
                    clock=self._tools.clock,
                    actor=self._tools.actor,
                    action="load.file",
                    details={
                        "source": feed.source,
                        "lines": feed.report.lines,
                        **asdict(feed.report.counts),
                    },
                )
        return LoadReport([f.report for f in opened], written_children, len(entries))

    def _refuse_unless_empty(self, feeds: Sequence[tuple[str, Path]]) -> None:
        if not feeds:
            raise ContactPointError("Give at least one feed file to load.")
        sources = [source for source, _ in feeds]
        for source in sources:
            if not SOURCE_NAME.match(source):
                raise ContactPointError(
                    f"'{source}' is not a source name: use lower-case letters, digits and "
                    "hyphens, named by the feed file (for example school-census.jsonl)."
                )
        if len(set(sources)) != len(sources):
            raise ContactPointError("Each source may be loaded from one file only.")
        with self._tools.sessions() as session:
            held = session.execute(select(func.count()).select_from(SourceRecord)).scalar_one()
        if held:
            raise ContactPointError(
                f"The index already holds {held:,} source records: the initial load is for an "
                "empty index. Use 'contactpoint ingest' for feeds after the first."
            )

    def _open(self, source: str, path: Path) -> _Feed:
        with open_feed(path) as stream:
            digest = self._tools.digester.file_digest(source, stream)
        with self._tools.sessions() as session:
            if file_already_ingested(session, source, digest):
                raise ContactPointError(f"{path.name} has already been ingested.")
        return _Feed(source, path, digest, IngestReport(source=source, file=path.name))

    def _helper_count(self, feeds: Sequence[_Feed]) -> int:
        if self._helpers is not None:
            return self._helpers
        size = sum(feed.path.stat().st_size for feed in feeds)
        return HELPERS if size >= HELPERS_FROM_BYTES else 0

    def _start_helpers(self, count: int, stack: ExitStack) -> ProcessPoolExecutor | None:
        database_url = helper_database_url(self._tools) if count > 0 else None
        if database_url is None:
            return None
        pool = ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_helper_process,
            initargs=(self._tools.vault.keyring, database_url, self._tools.clock),
        )
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        stack.enter_context(quick_handoffs())
        return pool

    def _raw_chunks(self, feeds: Sequence[_Feed]) -> Iterator[tuple[_Feed, list[RawLine]]]:
        """Each feed's raw lines, a chunk at a time."""
        for feed in feeds:
            chunk: list[RawLine] = []
            with open_feed(feed.path) as stream:
                for raw in read_lines(stream):
                    chunk.append(raw)
                    if len(chunk) >= self._chunk:
                        yield feed, chunk
                        chunk = []
            if chunk:
                yield feed, chunk

    def _prepared(
        self,
        chunks: Iterator[tuple[_Feed, list[RawLine]]],
        pool: ProcessPoolExecutor | None,
        spill: Path,
    ) -> Iterator[tuple[_Feed, list[_Read | Rejection], Path]]:
        """Chunks prepared in order, by the helpers several ahead, or else here."""
        today = self._tools.clock.today()
        files = (spill / f"{number:08d}.chunk" for number in itertools.count())
        if pool is None:
            self._tools.vault.prepare()
            for (feed, lines), path in zip(chunks, files, strict=False):
                yield feed, _prepare_chunk(self._preparation, feed.source, lines, today, path), path
            return
        pending: deque[tuple[_Feed, Future[list[_Read | Rejection]], Path]] = deque()

        def oldest() -> tuple[_Feed, list[_Read | Rejection], Path]:
            feed, future, path = pending.popleft()
            items = future.result()
            self.helped_lines += len(items)
            return feed, items, path

        for (feed, lines), path in zip(chunks, files, strict=False):
            pending.append(
                (feed, pool.submit(_prepare_in_helper, feed.source, lines, today, path), path)
            )
            while len(pending) >= HELPERS_AHEAD:
                yield oldest()
        while pending:
            yield oldest()

    def _read(
        self, feeds: Sequence[_Feed], pool: ProcessPoolExecutor | None, spill: Path, tick: Progress
    ) -> tuple[list[_Entry], list[tuple[_Feed, Path]]]:
        """Prepare every line; the last upsert of each record is the one kept. The
        entries to link, and the chunks set aside, in file order."""
        entries: dict[tuple[str, str], _Entry] = {}
        chunks: list[tuple[_Feed, Path]] = []
        done = 0
        for feed, items, path in self._prepared(self._raw_chunks(feeds), pool, spill):
            chunks.append((feed, path))
            counts = feed.report.counts
            for item in items:
                feed.report.lines = item.line_number
                if isinstance(item, Rejection):
                    feed.report.rejections.append(item)
                    continue
                key = (feed.source, item.source_record_id)
                if item.ends:
                    if entries.pop(key, None) is None:
                        feed.report.rejections.append(
                            Rejection(
                                item.line_number,
                                "ends a record this source never sent: check source_record_id "
                                f"'{item.source_record_id}'",
                            )
                        )
                        continue
                    counts.accepted += 1
                    counts.ended += 1
                    continue
                if item.features is None:
                    continue  # the schema requires a child on every upsert
                counts.accepted += 1
                if key in entries:
                    counts.updated += 1
                entries[key] = _Entry(
                    feed.source,
                    item.source_record_id,
                    item.line_number,
                    item.features,
                    item.record_id,
                    len(chunks) - 1,
                )
            done += len(items)
            tick("reading", done, None)
        tick("reading", done, done)
        return list(entries.values()), chunks

    def _write(
        self,
        chunks: Sequence[tuple[_Feed, Path]],
        entries: Sequence[_Entry],
        tick: Progress,
        *,
        own_process: bool,
    ) -> int:
        """Each chunk's kept records linked in memory, in file order, while a writer
        copies the chunk before into the database: on PostgreSQL a process of its own,
        which reads the chunk's ciphertexts back from disk itself, so this process only
        links; else a thread here."""
        by_chunk: dict[int, list[_Entry]] = {}
        for entry in entries:
            by_chunk.setdefault(entry.chunk, []).append(entry)
        linkage = InMemoryLinkage(self._tools.linker, new_contactpoint_id)
        written_children: set[str] = set()
        done = 0
        with ExitStack() as stack:
            submit = self._start_writer(stack, own_process=own_process)
            pending: deque[Future[int]] = deque()
            for number, (feed, path) in enumerate(chunks):
                kept = sorted(by_chunk.pop(number, []), key=lambda e: e.line_number)
                job = self._link(feed, path, kept, linkage, written_children)
                pending.append(submit(job))
                while len(pending) >= WRITES_AHEAD:
                    done += pending.popleft().result()
                    tick(LINKING_AND_WRITING, done, len(entries))
            while pending:
                done += pending.popleft().result()
        tick(LINKING_AND_WRITING, done, len(entries))
        return len(written_children)

    def _start_writer(
        self, stack: ExitStack, *, own_process: bool
    ) -> Callable[[_WriteJob], Future[int]]:
        """A writer process of its own where ``own_process`` asks for one and PostgreSQL can be
        reached from it; else a thread here."""
        database_url = helper_database_url(self._tools) if own_process else None
        if database_url is None:
            threads = stack.enter_context(ThreadPoolExecutor(1, "load-writer"))
            return lambda job: threads.submit(self._store_chunk, job)
        process = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_writer_process,
            initargs=(database_url, self._tools.audit_key, self._tools.clock, self._tools.actor),
        )
        stack.callback(process.shutdown, wait=True, cancel_futures=True)
        return lambda job: process.submit(_write_in_writer, job)

    def _store_chunk(self, job: _WriteJob) -> int:
        writing = _Writing(
            self._tools.sessions, self._tools.audit_key, self._tools.clock, self._tools.actor
        )
        return _write_chunk(writing, job)

    def _link(
        self,
        feed: _Feed,
        spill: Path,
        kept: Sequence[_Entry],
        linkage: InMemoryLinkage,
        written_children: set[str],
    ) -> _WriteJob:
        """One chunk's kept records linked, in file order: what its writing needs."""
        now = self._tools.clock.now()
        tally = feed.report.counts
        job = _WriteJob(spill, feed.source, now)
        for entry in kept:
            placement = linkage.place(entry.features)
            decision = placement.decision
            child_id = placement.child_id
            job.placed[entry.line_number] = (child_id, entry.source_record_id)
            if child_id not in written_children:
                written_children.add(child_id)
                job.children.append(_child_row(child_id, decision.shield, now))
            if decision.outcome is Outcome.LINK:
                tally.linked += 1
                job.counts.linked += 1
            elif decision.outcome is Outcome.REVIEW:
                tally.queued_for_review += 1
                job.counts.queued_for_review += 1
                record_id = uuid.UUID(bytes=entry.record_id)
                job.reviews.append(_review_row(record_id, child_id, decision, now))
            else:
                tally.created += 1
                job.counts.created += 1
        return job


def _child_row(child_id: str, shield: bool, now: datetime) -> dict[str, Any]:
    return {
        "id": child_id,
        "status": "active",
        "shielded": shield,
        "shield_origin": "review" if shield else None,
        "created_at": now,
        "updated_at": now,
    }


def _review_row(
    record_id: uuid.UUID, child_id: str, decision: LinkDecision, now: datetime
) -> dict[str, Any]:
    return {
        "id": random_uuid(),
        "record_id": record_id,
        "child_id": child_id,
        "reason": str(decision.rule),
        "candidates": json.dumps([c.evidence() for c in decision.candidates]),
        "status": "open",
        "created_at": now,
        "resolved_at": None,
        "resolved_by": None,
        "change_id": None,
    }
