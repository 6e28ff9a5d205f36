"""The initial load: a whole population's feeds into an empty index at once.

Incremental ingest asks the database for candidates batch by batch; for tens
of millions of records that is tens of millions of round trips. Here every
feed is read and validated first, every record is linked in memory by the
same linker over the same blocking keys (:mod:`contactpoint.identity.batch`),
and only then is everything encrypted and written in large bulk transactions,
each with its audit entry. The result is the index ingest would have built
from the same files in the same order, and the files count as ingested, so
sending one again later is a no-op.

Memory holds the match features of every record (about a kilobyte each), not
the feed lines: the files are read twice, once to link and once to write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from contactpoint.audit.trail import record
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.domain.vocabulary import FeedAction
from contactpoint.entropy import random_uuid
from contactpoint.errors import ContactPointError
from contactpoint.feeds.reader import ParsedLine, Rejection, open_feed, parse_stream
from contactpoint.identity.batch import InMemoryLinkage
from contactpoint.identity.blocking import blocking_keys
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.linker import Outcome
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import (
    SOURCE_NAME,
    IngestCounts,
    IngestReport,
    refuse_team_record_ids,
)
from contactpoint.services.prefetch import Prefetch
from contactpoint.store import source_records as store
from contactpoint.store.bulk import refresh_statistics
from contactpoint.store.installation import file_already_ingested, mark_file_ingested
from contactpoint.store.tables import SourceRecord
from contactpoint.vault.record_cipher import encrypt_field, encrypt_record

CHUNK = 5000
Progress = Callable[[str, int, int | None], None]
"""(phase, done, total): reading, linking, writing."""


@dataclass
class _Entry:
    source: str
    source_record_id: str
    line_number: int
    features: MatchFeatures
    record_id: uuid.UUID = field(default_factory=random_uuid)
    child_id: str = ""


@dataclass
class _Feed:
    source: str
    path: Path
    digest: bytes
    report: IngestReport


@dataclass
class _ChunkRows:
    children: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    counts: IngestCounts = field(default_factory=IngestCounts)


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


class InitialLoader:
    def __init__(self, tools: FeedTools, *, chunk: int = CHUNK) -> None:
        self._tools = tools
        self._chunk = chunk
        self._outcomes: dict[uuid.UUID, tuple[Outcome, str, tuple[dict[str, object], ...], bool]]
        self._outcomes = {}

    def load(
        self, feeds: Sequence[tuple[str, Path]], progress: Progress | None = None
    ) -> LoadReport:
        tick = progress or (lambda _phase, _done, _total: None)
        self._refuse_unless_empty(feeds)
        opened = [self._open(source, path) for source, path in feeds]
        entries = self._read(opened, tick)
        self._link(entries, tick)
        written_children = self._write(opened, entries, tick)
        with self._tools.sessions.begin() as session:
            refresh_statistics(session, ("source_records", "blind_index", "children"))
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

    def _lines(self, feed: _Feed) -> Iterator[ParsedLine | Rejection]:
        with open_feed(feed.path) as stream:
            yield from refuse_team_record_ids(
                feed.source, parse_stream(stream, self._tools.clock.today())
            )

    def _read(self, feeds: Sequence[_Feed], tick: Progress) -> list[_Entry]:
        """Validate every line; the last upsert of each record is the one kept."""
        entries: dict[tuple[str, str], _Entry] = {}
        done = 0
        for feed in feeds:
            counts = feed.report.counts
            for item in self._lines(feed):
                feed.report.lines = item.line_number
                done += 1
                if done % 10_000 == 0:
                    tick("reading", done, None)
                if isinstance(item, Rejection):
                    feed.report.rejections.append(item)
                    continue
                key = (feed.source, item.line.source_record_id)
                if item.line.action is FeedAction.END:
                    if entries.pop(key, None) is None:
                        feed.report.rejections.append(
                            Rejection(
                                item.line_number,
                                "ends a record this source never sent: check source_record_id "
                                f"'{item.line.source_record_id}'",
                            )
                        )
                        continue
                    counts.accepted += 1
                    counts.ended += 1
                    continue
                if item.line.child is None:
                    continue  # the schema requires a child on every upsert
                counts.accepted += 1
                if key in entries:
                    counts.updated += 1
                entries[key] = _Entry(
                    feed.source,
                    item.line.source_record_id,
                    item.line_number,
                    MatchFeatures.of(item.line.child.to_domain()),
                )
        tick("reading", done, done)
        return list(entries.values())

    def _link(self, entries: Sequence[_Entry], tick: Progress) -> None:
        self._outcomes = {}
        linkage = InMemoryLinkage(self._tools.linker, new_contactpoint_id)
        for index, entry in enumerate(entries, start=1):
            placement = linkage.place(entry.features)
            entry.child_id = placement.child_id
            decision = placement.decision
            self._outcomes[entry.record_id] = (
                decision.outcome,
                str(decision.rule),
                tuple(c.evidence() for c in decision.candidates),
                decision.shield,
            )
            if index % 10_000 == 0:
                tick("linking", index, len(entries))
        tick("linking", len(entries), len(entries))

    def _write(self, feeds: Sequence[_Feed], entries: Sequence[_Entry], tick: Progress) -> int:
        """Encrypt on a thread while the previous chunk is copied into the database."""
        written_children: set[str] = set()
        done = 0
        self._tools.vault.prepare()
        prepared = (
            self._prepare_chunk(chunk, written_children, feeds)
            for chunk in self._chunks(feeds, entries)
        )
        with Prefetch(prepared) as chunks:
            for rows in chunks:
                self._store_chunk(rows)
                done += len(rows.records)
                tick("writing", done, len(entries))
        return len(written_children)

    def _chunks(
        self, feeds: Sequence[_Feed], entries: Sequence[_Entry]
    ) -> Iterator[list[tuple[_Entry, ParsedLine]]]:
        """The kept lines, read again from the files, a chunk at a time."""
        final = {(e.source, e.line_number): e for e in entries}
        chunk: list[tuple[_Entry, ParsedLine]] = []
        for feed in feeds:
            for item in self._lines(feed):
                if not isinstance(item, ParsedLine):
                    continue
                entry = final.get((feed.source, item.line_number))
                if entry is None:
                    continue
                chunk.append((entry, item))
                if len(chunk) >= self._chunk:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def _prepare_chunk(
        self,
        chunk: Sequence[tuple[_Entry, ParsedLine]],
        written_children: set[str],
        feeds: Sequence[_Feed],
    ) -> _ChunkRows:
        now = self._tools.clock.now()
        reports = {feed.source: feed.report.counts for feed in feeds}
        rows = _ChunkRows()
        tokens: list[dict[str, Any]] = []
        for entry, parsed in chunk:
            outcome, rule, evidence, shield = self._outcomes[entry.record_id]
            tally = reports[entry.source]
            if entry.child_id not in written_children:
                written_children.add(entry.child_id)
                rows.children.append(_child_row(entry.child_id, shield, now))
            if outcome is Outcome.LINK:
                tally.linked += 1
                rows.counts.linked += 1
            elif outcome is Outcome.REVIEW:
                tally.queued_for_review += 1
                rows.counts.queued_for_review += 1
                rows.reviews.append(_review_row(entry, rule, evidence, now))
            else:
                tally.created += 1
                rows.counts.created += 1
            domain_record = parsed.line.to_domain(entry.source)
            columns = encrypt_record(self._tools.vault, entry.record_id, domain_record)
            columns["match_enc"] = encrypt_field(
                self._tools.vault, entry.record_id, "match", entry.features.to_json()
            )
            rows.records.append(
                {
                    "id": entry.record_id,
                    "source": entry.source,
                    "source_record_id": entry.source_record_id,
                    "child_id": entry.child_id,
                    "content_digest": self._tools.digester.digest(
                        entry.source, parsed.line.model_dump_json().encode("utf-8")
                    ),
                    "received_at": now,
                    "updated_at": now,
                    "ended_at": None,
                    **columns,
                }
            )
            tokens.extend(
                {
                    "kind": int(kind),
                    "token": self._tools.indexer.token(kind, value),
                    "record_id": entry.record_id,
                    "child_id": entry.child_id,
                }
                for kind, value in blocking_keys(entry.features)
            )
        rows.tokens = list({(t["kind"], t["token"], t["record_id"]): t for t in tokens}.values())
        return rows

    def _store_chunk(self, rows: _ChunkRows) -> None:
        with self._tools.sessions.begin() as session:
            store.insert_children(session, rows.children)
            store.insert_records(session, rows.records)
            store.replace_tokens(session, (), rows.tokens)
            store.insert_review_items(session, rows.reviews)
            record(
                session,
                key=self._tools.audit_key,
                clock=self._tools.clock,
                actor=self._tools.actor,
                action="load.batch",
                details={"records": len(rows.records), **asdict(rows.counts)},
            )


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
    entry: _Entry, rule: str, evidence: tuple[dict[str, object], ...], now: datetime
) -> dict[str, Any]:
    return {
        "id": random_uuid(),
        "record_id": entry.record_id,
        "child_id": entry.child_id,
        "reason": rule,
        "candidates": json.dumps(list(evidence)),
        "status": "open",
        "created_at": now,
        "resolved_at": None,
        "resolved_by": None,
        "change_id": None,
    }
