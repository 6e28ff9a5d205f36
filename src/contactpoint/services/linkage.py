"""The linkage export: identifiers only, so linkage quality can be measured."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.store.source_records import all_record_links


def export_linkage(
    session: Session, *, out: Path, clock: Clock, audit_key: bytes, actor: Actor
) -> int:
    rows = 0
    temporary = out.with_name(f".{out.name}.partial")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "source_record_id", "child_id"])
        for link in all_record_links(session):
            writer.writerow(link)
            rows += 1
    temporary.replace(out)
    record(
        session,
        key=audit_key,
        clock=clock,
        actor=actor,
        action="linkage.export",
        details={"rows": rows},
    )
    return rows
