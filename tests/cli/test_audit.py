"""``contactpoint audit verify``: intact after real work, and catches tampering.

Tampering is done the way an attacker with access to the database would: drop
the append-only protection, then change or delete a row. The chain is keyed
with a key the database never holds, so it must still catch it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import psycopg
import pytest

from tests.cli.conftest import Installation, Templates


def verified_count(install: Installation) -> int:
    result = install.ok("audit", "verify")
    match = re.search(r"Audit chain intact: (\d+) entries verified", result.stdout)
    assert match, result.describe()
    return int(match.group(1))


@pytest.fixture
def workload(backend: str, tmp_path: Path, templates: Templates) -> Installation:
    """After init (twice), three ingests, users add, keys rotate and linkage export."""
    return templates.copy("workload", backend, tmp_path)


def test_audit_verify_passes_after_a_mixed_workload(workload: Installation) -> None:
    install = workload

    count = verified_count(install)

    # init x2, 3 ingests (a batch and a file entry each, except the re-sent file,
    # which is recognised whole and writes only its file entry), users add, keys
    # rotate, linkage export: every one of them is in the chain, and all verifies.
    assert count == install.audit_rows()
    assert count >= 2 + (2 + 1 + 2) + 1 + 1 + 1


def tamper_sqlite(install: Installation, statement: str) -> None:
    connection = sqlite3.connect(install.sqlite_file)
    try:
        connection.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        connection.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def tamper_postgres(install: Installation, statement: str) -> None:
    with psycopg.connect(install.database_url_for_pg_dump(), autocommit=True) as connection:
        connection.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        connection.execute(statement)


TAMPERING = {
    "altered-details": "UPDATE audit_log SET details = '{\"rows\":0}' WHERE seq = 3",
    "altered-actor": "UPDATE audit_log SET actor = 'cli:somebody-else' WHERE seq = 3",
    "deleted-entry": "DELETE FROM audit_log WHERE seq = 3",
}


def chains(install: Installation) -> list[tuple[int, int]]:
    """Each entry's number and chain, in order."""
    query = "SELECT seq, chain FROM audit_log ORDER BY seq"
    if install.backend == "sqlite":
        connection = sqlite3.connect(install.sqlite_file)
        try:
            return [(int(s), int(c)) for s, c in connection.execute(query)]
        finally:
            connection.close()
    with psycopg.connect(install.database_url_for_pg_dump()) as pg:
        return [(int(s), int(c)) for s, c in pg.execute(query)]


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_audit_verify_catches_a_tampered_row(workload: Installation, how: str) -> None:
    """An altered entry is named itself; a deleted one by the entry after it in its chain,
    whose link no longer fits."""
    install = workload
    assert verified_count(install) > 3
    entries = chains(install)
    third_chain = dict(entries)[3]
    after_third = next(s for s, c in entries if s > 3 and c == third_chain)
    named = after_third if how == "deleted-entry" else 3

    if install.backend == "sqlite":
        tamper_sqlite(install, TAMPERING[how])
    else:
        tamper_postgres(install, TAMPERING[how])
    result = install.run("audit", "verify")

    assert result.returncode != 0, result.describe()
    assert re.search(rf"\bentry {named}\b", result.output), result.describe()
    assert "intact" not in result.output


def test_sqlite_audit_log_refuses_updates_without_tampering(
    sqlite_initialised: Installation,
) -> None:
    connection = sqlite3.connect(sqlite_initialised.sqlite_file)
    try:
        for statement in (
            "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq = 1",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                connection.execute(statement)
    finally:
        connection.close()
    assert verified_count(sqlite_initialised) == 1
