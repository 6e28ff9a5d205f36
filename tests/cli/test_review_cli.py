"""``contactpoint review``, ``children`` and ``identity``, run as an operator runs them."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

import pytest

from contactpoint.runtime import open_runtime
from contactpoint.settings import Settings
from tests.cli.conftest import Installation
from tests.services.placement import CAMHS, SCHOOL, add_child, add_item, add_record, details

CHANGE = re.compile(r"^Change ([0-9a-f-]{36}) \((\w+)\) recorded\.$", re.MULTILINE)


@dataclass
class Desk:
    """Child A (two records), B (shielded by the local authority), and P: a
    provisional, review-shielded child whose record's item names A and B."""

    install: Installation
    a: str
    a1: uuid.UUID
    a2: uuid.UUID
    b: str
    b1: uuid.UUID
    p: str
    p1: uuid.UUID
    item: uuid.UUID

    def child_of(self, record_id: uuid.UUID) -> str:
        hex_id = record_id.hex if self.install.backend == "sqlite" else str(record_id)
        rows = self.install.query(f"SELECT child_id FROM source_records WHERE id = '{hex_id}'")
        return str(rows[0][0])

    def state(self, child_id: str) -> tuple[object, ...]:
        rows = self.install.query(
            "SELECT status, merged_into, shielded, shield_origin FROM children "
            f"WHERE id = '{child_id}'"
        )
        status, merged_into, shielded, origin = rows[0]
        return status, merged_into, bool(shielded), origin

    def audit_actions(self) -> list[str]:
        return [str(r[0]) for r in self.install.query("SELECT action FROM audit_log ORDER BY seq")]


def seed(install: Installation) -> Desk:
    """Write the children and the review item as the matcher would have filed them."""
    runtime = open_runtime(Settings(home=install.home, database_url=install.database_url))
    try:
        runtime.vault.prepare()
        at = runtime.clock.now()
        with runtime.sessions.begin() as s:
            a = add_child(s, at)
            a1 = add_record(s, runtime.vault, a, at, source="nhs-pds", services=(SCHOOL, CAMHS))
            a2 = add_record(s, runtime.vault, a, at)
            b = add_child(s, at, shielded=True, origin="local_authority")
            b1 = add_record(s, runtime.vault, b, at, child=details(given_names="Amelie"))
            p = add_child(s, at, shielded=True, origin="review")
            p1 = add_record(
                s, runtime.vault, p, at, source="local-authority", child=details(nhs_number=None)
            )
            item = add_item(s, p1, p, [a, b], at)
    finally:
        runtime.engine.dispose()
    return Desk(install, a, a1, a2, b, b1, p, p1, item)


@pytest.fixture
def desk(initialised: Installation) -> Desk:
    return seed(initialised)


@pytest.fixture
def sqlite_desk(sqlite_initialised: Installation) -> Desk:
    return seed(sqlite_initialised)


def change_id(stdout: str, kind: str) -> str:
    found = CHANGE.search(stdout)
    assert found is not None, stdout
    assert found.group(2) == kind
    return found.group(1)


def test_review_a_record_accept_undo_and_reject(desk: Desk) -> None:
    install = desk.install
    listed = install.ok("review", "list")
    assert str(desk.item) in listed.stdout
    assert desk.p in listed.stdout
    assert "uncertain_match" in listed.stdout
    page = json.loads(install.ok("review", "list", "--json").stdout)
    assert [i["id"] for i in page["items"]] == [str(desk.item)]
    assert page["items"][0]["candidates"][0]["child_id"] == desk.a
    assert "Amelia" not in listed.stdout

    shown = install.ok("review", "show", str(desk.item))
    assert "Amelia Rose" in shown.stdout
    assert desk.a in shown.stdout
    assert desk.b in shown.stdout
    assert "withheld" in shown.stdout
    assert "CAMHS" not in shown.stdout
    assert desk.audit_actions().count("review.view") == 3

    accepted = install.ok("review", "accept", str(desk.item), "--child", desk.a)
    accept_id = change_id(accepted.stdout, "accept")
    assert f"record {desk.p1}: {desk.p} -> {desk.a}" in accepted.stdout
    assert desk.child_of(desk.p1) == desk.a
    assert desk.state(desk.p)[:2] == ("merged", desk.a)

    undone = install.ok("identity", "undo", accept_id)
    change_id(undone.stdout, "undo")
    assert desk.child_of(desk.p1) == desk.p
    assert desk.state(desk.p) == ("active", None, True, "review")

    rejected = install.ok("review", "reject", str(desk.item))
    change_id(rejected.stdout, "reject")
    assert desk.state(desk.p) == ("active", None, False, None)
    assert json.loads(install.ok("review", "list", "--json").stdout)["items"] == []
    assert "identity.reject" in desk.audit_actions()
    install.ok("audit", "verify")


def test_show_as_json(sqlite_desk: Desk) -> None:
    shown = json.loads(
        sqlite_desk.install.ok("review", "show", str(sqlite_desk.item), "--json").stdout
    )
    assert shown["record"]["nhs_number"] is None
    assert [c["child_id"] for c in shown["candidates"]] == [sqlite_desk.a, sqlite_desk.b]
    assert shown["candidates"][1]["state"]["shielded"] is True


def test_merge_split_shield_and_unshield(sqlite_desk: Desk) -> None:
    desk, install = sqlite_desk, sqlite_desk.install
    merged = install.ok("children", "merge", desk.b, desk.a)
    merge_id = change_id(merged.stdout, "merge")
    assert desk.state(desk.a) == ("active", None, True, "local_authority")

    split = install.ok("children", "split", desk.a, "--record", str(desk.b1))
    change_id(split.stdout, "split")
    new_child = re.search(r"New child: (\S+)", split.stdout)
    assert new_child is not None
    assert desk.child_of(desk.b1) == new_child.group(1)
    assert desk.state(new_child.group(1)) == ("active", None, True, "local_authority")

    blocked = install.run("identity", "undo", merge_id)
    assert blocked.returncode == 2
    assert "Undo them first" in blocked.stderr

    install.ok("children", "unshield", desk.a, "--reason", "applied_in_error")
    assert desk.state(desk.a)[2] is False
    again = install.ok("children", "shield", desk.a, "--reason", "court_order")
    change_id(again.stdout, "shield")
    install.ok("audit", "verify")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("review", "show", "nonsense"), "not a review item ID"),
        (("review", "accept", "{item}", "--child", "{b1}"), "not a ContactPoint ID"),
        (("review", "accept", "{item}", "--child", "{a2_child}"), "not a candidate"),
        (("identity", "undo", "{b1}"), "no such identity change"),
        (("children", "merge", "{a}", "{a}"), "into itself"),
        (("children", "split", "{a}", "--record", "{a1}", "--record", "{a2}"), "every record"),
        (("children", "shield", "{a}", "--reason", "curiosity"), "risk_of_significant_harm"),
        (("review", "list", "--cursor", "x"), "cursor"),
    ],
)
def test_mistakes_get_a_message_and_change_nothing(
    sqlite_desk: Desk, args: tuple[str, ...], message: str
) -> None:
    desk, install = sqlite_desk, sqlite_desk.install
    values = {
        "item": str(desk.item),
        "a": desk.a,
        "a1": str(desk.a1),
        "a2": str(desk.a2),
        "b1": str(desk.b1),
        "a2_child": desk.p,
    }
    before = install.table_rows(("children", "source_records", "blind_index", "review_items"))
    result = install.run(*(a.format(**values) for a in args))
    assert result.returncode == 2, result.describe()
    assert message in result.stderr, result.describe()
    after = install.table_rows(("children", "source_records", "blind_index", "review_items"))
    assert after == before
    assert install.query("SELECT count(*) FROM identity_changes") == [(0,)]
